"""Python reference for `cargo bench --bench compare`: the SE05 notebook's pipeline as
the university's solution notebook runs it, and nothing faster.

* data: PIL decoding, NumPy arrays, an albumentations pipeline (Resize 64, flips,
  Rotate 10, ColorJitter, Normalize, ToTensorV2), `random_split` 80/20 and a
  `torch.utils.data.DataLoader` with batch 16, shuffle and its default worker count
  (`num_workers=0`: every item is loaded in the training process);
* models: the notebook's U-Net (DoubleConv / Down / Up) and the U-Net whose encoder is
  torchvision's EfficientNet-B0 `features` (random weights: only time is measured, and
  no weights can be downloaded here); encoder frozen with `requires_grad = False`,
  the whole model in `train()` mode as `utils.ml.train_model` leaves it;
* training step: zero_grad, forward, Dice loss, backward, Adam step, `loss.item()`.

It exists only to be measured. Each call runs one measurement and prints one JSON
line (the last line of stdout); the Rust driver parses it.

    python benches/python/pipeline.py --data DATASET_ROOT --mode loader --epochs 3
    python benches/python/pipeline.py --data DATASET_ROOT --mode train --model unet --images 240
"""

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

T_START = time.perf_counter()
# albumentations asks PyPI for a newer version at import; that is no part of the pipeline.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import albumentations as A  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torchvision.models as tvm  # noqa: E402
from albumentations.pytorch import ToTensorV2  # noqa: E402
from PIL import Image  # noqa: E402
from torch.utils.data import DataLoader, Dataset, Subset, random_split  # noqa: E402

T_IMPORTED = time.perf_counter()

# The ISIC 2016 training-set statistics the workshop records (notebook exercise 2);
# the Rust side uses the same numbers.
MEAN = [0.7239, 0.6187, 0.5673]
STD = [0.1625, 0.1694, 0.1897]
TRAIN_IMAGES = "ISBI2016_ISIC_Part1_Training_Data"
TRAIN_MASKS = "ISBI2016_ISIC_Part1_Training_GroundTruth"


# --- data (notebook exercises 1, 3, 4, 5) -------------------------------------------
class ISICDataset(Dataset):
    """Sorted `*.jpg` images; each mask is `<stem>_Segmentation.png`."""

    def __init__(self, image_dir, mask_dir, img_transform=None, mask_transform=None):
        self.image_dir = Path(image_dir)
        self.mask_dir = Path(mask_dir)
        self.img_transform = img_transform
        self.mask_transform = mask_transform
        self.images = sorted(self.image_dir.glob("*.jpg"))
        self.masks = sorted(self.mask_dir.glob("*.png"))

    def __len__(self):
        return len(self.images)


class ISICDatasetAlbumentations(ISICDataset):
    """One albumentations pipeline for image and mask; mask binarised after it."""

    def __init__(self, image_dir, mask_dir, transform=None):
        super().__init__(image_dir, mask_dir, transform, None)

    def __getitem__(self, idx):
        image_file = self.images[idx]
        mask_file = self.mask_dir / f"{image_file.stem}_Segmentation.png"
        image = np.array(Image.open(self.image_dir / image_file.name).convert("RGB"))
        mask = np.array(Image.open(mask_file).convert("L"))
        if mask.max() > 1:
            mask = mask / 255.0
        if self.img_transform:
            out = self.img_transform(image=image, mask=mask)
            image, mask = out["image"], out["mask"]
            if isinstance(mask, torch.Tensor):
                mask = (mask > 0.5).float()
        return image, mask


def train_transforms():
    return A.Compose(
        [
            A.Resize(64, 64),
            A.HorizontalFlip(p=0.5),
            A.VerticalFlip(p=0.5),
            A.Rotate(limit=10, p=0.5),
            A.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2, hue=0.1, p=0.5),
            A.Normalize(mean=MEAN, std=STD, p=1.0),
            ToTensorV2(),
        ]
    )


def training_split(root):
    """The notebook's 80/20 split of the augmented training set (720/180 for 900)."""
    full = ISICDatasetAlbumentations(root / TRAIN_IMAGES, root / TRAIN_MASKS, train_transforms())
    n_train = int(0.8 * len(full))
    train_ds, valid_ds = random_split(full, [n_train, len(full) - n_train])
    return full, train_ds, valid_ds


# --- models (notebook exercises 6-11) --------------------------------------------------
class DoubleConv(torch.nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv = torch.nn.Sequential(
            torch.nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
            torch.nn.BatchNorm2d(out_channels),
            torch.nn.ReLU(inplace=True),
            torch.nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1),
            torch.nn.BatchNorm2d(out_channels),
            torch.nn.ReLU(inplace=True),
        )

    def forward(self, x):
        return self.conv(x)


class Down(torch.nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.maxpool_conv = torch.nn.Sequential(
            torch.nn.MaxPool2d(kernel_size=2), DoubleConv(in_channels, out_channels)
        )

    def forward(self, x):
        return self.maxpool_conv(x)


class Up(torch.nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.up = torch.nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2, stride=2)
        self.conv = DoubleConv(in_channels, out_channels)

    def forward(self, x1, x2):
        x1 = self.up(x1)
        dy = x2.size(2) - x1.size(2)
        dx = x2.size(3) - x1.size(3)
        x1 = torch.nn.functional.pad(x1, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
        return self.conv(torch.cat([x2, x1], dim=1))


class UNet(torch.nn.Module):
    def __init__(self, in_channels=3, out_channels=1):
        super().__init__()
        self.inc = DoubleConv(in_channels, 64)
        self.down1 = Down(64, 128)
        self.down2 = Down(128, 256)
        self.down3 = Down(256, 512)
        self.down4 = Down(512, 1024)
        self.up1 = Up(1024, 512)
        self.up2 = Up(512, 256)
        self.up3 = Up(256, 128)
        self.up4 = Up(128, 64)
        self.outc = torch.nn.Conv2d(64, out_channels, kernel_size=1)

    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x4 = self.down3(x3)
        x5 = self.down4(x4)
        x = self.up1(x5, x4)
        x = self.up2(x, x3)
        x = self.up3(x, x2)
        x = self.up4(x, x1)
        return torch.sigmoid(self.outc(x))


class SmartUp(torch.nn.Module):
    def __init__(self, in_channels, skip_channels, out_channels):
        super().__init__()
        self.up = torch.nn.ConvTranspose2d(in_channels, skip_channels, kernel_size=2, stride=2)
        self.conv = DoubleConv(2 * skip_channels, out_channels)

    def forward(self, x1, x2):
        x1 = self.up(x1)
        if x1.shape[2:] != x2.shape[2:]:
            x1 = torch.nn.functional.interpolate(
                x1, size=x2.shape[2:], mode="bilinear", align_corners=False
            )
        return self.conv(torch.cat([x2, x1], dim=1))


class UNetEfficient(torch.nn.Module):
    def __init__(self, in_channels=3, out_channels=1):
        super().__init__()
        # The notebook asks for weights='DEFAULT' (ImageNet); the time per step does not
        # depend on the values, and no weights host is reachable, so: random weights.
        features = tvm.efficientnet_b0(weights=None).features
        self.inc = torch.nn.Sequential(*list(features)[:2])
        self.down1 = features[2]
        self.down2 = features[3]
        self.down3 = features[4]
        self.down4 = torch.nn.Sequential(features[5], features[6], features[7])
        for stage in [self.inc, self.down1, self.down2, self.down3, self.down4]:
            for p in stage.parameters():
                p.requires_grad = False
        self.center = DoubleConv(320, 512)
        self.up1 = SmartUp(512, 80, 80)
        self.up2 = SmartUp(80, 40, 40)
        self.up3 = SmartUp(40, 24, 24)
        self.up4 = SmartUp(24, 16, 16)
        self.outc = torch.nn.Conv2d(16, out_channels, kernel_size=1)

    def forward(self, x):
        size = x.shape[2:]
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x4 = self.down3(x3)
        x5 = self.down4(x4)
        x = self.center(x5)
        x = self.up1(x, x4)
        x = self.up2(x, x3)
        x = self.up3(x, x2)
        x = self.up4(x, x1)
        out = self.outc(x)
        if out.shape[2:] != size:
            out = torch.nn.functional.interpolate(out, size=size, mode="bilinear", align_corners=False)
        return torch.sigmoid(out)


class DiceLoss(torch.nn.Module):
    def __init__(self, smooth=1.0):
        super().__init__()
        self.smooth = smooth

    def forward(self, y_pred, y_true):
        y_pred = y_pred.view(-1)
        y_true = y_true.view(-1).float()
        intersection = (y_pred * y_true).sum()
        union = y_pred.sum() + y_true.sum()
        dice = (2.0 * intersection + self.smooth) / (union + self.smooth)
        return torch.clamp(1 - dice, 0.0, 1.0)


# --- measurements ----------------------------------------------------------------------
def peak_memory():
    """ru_maxrss is in KiB on Linux: this process, and its largest finished child
    (DataLoader workers; none with the default num_workers=0)."""
    return (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )


def timed_batches(loader):
    """Yields (seconds spent waiting for the batch, batch)."""
    it = iter(loader)
    while True:
        t = time.perf_counter()
        try:
            batch = next(it)
        except StopIteration:
            return
        yield time.perf_counter() - t, batch


def run_loader(args, root):
    t0 = time.perf_counter()
    _, train_ds, _ = training_split(root)
    train_dl = DataLoader(train_ds, batch_size=16, shuffle=True)
    setup = time.perf_counter() - t0
    epochs, per_batch = [], []
    for _ in range(args.epochs):
        t = time.perf_counter()
        times = []
        for waited, (images, masks) in timed_batches(train_dl):
            times.append(waited)
            assert images.shape[1:] == (3, 64, 64) and masks.shape[1:] == (64, 64)
        epochs.append(time.perf_counter() - t)
        per_batch.append(times)
    return {
        "setup_seconds": setup,
        "epoch_seconds": epochs,
        "batch_seconds": per_batch,
        "batches_per_epoch": len(train_dl),
        "images_per_epoch": len(train_ds),
    }


def train_step(model, criterion, optimiser, images, masks):
    """The loop body of the notebook's utils.ml.train_model."""
    optimiser.zero_grad()
    loss = criterion(model(images), masks)
    loss.backward()
    optimiser.step()
    return loss.item()


def run_train(args, root):
    t0 = time.perf_counter()
    _, train_ds, _ = training_split(root)
    n = min(args.images, len(train_ds)) if args.images > 0 else len(train_ds)
    # A fixed subset (the first n items of the split) keeps every epoch a full pass.
    subset = Subset(train_ds, list(range(n))) if n < len(train_ds) else train_ds
    train_dl = DataLoader(subset, batch_size=16, shuffle=True)
    model = UNet(3, 1) if args.model == "unet" else UNetEfficient(3, 1)
    criterion = DiceLoss()
    optimiser = torch.optim.Adam(filter(lambda p: p.requires_grad, model.parameters()), lr=1e-3)
    model.train()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    steps = len(train_dl)
    # The compute floor's inputs: batches of the same shapes, built once, in memory.
    g = torch.Generator().manual_seed(7)
    prebuilt = [
        (
            torch.randn(b, 3, 64, 64, generator=g),
            (torch.rand(b, 64, 64, generator=g) > 0.5).float(),
        )
        for b in (min(16, n - 16 * i) for i in range(steps))
    ]
    setup = time.perf_counter() - t0

    t = time.perf_counter()
    for i in range(args.warmup):
        train_step(model, criterion, optimiser, *prebuilt[i % steps])
    warmup = time.perf_counter() - t

    def floor():
        start = time.perf_counter()
        times = []
        for images, masks in prebuilt:
            t = time.perf_counter()
            train_step(model, criterion, optimiser, images, masks)
            times.append(time.perf_counter() - t)
        return time.perf_counter() - start, times

    total, times = floor()
    floors, floor_steps = [total], [times]
    epochs, losses, loads, computes = [], [], [], []
    for _ in range(args.epochs):
        start = time.perf_counter()
        loss_sum, load, compute = 0.0, [], []
        for waited, (images, masks) in timed_batches(train_dl):
            load.append(waited)
            t = time.perf_counter()
            loss_sum += train_step(model, criterion, optimiser, images, masks)
            compute.append(time.perf_counter() - t)
        epochs.append(time.perf_counter() - start)
        losses.append(loss_sum / steps)
        loads.append(load)
        computes.append(compute)
    if args.floor_after:
        total, times = floor()
        floors.append(total)
        floor_steps.append(times)
    return {
        "setup_seconds": setup,
        "warmup_seconds": warmup,
        "epoch_seconds": epochs,
        "epoch_load_seconds": loads,
        "epoch_step_seconds": computes,
        "floor_seconds": floors,
        "floor_step_seconds": floor_steps,
        "train_loss": losses,
        "batches_per_epoch": steps,
        "images_per_epoch": n,
        "trainable_parameters": trainable,
    }


def run_steps(args, root):
    """Where one training step's time goes: medians of --epochs x 5 steps on one batch."""
    model = UNet(3, 1) if args.model == "unet" else UNetEfficient(3, 1)
    criterion = DiceLoss()
    optimiser = torch.optim.Adam(filter(lambda p: p.requires_grad, model.parameters()), lr=1e-3)
    model.train()
    g = torch.Generator().manual_seed(7)
    x = torch.randn(16, 3, 64, 64, generator=g)
    y = (torch.rand(16, 64, 64, generator=g) > 0.5).float()
    for _ in range(max(args.warmup, 1)):
        train_step(model, criterion, optimiser, x, y)
    fwd, bwd, stp, whole, enc = [], [], [], [], []
    for _ in range(5 * max(args.epochs, 1)):
        t0 = time.perf_counter()
        loss = criterion(model(x), y)
        t1 = time.perf_counter()
        optimiser.zero_grad()
        loss.backward()
        t2 = time.perf_counter()
        optimiser.step()
        loss.item()
        t3 = time.perf_counter()
        fwd.append(t1 - t0)
        bwd.append(t2 - t1)
        stp.append(t3 - t2)
        whole.append(t3 - t0)
    if args.model == "efficient":
        for _ in range(5 * max(args.epochs, 1)):
            t = time.perf_counter()
            x1 = model.inc(x)
            model.down4(model.down3(model.down2(model.down1(x1))))
            enc.append(time.perf_counter() - t)

    def ms(v):
        return finite_or_none(1000.0 * float(np.median(v))) if v else None

    m = args.model
    return {
        "stages": [
            {"stage": f"{m}: frozen encoder forward (part of forward)", "ms": ms(enc)},
            {"stage": f"{m}: forward + loss", "ms": ms(fwd)},
            {"stage": f"{m}: backward", "ms": ms(bwd)},
            {"stage": f"{m}: optimizer step + loss value", "ms": ms(stp)},
            {"stage": f"{m}: whole step", "ms": ms(whole)},
        ]
    }


def finite_or_none(x):
    return x if np.isfinite(x) else None


def run_profile(args, root):
    """Single-item cost of each stage, on the first --images (default 100) files."""
    full = ISICDatasetAlbumentations(root / TRAIN_IMAGES, root / TRAIN_MASKS, train_transforms())
    n = min(args.images or 100, len(full))
    resize = A.Compose([A.Resize(64, 64)])
    after_resize = A.Compose(train_transforms().transforms[1:])
    # The same names as the Rust side's PROFILE_STAGES.
    stages = [
        "read files",
        "decode image (8-bit)",
        "decode mask (8-bit)",
        "full-size float copy",
        "resize image to 64×64",
        "resize mask to 64×64",
        "augment + normalise + to tensor",
        "whole item (the dataset's get)",
    ]
    times = [[] for _ in stages]
    for i in range(n):
        image_file = full.images[i]
        mask_file = full.mask_dir / f"{image_file.stem}_Segmentation.png"
        t = time.perf_counter()

        def lap(k):
            nonlocal t
            now = time.perf_counter()
            times[k].append(now - t)
            t = now

        size = len(image_file.read_bytes()) + len(mask_file.read_bytes())
        lap(0)
        image = np.array(Image.open(image_file).convert("RGB"))
        lap(1)
        mask = np.array(Image.open(mask_file).convert("L"))
        lap(2)
        if mask.max() > 1:
            mask = mask / 255.0
        lap(3)
        small = resize(image=image, mask=mask)
        lap(4)
        times[5].append(float("nan"))  # albumentations resizes both in the call above
        out = after_resize(image=small["image"], mask=small["mask"])
        _ = (out["mask"] > 0.5).float()
        lap(6)
        item = full[i]
        lap(7)
        assert size > 0 and item[0].shape == out["image"].shape
    return {
        "items": n,
        "stages": [
            {"stage": name, "ms": finite_or_none(1000.0 * float(np.median(t)))}
            for name, t in zip(stages, times)
        ],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="root of an ISIC-layout data set")
    ap.add_argument("--mode", choices=["loader", "train", "profile", "steps"], required=True)
    ap.add_argument("--model", choices=["unet", "efficient"], default="unet")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--images", type=int, default=0, help="train on the first N images of the split (0: all)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed optimizer steps first")
    ap.add_argument("--floor-after", action="store_true", help="time the floor again after the epochs")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    ap.add_argument("--seed", type=int, default=101)
    args = ap.parse_args()

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    run = {"loader": run_loader, "train": run_train, "profile": run_profile, "steps": run_steps}[
        args.mode
    ]
    result = run(args, args.data)
    rss_self, rss_children = peak_memory()
    result.update(
        {
            "side": "python",
            "mode": args.mode,
            "model": args.model if args.mode == "train" else None,
            "threads": torch.get_num_threads(),
            "import_seconds": T_IMPORTED - T_START,
            "peak_rss_kib": rss_self,
            "cpu_seconds": resource.getrusage(resource.RUSAGE_SELF).ru_utime
            + resource.getrusage(resource.RUSAGE_SELF).ru_stime,
            "children_peak_rss_kib": rss_children,
            "versions": {
                "python": sys.version.split()[0],
                "torch": torch.__version__,
                "albumentations": A.__version__,
                "numpy": np.__version__,
                "pillow": Image.__version__,
            },
        }
    )
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
