//! `checker data`: which data set the stage trains on, regenerating the synthetic
//! one, and fetching the real ISIC 2016 archives.
use crate::DataAction;
use se05::data::{self, SyntheticConfig};
use se05::io::isic_fetch::{fetch_isic2016, FetchOptions};

pub fn run(action: Option<&DataAction>) -> anyhow::Result<()> {
    match action {
        None => {
            let source = data::ensure_dataset()?;
            println!("{}", source.describe());
        }
        Some(DataAction::Regenerate { isic_like }) => {
            let config = if *isic_like {
                SyntheticConfig::isic_like()
            } else {
                SyntheticConfig::default()
            };
            let source = data::isic::regenerate_synthetic(&data::isic::datasets_dir(), &config)?;
            println!("{}", source.describe());
        }
        Some(DataAction::Fetch { name, base_url }) => {
            anyhow::ensure!(
                name == "isic2016",
                "unknown data set `{name}`: the only one is isic2016"
            );
            let report = fetch_isic2016(
                &data::isic::datasets_dir(),
                base_url,
                &FetchOptions::default(),
            )?;
            println!("{report}");
        }
    }
    Ok(())
}
