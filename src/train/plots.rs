//! The stage's pictures: loss curves of both models, and a grid of test images with
//! their true and predicted masks. DejaVu Sans is compiled in, so labels render on
//! machines without system fonts.
use super::trainer::History;
use anyhow::Context;
use image::{imageops, Rgb, RgbImage};
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;
use tch::{Kind, Tensor};

pub(crate) const FONT: &str = "sans-serif";

pub(crate) fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // DejaVu is a valid TrueType font; registering it cannot fail at run time.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
    });
}

fn plot_err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("drawing failed: {e:?}")
}

/// Writes `image` as PNG through a temporary file.
pub(crate) fn save_png(image: &RgbImage, path: &Path) -> anyhow::Result<()> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut bytes, image::ImageFormat::Png)
        .context("cannot encode PNG")?;
    crate::io::fsutil::write_atomic(path, bytes.get_ref())
}

/// Train (solid) and validation (dashed-looking, lighter) loss per epoch for each model.
pub fn loss_curves(histories: &[&History], path: &Path) -> anyhow::Result<()> {
    register_font();
    let (w, h) = (900u32, 540u32);
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let max_epochs = histories
            .iter()
            .map(|h| h.train_loss.len())
            .max()
            .unwrap_or(1)
            .max(2);
        let max_loss = histories
            .iter()
            .flat_map(|h| h.train_loss.iter().chain(&h.val_loss))
            .cloned()
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max)
            .max(0.05);
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Dice loss per epoch: scratch U-Net vs pretrained-encoder U-Net",
                (FONT, 22),
            )
            .margin(20)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(1f64..max_epochs as f64, 0f64..(max_loss * 1.1))
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc("loss (1 - Dice)")
            // Whole epochs only: a tick at 1.5 would suggest a measurement there.
            .x_labels(max_epochs)
            .x_label_formatter(&|v| format!("{v:.0}"))
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .draw()
            .map_err(plot_err)?;
        let colors = [
            RGBColor(31, 119, 180),
            RGBColor(214, 39, 40),
            RGBColor(44, 160, 44),
        ];
        for (i, hist) in histories.iter().enumerate() {
            let color = colors[i % colors.len()];
            let train: Vec<(f64, f64)> = hist
                .train_loss
                .iter()
                .enumerate()
                .map(|(e, v)| (e as f64 + 1.0, *v))
                .collect();
            let val: Vec<(f64, f64)> = hist
                .val_loss
                .iter()
                .enumerate()
                .map(|(e, v)| (e as f64 + 1.0, *v))
                .collect();
            chart
                .draw_series(LineSeries::new(train.clone(), color.stroke_width(3)))
                .map_err(plot_err)?
                .label(format!("{} train", hist.label))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
                });
            chart
                .draw_series(train.iter().map(|p| Circle::new(*p, 4, color.filled())))
                .map_err(plot_err)?;
            let light = color.mix(0.55);
            chart
                .draw_series(LineSeries::new(val.clone(), light.stroke_width(2)))
                .map_err(plot_err)?
                .label(format!("{} validation", hist.label))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], light.stroke_width(2))
                });
            chart
                .draw_series(
                    val.iter()
                        .map(|p| TriangleMarker::new(*p, 5, light.filled())),
                )
                .map_err(plot_err)?;
        }
        chart
            .configure_series_labels()
            .label_font((FONT, 15))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    let image = RgbImage::from_raw(w, h, buf).context("plot buffer has the wrong size")?;
    save_png(&image, path)
}

/// A [3,H,W] image tensor, normalised with `mean`/`std`, back to 8-bit RGB.
pub fn denormalise(image: &Tensor, mean: [f64; 3], std: [f64; 3]) -> anyhow::Result<RgbImage> {
    let mean_t = Tensor::from_slice(&mean)
        .view([3, 1, 1])
        .to_kind(Kind::Float);
    let std_t = Tensor::from_slice(&std)
        .view([3, 1, 1])
        .to_kind(Kind::Float);
    let x = (image.to_device(tch::Device::Cpu).to_kind(Kind::Float) * std_t + mean_t)
        .clamp(0.0, 1.0)
        * 255.0;
    tensor_to_rgb(&x.permute([1, 2, 0]).contiguous())
}

fn tensor_to_rgb(hwc: &Tensor) -> anyhow::Result<RgbImage> {
    let size = hwc.size();
    anyhow::ensure!(
        size.len() == 3 && size[2] == 3,
        "expected an [H, W, 3] image, got {size:?}"
    );
    let bytes: Vec<u8> = Vec::<f32>::try_from(hwc.to_kind(Kind::Float).flatten(0, -1))?
        .into_iter()
        .map(|v| v.round().clamp(0.0, 255.0) as u8)
        .collect();
    RgbImage::from_raw(size[1] as u32, size[0] as u32, bytes)
        .context("image buffer has the wrong size")
}

/// A [1,H,W] mask in [0,1] as a grey picture.
pub fn mask_image(mask: &Tensor) -> anyhow::Result<RgbImage> {
    let m = (mask
        .to_device(tch::Device::Cpu)
        .to_kind(Kind::Float)
        .clamp(0.0, 1.0)
        * 255.0)
        .squeeze_dim(0);
    let hwc = m.unsqueeze(-1).expand([-1, -1, 3], false).contiguous();
    tensor_to_rgb(&hwc)
}

/// One row per test image: the columns named in `titles` (image, ground truth, one
/// column per model), each tile scaled to `tile` pixels.
pub fn prediction_grid(
    rows: &[Vec<RgbImage>],
    titles: &[&str],
    tile: u32,
    path: &Path,
) -> anyhow::Result<()> {
    register_font();
    anyhow::ensure!(!rows.is_empty(), "no test images to draw");
    let cols = titles.len() as u32;
    let (pad, header) = (6u32, 34u32);
    let w = cols * (tile + pad) + pad;
    let h = header + rows.len() as u32 * (tile + pad) + pad;
    let mut canvas = RgbImage::from_pixel(w, h, Rgb([255, 255, 255]));
    for (r, row) in rows.iter().enumerate() {
        anyhow::ensure!(
            row.len() == titles.len(),
            "row {r} has {} pictures for {} titles",
            row.len(),
            titles.len()
        );
        for (c, pic) in row.iter().enumerate() {
            let scaled = imageops::resize(pic, tile, tile, imageops::FilterType::Nearest);
            let x = pad + c as u32 * (tile + pad);
            let y = header + pad + r as u32 * (tile + pad);
            imageops::overlay(&mut canvas, &scaled, x as i64, y as i64);
        }
    }
    let mut buf = canvas.into_raw();
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        for (c, title) in titles.iter().enumerate() {
            let x = (pad + c as u32 * (tile + pad) + 4) as i32;
            root.draw(&Text::new(
                title.to_string(),
                (x, 8),
                (FONT, 15).into_font().color(&BLACK),
            ))
            .map_err(plot_err)?;
        }
        root.present().map_err(plot_err)?;
    }
    let image = RgbImage::from_raw(w, h, buf).context("grid buffer has the wrong size")?;
    save_png(&image, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(label: &str, losses: &[f64]) -> History {
        History {
            label: label.into(),
            train_loss: losses.to_vec(),
            val_loss: losses.iter().map(|l| l + 0.05).collect(),
            epoch_seconds: vec![1.0; losses.len()],
            best_epoch: losses.len(),
            best_val_loss: 0.0,
            stopped_early: false,
            trainable_parameters: 1,
            checkpoint: "x".into(),
        }
    }

    #[test]
    fn loss_curves_draw_text_without_system_fonts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loss.png");
        loss_curves(
            &[
                &history("U-Net", &[0.6, 0.4]),
                &history("EfficientNet U-Net", &[0.5, 0.3, 0.2]),
            ],
            &path,
        )
        .unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (900, 540));
        // The caption's glyphs put dark pixels in the top band.
        let dark = (0..900)
            .flat_map(|x| (0..40).map(move |y| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y)[0] < 100)
            .count();
        assert!(dark > 100, "caption text missing ({dark} dark pixels)");
    }

    #[test]
    fn grid_has_one_tile_per_picture() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grid.png");
        let img = denormalise(
            &Tensor::zeros([3, 8, 8], tch::kind::FLOAT_CPU),
            [0.5; 3],
            [0.2; 3],
        )
        .unwrap();
        assert_eq!(img.get_pixel(0, 0)[0], 128);
        let mask = mask_image(&Tensor::ones([1, 8, 8], tch::kind::FLOAT_CPU)).unwrap();
        prediction_grid(
            &[vec![img.clone(), mask.clone()], vec![img, mask]],
            &["image", "mask"],
            32,
            &path,
        )
        .unwrap();
        let grid = image::open(&path).unwrap().to_rgb8();
        assert_eq!(grid.dimensions(), (2 * 38 + 6, 34 + 2 * 38 + 6));
    }
}
