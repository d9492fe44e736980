//! Summaries of a model that checks compare: its parameter table, its parameter
//! counts, and a numeric fingerprint of an output tensor.
//!
//! The table plays the part of PyTorch's `named_parameters()`/`named_buffers()`:
//! names come from the `nn::Path` each layer was created under, so the student's
//! module must name its layers exactly as the notebook does for the reference's
//! pretrained weights and snapshots to line up.
use std::cmp::Ordering;
use tch::{nn::VarStore, Kind, Tensor};

/// Orders `conv.10.weight` after `conv.9.weight`, as PyTorch lists modules.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let mut left = a.split('.');
    let mut right = b.split('.');
    loop {
        match (left.next(), right.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let order = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(i), Ok(j)) => i.cmp(&j),
                    _ => x.cmp(y),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

/// One variable of a VarStore.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamRow {
    pub name: String,
    pub shape: Vec<i64>,
    pub trainable: bool,
}

/// Every variable of the store, sorted naturally by name.
pub fn param_rows(vs: &VarStore) -> Vec<ParamRow> {
    let mut rows: Vec<ParamRow> = vs
        .variables()
        .into_iter()
        .map(|(name, t)| ParamRow {
            shape: t.size(),
            trainable: t.requires_grad(),
            name,
        })
        .collect();
    rows.sort_by(|a, b| natural_cmp(&a.name, &b.name));
    rows
}

/// Total number of elements in trainable variables (PyTorch's
/// `sum(p.numel() for p in model.parameters() if p.requires_grad)`).
pub fn count_trainable(vs: &VarStore) -> i64 {
    param_rows(vs)
        .iter()
        .filter(|r| r.trainable)
        .map(|r| r.shape.iter().product::<i64>())
        .sum()
}

/// Total number of elements in every variable, buffers included.
pub fn count_all(vs: &VarStore) -> i64 {
    param_rows(vs)
        .iter()
        .map(|r| r.shape.iter().product::<i64>())
        .sum()
}

/// Groups digits by thousands: 31043521 → "31,043,521".
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// A fixed-width text table: one line per variable, then the totals.
pub fn param_table(vs: &VarStore) -> String {
    let rows = param_rows(vs);
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    let mut out = String::new();
    for r in &rows {
        let kind = if r.trainable { "parameter" } else { "buffer" };
        out.push_str(&format!(
            "{:<width$}  {:<18}  {}\n",
            r.name,
            format!("{:?}", r.shape),
            kind
        ));
    }
    out.push_str(&format!(
        "trainable parameters: {}\n",
        thousands(count_trainable(vs))
    ));
    out
}

/// Overwrites every variable with deterministic values that depend only on its name
/// and shape, so two modules with the same parameter table compute the same function
/// whatever order their layers were created in. Values are in the ranges PyTorch's
/// initialisation produces, and BatchNorm statistics are made non-trivial.
pub fn fill_deterministic(vs: &VarStore, seed: i64) {
    let _guard = tch::no_grad_guard();
    for row in param_rows(vs) {
        let var = &vs.variables()[&row.name];
        let name_hash = row
            .name
            .bytes()
            .fold(seed as u64 ^ 0xcbf2_9ce4_8422_2325, |h, b| {
                (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
            });
        tch::manual_seed((name_hash >> 1) as i64);
        let u = Tensor::rand(row.shape.as_slice(), (Kind::Float, var.device()));
        let values = if row.name.ends_with("running_var") {
            u * 1.0 + 0.5
        } else if row.shape.len() >= 2 {
            let fan_in = row.shape.iter().skip(1).product::<i64>().max(1) as f64;
            (u * 2.0 - 1.0) / fan_in.sqrt()
        } else if row.name.ends_with("weight") {
            u * 0.5 + 0.75
        } else {
            (u - 0.5) * 0.2
        };
        let mut var = var.shallow_clone();
        var.copy_(&values.to_kind(var.kind()));
    }
}

/// A short numeric description of a tensor: shape, sum, mean of absolute values,
/// standard deviation, and eight values at fixed positions. Used in snapshots so a
/// student's output is compared with the reference's numerically.
pub fn fingerprint(t: &Tensor) -> String {
    let t = t.detach().to_kind(Kind::Double).to_device(tch::Device::Cpu);
    let flat = t.flatten(0, -1);
    let n = flat.size()[0];
    let mut samples = Vec::new();
    for k in 0..8i64 {
        if n > 0 {
            let idx = (k * 7919 + 13) % n;
            samples.push(format!("{:.6e}", flat.double_value(&[idx])));
        }
    }
    let std = if n > 1 {
        flat.std(true).double_value(&[])
    } else {
        0.0
    };
    format!(
        "shape {:?}\nsum {:.6e}\nmean_abs {:.6e}\nstd {:.6e}\nsamples {}\n",
        t.size(),
        flat.sum(Kind::Double).double_value(&[]),
        flat.abs().mean(Kind::Double).double_value(&[]),
        std,
        samples.join(" ")
    )
}

/// Compares two fingerprints (or any texts whose numbers should agree): the words
/// must be equal, and numbers equal within `rel` relative or `abs` absolute error.
/// Returns a description of the first difference.
pub fn compare_numeric_text(
    expected: &str,
    actual: &str,
    rel: f64,
    abs: f64,
) -> Result<(), String> {
    let exp_lines: Vec<&str> = expected.lines().collect();
    let act_lines: Vec<&str> = actual.lines().collect();
    if exp_lines.len() != act_lines.len() {
        return Err(format!(
            "expected {} lines, got {}:\n{}",
            exp_lines.len(),
            act_lines.len(),
            actual
        ));
    }
    for (e_line, a_line) in exp_lines.iter().zip(&act_lines) {
        let e_words: Vec<&str> = e_line.split_whitespace().collect();
        let a_words: Vec<&str> = a_line.split_whitespace().collect();
        let same = e_words.len() == a_words.len()
            && e_words.iter().zip(&a_words).all(|(e, a)| {
                match (e.parse::<f64>(), a.parse::<f64>()) {
                    (Ok(x), Ok(y)) => (x - y).abs() <= abs + rel * x.abs().max(y.abs()),
                    _ => e == a,
                }
            });
        if !same {
            return Err(format!("expected `{e_line}`\n     got `{a_line}`"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn natural_order_puts_ten_after_nine() {
        let mut names = vec!["a.10.w", "a.9.w", "a.1.w", "b", "a.1.b"];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(names, vec!["a.1.b", "a.1.w", "a.9.w", "a.10.w", "b"]);
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(31043521), "31,043,521");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(-1000), "-1,000");
    }

    #[test]
    fn fill_is_independent_of_creation_order() {
        let a = VarStore::new(Device::Cpu);
        let _ = crate::layers::conv2d(a.root() / "x", 2, 3, 3, 1);
        let _ = crate::layers::conv2d(a.root() / "y", 3, 3, 3, 1);
        let b = VarStore::new(Device::Cpu);
        let _ = crate::layers::conv2d(b.root() / "y", 3, 3, 3, 1);
        let _ = crate::layers::conv2d(b.root() / "x", 2, 3, 3, 1);
        fill_deterministic(&a, 1);
        fill_deterministic(&b, 1);
        for name in ["x.weight", "y.bias"] {
            assert!(
                a.variables()[name].equal(&b.variables()[name]),
                "{name} differs"
            );
        }
        assert_eq!(count_trainable(&a), 2 * 3 * 9 + 3 + 3 * 3 * 9 + 3);
    }

    #[test]
    fn numeric_comparison_tolerates_rounding_but_not_changes() {
        let e = "sum 1.000000e0\nshape [1, 2]\n";
        assert!(compare_numeric_text(e, "sum 1.0000001e0\nshape [1, 2]\n", 1e-4, 0.0).is_ok());
        assert!(compare_numeric_text(e, "sum 1.1e0\nshape [1, 2]\n", 1e-4, 0.0).is_err());
        assert!(compare_numeric_text(e, "sum 1.0e0\nshape [1, 3]\n", 1e-4, 0.0).is_err());
    }
}
