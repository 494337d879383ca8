//! The library's errors as the package's exceptions (defined in `needlesim/_errors.py`):
//!
//! * `FieldError(InputError)`: an input field is wrong; `.field`, `.value`, `.hint` of the first
//!   problem, `.errors` lists every problem (field, value, message, hint, line);
//! * `InputError(NeedlesimError, ValueError)`: any other fault of the input (exit status 2 on the
//!   command line);
//! * `RunError(NeedlesimError, RuntimeError)`: the run failed.

use needlesim::input::FieldError;
use needlesim::params::ParamError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// The message with its causes, as the command line prints it (`a: b: c`).
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

fn make(
    class: &str,
    args: impl FnOnce(Python<'_>) -> PyResult<Bound<'_, PyDict>>,
    msg: &str,
) -> PyErr {
    Python::attach(|py| {
        let built = (|| -> PyResult<PyErr> {
            let cls = py.import("needlesim._errors")?.getattr(class)?;
            let kwargs = args(py)?;
            let exc = cls.call((msg,), Some(&kwargs))?;
            Ok(PyErr::from_value(exc))
        })();
        built.unwrap_or_else(|e| e)
    })
}

fn field_list<'py>(py: Python<'py>, errors: &[FieldError]) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for e in errors {
        let d = PyDict::new(py);
        d.set_item("field", &e.path)?;
        d.set_item("value", &e.value)?;
        d.set_item("message", &e.message)?;
        d.set_item("hint", &e.hint)?;
        d.set_item("line", e.line)?;
        list.append(d)?;
    }
    Ok(list)
}

/// A `needlesim::Error` as the package's exception.
pub fn to_pyerr(e: needlesim::Error) -> PyErr {
    let fields: &[FieldError] = match &e {
        needlesim::Error::Scenario(s) => s.field_errors(),
        needlesim::Error::Patient(p) => p.field_errors(),
        needlesim::Error::File(f) => f.field_errors(),
        _ => &[],
    };
    let msg = chain(&e);
    if let Some(first) = fields.first() {
        return make(
            "FieldError",
            |py| {
                let d = PyDict::new(py);
                d.set_item("field", &first.path)?;
                d.set_item("value", &first.value)?;
                d.set_item("hint", &first.hint)?;
                d.set_item("errors", field_list(py, fields)?)?;
                Ok(d)
            },
            &msg,
        );
    }
    if e.is_bad_input() {
        input_error(msg)
    } else {
        run_error(msg)
    }
}

/// A `RunError` with a message.
pub fn run_error(msg: impl Into<String>) -> PyErr {
    make("RunError", |py| Ok(PyDict::new(py)), &msg.into())
}

/// An `InputError` with a message.
pub fn input_error(msg: impl Into<String>) -> PyErr {
    make("InputError", |py| Ok(PyDict::new(py)), &msg.into())
}

/// A parameter that cannot be read or set: a `ParamError` (a `FieldError` at
/// `params.<group>.<name>`; also a `KeyError` for an unknown name).
pub fn param_error(name: &str, value: Option<f64>, e: &ParamError) -> PyErr {
    let unknown = matches!(
        e,
        ParamError::UnknownGroup { .. } | ParamError::UnknownName { .. }
    );
    let field = format!("params.{name}");
    let value = value.map_or("-".to_string(), needlesim::params::format_sig);
    let msg = format!("{e}\n      hint: {}", e.hint());
    make(
        if unknown {
            "UnknownParamError"
        } else {
            "ParamError"
        },
        |py| {
            let d = PyDict::new(py);
            d.set_item("field", &field)?;
            d.set_item("value", &value)?;
            d.set_item("hint", e.hint())?;
            if let ParamError::UnknownName { closest, .. } = e {
                d.set_item("closest", closest.clone())?;
            }
            Ok(d)
        },
        &msg,
    )
}
