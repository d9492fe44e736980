//! Resumable HTTP(S) download of one file, with optional size and SHA-256 checks.
//!
//! Used by `checker data fetch isic2016` (the ISIC 2016 archives) and
//! `checker weights fetch` (torchvision's EfficientNet-B0 weights).
//!
//! How a download proceeds:
//! 1. If `dest` already exists and passes the checks given in [`DownloadOptions`]
//!    (or no check was given), nothing is fetched: `already_present` is set.
//! 2. Bytes go into `<dest>.part`. A `.part` left by an earlier run is resumed with an
//!    HTTP `Range` request. A `206 Partial Content` reply appends; a `200 OK` reply
//!    (the server ignored the range) restarts from byte 0; `416 Range Not Satisfiable`
//!    means the `.part` is already complete (when its size equals the file's) or stale
//!    (then it is discarded and fetched again).
//! 3. A transfer that breaks off (connection reset, timeout, short body, 5xx reply)
//!    is retried, resuming from what arrived, up to `max_retries` times in a row. An
//!    attempt that received data before failing starts the count afresh, so a slow but
//!    moving connection gets there in the end.
//! 4. The finished `.part` is checked against `expected_size` and `sha256_prefix`; on a
//!    mismatch it is deleted and the error says what was expected and what arrived.
//! 5. The `.part` is flushed to disk and renamed over `dest` (atomic on one file system),
//!    so `dest` is either absent, the old file, or the complete new one.

use std::fs::{self, File, OpenOptions};
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sha2::{Digest, Sha256};

/// How long to wait for a connection to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one read of the body may stall before the attempt counts as failed.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Copy buffer size.
const CHUNK: usize = 256 * 1024;
/// Longest pause between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// What [`download_file`] checks and how it reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadOptions {
    /// Leading hex digits of the file's SHA-256 (any length from 1 to 64, any case).
    /// `None` (or an empty string) skips the hash check.
    pub sha256_prefix: Option<String>,
    /// Exact size in bytes of the complete file; `None` skips the size check.
    pub expected_size: Option<u64>,
    /// Report progress on stderr: a bar when stderr is a terminal, otherwise a few plain
    /// lines. `false` keeps the download silent.
    pub show_progress: bool,
    /// How many times in a row a failed attempt is retried (each retry resumes).
    /// `0` means a single attempt.
    pub max_retries: u32,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        DownloadOptions {
            sha256_prefix: None,
            expected_size: None,
            show_progress: true,
            max_retries: 5,
        }
    }
}

/// What [`download_file`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadOutcome {
    /// The finished file (the `dest` that was asked for).
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Bytes of an earlier `.part` that the first request resumed from (0 if none).
    pub resumed_from: u64,
    /// `dest` was already there and passed the checks; nothing was fetched.
    pub already_present: bool,
}

/// Lowercase hex SHA-256 of a file's contents.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file =
        File::open(path).with_context(|| format!("cannot open {} to hash it", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        hasher.update(&buf[..n]);
    }
    Ok(to_hex(&hasher.finalize()))
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `<dest>.part`: the file name with `.part` appended, in the same folder.
fn part_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    dest.with_file_name(name)
}

fn display_name(dest: &Path) -> String {
    dest.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dest.display().to_string())
}

/// The hash prefix to check, normalised to lowercase, or `None` when there is none.
fn wanted_prefix(opts: &DownloadOptions) -> Result<Option<String>> {
    let Some(prefix) = opts.sha256_prefix.as_deref().map(str::trim) else {
        return Ok(None);
    };
    if prefix.is_empty() {
        return Ok(None);
    }
    if prefix.len() > 64 || !prefix.chars().all(|c| c.is_ascii_hexdigit()) {
        bail!(
            "invalid sha256 prefix {prefix:?}: expected 1 to 64 hexadecimal digits \
             (this is a bug in the caller, not in your download)"
        );
    }
    Ok(Some(prefix.to_ascii_lowercase()))
}

/// Does the file at `path` satisfy the size and hash checks? (`Ok(None)` = yes.)
/// Otherwise returns a description of the first mismatch.
fn check_file(path: &Path, opts: &DownloadOptions, prefix: Option<&str>) -> Result<Option<String>> {
    let size = fs::metadata(path)
        .with_context(|| format!("cannot read the size of {}", path.display()))?
        .len();
    if let Some(expected) = opts.expected_size {
        if size != expected {
            return Ok(Some(format!(
                "size mismatch: expected {expected} bytes, got {size} bytes"
            )));
        }
    }
    if let Some(prefix) = prefix {
        let actual = sha256_file(path)?;
        if !actual.starts_with(prefix) {
            return Ok(Some(format!(
                "SHA-256 mismatch: expected a hash starting with {prefix}, got {actual}"
            )));
        }
    }
    Ok(None)
}

/// Download `url` to `dest`, resuming, retrying and verifying as described in the
/// module documentation.
pub fn download_file(url: &str, dest: &Path, opts: &DownloadOptions) -> Result<DownloadOutcome> {
    let prefix = wanted_prefix(opts)?;
    let name = display_name(dest);
    let part = part_path(dest);
    let report = Reporter::new(opts.show_progress, &name);

    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the folder {}", dir.display()))?;
    }

    // 1. A finished file from an earlier run?
    if dest.is_file() {
        match check_file(dest, opts, prefix.as_deref())? {
            None => {
                let bytes = fs::metadata(dest)?.len();
                report.line(&format!(
                    "{name}: already present ({}), skipping",
                    human(bytes)
                ));
                return Ok(DownloadOutcome {
                    path: dest.to_path_buf(),
                    bytes,
                    resumed_from: 0,
                    already_present: true,
                });
            }
            Some(why) => report.line(&format!(
                "{name}: the existing file does not match ({why}); downloading it again"
            )),
        }
    }

    // 2./3. Transfer into the .part file.
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(CONNECT_TIMEOUT)
        .timeout_read(READ_TIMEOUT)
        .user_agent(concat!("se05-workshop/", env!("CARGO_PKG_VERSION")))
        .build();
    let initial_part = fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    let mut resumed_from = None;
    let mut failures = 0u32;
    let mut progress: Option<Progress> = None;
    loop {
        let attempt = transfer_once(&agent, url, &part, opts, &report, &mut progress);
        if resumed_from.is_none() {
            // Recorded after the first request: it tells whether the server honoured it.
            resumed_from = Some(match &attempt {
                Ok(a) => a.resumed_from,
                Err(_) => initial_part,
            });
        }
        match attempt {
            Ok(_) => break,
            Err(AttemptError::Fatal(e)) => {
                if let Some(p) = progress.take() {
                    p.abandon();
                }
                return Err(e);
            }
            Err(AttemptError::Retry {
                error,
                made_progress,
            }) => {
                failures = if made_progress { 1 } else { failures + 1 };
                if failures > opts.max_retries {
                    if let Some(p) = progress.take() {
                        p.abandon();
                    }
                    let kept = fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
                    let advice = if kept > 0 {
                        format!(
                            "the {} received so far are kept in {}; run the same command \
                             again to resume",
                            human(kept),
                            part.display()
                        )
                    } else {
                        "check your network connection (and any proxy), then run the same \
                         command again"
                            .to_string()
                    };
                    return Err(error.context(format!(
                        "downloading {url} failed after {failures} attempt(s) in a row; {advice}"
                    )));
                }
                let pause = backoff(failures);
                report.note(
                    progress.as_ref(),
                    &format!(
                        "{name}: transfer interrupted ({error:#}); retrying in {:.1} s \
                         (retry {failures} of {})",
                        pause.as_secs_f32(),
                        opts.max_retries
                    ),
                );
                std::thread::sleep(pause);
            }
        }
    }
    if let Some(p) = progress.take() {
        p.finish();
    }

    // 4. Verify.
    if let Some(why) = check_file(&part, opts, prefix.as_deref())? {
        let _ = fs::remove_file(&part);
        bail!(
            "the download of {name} from {url} is not the expected file ({why}); the partial \
             file {} has been deleted. Run the command again to download it afresh; if this \
             happens again, the server is serving a different file than expected (check the \
             URL, or report it to the workshop maintainers)",
            part.display()
        );
    }

    // 5. Move into place.
    let bytes = fs::metadata(&part)?.len();
    File::open(&part)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("cannot flush {} to disk", part.display()))?;
    fs::rename(&part, dest).with_context(|| {
        format!(
            "cannot move {} to {} (check the folder's permissions and free space)",
            part.display(),
            dest.display()
        )
    })?;
    report.line(&format!("{name}: done, {}", human(bytes)));
    Ok(DownloadOutcome {
        path: dest.to_path_buf(),
        bytes,
        resumed_from: resumed_from.unwrap_or(0),
        already_present: false,
    })
}

fn backoff(failures: u32) -> Duration {
    let ms = 500u64.saturating_mul(1 << failures.saturating_sub(1).min(10));
    Duration::from_millis(ms).min(MAX_BACKOFF)
}

enum AttemptError {
    /// Worth trying again (network trouble, 5xx, short body).
    Retry {
        error: anyhow::Error,
        made_progress: bool,
    },
    /// Trying again will not help (404, 403, disk errors, ...).
    Fatal(anyhow::Error),
}

fn retry(error: anyhow::Error, made_progress: bool) -> AttemptError {
    AttemptError::Retry {
        error,
        made_progress,
    }
}

struct Attempt {
    resumed_from: u64,
}

/// `Content-Range: bytes START-END/TOTAL` (TOTAL may be `*`) → (START, TOTAL).
fn parse_content_range(value: &str) -> Option<(u64, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    let start = if range.trim() == "*" {
        0
    } else {
        range.split_once('-')?.0.trim().parse().ok()?
    };
    Some((start, total))
}

/// One HTTP request: appends what arrives to `part`. `Ok` means `part` now holds the
/// whole file (as far as the server's lengths tell).
fn transfer_once(
    agent: &ureq::Agent,
    url: &str,
    part: &Path,
    opts: &DownloadOptions,
    report: &Reporter,
    progress: &mut Option<Progress>,
) -> std::result::Result<Attempt, AttemptError> {
    let mut offset = fs::metadata(part).map(|m| m.len()).unwrap_or(0);
    if let Some(expected) = opts.expected_size {
        if offset == expected && offset > 0 {
            // A complete .part from an earlier run: verification decides.
            return Ok(Attempt {
                resumed_from: offset,
            });
        }
        if offset > expected {
            remove_part(part).map_err(AttemptError::Fatal)?;
            offset = 0;
        }
    }

    let mut request = agent.get(url);
    if offset > 0 {
        request = request.set("Range", &format!("bytes={offset}-"));
    }
    let response = match request.call() {
        Ok(r) => r,
        Err(ureq::Error::Status(416, r)) => {
            // Our range starts at or past the end of the file.
            let total = r
                .header("Content-Range")
                .and_then(parse_content_range)
                .and_then(|(_, t)| t);
            if total == Some(offset) {
                return Ok(Attempt {
                    resumed_from: offset,
                });
            }
            remove_part(part).map_err(AttemptError::Fatal)?;
            return Err(retry(
                anyhow::anyhow!(
                    "the server refused to resume from byte {offset} (HTTP 416); starting over"
                ),
                true,
            ));
        }
        Err(ureq::Error::Status(code, r)) => {
            let msg = format!("{url} answered HTTP {code} {}", r.status_text());
            return Err(if code >= 500 || code == 408 || code == 429 {
                retry(anyhow::anyhow!("{msg} (a server-side problem)"), false)
            } else {
                AttemptError::Fatal(anyhow::anyhow!(
                    "{msg}. Check that the URL is right and still served (open it in a \
                     browser); if the file has moved, download it by hand to {}",
                    part.with_extension("").display()
                ))
            });
        }
        Err(ureq::Error::Transport(t)) => {
            return Err(retry(anyhow::anyhow!("network error: {t}"), false))
        }
    };

    let content_length: Option<u64> = response
        .header("Content-Length")
        .and_then(|v| v.trim().parse().ok());
    let (start, total) = match response.status() {
        206 => {
            let Some((start, total)) = response
                .header("Content-Range")
                .and_then(parse_content_range)
            else {
                return Err(retry(
                    anyhow::anyhow!("{url}: 206 reply without a usable Content-Range header"),
                    false,
                ));
            };
            let total = total.or(content_length.map(|l| start + l));
            if start != offset {
                // Not the range we asked for: start over cleanly.
                remove_part(part).map_err(AttemptError::Fatal)?;
                return Err(retry(
                    anyhow::anyhow!(
                        "{url}: asked to resume at byte {offset}, server sent from {start}"
                    ),
                    true,
                ));
            }
            (start, total)
        }
        200 => (0, content_length),
        code => {
            return Err(AttemptError::Fatal(anyhow::anyhow!(
                "{url} answered HTTP {code} {}, which is not a file download; check the URL",
                response.status_text()
            )))
        }
    };
    if let (Some(expected), Some(total)) = (opts.expected_size, total) {
        if expected != total {
            return Err(AttemptError::Fatal(anyhow::anyhow!(
                "{url} is {total} bytes long, but {expected} bytes were expected: the server \
                 serves a different file than expected (check the URL, or report it to the \
                 workshop maintainers)"
            )));
        }
    }

    let mut file = if start == 0 {
        File::create(part)
    } else {
        OpenOptions::new().append(true).open(part)
    }
    .with_context(|| format!("cannot write {}", part.display()))
    .map_err(AttemptError::Fatal)?;

    let bar = progress.get_or_insert_with(|| report.start(total.or(opts.expected_size), start));
    bar.set_total(total.or(opts.expected_size));
    bar.set_position(start);

    let mut reader = response.into_reader();
    let mut buf = vec![0u8; CHUNK];
    let mut written = start;
    let mut received = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let _ = file.flush();
                return Err(retry(
                    anyhow::anyhow!("connection to {url} broke off after {written} bytes: {e}"),
                    received > 0,
                ));
            }
        };
        file.write_all(&buf[..n])
            .with_context(|| format!("cannot write {} (is the disk full?)", part.display()))
            .map_err(AttemptError::Fatal)?;
        written += n as u64;
        received += n as u64;
        bar.set_position(written);
    }
    file.flush()
        .with_context(|| format!("cannot write {}", part.display()))
        .map_err(AttemptError::Fatal)?;
    if let Some(total) = total {
        if written < total {
            return Err(retry(
                anyhow::anyhow!("{url}: the body ended after {written} of {total} bytes"),
                received > 0,
            ));
        }
    }
    Ok(Attempt {
        resumed_from: start,
    })
}

fn remove_part(part: &Path) -> Result<()> {
    match fs::remove_file(part) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot delete {}", part.display())),
    }
}

fn human(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// How progress is shown: nothing, a bar on a terminal, or plain lines otherwise.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Quiet,
    Bar,
    Lines,
}

struct Reporter {
    mode: Mode,
    name: String,
}

impl Reporter {
    fn new(show: bool, name: &str) -> Self {
        let mode = match (show, io::stderr().is_terminal()) {
            (false, _) => Mode::Quiet,
            (true, true) => Mode::Bar,
            (true, false) => Mode::Lines,
        };
        Reporter {
            mode,
            name: name.to_string(),
        }
    }

    fn line(&self, msg: &str) {
        if self.mode != Mode::Quiet {
            eprintln!("{msg}");
        }
    }

    /// A message that must not garble a bar that is being drawn.
    fn note(&self, progress: Option<&Progress>, msg: &str) {
        match (self.mode, progress.and_then(|p| p.bar.as_ref())) {
            (Mode::Quiet, _) => {}
            (_, Some(bar)) => bar.println(msg),
            (_, None) => eprintln!("{msg}"),
        }
    }

    fn start(&self, total: Option<u64>, start: u64) -> Progress {
        let bar = match self.mode {
            Mode::Bar => {
                let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
                let template = if total.is_some() {
                    "{msg} [{bar:30.cyan/blue}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}"
                } else {
                    "{msg} {spinner} {bytes} {binary_bytes_per_sec}"
                };
                let style = ProgressStyle::with_template(template)
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> ");
                bar.set_style(style);
                bar.set_message(self.name.clone());
                bar.set_position(start);
                bar.reset_eta();
                Some(bar)
            }
            _ => None,
        };
        if self.mode == Mode::Lines {
            let size = total.map(human).unwrap_or_else(|| "unknown size".into());
            if start > 0 {
                eprintln!("{}: resuming at {} of {size}", self.name, human(start));
            } else {
                eprintln!("{}: downloading {size}", self.name);
            }
        }
        Progress {
            bar,
            lines: self.mode == Mode::Lines,
            name: self.name.clone(),
            total,
            started: Instant::now(),
            first_pos: start,
            last_step: start_step(start, total),
            pos: start,
        }
    }
}

/// Which quarter (or which 64 MiB block, size unknown) a position lies in.
fn start_step(pos: u64, total: Option<u64>) -> u64 {
    match total {
        Some(t) if t > 0 => pos.saturating_mul(4) / t,
        _ => pos / (64 << 20),
    }
}

struct Progress {
    bar: Option<ProgressBar>,
    lines: bool,
    name: String,
    total: Option<u64>,
    started: Instant,
    first_pos: u64,
    last_step: u64,
    pos: u64,
}

impl Progress {
    fn set_total(&mut self, total: Option<u64>) {
        if total.is_some() && total != self.total {
            self.total = total;
            if let (Some(bar), Some(t)) = (&self.bar, total) {
                bar.set_length(t);
            }
        }
    }

    fn set_position(&mut self, pos: u64) {
        self.pos = pos;
        if let Some(bar) = &self.bar {
            bar.set_position(pos);
        }
        if self.lines {
            let step = start_step(pos, self.total);
            if step > self.last_step {
                self.last_step = step;
                let done = match self.total {
                    Some(t) if t > 0 && pos < t => {
                        format!("{}% ({} of {})", pos * 100 / t, human(pos), human(t))
                    }
                    Some(_) => return, // the "done" line follows
                    None => human(pos),
                };
                eprintln!("{}: {done}, {}", self.name, self.rate());
            }
        }
    }

    fn rate(&self) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        format!(
            "{}/s",
            human(((self.pos - self.first_pos.min(self.pos)) as f64 / secs) as u64)
        )
    }

    fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }

    fn abandon(self) {
        if let Some(bar) = self.bar {
            bar.abandon();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_parsing() {
        assert_eq!(
            parse_content_range("bytes 10-99/100"),
            Some((10, Some(100)))
        );
        assert_eq!(parse_content_range("bytes 0-0/*"), Some((0, None)));
        assert_eq!(parse_content_range("bytes */42"), Some((0, Some(42))));
        assert_eq!(parse_content_range("items 1-2/3"), None);
    }

    #[test]
    fn part_path_appends_suffix() {
        assert_eq!(
            part_path(Path::new("/a/b/file.zip")),
            PathBuf::from("/a/b/file.zip.part")
        );
    }

    #[test]
    fn hash_prefix_is_validated_and_lowercased() {
        let mut o = DownloadOptions {
            sha256_prefix: Some("ABcd".into()),
            ..Default::default()
        };
        assert_eq!(wanted_prefix(&o).unwrap().as_deref(), Some("abcd"));
        o.sha256_prefix = Some("xyz".into());
        assert!(wanted_prefix(&o).is_err());
        o.sha256_prefix = Some(String::new());
        assert_eq!(wanted_prefix(&o).unwrap(), None);
    }
}
