//! End-to-end tests of the `needlesim` binary on the bundled examples.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_needlesim"))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("needlesim-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn run_punctures(example: &str, out: &Path, threads: usize, extra: &[&str]) -> Output {
    bin()
        .args([
            "punctures",
            repo().join("examples").join(example).to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .args(extra)
        .env("RAYON_NUM_THREADS", threads.to_string())
        .output()
        .expect("runs")
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("file exists")).expect("valid JSON")
}

#[test]
fn every_example_runs_and_writes_its_outputs() {
    for ex in [
        "face_pen_0.5mm.toml",
        "acne_scars_cheeks_1.5mm.toml",
        "abdomen_roller_striae.toml",
        "hand_stamp.toml",
    ] {
        let out = tmp(ex);
        let o = run_punctures(ex, &out, 2, &[]);
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success(),
            "{ex}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            stdout.contains("density")
                && stdout.contains("bleeding")
                && stdout.contains("session:"),
            "{stdout}"
        );
        let j = json(&out.join("punctures.json"));
        assert_eq!(j["schema_version"], needlesim::SCHEMA_VERSION);
        for z in j["zones"].as_array().unwrap() {
            let name = z["name"].as_str().unwrap();
            assert!(
                z["punctures"].as_u64().unwrap() > 0,
                "{ex}/{name} has punctures"
            );
            for f in [format!("zone_{name}.svg"), format!("depth_{name}.svg")] {
                let svg = std::fs::read_to_string(out.join(&f)).unwrap();
                assert!(svg.starts_with("<svg") && svg.contains("</svg>"), "{f}");
            }
            let csv = std::fs::read_to_string(out.join(format!("channels_{name}.csv"))).unwrap();
            assert_eq!(
                csv.lines().count() as u64,
                z["punctures"].as_u64().unwrap() + 1
            );
        }
        let _ = std::fs::remove_dir_all(&out);
    }
}

#[test]
fn same_output_with_one_and_two_threads() {
    let (a, b) = (tmp("t1"), tmp("t2"));
    assert!(
        run_punctures("face_pen_0.5mm.toml", &a, 1, &["--quiet"])
            .status
            .success()
    );
    assert!(
        run_punctures("face_pen_0.5mm.toml", &b, 2, &["--quiet"])
            .status
            .success()
    );
    for f in [
        "punctures.json",
        "channels_forehead.csv",
        "channels_cheek_left.csv",
        "zone_nose.svg",
    ] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f} differs"
        );
    }
    let _ = std::fs::remove_dir_all(&a);
    let _ = std::fs::remove_dir_all(&b);
}

#[test]
fn seed_flag_changes_the_map_and_is_recorded() {
    let (a, b) = (tmp("s1"), tmp("s2"));
    assert!(
        run_punctures("hand_stamp.toml", &a, 2, &["--quiet", "--seed", "1"])
            .status
            .success()
    );
    assert!(
        run_punctures("hand_stamp.toml", &b, 2, &["--quiet", "--seed", "2"])
            .status
            .success()
    );
    assert_eq!(json(&a.join("punctures.json"))["seed"], 1);
    assert_ne!(
        std::fs::read(a.join("channels_hand_left.csv")).unwrap(),
        std::fs::read(b.join("channels_hand_left.csv")).unwrap()
    );
    let _ = std::fs::remove_dir_all(&a);
    let _ = std::fs::remove_dir_all(&b);
}

#[test]
fn quiet_prints_nothing() {
    let out = tmp("quiet");
    let o = run_punctures("hand_stamp.toml", &out, 2, &["--quiet"]);
    assert!(o.status.success());
    assert!(o.stdout.is_empty() && o.stderr.is_empty());
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn bad_scenario_exits_2_with_a_clear_message() {
    let dir = tmp("bad");
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("bad.toml");
    let text = std::fs::read_to_string(repo().join("examples/face_pen_0.5mm.toml"))
        .unwrap()
        .replace("depth_mm = 0.5", "depth_mm = 9");
    std::fs::write(&f, text).unwrap();
    let o = bin()
        .args([
            "punctures",
            f.to_str().unwrap(),
            "--out",
            dir.join("o").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.toml")
            && err.contains("device.depth_mm")
            && err.contains("0.1-3.5 mm")
            && err.contains("hint:"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        !dir.join("o").exists(),
        "nothing is written for a rejected scenario"
    );

    let o = bin()
        .args(["punctures", dir.join("missing.toml").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot read scenario file"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn schema_prints_json_schemas() {
    let o = bin().args(["schema"]).output().unwrap();
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["scenario"]["properties"]["device"].is_object());
    assert!(v["punctures"]["properties"]["zones"].is_object());
    let o = bin().args(["schema", "scenario"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["title"], "ScenarioFile");
}

#[test]
fn params_lists_every_group_and_filters() {
    let o = bin().arg("params").output().expect("runs");
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    for g in [
        "skin", "device", "injury", "closure", "physchem", "healing", "planner", "numerics",
    ] {
        assert!(
            text.contains(&format!("[{g}]")),
            "group {g} missing:\n{text}"
        );
    }
    assert!(text.contains("collagen_output_activated"));
    assert!(text.contains("calibrated"));
    let o = bin()
        .args(["params", "--filter", "closure."])
        .output()
        .expect("runs");
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("half_life_patch_s"));
    assert!(!text.contains("[healing]"));
}

#[test]
fn bad_params_override_exits_2_naming_the_parameter() {
    let dir = tmp("bad-params");
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(repo().join("examples/simulate_fine_lines.toml")).unwrap();
    let f = dir.join("bad.toml");
    std::fs::write(
        &f,
        format!("{text}\n[params.healing]\nmacrophage_removal_rat = 1e-5\n"),
    )
    .unwrap();
    let o = bin()
        .args(["simulate", f.to_str().unwrap(), "--out"])
        .arg(dir.join("out"))
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.contains("params.healing.macrophage_removal_rat"),
        "{err}"
    );
    assert!(err.contains("macrophage_removal_rate"), "{err}");
    std::fs::write(
        &f,
        format!("{text}\n[params.healing]\nmacrophage_removal_rate = 1\n"),
    )
    .unwrap();
    let o = bin()
        .args(["simulate", f.to_str().unwrap(), "--out"])
        .arg(dir.join("out"))
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(err.contains("plausible range"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
