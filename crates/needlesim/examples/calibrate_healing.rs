//! Calibration of the healing model: which case fits which parameter.
//!
//! Each calibrated parameter is fitted, in order, by bisection on its logarithm so that the
//! model reproduces one published value (the others held at their current values). The fitted
//! values are printed; they are copied into `crates/needlesim/src/params/healing.rs` by hand, and
//! `needlesim validate` then shows every case (calibration and prediction).
//!
//! The downtime clock is anchored on V14 directly (`erythema_reference_downtime` = its 3.0 d,
//! `erythema_reference_dose` = the injury dose of its set-up), and the PIH hazard is a joint
//! binomial fit on several cohorts (`scripts/fit_pih.py`), so neither is fitted here.
//!
//! Run: `scripts/calibrate_healing.sh` (= `cargo run --release -p needlesim --example
//! calibrate_healing`).

use std::path::Path;

use needlesim::healing::HealingParams;
use needlesim::input::{self, scenario::ScenarioFile};
use needlesim::pipeline::PuncturesRun;
use needlesim::scenario::Scenario;
use needlesim::validate;
use needlesim::validate::healing::evaluate_prepared;

struct Target {
    file: &'static str,
    param: &'static str,
    lo: f64,
    hi: f64,
    /// true if the metric rises with the parameter.
    increasing: bool,
}

fn load(file: &str) -> Result<(validate::Case, Scenario, PuncturesRun), String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../validation/biology")
        .join(file);
    let case = validate::load_case(&path).map_err(|e| e.to_string())?;
    let sc = case
        .inputs
        .get("scenario")
        .cloned()
        .ok_or("no inputs.scenario")?;
    let raw: ScenarioFile = sc.try_into().map_err(|e: toml::de::Error| e.to_string())?;
    let s = input::validate(&raw, file).map_err(|e| e.to_string())?;
    let punct = needlesim::study::pipeline::punctures(
        &s,
        &needlesim::progress::silent,
        &mut needlesim::timings::Timings::default(),
    )
    .map_err(|e| e.to_string())?;
    Ok((case, s, punct))
}

fn main() {
    let targets = [
        Target {
            file: "V08_papillary_collagen.toml",
            param: "collagen_output_activated",
            lo: 1.0,
            hi: 500.0,
            increasing: true,
        },
        Target {
            file: "V08_epidermis.toml",
            param: "epidermis_matrix_coupling",
            lo: 0.01,
            hi: 10.0,
            increasing: true,
        },
        Target {
            file: "V02_acne_score.toml",
            param: "scar_score_gain",
            lo: 0.01,
            hi: 50.0,
            increasing: true,
        },
    ];
    let mut p = HealingParams::default();
    println!(
        "{:<28} {:<30} {:>10} {:>10} {:>12}",
        "case file", "parameter", "published", "simulated", "fitted value"
    );
    for t in &targets {
        let (case, s, punct) = match load(t.file) {
            Ok(x) => x,
            Err(e) => {
                eprintln!("{}: {e}", t.file);
                std::process::exit(2);
            }
        };
        let day = case
            .inputs
            .get("day")
            .and_then(|v| v.as_float().or(v.as_integer().map(|i| i as f64)))
            .unwrap_or(0.0);
        let eval = |p: &HealingParams| {
            evaluate_prepared(&case.metric, &s, &punct, day, p).unwrap_or(f64::NAN)
        };
        let (mut a, mut b) = (t.lo.ln(), t.hi.ln());
        for _ in 0..40 {
            let m = 0.5 * (a + b);
            let mut q = p.clone();
            if let Some(v) = q.get_mut(t.param) {
                *v = m.exp();
            }
            let y = eval(&q);
            if (y < case.expected) == t.increasing {
                a = m;
            } else {
                b = m;
            }
        }
        let v = (0.5 * (a + b)).exp();
        if let Some(x) = p.get_mut(t.param) {
            *x = v;
        }
        println!(
            "{:<28} {:<30} {:>10.3} {:>10.3} {:>12.5}",
            t.file,
            t.param,
            case.expected,
            eval(&p),
            v
        );
    }
}
