//! Shared by the exercise check targets: comparing a student's output with the
//! reference's recorded snapshot.
#![allow(dead_code)]
use se05::check;

/// Compares `text` with the reference's snapshot `name` of this check target.
/// Instructors regenerate the snapshots from the solutions with
/// `SE05_BLESS=1 INSTA_UPDATE=always cargo test --features solutions`.
pub fn snapshot(name: &str, text: &str, numeric: bool) -> anyhow::Result<()> {
    let target = env!("CARGO_CRATE_NAME");
    #[cfg(feature = "solutions")]
    if std::env::var_os("SE05_BLESS").is_some() {
        insta::with_settings!({
            snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/checks/snapshots"),
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(format!("{target}__{name}"), text);
        });
    }
    check::matches_snapshot(target, name, text, numeric)
}

/// A fixed input batch: normal noise from a given seed.
pub fn fixed_input(shape: &[i64], seed: i64) -> tch::Tensor {
    tch::manual_seed(seed);
    tch::Tensor::randn(shape, (tch::Kind::Float, tch::Device::Cpu))
}

/// A tiny synthetic ISIC set (12 training, 4 test pairs of 64×48) in a fresh
/// temporary folder; keep the folder alive while using the data.
pub fn tiny_isic() -> anyhow::Result<(tempfile::TempDir, se05::data::DataSource)> {
    let dir = tempfile::tempdir()?;
    let config = se05::data::SyntheticConfig {
        train: 12,
        test: 4,
        width: 64,
        height: 48,
        ..Default::default()
    };
    let source = se05::data::isic::regenerate_synthetic(dir.path(), &config)?;
    Ok((dir, source))
}

/// The training pairs of a split run through one pipeline (image and mask together),
/// written independently of the exercises.
pub struct PairSet {
    pub pairs: Vec<se05::data::isic::Pair>,
    pub transform: se05::data::Compose,
}

impl PairSet {
    pub fn new(
        dirs: &se05::data::SplitDirs,
        transform: se05::data::Compose,
    ) -> anyhow::Result<Self> {
        Ok(PairSet {
            pairs: se05::data::isic::pair_split(dirs)?.pairs,
            transform,
        })
    }
}

impl se05::data::Dataset for PairSet {
    fn len(&self) -> usize {
        self.pairs.len()
    }
    fn get(&self, index: usize) -> anyhow::Result<se05::data::Sample> {
        let p = &self.pairs[index];
        let (image, mask) = self.transform.apply(
            se05::data::ImageFile::rgb(&p.image)?,
            se05::data::ImageFile::gray(&p.mask)?,
            &mut se05::data::sample_rng(),
        )?;
        Ok(se05::data::Sample::new(image, mask))
    }
}

/// Items whose image is a [1, 1, 1] tensor holding their index, to trace splits.
pub struct IndexSet(pub usize);

impl se05::data::Dataset for IndexSet {
    fn len(&self) -> usize {
        self.0
    }
    fn get(&self, index: usize) -> anyhow::Result<se05::data::Sample> {
        let t = tch::Tensor::full([1, 1, 1], index as f64, tch::kind::FLOAT_CPU);
        Ok(se05::data::Sample::new(t.shallow_clone(), t))
    }
}

/// Per-channel mean and population std over every pixel of every image of a data set.
pub fn reference_mean_std(set: &dyn se05::data::Dataset) -> anyhow::Result<([f64; 3], [f64; 3])> {
    let mut all = Vec::new();
    for i in 0..set.len() {
        all.push(
            set.get(i)?
                .image
                .to_kind(tch::Kind::Double)
                .reshape([3, -1]),
        );
    }
    let x = tch::Tensor::cat(&all, 1);
    let mean = x.mean_dim([1i64].as_slice(), false, tch::Kind::Double);
    let std = x.std_dim([1i64].as_slice(), false, false);
    let v = |t: &tch::Tensor| {
        [
            t.double_value(&[0]),
            t.double_value(&[1]),
            t.double_value(&[2]),
        ]
    };
    Ok((v(&mean), v(&std)))
}
