//! `examples/simulate_hair_arms.toml` through the CLI (issue 20 follow-up): the three arms run,
//! their files and plot are written, the same inputs give the same bytes, and the arms order as
//! in the trials at 12 weeks (both > minoxidil > needling alone > 0).

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn simulate(out: &Path) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_needlesim"))
        .args(["simulate"])
        .arg(repo().join("examples/simulate_hair_arms.toml"))
        .arg("--out")
        .arg(out)
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn the_hair_arms_example_runs_and_writes_its_files_and_plot() {
    let dir = std::env::temp_dir().join(format!("needlesim-hair-example-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let text = simulate(&dir.join("a"));
    simulate(&dir.join("b"));
    for f in ["hair.csv", "hair.json", "hair_crown.svg"] {
        let a = std::fs::read(dir.join("a").join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        let b = std::fs::read(dir.join("b").join(f)).unwrap();
        assert!(a == b, "{f} differs between two identical runs");
    }
    let svg = std::fs::read_to_string(dir.join("a/hair_crown.svg")).unwrap();
    for arm in [
        "minoxidil",
        "needling",
        "needling + minoxidil",
        "needling session",
    ] {
        assert!(svg.contains(arm), "the plot names `{arm}`");
    }
    // The terminal summary: each arm's change at day 84.
    let at84 = |arm: &str| -> f64 {
        let line = text
            .lines()
            .find(|l| l.split("day 84:").next().unwrap().trim() == arm && l.contains("day 84:"))
            .unwrap_or_else(|| panic!("no line for {arm} in\n{text}"));
        let v = line.split("day 84:").nth(1).unwrap().trim();
        v.split(',').next().unwrap().trim().parse().unwrap()
    };
    let (mx, mn, both) = (
        at84("minoxidil"),
        at84("needling"),
        at84("needling + minoxidil"),
    );
    assert!(
        both > mx && mx > mn && mn > 0.0,
        "12 weeks: both {both}, minoxidil {mx}, needling {mn}\n{text}"
    );
    let csv = std::fs::read_to_string(dir.join("a/hair.csv")).unwrap();
    // 3 arms x 169 days + header.
    assert_eq!(csv.lines().count(), 1 + 3 * 169, "{}", &csv[..200]);
    let _ = std::fs::remove_dir_all(&dir);
}
