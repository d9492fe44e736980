//! Small ISIC-2016-shaped zip archives for the fetch tests: a few tiny real JPEG images
//! and PNG masks, optionally wrapped in a single root folder, plus helpers to damage them.
#![allow(dead_code)]

use std::io::{Cursor, Write};

use image::{GrayImage, Luma, Rgb, RgbImage};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

pub const TRAIN_DATA: &str = "ISBI2016_ISIC_Part1_Training_Data";
pub const TRAIN_GT: &str = "ISBI2016_ISIC_Part1_Training_GroundTruth";
pub const TEST_DATA: &str = "ISBI2016_ISIC_Part1_Test_Data";
pub const TEST_GT: &str = "ISBI2016_ISIC_Part1_Test_GroundTruth";

/// A 6×6 JPEG whose colour depends on `seed`.
pub fn tiny_jpeg(seed: u8) -> Vec<u8> {
    let img = RgbImage::from_fn(6, 6, |x, y| Rgb([seed, (x * 40) as u8, (y * 40) as u8]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// A 6×6 binary PNG mask.
pub fn tiny_png(seed: u8) -> Vec<u8> {
    let img = GrayImage::from_fn(6, 6, |x, y| {
        Luma([if (x + y + seed as u32).is_multiple_of(3) {
            255
        } else {
            0
        }])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// One entry of a test archive.
pub enum Item {
    File(String, Vec<u8>),
    Dir(String),
    Symlink(String, String),
}

/// Build a zip in memory. `stored` = no compression, so that data bytes can be found
/// and flipped.
pub fn build_zip(items: &[Item], stored: bool) -> Vec<u8> {
    let method = if stored {
        CompressionMethod::Stored
    } else {
        CompressionMethod::Deflated
    };
    let opts = SimpleFileOptions::default()
        .compression_method(method)
        .unix_permissions(0o644);
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for item in items {
        match item {
            Item::File(name, data) => {
                zip.start_file(name.as_str(), opts).unwrap();
                zip.write_all(data).unwrap();
            }
            Item::Dir(name) => zip.add_directory(name.as_str(), opts).unwrap(),
            Item::Symlink(name, target) => zip
                .add_symlink(name.as_str(), target.as_str(), opts)
                .unwrap(),
        }
    }
    zip.finish().unwrap().into_inner()
}

/// `ISIC_00000NN` for NN in `ids`.
pub fn stem(id: u32) -> String {
    format!("ISIC_{id:07}")
}

/// An images archive (`<stem>.jpg` for each id), inside `root/` when given.
pub fn images_zip(ids: &[u32], root: Option<&str>) -> Vec<u8> {
    let files = ids
        .iter()
        .map(|&id| (format!("{}.jpg", stem(id)), tiny_jpeg(id as u8)))
        .collect();
    wrap(files, root, false)
}

/// A masks archive (`<stem>_Segmentation.png` for each id), inside `root/` when given.
pub fn masks_zip(ids: &[u32], root: Option<&str>) -> Vec<u8> {
    let files = ids
        .iter()
        .map(|&id| (format!("{}_Segmentation.png", stem(id)), tiny_png(id as u8)))
        .collect();
    wrap(files, root, false)
}

/// Like [`images_zip`], uncompressed (for corruption tests).
pub fn images_zip_stored(ids: &[u32], root: Option<&str>) -> Vec<u8> {
    let files = ids
        .iter()
        .map(|&id| (format!("{}.jpg", stem(id)), tiny_jpeg(id as u8)))
        .collect();
    wrap(files, root, true)
}

fn wrap(files: Vec<(String, Vec<u8>)>, root: Option<&str>, stored: bool) -> Vec<u8> {
    let mut items = Vec::new();
    if let Some(root) = root {
        items.push(Item::Dir(format!("{root}/")));
    }
    for (name, data) in files {
        let name = match root {
            Some(root) => format!("{root}/{name}"),
            None => name,
        };
        items.push(Item::File(name, data));
    }
    build_zip(&items, stored)
}

/// Flip one byte inside the stored data of the entry whose contents are `contents`.
pub fn flip_byte_in(archive: &mut [u8], contents: &[u8]) {
    let at = archive
        .windows(contents.len())
        .position(|w| w == contents)
        .expect("entry data not found in the archive (is it stored?)");
    archive[at + contents.len() / 2] ^= 0xFF;
}
