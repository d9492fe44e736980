#!/usr/bin/env python3
"""Reference outputs for the Rust EfficientNet encoders (tests/encoder_parity.rs).

Usage: encoder_parity.py OUT_DIR [LITE0_CHECKPOINT]

Writes, with the project's torch / torchvision:
  OUT_DIR/b0.pth          state dict of torchvision efficientnet_b0(weights=None), seeded,
                          with BatchNorm statistics and SE biases perturbed so that every
                          tensor matters (zip format, as torch.save writes today)
  OUT_DIR/b0_ref.pth      {"input_a", "input_b", "a.stage0" .. "a.stage7", "b.stage0" ..}:
                          stage outputs of model.features in eval mode
  OUT_DIR/lite0_ref.pth   the same for EfficientNet-Lite0 with the real pretrained
                          checkpoint (when its path is given), computed by the small
                          functional model below straight from the checkpoint's own names
Input a is 2x3x64x64, input b 1x3x70x50 (odd sizes exercise padding).
"""
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision

torch.set_grad_enabled(False)
torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)


def inputs():
    g = torch.Generator().manual_seed(1234)
    a = torch.randn(2, 3, 64, 64, generator=g)
    b = torch.randn(1, 3, 70, 50, generator=g)
    return a, b


def b0_reference(out: Path, a, b):
    torch.manual_seed(0)
    model = torchvision.models.efficientnet_b0(weights=None).eval()
    g = torch.Generator().manual_seed(7)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
            m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
            m.num_batches_tracked.fill_(3)
        elif isinstance(m, torch.nn.Conv2d) and m.bias is not None:
            m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
    torch.save(model.state_dict(), out / "b0.pth")
    ref = {"input_a": a, "input_b": b}
    for tag, x in (("a", a), ("b", b)):
        h = x
        for i in range(8):
            h = model.features[i](h)
            ref[f"{tag}.stage{i}"] = h.clone()
    torch.save(ref, out / "b0_ref.pth")


# --- EfficientNet-Lite0 from the lukemelas-style checkpoint -------------------------
# Stages 1-7: (blocks, expand ratio, kernel, first stride)
LITE0_STAGES = [(1, 1, 3, 1), (2, 6, 3, 2), (2, 6, 5, 2), (3, 6, 3, 2), (3, 6, 5, 1), (4, 6, 5, 2), (1, 6, 3, 1)]


def same_pad(x, k, s):
    """TensorFlow 'SAME': total padding so that out = ceil(in / s); extra goes after."""
    h, w = x.shape[-2:]
    ph = max((-(-h // s) - 1) * s + k - h, 0)
    pw = max((-(-w // s) - 1) * s + k - w, 0)
    return F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])


def conv_bn(sd, conv, bn, x, stride=1, groups=1, act=True):
    w = sd[f"{conv}.weight"]
    x = F.conv2d(same_pad(x, w.shape[-1], stride), w, None, stride, 0, 1, groups)
    x = F.batch_norm(x, sd[f"{bn}.running_mean"], sd[f"{bn}.running_var"],
                     sd[f"{bn}.weight"], sd[f"{bn}.bias"], False, 0.0, 1e-3)
    return F.relu6(x) if act else x


def lite0_stages(sd, x):
    outs = []
    h = conv_bn(sd, "_conv_stem", "_bn0", x, stride=2)
    outs.append(h)
    idx = 0
    for n, e, k, s in LITE0_STAGES:
        for j in range(n):
            p = f"_blocks.{idx}"
            inp = h
            if e != 1:
                h = conv_bn(sd, f"{p}._expand_conv", f"{p}._bn0", h)
            stride = s if j == 0 else 1
            h = conv_bn(sd, f"{p}._depthwise_conv", f"{p}._bn1", h, stride=stride, groups=h.shape[1])
            h = conv_bn(sd, f"{p}._project_conv", f"{p}._bn2", h, act=False)
            if stride == 1 and inp.shape[1] == h.shape[1]:
                h = h + inp
            idx += 1
        outs.append(h)
    return outs


def lite0_reference(out: Path, ckpt: Path, a, b):
    sd = torch.load(ckpt, map_location="cpu", weights_only=True)
    ref = {"input_a": a, "input_b": b}
    for tag, x in (("a", a), ("b", b)):
        for i, h in enumerate(lite0_stages(sd, x)):
            ref[f"{tag}.stage{i}"] = h.contiguous()
    torch.save(ref, out / "lite0_ref.pth")


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    a, b = inputs()
    b0_reference(out, a, b)
    if len(sys.argv) > 2:
        lite0_reference(out, Path(sys.argv[2]), a, b)
    print(f"wrote references to {out}")


if __name__ == "__main__":
    main()
