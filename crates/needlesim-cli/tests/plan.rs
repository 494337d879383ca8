//! End-to-end tests of `needlesim plan`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_needlesim"))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("needlesim-plan-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn plans_an_example_and_writes_json_and_html() {
    let out = tmp("a");
    let o = bin()
        .args([
            "plan",
            repo()
                .join("examples/patients/acne_scars_type5.toml")
                .to_str()
                .unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("not medical advice"));
    assert!(text.contains("VERDICT: Treat with precautions"));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("plan.json")).unwrap()).unwrap();
    assert_eq!(v["verdict"]["kind"], "treat_with_precautions");
    assert_eq!(v["person"]["phototype"], 5);
    assert_eq!(
        v["prediction"]["status"], "done",
        "the healing model predicts by default"
    );
    assert!(
        v["prediction"]["zones"][0]["optimisation"]["tradeoff"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Planning aid, not medical advice"));
    assert!(html.matches("<svg").count() >= 4);
    assert!(!html.contains("<script") && !html.contains("src=\"http") && !html.contains("<link"));
}

#[test]
fn not_today_example_says_so() {
    let out = tmp("b");
    let o = bin()
        .args([
            "plan",
            repo()
                .join("examples/patients/not_today_isotretinoin_cold_sore.toml")
                .to_str()
                .unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--no-predict",
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("VERDICT: Not today"), "{text}");
    assert!(text.contains("DO NOT TREAT"));
    assert!(text.contains("not available: no predictor was used"));
}

#[test]
fn bad_patient_file_exits_2_with_field_paths() {
    let dir = tmp("c");
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("bad.toml");
    std::fs::write(&f, "date = \"2026-11-31\"\n[patient]\nage_years = 30\nsex = \"female\"\nphototype = 9\n[[zones]]\nname = \"z\"\nsite = \"cheek\"\nconcerns = [{ kind = \"wrinkles\" }]\n").unwrap();
    let o = bin()
        .args([
            "plan",
            f.to_str().unwrap(),
            "--out",
            dir.join("out").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("date = \"2026-11-31\""), "{err}");
    assert!(err.contains("patient.phototype = 9"), "{err}");
    assert!(err.contains("hint:"));
    assert!(!dir.join("out/plan.json").exists());
    let o = bin()
        .args(["plan", "/nonexistent/p.toml"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn schemas_for_patient_and_plan() {
    for which in ["patient", "plan"] {
        let o = bin().args(["schema", which]).output().unwrap();
        assert!(o.status.success());
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert!(v["properties"].is_object(), "{which}");
    }
}
