//! End-to-end tests of `needlesim deliver`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("needlesim-deliver-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn deliver(example: &str, out: &Path, threads: usize) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_needlesim"))
        .args([
            "deliver",
            repo()
                .join("examples")
                .join(example)
                .to_str()
                .expect("utf-8"),
            "--out",
            out.to_str().expect("utf-8"),
        ])
        .env("RAYON_NUM_THREADS", threads.to_string())
        .output()
        .expect("runs")
}

#[test]
fn deliver_writes_json_csv_and_svg_and_is_deterministic() {
    let (a, b) = (tmp("a"), tmp("b"));
    let o = deliver("deliver_lidocaine_pen_0.5mm.toml", &a, 1);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("time to effect") && stdout.contains("-fold with needling"),
        "{stdout}"
    );
    for f in [
        "delivery.json",
        "delivery_series.csv",
        "delivery_profiles.csv",
        "delivery_time.svg",
        "delivery_profile.svg",
    ] {
        let p = a.join(f);
        assert!(
            std::fs::metadata(&p)
                .map(|m| m.len() > 100)
                .unwrap_or(false),
            "{f}"
        );
    }
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(a.join("delivery.json")).expect("json"))
            .expect("valid");
    let n = j["needled"]["time_to_effect_min"]
        .as_f64()
        .expect("needled onset");
    let i = j["intact"]["time_to_effect_min"]
        .as_f64()
        .expect("intact onset");
    assert!(n < i, "needled onset {n} min, intact {i} min");
    assert!(
        (i - 30.0).abs() < 1.0,
        "intact onset is the calibration point: {i}"
    );
    let o2 = deliver("deliver_lidocaine_pen_0.5mm.toml", &b, 2);
    assert!(o2.status.success());
    // No wall-clock field: the same input gives the same bytes, whatever the thread count.
    assert_eq!(
        std::fs::read(a.join("delivery.json")).expect("json"),
        std::fs::read(b.join("delivery.json")).expect("json")
    );
    assert_eq!(
        std::fs::read(a.join("delivery_series.csv")).expect("csv"),
        std::fs::read(b.join("delivery_series.csv")).expect("csv")
    );
}

#[test]
fn deliver_without_a_delivery_section_is_bad_input() {
    let out = tmp("bad");
    let o = deliver("hand_stamp.toml", &out, 1);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("delivery") && err.contains("hint"), "{err}");
}

#[test]
fn schema_lists_the_delivery_report() {
    let o = Command::new(env!("CARGO_BIN_EXE_needlesim"))
        .args(["schema", "delivery"])
        .output()
        .expect("runs");
    assert!(o.status.success());
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains("enhancement_receptor_blood") && s.contains("time_to_effect_min"));
}

/// A compound outside the permeability routes' fitted domain is warned about once (the input
/// check and the routes both noticed it; the routes' warning says what the model then does), and
/// an enhancement that is undefined is not reported as a fold "with needling".
#[test]
fn a_macromolecule_is_warned_about_once_and_its_undefined_enhancement_said_plainly() {
    let a = tmp("fitc");
    let o = deliver("deliver_fitc_dextran_franz.toml", &a, 1);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let domain = stdout
        .lines()
        .filter(|l| l.starts_with("warning:") && l.contains("outside the fitted domain"))
        .count();
    assert_eq!(domain, 1, "{stdout}");
    assert!(
        stdout.contains("stratum corneum is treated as impermeable"),
        "{stdout}"
    );
    let endpoint = stdout
        .lines()
        .find(|l| l.starts_with("study endpoint"))
        .expect("endpoint line");
    assert!(
        endpoint.ends_with("enhancement undefined (nothing crosses intact skin)"),
        "{endpoint}"
    );
    let _ = std::fs::remove_dir_all(&a);
}
