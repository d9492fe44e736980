//! Deterministic image operations behind the random transforms (the counterpart of
//! `torchvision.transforms.functional`). They work on [`FloatImage`]s of any channel
//! count unless stated otherwise.
//!
//! Conventions (see DESIGN.md, "Augmentation semantics"):
//! * pixel centres sit at integer coordinates; resampling maps output centres onto input
//!   centres (`src = (dst + 0.5) * in / out - 0.5`, "half-pixel" alignment);
//! * colour operations expect values in `[0, 1]` and clamp their result to it, as
//!   torchvision does for float tensors.

use anyhow::{bail, Result};

use super::image::FloatImage;

/// Resampling filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Interpolation {
    /// Triangle filter; when shrinking, its support grows with the scale factor
    /// (antialiasing, as PIL and torchvision's `Resize(antialias=True)` do).
    Bilinear,
    /// The input pixel whose centre is nearest; never invents new values (masks).
    Nearest,
}

/// Luminance used by contrast and saturation: `0.2989 R + 0.587 G + 0.114 B`.
#[inline]
pub fn gray_value(r: f32, g: f32, b: f32) -> f32 {
    0.2989 * r + 0.587 * g + 0.114 * b
}

/// Resizes to exactly `height × width`.
pub fn resize(img: &FloatImage, height: usize, width: usize, interp: Interpolation) -> FloatImage {
    if img.height == height && img.width == width {
        return img.clone();
    }
    match interp {
        Interpolation::Nearest => resize_nearest(img, height, width),
        Interpolation::Bilinear => resize_bilinear(img, height, width),
    }
}

fn nearest_index(dst: usize, in_size: usize, out_size: usize) -> usize {
    let scale = in_size as f64 / out_size as f64;
    (((dst as f64 + 0.5) * scale).floor() as usize).min(in_size - 1)
}

fn resize_nearest(img: &FloatImage, height: usize, width: usize) -> FloatImage {
    let c = img.channels;
    let xs: Vec<usize> = (0..width)
        .map(|x| nearest_index(x, img.width, width))
        .collect();
    let mut data = Vec::with_capacity(height * width * c);
    for y in 0..height {
        let sy = nearest_index(y, img.height, height);
        let row = &img.data[sy * img.width * c..(sy + 1) * img.width * c];
        for &sx in &xs {
            data.extend_from_slice(&row[sx * c..(sx + 1) * c]);
        }
    }
    FloatImage {
        height,
        width,
        channels: c,
        data,
    }
}

/// Per output index: first input index and normalised weights (PIL's coefficients).
fn triangle_coefficients(in_size: usize, out_size: usize) -> Vec<(usize, Vec<f32>)> {
    let scale = in_size as f64 / out_size as f64;
    let filter_scale = scale.max(1.0);
    let support = filter_scale;
    (0..out_size)
        .map(|i| {
            let center = (i as f64 + 0.5) * scale;
            let lo = ((center - support + 0.5).floor().max(0.0)) as usize;
            let hi = ((center + support + 0.5).floor() as usize).min(in_size);
            let mut weights: Vec<f64> = (lo..hi)
                .map(|j| {
                    let t = ((j as f64 - center + 0.5) / filter_scale).abs();
                    (1.0 - t).max(0.0)
                })
                .collect();
            let total: f64 = weights.iter().sum();
            if total > 0.0 {
                weights.iter_mut().for_each(|w| *w /= total);
            }
            (lo, weights.into_iter().map(|w| w as f32).collect())
        })
        .collect()
}

fn resize_bilinear(img: &FloatImage, height: usize, width: usize) -> FloatImage {
    let (h, w, c) = (img.height, img.width, img.channels);
    resize_bilinear_raw(&img.data, (h, w, c), height, width, 1.0)
}

/// Resizes 8-bit HWC pixels straight to a [`FloatImage`] of `value / 255`, as
/// [`FloatImage::from_u8`] then [`resize`] would, without building the full-size float
/// copy first (for a 1022×767 photo that copy costs as much as the resize itself).
pub fn resize_u8(
    raw: &[u8],
    (in_h, in_w, c): (usize, usize, usize),
    height: usize,
    width: usize,
    interp: Interpolation,
) -> FloatImage {
    match interp {
        _ if (in_h, in_w) == (height, width) => FloatImage::from_u8(in_h, in_w, c, raw),
        Interpolation::Bilinear => {
            resize_bilinear_raw(raw, (in_h, in_w, c), height, width, 1.0 / 255.0)
        }
        Interpolation::Nearest => {
            let xs: Vec<usize> = (0..width).map(|x| nearest_index(x, in_w, width)).collect();
            let mut data = Vec::with_capacity(height * width * c);
            for y in 0..height {
                let sy = nearest_index(y, in_h, height);
                let row = &raw[sy * in_w * c..(sy + 1) * in_w * c];
                for &sx in &xs {
                    data.extend(row[sx * c..(sx + 1) * c].iter().map(|&v| v as f32 / 255.0));
                }
            }
            FloatImage {
                height,
                width,
                channels: c,
                data,
            }
        }
    }
}

/// PIL's two-pass triangle filter on HWC values of any numeric type; every output
/// value is multiplied by `scale` (folded into the vertical weights, so it is free).
fn resize_bilinear_raw<T: Copy + Into<f32>>(
    src: &[T],
    (in_h, in_w, c): (usize, usize, usize),
    height: usize,
    width: usize,
    scale: f32,
) -> FloatImage {
    // Horizontal pass: in_h × width.
    let cx = triangle_coefficients(in_w, width);
    let mut tmp = vec![0f32; in_h * width * c];
    for y in 0..in_h {
        let row = &src[y * in_w * c..(y + 1) * in_w * c];
        let out = &mut tmp[y * width * c..(y + 1) * width * c];
        for (x, (lo, ws)) in cx.iter().enumerate() {
            let px = &mut out[x * c..(x + 1) * c];
            for (k, &w) in ws.iter().enumerate() {
                let from = &row[(lo + k) * c..(lo + k + 1) * c];
                for ch in 0..c {
                    px[ch] += w * from[ch].into();
                }
            }
        }
    }
    // Vertical pass: height × width.
    let cy = triangle_coefficients(in_h, height);
    let stride = width * c;
    let mut data = vec![0f32; height * stride];
    for (y, (lo, ws)) in cy.iter().enumerate() {
        let out = &mut data[y * stride..(y + 1) * stride];
        for (k, &w) in ws.iter().enumerate() {
            let w = w * scale;
            let from = &tmp[(lo + k) * stride..(lo + k + 1) * stride];
            for (o, &s) in out.iter_mut().zip(from) {
                *o += w * s;
            }
        }
    }
    FloatImage {
        height,
        width,
        channels: c,
        data,
    }
}

/// Mirrors left ↔ right.
pub fn hflip(img: &FloatImage) -> FloatImage {
    let c = img.channels;
    let mut data = Vec::with_capacity(img.data.len());
    for row in img.data.chunks_exact(img.width * c) {
        for px in row.chunks_exact(c).rev() {
            data.extend_from_slice(px);
        }
    }
    FloatImage {
        data,
        ..img.clone_header()
    }
}

/// Mirrors top ↔ bottom.
pub fn vflip(img: &FloatImage) -> FloatImage {
    let mut data = Vec::with_capacity(img.data.len());
    for row in img.data.chunks_exact(img.width * img.channels).rev() {
        data.extend_from_slice(row);
    }
    FloatImage {
        data,
        ..img.clone_header()
    }
}

impl FloatImage {
    fn clone_header(&self) -> FloatImage {
        FloatImage {
            height: self.height,
            width: self.width,
            channels: self.channels,
            data: Vec::new(),
        }
    }
}

/// Rotates by `angle_deg` degrees about the image centre `((w−1)/2, (h−1)/2)`;
/// positive angles turn the content counter-clockwise as displayed (y pointing down).
/// The output keeps the input size; pixels that come from outside the input are 0.
pub fn rotate(img: &FloatImage, angle_deg: f64, interp: Interpolation) -> FloatImage {
    let (h, w, c) = (img.height, img.width, img.channels);
    let theta = angle_deg.to_radians();
    let (sin, cos) = theta.sin_cos();
    let cx = (w as f64 - 1.0) / 2.0;
    let cy = (h as f64 - 1.0) / 2.0;
    let mut data = vec![0f32; h * w * c];
    let px = |x: isize, y: isize| -> Option<&[f32]> {
        if x < 0 || y < 0 || x >= w as isize || y >= h as isize {
            None
        } else {
            let i = (y as usize * w + x as usize) * c;
            Some(&img.data[i..i + c])
        }
    };
    for y in 0..h {
        let dy = y as f64 - cy;
        for x in 0..w {
            let dx = x as f64 - cx;
            // Inverse map: output (x, y) samples the input at (sx, sy).
            let sx = cx + cos * dx - sin * dy;
            let sy = cy + sin * dx + cos * dy;
            let out = &mut data[(y * w + x) * c..(y * w + x + 1) * c];
            match interp {
                Interpolation::Nearest => {
                    let (ix, iy) = ((sx + 0.5).floor() as isize, (sy + 0.5).floor() as isize);
                    if let Some(p) = px(ix, iy) {
                        out.copy_from_slice(p);
                    }
                }
                Interpolation::Bilinear => {
                    let (x0, y0) = (sx.floor(), sy.floor());
                    let (fx, fy) = ((sx - x0) as f32, (sy - y0) as f32);
                    let (x0, y0) = (x0 as isize, y0 as isize);
                    let taps = [
                        (x0, y0, (1.0 - fx) * (1.0 - fy)),
                        (x0 + 1, y0, fx * (1.0 - fy)),
                        (x0, y0 + 1, (1.0 - fx) * fy),
                        (x0 + 1, y0 + 1, fx * fy),
                    ];
                    for (tx, ty, wgt) in taps {
                        if wgt == 0.0 {
                            continue;
                        }
                        if let Some(p) = px(tx, ty) {
                            for ch in 0..c {
                                out[ch] += wgt * p[ch];
                            }
                        }
                    }
                }
            }
        }
    }
    FloatImage {
        height: h,
        width: w,
        channels: c,
        data,
    }
}

/// `clamp(f · img + (1 − f) · other, 0, 1)`, where `other` gives one value per pixel.
fn blend_in_place(img: &mut FloatImage, factor: f32, other: impl Fn(&[f32]) -> f32) {
    let c = img.channels;
    for px in img.data.chunks_exact_mut(c) {
        let o = other(px);
        for v in px.iter_mut() {
            *v = (factor * *v + (1.0 - factor) * o).clamp(0.0, 1.0);
        }
    }
}

/// `blend(img, 0, f)`: multiplies by `factor`, clamped to `[0, 1]`.
pub fn adjust_brightness(img: &FloatImage, factor: f32) -> FloatImage {
    let mut out = img.clone();
    blend_in_place(&mut out, factor, |_| 0.0);
    out
}

/// `blend(img, mean(gray(img)), f)`: the mean is one number for the whole image.
pub fn adjust_contrast(img: &FloatImage, factor: f32) -> FloatImage {
    let mean = if img.channels == 3 {
        let sum: f64 = img
            .data
            .chunks_exact(3)
            .map(|p| gray_value(p[0], p[1], p[2]) as f64)
            .sum();
        sum / (img.height * img.width).max(1) as f64
    } else {
        img.data.iter().map(|&v| v as f64).sum::<f64>() / img.data.len().max(1) as f64
    } as f32;
    let mut out = img.clone();
    blend_in_place(&mut out, factor, |_| mean);
    out
}

/// `blend(img, gray(img), f)` per pixel; a 1-channel image is returned unchanged.
pub fn adjust_saturation(img: &FloatImage, factor: f32) -> FloatImage {
    let mut out = img.clone();
    if img.channels == 3 {
        blend_in_place(&mut out, factor, |p| gray_value(p[0], p[1], p[2]));
    }
    out
}

/// Shifts the hue by `hue_factor` turns (in `[-0.5, 0.5]`) in HSV space; a
/// 1-channel image is returned unchanged.
pub fn adjust_hue(img: &FloatImage, hue_factor: f32) -> FloatImage {
    let mut out = img.clone();
    if img.channels != 3 {
        return out;
    }
    for p in out.data.chunks_exact_mut(3) {
        let (h, s, v) = rgb_to_hsv(p[0], p[1], p[2]);
        let h = (h + hue_factor).rem_euclid(1.0);
        let (r, g, b) = hsv_to_rgb(h, s, v);
        p[0] = r;
        p[1] = g;
        p[2] = b;
    }
    out
}

/// torchvision's `_rgb2hsv`: hue in `[0, 1)`.
pub fn rgb_to_hsv(r: f32, g: f32, b: f32) -> (f32, f32, f32) {
    let maxc = r.max(g).max(b);
    let minc = r.min(g).min(b);
    let eqc = maxc == minc;
    let cr = maxc - minc;
    let s = cr / if eqc { 1.0 } else { maxc };
    let div = if eqc { 1.0 } else { cr };
    let rc = (maxc - r) / div;
    let gc = (maxc - g) / div;
    let bc = (maxc - b) / div;
    let h = if maxc == r {
        bc - gc
    } else if maxc == g {
        2.0 + rc - bc
    } else {
        4.0 + gc - rc
    };
    let h = (h / 6.0 + 1.0).rem_euclid(1.0);
    (h, s, maxc)
}

/// torchvision's `_hsv2rgb`.
pub fn hsv_to_rgb(h: f32, s: f32, v: f32) -> (f32, f32, f32) {
    let h6 = h * 6.0;
    let i = h6.floor();
    let f = h6 - i;
    let i = (i as i64).rem_euclid(6);
    let p = (v * (1.0 - s)).clamp(0.0, 1.0);
    let q = (v * (1.0 - s * f)).clamp(0.0, 1.0);
    let t = (v * (1.0 - s * (1.0 - f))).clamp(0.0, 1.0);
    match i {
        0 => (v, t, p),
        1 => (q, v, p),
        2 => (p, v, t),
        3 => (p, q, v),
        4 => (t, p, v),
        _ => (v, p, q),
    }
}

/// `(x − mean[c]) / std[c]` per channel.
pub fn normalize(img: &FloatImage, mean: &[f32], std: &[f32]) -> Result<FloatImage> {
    if mean.len() != img.channels || std.len() != img.channels {
        bail!(
            "Normalize has {} means and {} stds but the image has {} channels",
            mean.len(),
            std.len(),
            img.channels
        );
    }
    let mut out = img.clone();
    for px in out.data.chunks_exact_mut(img.channels) {
        for ((v, m), s) in px.iter_mut().zip(mean).zip(std) {
            *v = (*v - m) / s;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(h: usize, w: usize, c: usize, f: impl Fn(usize, usize, usize) -> f32) -> FloatImage {
        let mut data = Vec::new();
        for y in 0..h {
            for x in 0..w {
                for ch in 0..c {
                    data.push(f(y, x, ch));
                }
            }
        }
        FloatImage::from_vec(h, w, c, data).unwrap()
    }

    #[test]
    fn rotate_positive_is_counter_clockwise() {
        // A bright pixel right of the centre of a 5×5 image moves above the centre.
        let src = img(5, 5, 1, |y, x, _| if (y, x) == (2, 4) { 1.0 } else { 0.0 });
        for interp in [Interpolation::Nearest, Interpolation::Bilinear] {
            let out = rotate(&src, 90.0, interp);
            assert!((out.at(0, 2, 0) - 1.0).abs() < 1e-5, "{interp:?}");
            assert!(out.data.iter().sum::<f32>() - 1.0 < 1e-4);
            let out = rotate(&src, -90.0, interp);
            assert!((out.at(4, 2, 0) - 1.0).abs() < 1e-5, "{interp:?}");
        }
    }

    #[test]
    fn rotate_border_is_zero_and_centre_fixed() {
        let src = img(6, 8, 3, |_, _, _| 0.5);
        let out = rotate(&src, 45.0, Interpolation::Bilinear);
        assert_eq!(out.at(0, 0, 0), 0.0);
        assert!((out.at(3, 4, 1) - 0.5).abs() < 1e-6);
        let zero = rotate(&src, 0.0, Interpolation::Bilinear);
        assert_eq!(zero, src);
    }

    #[test]
    fn resizing_bytes_equals_converting_then_resizing() {
        let (h, w, c) = (37usize, 53usize, 3usize);
        let raw: Vec<u8> = (0..h * w * c).map(|i| (i * 37 % 251) as u8).collect();
        let float = FloatImage::from_u8(h, w, c, &raw);
        for (oh, ow) in [(16, 16), (64, 40), (37, 53), (5, 90)] {
            for interp in [Interpolation::Bilinear, Interpolation::Nearest] {
                let a = resize(&float, oh, ow, interp);
                let b = resize_u8(&raw, (h, w, c), oh, ow, interp);
                assert_eq!((b.height, b.width, b.channels), (oh, ow, c));
                let worst = a
                    .data
                    .iter()
                    .zip(&b.data)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0f32, f32::max);
                assert!(worst < 1e-6, "{interp:?} to {oh}×{ow}: {worst}");
            }
        }
    }

    #[test]
    fn resize_bilinear_matches_pil_on_a_ramp() {
        // Shrinking a linear ramp by an integer factor averages each window.
        let src = img(1, 8, 1, |_, x, _| x as f32);
        let out = resize(&src, 1, 4, Interpolation::Bilinear);
        // PIL: window of 2 with triangle support 2: weights over 4 pixels (1/8,3/8,3/8,1/8)
        // centred at 1.5 + 2i, edges renormalised.
        let expect = [
            (0.0 * 3.0 + 1.0 * 3.0 + 2.0) / 7.0,
            (1.0 + 2.0 * 3.0 + 3.0 * 3.0 + 4.0) / 8.0,
            (3.0 + 4.0 * 3.0 + 5.0 * 3.0 + 6.0) / 8.0,
            (5.0 + 6.0 * 3.0 + 7.0 * 3.0) / 7.0,
        ];
        for (o, e) in out.data.iter().zip(expect) {
            assert!((o - e).abs() < 1e-5, "{:?} vs {expect:?}", out.data);
        }
        let up = resize(&src, 3, 16, Interpolation::Bilinear);
        assert_eq!((up.height, up.width), (3, 16));
        let near = resize(&src, 1, 4, Interpolation::Nearest);
        assert_eq!(near.data, vec![1.0, 3.0, 5.0, 7.0]);
    }

    #[test]
    fn colour_formulas() {
        let src = img(1, 2, 3, |_, x, c| [[0.2, 0.4, 0.6], [0.9, 0.1, 0.5]][x][c]);
        let b = adjust_brightness(&src, 1.5);
        assert!((b.at(0, 0, 2) - 0.9).abs() < 1e-6 && b.at(0, 1, 0) == 1.0);
        let g0 = gray_value(0.2, 0.4, 0.6);
        let g1 = gray_value(0.9, 0.1, 0.5);
        let m = (g0 + g1) / 2.0;
        let c = adjust_contrast(&src, 0.5);
        assert!((c.at(0, 1, 1) - (0.05 + 0.5 * m)).abs() < 1e-6);
        let s = adjust_saturation(&src, 0.0);
        assert!((s.at(0, 0, 0) - g0).abs() < 1e-6 && (s.at(0, 0, 2) - g0).abs() < 1e-6);
        // Hue: pure red shifted by a third of a turn becomes pure green.
        let red = img(1, 1, 3, |_, _, c| if c == 0 { 1.0 } else { 0.0 });
        let green = adjust_hue(&red, 1.0 / 3.0);
        assert!((green.at(0, 0, 1) - 1.0).abs() < 1e-5 && green.at(0, 0, 0) < 1e-5);
        let back = adjust_hue(&adjust_hue(&src, 0.2), -0.2);
        for (a, b) in back.data.iter().zip(&src.data) {
            assert!((a - b).abs() < 1e-5);
        }
    }

    #[test]
    fn flips_and_normalize() {
        let src = img(2, 3, 2, |y, x, c| (y * 100 + x * 10 + c) as f32);
        assert_eq!(hflip(&src).at(0, 0, 1), 21.0);
        assert_eq!(vflip(&src).at(0, 0, 1), 101.0);
        let n = normalize(&src, &[1.0, 2.0], &[2.0, 4.0]).unwrap();
        assert_eq!(n.at(1, 2, 1), (121.0 - 2.0) / 4.0);
        assert!(normalize(&src, &[0.0; 3], &[1.0; 3]).is_err());
    }
}
