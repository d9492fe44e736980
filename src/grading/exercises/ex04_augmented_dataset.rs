//! Exercise 4, ISICDatasetAlbumentations: one pipeline for image and mask, then a
//! binarised mask.
//!
//! The observer writes the sets into its scratch folder: tiny synthetic sets drawn
//! from the seed and, for `binary_masks`, one pair whose mask has anti-aliased (grey)
//! edges, as real ISIC masks resampled by a photo tool have. The judge runs the
//! library's pipeline on the same pixels with the same per-item seeds to know what
//! each item must hold.
use super::fixtures::{self, show_values, EncodedPair, Summary};
use super::rng;
use crate::data::synthetic::Split;
use crate::data::{with_sample_seed, Compose, FloatImage, GrayImage, Input, RgbImage, Transform};
use crate::grading::judge::{spec, CheckSpec, JudgeCtx};
use crate::grading::mistakes::Mistake;
use anyhow::{bail, ensure};
use rand::Rng;
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// Name of the check target.
pub const TARGET: &str = "ex04_augmented_dataset";

/// One item as `get` returned it (under a sample seed for the random pipelines).
#[derive(Debug, Serialize, Deserialize)]
pub struct Item {
    pub index: usize,
    pub seed: u64,
    pub image: Summary,
    pub mask: Summary,
}

/// `len()` and a few items without a transform.
#[derive(Debug, Serialize, Deserialize)]
pub struct Plain {
    pub len: usize,
    pub items: Vec<Item>,
}

/// The mask of the grey-edged pair after one pipeline.
#[derive(Debug, Serialize, Deserialize)]
pub struct GreyMask {
    pub pipeline: String,
    pub mask: Summary,
}

/// The items `length_and_plain_items` looks at.
pub fn plain_items(seed: u64) -> Vec<usize> {
    let n = fixtures::tiny_config(seed, "length_and_plain_items").train;
    let mut r = rng(seed, "length_and_plain_items/items");
    let a = r.gen_range(0..n);
    let b = (a + r.gen_range(1..n)) % n;
    vec![a, b]
}

/// Sample seeds of a check: `per_item` for each of `items` items.
pub fn sample_seeds(seed: u64, check: &str, items: usize, per_item: usize) -> Vec<(usize, u64)> {
    let mut r = rng(seed, &format!("{check}/seeds"));
    (0..items)
        .flat_map(|i| (0..per_item).map(move |k| (i, k)))
        .map(|(i, _)| (i, r.gen()))
        .collect()
}

/// The pair with grey mask edges, drawn from the seed: an image of 24–56 pixels a
/// side holding a dark disc, and a mask whose edge pixels hold the disc's coverage
/// (0–255) over an edge 2–5 pixels wide.
pub fn grey_pair(seed: u64) -> anyhow::Result<(EncodedPair, RgbImage, GrayImage)> {
    let mut r = rng(seed, "binary_masks/pair");
    let (w, h) = (r.gen_range(24..=56u32), r.gen_range(24..=56u32));
    let radius = r.gen_range(0.2..0.4) * w.min(h) as f32;
    let (cx, cy) = (
        r.gen_range(radius..w as f32 - radius),
        r.gen_range(radius..h as f32 - radius),
    );
    let edge = r.gen_range(2.0..5.0f32);
    let coverage = |x: u32, y: u32| {
        let d = ((x as f32 + 0.5 - cx).powi(2) + (y as f32 + 0.5 - cy).powi(2)).sqrt();
        ((radius - d) / edge + 0.5).clamp(0.0, 1.0)
    };
    let skin = [
        r.gen_range(170..235u8),
        r.gen_range(120..190u8),
        r.gen_range(90..170u8),
    ];
    let image = RgbImage::from_fn(w, h, |x, y| {
        let k = 1.0 - 0.55 * coverage(x, y);
        image::Rgb(skin.map(|v| (v as f32 * k) as u8))
    });
    let mask = GrayImage::from_fn(w, h, |x, y| {
        image::Luma([(255.0 * coverage(x, y)).round() as u8])
    });
    let pair = EncodedPair {
        id: format!("ISIC_{:07}", r.gen_range(0..10_000_000)),
        jpeg: fixtures::encode_jpeg(&image, 90)?,
        png: fixtures::encode_png(&mask)?,
    };
    let (image, mask) = fixtures::decode_pair(&pair)?;
    Ok((pair, image, mask))
}

/// The pipelines `binary_masks` runs the grey-edged pair through, with the sample
/// seed of each: none (plain ToTensor), a drawn Resize, and a certain Rotate.
pub fn grey_pipelines(seed: u64) -> Vec<(String, Option<Compose>, u64)> {
    let mut r = rng(seed, "binary_masks/pipelines");
    let (h, w) = (r.gen_range(20..=72usize), r.gen_range(20..=72usize));
    vec![
        ("no transform".to_string(), None, r.gen()),
        (
            format!("Resize {h}×{w}"),
            Some(Compose::new(vec![
                Transform::Resize {
                    height: h,
                    width: w,
                },
                Transform::ToTensor,
            ])),
            r.gen(),
        ),
        (
            "Rotate (limit 10, p 1)".to_string(),
            Some(rotate()),
            r.gen(),
        ),
    ]
}

/// Flips with probability 0.5 each, then ToTensor.
pub fn flips() -> Compose {
    Compose::new(vec![
        Transform::HorizontalFlip { p: 0.5 },
        Transform::VerticalFlip { p: 0.5 },
        Transform::ToTensor,
    ])
}

/// A rotation that always happens, then ToTensor.
pub fn rotate() -> Compose {
    Compose::new(vec![
        Transform::Rotate {
            limit: 10.0,
            p: 1.0,
        },
        Transform::ToTensor,
    ])
}

/// What the reference dataset returns for one pair: one draw of `pipeline` for image
/// and mask under `seed`, the mask binarised at 0.5.
fn reference(
    pipeline: &Compose,
    image: &RgbImage,
    mask: &GrayImage,
    seed: u64,
) -> anyhow::Result<(Tensor, Tensor)> {
    let (x, m) = with_sample_seed(seed, || {
        pipeline.apply(
            Input::from(image),
            Input::from(mask),
            &mut crate::data::sample_rng(),
        )
    })?;
    Ok((x, m))
}

fn binarised(m: &Tensor) -> Tensor {
    m.gt(0.5).to_kind(Kind::Float)
}

/// Known mistakes of this exercise (their variants: solutions/mistakes/, instructors).
pub const MISTAKES: &[Mistake] = &[
    Mistake {
        id: "mask_not_binarised",
        title: "the mask not binarised after the transforms",
        fix: "End get with mask.gt(0.5).to_kind(Kind::Float): grey edge values become 0 or 1.",
    },
    Mistake {
        id: "binarised_above_zero",
        title: "the mask binarised at 0 instead of 0.5",
        fix: "mask.gt(0.5): a pixel is lesion when it is more than half covered.",
    },
    Mistake {
        id: "threshold_for_255",
        title: "a threshold for 0–255 values on a mask that holds 0–1",
        fix: "ToTensor already scales the mask to [0, 1]: threshold at 0.5, not 127.",
    },
    Mistake {
        id: "bool_mask",
        title: "the binarised mask left as a bool tensor",
        fix: "Convert the comparison's result: mask.gt(0.5).to_kind(Kind::Float).",
    },
    Mistake {
        id: "separate_draws",
        title: "image and mask transformed with separate random draws",
        fix: "One Compose::apply(image, mask, &mut sample_rng()) call: one draw for both.",
    },
    Mistake {
        id: "mask_not_transformed",
        title: "the mask not passed through the pipeline",
        fix: "Give the mask to the same Compose::apply call as the image.",
    },
    Mistake {
        id: "own_seed",
        title: "a random draw other than the loader's (a seed of your own)",
        fix: "Pass sample_rng() to Compose::apply as it is: the loader seeds it per epoch and item; a seed of your own repeats the same augmentation every epoch.",
    },
];

fn named(id: &str) -> String {
    crate::grading::mistakes::get(MISTAKES, id).named()
}

pub fn specs() -> Vec<CheckSpec> {
    vec![
        spec::<Plain>(
            "length_and_plain_items",
            1,
            "List the sorted .jpg files as in exercise 1; without a transform use \
             Compose::new(vec![Transform::ToTensor]).",
            judge_plain,
        ),
        spec::<Vec<GreyMask>>(
            "binary_masks",
            3,
            "Mask files can hold grey edge values, and Resize and Rotate resample the mask: \
             binarise it after the transforms with mask.gt(0.5).to_kind(Kind::Float).",
            judge_binary,
        ),
        spec::<Vec<Item>>(
            "aligned_flips",
            2,
            "One Compose::apply call for image and mask together, with sample_rng(): a flip \
             of the image must be the same flip of its mask.",
            judge_flips,
        ),
        spec::<Vec<Item>>(
            "aligned_rotation",
            2,
            "Rotate image and mask with the same angle in one apply call: the lesion pixels \
             of the image must stay under the mask.",
            judge_rotation,
        ),
    ]
}

/// The grey-mask message: only when the observation shows values strictly between 0
/// and 1.
fn mask_values(what: &str, mask: &Summary) -> anyhow::Result<()> {
    if mask.has_grey() {
        bail!(
            "{what}: mask values other than 0 and 1 after your dataset ({}): {}",
            show_values(mask),
            named("mask_not_binarised")
        );
    }
    if mask.kind == "Bool" {
        bail!(
            "{what}: mask kind Bool, expected Float: {}",
            named("bool_mask")
        );
    }
    ensure!(
        mask.is_binary(),
        "{what}: the mask holds {}, expected only 0 and 1",
        show_values(mask)
    );
    ensure!(
        mask.kind == "Float",
        "{what}: mask kind {}, expected Float",
        mask.kind
    );
    Ok(())
}

fn judge_plain(got: Plain, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let config = fixtures::tiny_config(ctx.seed, "length_and_plain_items");
    ensure!(
        got.len == config.train,
        "the training folder holds {} images, len() returned {}",
        config.train,
        got.len
    );
    let wanted = plain_items(ctx.seed);
    let indices: Vec<usize> = got.items.iter().map(|i| i.index).collect();
    ensure!(
        indices == wanted,
        "expected items {wanted:?}, got {indices:?}"
    );
    let decoded = fixtures::decoded_split(&config, Split::Train)?;
    let plain = Compose::new(vec![Transform::ToTensor]);
    for item in &got.items {
        let i = item.index;
        let (id, image, mask) = &decoded[i];
        let (x, m) = reference(&plain, image, mask, 0)?;
        let (want_x, want_m) = (Summary::of(&x), Summary::of(&binarised(&m)));
        ensure!(
            item.image.shape == want_x.shape && item.mask.shape == want_m.shape,
            "item {i}: shapes {:?} and {:?}, expected {:?} and {:?}",
            item.image.shape,
            item.mask.shape,
            want_x.shape,
            want_m.shape
        );
        mask_values(&format!("item {i}"), &item.mask)?;
        ensure!(
            item.image.close_to(&want_x, 1e-5) && item.mask.close_to(&want_m, 1e-9),
            "item {i} is not the image and mask of {id} (sorted order, stem + \
             _Segmentation.png)"
        );
    }
    Ok(())
}

fn judge_binary(got: Vec<GreyMask>, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let (pair, image, mask) = grey_pair(ctx.seed)?;
    let pipelines = grey_pipelines(ctx.seed);
    ensure!(
        got.len() == pipelines.len(),
        "expected {} results, got {}",
        pipelines.len(),
        got.len()
    );
    let plain = Compose::new(vec![Transform::ToTensor]);
    for ((name, pipeline, seed), obs) in pipelines.iter().zip(&got) {
        let what = format!("{} with {name}", pair.id);
        let (_, m) = reference(pipeline.as_ref().unwrap_or(&plain), &image, &mask, *seed)?;
        let want = Summary::of(&binarised(&m));
        let file = vec![1, mask.height() as i64, mask.width() as i64];
        if obs.mask.shape != want.shape && obs.mask.shape == file {
            bail!(
                "{what}: mask shape {:?} (the file's), expected {:?}: {}",
                obs.mask.shape,
                want.shape,
                named("mask_not_transformed")
            );
        }
        ensure!(
            obs.mask.shape == want.shape,
            "{what}: mask shape {:?}, expected {:?}",
            obs.mask.shape,
            want.shape
        );
        mask_values(&what, &obs.mask)?;
        let (ones, want_ones) = (obs.mask.sums[0], want.sums[0]);
        if ones != want_ones {
            let above_zero = m.gt(0.0).sum(Kind::Double).double_value(&[]);
            if ones == above_zero {
                bail!(
                    "{what}: {ones} mask pixels are 1, expected {want_ones}: {ones} is the \
                     number of pixels above 0; {}",
                    named("binarised_above_zero")
                );
            }
            if ones == 0.0 {
                bail!(
                    "{what}: no mask pixel is 1, expected {want_ones} (the pixels above \
                     0.5): {}",
                    named("threshold_for_255")
                );
            }
            bail!("{what}: {ones} mask pixels are 1, expected {want_ones} (the pixels above 0.5)");
        }
        ensure!(
            obs.mask.close_to(&want, 1e-9),
            "{what}: the mask has the right number of lesion pixels, but not in the right place"
        );
    }
    Ok(())
}

/// Names of the four flip combinations, by index (bit 0: left-right, bit 1: up-down).
const FLIPS: [&str; 4] = [
    "not flipped",
    "flipped left-right",
    "flipped up-down",
    "flipped both ways",
];

fn flipped(t: &Tensor, k: usize) -> Tensor {
    match k {
        0 => t.shallow_clone(),
        1 => t.flip([2]),
        2 => t.flip([1]),
        _ => t.flip([1, 2]),
    }
}

fn judge_flips(got: Vec<Item>, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let config = fixtures::tiny_config(ctx.seed, "aligned_flips");
    let seeds = sample_seeds(ctx.seed, "aligned_flips", config.train, 3);
    ensure!(
        got.len() == seeds.len(),
        "expected {} items, got {}",
        seeds.len(),
        got.len()
    );
    let decoded = fixtures::decoded_split(&config, Split::Train)?;
    // Every flip each item's image and mask match, and those the pipeline draws: a
    // mask (or image) symmetric under a flip matches more than one, and any flip
    // image and mask share with the pipeline's draw is right.
    let mut seen = Vec::new();
    for (item, (i, seed)) in got.iter().zip(&seeds) {
        let (_, image, mask) = &decoded[*i];
        ensure!(
            item.index == *i && item.seed == *seed,
            "expected item {i} with sample seed {seed}, got item {} with {}",
            item.index,
            item.seed
        );
        let x0 = FloatImage::from_rgb(image).to_tensor();
        let m0 = binarised(&FloatImage::from_gray(mask).to_tensor());
        let (x, _) = reference(&flips(), image, mask, *seed)?;
        let matching = |summary: &Summary, base: &Tensor, tol: f64| -> Vec<usize> {
            (0..4)
                .filter(|k| summary.close_to(&Summary::of(&flipped(base, *k)), tol))
                .collect()
        };
        let expected = matching(&Summary::of(&x), &x0, 1e-9);
        let img = matching(&item.image, &x0, 1e-5);
        let msk = matching(&item.mask, &m0, 1e-9);
        seen.push((img, msk, expected));
    }
    let shared = |img: &[usize], msk: &[usize]| -> Vec<usize> {
        img.iter().copied().filter(|k| msk.contains(k)).collect()
    };
    // A mask flipped, but otherwise than its image, went through a draw of its own.
    let own_draw = seen.iter().any(|(img, msk, _)| {
        !img.is_empty() && !msk.is_empty() && shared(img, msk).is_empty() && !msk.contains(&0)
    });
    for (k, (i, seed)) in seeds.iter().enumerate() {
        let (id, _, _) = &decoded[*i];
        let what = format!("item {i} (sample seed {seed})");
        let (img, msk, expected) = &seen[k];
        let both = shared(img, msk);
        if both.iter().any(|f| expected.contains(f)) {
            continue;
        }
        if img.is_empty() {
            bail!("{what}: the image is not {id} with or without flips");
        }
        if msk.is_empty() {
            mask_values(&what, &got[k].mask)?;
            bail!("{what}: the mask is not the mask of {id} with or without flips");
        }
        if both.is_empty() {
            bail!(
                "{what}: the image is {} but its mask is {}: {}",
                FLIPS[img[0]],
                FLIPS[msk[0]],
                if own_draw {
                    named("separate_draws")
                } else {
                    "draw once for both with one Compose::apply call".to_string()
                }
            );
        }
        bail!(
            "{what}: image and mask are {}, but the pipeline's draw from sample_rng() \
             gives {}: {}",
            FLIPS[both[0]],
            FLIPS[expected.first().copied().unwrap_or(0)],
            named("own_seed")
        );
    }
    Ok(())
}

fn judge_rotation(got: Vec<Item>, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let config = fixtures::tiny_config(ctx.seed, "aligned_rotation");
    let seeds = sample_seeds(ctx.seed, "aligned_rotation", config.train, 1);
    ensure!(
        got.len() == seeds.len(),
        "expected {} items, got {}",
        seeds.len(),
        got.len()
    );
    let decoded = fixtures::decoded_split(&config, Split::Train)?;
    for (item, (i, seed)) in got.iter().zip(&seeds) {
        let (id, image, mask) = &decoded[*i];
        let what = format!("item {i} (sample seed {seed})");
        ensure!(
            item.index == *i && item.seed == *seed,
            "expected item {i} with sample seed {seed}, got item {} with {}",
            item.index,
            item.seed
        );
        let (x, m) = reference(&rotate(), image, mask, *seed)?;
        ensure!(
            item.image.close_to(&Summary::of(&x), 1e-5),
            "{what}: the image is not {id} rotated by the pipeline's draw from sample_rng()"
        );
        mask_values(&what, &item.mask)?;
        ensure!(
            item.mask.close_to(&Summary::of(&binarised(&m)), 1e-9),
            "{what}: the image is rotated as the pipeline draws, but the mask differs from \
             its mask rotated by the same angle (nearest neighbour, binarised at 0.5): rotate \
             image and mask in one Compose::apply call"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grey_pairs_hold_grey_values_on_both_sides_of_the_threshold() {
        for seed in 0..100 {
            let (_, _, mask) = grey_pair(seed).unwrap();
            let raw = mask.as_raw();
            assert!(raw.iter().any(|v| (1..128).contains(v)), "seed {seed}");
            assert!(raw.iter().any(|v| (128..255).contains(v)), "seed {seed}");
            assert!(raw.contains(&255) && raw.contains(&0), "seed {seed}");
        }
    }

    #[test]
    fn plain_items_differ() {
        for seed in 0..100 {
            let items = plain_items(seed);
            assert_ne!(items[0], items[1]);
        }
    }
}
