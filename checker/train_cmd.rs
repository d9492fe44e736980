//! `checker train`: the final training stage. The checker checks the options, the
//! encoder weights and the data set, compiles the `final_stage` target (your U-Net,
//! Dice loss and EfficientNet U-Net, or the reference's with `--solutions`), runs it
//! in the foreground with its progress bars, and judges the report it wrote. The
//! verdict is decided here, in a process that never runs student code.
use crate::runner::{self, Build, RunConfig};
use colored::Colorize;
use se05::data::isic::DataSource;
use se05::grading::progress::{Progress, StageRecord};
use se05::grading::Status;
use se05::models::weights::ResolvedWeights;
use se05::train::stage::{
    self, verdict, Expected, JudgeInput, Plan, StageCommand, StageData, StageOptions, StageVerdict,
};

/// What the checker settled before starting the target.
struct Setup {
    options: StageOptions,
    plan: Plan,
    weights: ResolvedWeights,
    source: DataSource,
    expected: Expected,
}

/// Ok(true) when the stage ran and its pass criteria were met.
pub fn run(cfg: &RunConfig, options: &StageOptions) -> anyhow::Result<bool> {
    let who = if cfg.solutions {
        "the reference solutions"
    } else {
        "your models"
    };
    println!("{}", format!("Final training stage: {who}").bold());
    let setup = match prepare(cfg, options) {
        Ok(setup) => setup,
        Err(why) => {
            println!("{} {why}", "The training stage cannot start:".red().bold());
            return Ok(false);
        }
    };
    println!("compiling the stage…");
    let exe = match runner::build("final_stage", cfg)? {
        Build::Executable(exe) => exe,
        Build::CompileError(msg) => {
            println!(
                "{}\n{msg}",
                "The training stage does not compile:".red().bold()
            );
            return Ok(false);
        }
    };
    let verdict = run_and_judge(cfg, &exe, &setup)?;
    report(&verdict);
    if let Err(e) = verdict::write_verdict(&verdict, &setup.options.out) {
        eprintln!("warning: verdict not saved: {e:#}");
    }
    if !cfg.solutions {
        record(&verdict);
    }
    Ok(verdict.passed())
}

/// Resolves device and schedule, checks the encoder weights (before any training)
/// and finds or generates the data set. Each refusal is one message.
fn prepare(cfg: &RunConfig, options: &StageOptions) -> Result<Setup, String> {
    let plan = options.plan().map_err(|e| stage::error_text(&e))?;
    let weights = stage::check_encoder_weights(&options.weights)
        .map_err(|why| format!("--weights {}: {why}", options.weights))?;
    let source = se05::data::ensure_dataset().map_err(|e| stage::error_text(&e))?;
    let (train_pairs, test_pairs) = StageData::of(&source)
        .count_pairs()
        .map_err(|e| stage::error_text(&e))?;
    println!("data: {}", source.describe());
    println!("device: {}", plan.device_name);
    if let Some(note) = plan.schedule.note() {
        println!("{note}");
    }
    if weights.is_pretrained() {
        println!("encoder: {}", weights.description);
    } else {
        println!("encoder: {}", weights.description.red().bold());
    }
    let expected = Expected {
        schedule: plan.schedule.clone(),
        seed: options.seed,
        train_pairs,
        test_pairs,
    };
    Ok(Setup {
        options: options.rooted(&cfg.root),
        plan,
        weights,
        source,
        expected,
    })
}

/// How much the stage's folders may grow: its two checkpoints (124 MB for the U-Net,
/// less for the EfficientNet U-Net), the temporary copy each save writes first, plots
/// and the report come to about 0.4 GB; `SE05_SANDBOX_SCRATCH_MB` changes it.
const STAGE_SCRATCH_BYTES: u64 = 2 << 30;

/// The training stage's wall-clock limit: the notebook's full schedule on a CPU takes
/// about half an hour here; `SE05_SANDBOX_WALL_S` changes it.
const STAGE_WALL_S: u64 = 4 * 3600;

/// Runs the target with every choice made and judges what it left.
fn run_and_judge(
    cfg: &RunConfig,
    exe: &std::path::Path,
    setup: &Setup,
) -> anyhow::Result<StageVerdict> {
    let command = StageCommand {
        stage: true,
        data: Some(setup.source.root.clone()),
        options: setup
            .options
            .pinned(&setup.plan, stage::pinned_weights(&setup.weights)),
    };
    let started = stage::run_started();
    // The student's code trains here: in the sandbox, writing only its outputs.
    let scratch = tempfile::tempdir()?;
    for dir in [&setup.options.out, &setup.options.models] {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    }
    let mut spec = se05::grading::sandbox::Spec::new(exe, &cfg.root);
    spec.args = command.to_args();
    spec.writable = vec![
        scratch.path().to_path_buf(),
        setup.options.out.clone(),
        setup.options.models.clone(),
    ];
    spec.env = vec![("RUST_BACKTRACE".into(), "0".into())];
    spec.echo_bytes = 4 << 20;
    spec.limits = se05::grading::sandbox::limits_from_env(se05::grading::sandbox::Limits {
        wall: std::time::Duration::from_secs(STAGE_WALL_S),
        // The U-Net's checkpoint alone is 124 MB (31 M parameters in f32).
        file_size: 1 << 30,
        scratch_bytes: Some(STAGE_SCRATCH_BYTES),
        ..se05::grading::sandbox::Limits::default()
    })?;
    let finished = se05::grading::sandbox::run(&spec)
        .map_err(|e| anyhow::anyhow!("cannot start the training stage: {e:#}"))?;
    for warning in &finished.warnings {
        eprintln!("warning: {warning}");
    }
    let input = JudgeInput {
        out: setup.options.out.clone(),
        models: setup.options.models.clone(),
        started: Some(started),
        synthetic: setup.source.is_synthetic(),
        data: setup.source.describe(),
        expected: setup.expected.clone(),
    };
    if !finished.success() {
        let how = match (finished.limit_hit, finished.exit) {
            (Some(limit), _) => limit.describe().to_string(),
            (None, se05::grading::sandbox::Exit::Code(code)) => format!("exit status {code}"),
            (None, se05::grading::sandbox::Exit::Signal(signal)) => {
                format!("killed by signal {signal}")
            }
        };
        return Ok(StageVerdict::crashed(
            format!("the training stage stopped before the end ({how}); its message is above"),
            &input,
        ));
    }
    Ok(stage::judge(&input))
}

/// The figures of the report judged, the pass bars and the verdict. The report's
/// texts (device, labels) and the message come from the student's process: inert.
fn report(verdict: &StageVerdict) {
    use se05::grading::text::inert;
    if let Some(report) = &verdict.report {
        println!();
        for line in verdict::summary_lines(report) {
            println!("{}", inert(&line));
        }
    }
    if !verdict.criteria.is_empty() {
        for line in verdict::criteria_lines(&verdict.criteria) {
            println!("{}", inert(&line));
        }
    }
    let message = inert(&verdict.message);
    match verdict.status {
        Status::Passed => println!("{}", "The training stage passed.".green().bold()),
        Status::Failed => println!(
            "{} {}",
            "The training stage ran, but a pass criterion was not met:"
                .red()
                .bold(),
            message
        ),
        _ => println!(
            "{} {}",
            format!("The training stage {}:", verdict.status.label())
                .red()
                .bold(),
            message
        ),
    }
}

/// Remembers the stage's verdict and test Dice for `checker --list`.
fn record(verdict: &StageVerdict) {
    let report = verdict.report.as_ref();
    let stage = StageRecord {
        passed: verdict.passed(),
        unet_dice: report.map(|r| r.unet.test.dice_per_image),
        efficient_dice: report.map(|r| r.unet_efficient.test.dice_per_image),
        device: report.map(|r| r.device.clone()).unwrap_or_default(),
        last_run_unix: 0,
    };
    let path = Progress::default_path();
    if let Err(e) = Progress::update(&path, |p| p.record_stage(stage)) {
        eprintln!("warning: progress not saved: {e:#}");
    }
}
