//! `oxmq bench --save-baseline FILE.json` / `--compare FILE.json --tolerance PCT`: oxmq's
//! figures of a run (medians) saved as JSON, and a later run checked against them.
//!
//! The file: `{"oxmq_bench_baseline": 1, "figures": {"thr tcp 64 B msg/s":
//! {"value": 7790000.0, "higher_is_better": true}, ...}}`. Figures are named by workload and
//! measure, so a run with other workloads compares only what both have.

use serde_json::{Map, Value, json};
use std::fmt::Write as _;
use std::path::Path;

/// One figure of oxmq's.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub name: String,
    pub value: f64,
    pub higher_is_better: bool,
}

const FORMAT_KEY: &str = "oxmq_bench_baseline";

pub fn to_json(figures: &[Figure]) -> String {
    let mut map = Map::new();
    for f in figures {
        map.insert(f.name.clone(), json!({ "value": f.value, "higher_is_better": f.higher_is_better }));
    }
    let doc = json!({ FORMAT_KEY: 1, "figures": Value::Object(map) });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

pub fn from_json(text: &str) -> Result<Vec<Figure>, String> {
    let doc: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    if doc.get(FORMAT_KEY).and_then(Value::as_u64) != Some(1) {
        return Err(format!("not an oxmq bench baseline (no \"{FORMAT_KEY}\": 1)"));
    }
    let figures = doc.get("figures").and_then(Value::as_object).ok_or("no \"figures\" object")?;
    figures
        .iter()
        .map(|(name, f)| {
            let value = f.get("value").and_then(Value::as_f64).ok_or_else(|| format!("{name}: no number \"value\""))?;
            let higher_is_better = f
                .get("higher_is_better")
                .and_then(Value::as_bool)
                .ok_or_else(|| format!("{name}: no boolean \"higher_is_better\""))?;
            Ok(Figure { name: name.clone(), value, higher_is_better })
        })
        .collect()
}

pub fn save(path: &Path, figures: &[Figure]) -> Result<(), String> {
    std::fs::write(path, to_json(figures)).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

pub fn load(path: &Path) -> Result<Vec<Figure>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The change of `now` against `base` in percent, positive when worse.
pub fn worse_by(base: &Figure, now: f64) -> f64 {
    if base.value == 0.0 {
        return 0.0;
    }
    let change = (now - base.value) / base.value * 100.0;
    if base.higher_is_better { -change } else { change }
}

pub struct Comparison {
    /// Figures worse than the baseline by more than the tolerance.
    pub regressions: usize,
    /// A markdown section listing every figure.
    pub report: String,
}

pub fn compare(base: &[Figure], now: &[Figure], tolerance: f64) -> Comparison {
    let mut report = String::new();
    let _ = writeln!(report, "\n## Against the baseline (tolerance {tolerance}%)\n");
    let _ = writeln!(report, "| figure | baseline | this run | worse by | verdict |");
    let _ = writeln!(report, "|---|---:|---:|---:|---|");
    let mut regressions = 0;
    for f in now {
        let Some(b) = base.iter().find(|b| b.name == f.name) else {
            let _ = writeln!(report, "| {} | – | {} | – | not in the baseline |", f.name, num(f.value));
            continue;
        };
        let worse = worse_by(b, f.value);
        let verdict = if worse > tolerance {
            regressions += 1;
            "**REGRESSION**"
        } else if worse < -tolerance {
            "better"
        } else {
            "ok"
        };
        let _ = writeln!(report, "| {} | {} | {} | {worse:+.1}% | {verdict} |", f.name, num(b.value), num(f.value));
    }
    for b in base.iter().filter(|b| !now.iter().any(|f| f.name == b.name)) {
        let _ = writeln!(report, "| {} | {} | – | – | not measured in this run |", b.name, num(b.value));
    }
    let _ = writeln!(
        report,
        "\n{regressions} figure(s) worse than the baseline by more than {tolerance}%{}",
        if regressions > 0 { " (exit status 3)" } else { "" }
    );
    Comparison { regressions, report }
}

fn num(v: f64) -> String {
    if v.abs() >= 1000.0 { format!("{v:.0}") } else { format!("{v:.3}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fig(name: &str, value: f64, higher_is_better: bool) -> Figure {
        Figure { name: name.into(), value, higher_is_better }
    }

    #[test]
    fn json_round_trip() {
        let figs = vec![fig("thr tcp 64 B msg/s", 7.79e6, true), fig("lat tcp 64 B us", 8.19, false)];
        let back = from_json(&to_json(&figs)).unwrap();
        assert_eq!(back.len(), 2);
        for f in &figs {
            assert!(back.contains(f), "{f:?} missing from {back:?}");
        }
    }

    #[test]
    fn json_errors_are_explained() {
        assert!(from_json("nope").unwrap_err().contains("not JSON"));
        assert!(from_json("{}").unwrap_err().contains("not an oxmq bench baseline"));
        let e = from_json(r#"{"oxmq_bench_baseline": 1, "figures": {"x": {"value": "1"}}}"#).unwrap_err();
        assert!(e.contains("x: no number"), "{e}");
    }

    #[test]
    fn worse_depends_on_direction() {
        assert_eq!(worse_by(&fig("a", 100.0, true), 80.0), 20.0);
        assert_eq!(worse_by(&fig("a", 100.0, true), 120.0), -20.0);
        assert_eq!(worse_by(&fig("a", 10.0, false), 12.0), 20.0);
        assert_eq!(worse_by(&fig("a", 10.0, false), 9.0), -10.0);
    }

    #[test]
    fn compare_counts_only_regressions_beyond_tolerance() {
        let base = vec![fig("rate", 100.0, true), fig("lat", 10.0, false), fig("gone", 1.0, true)];
        let now = vec![fig("rate", 91.0, true), fig("lat", 11.5, false), fig("new", 5.0, true)];
        let c = compare(&base, &now, 10.0);
        assert_eq!(c.regressions, 1, "{}", c.report);
        assert!(c.report.contains("| lat | 10.000 | 11.500 | +15.0% | **REGRESSION** |"), "{}", c.report);
        assert!(c.report.contains("| rate | 100.000 | 91.000 | +9.0% | ok |"), "{}", c.report);
        assert!(c.report.contains("| new | – | 5.000 | – | not in the baseline |"), "{}", c.report);
        assert!(c.report.contains("| gone | 1.000 | – | – | not measured in this run |"), "{}", c.report);
        assert_eq!(compare(&base, &now, 20.0).regressions, 0);
    }
}
