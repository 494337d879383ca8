//! `--report` on every command, `--timings`, and `needlesim validate`'s filter, baseline and exit
//! codes, end to end through the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_needlesim"))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("needlesim-report-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("runs")
}

fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The report is one file that loads nothing: no scripts, no links, no remote resources.
fn assert_self_contained(html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("name=\"viewport\""), "phone viewport");
    for bad in [
        "<script",
        "<link",
        "<iframe",
        "<img",
        "src=",
        "href=\"http",
        "url(",
        "@import",
        "@font-face",
    ] {
        assert!(!html.contains(bad), "the report loads something: {bad}");
    }
    assert!(html.contains("<svg"), "plots are inline SVG");
    assert!(
        html.contains(&format!("needlesim {}", env!("CARGO_PKG_VERSION"))),
        "version"
    );
    assert!(html.contains("Repeat this run"));
}

#[test]
fn every_command_writes_one_self_contained_report() {
    let dir = tmp("all");
    let ex = repo().join("examples");
    let cases: Vec<(&str, Vec<String>, Option<&str>)> = vec![
        (
            "punctures",
            vec![
                s(&ex.join("hand_stamp.toml")).into(),
                "--seed".into(),
                "4242".into(),
            ],
            Some("4242"),
        ),
        (
            "simulate",
            vec![
                s(&ex.join("simulate_fine_lines.toml")).into(),
                "--seed".into(),
                "4343".into(),
            ],
            Some("4343"),
        ),
        (
            "deliver",
            vec![
                s(&ex.join("deliver_lidocaine_pen_0.5mm.toml")).into(),
                "--seed".into(),
                "4444".into(),
            ],
            Some("4444"),
        ),
        (
            "plan",
            vec![
                s(&ex.join("patients/fine_lines_type2.toml")).into(),
                "--no-predict".into(),
            ],
            None,
        ),
        (
            "validate",
            vec![
                s(&repo().join("validation")).into(),
                "--filter".into(),
                "VT-02".into(),
                "--no-markdown".into(),
            ],
            None,
        ),
    ];
    for (cmd, args, seed) in cases {
        let out = dir.join(cmd);
        let report = dir.join(format!("{cmd}.html"));
        let mut a: Vec<&str> = vec![cmd];
        a.extend(args.iter().map(String::as_str));
        a.extend([
            "--out",
            s(&out),
            "--report",
            s(&report),
            "--quiet",
            "--timings",
        ]);
        let o = run(&a);
        ok(&o);
        let html = std::fs::read_to_string(&report).expect("report written");
        assert_self_contained(&html);
        // The exact command line, with its seed, repeats the run.
        assert!(
            html.contains(&format!("needlesim {cmd} ")),
            "{cmd}: command line"
        );
        if let Some(seed) = seed {
            assert!(html.contains(&format!("seed {seed}")), "{cmd}: seed");
            assert!(html.contains(&format!("--seed {seed}")), "{cmd}: command");
        }
        // Inputs and the validation status of the parts used.
        assert!(html.contains("Validation status"), "{cmd}");
        if cmd != "validate" {
            assert!(html.contains("<h2>Inputs</h2>"), "{cmd}");
        }
        // --quiet prints nothing on stdout; --timings prints each stage and the total on stderr.
        assert!(o.stdout.is_empty(), "{cmd}: quiet");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("timing  write outputs") && err.contains("timing  total (wall)"),
            "{cmd}: {err}"
        );
        // Not a terminal: no progress bar drawn.
        assert!(!err.contains('\r'), "{cmd}: progress bar on a pipe");
        // Exactly one report file, written atomically (no temporary left behind).
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
    // The simulate report shows the healing validation cases and the punctures one the skin's.
    let sim = std::fs::read_to_string(dir.join("simulate.html")).unwrap();
    assert!(sim.contains("healing and outcomes") && sim.contains("V02"));
    let pun = std::fs::read_to_string(dir.join("punctures.html")).unwrap();
    assert!(pun.contains("skin columns") && !pun.contains("healing and outcomes"));
    // The deliver report's summary says what the terminal says, in plain words and units
    // (session 20: it printed `InVivo`, `5.3700e2` and no permeation report or study endpoint).
    let del = std::fs::read_to_string(dir.join("deliver.html")).unwrap();
    let summary = del
        .split("<h2>Summary</h2>")
        .nth(1)
        .and_then(|t| t.split("<h2>Figures</h2>").next())
        .expect("deliver: summary section");
    for want in [
        "living skin (in vivo)",
        "time to effect",
        "permeation (OECD TG 428 style",
        "total recovery of the dose",
        "study endpoint",
    ] {
        assert!(
            summary.contains(want),
            "deliver summary lacks {want}: {summary}"
        );
    }
    assert!(!summary.contains("InVivo") && !summary.contains("FranzCell"));
    let b = summary.as_bytes();
    let e_notation = (1..b.len().saturating_sub(1)).any(|i| {
        b[i] == b'e' && b[i - 1].is_ascii_digit() && (b[i + 1].is_ascii_digit() || b[i + 1] == b'-')
    });
    assert!(!e_notation, "deliver summary in e-notation: {summary}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Copies the cases whose file names contain `pattern` (and the baseline) into a fresh folder.
fn copy_cases(dir: &Path, pattern: &str) {
    let src = repo().join("validation");
    for sub in ["skin", "devices", "transport", "biology"] {
        for e in std::fs::read_dir(src.join(sub)).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".toml") && name.contains(pattern) {
                std::fs::create_dir_all(dir.join(sub)).unwrap();
                std::fs::copy(&p, dir.join(sub).join(&name)).unwrap();
            }
        }
    }
    std::fs::copy(src.join("baseline.json"), dir.join("baseline.json")).unwrap();
}

fn validate(dir: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut a = vec!["validate", s(dir), "--out", s(out), "--no-markdown"];
    a.extend(extra);
    run(&a)
}

#[test]
fn validate_fails_on_a_regression_not_on_an_open_case() {
    let dir = tmp("cases");
    let out = dir.join("out");
    // VT-02 passes in the baseline; VT-19 is open.
    copy_cases(&dir, "VT-02");
    copy_cases(&dir, "VT-19");
    let o = validate(&dir, &out, &[]);
    ok(&o);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("open VT-19"), "{text}");
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("validation.json")).unwrap())
            .unwrap();
    assert_eq!(j["counts"]["pass"], 1);
    assert_eq!(j["counts"]["open"], 1);

    // Force VT-02 to regress: move its accepted range away from the kinematic rate (with the
    // published value, which a case's range must contain).
    let f = dir.join("devices/VT-02_pen_rate.toml");
    let t = std::fs::read_to_string(&f).unwrap();
    let t = t
        .replace("expected = 990", "expected = 15")
        .replace("low = 940", "low = 10")
        .replace("high = 1040", "high = 20");
    std::fs::write(&f, t).unwrap();
    let o = validate(&dir, &out, &[]);
    assert_eq!(o.status.code(), Some(1), "a regression exits 1");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("VT-02") && err.contains("--update-baseline"),
        "{err}"
    );

    // Recording it (after review) makes the baseline agree again.
    ok(&validate(&dir, &out, &["--update-baseline"]));
    ok(&validate(&dir, &out, &[]));
    let b = std::fs::read_to_string(dir.join("baseline.json")).unwrap();
    assert!(b.contains("\"VT-02\""));

    // A newly passing case is reported and does not fail the run.
    let f = dir.join("devices/VT-19_depth_slope.toml");
    let t = std::fs::read_to_string(&f).unwrap();
    std::fs::write(&f, t.replace("high = 0.12", "high = 2.0")).unwrap();
    let o = validate(&dir, &out, &[]);
    ok(&o);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("VT-19 now passes"), "{text}");

    // Without a baseline the command says how to make one.
    std::fs::remove_file(dir.join("baseline.json")).unwrap();
    let o = validate(&dir, &out, &[]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--update-baseline"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn validate_filter_selects_by_id_path_or_part() {
    let dir = tmp("filter");
    let out = dir.join("out");
    let cases = repo().join("validation");
    let count = |extra: &[&str]| -> u64 {
        let o = validate(&cases, &out, extra);
        ok(&o);
        let j: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("validation.json")).unwrap())
                .unwrap();
        assert!(j["cases"].as_array().unwrap().iter().all(|c| {
            let id = c["id"].as_str().unwrap().to_lowercase();
            let file = c["file"].as_str().unwrap().to_lowercase();
            let part = c["part"].as_str().unwrap();
            extra.chunks(2).any(|p| {
                id.contains(&p[1].to_lowercase())
                    || file.contains(&p[1].to_lowercase())
                    || part == p[1]
            })
        }));
        j["counts"]["total"].as_u64().unwrap()
    };
    assert_eq!(count(&["--filter", "vt-14"]), 4, "by id");
    // VT-01, VT-02, VT-04, VT-04r (rat channel depth) and VT-19.
    assert_eq!(count(&["--filter", "devices/"]), 5, "by path");
    // 8 skin cases, and VT-11 whose file name says human_skin.
    assert_eq!(count(&["--filter", "skin"]), 9, "by part or path");
    assert_eq!(
        count(&["--filter", "VT-01", "--filter", "VT-02"]),
        2,
        "repeated"
    );
    let o = validate(&cases, &out, &["--filter", "no-such-case"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--filter"));
    let _ = std::fs::remove_dir_all(&dir);
}
