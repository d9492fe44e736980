//! A synthetic look-alike of ISIC 2016 Part 1, deterministic from a seed.
//!
//! Each image imitates a dermoscopy photograph: a skin-toned background with uneven
//! lighting, vignetting (sometimes the dark ring of the dermoscope), texture and noise;
//! one irregular lesion of varied size, colour, contrast and border sharpness, some
//! touching the image border; optional hair strokes over everything. The mask is the
//! lesion's outline, exactly 0 or 255.
//!
//! The set is learnable (lesions are visible locally: darker, differently coloured,
//! textured, with a coherent shape) but not trivial: skin tone and exposure vary between
//! images, vignettes and hair are dark too, and some lesions are faint, so no single
//! global threshold separates lesion from skin well (see the tests).
//!
//! [`generate`] writes the ISIC 2016 layout atomically (into a temporary folder that
//! is renamed into place) with a marker file holding the parameters, so a changed
//! configuration is detected and regenerated.

use std::f32::consts::PI;
use std::fs;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use image::codecs::jpeg::JpegEncoder;
use image::{GrayImage, Luma, Rgb, RgbImage};
use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::isic;
use super::loader::mix;

/// Bumped whenever the generator's output changes, so old sets are regenerated.
pub const GENERATOR_VERSION: u32 = 1;

/// Name of the marker file written last into a generated set.
pub const MARKER_FILE: &str = "synthetic.json";

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyntheticConfig {
    pub seed: u64,
    /// Number of training pairs.
    pub train: usize,
    /// Number of test pairs.
    pub test: usize,
    pub width: u32,
    pub height: u32,
    /// Draw hair strokes on about a third of the images.
    pub hair: bool,
    /// JPEG quality of the images (1–100).
    pub jpeg_quality: u8,
}

impl Default for SyntheticConfig {
    /// Small enough for CI: 200 training and 60 test pairs at 256×192.
    fn default() -> Self {
        Self {
            seed: 2016,
            train: 200,
            test: 60,
            width: 256,
            height: 192,
            hair: true,
            jpeg_quality: 90,
        }
    }
}

impl SyntheticConfig {
    /// ISIC-like size: 900 training and 379 test pairs at 1022×767.
    pub fn isic_like() -> Self {
        Self {
            train: 900,
            test: 379,
            width: 1022,
            height: 767,
            ..Self::default()
        }
    }

    /// The folder name under `datasets/`: `synthetic` for the default set,
    /// `synthetic-<W>x<H>` otherwise.
    pub fn dir_name(&self) -> String {
        if *self == Self::default() {
            "synthetic".to_string()
        } else {
            format!("synthetic-{}x{}", self.width, self.height)
        }
    }

    /// One line, e.g. `200 training + 60 test pairs at 256×192, seed 2016`.
    pub fn describe(&self) -> String {
        format!(
            "{} training + {} test pairs at {}×{}, seed {}{}",
            self.train,
            self.test,
            self.width,
            self.height,
            self.seed,
            if self.hair { "" } else { ", no hair" }
        )
    }

    fn validate(&self) -> Result<()> {
        if self.width < 16 || self.height < 16 || self.train + self.test == 0 {
            bail!("synthetic data: need at least 16×16 pixels and one pair ({self:?})");
        }
        if !(1..=100).contains(&self.jpeg_quality) {
            bail!("synthetic data: jpeg_quality must lie in 1..=100");
        }
        Ok(())
    }
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Marker {
    generator_version: u32,
    config: SyntheticConfig,
}

/// Which half of the data set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

/// The ISIC id of item `index` of a split: training ids count from 0, test ids
/// continue after the last training id.
pub fn image_id(config: &SyntheticConfig, split: Split, index: usize) -> String {
    let n = match split {
        Split::Train => index,
        Split::Test => config.train + index,
    };
    format!("ISIC_{n:07}")
}

/// True when `dir` holds a complete set generated with `config` by this generator.
pub fn is_current(config: &SyntheticConfig, dir: &Path) -> bool {
    let Ok(text) = fs::read_to_string(dir.join(MARKER_FILE)) else {
        return false;
    };
    serde_json::from_str::<Marker>(&text)
        .is_ok_and(|m| m.generator_version == GENERATOR_VERSION && m.config == *config)
}

/// Writes the data set into `dir` (replacing what is there) unless it already holds
/// this configuration. Returns true when it generated.
///
/// The files are written into a temporary sibling folder that is renamed to `dir`
/// at the end, so an interrupted run never leaves a half-written set behind; two
/// processes racing produce identical sets and the loser discards its copy.
pub fn generate(config: &SyntheticConfig, dir: &Path) -> Result<bool> {
    config.validate()?;
    if is_current(config, dir) {
        return Ok(false);
    }
    let parent = dir
        .parent()
        .context("the synthetic data folder needs a parent folder")?;
    fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    let tmp = tempfile::Builder::new()
        .prefix(".synthetic-tmp-")
        .tempdir_in(parent)
        .with_context(|| format!("cannot create a temporary folder in {}", parent.display()))?;
    write_set(config, tmp.path())?;
    let tmp_path = tmp.keep();
    if dir.exists() {
        if is_current(config, dir) {
            // Another process finished first with the same parameters.
            let _ = fs::remove_dir_all(&tmp_path);
            return Ok(false);
        }
        let old = parent.join(format!(
            ".synthetic-old-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        fs::rename(dir, &old)
            .with_context(|| format!("cannot move the outdated {} aside", dir.display()))?;
        let _ = fs::remove_dir_all(&old);
    }
    if let Err(e) = fs::rename(&tmp_path, dir) {
        let _ = fs::remove_dir_all(&tmp_path);
        if is_current(config, dir) {
            return Ok(false);
        }
        return Err(e).with_context(|| format!("cannot move the new set into {}", dir.display()));
    }
    Ok(true)
}

fn write_set(config: &SyntheticConfig, root: &Path) -> Result<()> {
    let dirs = [
        isic::TRAIN_IMAGES,
        isic::TRAIN_MASKS,
        isic::TEST_IMAGES,
        isic::TEST_MASKS,
    ];
    for d in dirs {
        fs::create_dir_all(root.join(d))?;
    }
    let jobs: Vec<(Split, usize)> = (0..config.train)
        .map(|i| (Split::Train, i))
        .chain((0..config.test).map(|i| (Split::Test, i)))
        .collect();
    jobs.par_iter()
        .try_for_each(|&(split, index)| -> Result<()> {
            let (image, mask) = generate_pair(config, split, index);
            let id = image_id(config, split, index);
            let (img_dir, mask_dir) = match split {
                Split::Train => (isic::TRAIN_IMAGES, isic::TRAIN_MASKS),
                Split::Test => (isic::TEST_IMAGES, isic::TEST_MASKS),
            };
            let img_path = root.join(img_dir).join(format!("{id}.jpg"));
            let file = fs::File::create(&img_path)
                .with_context(|| format!("cannot write {}", img_path.display()))?;
            JpegEncoder::new_with_quality(BufWriter::new(file), config.jpeg_quality)
                .encode_image(&image)
                .with_context(|| format!("cannot encode {}", img_path.display()))?;
            let mask_path = root.join(mask_dir).join(isic::mask_file_name(&id));
            mask.save(&mask_path)
                .with_context(|| format!("cannot write {}", mask_path.display()))?;
            Ok(())
        })?;
    let marker = Marker {
        generator_version: GENERATOR_VERSION,
        config: config.clone(),
    };
    fs::write(
        root.join(MARKER_FILE),
        serde_json::to_string_pretty(&marker)?,
    )?;
    Ok(())
}

/// Paths of a generated set's folders, relative to its root.
pub fn layout(root: &Path) -> [PathBuf; 4] {
    [
        root.join(isic::TRAIN_IMAGES),
        root.join(isic::TRAIN_MASKS),
        root.join(isic::TEST_IMAGES),
        root.join(isic::TEST_MASKS),
    ]
}

// ---------------------------------------------------------------------------------
// The image model.

fn smoothstep(e0: f32, e1: f32, x: f32) -> f32 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

fn lerp3(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

/// Approximately standard normal (sum of uniforms).
fn gauss(rng: &mut impl Rng) -> f32 {
    (rng.gen::<f32>() + rng.gen::<f32>() + rng.gen::<f32>() + rng.gen::<f32>() - 2.0) * 1.732
}

/// Smooth random field in roughly [-1, 1]: bilinear interpolation of a coarse grid.
struct ValueNoise {
    gw: usize,
    gh: usize,
    grid: Vec<f32>,
    sx: f32,
    sy: f32,
}

impl ValueNoise {
    fn new(rng: &mut impl Rng, width: u32, height: u32, cells: usize) -> Self {
        let gw = cells + 2;
        let gh = (cells * height as usize / width as usize).max(1) + 2;
        let grid = (0..gw * gh).map(|_| rng.gen_range(-1.0..1.0)).collect();
        Self {
            gw,
            gh,
            grid,
            sx: (gw - 1) as f32 / width as f32,
            sy: (gh - 1) as f32 / height as f32,
        }
    }

    fn at(&self, x: f32, y: f32) -> f32 {
        let gx = (x * self.sx).clamp(0.0, (self.gw - 1) as f32 - 1e-3);
        let gy = (y * self.sy).clamp(0.0, (self.gh - 1) as f32 - 1e-3);
        let (x0, y0) = (gx as usize, gy as usize);
        let (fx, fy) = (
            smoothstep(0.0, 1.0, gx.fract()),
            smoothstep(0.0, 1.0, gy.fract()),
        );
        let g = |i: usize, j: usize| self.grid[j * self.gw + i];
        let top = g(x0, y0) * (1.0 - fx) + g(x0 + 1, y0) * fx;
        let bottom = g(x0, y0 + 1) * (1.0 - fx) + g(x0 + 1, y0 + 1) * fx;
        top * (1.0 - fy) + bottom * fy
    }
}

struct Lesion {
    cx: f32,
    cy: f32,
    /// Radius per angle bucket (the outline), in pixels.
    radius: Vec<f32>,
    max_radius: f32,
    /// Half width of the soft border, pixels.
    soft: f32,
    /// Opacity at the centre and at the outline.
    alpha_core: f32,
    alpha_edge: f32,
    colour: [f32; 3],
    core_colour: [f32; 3],
    texture: ValueNoise,
    texture_amount: f32,
    dots: Vec<(f32, f32, f32)>,
}

impl Lesion {
    const BUCKETS: usize = 720;

    fn outline(&self, x: f32, y: f32) -> (f32, f32) {
        let (dx, dy) = (x - self.cx, y - self.cy);
        let d = (dx * dx + dy * dy).sqrt();
        let a = dy.atan2(dx);
        let t = (a + PI) / (2.0 * PI) * Self::BUCKETS as f32;
        let i = (t as usize) % Self::BUCKETS;
        let f = t.fract();
        let r = self.radius[i] * (1.0 - f) + self.radius[(i + 1) % Self::BUCKETS] * f;
        (d, r)
    }
}

struct Hair {
    p0: (f32, f32),
    p1: (f32, f32),
    p2: (f32, f32),
    width: f32,
    colour: [f32; 3],
}

const SKIN_LIGHT: [f32; 3] = [236.0, 196.0, 176.0];
const SKIN_DARK: [f32; 3] = [176.0, 122.0, 92.0];

/// The image and mask of item `index` of `split`; deterministic in (config, split, index).
pub fn generate_pair(
    config: &SyntheticConfig,
    split: Split,
    index: usize,
) -> (RgbImage, GrayImage) {
    let stream = match split {
        Split::Train => index as u64,
        Split::Test => (1 << 40) + index as u64,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(mix(config.seed, stream));
    let (w, h) = (config.width, config.height);
    let (wf, hf) = (w as f32, h as f32);
    let scale = wf.min(hf);
    let px = scale / 192.0; // one pixel at the default size

    // Background: skin tone, exposure, lighting, vignette.
    let tone = rng.gen::<f32>().powf(0.8);
    let exposure = rng.gen_range(0.72..1.08);
    let mut skin = lerp3(SKIN_LIGHT, SKIN_DARK, tone);
    for c in &mut skin {
        *c = (*c + rng.gen_range(-10.0..10.0)) * exposure;
    }
    let grad_angle = rng.gen_range(0.0..2.0 * PI);
    let (gdx, gdy) = (grad_angle.cos(), grad_angle.sin());
    let grad_amount = rng.gen_range(0.0..0.3);
    let lighting = ValueNoise::new(&mut rng, w, h, 3);
    let lighting_amount = rng.gen_range(0.0..0.12);
    let skin_texture = ValueNoise::new(&mut rng, w, h, 24);
    let texture_amount = rng.gen_range(0.01..0.05);
    let vignette = rng.gen_range(0.0..0.6);
    let ring = rng.gen_bool(0.3).then(|| {
        (
            rng.gen_range(0.82..1.05) * (wf.hypot(hf) / 2.0),
            rng.gen_range(0.05..0.3),
        )
    });
    let noise_sigma = rng.gen_range(1.5..6.0) / 255.0;

    // Lesion.
    let r0 = scale * rng.gen_range(0.10..0.45);
    let touches_border = rng.gen_bool(0.2);
    let (cx, cy) = if touches_border {
        // Centre near an edge so the outline crosses it.
        let side = rng.gen_range(0..4);
        let along = rng.gen::<f32>();
        let inset = r0 * rng.gen_range(0.1..0.8);
        match side {
            0 => (inset, along * hf),
            1 => (wf - inset, along * hf),
            2 => (along * wf, inset),
            _ => (along * wf, hf - inset),
        }
    } else {
        let (mx, my) = ((r0 * 1.1).min(wf / 2.0), (r0 * 1.1).min(hf / 2.0));
        (rng.gen_range(mx..=wf - mx), rng.gen_range(my..=hf - my))
    };
    let elong = rng.gen_range(0.7..1.3f32);
    let rot = rng.gen_range(0.0..PI);
    let harmonics: Vec<(f32, f32, f32)> = (2..9)
        .map(|k| {
            let kf = k as f32;
            (
                kf,
                rng.gen_range(0.0..0.22) / kf.powf(0.7),
                rng.gen_range(0.0..2.0 * PI),
            )
        })
        .collect();
    let radius: Vec<f32> = (0..Lesion::BUCKETS)
        .map(|i| {
            let a = i as f32 / Lesion::BUCKETS as f32 * 2.0 * PI - PI;
            let wobble: f32 = harmonics
                .iter()
                .map(|&(k, amp, ph)| amp * (k * a + ph).cos())
                .sum();
            // Ellipse of axis ratio `elong` rotated by `rot`.
            let (s, c) = (a - rot).sin_cos();
            let ellipse = 1.0 / ((c / elong).powi(2) + (s * elong).powi(2)).sqrt();
            (r0 * ellipse * (1.0 + wobble)).max(r0 * 0.3)
        })
        .collect();
    let max_radius = radius.iter().cloned().fold(0.0, f32::max);
    // Lesion colour: brown of varying depth; some reddish, some faint.
    let kind = rng.gen::<f32>();
    let depth = rng.gen_range(0.35..0.9f32);
    let colour = if kind < 0.7 {
        [
            skin[0] * depth.powf(0.75),
            skin[1] * depth,
            skin[2] * depth.powf(1.1),
        ]
    } else if kind < 0.85 {
        // Reddish / pink: hardly darker in red.
        [
            skin[0] * rng.gen_range(0.85..1.0),
            skin[1] * rng.gen_range(0.6..0.85),
            skin[2] * rng.gen_range(0.65..0.9),
        ]
    } else {
        // Blue-grey.
        [
            skin[0] * depth * 0.8,
            skin[1] * depth * 0.9,
            skin[2] * depth,
        ]
    };
    let core_depth = rng.gen_range(0.5..1.0f32);
    let core_colour = [
        colour[0] * core_depth,
        colour[1] * core_depth,
        colour[2] * core_depth,
    ];
    let dots = (0..rng.gen_range(0..12))
        .map(|_| {
            let a = rng.gen_range(0.0..2.0 * PI);
            let d = rng.gen::<f32>().sqrt() * r0 * 0.8;
            (
                cx + d * a.cos(),
                cy + d * a.sin(),
                rng.gen_range(1.5..5.0) * px,
            )
        })
        .collect();
    let lesion = Lesion {
        cx,
        cy,
        radius,
        max_radius,
        soft: rng.gen_range(0.5..(0.12 * r0).max(1.0)),
        alpha_core: rng.gen_range(0.8..1.0),
        alpha_edge: rng.gen_range(0.45..1.0),
        colour,
        core_colour,
        texture: ValueNoise::new(&mut rng, w, h, 16),
        texture_amount: rng.gen_range(0.05..0.2),
        dots,
    };

    // Hair.
    let hairs: Vec<Hair> = if config.hair && rng.gen_bool(0.35) {
        (0..rng.gen_range(1..14))
            .map(|_| {
                let p0 = (rng.gen_range(-0.1..1.1) * wf, rng.gen_range(-0.1..1.1) * hf);
                let len = rng.gen_range(0.2..0.9) * scale;
                let a = rng.gen_range(0.0..2.0 * PI);
                let p2 = (p0.0 + len * a.cos(), p0.1 + len * a.sin());
                let bend = rng.gen_range(-0.3..0.3) * len;
                let p1 = (
                    (p0.0 + p2.0) / 2.0 - bend * a.sin(),
                    (p0.1 + p2.1) / 2.0 + bend * a.cos(),
                );
                let v = rng.gen_range(20.0..90.0);
                Hair {
                    p0,
                    p1,
                    p2,
                    width: rng.gen_range(0.6..1.8) * px,
                    colour: [v * 1.2, v, v * 0.85],
                }
            })
            .collect()
    } else {
        Vec::new()
    };

    let mut img = vec![[0f32; 3]; (w * h) as usize];
    let mut mask = GrayImage::new(w, h);
    let half_diag = wf.hypot(hf) / 2.0;
    for y in 0..h {
        for x in 0..w {
            let (xf, yf) = (x as f32 + 0.5, y as f32 + 0.5);
            // Skin.
            let u = ((xf / wf - 0.5) * gdx + (yf / hf - 0.5) * gdy) * 2.0;
            let light = 1.0 + grad_amount * u * 0.5 + lighting_amount * lighting.at(xf, yf);
            let tex = 1.0 + texture_amount * skin_texture.at(xf, yf);
            let mut p = [
                skin[0] * light * tex,
                skin[1] * light * tex,
                skin[2] * light * tex,
            ];
            // Lesion.
            let (dx, dy) = (xf - lesion.cx, yf - lesion.cy);
            if dx.abs() <= lesion.max_radius + 3.0 * lesion.soft + 2.0
                && dy.abs() <= lesion.max_radius + 3.0 * lesion.soft + 2.0
            {
                let (d, r) = lesion.outline(xf, yf);
                if d < r {
                    mask.put_pixel(x, y, Luma([255]));
                }
                let cover = smoothstep(-lesion.soft, lesion.soft, r - d);
                if cover > 0.0 {
                    let inner = (1.0 - d / r).clamp(0.0, 1.0);
                    let alpha = cover
                        * (lesion.alpha_edge
                            + (lesion.alpha_core - lesion.alpha_edge)
                                * smoothstep(0.0, 0.5, inner));
                    let mut col = lerp3(
                        lesion.colour,
                        lesion.core_colour,
                        smoothstep(0.2, 1.0, inner),
                    );
                    let t = 1.0 + lesion.texture_amount * lesion.texture.at(xf, yf);
                    for c in &mut col {
                        *c *= t;
                    }
                    for &(gx, gy, gr) in &lesion.dots {
                        let dd = (xf - gx).hypot(yf - gy);
                        if dd < gr {
                            let k = 1.0 - 0.45 * smoothstep(gr, gr * 0.4, dd);
                            for c in &mut col {
                                *c *= k;
                            }
                        }
                    }
                    p = lerp3(p, col, alpha * light);
                }
            }
            // Vignette and dermoscope ring.
            let rr = (xf - wf / 2.0).hypot(yf - hf / 2.0) / half_diag;
            let sv = smoothstep(0.45, 1.0, rr);
            let mut v = 1.0 - vignette * sv * sv.sqrt();
            if let Some((ring_r, ring_level)) = ring {
                let rd = (xf - wf / 2.0).hypot(yf - hf / 2.0);
                v *=
                    1.0 - (1.0 - ring_level) * smoothstep(ring_r - 6.0 * px, ring_r + 6.0 * px, rd);
            }
            for c in &mut p {
                *c *= v;
            }
            img[(y * w + x) as usize] = p;
        }
    }
    for hair in &hairs {
        draw_hair(&mut img, w, h, hair);
    }
    let rgb = RgbImage::from_fn(w, h, |x, y| {
        let p = img[(y * w + x) as usize];
        let n = gauss(&mut rng) * noise_sigma * 255.0;
        let mut chan = |v: f32| {
            (v + n + rng.gen_range(-1.5..1.5f32))
                .round()
                .clamp(0.0, 255.0) as u8
        };
        Rgb([chan(p[0]), chan(p[1]), chan(p[2])])
    });
    (rgb, mask)
}

fn draw_hair(img: &mut [[f32; 3]], w: u32, h: u32, hair: &Hair) {
    // Sample the curve densely, then keep per pixel the distance to the nearest sample.
    let approx_len = (hair.p0.0 - hair.p1.0).hypot(hair.p0.1 - hair.p1.1)
        + (hair.p1.0 - hair.p2.0).hypot(hair.p1.1 - hair.p2.1);
    let steps = (approx_len * 2.0).ceil().max(2.0) as usize;
    let reach = hair.width + 1.5;
    let (x0, y0) = (
        hair.p0.0.min(hair.p1.0).min(hair.p2.0) - reach,
        hair.p0.1.min(hair.p1.1).min(hair.p2.1) - reach,
    );
    let (x1, y1) = (
        hair.p0.0.max(hair.p1.0).max(hair.p2.0) + reach,
        hair.p0.1.max(hair.p1.1).max(hair.p2.1) + reach,
    );
    let bx0 = x0.max(0.0) as usize;
    let by0 = y0.max(0.0) as usize;
    let bx1 = (x1.max(0.0) as usize).min(w as usize);
    let by1 = (y1.max(0.0) as usize).min(h as usize);
    if bx1 <= bx0 || by1 <= by0 {
        return;
    }
    let bw = bx1 - bx0;
    let mut dist = vec![f32::MAX; bw * (by1 - by0)];
    for i in 0..=steps {
        let t = i as f32 / steps as f32;
        let (a, b, c) = ((1.0 - t) * (1.0 - t), 2.0 * (1.0 - t) * t, t * t);
        let cx = a * hair.p0.0 + b * hair.p1.0 + c * hair.p2.0;
        let cy = a * hair.p0.1 + b * hair.p1.1 + c * hair.p2.1;
        let xs =
            ((cx - reach).max(bx0 as f32) as usize)..((cx + reach).max(0.0) as usize + 1).min(bx1);
        let ys =
            ((cy - reach).max(by0 as f32) as usize)..((cy + reach).max(0.0) as usize + 1).min(by1);
        for y in ys {
            for x in xs.clone() {
                let d = (x as f32 + 0.5 - cx).hypot(y as f32 + 0.5 - cy);
                let slot = &mut dist[(y - by0) * bw + (x - bx0)];
                *slot = slot.min(d);
            }
        }
    }
    for y in by0..by1 {
        for x in bx0..bx1 {
            let d = dist[(y - by0) * bw + (x - bx0)];
            let cover = smoothstep(hair.width + 0.8, hair.width - 0.2, d);
            if cover > 0.0 {
                let p = &mut img[y * w as usize + x];
                *p = lerp3(*p, hair.colour, cover * 0.9);
            }
        }
    }
}

/// Best Dice reachable by one global threshold on one channel, over a set of pairs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ThresholdBaseline {
    /// 0 = R, 1 = G, 2 = B.
    pub channel: usize,
    pub threshold: u8,
    /// True when the lesion is taken as the pixels *below* the threshold.
    pub below: bool,
    /// Mean of per-image Dice at this threshold (images without lesion count as 1
    /// when nothing is predicted, else 0).
    pub mean_dice: f64,
    /// Dice of all pixels pooled, at the threshold best for it.
    pub pooled_dice: f64,
}

/// Tries every channel, every threshold 0–255 and both polarities, and returns the
/// best mean per-image Dice (and, separately, the best pooled Dice).
pub fn best_global_threshold(pairs: &[(RgbImage, GrayImage)]) -> ThresholdBaseline {
    // hist[c][lesion?][value]
    let per_image: Vec<[[[u64; 256]; 2]; 3]> = pairs
        .par_iter()
        .map(|(img, mask)| {
            let mut h = [[[0u64; 256]; 2]; 3];
            for (p, m) in img.pixels().zip(mask.pixels()) {
                let l = (m.0[0] > 127) as usize;
                for c in 0..3 {
                    h[c][l][p.0[c] as usize] += 1;
                }
            }
            h
        })
        .collect();
    let dice = |tp: u64, fp: u64, fneg: u64| -> f64 {
        let denom = 2 * tp + fp + fneg;
        if denom == 0 {
            1.0
        } else {
            2.0 * tp as f64 / denom as f64
        }
    };
    // Cumulative counts: below[c][l][t] = pixels of class l with value < t.
    let cumulative: Vec<[[[u64; 257]; 2]; 3]> = per_image
        .iter()
        .map(|h| {
            let mut cum = [[[0u64; 257]; 2]; 3];
            for c in 0..3 {
                for l in 0..2 {
                    for v in 0..256 {
                        cum[c][l][v + 1] = cum[c][l][v] + h[c][l][v];
                    }
                }
            }
            cum
        })
        .collect();
    let mut best = ThresholdBaseline {
        channel: 0,
        threshold: 0,
        below: true,
        mean_dice: -1.0,
        pooled_dice: -1.0,
    };
    let mut best_pooled = -1.0f64;
    for c in 0..3 {
        for below in [true, false] {
            for t in 0..=255usize {
                let (mut sum, mut ptp, mut pfp, mut pfn) = (0.0, 0u64, 0u64, 0u64);
                for cum in &cumulative {
                    let lesion = cum[c][1][256];
                    let skin = cum[c][0][256];
                    // Predicted lesion: values < t, or values > t.
                    let (tp, fp) = if below {
                        (cum[c][1][t], cum[c][0][t])
                    } else {
                        (lesion - cum[c][1][t + 1], skin - cum[c][0][t + 1])
                    };
                    let fneg = lesion - tp;
                    sum += dice(tp, fp, fneg);
                    ptp += tp;
                    pfp += fp;
                    pfn += fneg;
                }
                let mean = sum / cumulative.len().max(1) as f64;
                if mean > best.mean_dice {
                    best = ThresholdBaseline {
                        channel: c,
                        threshold: t as u8,
                        below,
                        mean_dice: mean,
                        pooled_dice: best.pooled_dice,
                    };
                }
                best_pooled = best_pooled.max(dice(ptp, pfp, pfn));
            }
        }
    }
    best.pooled_dice = best_pooled;
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_binary() {
        let cfg = SyntheticConfig {
            width: 96,
            height: 72,
            ..SyntheticConfig::default()
        };
        let (a, ma) = generate_pair(&cfg, Split::Train, 3);
        let (b, mb) = generate_pair(&cfg, Split::Train, 3);
        assert_eq!(a, b);
        assert_eq!(ma, mb);
        let (c, _) = generate_pair(&cfg, Split::Test, 3);
        assert_ne!(a, c);
        assert!(ma.pixels().all(|p| p.0[0] == 0 || p.0[0] == 255));
        assert!(ma.pixels().any(|p| p.0[0] == 255));
    }
}
