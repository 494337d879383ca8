//! Fits the hair model's calibrated gains (docs/MODEL.md, Hair), one bisection per parameter in
//! the order of the calibration table (each case depends only on the parameters above it), then
//! prints every hair case with the fitted values. Run from the repository root:
//! `cargo run --release -p needlesim --example calibrate_hair`; copy the printed values into
//! `crates/needlesim/src/params/hair.rs` and regenerate docs/parameters.csv
//! (`--example export_parameters`).

use needlesim::params::ModelParams;
use needlesim::validate;

fn case(file: &str) -> validate::Case {
    validate::load_case(std::path::Path::new(&format!("validation/hair/{file}"))).unwrap()
}

/// Bisection in log space of `hair.<name>` so that the case's metric hits `target`.
fn bisect(mp: &mut ModelParams, name: &str, file: &str, target: f64, lo: f64, hi: f64) {
    let c = case(file);
    let path = format!("hair.{name}");
    let f = |mp: &ModelParams| {
        validate::hair::evaluate_with(&c.metric, &c.inputs, mp).expect("case evaluates")
    };
    mp.set(&path, lo).unwrap();
    let f_lo = f(mp) - target;
    mp.set(&path, hi).unwrap();
    let f_hi = f(mp) - target;
    if f_lo.signum() == f_hi.signum() {
        println!("{name}: no root in {lo}-{hi} (f-target {f_lo:.4} / {f_hi:.4}); left at {hi}");
        return;
    }
    let increasing = f_hi > f_lo;
    let (mut a, mut b) = (lo.ln(), hi.ln());
    for _ in 0..40 {
        let m = 0.5 * (a + b);
        mp.set(&path, m.exp()).unwrap();
        if (f(mp) - target > 0.0) == increasing {
            b = m
        } else {
            a = m
        }
    }
    let v = (0.5 * (a + b)).exp();
    mp.set(&path, v).unwrap();
    println!(
        "{name} = {v:.4} -> {:.4} (target {target}, {})",
        f(mp),
        c.id
    );
}

fn main() {
    let mut mp = ModelParams::default();
    bisect(
        &mut mp,
        "mx_contact_h",
        "H-03_minoxidil_intact_absorption.toml",
        0.0275,
        0.01,
        12.0,
    );
    bisect(
        &mut mp,
        "wnt_delay_days",
        "H-11_mouse_wnt_peak.toml",
        6.0,
        1.0,
        12.0,
    );
    bisect(
        &mut mp,
        "mx_effect_max",
        "H-04_minoxidil_3mo.toml",
        21.3,
        0.01,
        100.0,
    );
    bisect(
        &mut mp,
        "wound_anagen_gain",
        "H-06_needling_alone.toml",
        10.8,
        0.01,
        100.0,
    );
    bisect(
        &mut mp,
        "prp_signal_gain",
        "H-07_needling_prp.toml",
        14.6,
        0.001,
        5.0,
    );
    let mut files: Vec<_> = std::fs::read_dir("validation/hair")
        .expect("run from the repository root")
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files {
        let c = validate::load_case(&f).unwrap();
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
