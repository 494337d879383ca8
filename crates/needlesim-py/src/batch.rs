//! `needlesim.Batch`: one scenario run for many rows of parameter values
//! ([`needlesim::study::batch::Batch`]), the rows spread over threads with the GIL released.

use needlesim::study::batch::Batch;
use numpy::{PyArray2, PyReadonlyArray2};
use pyo3::prelude::*;

use crate::PyStudy;
use crate::errors::{input_error, to_pyerr};

/// A scenario prepared once and run for many rows of parameter values (`needlesim.Batch`).
#[pyclass(module = "needlesim._core", name = "_Batch")]
pub struct PyBatch {
    inner: Batch,
}

#[pymethods]
impl PyBatch {
    #[new]
    fn new(py: Python<'_>, study: &PyStudy, names: Vec<String>, days: Vec<f64>) -> PyResult<Self> {
        let st = &study.study;
        let inner = py
            .detach(|| Batch::new(st, &names, &days))
            .map_err(to_pyerr)?;
        Ok(PyBatch { inner })
    }

    #[getter]
    fn columns(&self) -> Vec<String> {
        self.inner.columns().to_vec()
    }

    #[getter]
    fn names(&self) -> Vec<String> {
        self.inner.names().to_vec()
    }

    /// `(values[rows, columns], [(row, message)])` for `rows[n, len(names)]`.
    fn run<'py>(
        &self,
        py: Python<'py>,
        rows: PyReadonlyArray2<'py, f64>,
    ) -> PyResult<(Bound<'py, PyArray2<f64>>, Vec<(usize, String)>)> {
        let a = rows.as_array();
        if a.ncols() != self.inner.names().len() {
            return Err(input_error(format!(
                "rows have {} columns; the batch varies {} parameters ({})",
                a.ncols(),
                self.inner.names().len(),
                self.inner.names().join(", ")
            )));
        }
        let rows: Vec<Vec<f64>> = a.outer_iter().map(|r| r.to_vec()).collect();
        let res = py.detach(|| self.inner.run(&rows));
        let out = if res.values.is_empty() {
            PyArray2::zeros(py, [0, res.columns.len()], false)
        } else {
            PyArray2::from_vec2(py, &res.values).map_err(|e| input_error(e.to_string()))?
        };
        Ok((out, res.errors))
    }
}

/// Checks a posterior file's text against this build's parameter registry (the check the core
/// makes when it reads it): `{"parameters": [...], "draws": n}`, or InputError naming the
/// mismatch.
#[pyfunction]
pub fn check_posterior(text: &str) -> PyResult<std::collections::BTreeMap<String, Py<PyAny>>> {
    use needlesim::params::posterior::Posterior;
    let p = Posterior::parse(text).map_err(|e| input_error(format!("{e}; {}", e.hint())))?;
    Python::attach(|py| {
        let mut m = std::collections::BTreeMap::new();
        m.insert(
            "parameters".to_string(),
            p.parameters.clone().into_pyobject(py)?.into_any().unbind(),
        );
        m.insert(
            "draws".to_string(),
            p.draws.len().into_pyobject(py)?.into_any().unbind(),
        );
        Ok(m)
    })
}

/// `(fingerprint, entries)` of this build's parameter registry (what a posterior file names).
#[pyfunction]
pub fn registry_fingerprint() -> (String, usize) {
    needlesim::params::posterior::registry_fingerprint()
}
