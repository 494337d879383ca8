//! Virtual cohorts: thousands of virtual patients drawn from a cohort file, each run through
//! the planner at *planner fidelity* (screening, recommendation, the lumped healing model's
//! predictions with bands; no optimiser) for every protocol to compare and every parameter
//! draw, written as hive-partitioned Parquet with a summary, plots and a parameter manifest.
//!
//! ```text
//! cohort.toml --CohortSpec::from_path--> CohortSpec (validated; `docs/COHORTS.md`)
//!   shards of `shard_size` patients:  run_shard(&spec, k, out)   (any order, any process)
//!     patient i: draw(spec, i) from rng::stream(seed, [COHORT_PATIENT, i])
//!       per zone x draw x protocol: screening, recommendation, prediction -> one row
//!     -> results/protocol=<name>/part-<k>.parquet (atomic) + shards/shard-<k>.json (last)
//!   finish(&spec, out): summary.csv, plots, params.csv, draws.csv, cohort.toml, manifest.json
//! run(&spec, out, &CohortOptions { workers, .. }) = the pending shards on `workers` threads
//!   + finish
//! ```
//!
//! A shard whose marker is present (with this cohort's fingerprint) is skipped, so a killed run
//! resumes where it stopped. Results depend only on the cohort file and the needlesim version:
//! byte-identical for any worker count, shard order or executor (Dask runs `run_shard` on its
//! workers and `finish` once). Output files: `docs/OUTPUTS.md` (cohort).

pub mod evaluate;
pub mod patient;
pub mod spec;
pub mod summary;
pub mod table;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use rand::RngExt;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::params::ModelParams;
use crate::progress::Progress;
use crate::report::write_atomic;
pub use spec::{CohortFile, CohortSpec, DrawSource, ProtocolKind, ProtocolSpec};
pub use summary::ProtocolSummary;

/// The version of the cohort outputs (Parquet schema, markers, manifest). Bumped on any
/// incompatible change.
pub const SCHEMA_VERSION: &str = "1.0";

/// The folder of the Parquet results inside the output folder.
pub const RESULTS_DIR: &str = "results";
/// The folder of the shard markers.
pub const SHARDS_DIR: &str = "shards";

/// What a caller selects for [`run`].
#[derive(Clone, Copy, Default)]
pub struct CohortOptions<'a> {
    /// Worker threads (shards run in parallel, and patients within a shard); 0: all cores.
    pub workers: usize,
    /// Progress `("cohort: shards", done, total)`.
    pub progress: Option<Progress<'a>>,
}

/// The marker of a completed shard (`shards/shard-<k>.json`), written after its files.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardReport {
    pub shard: usize,
    /// The cohort's fingerprint ([`CohortSpec::fingerprint`]).
    pub fingerprint: String,
    /// Patients `first_patient .. first_patient + patients`.
    pub first_patient: usize,
    pub patients: usize,
    pub rows: usize,
    /// Rows with an error.
    pub failed_rows: usize,
    /// True when the shard was complete already and was skipped (not stored).
    #[serde(skip)]
    pub skipped: bool,
}

/// What a finished cohort gave.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CohortSummary {
    pub title: String,
    pub patients: usize,
    pub shards: usize,
    pub draws: usize,
    pub rows: u64,
    pub failed_rows: u64,
    /// Shards with at least one failed row.
    pub failed_shards: usize,
    pub protocols: Vec<ProtocolSummary>,
    /// The files written by [`finish`], relative to the output folder.
    pub files: Vec<String>,
}

fn shard_name(k: usize) -> String {
    format!("{k:05}")
}

impl CohortSummary {
    /// The terminal summary: counts, failed rows, and one line per protocol.
    pub fn text(&self, out: &Path) -> String {
        let mut s = format!(
            "{}: {} virtual patients, {} shard(s), {} draw(s), {} rows\n",
            self.title, self.patients, self.shards, self.draws, self.rows
        );
        if self.failed_rows > 0 {
            s.push_str(&format!(
                "  {} row(s) failed in {} shard(s): their error is in the `error` column; the other rows are complete\n",
                self.failed_rows, self.failed_shards
            ));
        } else {
            s.push_str("  no row failed\n");
        }
        let f = |v: Option<f64>, d: usize| v.map_or("-".to_string(), |x| format!("{x:.d$}"));
        for p in &self.protocols {
            s.push_str(&format!(
                "  {:<24} rows {:>7}  treated {:>7}  responders {:>5} %  median improvement {:>6} %  downtime {:>5} d  PIH risk {:>5} %\n",
                p.name,
                p.rows,
                p.treated,
                f(p.responders_pct, 1),
                f(p.improvement_pct_median, 1),
                f(p.downtime_days_mean, 1),
                f(p.pih_risk_pct_mean, 1),
            ));
        }
        s.push_str(&format!(
            "wrote {} (results/ as hive-partitioned Parquet, summary.csv, plots, manifest.json)\n",
            out.display()
        ));
        s
    }
}

/// The path of shard `k`'s results for protocol `name`, relative to the output folder.
pub fn part_path(name: &str, k: usize) -> PathBuf {
    Path::new(RESULTS_DIR)
        .join(format!("protocol={name}"))
        .join(format!("part-{}.parquet", shard_name(k)))
}

fn marker_path(out: &Path, k: usize) -> PathBuf {
    out.join(SHARDS_DIR)
        .join(format!("shard-{}.json", shard_name(k)))
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |e| Error::io(what, path, e)
}

impl CohortSpec {
    /// The model parameters of every draw (see [`DrawSource`]).
    pub fn draw_params(&self) -> Vec<ModelParams> {
        match &self.draws {
            DrawSource::Registry => vec![self.params.clone()],
            DrawSource::Sampled { count, seed, vary } => (0..*count)
                .map(|k| {
                    let mut r = crate::rng::stream(*seed, &[patient::COHORT_DRAW, k as u64]);
                    let mut m = self.params.clone();
                    m.healing = m.healing.sample(&mut r);
                    for (path, lo, hi) in vary {
                        let u: f64 = r.random();
                        let v = if *lo > 0.0 {
                            (lo.ln() + u * (hi.ln() - lo.ln())).exp()
                        } else {
                            lo + u * (hi - lo)
                        };
                        let e = crate::params::entry(
                            path.split_once('.').map_or("", |x| x.0),
                            path.split_once('.').map_or("", |x| x.1),
                        );
                        let v = if e.is_some_and(|e| e.range.integer) {
                            v.round()
                        } else {
                            v
                        };
                        // Within the range by construction; `set` checks it again.
                        let _ = m.set(path, v.clamp(*lo, *hi));
                    }
                    m
                })
                .collect(),
        }
    }
}

/// Reads shard `k`'s marker, if present.
fn read_marker(out: &Path, k: usize) -> Result<Option<ShardReport>> {
    let p = marker_path(out, k);
    match std::fs::read(&p) {
        Ok(b) => serde_json::from_slice(&b).map(Some).map_err(|e| {
            Error::io(
                "reading the shard marker",
                &p,
                std::io::Error::other(e.to_string()),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("reading the shard marker", &p, e)),
    }
}

fn other_cohort(out: &Path, k: usize) -> Error {
    Error::Input(format!(
        "the output folder `{}` holds shard {k} of another cohort (a different cohort file, or results of another needlesim version)\n  hint: write to a new --out folder, or delete the old one to start again",
        out.display()
    ))
}

/// Whether shard `k` is complete in `out` (its marker has this cohort's fingerprint and its
/// files exist); an error when the marker belongs to another cohort.
pub fn shard_done(spec: &CohortSpec, out: &Path, k: usize) -> Result<Option<ShardReport>> {
    let Some(m) = read_marker(out, k)? else {
        return Ok(None);
    };
    if m.fingerprint != spec.fingerprint() {
        return Err(other_cohort(out, k));
    }
    let files_ok = spec
        .protocols
        .iter()
        .all(|p| out.join(part_path(&p.name, k)).is_file());
    Ok(files_ok.then_some(m))
}

/// Runs shard `shard` of the cohort into `out_dir`: every row of its patients, one Parquet file
/// per protocol (each written atomically), then its marker. A shard already complete is
/// skipped (`skipped: true`). Patients within the shard run on the current rayon pool.
pub fn run_shard(spec: &CohortSpec, shard: usize, out_dir: &Path) -> Result<ShardReport> {
    let n = spec.shard_count();
    if shard >= n {
        return Err(Error::Input(format!(
            "shard {shard} does not exist: the cohort has {n} shard(s), 0-{}",
            n - 1
        )));
    }
    if let Some(mut m) = shard_done(spec, out_dir, shard)? {
        m.skipped = true;
        return Ok(m);
    }
    let draws = spec.draw_params();
    let range = spec.shard_patients(shard);
    let rows: Vec<evaluate::Row> = range
        .clone()
        .into_par_iter()
        .map(|i| evaluate::patient_rows(spec, &patient::draw(spec, i), &draws))
        .collect::<Vec<_>>()
        .into_iter()
        .flatten()
        .collect();
    for (pi, p) in spec.protocols.iter().enumerate() {
        let mine: Vec<&evaluate::Row> = rows.iter().filter(|r| r.protocol == pi).collect();
        let bytes = table::parquet_bytes(&mine).map_err(|e| {
            Error::io(
                "encoding the results",
                part_path(&p.name, shard),
                std::io::Error::other(e),
            )
        })?;
        let path = out_dir.join(part_path(&p.name, shard));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io("creating the results folder", dir))?;
        }
        write_atomic(&path, &bytes).map_err(io("writing the results", &path))?;
    }
    let report = ShardReport {
        shard,
        fingerprint: spec.fingerprint(),
        first_patient: range.start,
        patients: range.len(),
        rows: rows.len(),
        failed_rows: rows.iter().filter(|r| r.error.is_some()).count(),
        skipped: false,
    };
    let mp = marker_path(out_dir, shard);
    let dir = out_dir.join(SHARDS_DIR);
    std::fs::create_dir_all(&dir).map_err(io("creating the shards folder", &dir))?;
    let json = serde_json::to_string_pretty(&report).expect("serialisable marker");
    write_atomic(&mp, json.as_bytes()).map_err(io("writing the shard marker", &mp))?;
    Ok(report)
}

/// The parameter manifest: every registry entry with the cohort's base values.
fn params_csv(spec: &CohortSpec) -> String {
    crate::params::to_csv(&spec.params.rows())
}

/// Per draw, the entries whose value differs from the base (`draw,parameter,value`).
fn draws_csv(spec: &CohortSpec, draws: &[ModelParams]) -> String {
    let base = spec.params.rows();
    let mut s = String::from("draw,parameter,value,base_value\n");
    for (k, d) in draws.iter().enumerate() {
        for (r, b) in d.rows().iter().zip(&base) {
            if r.value != b.value {
                s.push_str(&format!(
                    "{k},{},{},{}\n",
                    r.path(),
                    crate::params::format_sig(r.value),
                    crate::params::format_sig(b.value)
                ));
            }
        }
    }
    s
}

#[derive(Serialize)]
struct Manifest<'a> {
    needlesim_version: &'static str,
    cohort_schema_version: &'static str,
    title: &'a str,
    cohort_file: &'a str,
    fingerprint: String,
    seed: u64,
    patients: usize,
    shard_size: usize,
    shards: usize,
    draws: usize,
    draw_source: &'a DrawSource,
    protocols: &'a [ProtocolSpec],
    rows: u64,
    failed_rows: u64,
    failed_shards: usize,
    partitioning: &'static str,
    files: &'a [String],
}

/// Writes the summary table, the plots and the manifests of a cohort whose shards are all
/// complete in `out_dir` (an error names the shards still missing).
pub fn finish(spec: &CohortSpec, out_dir: &Path) -> Result<CohortSummary> {
    let n = spec.shard_count();
    let mut missing = Vec::new();
    let mut markers = Vec::with_capacity(n);
    for k in 0..n {
        match shard_done(spec, out_dir, k)? {
            Some(m) => markers.push(m),
            None => missing.push(k),
        }
    }
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().take(10).map(|k| k.to_string()).collect();
        return Err(Error::Failed(format!(
            "{} of {n} shard(s) of the cohort are not done in `{}` (shards {}{}); run the cohort again: completed shards are skipped",
            missing.len(),
            out_dir.display(),
            list.join(", "),
            if missing.len() > 10 { ", ..." } else { "" }
        )));
    }
    let names: Vec<String> = spec.protocols.iter().map(|p| p.name.clone()).collect();
    let mut agg = summary::Aggregates::new(names);
    for (pi, p) in spec.protocols.iter().enumerate() {
        for k in 0..n {
            let path = out_dir.join(part_path(&p.name, k));
            table::read_summary_rows(&path, |r| agg.add(pi, &r))
                .map_err(|e| Error::io("reading the results", &path, std::io::Error::other(e)))?;
        }
    }
    let rows: u64 = markers.iter().map(|m| m.rows as u64).sum();
    let failed_rows: u64 = markers.iter().map(|m| m.failed_rows as u64).sum();
    let failed_shards = markers.iter().filter(|m| m.failed_rows > 0).count();

    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    files.push(("cohort.toml".into(), spec.text.clone().into_bytes()));
    files.push(("summary.csv".into(), summary::csv(&agg).into_bytes()));
    let mut concerns: Vec<(String, String)> = Vec::new();
    for c in &spec.concerns {
        let name = c.kind.name().to_string();
        if !concerns.iter().any(|x| x.0 == name) {
            let metric = agg
                .metric
                .get(&name)
                .cloned()
                .unwrap_or_else(|| "no prediction".into());
            concerns.push((name, metric));
        }
    }
    let plot = |what: &str, r: std::io::Result<String>| {
        r.map_err(|source| Error::Plot {
            what: what.to_string(),
            source,
        })
    };
    files.push((
        "outcomes_by_protocol.svg".into(),
        plot(
            "outcomes_by_protocol.svg",
            summary::outcomes_svg(&agg, &concerns),
        )?
        .into_bytes(),
    ));
    let phototypes: Vec<String> = (1..=6u8)
        .map(|p| crate::plan::rules::roman(p).to_string())
        .collect();
    files.push((
        "responders_by_phototype.svg".into(),
        plot(
            "responders_by_phototype.svg",
            summary::responders_svg(
                &agg,
                "phototype",
                &phototypes,
                "Fitzpatrick phototype",
                spec.responder_min_improvement_pct,
            ),
        )?
        .into_bytes(),
    ));
    let bands: Vec<String> = summary::AGE_BANDS
        .iter()
        .map(|(a, b)| format!("{a}-{b}"))
        .collect();
    files.push((
        "responders_by_age.svg".into(),
        plot(
            "responders_by_age.svg",
            summary::responders_svg(
                &agg,
                "age",
                &bands,
                "age band, years",
                spec.responder_min_improvement_pct,
            ),
        )?
        .into_bytes(),
    ));
    files.push(("params.csv".into(), params_csv(spec).into_bytes()));
    files.push((
        "draws.csv".into(),
        draws_csv(spec, &spec.draw_params()).into_bytes(),
    ));
    let mut names: Vec<String> = files.iter().map(|f| f.0.clone()).collect();
    names.push("manifest.json".into());
    let manifest = Manifest {
        needlesim_version: env!("CARGO_PKG_VERSION"),
        cohort_schema_version: SCHEMA_VERSION,
        title: &spec.title,
        cohort_file: &spec.file,
        fingerprint: spec.fingerprint(),
        seed: spec.seed,
        patients: spec.patients,
        shard_size: spec.shard_size,
        shards: n,
        draws: spec.draw_count(),
        draw_source: &spec.draws,
        protocols: &spec.protocols,
        rows,
        failed_rows,
        failed_shards,
        partitioning: "hive: results/protocol=<name>/part-<shard>.parquet",
        files: &names,
    };
    files.push((
        "manifest.json".into(),
        serde_json::to_string_pretty(&manifest)
            .expect("serialisable manifest")
            .into_bytes(),
    ));
    for (name, bytes) in &files {
        let p = out_dir.join(name);
        write_atomic(&p, bytes).map_err(io("writing", &p))?;
    }
    Ok(CohortSummary {
        title: spec.title.clone(),
        patients: spec.patients,
        shards: n,
        draws: spec.draw_count(),
        rows,
        failed_rows,
        failed_shards,
        protocols: summary::protocol_summaries(&agg),
        files: names,
    })
}

/// Runs every shard not yet complete on `opts.workers` threads, then [`finish`].
pub fn run(spec: &CohortSpec, out_dir: &Path, opts: &CohortOptions<'_>) -> Result<CohortSummary> {
    std::fs::create_dir_all(out_dir).map_err(io("creating the output folder", out_dir))?;
    let n = spec.shard_count();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.workers)
        .build()
        .map_err(|e| Error::Failed(format!("cannot start the worker threads: {e}")))?;
    let done = AtomicUsize::new(0);
    let stage = "cohort: shards";
    if let Some(p) = opts.progress {
        p(stage, 0, n);
    }
    pool.install(|| {
        (0..n).into_par_iter().try_for_each(|k| -> Result<()> {
            run_shard(spec, k, out_dir)?;
            let d = done.fetch_add(1, Ordering::Relaxed) + 1;
            if let Some(p) = opts.progress {
                p(stage, d, n);
            }
            Ok(())
        })
    })?;
    finish(spec, out_dir)
}
