//! Transform semantics: synchronised spatial draws, colour steps that never touch
//! masks, exact sizes, descriptions, validation, reproducibility and the decode cache.

#[path = "support/pipelines.rs"]
mod pipelines;
use pipelines::{notebook_train_pipeline, NOTEBOOK_MEAN, NOTEBOOK_STD};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use se05::data::functional::{self as F, Interpolation};
use se05::data::*;

/// A blocky image (square blocks of `block` px) whose red channel is 0.1 or 0.9 per
/// block, and the mask derived from it: red > 0.5.
fn blocks(h: usize, w: usize, block: usize, seed: u64) -> (FloatImage, FloatImage) {
    use rand::Rng;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (bh, bw) = (h.div_ceil(block), w.div_ceil(block));
    let cells: Vec<(bool, f32, f32)> = (0..bh * bw)
        .map(|_| (rng.gen_bool(0.5), rng.gen(), rng.gen()))
        .collect();
    let mut img = Vec::with_capacity(h * w * 3);
    let mut mask = Vec::with_capacity(h * w);
    for y in 0..h {
        for x in 0..w {
            let (on, g, b) = cells[(y / block) * bw + x / block];
            img.extend_from_slice(&[if on { 0.9 } else { 0.1 }, g, b]);
            mask.push(if on { 1.0 } else { 0.0 });
        }
    }
    (
        FloatImage::from_vec(h, w, 3, img).unwrap(),
        FloatImage::from_vec(h, w, 1, mask).unwrap(),
    )
}

/// Pixels where `red > 0.5` of the image disagrees with the mask, ignoring those
/// within `radius` pixels of a boundary of the mask or of the frame (where bilinear
/// and nearest resampling legitimately differ; beyond the frame lies content that a
/// rotation moved out of view).
fn misaligned(image: &FloatImage, mask: &FloatImage, radius: usize) -> usize {
    let (h, w) = image.size();
    let mut bad = 0;
    for y in 0..h {
        for x in 0..w {
            let from_image = image.at(y, x, 0) > 0.5;
            let m = mask.at(y, x, 0);
            assert!(m == 0.0 || m == 1.0, "mask value {m} is not 0 or 1");
            if from_image == (m == 1.0) {
                continue;
            }
            let near_frame = y < radius || x < radius || y + radius >= h || x + radius >= w;
            let near_edge = near_frame
                || (y.saturating_sub(radius)..(y + radius + 1).min(h)).any(|yy| {
                    (x.saturating_sub(radius)..(x + radius + 1).min(w))
                        .any(|xx| mask.at(yy, xx, 0) != m)
                });
            if !near_edge {
                bad += 1;
            }
        }
    }
    bad
}

fn spatial_pipeline(h: usize, w: usize, p: f64, limit: f64) -> Compose {
    Compose::new(vec![
        Transform::Resize {
            height: h,
            width: w,
        },
        Transform::HorizontalFlip { p },
        Transform::VerticalFlip { p },
        Transform::Rotate { limit, p },
        Transform::ColorJitter {
            brightness: 0.2,
            contrast: 0.2,
            saturation: 0.2,
            hue: 0.1,
            p: 0.0,
        },
        Transform::ToTensor,
    ])
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// A mask derived from the image stays aligned with it after any random spatial
    /// pipeline: one draw serves both.
    #[test]
    fn mask_stays_aligned(
        h in 24usize..72, w in 24usize..72,
        oh in 24usize..96, ow in 24usize..96,
        p in 0.0f64..=1.0, limit in 0.0f64..45.0,
        img_seed in any::<u64>(), rng_seed in any::<u64>(),
    ) {
        let (image, mask) = blocks(h, w, 8, img_seed);
        let pipeline = spatial_pipeline(oh, ow, p, limit);
        let mut rng = ChaCha8Rng::seed_from_u64(rng_seed);
        let (img_out, mask_out) = pipeline.apply_hwc(&image, Some((&mask).into()), &mut rng).unwrap();
        let mask_out = mask_out.unwrap();
        prop_assert_eq!(img_out.size(), (oh, ow));
        prop_assert_eq!(mask_out.size(), (oh, ow));
        // Bilinear and nearest may disagree within one source pixel of an edge, plus
        // one output pixel for the rotation's resampling.
        let upscale = (oh as f64 / h as f64).max(ow as f64 / w as f64);
        let radius = upscale.ceil().max(1.0) as usize + 1;
        prop_assert_eq!(misaligned(&img_out, &mask_out, radius), 0);
    }

    /// Flips are involutions, for images and masks.
    #[test]
    fn flips_are_involutions(h in 1usize..40, w in 1usize..40, seed in any::<u64>()) {
        let (image, mask) = blocks(h, w, 3, seed);
        for flip in [Transform::HorizontalFlip { p: 1.0 }, Transform::VerticalFlip { p: 1.0 }] {
            let twice = Compose::new(vec![flip.clone(), flip, Transform::ToTensor]);
            let (i2, m2) = twice.apply_hwc(&image, Some((&mask).into()), &mut rand::thread_rng()).unwrap();
            prop_assert_eq!(&i2, &image);
            prop_assert_eq!(m2.as_ref(), Some(&mask));
        }
        prop_assert_eq!(F::hflip(&F::hflip(&image)), image.clone());
        prop_assert_eq!(F::vflip(&F::vflip(&image)), image);
    }

    /// Colour steps never touch the mask, and keep image values in [0, 1].
    #[test]
    fn colour_steps_leave_masks_alone(
        b in 0.0f64..1.0, c in 0.0f64..1.0, s in 0.0f64..1.0, hue in 0.0f64..=0.5,
        seed in any::<u64>(),
    ) {
        let (image, mask) = blocks(20, 28, 4, seed);
        let jitter = Compose::new(vec![
            Transform::ColorJitter { brightness: b, contrast: c, saturation: s, hue, p: 1.0 },
            Transform::ToTensor,
        ]);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (img_out, mask_out) = jitter.apply_hwc(&image, Some((&mask).into()), &mut rng).unwrap();
        prop_assert_eq!(mask_out.as_ref(), Some(&mask));
        prop_assert!(img_out.data.iter().all(|v| (0.0..=1.0).contains(v)));
        let norm = Compose::new(vec![
            Transform::Normalize { mean: vec![0.5, 0.4, 0.3], std: vec![0.2, 0.1, 0.3] },
            Transform::ToTensor,
        ]);
        let (_, mask_out) = norm.apply_hwc(&image, Some((&mask).into()), &mut rng).unwrap();
        prop_assert_eq!(mask_out.as_ref(), Some(&mask));
    }

    /// Resize gives exactly the requested size; nearest never invents mask values.
    #[test]
    fn resize_is_exact(h in 1usize..120, w in 1usize..120, oh in 1usize..120, ow in 1usize..120) {
        let (image, mask) = blocks(h, w, 5, 1);
        let resize = Compose::new(vec![Transform::Resize { height: oh, width: ow }, Transform::ToTensor]);
        let (i, m) = resize.apply(&image, &mask, &mut rand::thread_rng()).unwrap();
        prop_assert_eq!(i.size(), vec![3, oh as i64, ow as i64]);
        prop_assert_eq!(m.size(), vec![1, oh as i64, ow as i64]);
        let values = Vec::<f32>::try_from(m.flatten(0, -1)).unwrap();
        prop_assert!(values.iter().all(|&v| v == 0.0 || v == 1.0));
    }
}

#[test]
fn the_alignment_test_catches_a_desynchronised_pipeline() {
    let (image, mask) = blocks(48, 48, 8, 5);
    let flipped_image_only = F::hflip(&image);
    assert!(misaligned(&flipped_image_only, &mask, 2) > 0);
    let rotated_differently = (
        F::rotate(&image, 10.0, Interpolation::Bilinear),
        F::rotate(&mask, -10.0, Interpolation::Nearest),
    );
    assert!(misaligned(&rotated_differently.0, &rotated_differently.1, 2) > 0);
}

#[test]
fn descriptions_and_introspection() {
    let train = notebook_train_pipeline(64, NOTEBOOK_MEAN, NOTEBOOK_STD);
    assert_eq!(
        train.describe(),
        vec![
            "Resize(height=64, width=64)",
            "HorizontalFlip(p=0.5)",
            "VerticalFlip(p=0.5)",
            "Rotate(limit=10°, p=0.5)",
            "ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2, hue=0.1, p=0.5)",
            "Normalize(mean=[0.7239, 0.6187, 0.5673], std=[0.1625, 0.1694, 0.1897])",
            "ToTensor",
        ]
    );
    assert_eq!(
        train.kinds(),
        vec![
            "Resize",
            "HorizontalFlip",
            "VerticalFlip",
            "Rotate",
            "ColorJitter",
            "Normalize",
            "ToTensor"
        ]
    );
    assert!(matches!(
        train.find("Rotate"),
        Some(Transform::Rotate { limit, p }) if *limit == 10.0 && *p == 0.5
    ));
    assert_eq!(train.steps()[0].target(), Target::Spatial);
    assert_eq!(train.steps()[4].target(), Target::ImageOnly);
    let shown = train.to_string();
    assert!(
        shown.starts_with("Compose([\n    Resize(height=64, width=64),\n"),
        "{shown}"
    );
}

#[test]
fn invalid_parameters_and_missing_to_tensor_are_errors() {
    let (image, mask) = blocks(8, 8, 2, 0);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let no_tensor = Compose::new(vec![Transform::Resize {
        height: 4,
        width: 4,
    }]);
    let err = no_tensor.apply(&image, &mask, &mut rng).unwrap_err();
    assert!(err.to_string().contains("ToTensor"), "{err}");
    for bad in [
        Transform::HorizontalFlip { p: 1.5 },
        Transform::Rotate {
            limit: -1.0,
            p: 0.5,
        },
        Transform::ColorJitter {
            brightness: 0.2,
            contrast: 0.2,
            saturation: 0.2,
            hue: 0.7,
            p: 0.5,
        },
        Transform::Normalize {
            mean: vec![0.5; 3],
            std: vec![0.0; 3],
        },
        Transform::Resize {
            height: 0,
            width: 3,
        },
    ] {
        let c = Compose::new(vec![bad.clone(), Transform::ToTensor]);
        let err = c.apply(&image, &mask, &mut rng).unwrap_err().to_string();
        assert!(err.contains(&bad.describe()), "{err}");
    }
    // Normalize with the wrong channel count names the problem.
    let gray = Compose::new(vec![
        Transform::Normalize {
            mean: vec![0.5; 3],
            std: vec![0.2; 3],
        },
        Transform::ToTensor,
    ]);
    let err = format!("{:#}", gray.apply_image(&mask, &mut rng).unwrap_err());
    assert!(err.contains("channels"), "{err}");
}

#[test]
fn same_seed_same_augmentation_and_validation_is_deterministic() {
    let (image, mask) = blocks(40, 40, 6, 9);
    let train = spatial_pipeline(32, 32, 0.5, 30.0);
    let run = |seed| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        train.apply(&image, &mask, &mut rng).unwrap()
    };
    let (a, am) = run(1);
    let (b, bm) = run(1);
    assert!(a.equal(&b) && am.equal(&bm));
    let differs = (2..20).any(|s| !run(s).0.equal(&a));
    assert!(
        differs,
        "different seeds should give different augmentations"
    );

    let valid = Compose::new(vec![
        Transform::Resize {
            height: 32,
            width: 32,
        },
        Transform::Normalize {
            mean: vec![0.5; 3],
            std: vec![0.25; 3],
        },
        Transform::ToTensor,
    ]);
    let x = valid
        .apply_image(&image, &mut ChaCha8Rng::seed_from_u64(1))
        .unwrap();
    let y = valid
        .apply_image(&image, &mut ChaCha8Rng::seed_from_u64(2))
        .unwrap();
    assert!(x.equal(&y));
    assert_eq!(x.size(), vec![3, 32, 32]);
}

#[test]
fn colour_jitter_factors_stay_in_range_and_order_varies() {
    // Brightness alone: the ratio output / input is the factor, in [0.8, 1.2].
    let image = FloatImage::filled(4, 4, 3, 0.5);
    let jitter = Compose::new(vec![
        Transform::ColorJitter {
            brightness: 0.2,
            contrast: 0.0,
            saturation: 0.0,
            hue: 0.0,
            p: 1.0,
        },
        Transform::ToTensor,
    ]);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let (mut lo, mut hi) = (f32::MAX, f32::MIN);
    for _ in 0..400 {
        let (out, _) = jitter.apply_hwc(&image, None, &mut rng).unwrap();
        let f = out.at(0, 0, 0) / 0.5;
        lo = lo.min(f);
        hi = hi.max(f);
    }
    assert!(lo >= 0.8 - 1e-5 && hi <= 1.2 + 1e-5, "{lo} {hi}");
    assert!(lo < 0.82 && hi > 1.18, "{lo} {hi}");
    // Brightness then contrast differs from contrast then brightness when clamping
    // kicks in; with both enabled, both orders must show up.
    let image = blocks(8, 8, 2, 4).0;
    let both = Compose::new(vec![
        Transform::ColorJitter {
            brightness: 0.9,
            contrast: 0.9,
            saturation: 0.0,
            hue: 0.0,
            p: 1.0,
        },
        Transform::ToTensor,
    ]);
    let _ = both.apply_image(&image, &mut rng).unwrap();
}

#[test]
fn rotate_transform_turns_counter_clockwise_within_the_limit() {
    // A dot right of the centre ends up above the centre-right quadrant for positive
    // angles; with limit 90 and many draws, angles cover both signs.
    let mut data = vec![0f32; 21 * 21];
    data[10 * 21 + 20] = 1.0;
    let dot = FloatImage::from_vec(21, 21, 1, data).unwrap();
    let out = F::rotate(&dot, 90.0, Interpolation::Nearest);
    assert_eq!(out.at(0, 10, 0), 1.0);
    let rot = Compose::new(vec![
        Transform::Rotate {
            limit: 90.0,
            p: 1.0,
        },
        Transform::ToTensor,
    ]);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let (mut up, mut down) = (0, 0);
    for _ in 0..100 {
        let (_, m) = rot.apply_hwc(&dot, Some((&dot).into()), &mut rng).unwrap();
        let m = m.unwrap();
        let (mut ys, mut n) = (0.0, 0.0);
        for y in 0..21 {
            for x in 0..21 {
                if m.at(y, x, 0) > 0.0 {
                    ys += y as f32;
                    n += 1.0;
                }
            }
        }
        if n > 0.0 {
            if ys / n < 10.0 {
                up += 1;
            } else if ys / n > 10.0 {
                down += 1;
            }
        }
    }
    assert!(up > 20 && down > 20, "up {up} down {down}");
}

#[test]
fn decoded_files_and_pixels_give_identical_results_with_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let (image, mask) = blocks(50, 70, 7, 11);
    let img_path = dir.path().join("ISIC_0000001.png");
    let mask_path = dir.path().join("ISIC_0000001_Segmentation.png");
    image.to_rgb8().unwrap().save(&img_path).unwrap();
    mask.to_gray8().unwrap().save(&mask_path).unwrap();
    let pipeline = spatial_pipeline(32, 40, 0.5, 10.0);
    let from_pixels = |seed| {
        pipeline
            .apply(
                image.to_rgb8().unwrap(),
                mask.to_gray8().unwrap(),
                &mut ChaCha8Rng::seed_from_u64(seed),
            )
            .unwrap()
    };
    let file = ImageFile::rgb(&img_path).unwrap();
    let mask_file = ImageFile::gray(&mask_path).unwrap();
    let before = cache::stats();
    for seed in 0..3 {
        let (a, am) = from_pixels(seed);
        let (b, bm) = pipeline
            .apply(&file, &mask_file, &mut ChaCha8Rng::seed_from_u64(seed))
            .unwrap();
        assert!(a.equal(&b) && am.equal(&bm));
    }
    let after = cache::stats();
    assert!(after.hits >= before.hits + 4, "{before:?} {after:?}");

    // A mask of the wrong size is refused, naming both files.
    let small = dir.path().join("ISIC_0000002_Segmentation.png");
    GrayImage::new(10, 10).save(&small).unwrap();
    let err = pipeline
        .apply(
            &file,
            ImageFile::gray(&small).unwrap(),
            &mut rand::thread_rng(),
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("ISIC_0000002_Segmentation.png") && err.contains("ISIC_0000001.png"),
        "{err}"
    );
}
