//! The hair cases (validation/hair/) evaluated with the registry's values or with trial values
//! of the `hair` parameters: the model end of the joint fit in `tools/fit_hair.py`
//! (docs/MODEL.md, Hair, "Calibration"). Run from the repository root:
//!
//! * `cargo run -p needlesim --example calibrate_hair`: every hair case with the registry values
//!   (id, value, expected, band, role);
//! * `... -- --serve`: reads lines of `group.name=value` pairs (space separated) on stdin and
//!   answers each with one JSON line `{"case id": value, ...}` (null where a case cannot be
//!   evaluated, with the reason under `"errors"`). The fit script drives this.

use std::io::{BufRead, Write};

use needlesim::params::ModelParams;
use needlesim::validate;

fn cases() -> Vec<validate::Case> {
    let mut files: Vec<_> = std::fs::read_dir("validation/hair")
        .expect("run from the repository root")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("H-"))
        })
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| validate::load_case(f).unwrap_or_else(|e| panic!("{}: {e}", f.display())))
        .collect()
}

fn main() {
    let cases = cases();
    if std::env::args().any(|a| a == "--serve") {
        let stdin = std::io::stdin();
        let mut out = std::io::stdout().lock();
        for line in stdin.lock().lines() {
            let line = line.expect("stdin");
            let mut mp = ModelParams::default();
            let mut values = serde_json::Map::new();
            let mut errors = serde_json::Map::new();
            let mut ok = true;
            for pair in line.split_whitespace() {
                let (name, v) = pair.split_once('=').expect("name=value");
                let v: f64 = v.parse().expect("a number");
                if let Err(e) = mp.set(name, v) {
                    errors.insert(name.to_string(), e.to_string().into());
                    ok = false;
                }
            }
            if ok {
                for c in &cases {
                    match validate::hair::evaluate_with(&c.metric, &c.inputs, &mp) {
                        Ok(v) if v.is_finite() => {
                            values.insert(c.id.clone(), v.into());
                        }
                        Ok(v) => {
                            values.insert(c.id.clone(), serde_json::Value::Null);
                            errors.insert(c.id.clone(), format!("{v}").into());
                        }
                        Err(e) => {
                            values.insert(c.id.clone(), serde_json::Value::Null);
                            errors.insert(c.id.clone(), e.into());
                        }
                    }
                }
            }
            values.insert("errors".into(), errors.into());
            writeln!(out, "{}", serde_json::Value::Object(values)).unwrap();
            out.flush().unwrap();
        }
        return;
    }
    let mp = ModelParams::default();
    for c in &cases {
        let v = validate::hair::evaluate_with(&c.metric, &c.inputs, &mp);
        println!(
            "{:<20} {:>10.3?} expected {} [{}, {}] {:?}",
            c.id,
            v.ok(),
            c.expected,
            c.low,
            c.high,
            c.role
        );
    }
}
