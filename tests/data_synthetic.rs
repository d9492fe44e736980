//! The synthetic data set: layout, determinism, exact 0/255 masks, atomic regeneration,
//! and a difficulty bar (no global threshold segments it well).

use rayon::prelude::*;
use se05::data::isic::{self, pair_split, verify_pairs, Preference, SplitDirs};
use se05::data::synthetic::{self, best_global_threshold, generate_pair, Split, SyntheticConfig};
use se05::data::*;

fn tiny() -> SyntheticConfig {
    SyntheticConfig {
        train: 6,
        test: 3,
        width: 80,
        height: 60,
        ..SyntheticConfig::default()
    }
}

#[test]
fn writes_the_isic_layout_once_and_regenerates_on_change() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tiny();
    let first = isic::ensure_dataset_with(tmp.path(), &cfg, Preference::Auto).unwrap();
    assert!(first.generated && first.is_synthetic());
    assert!(
        first.describe().contains("generated"),
        "{}",
        first.describe()
    );
    assert_eq!(first.root, tmp.path().join(cfg.dir_name()));
    let train = pair_split(&first.train).unwrap();
    let test = pair_split(&first.test).unwrap();
    assert_eq!((train.pairs.len(), test.pairs.len()), (6, 3));
    assert_eq!(train.pairs[0].id, "ISIC_0000000");
    assert_eq!(test.pairs[0].id, "ISIC_0000006");
    assert!(train.pairs[0]
        .mask
        .ends_with("ISBI2016_ISIC_Part1_Training_GroundTruth/ISIC_0000000_Segmentation.png"));
    assert!(test.pairs[2]
        .image
        .ends_with("ISBI2016_ISIC_Part1_Test_Data/ISIC_0000008.jpg"));
    verify_pairs(&train.pairs).unwrap();
    for p in &train.pairs {
        let mask = load_gray(&p.mask).unwrap();
        assert!(mask.pixels().all(|v| v.0[0] == 0 || v.0[0] == 255));
        assert_eq!(load_rgb(&p.image).unwrap().dimensions(), (80, 60));
    }
    // Second call: nothing to do.
    let again = isic::ensure_dataset_with(tmp.path(), &cfg, Preference::Auto).unwrap();
    assert!(!again.generated);
    assert!(
        again.describe().contains("Using synthetic"),
        "{}",
        again.describe()
    );
    // A different configuration in the same folder is detected and regenerated.
    let changed = SyntheticConfig {
        seed: 7,
        ..cfg.clone()
    };
    assert_eq!(changed.dir_name(), cfg.dir_name());
    let before = std::fs::read(&train.pairs[0].image).unwrap();
    let regen = isic::ensure_dataset_with(tmp.path(), &changed, Preference::Auto).unwrap();
    assert!(regen.generated);
    assert_ne!(std::fs::read(&train.pairs[0].image).unwrap(), before);
    assert!(synthetic::is_current(&changed, &regen.root));
    // Nothing left behind but the set itself.
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    // A forced regeneration rewrites identical files (deterministic generator).
    let forced = isic::regenerate_synthetic(tmp.path(), &changed).unwrap();
    assert!(forced.generated);
    let first_again = pair_split(&forced.train).unwrap();
    let regenerated = std::fs::read(&first_again.pairs[0].image).unwrap();
    assert_eq!(regenerated, std::fs::read(&train.pairs[0].image).unwrap());
}

#[test]
fn real_data_takes_precedence_and_incomplete_real_data_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let real = tmp.path().join("isic2016");
    std::fs::create_dir_all(real.join(isic::TRAIN_IMAGES)).unwrap();
    // Incomplete real data (e.g. an interrupted fetch): synthetic data, with a note.
    let fallback = isic::ensure_dataset_with(tmp.path(), &tiny(), Preference::Auto).unwrap();
    assert!(fallback.is_synthetic());
    let text = fallback.describe();
    assert!(
        text.contains("isic2016") && text.contains("incomplete"),
        "{text}"
    );
    // Insisting on the real data makes it an error.
    let err = format!(
        "{:#}",
        isic::ensure_dataset_with(tmp.path(), &tiny(), Preference::Isic).unwrap_err()
    );
    assert!(
        err.contains("isic2016") && err.contains("empty folder"),
        "{err}"
    );
    // Forcing synthetic data ignores it.
    let s = isic::ensure_dataset_with(tmp.path(), &tiny(), Preference::Synthetic).unwrap();
    assert!(s.is_synthetic());
    // A complete layout is used as the real data.
    let src = s.root.clone();
    std::fs::remove_dir_all(&real).unwrap();
    std::fs::create_dir_all(&real).unwrap();
    for d in [
        isic::TRAIN_IMAGES,
        isic::TRAIN_MASKS,
        isic::TEST_IMAGES,
        isic::TEST_MASKS,
    ] {
        std::fs::rename(src.join(d), real.join(d)).unwrap();
    }
    let r = isic::ensure_dataset_with(tmp.path(), &tiny(), Preference::Auto).unwrap();
    assert_eq!(r.kind, DataKind::Isic2016);
    assert_eq!(r.train, SplitDirs::train(&real));
    assert!(r.describe().contains("ISIC 2016"));
}

#[test]
fn generation_is_deterministic_and_varied() {
    let cfg = SyntheticConfig::default();
    let a = generate_pair(&cfg, Split::Train, 11);
    let b = generate_pair(&cfg, Split::Train, 11);
    assert_eq!(a, b);
    // Lesion area varies from small to large, and some lesions touch the border.
    let stats: Vec<(f64, bool)> = (0..60)
        .into_par_iter()
        .map(|i| {
            let (_, mask) = generate_pair(&cfg, Split::Train, i);
            let (w, h) = mask.dimensions();
            let area = mask.pixels().filter(|p| p.0[0] == 255).count() as f64 / (w * h) as f64;
            let border = (0..w)
                .any(|x| mask.get_pixel(x, 0).0[0] == 255 || mask.get_pixel(x, h - 1).0[0] == 255)
                || (0..h).any(|y| {
                    mask.get_pixel(0, y).0[0] == 255 || mask.get_pixel(w - 1, y).0[0] == 255
                });
            (area, border)
        })
        .collect();
    let min = stats.iter().map(|s| s.0).fold(1.0, f64::min);
    let max = stats.iter().map(|s| s.0).fold(0.0, f64::max);
    let touching = stats.iter().filter(|s| s.1).count();
    assert!(
        min > 0.005 && min < 0.06 && max > 0.3,
        "lesion area from {min} to {max}"
    );
    assert!(
        (5..40).contains(&touching),
        "{touching} of 60 touch the border"
    );
}

/// Test Dice (per image) of the reference U-Net trained with the notebook's schedule
/// (2 epochs of 45 batches, 720/180 split) on the ISIC-like synthetic set, measured
/// with `SE05_DATASETS_DIR=<folder with isic2016 -> synthetic-1022x767> cargo test
/// --features solutions --test final_stage -- --stage --full` (CPU, 2026-11-22). The
/// EfficientNet U-Net reached 0.939 in the same run.
const TRAINED_REFERENCE_UNET_DICE: f64 = 0.839;

/// No single global threshold on one channel (either polarity) segments the training
/// set well: the data set needs more than intensity. The trained U-Net beats this bar
/// by a wide margin.
#[test]
fn best_global_threshold_is_clearly_below_the_bar() {
    let cfg = SyntheticConfig::default();
    let pairs: Vec<_> = (0..cfg.train)
        .into_par_iter()
        .map(|i| generate_pair(&cfg, Split::Train, i))
        .collect();
    let best = best_global_threshold(&pairs);
    eprintln!("best global threshold: {best:?}");
    assert!(
        best.mean_dice > 0.2,
        "the lesions should still be visible: {best:?}"
    );
    let bar = TRAINED_REFERENCE_UNET_DICE - 0.25;
    assert!(
        best.mean_dice < bar && best.pooled_dice < bar,
        "a global threshold should score well below the trained U-Net's {TRAINED_REFERENCE_UNET_DICE}: {best:?}"
    );
}
