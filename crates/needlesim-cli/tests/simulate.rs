//! `needlesim simulate --resolution unit-cell`: the unit-cell outputs (per-layer CSV and the
//! cross-sections at days 1, 7 and 28 within a 30-day follow-up; no day-180 section).

use std::process::Command;

const SCENARIO: &str = r#"
title = "unit cell smoke test"
seed = 3

[person]
age_years = 40
sex = "female"
phototype = 3

[device]
kind = "pen"
needle_count = 12
layout = "round"
head_diameter_mm = 7
stroke_rate_hz = 100
depth_mm = 1.0
needle_diameter_mm = 0.2
tip_angle_deg = 20

[technique]
passes = 2
directions = 2
overlap = 0.2
speed_mm_s = 20
turnaround_s = 0.5

[[zones]]
name = "forehead"
site = "forehead"
shape = "rectangle"
width_mm = 15
height_mm = 15

[protocol]
sessions = 1
follow_up_days = 30
concerns = ["rejuvenation"]
uncertainty_samples = 0
"#;

#[test]
fn unit_cell_resolution_writes_cross_sections() {
    let dir = std::env::temp_dir().join(format!("needlesim_sim_uc_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let scen = dir.join("s.toml");
    std::fs::write(&scen, SCENARIO).unwrap();
    let out = dir.join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_needlesim"))
        .args(["simulate", scen.to_str().unwrap(), "--out"])
        .arg(&out)
        .args(["--resolution", "unit-cell"])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    for d in [1, 7, 28] {
        let p = out.join(format!("cross_section_forehead_day{d}.svg"));
        let svg = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(
            svg.contains("<svg") && svg.contains("collagen"),
            "{}",
            p.display()
        );
    }
    assert!(!out.join("cross_section_forehead_day180.svg").exists());
    let csv = std::fs::read_to_string(out.join("unit_cell_forehead.csv")).unwrap();
    // Header + 31 days × 2 layers.
    assert_eq!(csv.lines().count(), 1 + 31 * 2, "{csv}");
    let json = std::fs::read_to_string(out.join("outcomes.json")).unwrap();
    assert!(json.contains("\"resolution\": \"unit_cell\""));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The bundled stretch-marks example simulates too (session 19): the stretch-mark score is in
/// outcomes.json (not listed as not predicted), with its geometry in the protocol block, and the
/// terminal labels it uncalibrated.
#[test]
fn the_stretch_marks_example_gets_its_score() {
    let dir = std::env::temp_dir().join(format!("needlesim_sim_sd_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let ex = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/abdomen_roller_striae.toml"
    );
    let o = Command::new(env!("CARGO_BIN_EXE_needlesim"))
        .args(["simulate", ex, "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("striae grade (uncalibrated"), "{stdout}");
    // The score is a reduction, printed as a change with its band in the same sign and order
    // (session 20; before, "-48 % [17-72]").
    let last = stdout
        .lines()
        .filter(|l| l.contains("striae grade"))
        .last()
        .unwrap();
    let tail = last.split("acne-scar gain) ").nth(1).unwrap();
    let nums: Vec<f64> = tail
        .split(|c: char| !(c.is_ascii_digit() || c == '-' || c == '.'))
        .filter(|t| !t.is_empty() && *t != "-")
        .map(|t| t.parse().unwrap())
        .collect();
    assert_eq!(nums.len(), 3, "{last}");
    let (v, lo, hi) = (nums[0], nums[1], nums[2]);
    assert!(v < 0.0 && lo <= v && v <= hi && hi <= 0.0, "{last}");
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("outcomes.json")).unwrap()).unwrap();
    let mm = |k: &str| j["protocol"][k].as_f64().unwrap();
    // Printed as written in the registry (0.52e-3 m), not 0.5199999999999999.
    assert_eq!(mm("striae_depth_mm"), 0.52);
    assert!((mm("striae_width_mm") - 3.0).abs() < 1e-12);
    let z = &j["zones"][0]["outcomes"];
    assert!(
        z["not_predicted"].as_array().unwrap().is_empty(),
        "{}",
        z["not_predicted"]
    );
    let last = z["timepoints"].as_array().unwrap().last().unwrap();
    let b = &last["stretch_marks_improvement_pct"];
    let (lo, mid, hi) = (
        b["p5"].as_f64().unwrap(),
        b["nominal"].as_f64().unwrap(),
        b["p95"].as_f64().unwrap(),
    );
    assert!(0.0 < lo && lo <= mid && mid <= hi && hi < 100.0, "{b}");
    assert!(last["acne_scar_score_reduction_pct"].is_null());
}
