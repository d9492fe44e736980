//! The half of a check that runs next to the student's code, inside a check target.
//!
//! An [`Observer`] calls the exercise on inputs drawn from the run's seed and returns
//! what it saw as a serialisable value. [`main`] runs a target's observers in one of
//! two ways:
//! - **observe mode** (the checker sets `SE05_OBSERVE=1` and writes the run's
//!   [`RunTerms`] as the first line of standard input, read before any exercise code
//!   runs): each observation becomes one signed JSON line in the file the terms name,
//!   and nothing is judged here; the checker's judge reads the file after the process
//!   has ended, and its wall clock bounds the run. The seed, the file's name and the
//!   signing key never appear in the environment or on disk, so exercise code (which
//!   the policy check keeps to safe code without file or process access) can neither
//!   predict the inputs nor write a line the judge accepts;
//! - **test mode** (`cargo test`, the instructors' reference suite): each check is a
//!   libtest trial that observes and then judges in this process, with the same
//!   judges the checker uses. Judging next to the code under test is fine here: the
//!   code is the workshop's own reference.
use super::judge::{self, JudgeCtx};
use super::{exercises, Status};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{mpsc, Mutex, OnceLock};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

/// Environment variable that selects observe mode (`1`).
pub const OBSERVE_ENV: &str = "SE05_OBSERVE";
/// Environment variable holding the seed of a test-mode run (decimal), to replay it.
pub const SEED_ENV: &str = "SE05_SEED";

/// What the checker tells a check target in observe mode, on standard input.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunTerms {
    pub seed: u64,
    /// Key of the lines' signatures, hexadecimal.
    pub key: String,
    /// File the observations are appended to.
    pub observe_to: std::path::PathBuf,
}

/// The signature of one observation line: HMAC-SHA256 of its JSON text, hexadecimal.
pub fn sign(key: &[u8], text: &str) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(text.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Decodes a hexadecimal key.
pub fn key_bytes(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}
/// Environment variable overriding the per-check time limit of test mode, in seconds.
pub const TIMEOUT_ENV: &str = "SE05_CHECK_TIMEOUT_S";

/// What an observer may use: the run's seed, from which it draws its inputs.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    pub seed: u64,
}

impl Ctx {
    /// A generator for the inputs of one check; the judge draws the same values with
    /// [`super::exercises::rng`] to know what to expect.
    pub fn rng(&self, salt: &str) -> rand_chacha::ChaCha8Rng {
        exercises::rng(self.seed, salt)
    }
}

/// One line of the observations file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub check: String,
    #[serde(flatten)]
    pub observed: Observed,
    pub duration_ms: u64,
}

/// What running one observer gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Observed {
    /// The observer finished and recorded this value.
    Value { value: serde_json::Value },
    /// The observer stopped on an error (usually one the exercise returned).
    Error { message: String },
    /// The exercise reached a `todo!()`.
    NotImplemented { message: String },
    /// The exercise panicked, or libtorch raised an error.
    Panicked { message: String },
    /// Test mode only: the check ran past its limit.
    TimedOut { after_s: u64 },
}

type ObserveFn = Box<dyn FnOnce(&Ctx) -> anyhow::Result<serde_json::Value> + Send + 'static>;

/// A named observer; its name matches one check of the exercise's judge.
pub struct Observer {
    name: &'static str,
    run: ObserveFn,
}

/// Builds an observer whose value the judge reads back as a `T`.
pub fn observe<T: Serialize + 'static>(
    name: &'static str,
    body: impl FnOnce(&Ctx) -> anyhow::Result<T> + Send + 'static,
) -> Observer {
    Observer {
        name,
        run: Box::new(move |ctx| {
            let value = body(ctx)?;
            Ok(serde_json::to_value(value)?)
        }),
    }
}

fn panic_messages() -> &'static Mutex<HashMap<ThreadId, String>> {
    static MESSAGES: OnceLock<Mutex<HashMap<ThreadId, String>>> = OnceLock::new();
    MESSAGES.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Records each panic's message and location for its thread instead of printing it
/// (printing could block on a lock the student's code holds).
fn install_panic_recorder() {
    panic::set_hook(Box::new(|info| {
        let located = match info.location() {
            Some(loc) => format!(
                "{}\n  (at {}:{})",
                payload_text(info.payload()),
                crate::io::fsutil::display_source_path(loc.file()),
                loc.line()
            ),
            None => payload_text(info.payload()),
        };
        if let Ok(mut map) = panic_messages().lock() {
            map.insert(std::thread::current().id(), located);
        }
    }));
}

/// The text of a panic's payload.
pub fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic with a non-text payload".to_string())
}

/// Sorts a panic message: `todo!()`/`unimplemented!()` mean not implemented.
pub fn is_todo(message: &str) -> bool {
    message.starts_with("not yet implemented") || message.starts_with("not implemented")
}

/// Runs `f` (a call into the exercise) and returns its panic's message as an error, so
/// an observer can record a failure as data the judge reads (e.g. the text of a
/// libtorch error, which the judge may translate). A `todo!()` is not caught: it
/// still ends the observer as "not implemented".
pub fn attempt<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => Ok(value),
        Err(payload) => {
            let message = payload_text(payload.as_ref());
            if is_todo(&message) {
                panic::resume_unwind(payload)
            }
            Err(judge::short_error(&message))
        }
    }
}

/// Runs one observer on a thread with a large stack and sorts its ending.
fn run_observer(body: ObserveFn, ctx: Ctx) -> Observed {
    let run = move || match panic::catch_unwind(AssertUnwindSafe(|| body(&ctx))) {
        Ok(Ok(value)) => Observed::Value { value },
        Ok(Err(e)) => Observed::Error {
            message: judge::short_error(&format!("{e:#}")),
        },
        Err(_) => {
            let id = std::thread::current().id();
            let message = panic_messages()
                .lock()
                .ok()
                .and_then(|mut m| m.remove(&id))
                .unwrap_or_default();
            if is_todo(&message) {
                Observed::NotImplemented { message }
            } else {
                Observed::Panicked {
                    message: judge::short_error(&message),
                }
            }
        }
    };
    match std::thread::Builder::new().stack_size(64 << 20).spawn(run) {
        Ok(handle) => handle.join().unwrap_or(Observed::Panicked {
            message: "the check's thread ended without a result".into(),
        }),
        Err(e) => Observed::Panicked {
            message: format!("could not start the check's thread: {e}"),
        },
    }
}

/// Runs one observer in test mode, giving up after `limit`.
fn run_observer_limited(body: ObserveFn, ctx: Ctx, limit: Duration) -> Observed {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(run_observer(body, ctx));
    });
    rx.recv_timeout(limit).unwrap_or(Observed::TimedOut {
        after_s: limit.as_secs(),
    })
}

/// The seed of this run: `SE05_SEED` when set, else a fresh random one.
pub fn seed_from_env() -> u64 {
    std::env::var(SEED_ENV)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(rand::random)
}

/// Runs the observers of exercise `number`: in observe mode when the checker asked
/// for it, else as libtest trials that also judge. Never returns.
pub fn main(number: u32, observers: Vec<Observer>) -> ! {
    install_panic_recorder();
    if std::env::var(OBSERVE_ENV).as_deref() == Ok("1") {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        match serde_json::from_str::<RunTerms>(&line) {
            Ok(terms) => observe_mode(observers, terms),
            Err(e) => {
                eprintln!("observe mode needs the run's terms on standard input: {e}");
                std::process::exit(3);
            }
        }
    }
    let ctx = Ctx {
        seed: seed_from_env(),
    };
    test_mode(number, ctx, observers)
}

fn observe_mode(observers: Vec<Observer>, terms: RunTerms) -> ! {
    let ctx = Ctx { seed: terms.seed };
    let Some(key) = key_bytes(&terms.key) else {
        eprintln!("observe mode: the key is not hexadecimal");
        std::process::exit(3);
    };
    let path = &terms.observe_to;
    let mut file = match std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        Ok(f) => f,
        Err(e) => {
            eprintln!("cannot open {}: {e}", path.display());
            std::process::exit(3);
        }
    };
    for Observer { name, run } in observers {
        let start = Instant::now();
        let observed = run_observer(run, ctx);
        let line = Observation {
            check: name.to_string(),
            observed,
            duration_ms: start.elapsed().as_millis() as u64,
        };
        if let Ok(json) = serde_json::to_string(&line) {
            // One write per line, so a line is never interleaved with another.
            let signed = format!("{} {json}\n", sign(&key, &json));
            let _ = file.write_all(signed.as_bytes());
            let _ = file.flush();
        }
    }
    // Other threads of the exercise may still run; the observations are complete.
    std::process::exit(0)
}

fn test_mode(number: u32, ctx: Ctx, observers: Vec<Observer>) -> ! {
    let specs = exercises::specs(number)
        .unwrap_or_else(|| panic!("exercise {number} has no judge in se05::grading::exercises"));
    let names: Vec<&str> = observers.iter().map(|o| o.name).collect();
    let expected: Vec<&str> = specs.iter().map(|s| s.name).collect();
    assert_eq!(
        names, expected,
        "the observers of exercise {number} must match its judge's checks, in order"
    );
    let limit = std::env::var(TIMEOUT_ENV)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or_else(|| {
            Duration::from_secs(crate::grading::registry::get(number).map_or(60, |e| e.timeout_s))
        });
    eprintln!(
        "exercise {number}: seed {} (replay with {SEED_ENV}={})",
        ctx.seed, ctx.seed
    );
    let judge_ctx = std::sync::Arc::new(JudgeCtx::for_tests(ctx.seed));
    let specs = std::sync::Arc::new(specs);
    let trials = observers
        .into_iter()
        .enumerate()
        .map(|(index, Observer { name, run })| {
            let specs = specs.clone();
            let judge_ctx = judge_ctx.clone();
            libtest_mimic::Trial::test(name, move || {
                let observed = run_observer_limited(run, ctx, limit);
                let spec = &specs[index];
                let observation = Observation {
                    check: name.to_string(),
                    observed,
                    duration_ms: 0,
                };
                let (status, message) = judge::decide(spec, Some(&observation), &judge_ctx, "");
                match status {
                    Status::Passed => Ok(()),
                    _ => Err(format!(
                        "{}: {message}\nhint: {}\n(seed {}; replay with {SEED_ENV}={})",
                        status.label(),
                        spec.hint,
                        ctx.seed,
                        ctx.seed
                    )
                    .into()),
                }
            })
        })
        .collect();
    let mut args = libtest_mimic::Arguments::from_args();
    // Checks share libtorch's global RNG; one at a time keeps each reproducible.
    args.test_threads = Some(1);
    libtest_mimic::run(&args, trials).exit()
}

/// Declares a check target's hidden observers (`checks/<file>`, compiled with the
/// `hidden-checks` feature only, left out of the student release) and `with_hidden`,
/// which puts them after the visible ones, the order of the judge's checks.
#[macro_export]
macro_rules! hidden_observers {
    ($file:literal) => {
        #[cfg(feature = "hidden-checks")]
        #[path = $file]
        mod hidden;

        /// The visible observers, then the hidden ones when this build has them.
        #[allow(unused_mut)]
        fn with_hidden(
            mut observers: Vec<$crate::grading::observe::Observer>,
        ) -> Vec<$crate::grading::observe::Observer> {
            #[cfg(feature = "hidden-checks")]
            observers.extend(hidden::observers());
            observers
        }
    };
}
