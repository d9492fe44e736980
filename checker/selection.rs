//! Parses which exercises to grade: `6`, `6-9`, `6 8 10`, `6,8`, `all`.
use se05::grading::registry::{self, EXERCISES};

/// The exercise numbers named by `args`, ascending and without repeats.
pub fn parse(args: &[String]) -> Result<Vec<u32>, String> {
    let mut out = Vec::new();
    for arg in args
        .iter()
        .flat_map(|a| a.split(','))
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        if arg.eq_ignore_ascii_case("all") {
            out.extend(EXERCISES.iter().map(|e| e.number));
            continue;
        }
        let (lo, hi) = match arg.split_once('-') {
            Some((a, b)) => (number(a, arg)?, number(b, arg)?),
            None => {
                let n = number(arg, arg)?;
                (n, n)
            }
        };
        if lo > hi {
            return Err(format!(
                "`{arg}` is an empty range: write the smaller number first, e.g. {hi}-{lo}"
            ));
        }
        let mut found = false;
        for n in lo..=hi {
            if registry::get(n).is_some() {
                out.push(n);
                found = true;
            } else if lo == hi {
                return Err(format!("there is no exercise {n}; {}", available()));
            }
        }
        if !found {
            return Err(format!("no exercise in {arg}; {}", available()));
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

fn number(text: &str, whole: &str) -> Result<u32, String> {
    text.trim().parse::<u32>().map_err(|_| {
        format!("`{whole}` is not an exercise number or range (examples: 6, 6-9, all)")
    })
}

fn available() -> String {
    let numbers: Vec<String> = EXERCISES.iter().map(|e| e.number.to_string()).collect();
    format!(
        "the exercises are {} (see `checker --list`)",
        numbers.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(args: &[&str]) -> Result<Vec<u32>, String> {
        parse(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn singles_ranges_lists_and_all() {
        assert_eq!(s(&["6"]).unwrap(), vec![6]);
        assert_eq!(s(&["6-9"]).unwrap(), vec![6, 7, 8, 9]);
        assert_eq!(s(&["10", "6", "8"]).unwrap(), vec![6, 8, 10]);
        assert_eq!(s(&["6,8"]).unwrap(), vec![6, 8]);
        assert_eq!(
            s(&["all"]).unwrap(),
            EXERCISES.iter().map(|e| e.number).collect::<Vec<_>>()
        );
    }

    #[test]
    fn bad_input_is_explained() {
        assert!(s(&["99"]).unwrap_err().contains("no exercise 99"));
        assert!(s(&["x"]).unwrap_err().contains("not an exercise number"));
        assert!(s(&["9-6"]).unwrap_err().contains("empty range"));
    }
}
