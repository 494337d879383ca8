//! Virtual cohorts (`needlesim::cohort`) from Python: the whole run on local threads, or shard by
//! shard on any executor (`needlesim.dask` maps [`PyCohort::run_shard`] over a Dask cluster and
//! calls [`PyCohort::finish`] once).

use std::path::PathBuf;

use needlesim::cohort::{CohortOptions, CohortSpec, CohortSummary, ShardReport};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::Callback;
use crate::errors::{run_error, to_pyerr};

/// A validated cohort file.
#[pyclass(module = "needlesim._core", name = "_Cohort")]
pub struct PyCohort {
    spec: CohortSpec,
}

fn shard_dict<'py>(py: Python<'py>, r: &ShardReport) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("shard", r.shard)?;
    d.set_item("first_patient", r.first_patient)?;
    d.set_item("patients", r.patients)?;
    d.set_item("rows", r.rows)?;
    d.set_item("failed_rows", r.failed_rows)?;
    d.set_item("skipped", r.skipped)?;
    d.set_item("fingerprint", &r.fingerprint)?;
    Ok(d)
}

/// `(summary as JSON, the terminal summary)`.
fn summary(s: &CohortSummary, out: &std::path::Path) -> PyResult<(String, String)> {
    let json = serde_json::to_string(s)
        .map_err(|e| run_error(format!("serialising the cohort summary: {e}")))?;
    Ok((json, s.text(out)))
}

fn pool(threads: usize) -> PyResult<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| run_error(format!("cannot start {threads} worker thread(s): {e}")))
}

#[pymethods]
impl PyCohort {
    /// Validates cohort-file text; `name` names it in messages and in `manifest.json` (the
    /// command line uses the path as given). The same text and name give the same cohort
    /// (fingerprint) in every process.
    #[staticmethod]
    #[pyo3(signature = (text, name = "cohort.toml".to_string()))]
    fn parse(py: Python<'_>, text: String, name: String) -> PyResult<PyCohort> {
        py.detach(|| CohortSpec::parse(&text, &name))
            .map(|spec| PyCohort { spec })
            .map_err(|e| to_pyerr(e.into()))
    }

    /// The cohort's title.
    #[getter]
    fn title(&self) -> &str {
        &self.spec.title
    }

    /// The number of virtual patients.
    #[getter]
    fn patients(&self) -> usize {
        self.spec.patients
    }

    /// The number of shards (the unit of work, of parallelism and of resuming).
    fn shard_count(&self) -> usize {
        self.spec.shard_count()
    }

    /// The fingerprint of everything that determines the results (stored in each shard's
    /// marker).
    fn fingerprint(&self) -> String {
        self.spec.fingerprint()
    }

    /// Runs shard `shard` into `out` (its Parquet files atomically, then its marker) on a pool
    /// of `threads` threads (1 on a Dask worker: the cluster provides the parallelism); a shard
    /// already complete is skipped. Returns the shard's report as a dict.
    #[pyo3(signature = (shard, out, threads = 1))]
    fn run_shard<'py>(
        &self,
        py: Python<'py>,
        shard: usize,
        out: PathBuf,
        threads: usize,
    ) -> PyResult<Bound<'py, PyDict>> {
        let pool = pool(threads)?;
        let spec = &self.spec;
        let r = py
            .detach(|| {
                std::fs::create_dir_all(&out)
                    .map_err(|e| needlesim::Error::io("creating the output folder", &out, e))?;
                pool.install(|| needlesim::cohort::run_shard(spec, shard, &out))
            })
            .map_err(to_pyerr)?;
        shard_dict(py, &r)
    }

    /// Writes the summary table, plots and manifests once every shard is complete in `out`;
    /// returns `(summary JSON, terminal summary)`.
    fn finish(&self, py: Python<'_>, out: PathBuf) -> PyResult<(String, String)> {
        let spec = &self.spec;
        let s = py
            .detach(|| needlesim::cohort::finish(spec, &out))
            .map_err(to_pyerr)?;
        summary(&s, &out)
    }

    /// Runs every shard not yet complete on `workers` local threads (0: every core), then
    /// `finish`; `progress("cohort: shards", done, total)`. Returns `(summary JSON, terminal
    /// summary)`.
    #[pyo3(signature = (out, workers = 1, progress = None))]
    fn run(
        &self,
        py: Python<'_>,
        out: PathBuf,
        workers: usize,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<(String, String)> {
        let cb = Callback::new(progress);
        let spec = &self.spec;
        let r = py.detach(|| {
            let report = |stage: &str, done: usize, total: usize| cb.report(stage, done, total);
            let opts = CohortOptions {
                workers,
                progress: Some(&report),
            };
            needlesim::cohort::run(spec, &out, &opts)
        });
        cb.finish()?;
        let s = r.map_err(to_pyerr)?;
        summary(&s, &out)
    }

    fn __repr__(&self) -> String {
        format!(
            "Cohort({:?}, {} patients, {} shard(s))",
            self.spec.title,
            self.spec.patients,
            self.spec.shard_count()
        )
    }
}
