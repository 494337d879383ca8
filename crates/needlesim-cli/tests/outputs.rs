//! The output set: no wall-clock fields in result files (identical inputs give byte-identical
//! files), timings only on request, the set written atomically, stale temporary folders
//! cleaned up.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_needlesim"))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("needlesim-outputs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("runs")
}

fn ok(o: &Output) {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn two_plan_runs_give_byte_identical_plan_json() {
    let dir = tmp("plan");
    let patient = repo().join("examples/patients/acne_scars_type5.toml");
    for k in ["a", "b"] {
        ok(&run(&[
            "plan",
            s(&patient),
            "--out",
            s(&dir.join(k)),
            "--quiet",
        ]));
    }
    for f in ["handout.html", "plan.ics", "fhir-bundle.json"] {
        let a = std::fs::read(dir.join("a").join(f)).unwrap();
        let b = std::fs::read(dir.join("b").join(f)).unwrap();
        assert!(a == b, "{f} differs between two identical runs");
    }
    let a = std::fs::read(dir.join("a/plan.json")).unwrap();
    let b = std::fs::read(dir.join("b/plan.json")).unwrap();
    assert!(a == b, "plan.json differs between two identical runs");
    let text = String::from_utf8_lossy(&a);
    assert!(
        !text.contains("timings"),
        "no wall-clock field in plan.json"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn two_deliver_and_simulate_runs_give_byte_identical_results() {
    let dir = tmp("deliver");
    for (cmd, ex, files) in [
        (
            "deliver",
            "deliver_lidocaine_pen_0.5mm.toml",
            &["delivery.json", "delivery_series.csv"][..],
        ),
        (
            "simulate",
            "simulate_fine_lines.toml",
            &["outcomes.json"][..],
        ),
    ] {
        for k in ["a", "b"] {
            ok(&run(&[
                cmd,
                s(&repo().join("examples").join(ex)),
                "--out",
                s(&dir.join(format!("{cmd}-{k}"))),
                "--quiet",
            ]));
        }
        for f in files {
            let a = std::fs::read(dir.join(format!("{cmd}-a")).join(f)).unwrap();
            let b = std::fs::read(dir.join(format!("{cmd}-b")).join(f)).unwrap();
            assert!(a == b, "{cmd}: {f} differs between two identical runs");
            assert!(!String::from_utf8_lossy(&a).contains("wall_s"), "{f}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn timings_go_to_stderr_and_timings_json_only() {
    let dir = tmp("timings");
    let out = dir.join("out");
    let o = run(&[
        "punctures",
        s(&repo().join("examples/hand_stamp.toml")),
        "--out",
        s(&out),
        "--quiet",
        "--timings",
    ]);
    ok(&o);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("timing  generate punctures") && err.contains("total (wall)"));
    let t: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("timings.json")).unwrap()).unwrap();
    assert!(t["stages"].as_array().is_some_and(|a| !a.is_empty()));
    // Without --timings there is no timings file.
    let out2 = dir.join("out2");
    ok(&run(&[
        "punctures",
        s(&repo().join("examples/hand_stamp.toml")),
        "--out",
        s(&out2),
        "--quiet",
    ]));
    assert!(!out2.join("timings.json").exists());
    assert_eq!(
        std::fs::read(out.join("punctures.json")).unwrap(),
        std::fs::read(out2.join("punctures.json")).unwrap()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A scenario whose second zone's name is too long for a file name: writing its files fails
/// after the first zone's are made.
fn two_zone_scenario(dir: &Path, long: bool) -> PathBuf {
    let base = std::fs::read_to_string(repo().join("examples/hand_stamp.toml")).unwrap();
    let name = if long {
        "z".repeat(250)
    } else {
        "hand_right".to_string()
    };
    let text = format!(
        "{base}\n[[zones]]\nname = \"{name}\"\nsite = \"dorsal_hand\"\nshape = \"rectangle\"\nwidth_mm = 20\nheight_mm = 20\n"
    );
    let f = dir.join(if long { "long.toml" } else { "two.toml" });
    std::fs::write(&f, text).unwrap();
    f
}

#[test]
fn a_failed_write_leaves_no_partial_set() {
    let dir = tmp("atomic");
    let out = dir.join("out");
    // Into a new folder: nothing at all.
    let long = two_zone_scenario(&dir, true);
    let o = run(&["punctures", s(&long), "--out", s(&out), "--quiet"]);
    assert!(!o.status.success());
    assert!(
        listing(&out).is_empty(),
        "partial set left: {:?}",
        listing(&out)
    );
    // Over a complete set: the old set stays as it was, every file of it.
    let two = two_zone_scenario(&dir, false);
    ok(&run(&["punctures", s(&two), "--out", s(&out), "--quiet"]));
    let before: Vec<(String, Vec<u8>)> = listing(&out)
        .into_iter()
        .map(|n| {
            let b = std::fs::read(out.join(&n)).unwrap();
            (n, b)
        })
        .collect();
    let o = run(&[
        "punctures",
        s(&long),
        "--out",
        s(&out),
        "--quiet",
        "--seed",
        "99",
    ]);
    assert!(!o.status.success());
    let after: Vec<(String, Vec<u8>)> = listing(&out)
        .into_iter()
        .map(|n| {
            let b = std::fs::read(out.join(&n)).unwrap();
            (n, b)
        })
        .collect();
    assert!(before == after, "the old set changed after a failed write");
    assert_eq!(listing(&dir), vec!["long.toml", "out", "two.toml"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn stale_temporary_folders_of_a_killed_run_are_removed() {
    let dir = tmp("stale");
    let out = dir.join("out");
    // What a run killed while writing leaves behind (its process is gone).
    let stale = dir.join(".out.needlesim-tmp-4194999");
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join("punctures.json"), "{").unwrap();
    ok(&run(&[
        "punctures",
        s(&repo().join("examples/hand_stamp.toml")),
        "--out",
        s(&out),
        "--quiet",
    ]));
    assert!(!stale.exists(), "stale temporary folder left");
    assert!(out.join("punctures.json").exists());
    assert_eq!(listing(&dir), vec!["out"]);
    let _ = std::fs::remove_dir_all(&dir);
}
