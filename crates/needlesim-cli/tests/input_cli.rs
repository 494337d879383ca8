//! Input mistakes through the binary (issue 17, points 1 and 8): the wrong kind of file, a
//! broken validation case, and where `validate` writes its Markdown table.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_needlesim"))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("needlesim-input-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_patient_file_given_to_a_scenario_command_says_use_plan_and_the_converse() {
    let out = tmp("kinds");
    let patient = repo().join("examples/patients/fine_lines_type2.toml");
    for cmd in ["punctures", "deliver", "simulate"] {
        let o = bin()
            .arg(cmd)
            .arg(&patient)
            .arg("--out")
            .arg(&out)
            .arg("--quiet")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{cmd}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("this is a patient file: use `needlesim plan"),
            "{cmd}: {}",
            stderr(&o)
        );
    }
    let o = bin()
        .arg("plan")
        .arg(repo().join("examples/face_pen_0.5mm.toml"))
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("this is a scenario file"),
        "{}",
        stderr(&o)
    );
    let _ = std::fs::remove_dir_all(&out);
}

/// Copies one case file (and the baseline) into `dir/cases`.
fn copy_case(dir: &Path, sub: &str, name: &str) -> PathBuf {
    let cases = dir.join("cases");
    std::fs::create_dir_all(cases.join(sub)).unwrap();
    let src = repo().join("validation");
    std::fs::copy(src.join(sub).join(name), cases.join(sub).join(name)).unwrap();
    std::fs::copy(src.join("baseline.json"), cases.join("baseline.json")).unwrap();
    cases.join(sub).join(name)
}

#[test]
fn an_open_case_with_broken_inputs_fails_the_run() {
    let dir = tmp("broken");
    // VT-19 is open in the baseline: a broken input used to leave it "open", and the run passed.
    let f = copy_case(&dir, "devices", "VT-19_depth_slope.toml");
    let t = std::fs::read_to_string(&f).unwrap();
    std::fs::write(
        &f,
        t.replace("depth_to_mm = 1.5", "depth_to_mm = 1.5\ndepth_too_mm = 2"),
    )
    .unwrap();
    let o = bin()
        .args(["validate", "--no-markdown", "--quiet", "--out"])
        .arg(dir.join("out"))
        .arg(dir.join("cases"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("depth_too_mm") && stderr(&o).contains("VT-19"),
        "{}",
        stderr(&o)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn validation_md_is_written_only_at_the_repository_root_or_when_named() {
    let dir = tmp("markdown");
    copy_case(&dir, "devices", "VT-02_pen_rate.toml");
    let run = |extra: &[&str]| {
        let o = bin()
            .current_dir(&dir)
            .args(["validate", "cases", "--quiet", "--out", "out"])
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    };
    // Not the repository root: no docs/VALIDATION.md appears here.
    run(&[]);
    assert!(
        !dir.join("docs").exists(),
        "docs/ was created outside the repository"
    );
    // Even where a docs/ folder and a Cargo.toml exist, other cases than validation/ do not
    // overwrite its table.
    std::fs::create_dir_all(dir.join("docs")).unwrap();
    std::fs::write(dir.join("Cargo.toml"), "").unwrap();
    run(&[]);
    assert!(!dir.join("docs/VALIDATION.md").exists());
    // Named, it is written.
    run(&["--markdown", "table.md"]);
    assert!(dir.join("table.md").is_file());
    // At a repository root on its own cases (validation/ with its baseline), it is.
    std::fs::rename(dir.join("cases"), dir.join("validation")).unwrap();
    let o = bin()
        .current_dir(&dir)
        .args(["validate", "--quiet", "--out", "out"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.join("docs/VALIDATION.md").is_file());
    let _ = std::fs::remove_dir_all(&dir);
}
