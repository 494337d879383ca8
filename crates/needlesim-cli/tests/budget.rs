//! The run-wide memory budget: runs whose estimate exceeds the limit are refused up front
//! (exit 2, within a second), naming the estimate, the limit and what to change. Before the
//! budget, 20 zones of 1 m² ran out of memory after seconds of generating punctures, and a
//! 20 mm delivery patch at 5 µm aborted at 8.7 GB.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("needlesim_budget_{}_{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs the binary; kills it (and fails) if it has not finished after 20 s.
fn run_bounded(args: &[&str], scenario: &Path, out: &Path) -> (Output, Duration) {
    let t0 = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_needlesim"))
        .args(args)
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if t0.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("not refused up front: still running after 20 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let elapsed = t0.elapsed();
    (child.wait_with_output().unwrap(), elapsed)
}

fn assert_refused(o: &Output, elapsed: Duration, change: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        elapsed < Duration::from_secs(1),
        "refused after {elapsed:?}: {err}"
    );
    assert!(err.contains("would need about"), "no estimate: {err}");
    assert!(err.contains("limit of 4.0 GiB"), "no limit: {err}");
    assert!(err.contains(change), "no advice `{change}`: {err}");
}

#[test]
fn twenty_zones_of_a_square_metre_are_refused_up_front() {
    let base = std::fs::read_to_string(repo().join("examples/abdomen_roller_striae.toml")).unwrap();
    let (head, rest) = base.split_at(base.find("[[zones]]").unwrap());
    let tail = &rest[rest.find("[session]").unwrap()..];
    let mut s = head.to_string();
    for k in 0..20 {
        s.push_str(&format!(
            "[[zones]]\nname = \"z{k}\"\nsite = \"abdomen\"\nshape = \"rectangle\"\n\
             width_mm = 1000\nheight_mm = 1000\n\n"
        ));
    }
    s.push_str(tail);
    let dir = tmp("zones");
    let scen = dir.join("s.toml");
    std::fs::write(&scen, s).unwrap();
    let (o, elapsed) = run_bounded(&["punctures"], &scen, &dir.join("out"));
    assert_refused(&o, elapsed, "fewer or smaller zones");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("over 20 zones"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!dir.join("out").join("punctures.json").exists());
}

#[test]
fn a_20_mm_delivery_patch_at_5_um_is_refused_up_front() {
    let s = std::fs::read_to_string(repo().join("examples/deliver_lidocaine_patch_1cm2.toml"))
        .unwrap()
        .replace("width_mm = 40", "width_mm = 60")
        .replace("height_mm = 30", "height_mm = 60")
        .replace(
            "patch_side_mm = 10",
            "patch_side_mm = 20\npatch_voxel_um = 5",
        );
    assert!(s.contains("patch_voxel_um = 5"));
    let dir = tmp("patch");
    let scen = dir.join("s.toml");
    std::fs::write(&scen, s).unwrap();
    let (o, elapsed) = run_bounded(&["deliver"], &scen, &dir.join("out"));
    assert_refused(&o, elapsed, "patch_voxel_um");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("4000 × 4000"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn a_healing_patch_of_a_cm_at_5_um_is_refused_up_front() {
    let s = std::fs::read_to_string(repo().join("examples/simulate_fine_lines.toml"))
        .unwrap()
        .replace(
            "[protocol]",
            "[protocol]\npatch_size_mm = 10\npatch_voxel_um = 5",
        );
    let dir = tmp("healing");
    let scen = dir.join("s.toml");
    std::fs::write(&scen, s).unwrap();
    let (o, elapsed) = run_bounded(
        &["simulate", "--resolution", "patch"],
        &scen,
        &dir.join("out"),
    );
    assert_refused(&o, elapsed, "protocol.patch_voxel_um");
}
