//! Exercise 1, ISICDataset: sorted image list, mask pairing, separate transforms.
//!
//! Every check runs on a tiny synthetic set drawn from the run's seed
//! ([`fixtures::tiny_config`]) that the observer writes into its scratch folder; the
//! judge rebuilds the same files' pixels to know what each item must hold.
use super::fixtures::{self, show_values, Summary};
use super::rng;
use crate::data::isic::{self, TRAIN_IMAGES, TRAIN_MASKS};
use crate::data::synthetic::Split;
use crate::data::FloatImage;
use crate::grading::judge::{spec, CheckSpec, JudgeCtx};
use crate::grading::mistakes::Mistake;
use anyhow::{bail, ensure};
use rand::seq::index::sample;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Name of the check target.
pub const TARGET: &str = "ex01_dataset";

/// `len()` of the training and the test set.
#[derive(Debug, Serialize, Deserialize)]
pub struct Lengths {
    pub train: usize,
    pub test: usize,
}

/// The paths a data set lists, relative to the set's root folder (absolute when they
/// lie outside it).
#[derive(Debug, Serialize, Deserialize)]
pub struct Listing {
    pub images: Vec<String>,
    pub masks: Vec<String>,
}

/// One item as `get` returned it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Item {
    pub index: usize,
    pub image: Summary,
    pub mask: Summary,
}

/// Shapes of an item with separate image and mask transforms.
#[derive(Debug, Serialize, Deserialize)]
pub struct Shapes {
    pub image: Vec<i64>,
    pub mask: Vec<i64>,
}

/// What the data set did once a mask file was deleted.
#[derive(Debug, Serialize, Deserialize)]
pub enum MissingMask {
    /// `new` failed with this error.
    NewFailed(String),
    /// `get` failed with this error.
    GetFailed(String),
    /// `get` returned an item; `image` is the file name of the image it lists at
    /// that index.
    GetSucceeded { image: String },
}

/// The items `plain_tensors` looks at: three distinct training indices.
pub fn plain_items(seed: u64) -> Vec<usize> {
    let n = fixtures::tiny_config(seed, "plain_tensors").train;
    let mut items = sample(&mut rng(seed, "plain_tensors/items"), n, 3).into_vec();
    items.sort_unstable();
    items
}

/// The transforms of `uses_transforms`: the item, the image's resize (height, width)
/// and the mask's, all different from each other and from the file's size.
pub fn transform_sizes(seed: u64) -> (usize, (usize, usize), (usize, usize)) {
    let config = fixtures::tiny_config(seed, "uses_transforms");
    let mut r = rng(seed, "uses_transforms/sizes");
    let item = r.gen_range(0..config.train);
    let image = (r.gen_range(16..=40), r.gen_range(16..=40));
    let mut mask = (r.gen_range(8..=40), r.gen_range(8..=40));
    while mask == image || mask.0 == image.0 {
        mask = (r.gen_range(8..=40), r.gen_range(8..=40));
    }
    (item, image, mask)
}

/// The training item whose mask `missing_mask_is_an_error` deletes.
pub fn deleted_item(seed: u64) -> usize {
    let n = fixtures::tiny_config(seed, "missing_mask_is_an_error").train;
    rng(seed, "missing_mask_is_an_error/item").gen_range(0..n)
}

/// Known mistakes of this exercise (their variants: solutions/mistakes/, instructors).
pub const MISTAKES: &[Mistake] = &[
    Mistake {
        id: "mask_name_without_suffix",
        title: "the mask named stem + \".png\" (without _Segmentation)",
        fix: "A mask is named <image stem>_Segmentation.png: use se05::data::isic::mask_path_for.",
    },
    Mistake {
        id: "mask_name_from_file_name",
        title: "the mask name built from the whole file name (\".jpg\" left in)",
        fix: "Build it from the stem (Path::file_stem), not the file name: ISIC_0000000_Segmentation.png.",
    },
    Mistake {
        id: "mask_in_image_dir",
        title: "the mask looked up in the image folder",
        fix: "Masks live in mask_dir: join the mask's file name to mask_dir, not image_dir.",
    },
    Mistake {
        id: "mask_opened_in_colour",
        title: "the mask opened in colour (ImageFile::rgb)",
        fix: "Open the mask with ImageFile::gray: one channel, [1, H, W].",
    },
    Mistake {
        id: "image_opened_gray",
        title: "the image opened in grayscale (ImageFile::gray)",
        fix: "Open the image with ImageFile::rgb: three channels, [3, H, W].",
    },
    Mistake {
        id: "transforms_swapped",
        title: "image_transform applied to the mask and mask_transform to the image",
        fix: "Run the image through image_transform and the mask through mask_transform.",
    },
    Mistake {
        id: "mask_transform_ignored",
        title: "the mask not run through mask_transform",
        fix: "Apply mask_transform to the mask (plain ToTensor only when it is None).",
    },
];

fn named(id: &str) -> String {
    crate::grading::mistakes::get(MISTAKES, id).named()
}

pub fn specs() -> Vec<CheckSpec> {
    vec![
        spec::<Lengths>(
            "length",
            1,
            "new() lists every .jpg of image_dir (se05::data::isic::list_images); len() is \
             how many there are.",
            judge_length,
        ),
        spec::<Listing>(
            "sorted_and_paired",
            2,
            "Sort the image paths by name, and find each mask as stem + \
             \"_Segmentation.png\" in mask_dir (se05::data::isic::mask_path_for).",
            judge_listing,
        ),
        spec::<Vec<Item>>(
            "plain_tensors",
            2,
            "Without transforms use Compose::new(vec![Transform::ToTensor]): the image \
             becomes [3, H, W] and the mask [1, H, W], both f32 in [0, 1]; open the mask \
             with ImageFile::gray.",
            judge_plain,
        ),
        spec::<Shapes>(
            "uses_transforms",
            2,
            "Run the image through image_transform and the mask through mask_transform \
             (Compose::apply_image with sample_rng()).",
            judge_transforms,
        ),
        spec::<MissingMask>(
            "missing_mask_is_an_error",
            1,
            "Propagate the error of ImageFile::gray with `?`: it names the missing mask file.",
            judge_missing,
        ),
    ]
}

fn judge_length(got: Lengths, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let config = fixtures::tiny_config(ctx.seed, "length");
    ensure!(
        got.train == config.train,
        "the training folder holds {} images, len() returned {}",
        config.train,
        got.train
    );
    ensure!(
        got.test == config.test,
        "the test folder holds {} images, len() returned {}",
        config.test,
        got.test
    );
    Ok(())
}

fn judge_listing(got: Listing, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let config = fixtures::tiny_config(ctx.seed, "sorted_and_paired");
    let ids: Vec<String> = (0..config.train)
        .map(|i| crate::data::synthetic::image_id(&config, Split::Train, i))
        .collect();
    let images: Vec<String> = ids
        .iter()
        .map(|id| format!("{TRAIN_IMAGES}/{id}.jpg"))
        .collect();
    let masks: Vec<String> = ids
        .iter()
        .map(|id| format!("{TRAIN_MASKS}/{}", isic::mask_file_name(id)))
        .collect();
    ensure!(
        got.images.len() == images.len(),
        "`images` lists {} files, the image folder holds {} .jpg files",
        got.images.len(),
        images.len()
    );
    if got.images != images {
        let mut sorted = got.images.clone();
        sorted.sort();
        let (i, (g, e)) = got
            .images
            .iter()
            .zip(&images)
            .enumerate()
            .find(|(_, (g, e))| g != e)
            .expect("the lists differ");
        if sorted == images {
            bail!("item {i} is {g}, expected {e}: the right files, but not sorted by name");
        }
        bail!("item {i} is {g}, expected {e}");
    }
    ensure!(
        got.masks.len() == masks.len(),
        "mask_path answered for {} items, expected {}",
        got.masks.len(),
        masks.len()
    );
    for (i, (g, e)) in got.masks.iter().zip(&masks).enumerate() {
        if g == e {
            continue;
        }
        let id = &ids[i];
        let which = if *g == format!("{TRAIN_MASKS}/{id}.png") {
            named("mask_name_without_suffix")
        } else if *g
            == format!(
                "{TRAIN_MASKS}/{}",
                isic::mask_file_name(&format!("{id}.jpg"))
            )
        {
            named("mask_name_from_file_name")
        } else if g.starts_with(&format!("{TRAIN_IMAGES}/")) {
            named("mask_in_image_dir")
        } else {
            String::new()
        };
        bail!("the mask of item {i} is {g}, expected {e}. {which}");
    }
    Ok(())
}

fn judge_plain(items: Vec<Item>, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let config = fixtures::tiny_config(ctx.seed, "plain_tensors");
    let wanted = plain_items(ctx.seed);
    ensure!(
        items.iter().map(|i| i.index).collect::<Vec<_>>() == wanted,
        "expected items {wanted:?}, got {:?}",
        items.iter().map(|i| i.index).collect::<Vec<_>>()
    );
    let decoded = fixtures::decoded_split(&config, Split::Train)?;
    let expected: Vec<Summary> = decoded
        .iter()
        .map(|(_, image, _)| Summary::of(&FloatImage::from_rgb(image).to_tensor()))
        .collect();
    let (h, w) = (config.height as i64, config.width as i64);
    for item in &items {
        let i = item.index;
        let (id, _, mask) = &decoded[i];
        if item.mask.shape == [3, h, w] {
            bail!(
                "item {i}: mask shape [3, {h}, {w}], expected [1, {h}, {w}]: {}",
                named("mask_opened_in_colour")
            );
        }
        if item.image.shape == [1, h, w] {
            bail!(
                "item {i}: image shape [1, {h}, {w}], expected [3, {h}, {w}]: {}",
                named("image_opened_gray")
            );
        }
        ensure!(
            item.image.shape == [3, h, w],
            "item {i}: image shape {:?}, expected [3, {h}, {w}]",
            item.image.shape
        );
        ensure!(
            item.mask.shape == [1, h, w],
            "item {i}: mask shape {:?}, expected [1, {h}, {w}]",
            item.mask.shape
        );
        ensure!(
            item.image.kind == "Float" && item.mask.kind == "Float",
            "item {i}: expected f32 tensors, got {} and {}",
            item.image.kind,
            item.mask.kind
        );
        ensure!(
            item.mask.is_binary(),
            "item {i}: the mask should hold only 0 and 1, it holds {}",
            show_values(&item.mask)
        );
        ensure!(
            item.image.min >= 0.0 && item.image.max <= 1.0 && item.image.max > item.image.min,
            "item {i}: image values span [{}, {}], expected within [0, 1]",
            item.image.min,
            item.image.max
        );
        if !item.image.close_to(&expected[i], 1e-5) {
            if let Some(j) = expected.iter().position(|e| item.image.close_to(e, 1e-5)) {
                bail!(
                    "item {i} holds the image of item {j} ({}), expected {id}",
                    decoded[j].0
                );
            }
            let means = |s: &Summary| {
                s.sums
                    .iter()
                    .map(|v| format!("{:.4}", v / (h * w) as f64))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            bail!(
                "item {i}: the image is not {id}.jpg as decoded (per-channel means {} \
                 expected, got {})",
                means(&expected[i]),
                means(&item.image)
            );
        }
        let lesion = mask.as_raw().iter().filter(|v| **v > 127).count() as f64;
        let got = item.mask.sums.first().copied().unwrap_or(-1.0);
        ensure!(
            got == lesion,
            "item {i}: the mask has {got} pixels at 1, the mask file of {id} has {lesion}"
        );
    }
    Ok(())
}

fn judge_transforms(got: Shapes, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let (_, (ih, iw), (mh, mw)) = transform_sizes(ctx.seed);
    let config = fixtures::tiny_config(ctx.seed, "uses_transforms");
    let image = vec![3, ih as i64, iw as i64];
    let mask = vec![1, mh as i64, mw as i64];
    if got.image[1..] == mask[1..] && got.mask[1..] == image[1..] {
        bail!(
            "the image came out {:?} and the mask {:?}: {}",
            got.image,
            got.mask,
            named("transforms_swapped")
        );
    }
    let file = [config.height as i64, config.width as i64];
    for (what, g, e, field) in [
        ("image", &got.image, &image, "image_transform"),
        ("mask", &got.mask, &mask, "mask_transform"),
    ] {
        if g != e && g.len() == 3 && g[1..] == file {
            let which = if what == "mask" {
                named("mask_transform_ignored")
            } else {
                format!("{field} was not applied")
            };
            bail!(
                "with a {}×{} {field} the {what} kept the file's size {g:?}: {which}",
                e[1],
                e[2]
            );
        }
        ensure!(
            g == e,
            "with a {}×{} {field} the {what} is {g:?}, expected {e:?}",
            e[1],
            e[2]
        );
    }
    Ok(())
}

fn judge_missing(got: MissingMask, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let config = fixtures::tiny_config(ctx.seed, "missing_mask_is_an_error");
    let i = deleted_item(ctx.seed);
    let id = crate::data::synthetic::image_id(&config, Split::Train, i);
    let name = isic::mask_file_name(&id);
    match got {
        MissingMask::GetSucceeded { image } if image != format!("{id}.jpg") => bail!(
            "the mask {name} of {id}.jpg (item {i} in sorted order) was deleted, but your \
             item {i} is {image}, and get({i}) returned an item"
        ),
        MissingMask::GetSucceeded { .. } => {
            bail!("get({i}) returned an item although its mask {name} was deleted")
        }
        MissingMask::NewFailed(text) | MissingMask::GetFailed(text) => ensure!(
            text.contains(&name),
            "the error should name {name}, got: {text}"
        ),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawn_inputs_are_valid() {
        for seed in 0..200 {
            let items = plain_items(seed);
            let n = fixtures::tiny_config(seed, "plain_tensors").train;
            assert!(items.len() == 3 && items.iter().all(|i| *i < n));
            let (item, image, mask) = transform_sizes(seed);
            assert!(item < fixtures::tiny_config(seed, "uses_transforms").train);
            assert_ne!(image.0, mask.0);
            assert!(
                deleted_item(seed) < fixtures::tiny_config(seed, "missing_mask_is_an_error").train
            );
        }
    }
}
