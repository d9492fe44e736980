//! Pictures of image/mask pairs for `checker show`: each pair is drawn as the image with
//! the mask's outline over it, and the mask on its own beside it, in a labelled grid.
//!
//! ```ignore
//! # use se05::train::gallery::{self, Pair};
//! # fn f(x: &tch::Tensor, y: &tch::Tensor) -> anyhow::Result<()> {
//! let pair = Pair::from_tensors(x, y, [0.5; 3], [0.2; 3], "item 0")?;
//! gallery::pair_grid(&[pair], 4, 160, "one training item", "results/item.png".as_ref())?;
//! # Ok(()) }
//! ```
use super::plots::{self, register_font, FONT};
use anyhow::Context;
use image::{imageops, GrayImage, Luma, Rgb, RgbImage};
use plotters::prelude::*;
use std::path::Path;
use tch::{Kind, Tensor};

/// Colour of the mask's outline drawn over the image.
pub const OUTLINE: Rgb<u8> = Rgb([40, 255, 40]);
/// Background of the grid and of the margins around pictures that are not square.
const BACKGROUND: Rgb<u8> = Rgb([235, 235, 235]);

/// One image and its mask, ready to draw.
#[derive(Debug, Clone)]
pub struct Pair {
    pub image: RgbImage,
    /// 0 = background, 255 = lesion; grey levels are kept as they are.
    pub mask: GrayImage,
    /// Written above the pair.
    pub label: String,
}

impl Pair {
    /// From an image tensor `[3, H, W]` normalised with `mean`/`std` (pass mean 0 and
    /// std 1 for plain `ToTensor` output in [0, 1]) and a mask `[1, H, W]` in [0, 1].
    pub fn from_tensors(
        image: &Tensor,
        mask: &Tensor,
        mean: [f64; 3],
        std: [f64; 3],
        label: impl Into<String>,
    ) -> anyhow::Result<Pair> {
        let image = plots::denormalise(image, mean, std)?;
        let mask = mask_to_gray(mask)?;
        anyhow::ensure!(
            image.dimensions() == mask.dimensions(),
            "the image is {:?} but its mask is {:?} (width, height)",
            image.dimensions(),
            mask.dimensions()
        );
        Ok(Pair {
            image,
            mask,
            label: label.into(),
        })
    }
}

/// A `[1, H, W]` (or `[H, W]`) mask with values in [0, 1] as an 8-bit grey picture.
pub fn mask_to_gray(mask: &Tensor) -> anyhow::Result<GrayImage> {
    let m = mask.to_device(tch::Device::Cpu).to_kind(Kind::Float);
    let m = if m.dim() == 3 { m.squeeze_dim(0) } else { m };
    let size = m.size();
    anyhow::ensure!(
        size.len() == 2,
        "expected a [1, H, W] mask, got {:?}",
        mask.size()
    );
    let bytes: Vec<u8> = Vec::<f32>::try_from((m.clamp(0.0, 1.0) * 255.0).flatten(0, -1))?
        .into_iter()
        .map(|v| v.round() as u8)
        .collect();
    GrayImage::from_raw(size[1] as u32, size[0] as u32, bytes)
        .context("mask buffer has the wrong size")
}

/// Pixels on the mask's border: lesion pixels next to background and background pixels
/// next to lesion (4-neighbours), so the line is two pixels wide and sits on the edge.
/// The picture's own border does not count as an edge.
pub fn outline(mask: &GrayImage) -> Vec<bool> {
    let (w, h) = mask.dimensions();
    let inside = |x: u32, y: u32| mask.get_pixel(x, y)[0] >= 128;
    let mut out = vec![false; (w * h) as usize];
    for y in 0..h {
        for x in 0..w {
            let here = inside(x, y);
            let differs = (x > 0 && inside(x - 1, y) != here)
                || (x + 1 < w && inside(x + 1, y) != here)
                || (y > 0 && inside(x, y - 1) != here)
                || (y + 1 < h && inside(x, y + 1) != here);
            out[(y * w + x) as usize] = differs;
        }
    }
    out
}

/// `image` with the outline of `mask` (same size) painted over it in [`OUTLINE`].
pub fn with_outline(image: &RgbImage, mask: &GrayImage) -> RgbImage {
    let mut out = image.clone();
    let w = mask.width();
    for (i, on) in outline(mask).into_iter().enumerate() {
        if on {
            out.put_pixel(i as u32 % w, i as u32 / w, OUTLINE);
        }
    }
    out
}

/// The largest size with the picture's aspect ratio that fits in a `tile`×`tile` square.
fn fit(width: u32, height: u32, tile: u32) -> (u32, u32) {
    let scale = tile as f64 / width.max(height).max(1) as f64;
    (
        ((width as f64 * scale).round() as u32).clamp(1, tile),
        ((height as f64 * scale).round() as u32).clamp(1, tile),
    )
}

/// The two tiles of one pair, each `tile`×`tile`: the image (smoothly scaled) with the
/// outline of the mask (scaled without blending, then traced at the tile's resolution),
/// and the mask in white on black.
fn pair_tiles(pair: &Pair, tile: u32) -> (RgbImage, RgbImage) {
    let (w, h) = fit(pair.image.width(), pair.image.height(), tile);
    let image = imageops::resize(&pair.image, w, h, imageops::FilterType::Triangle);
    let mask = imageops::resize(&pair.mask, w, h, imageops::FilterType::Nearest);
    let overlay = with_outline(&image, &mask);
    let mask_rgb = RgbImage::from_fn(w, h, |x, y| {
        let v = mask.get_pixel(x, y)[0];
        Rgb([v, v, v])
    });
    let (dx, dy) = ((tile - w) / 2, (tile - h) / 2);
    let mut a = RgbImage::from_pixel(tile, tile, BACKGROUND);
    let mut b = RgbImage::from_pixel(tile, tile, BACKGROUND);
    imageops::overlay(&mut a, &overlay, dx as i64, dy as i64);
    imageops::overlay(&mut b, &mask_rgb, dx as i64, dy as i64);
    (a, b)
}

/// Draws `pairs` as a grid with `per_row` pairs per row under `title`: for each pair
/// its label, the image with the mask's outline, and the mask beside it. Each picture
/// is scaled to fit a `tile`×`tile` square. Writes a PNG to `path`.
pub fn pair_grid(
    pairs: &[Pair],
    per_row: usize,
    tile: u32,
    title: &str,
    path: &Path,
) -> anyhow::Result<()> {
    anyhow::ensure!(!pairs.is_empty(), "no pictures to draw");
    anyhow::ensure!(
        per_row > 0 && tile >= 16,
        "per_row must be > 0 and tile ≥ 16"
    );
    register_font();
    let per_row = per_row.min(pairs.len());
    let rows = pairs.len().div_ceil(per_row) as u32;
    let (gap, pad, label_h, title_h) = (4u32, 14u32, 22u32, 40u32);
    let cell_w = 2 * tile + gap;
    let cell_h = label_h + tile;
    let w = pad + per_row as u32 * (cell_w + pad);
    let h = title_h + rows * (cell_h + pad) + pad;
    let mut canvas = RgbImage::from_pixel(w, h, Rgb([255, 255, 255]));
    let mut origins = Vec::with_capacity(pairs.len());
    for (i, pair) in pairs.iter().enumerate() {
        let (col, row) = ((i % per_row) as u32, (i / per_row) as u32);
        let x = pad + col * (cell_w + pad);
        let y = title_h + row * (cell_h + pad);
        let (a, b) = pair_tiles(pair, tile);
        imageops::overlay(&mut canvas, &a, x as i64, (y + label_h) as i64);
        imageops::overlay(
            &mut canvas,
            &b,
            (x + tile + gap) as i64,
            (y + label_h) as i64,
        );
        origins.push((x, y));
    }
    let mut buf = canvas.into_raw();
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        let err = |e| anyhow::anyhow!("drawing text failed: {e:?}");
        root.draw(&Text::new(
            title.to_string(),
            (pad as i32, 10),
            (FONT, 20).into_font().color(&BLACK),
        ))
        .map_err(err)?;
        for (pair, (x, y)) in pairs.iter().zip(origins) {
            root.draw(&Text::new(
                pair.label.clone(),
                (x as i32, y as i32 + 3),
                (FONT, 14).into_font().color(&BLACK),
            ))
            .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    let image = RgbImage::from_raw(w, h, buf).context("grid buffer has the wrong size")?;
    plots::save_png(&image, path)
}

/// Standard deviation of the grey level over all pixels: near 0 for a blank picture.
pub fn pixel_spread(image: &RgbImage) -> f64 {
    let n = (image.width() * image.height()).max(1) as f64;
    let grey: Vec<f64> = image
        .pixels()
        .map(|p| (p[0] as f64 + p[1] as f64 + p[2] as f64) / 3.0)
        .collect();
    let mean = grey.iter().sum::<f64>() / n;
    (grey.iter().map(|g| (g - mean) * (g - mean)).sum::<f64>() / n).sqrt()
}

/// Share of pixels, in [0, 1], whose colour is exactly `colour`.
pub fn share_of_colour(image: &RgbImage, colour: Rgb<u8>) -> f64 {
    let n = (image.width() * image.height()).max(1) as f64;
    image.pixels().filter(|p| **p == colour).count() as f64 / n
}

/// A mask from a closure, for tests and examples: `f(x, y)` true inside the lesion.
pub fn mask_from_fn(width: u32, height: u32, f: impl Fn(u32, u32) -> bool) -> GrayImage {
    GrayImage::from_fn(width, height, |x, y| Luma([if f(x, y) { 255 } else { 0 }]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outline_is_the_border_of_the_lesion_only() {
        // A 4×4 square lesion in an 8×8 mask.
        let mask = mask_from_fn(8, 8, |x, y| (2..6).contains(&x) && (2..6).contains(&y));
        let line = outline(&mask);
        let on = |x: u32, y: u32| line[(y * 8 + x) as usize];
        // Inner ring of the square and the background ring around it.
        assert!(on(2, 2) && on(5, 3) && on(1, 3) && on(6, 4));
        // The middle of the lesion and far background stay untouched.
        assert!(!on(3, 3) && !on(4, 4) && !on(0, 0) && !on(7, 7));
        // A full mask has no edge: the picture's border is not an outline.
        assert!(outline(&mask_from_fn(5, 5, |_, _| true)).iter().all(|o| !o));
    }

    #[test]
    fn tensors_become_pictures_of_the_same_size() {
        let image = Tensor::zeros([3, 6, 10], tch::kind::FLOAT_CPU);
        let mask = Tensor::ones([1, 6, 10], tch::kind::FLOAT_CPU);
        let pair = Pair::from_tensors(&image, &mask, [0.5; 3], [0.25; 3], "x").unwrap();
        assert_eq!(pair.image.dimensions(), (10, 6));
        assert_eq!(pair.image.get_pixel(0, 0)[0], 128);
        assert_eq!(pair.mask.get_pixel(9, 5)[0], 255);
        let bad = Tensor::ones([1, 5, 10], tch::kind::FLOAT_CPU);
        assert!(Pair::from_tensors(&image, &bad, [0.0; 3], [1.0; 3], "x").is_err());
    }

    #[test]
    fn grid_draws_outline_mask_and_labels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grid.png");
        let pairs: Vec<Pair> = (0..3)
            .map(|i| Pair {
                // A wide picture: letterboxed in its square tile.
                image: RgbImage::from_fn(40, 20, |x, _| Rgb([(x * 6) as u8, 90, 60])),
                mask: mask_from_fn(40, 20, |x, y| {
                    (x as i32 - 20).pow(2) + (y as i32 - 10).pow(2) < (5 + i) * (5 + i)
                }),
                label: format!("item {i}"),
            })
            .collect();
        pair_grid(&pairs, 2, 64, "three pairs", &path).unwrap();
        let grid = image::open(&path).unwrap().to_rgb8();
        // 2 pairs per row, 2 rows: 14 + 2 · (2·64 + 4 + 14) wide, 40 + 2 · (22 + 64 + 14) + 14 high.
        assert_eq!(grid.dimensions(), (14 + 2 * 146, 40 + 2 * 100 + 14));
        assert!(share_of_colour(&grid, OUTLINE) > 0.002, "no outline drawn");
        assert!(pixel_spread(&grid) > 20.0);
        // The title's glyphs put dark pixels in the top band.
        let dark = (0..grid.width())
            .flat_map(|x| (0..36).map(move |y| (x, y)))
            .filter(|&(x, y)| grid.get_pixel(x, y)[0] < 80)
            .count();
        assert!(dark > 50, "title missing ({dark} dark pixels)");
    }

    #[test]
    fn a_blank_picture_has_no_spread() {
        let blank = RgbImage::from_pixel(10, 10, Rgb([7, 7, 7]));
        assert_eq!(pixel_spread(&blank), 0.0);
    }
}
