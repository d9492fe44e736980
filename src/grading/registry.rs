//! The one list of exercises. The checker, its reports, `checker validate` and the
//! README's exercise table all read it; each exercise's check target asserts that
//! its checks' points add up to the points given here.

/// One exercise of the workshop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exercise {
    /// Number as in the notebook (`checker 6`).
    pub number: u32,
    /// File stem in exercises/ and solutions/, and the name of its check target in tests/.
    pub slug: &'static str,
    pub title: &'static str,
    /// Section of the notebook it mirrors.
    pub section: &'static str,
    /// Exercises whose code this one uses; if one of them fails, this one is blocked.
    pub depends_on: &'static [u32],
    /// Points for passing every check, hidden checks ([`HIDDEN_CHECKS`]) included.
    pub points: u32,
    /// Shown one at a time by `checker --hint N`, most general first.
    pub hints: &'static [&'static str],
    /// Wall-clock limit for one check of the exercise, in seconds; after a check times
    /// out the remaining ones are skipped.
    pub timeout_s: u64,
}

impl Exercise {
    /// Path of the student's file, relative to the repository root.
    pub fn exercise_file(&self) -> String {
        format!("exercises/{}.rs", self.slug)
    }

    /// Path of the reference implementation, relative to the repository root.
    pub fn solution_file(&self) -> String {
        format!("solutions/{}.rs", self.slug)
    }

    /// Points of the checks that ship with the student release (all but the hidden
    /// ones): what a student's own `checker N` can award.
    pub fn visible_points(&self) -> u32 {
        self.points - hidden_points(self.number)
    }

    /// Every exercise this one needs, directly or not, in ascending order.
    pub fn all_dependencies(&self) -> Vec<u32> {
        let mut out: Vec<u32> = Vec::new();
        let mut stack: Vec<u32> = self.depends_on.to_vec();
        while let Some(n) = stack.pop() {
            if !out.contains(&n) {
                out.push(n);
                if let Some(ex) = get(n) {
                    stack.extend_from_slice(ex.depends_on);
                }
            }
        }
        out.sort_unstable();
        out
    }
}

/// Version of the exercise set: bump when checks or points change, so reports from
/// different versions are not compared as equals.
pub const EXERCISE_SET_VERSION: &str = "2026.11-2";

/// A check that the student release leaves out (`checker release`): its observer
/// (checks/hidden/) and its judge (src/grading/exercises/hidden/) are compiled only
/// with the `hidden-checks` feature, which the instructor's Cargo.toml enables by
/// default and the release's does not. `checker grade` in the instructor's
/// repository runs them; a student's `checker N` says how many points they hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HiddenCheck {
    pub exercise: u32,
    pub name: &'static str,
    pub points: u32,
}

/// The hidden checks, at least one per model exercise: larger inputs than the
/// visible checks draw, and gradients reaching every trainable parameter.
pub const HIDDEN_CHECKS: &[HiddenCheck] = &[
    HiddenCheck {
        exercise: 6,
        name: "larger_inputs_and_gradients",
        points: 2,
    },
    HiddenCheck {
        exercise: 7,
        name: "larger_inputs_and_gradients",
        points: 2,
    },
    HiddenCheck {
        exercise: 8,
        name: "larger_inputs_and_gradients",
        points: 2,
    },
    HiddenCheck {
        exercise: 9,
        name: "other_channels_and_gradients",
        points: 2,
    },
    HiddenCheck {
        exercise: 11,
        name: "larger_inputs_and_gradients",
        points: 2,
    },
];

/// Points of exercise `number`'s hidden checks.
pub fn hidden_points(number: u32) -> u32 {
    HIDDEN_CHECKS
        .iter()
        .filter(|h| h.exercise == number)
        .map(|h| h.points)
        .sum()
}

/// Every exercise, in notebook order.
pub const EXERCISES: &[Exercise] = &[
    Exercise {
        number: 1,
        slug: "ex01_dataset",
        title: "ISIC dataset",
        section: "3.1",
        depends_on: &[],
        points: 8,
        hints: &[
            "new() lists the .jpg files of image_dir sorted by name \
                (se05::data::isic::list_images) and keeps both folders and transforms; len() \
                is the number of images.",
            "The mask of an image is its stem + \"_Segmentation.png\" in mask_dir: \
                se05::data::isic::mask_path_for(image, mask_dir).",
            "get() opens ImageFile::rgb(image) and ImageFile::gray(mask) with `?` (a \
                missing file becomes an error naming it) and runs each through its Compose \
                with apply_image(input, &mut sample_rng()), or through \
                Compose::new(vec![Transform::ToTensor]) when the transform is None.",
        ],
        timeout_s: 30,
    },
    Exercise {
        number: 2,
        slug: "ex02_mean_std",
        title: "Dataset mean and std",
        section: "3.2",
        depends_on: &[],
        points: 6,
        hints: &[
            "Go through the data set once with DataLoader::new(dataset, 16) (no shuffle) \
                and accumulate, per channel, the sum of the pixels, the sum of their squares \
                and the pixel count.",
            "Sum a [B, 3, H, W] batch over dimensions 0, 2 and 3 (sum_dim_intlist), in \
                f64; the count grows by B·H·W per batch, so a smaller last batch is weighted \
                correctly.",
            "mean = sum / n; the population std is sqrt(sumsq / n − mean²).",
        ],
        timeout_s: 30,
    },
    Exercise {
        number: 3,
        slug: "ex03_transforms",
        title: "Transform pipelines",
        section: "3.3",
        depends_on: &[],
        points: 8,
        hints: &[
            "Both pipelines are a Compose::new(vec![...]) of Transform values, in the \
                notebook's order, ending with Transform::ToTensor.",
            "Training: Resize 64×64, HorizontalFlip p 0.5, VerticalFlip p 0.5, Rotate \
                limit 10 p 0.5, ColorJitter (0.2, 0.2, 0.2, 0.1, p 0.5), Normalize, ToTensor. \
                Validation: Resize, Normalize, ToTensor; no random step.",
            "Normalize takes Vec<f32>: convert the [f64; 3] mean and std with \
                .iter().map(|v| *v as f32).collect().",
        ],
        timeout_s: 30,
    },
    Exercise {
        number: 4,
        slug: "ex04_augmented_dataset",
        title: "Augmented dataset",
        section: "3.3.4",
        depends_on: &[],
        points: 8,
        hints: &[
            "One Compose for image and mask together: Compose::apply(image, mask, &mut \
                sample_rng()) draws each random step once for both, so they stay aligned.",
            "Use the same sorted image list and mask naming as exercise 1; without a \
                transform use Compose::new(vec![Transform::ToTensor]).",
            "Binarise the mask after the transforms with \
                mask.gt(0.5).to_kind(Kind::Float). Resize and Rotate resample masks with \
                nearest neighbour, so a clean 0/1 mask stays 0/1, but a mask file can hold \
                grey levels (anti-aliased edges), and a transform that interpolates the mask \
                would bring fractions back.",
        ],
        timeout_s: 30,
    },
    Exercise {
        number: 5,
        slug: "ex05_split",
        title: "Train/validation split",
        section: "3.4",
        depends_on: &[],
        points: 6,
        hints: &[
            "Sizes first: n = dataset.len(), n_train = n * 8 / 10 (integer division rounds \
                down, like int(0.8 * n) in the notebook), and the validation part gets n - \
                n_train.",
            "se05::data::random_split(dataset, &[n_train, n - n_train], seed) shuffles the \
                indices with the seed and returns a Vec of two Subsets, disjoint and covering \
                the data set; take them out with pop() (the last part comes out first) or \
                <[Subset; 2]>::try_from(parts).",
            "Loaders: DataLoader::new(train, 16).shuffle(seed) for training and \
                DataLoader::new(valid, 16) for validation (no shuffle); return \
                Ok((train_loader, valid_loader)).",
        ],
        timeout_s: 30,
    },
    Exercise {
        number: 6,
        slug: "ex06_double_conv",
        title: "DoubleConv block",
        section: "4.2",
        depends_on: &[],
        points: 12,
        hints: &[
            "A DoubleConv is two identical rounds of convolution → batch normalisation → \
                ReLU, kept in one sequential block named `conv`.",
            "Create every layer under `p / \"conv\" / i`, where i is the layer's position \
                in the block (0..=5), so parameter names read conv.0.weight, \
                conv.1.running_mean, ... as in PyTorch.",
            "Use se05::layers::conv2d(path, in, out, 3, 1) for a 3×3 convolution with \
                padding 1, and se05::layers::batch_norm2d(path, out) for the batch norm; ReLU \
                has no parameters: `.add_fn(|x| x.relu())` (positions 2 and 5).",
            "The second convolution maps out_channels to out_channels. Batch norm must see \
                `train` in forward_t, so use nn::seq_t() and forward_t.",
        ],
        timeout_s: 30,
    },
    Exercise {
        number: 7,
        slug: "ex07_down",
        title: "Down block",
        section: "4.2",
        depends_on: &[6],
        points: 10,
        hints: &[
            "Going down halves the height and width, then extracts features: max pooling \
                followed by your DoubleConv, in a sequential block named `maxpool_conv`.",
            "Max pooling has no parameters, so it takes position 0 with `.add_fn(|x| \
                x.max_pool2d_default(2))`; the DoubleConv goes at position 1, created under \
                `p / \"maxpool_conv\" / 1`.",
            "An odd size rounds down: 33×33 becomes 16×16, as PyTorch's MaxPool2d(2) does.",
        ],
        timeout_s: 30,
    },
    Exercise {
        number: 8,
        slug: "ex08_up",
        title: "Up block",
        section: "4.2",
        depends_on: &[6],
        points: 14,
        hints: &[
            "Going up doubles the height and width with a transposed convolution (`up`), \
                glues the encoder's feature map (the skip connection) to it along the channel \
                axis, and mixes them with a DoubleConv (`conv`).",
            "The transposed convolution maps in_channels to in_channels / 2 with kernel 2 \
                and stride 2: se05::layers::conv_transpose2d(p / \"up\", in, in / 2, 2, 2).",
            "When the skip map is larger (odd sizes lose a row in max pooling), pad the \
                upsampled map: diff_y = skip height − upsampled height; pad [diff_x / 2, \
                diff_x − diff_x / 2, diff_y / 2, diff_y − diff_y / 2] with \
                Tensor::constant_pad_nd (left, right, top, bottom).",
            "Concatenate in the order [skip, upsampled] along dimension 1 \
                (Tensor::cat(&[x2, &x1], 1)); the DoubleConv then maps in_channels to \
                out_channels.",
        ],
        timeout_s: 30,
    },
    Exercise {
        number: 9,
        slug: "ex09_unet",
        title: "U-Net",
        section: "4.2",
        depends_on: &[6, 7, 8],
        points: 17,
        hints: &[
            "The U-Net is an encoder (inc, down1..down4) that halves the size and doubles \
                the channels, a decoder (up1..up4) that undoes it using the encoder's maps as \
                skips, and a 1×1 convolution `outc` followed by a sigmoid.",
            "Channels: inc 3→64; down 64→128→256→512→1024; up 1024→512→256→128→64; outc \
                64→out_channels with kernel 1 and no padding.",
            "Keep every encoder output: up1 takes (x5, x4), up2 (x, x3), up3 (x, x2), up4 (x, x1).",
            "UNet::new(p, 3, 1) has 31,043,521 parameters; if yours differs, compare your \
                parameter table with the expected one in the check's message.",
        ],
        timeout_s: 90,
    },
    Exercise {
        number: 10,
        slug: "ex10_dice_loss",
        title: "Dice loss",
        section: "4.3",
        depends_on: &[],
        points: 10,
        hints: &[
            "Dice measures overlap: twice the intersection over the total size of both \
                masks. The loss is 1 − Dice, so perfect overlap gives 0.",
            "Flatten both tensors to one dimension (`view(-1)` / `flatten(0, -1)`), \
                convert the target to float, then intersection = sum(pred · true) and total = \
                sum(pred) + sum(true).",
            "Smoothing goes on both sides: dice = (2·intersection + smooth) / (total + \
                smooth), with smooth = 1.0 by default.",
            "Return (1 − dice) clamped to [0, 1] as a zero-dimensional tensor, keeping the \
                graph so backward() works.",
        ],
        timeout_s: 30,
    },
    Exercise {
        number: 11,
        slug: "ex11_unet_efficient",
        title: "EfficientNet U-Net",
        section: "5.4",
        depends_on: &[6],
        points: 22,
        hints: &[
            "Transfer learning: the EfficientNet given to `new` is the encoder and stays \
                frozen (weights and BatchNorm statistics); only a U-Net decoder of DoubleConv \
                and SmartUp blocks learns on top of it.",
            "SmartUp is Up with a transposed convolution in_channels → skip_channels, a \
                bilinear resize (Tensor::upsample_bilinear2d(skip size, false, None, None)) \
                instead of padding when the sizes differ, and DoubleConv(2 · skip_channels, \
                out_channels) on [skip, upsampled].",
            "encode groups the stages as x1 = forward_range(0..2), x2 = stage 2, x3 = \
                stage 3, x4 = stage 4, x5 = forward_range(5..8), each fed the previous map, \
                with train = train && update_encoder_bn_stats; `new` calls encoder.freeze().",
            "Decoder: center DoubleConv(320, 512) on x5, then up1(·, x4) 512→80, up2(·, \
                x3) 80→40, up3(·, x2) 40→24, up4(·, x1) 24→16, outc 1×1 16→out_channels, \
                resize to the input size, sigmoid: 4,258,545 trainable parameters.",
        ],
        timeout_s: 60,
    },
];

/// The exercise with this number, if any.
pub fn get(number: u32) -> Option<&'static Exercise> {
    EXERCISES.iter().find(|e| e.number == number)
}

/// The exercise whose slug (file stem) is given.
pub fn by_slug(slug: &str) -> Option<&'static Exercise> {
    EXERCISES.iter().find(|e| e.slug == slug)
}

/// Sum of all exercises' points.
pub fn total_points() -> u32 {
    EXERCISES.iter().map(|e| e.points).sum()
}

/// The README's exercise table, generated from the registry (a test keeps the README
/// in step with it).
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| # | Exercise | Notebook | File | Needs | Points | Known mistakes |\n|---|---|---|---|---|---|---|\n",
    );
    for e in EXERCISES {
        let needs = if e.depends_on.is_empty() {
            "–".to_string()
        } else {
            e.depends_on
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!(
            "| {} | {} | §{} | `{}` | {} | {} | {} |\n",
            e.number,
            e.title,
            e.section,
            e.exercise_file(),
            needs,
            match hidden_points(e.number) {
                0 => e.points.to_string(),
                h => format!("{} ({h} hidden)", e.points),
            },
            crate::grading::mistakes::of_exercise(e.number).len()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_slugs_are_unique_and_ordered() {
        for pair in EXERCISES.windows(2) {
            assert!(pair[0].number < pair[1].number);
        }
        for e in EXERCISES {
            assert!(
                e.slug.starts_with(&format!("ex{:02}_", e.number)),
                "{}",
                e.slug
            );
            assert_eq!(by_slug(e.slug), Some(e));
        }
    }

    #[test]
    fn dependencies_exist_and_come_first() {
        for e in EXERCISES {
            for d in e.all_dependencies() {
                assert!(
                    get(d).is_some(),
                    "exercise {} depends on missing {d}",
                    e.number
                );
                assert!(d < e.number, "exercise {} depends on later {d}", e.number);
            }
            assert!(!e.hints.is_empty() && e.points > 0 && e.timeout_s > 0);
        }
        assert_eq!(get(9).unwrap().all_dependencies(), vec![6, 7, 8]);
    }

    #[test]
    fn hidden_checks_belong_to_exercises_and_leave_visible_points() {
        for h in HIDDEN_CHECKS {
            let e = get(h.exercise).expect("hidden check of an unknown exercise");
            assert!(h.points > 0 && e.visible_points() > 0, "{h:?}");
        }
        for n in [6, 7, 8, 9, 11] {
            assert!(
                hidden_points(n) > 0,
                "model exercise {n} has no hidden check"
            );
        }
        assert_eq!(get(6).unwrap().visible_points(), 10);
        assert_eq!(get(10).unwrap().visible_points(), 10);
    }

    #[test]
    fn files_exist() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for e in EXERCISES {
            assert!(
                root.join(e.exercise_file()).is_file(),
                "{}",
                e.exercise_file()
            );
            // The student release has no solutions/ folder at all.
            if root.join("solutions").is_dir() {
                assert!(
                    root.join(e.solution_file()).is_file(),
                    "{}",
                    e.solution_file()
                );
            }
            assert!(
                root.join(format!("checks/{}.rs", e.slug)).is_file(),
                "check target for {}",
                e.slug
            );
        }
    }
}
