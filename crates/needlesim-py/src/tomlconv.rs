//! Python dicts to TOML text (`Study.from_dict`), and parameter overrides written into an input's
//! `[params.<group>]` tables, so that the one validator reads every input.

use std::collections::BTreeMap;

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use toml::{Table, Value};

use crate::errors::input_error;

fn describe(path: &str) -> String {
    if path.is_empty() {
        "the dict".into()
    } else {
        format!("`{path}`")
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn table(obj: &Bound<'_, PyDict>, path: &str) -> PyResult<Table> {
    let mut t = Table::new();
    for (k, v) in obj.iter() {
        let Ok(key) = k.extract::<String>() else {
            return Err(input_error(format!(
                "{}: key {} is not a string\n      hint: the dict mirrors a TOML file: keys are strings",
                describe(path),
                k.repr()?
            )));
        };
        let p = join(path, &key);
        if v.is_none() {
            // TOML has no null: a key set to None is left out (the file's default applies).
            continue;
        }
        t.insert(key, value(&v, &p)?);
    }
    Ok(t)
}

fn value(v: &Bound<'_, PyAny>, path: &str) -> PyResult<Value> {
    if v.is_instance_of::<PyBool>() {
        return Ok(Value::Boolean(v.extract()?));
    }
    if v.is_instance_of::<PyInt>() {
        return v.extract::<i64>().map(Value::Integer).map_err(|_| {
            input_error(format!(
                "{} = {}: integer out of range for TOML (64-bit)",
                describe(path),
                v
            ))
        });
    }
    if v.is_instance_of::<PyFloat>() {
        return Ok(Value::Float(v.extract()?));
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(Value::String(s.to_string()));
    }
    if let Ok(d) = v.cast::<PyDict>() {
        return Ok(Value::Table(table(d, path)?));
    }
    if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        let mut items = Vec::new();
        for (i, item) in v.try_iter()?.enumerate() {
            let item = item?;
            let p = format!("{path}[{i}]");
            if item.is_none() {
                return Err(input_error(format!(
                    "{} is None: TOML arrays cannot hold nothing\n      hint: remove the item",
                    describe(&p)
                )));
            }
            items.push(value(&item, &p)?);
        }
        return Ok(Value::Array(items));
    }
    // datetime.date / datetime.datetime: their ISO text is a TOML date or date-time.
    let datetime = v.py().import("datetime")?;
    if v.is_instance(&datetime.getattr("date")?)? {
        let iso: String = v.call_method0("isoformat")?.extract()?;
        if let Ok(d) = iso.parse::<toml::value::Datetime>() {
            return Ok(Value::Datetime(d));
        }
    }
    // numpy scalars and other numbers.
    if v.hasattr("__index__")? {
        if let Ok(i) = v.call_method0("__index__").and_then(|i| i.extract::<i64>()) {
            return Ok(Value::Integer(i));
        }
    }
    if v.hasattr("__float__")? {
        if let Ok(f) = v.call_method0("__float__").and_then(|f| f.extract::<f64>()) {
            return Ok(Value::Float(f));
        }
    }
    if v.hasattr("keys")? {
        let d = PyDict::new(v.py());
        d.call_method1("update", (v,))?;
        return Ok(Value::Table(table(&d, path)?));
    }
    Err(input_error(format!(
        "{} = {}: a {} cannot be written in TOML\n      hint: use dicts, lists, strings, numbers, booleans and dates (as a TOML file would)",
        describe(path),
        v.repr()?,
        v.get_type().name()?
    )))
}

/// The TOML text of a dict shaped like an input file.
pub fn dict_to_toml(data: &Bound<'_, PyAny>) -> PyResult<String> {
    let Value::Table(t) = value(data, "")? else {
        return Err(input_error(format!(
            "expected a dict (the TOML file's top-level table), got a {}",
            data.get_type().name()?
        )));
    };
    toml::to_string(&t).map_err(|e| input_error(format!("writing the dict as TOML: {e}")))
}

/// `text` with `overrides` (`"group.name"` -> value) written into its `[params.<group>]`
/// tables (replacing the file's own value of the same entry).
pub fn with_overrides(text: &str, overrides: &BTreeMap<String, f64>) -> Result<String, String> {
    let mut doc: Table = text
        .parse()
        .map_err(|e| format!("the input is not valid TOML: {e}"))?;
    let params = doc
        .entry("params")
        .or_insert_with(|| Value::Table(Table::new()));
    let Value::Table(params) = params else {
        return Err(
            "`params` in the input is not a table; it must hold `[params.<group>]` tables".into(),
        );
    };
    for (path, &v) in overrides {
        let (group, name) = path.split_once('.').unwrap_or((path, ""));
        let g = params
            .entry(group)
            .or_insert_with(|| Value::Table(Table::new()));
        let Value::Table(g) = g else {
            return Err(format!("`params.{group}` in the input is not a table"));
        };
        g.insert(name.to_string(), Value::Float(v));
    }
    toml::to_string(&doc).map_err(|e| format!("writing the input with its overrides: {e}"))
}
