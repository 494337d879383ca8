//! `validate` checks its own case files (issue 17, point 8): published value and accepted range
//! finite and ordered, a real evidence grade (C/W never targets), no unknown input, inputs in
//! range. A broken case is an error when it is loaded, never an "open" case.

use needlesim::validate::{evaluate, load_case};

/// A valid case (VT-14a-m's values), with `{..}` placeholders patched by the tests.
const CASE: &str = r#"id = "T-1"
quantity = "full skin thickness, cheek, men"
unit = "mm"
expected = 2.53
low = 2.27
high = 2.79
tolerance_basis = "±1 SD"
role = "validation"
grade = "P"
source = "test"
metric = "skin.skin_thickness_mm"
[inputs]
site = "cheek"
sex = "male"
age_years = 25
"#;

/// A barrier-recovery case (VT-05's inputs).
const RECOVERY: &str = r#"id = "T-2"
quantity = "recovery"
unit = "h"
expected = 24
low = 0
high = 48
tolerance_basis = "-"
role = "validation"
grade = "P"
source = "test"
metric = "delivery.barrier_recovery_h"
[inputs]
occlusion = "none"
depth_um = 750
age_years = 30
phototype = 2
"#;

fn load(name: &str, text: &str) -> Result<needlesim::validate::Case, String> {
    let dir = std::env::temp_dir().join(format!("needlesim-case-checks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(&p, text).unwrap();
    let r = load_case(&p).map_err(|e| e.to_string());
    let _ = std::fs::remove_file(&p);
    r
}

fn patched(base: &str, from: &str, to: &str) -> String {
    assert!(base.contains(from), "test bug: {from:?}");
    base.replacen(from, to, 1)
}

#[test]
fn the_test_cases_and_every_committed_case_load() {
    load("ok", CASE).expect("valid");
    load("ok2", RECOVERY).expect("valid");
    load(
        "animal",
        &patched(CASE, "grade = \"P\"", "grade = \"A (animal)\""),
    )
    .expect("qualifier");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../validation");
    for f in needlesim::validate::find_cases(&dir).unwrap() {
        load_case(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
    }
}

#[test]
fn expected_low_and_high_must_be_finite_and_ordered() {
    for (from, to, needle) in [
        ("expected = 2.53", "expected = nan", "finite"),
        ("expected = 2.53", "expected = inf", "finite"),
        (
            "expected = 2.53",
            "expected = 3.5",
            "outside the accepted range",
        ),
        (
            "expected = 2.53",
            "expected = 1.0",
            "outside the accepted range",
        ),
        ("low = 2.27", "low = 2.9", "must not exceed"),
        ("high = 2.79", "high = -inf", "finite"),
    ] {
        let e = load("order", &patched(CASE, from, to)).expect_err(to);
        assert!(e.contains(needle), "{to}: {e}");
        assert!(e.contains("validation/README.md"), "{e}");
    }
}

#[test]
fn the_grade_must_be_known_and_c_or_w_never_a_target() {
    let e = load("g", &patched(CASE, "grade = \"P\"", "grade = \"Z\"")).unwrap_err();
    assert!(e.contains("grade") && e.contains("A, P, B, S, C, W"), "{e}");
    let e = load("g", &patched(CASE, "grade = \"P\"", "grade = \"\"")).unwrap_err();
    assert!(e.contains("grade"), "{e}");
    for g in ["C", "W"] {
        let e = load(
            "g",
            &patched(CASE, "grade = \"P\"", &format!("grade = \"{g}\"")),
        )
        .unwrap_err();
        assert!(e.contains("never targets"), "{e}");
        let check = patched(
            &patched(CASE, "grade = \"P\"", &format!("grade = \"{g}\"")),
            "role = \"validation\"",
            "role = \"check\"",
        );
        load("g", &check).expect("a C/W source may back a check");
    }
}

#[test]
fn unknown_missing_or_out_of_range_inputs_are_errors() {
    // A misspelt key used to be ignored (the metric then used its default, or failed as "open").
    let e = load(
        "i",
        &patched(CASE, "age_years = 25", "age_years = 25\nage_yaers = 60"),
    )
    .unwrap_err();
    assert!(
        e.contains("`age_yaers` is not an input") && e.contains("`age_years`"),
        "{e}"
    );
    let e = load("i", &patched(CASE, "age_years = 25", "")).unwrap_err();
    assert!(e.contains("`age_years` is missing"), "{e}");
    let e = load("i", &patched(CASE, "age_years = 25", "age_years = 250")).unwrap_err();
    assert!(e.contains("18-100"), "{e}");
    let e = load("i", &patched(CASE, "site = \"cheek\"", "site = \"elbow\"")).unwrap_err();
    assert!(e.contains("not a known site"), "{e}");
    // A phototype of -1 used to be cast to 255 and evaluated.
    let e = load("p", &patched(RECOVERY, "phototype = 2", "phototype = -1")).unwrap_err();
    assert!(e.contains("phototype") && e.contains("1-6"), "{e}");
    let e = load("p", &patched(RECOVERY, "phototype = 2", "phototype = 2.5")).unwrap_err();
    assert!(e.contains("whole number"), "{e}");
    // The metric itself refuses it too, when called directly.
    let mut t: toml::Table =
        toml::from_str("occlusion = \"none\"\ndepth_um = 750\nage_years = 30\nphototype = -1")
            .unwrap();
    assert!(evaluate("delivery.barrier_recovery_h", &t).is_err());
    t.insert("phototype".into(), toml::Value::Integer(2));
    assert!(evaluate("delivery.barrier_recovery_h", &t).is_ok());
}

#[test]
fn a_broken_inline_scenario_is_an_error_when_loaded() {
    let case = r#"id = "T-3"
quantity = "q"
unit = "/s"
expected = 990
low = 940
high = 1040
tolerance_basis = "-"
role = "check"
grade = "W"
source = "test"
metric = "punctures.rate_per_s"
[inputs.scenario]
[inputs.scenario.person]
age_years = 30
sex = "female"
phototype = 3
[inputs.scenario.device]
kind = "pen"
needle_count = 11
stroke_rate_hz = 90
depth_mm = 0.5
[inputs.scenario.technique]
passes = 1
[[inputs.scenario.zones]]
name = "area"
site = "cheek"
shape = "rectangle"
width_mm = 20
height_mm = 20
"#;
    load("s", case).expect("valid");
    let e = load(
        "s",
        &patched(case, "stroke_rate_hz = 90", "stroke_rate_hz = 9000"),
    )
    .unwrap_err();
    assert!(e.contains("device.stroke_rate_hz"), "{e}");
}
