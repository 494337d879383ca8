//! Benchmarks of virtual cohorts at planner fidelity (docs/BENCHMARKS.md, "Virtual cohorts").
//!
//! ```sh
//! cargo run --release -p needlesim --example cohort_bench -- [SECTION...] [--cohort FILE]
//!     throughput   patients per second per core (1 worker, CPU time), 200 patients
//!     workers      1 vs 2 local workers on the same cohort, in the same run (ratio)
//!     big          10 000 patients on 2 workers: wall time
//!     memory       peak RSS of a fresh process at 1 000 and at 10 000 patients
//! ```
//! With no section, all four run. Every run writes to a fresh temporary folder, removed after.
//! `--cohort FILE` (default examples/cohorts/face_mixed_200.toml) sets the population; its
//! `patients` line is replaced by each section's count.

use std::path::{Path, PathBuf};
use std::time::Instant;

use needlesim::cohort::{self, CohortOptions, CohortSpec};

fn cpu_seconds() -> f64 {
    // SAFETY: getrusage fills the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 * 1e-6;
    t(u.ru_utime) + t(u.ru_stime)
}

fn peak_rss_mib() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn spec_with(text: &str, patients: usize) -> CohortSpec {
    let mut out = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("patients =") {
            out.push_str(&format!("patients = {patients}\n"));
        } else if line.trim_start().starts_with("shard_size =") {
            out.push_str("shard_size = 100\n");
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    CohortSpec::from_toml_str(&out).expect("valid cohort")
}

fn fresh(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "needlesim-cohort-bench-{}-{tag}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Runs a cohort into a fresh folder: (wall s, CPU s, rows).
fn timed(spec: &CohortSpec, workers: usize, tag: &str) -> (f64, f64, u64) {
    let dir = fresh(tag);
    let (t0, c0) = (Instant::now(), cpu_seconds());
    let s = cohort::run(
        spec,
        &dir,
        &CohortOptions {
            workers,
            ..Default::default()
        },
    )
    .expect("cohort run");
    let r = (t0.elapsed().as_secs_f64(), cpu_seconds() - c0, s.rows);
    let _ = std::fs::remove_dir_all(&dir);
    r
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut cohort_file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/cohorts/face_mixed_200.toml");
    let mut sections = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--cohort" => cohort_file = PathBuf::from(it.next().expect("--cohort FILE")),
            // Child mode of the memory section: run N patients, print the peak RSS.
            "--rss-child" => {
                let n: usize = it.next().expect("N").parse().expect("N");
                let text = std::fs::read_to_string(it.next().expect("FILE")).unwrap();
                let (w, c, rows) = timed(&spec_with(&text, n), 2, &format!("rss{n}"));
                println!("{n} {rows} {w:.1} {c:.1} {:.1}", peak_rss_mib());
                return;
            }
            s => sections.push(s.to_string()),
        }
    }
    if sections.is_empty() {
        sections = ["throughput", "workers", "big", "memory"]
            .map(String::from)
            .to_vec();
    }
    let text = std::fs::read_to_string(&cohort_file).expect("cohort file");
    println!(
        "cohort: {} | cores: {} | load before: {}",
        cohort_file.display(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load()
    );
    for s in &sections {
        match s.as_str() {
            "throughput" => {
                let n = 200;
                let (w, c, rows) = timed(&spec_with(&text, n), 1, "tp");
                println!(
                    "throughput: {n} patients, {rows} rows, 1 worker: {w:.1} s wall, {c:.1} s CPU -> {:.2} patients/s per core ({:.1} ms CPU per row); load {}",
                    n as f64 / c,
                    1e3 * c / rows as f64,
                    load()
                );
            }
            "workers" => {
                let n = 200;
                let spec = spec_with(&text, n);
                let (w1, c1, _) = timed(&spec, 1, "w1");
                let (w2, c2, _) = timed(&spec, 2, "w2");
                let (w1b, _, _) = timed(&spec, 1, "w1b");
                println!(
                    "workers: {n} patients: 1 worker {w1:.1} s ({c1:.1} s CPU), 2 workers {w2:.1} s ({c2:.1} s CPU), 1 worker again {w1b:.1} s -> speed-up {:.2} (vs the mean of the two 1-worker runs); load {}",
                    0.5 * (w1 + w1b) / w2,
                    load()
                );
            }
            "big" => {
                let n = 10_000;
                let (w, c, rows) = timed(&spec_with(&text, n), 2, "big");
                println!(
                    "big: {n} patients, {rows} rows, 2 workers: {w:.0} s wall ({:.1} min), {c:.0} s CPU; load {}",
                    w / 60.0,
                    load()
                );
            }
            "memory" => {
                let exe = std::env::current_exe().expect("own path");
                for n in [1_000usize, 10_000] {
                    let o = std::process::Command::new(&exe)
                        .args(["--rss-child", &n.to_string()])
                        .arg(&cohort_file)
                        .output()
                        .expect("child run");
                    let line = String::from_utf8_lossy(&o.stdout);
                    let v: Vec<&str> = line.split_whitespace().collect();
                    if v.len() == 5 {
                        println!(
                            "memory: {} patients, {} rows: peak RSS {} MiB ({} s wall, 2 workers)",
                            v[0], v[1], v[4], v[2]
                        );
                    } else {
                        println!(
                            "memory: {n} patients: child failed: {}",
                            String::from_utf8_lossy(&o.stderr)
                        );
                    }
                }
            }
            other => eprintln!("unknown section `{other}`"),
        }
    }
}
