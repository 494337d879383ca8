//! `needlesim._core`: the compiled half of the `needlesim` Python package.
//!
//! The Python package (`python/needlesim/`) holds the public classes, their docstrings and the
//! pandas/numpy conversions; this module holds what needs the Rust library: reading and
//! validating inputs ([`needlesim::study::Study`]), setting model parameters by name
//! ([`needlesim::params::ModelParams`]), running commands with the GIL released, and turning the
//! library's errors into the package's exceptions (`needlesim._errors`).
//!
//! Parameter overrides are applied the way a file applies them: as `[params.<group>]` entries of
//! the input, validated again, because the validation bakes some parameters into the scenario
//! (skin columns, device defaults, the delivery plan's physico-chemistry).

mod batch;
mod cohort;
mod errors;
mod series;
mod tomlconv;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use needlesim::healing::simulate::Resolution;
use needlesim::params::{ModelParams, ParamRow};
use needlesim::study::{Command, Input, Outcome, RunOptions, Study, StudyRun};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use errors::{param_error, to_pyerr};

/// Calls a Python progress callback from any thread: the GIL is taken only for the call. The
/// first exception it raises is kept (and raised when the run ends); later reports are dropped.
struct Callback {
    func: Option<Py<PyAny>>,
    error: Mutex<Option<PyErr>>,
}

impl Callback {
    fn new(func: Option<Py<PyAny>>) -> Callback {
        Callback {
            func,
            error: Mutex::new(None),
        }
    }

    fn report(&self, stage: &str, done: usize, total: usize) {
        let Some(f) = &self.func else { return };
        let mut err = self.error.lock().unwrap_or_else(|e| e.into_inner());
        if err.is_some() {
            return;
        }
        Python::attach(|py| {
            // Ctrl-C during a long run: raised at the next report (the run itself finishes).
            let r = py
                .check_signals()
                .and_then(|()| f.call1(py, (stage, done, total)).map(drop));
            if let Err(e) = r {
                *err = Some(e);
            }
        });
    }

    /// The callback's exception, if it raised one.
    fn finish(self) -> PyResult<()> {
        match self.error.into_inner().unwrap_or_else(|e| e.into_inner()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

fn command_of(name: &str) -> PyResult<Command> {
    Ok(match name {
        "punctures" => Command::Punctures,
        "deliver" => Command::Deliver,
        "simulate" => Command::Simulate,
        "plan" => Command::Plan,
        other => {
            return Err(errors::input_error(format!(
                "unknown command {other:?}: use \"punctures\", \"deliver\", \"simulate\" (scenario files) or \"plan\" (patient files)"
            )));
        }
    })
}

fn resolution_of(name: &str) -> PyResult<Resolution> {
    Resolution::ALL
        .into_iter()
        .find(|r| r.name() == name || r.name().replace('-', "_") == name)
        .ok_or_else(|| {
            errors::input_error(format!(
                "unknown resolution {name:?}: use \"lumped\", \"unit-cell\" or \"patch\""
            ))
        })
}

/// A validated input file and the parameter overrides set on it from Python.
#[pyclass(module = "needlesim._core", name = "_Study")]
struct PyStudy {
    /// The text as given (without the overrides set from Python) and its name.
    text: String,
    name: String,
    /// `group.name` -> value, set through `study.params[...] = value`.
    overrides: BTreeMap<String, f64>,
    /// The study validated from `text` with `overrides`.
    study: Study,
}

/// Reads `text` as a scenario file or, when it is a patient file, as a patient file.
fn read_either(text: &str, name: &str) -> needlesim::Result<Study> {
    match Study::from_toml_str(text, name) {
        Err(needlesim::Error::Scenario(needlesim::input::ScenarioError::PatientFile {
            ..
        })) => Study::patient_from_toml_str(text, name),
        other => other,
    }
}

impl PyStudy {
    fn build(text: String, name: String, overrides: BTreeMap<String, f64>) -> PyResult<PyStudy> {
        let full = if overrides.is_empty() {
            text.clone()
        } else {
            tomlconv::with_overrides(&text, &overrides).map_err(errors::input_error)?
        };
        let study = read_either(&full, &name).map_err(to_pyerr)?;
        Ok(PyStudy {
            text,
            name,
            overrides,
            study,
        })
    }
}

fn row_dict<'py>(py: Python<'py>, r: &ParamRow) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("name", r.path())?;
    d.set_item("group", &r.group)?;
    d.set_item("value", r.value)?;
    d.set_item("unit", &r.unit)?;
    d.set_item("kind", r.kind.name())?;
    d.set_item("min", r.min)?;
    d.set_item("max", r.max)?;
    d.set_item("range_reason", &r.range_why)?;
    d.set_item("settable", r.settable)?;
    d.set_item("source", &r.source)?;
    d.set_item("note", &r.note)?;
    Ok(d)
}

#[pymethods]
impl PyStudy {
    /// Validates TOML text (a scenario or a patient file); `name` names it in messages.
    #[staticmethod]
    #[pyo3(signature = (text, name = "<text>".to_string()))]
    fn from_toml(py: Python<'_>, text: String, name: String) -> PyResult<PyStudy> {
        py.detach(|| PyStudy::build(text, name, BTreeMap::new()))
    }

    /// Reads and validates a file (a scenario or a patient file).
    #[staticmethod]
    fn from_path(py: Python<'_>, path: PathBuf) -> PyResult<PyStudy> {
        let name = path.display().to_string();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(source) => {
                return Err(to_pyerr(needlesim::Error::Scenario(
                    needlesim::input::ScenarioError::Io { file: name, source },
                )));
            }
        };
        py.detach(|| PyStudy::build(text, name, BTreeMap::new()))
    }

    /// Validates a dict shaped like the TOML file (tables as dicts, arrays as lists).
    #[staticmethod]
    #[pyo3(signature = (data, name = "<dict>".to_string()))]
    fn from_dict(data: &Bound<'_, PyAny>, name: String) -> PyResult<PyStudy> {
        let text = tomlconv::dict_to_toml(data)?;
        PyStudy::build(text, name, BTreeMap::new())
    }

    /// "scenario" or "patient".
    #[getter]
    fn kind(&self) -> &'static str {
        match self.study.input {
            Input::Scenario { .. } => "scenario",
            Input::Patient(_) => "patient",
        }
    }

    /// The input's name (its path, or `<text>` / `<dict>`).
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// The text the study was validated from, with the overrides set from Python written in as
    /// `[params.<group>]` entries.
    #[getter]
    fn text(&self) -> &str {
        &self.study.source.text
    }

    /// The command a plain `run()` runs: "plan" for a patient file, "simulate" for a scenario
    /// with a `[protocol]`, "punctures" otherwise.
    #[getter]
    fn default_command(&self) -> &'static str {
        match &self.study.input {
            Input::Patient(_) => "plan",
            Input::Scenario { scenario, .. } if scenario.protocol.is_some() => "simulate",
            Input::Scenario { .. } => "punctures",
        }
    }

    /// The text as given, without the overrides set from Python.
    #[getter]
    fn source(&self) -> &str {
        &self.text
    }

    /// The scenario's seed (None for a patient file).
    #[getter]
    fn seed(&self) -> Option<u64> {
        self.study.scenario().map(|s| s.seed)
    }

    /// The overrides set from Python, `{"group.name": value}`.
    fn overrides(&self) -> BTreeMap<String, f64> {
        self.overrides.clone()
    }

    /// The value of a parameter (`"group.name"`), in the unit the listing gives.
    fn get_param(&self, name: &str) -> PyResult<f64> {
        self.study
            .params()
            .get(name)
            .map_err(|e| param_error(name, None, &e))
    }

    /// Sets a parameter: checked (known name, settable, in range), then the input is validated
    /// again with it. On any error the study is left as it was.
    fn set_param(&mut self, py: Python<'_>, name: &str, value: f64) -> PyResult<()> {
        ModelParams::default()
            .set(name, value)
            .map_err(|e| param_error(name, Some(value), &e))?;
        let mut overrides = self.overrides.clone();
        overrides.insert(name.to_string(), value);
        let (text, file) = (self.text.clone(), self.name.clone());
        *self = py.detach(|| PyStudy::build(text, file, overrides))?;
        Ok(())
    }

    /// Removes the override of a parameter set from Python (back to the file's value or the
    /// default).
    fn reset_param(&mut self, py: Python<'_>, name: &str) -> PyResult<()> {
        self.study
            .params()
            .get(name)
            .map_err(|e| param_error(name, None, &e))?;
        let mut overrides = self.overrides.clone();
        overrides.remove(name);
        let (text, file) = (self.text.clone(), self.name.clone());
        *self = py.detach(|| PyStudy::build(text, file, overrides))?;
        Ok(())
    }

    /// Every registered parameter with this study's value: a list of dicts (name, group,
    /// value, unit, kind, min, max, range_reason, settable, source, note).
    fn param_rows<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let rows = self.study.params().rows();
        let list = PyList::empty(py);
        for r in &rows {
            list.append(row_dict(py, r)?)?;
        }
        Ok(list)
    }

    /// Runs a command with the GIL released; `progress(stage, done, total)` is called with the
    /// GIL taken for each report.
    #[pyo3(signature = (command, seed = None, resolution = None, predict = true, progress = None))]
    fn run(
        &self,
        py: Python<'_>,
        command: &str,
        seed: Option<u64>,
        resolution: Option<&str>,
        predict: bool,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<PyRun> {
        let command = command_of(command)?;
        let resolution = resolution.map(resolution_of).transpose()?;
        let cb = Callback::new(progress);
        let study = &self.study;
        let result = py.detach(|| {
            let report = |stage: &str, done: usize, total: usize| cb.report(stage, done, total);
            let opts = RunOptions {
                seed,
                resolution,
                predict,
                progress: Some(&report),
                ..RunOptions::new(command)
            };
            study.run(&opts)
        });
        cb.finish()?;
        Ok(PyRun {
            run: Mutex::new(result.map_err(to_pyerr)?),
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "Study({} {:?}, {} override(s))",
            self.kind(),
            self.name,
            self.overrides.len()
        )
    }
}

/// The outputs of one run.
#[pyclass(module = "needlesim._core", name = "_Run")]
struct PyRun {
    /// A run holds the spatial solvers' backends, which are `Send` but not `Sync`.
    run: Mutex<StudyRun>,
}

impl PyRun {
    fn get(&self) -> std::sync::MutexGuard<'_, StudyRun> {
        self.run.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[pymethods]
impl PyRun {
    /// The command that ran.
    #[getter]
    fn command(&self) -> &'static str {
        self.get().command.name()
    }

    /// The seed of the run's random streams (None for a plan).
    #[getter]
    fn seed(&self) -> Option<u64> {
        self.get().seed()
    }

    /// The result files as `{name: text}` (JSON, CSV and SVG files, as the command line writes
    /// them).
    fn files(&self, py: Python<'_>) -> PyResult<BTreeMap<String, String>> {
        let files = py.detach(|| self.get().files()).map_err(to_pyerr)?;
        Ok(files
            .into_iter()
            .map(|f| (f.name, String::from_utf8_lossy(&f.bytes).into_owned()))
            .collect())
    }

    /// The name of the command's JSON document (`outcomes.json`, ...).
    fn json_name(&self) -> &'static str {
        match self.get().result {
            Outcome::Punctures { .. } => "punctures.json",
            Outcome::Deliver { .. } => "delivery.json",
            Outcome::Simulate { .. } => "outcomes.json",
            Outcome::Plan { .. } => "plan.json",
        }
    }

    /// Writes the result files into a folder, as one set (atomically).
    fn write(&self, py: Python<'_>, dir: PathBuf) -> PyResult<()> {
        py.detach(|| self.get().write(&dir)).map_err(to_pyerr)
    }

    /// The self-contained HTML report.
    fn page(&self, py: Python<'_>) -> PyResult<String> {
        let info = needlesim::report::html::RunInfo::library(self.get().seed());
        py.detach(|| self.get().page(&info)).map_err(to_pyerr)
    }

    /// The terminal summary (`dir`: where the files were written).
    #[pyo3(signature = (dir = PathBuf::from(".")))]
    fn summary(&self, dir: PathBuf) -> String {
        self.get().summary(&dir, None)
    }

    /// `simulate`: the zone names, in order.
    fn zones(&self) -> Vec<String> {
        match &self.get().result {
            Outcome::Simulate { run, .. } => {
                run.report.zones.iter().map(|z| z.name.clone()).collect()
            }
            Outcome::Punctures { scenario, .. } | Outcome::Deliver { scenario, .. } => {
                scenario.zones.iter().map(|z| z.zone.name.clone()).collect()
            }
            Outcome::Plan { .. } => Vec::new(),
        }
    }

    /// `simulate`: the nominal time series of a zone and its 5-95 % bands, full precision, as
    /// `[(column, numpy array)]` in the order of `timeseries_<zone>.csv`.
    fn series<'py>(&self, py: Python<'py>, zone: &str) -> PyResult<Bound<'py, PyList>> {
        let names = self.zones();
        let guard = self.get();
        let Outcome::Simulate { run, .. } = &guard.result else {
            return Err(errors::input_error(format!(
                "time series per zone come from `simulate`; this is a `{}` run",
                guard.command.name()
            )));
        };
        let Some(i) = run.report.zones.iter().position(|z| z.name == zone) else {
            return Err(errors::input_error(format!(
                "no zone {zone:?}; zones: {}",
                names.join(", ")
            )));
        };
        series::zone_columns(py, &run.zones[i])
    }
}

/// Every registered parameter with its default value (the listing of `needlesim params`), as a
/// list of dicts.
#[pyfunction]
fn param_rows(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    let list = PyList::empty(py);
    for r in &needlesim::params::all_rows() {
        list.append(row_dict(py, r)?)?;
    }
    Ok(list)
}

/// The TOML text of a dict shaped like an input file (tables as dicts, arrays as lists).
#[pyfunction]
fn toml_text(data: &Bound<'_, PyAny>) -> PyResult<String> {
    tomlconv::dict_to_toml(data)
}

/// Runs the validation cases under `dir` against the baseline; returns
/// `(validation.json text, terminal table, regressions message or None)`.
#[pyfunction]
#[pyo3(signature = (dir, filter, baseline, progress = None))]
fn validate(
    py: Python<'_>,
    dir: PathBuf,
    filter: Vec<String>,
    baseline: PathBuf,
    progress: Option<Py<PyAny>>,
) -> PyResult<(String, String, Option<String>)> {
    let o = needlesim::study::validation::ValidateOptions {
        dir,
        filter,
        baseline,
        update_baseline: false,
        markdown: None,
    };
    let cb = Callback::new(progress);
    let result = py.detach(|| {
        let report = |stage: &str, done: usize, total: usize| cb.report(stage, done, total);
        needlesim::study::validation::run(&o, &report)
    });
    cb.finish()?;
    let run = result.map_err(to_pyerr)?;
    let json = serde_json::to_string_pretty(&run.report)
        .map_err(|e| errors::input_error(format!("serialising validation.json: {e}")))?;
    let mut table = run.text(false);
    for e in run.case_errors() {
        table.push_str(&e);
        table.push('\n');
    }
    Ok((json, table, run.regressions(&o).map(|e| e.to_string())))
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<PyStudy>()?;
    m.add_class::<PyRun>()?;
    m.add_class::<cohort::PyCohort>()?;
    m.add_class::<batch::PyBatch>()?;
    m.add_function(wrap_pyfunction!(batch::check_posterior, m)?)?;
    m.add_function(wrap_pyfunction!(batch::registry_fingerprint, m)?)?;
    m.add_function(wrap_pyfunction!(param_rows, m)?)?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add_function(wrap_pyfunction!(toml_text, m)?)?;
    Ok(())
}
