//! Bad input in the ISIC layout: every problem is an error that names the file (or a
//! documented skip for stray files).

use std::fs;
use std::path::Path;

use se05::data::isic::{self, list_images, pair_split, verify_pairs, SplitDirs};
use se05::data::*;

fn write_pair(dirs: &SplitDirs, id: &str, w: u32, h: u32) {
    RgbImage::from_fn(w, h, |x, y| ::image::Rgb([x as u8, y as u8, 128]))
        .save(dirs.images.join(format!("{id}.jpg")))
        .unwrap();
    GrayImage::from_fn(w, h, |x, _| {
        ::image::Luma([if x < w / 2 { 255 } else { 0 }])
    })
    .save(dirs.masks.join(format!("{id}_Segmentation.png")))
    .unwrap();
}

fn split(root: &Path) -> SplitDirs {
    let dirs = SplitDirs::train(root);
    fs::create_dir_all(&dirs.images).unwrap();
    fs::create_dir_all(&dirs.masks).unwrap();
    dirs
}

fn err_text<T: std::fmt::Debug>(r: anyhow::Result<T>) -> String {
    format!("{:#}", r.unwrap_err())
}

#[test]
fn pairs_sorted_and_stray_files_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = split(tmp.path());
    for id in ["ISIC_0000002", "ISIC_0000000", "ISIC_0000001"] {
        write_pair(&dirs, id, 12, 10);
    }
    fs::write(dirs.images.join(".DS_Store"), b"x").unwrap();
    fs::write(dirs.images.join("LICENSE.txt"), b"x").unwrap();
    fs::write(dirs.masks.join("README"), b"x").unwrap();
    fs::write(dirs.masks.join("ISIC_0000000_superpixels.png"), b"x").unwrap();
    fs::create_dir(dirs.images.join("__MACOSX")).unwrap();
    let pairing = pair_split(&dirs).unwrap();
    let ids: Vec<&str> = pairing.pairs.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["ISIC_0000000", "ISIC_0000001", "ISIC_0000002"]);
    assert_eq!(pairing.skipped.len(), 5, "{:?}", pairing.skipped);
    verify_pairs(&pairing.pairs).unwrap();
    assert_eq!(list_images(&dirs.images).unwrap().len(), 3);
}

#[test]
fn missing_and_empty_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = SplitDirs::train(tmp.path());
    let err = err_text(pair_split(&dirs));
    assert!(
        err.contains("ISBI2016_ISIC_Part1_Training_Data") && err.contains("does not exist"),
        "{err}"
    );
    assert!(list_images(&dirs.images).is_err());
    let dirs = split(tmp.path());
    let err = err_text(pair_split(&dirs));
    assert!(err.contains("no .jpg images"), "{err}");
    write_pair(&dirs, "ISIC_0000000", 8, 8);
    fs::remove_file(dirs.masks.join("ISIC_0000000_Segmentation.png")).unwrap();
    let err = err_text(pair_split(&dirs));
    assert!(
        err.contains("ISBI2016_ISIC_Part1_Training_GroundTruth")
            && err.contains("no *_Segmentation.png"),
        "{err}"
    );
    let err = err_text(isic::check_layout(tmp.path()));
    assert!(
        err.contains("empty folder") && err.contains("GroundTruth"),
        "{err}"
    );
    write_pair(&dirs, "ISIC_0000000", 8, 8);
    let err = err_text(isic::check_layout(tmp.path()));
    assert!(
        err.contains("missing folder") && err.contains("Test_Data"),
        "{err}"
    );
}

#[test]
fn image_without_mask_and_mask_without_image() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = split(tmp.path());
    write_pair(&dirs, "ISIC_0000000", 8, 8);
    write_pair(&dirs, "ISIC_0000001", 8, 8);
    fs::remove_file(dirs.masks.join("ISIC_0000001_Segmentation.png")).unwrap();
    let err = err_text(pair_split(&dirs));
    assert!(
        err.contains("1 image(s) without a mask")
            && err.contains("ISIC_0000001.jpg")
            && err.contains("ISIC_0000001_Segmentation.png"),
        "{err}"
    );
    fs::remove_file(dirs.images.join("ISIC_0000001.jpg")).unwrap();
    write_pair(&dirs, "ISIC_0000005", 8, 8);
    fs::remove_file(dirs.images.join("ISIC_0000005.jpg")).unwrap();
    let err = err_text(pair_split(&dirs));
    assert!(
        err.contains("mask(s) without an image") && err.contains("ISIC_0000005_Segmentation.png"),
        "{err}"
    );
}

#[test]
fn corrupt_truncated_and_mismatched_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = split(tmp.path());
    for id in ["ISIC_0000000", "ISIC_0000001", "ISIC_0000002"] {
        write_pair(&dirs, id, 40, 30);
    }
    let good = pair_split(&dirs).unwrap().pairs;
    // Truncated JPEG.
    let path = dirs.images.join("ISIC_0000001.jpg");
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let err = err_text(verify_pairs(&good));
    assert!(
        err.contains("ISIC_0000001.jpg") && err.contains("truncated"),
        "{err}"
    );
    let err = err_text(load_rgb(&path));
    assert!(
        err.contains("ISIC_0000001.jpg") && err.contains("truncated"),
        "{err}"
    );
    // Through a pipeline (decode cache path) the error names the file as well.
    let pipeline = Compose::new(vec![
        Transform::Resize {
            height: 16,
            width: 16,
        },
        Transform::ToTensor,
    ]);
    let err = err_text(pipeline.apply(
        ImageFile::rgb(&path).unwrap(),
        ImageFile::gray(&good[1].mask).unwrap(),
        &mut sample_rng(),
    ));
    assert!(err.contains("ISIC_0000001.jpg"), "{err}");
    fs::write(&path, &bytes).unwrap();
    // Not an image at all.
    fs::write(&path, b"<html>404 Not Found</html>").unwrap();
    let err = err_text(verify_pairs(&good));
    assert!(
        err.contains("ISIC_0000001.jpg") && err.contains("not a JPEG or PNG"),
        "{err}"
    );
    fs::write(&path, &bytes).unwrap();
    // Garbage after a valid header.
    let mut corrupt = bytes[..200].to_vec();
    corrupt.extend(std::iter::repeat_n(0x55u8, 400));
    corrupt.extend_from_slice(&[0xFF, 0xD9]);
    fs::write(&path, &corrupt).unwrap();
    let err = err_text(load_rgb(&path));
    assert!(err.contains("ISIC_0000001.jpg"), "{err}");
    fs::write(&path, &bytes).unwrap();
    verify_pairs(&good).unwrap();
    // A mask whose size differs from its image.
    GrayImage::new(20, 30)
        .save(dirs.masks.join("ISIC_0000002_Segmentation.png"))
        .unwrap();
    let err = err_text(verify_pairs(&good));
    assert!(
        err.contains("ISIC_0000002_Segmentation.png")
            && err.contains("20×30")
            && err.contains("40×30"),
        "{err}"
    );
}
