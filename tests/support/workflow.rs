//! Reading a step of one of this repository's GitHub workflows and running its shell
//! here, as GitHub would (`bash --noprofile --norc -eo pipefail`), for the tests that
//! run the workflows' own steps. The workflows are generated (checker/course.rs,
//! tests/classroom_format.rs) with one `- name:` line per step, `id:`, `env:` and a
//! `run: |` block, which is all this reads.
#![allow(dead_code)]
use std::path::Path;
use std::process::{Command, Output};

/// A step: its `env:` entries (values as written, expressions included) and its
/// `run:` script.
pub struct Step {
    pub env: Vec<(String, String)>,
    pub script: String,
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// The lines under `lines[at]` that are indented deeper than it (blank lines too).
fn block<'a>(lines: &[&'a str], at: usize) -> Vec<&'a str> {
    let own = indent(lines[at]);
    lines[at + 1..]
        .iter()
        .take_while(|l| l.trim().is_empty() || indent(l) > own)
        .copied()
        .collect()
}

/// The step one of whose own lines is `line` (e.g. `- name: Build the checker` by its
/// start, or `id: ex06` exactly).
pub fn step(yaml: &str, line: &str) -> Step {
    let lines: Vec<&str> = yaml.lines().collect();
    let hit = lines
        .iter()
        .position(|l| {
            let t = l.trim_start();
            t == line || (line.starts_with("- name: ") && t.starts_with(line))
        })
        .unwrap_or_else(|| panic!("no step with `{line}`"));
    let start = (0..=hit)
        .rev()
        .find(|&i| lines[i].trim_start().starts_with("- "))
        .unwrap();
    let mut body = vec![lines[start].replacen("- ", "  ", 1)];
    body.extend(block(&lines, start).iter().map(|l| l.to_string()));
    let body: Vec<&str> = body.iter().map(String::as_str).collect();
    let key = |k: &str| body.iter().position(|l| l.trim_start().starts_with(k));
    let env = key("env:")
        .map(|at| block(&body, at))
        .unwrap_or_default()
        .iter()
        .filter_map(|l| l.trim().split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let run = key("run: |").map(|at| block(&body, at)).unwrap_or_default();
    let cut = run
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| indent(l))
        .min()
        .unwrap_or(0);
    let script: Vec<&str> = run.iter().map(|l| l.get(cut..).unwrap_or("")).collect();
    Step {
        env,
        script: script.join("\n") + "\n",
    }
}

impl Step {
    /// Runs the script in `cwd` with `env` (name, value) set on top of this process's
    /// environment; its `env:` entries must be among them.
    pub fn run(&self, cwd: &Path, env: &[(&str, String)]) -> Output {
        for (name, expression) in &self.env {
            assert!(
                env.iter().any(|(n, _)| n == name),
                "no test value for {name}: {expression}"
            );
        }
        self.command(cwd, env).output().unwrap()
    }

    /// The command [`Step::run`] runs, to start it some other way.
    pub fn command(&self, cwd: &Path, env: &[(&str, String)]) -> Command {
        let mut cmd = Command::new("bash");
        cmd.args([
            "--noprofile",
            "--norc",
            "-eo",
            "pipefail",
            "-c",
            &self.script,
        ])
        .current_dir(cwd);
        for (name, value) in env {
            cmd.env(name, value);
        }
        cmd
    }
}

/// Asserts that a step's run succeeded, showing its script and output if not.
pub fn succeeded(step: &Step, out: &Output) {
    assert!(
        out.status.success(),
        "step failed:\n{}\nstdout:\n{}\nstderr:\n{}",
        step.script,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
