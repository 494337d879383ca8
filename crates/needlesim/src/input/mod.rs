//! The input layer: the files a user writes, read and checked in one place.
//!
//! Input files are written in human units with a suffix (`depth_mm`, `speed_mm_s`,
//! `stratum_corneum_um`). This module is the only place those units are read: every field is
//! checked against its allowed range *as typed*, all problems are reported at once with the
//! file, the field path (`zones[1].width_mm`), the value, the allowed range and a hint, and the
//! result is a validated struct in SI units that the models take. Nothing downstream
//! re-validates user input, and nothing in the models imports this module.
//!
//! - [`scenario`]: the scenario file (`punctures`, `deliver`, `simulate`), one validator per
//!   section;
//! - [`delivery`]: its `[delivery]` and `[[compounds]]` sections;
//! - [`protocol`]: its `[protocol]` section.
//!
//! [`FieldError`], [`Checker`] and [`read_toml`] are shared by every input format (the patient
//! files of `plan` use them too), so that all of them report problems the same way.

use std::fmt;

use serde::Serialize;

use crate::skin::Site;

pub mod delivery;
pub mod hair;
mod params;
pub mod protocol;
pub mod scenario;

pub use scenario::{load, parse, parse_raw, validate};

/// One problem with one field.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldError {
    /// Path of the field, e.g. `device.depth_mm` or `zones[2].site`.
    pub path: String,
    /// The offending value as written (or a short description).
    pub value: String,
    /// What is wrong, including the allowed range or values.
    pub message: String,
    /// What to do about it.
    pub hint: String,
    /// 1-based line in the file, when known.
    pub line: Option<usize>,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(
                f,
                "{} = {} (line {}): {}",
                self.path, self.value, l, self.message
            )?,
            None => write!(f, "{} = {}: {}", self.path, self.value, self.message)?,
        }
        if !self.hint.is_empty() {
            write!(f, "\n      hint: {}", self.hint)?;
        }
        Ok(())
    }
}

/// The longest value echoed in an error message, in characters; longer values (a long string,
/// a list of vertices) are cut and end with an ellipsis.
pub const MAX_ECHOED_CHARS: usize = 60;

/// `s`, cut to [`MAX_ECHOED_CHARS`] characters with an ellipsis when longer.
pub fn shorten(s: &str) -> String {
    if s.chars().count() <= MAX_ECHOED_CHARS {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(MAX_ECHOED_CHARS - 1).collect();
        out.push('…');
        out
    }
}

impl FieldError {
    /// A field error; the value is shortened (see [`shorten`]).
    pub fn new(
        path: &str,
        value: impl fmt::Display,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> FieldError {
        FieldError {
            path: path.to_string(),
            value: shorten(&value.to_string()),
            message: message.into(),
            hint: hint.into(),
            line: None,
        }
    }
}

/// The section of the book (`docs/book/`) that explains a field of an input file, as
/// `docs/book/<chapter>.md#<anchor>`; `kind` is `"scenario"`, `"patient"` or `"cohort"` and
/// `path` the field path of a [`FieldError`] (`protocol.sessions`, `zones[1].site`). `None`
/// when the book has no section for it. A test keeps every target pointing at a heading.
pub fn book_section(kind: &str, path: &str) -> Option<&'static str> {
    let top = path.split(['.', '[']).next().unwrap_or("").trim();
    if top == "params" {
        return Some("docs/book/researcher.md#changing-model-parameters");
    }
    Some(match (kind, top) {
        ("scenario", "protocol") => "docs/book/researcher.md#the-protocol-section",
        ("scenario", "delivery" | "compounds") => "docs/book/formulation.md#the-delivery-section",
        ("scenario", "device") => "docs/book/device-engineer.md#the-device",
        ("scenario", "technique") => "docs/book/device-engineer.md#technique",
        ("scenario", "zones") => "docs/book/device-engineer.md#zones",
        ("scenario", _) => "docs/book/device-engineer.md#the-scenario-file",
        ("patient", "history" | "medications" | "procedures" | "skin_state") => {
            "docs/book/practitioner.md#history-and-medicines"
        }
        ("patient", "zones") => "docs/book/practitioner.md#zones-and-concerns",
        ("patient", "goals") => "docs/book/practitioner.md#goals-and-limits",
        ("patient", "practitioner") => "docs/book/practitioner.md#your-own-patient",
        ("patient", _) => "docs/book/practitioner.md#the-patient-file",
        ("cohort", _) => "docs/book/researcher.md#virtual-cohorts",
        _ => return None,
    })
}

/// Every field path [`book_section`] maps, with the section: for the test that the book has them.
pub const BOOK_SECTIONS: &[(&str, &str)] = &[
    ("scenario", "params.healing.x"),
    ("scenario", "protocol.sessions"),
    ("scenario", "delivery.compound"),
    ("scenario", "device.depth_mm"),
    ("scenario", "technique.passes"),
    ("scenario", "zones[0].site"),
    ("scenario", "person.age_years"),
    ("patient", "history.pih_history"),
    ("patient", "zones[0].site"),
    ("patient", "goals.max_downtime_days"),
    ("patient", "practitioner.waive"),
    ("patient", "patient.phototype"),
    ("cohort", "age.min_years"),
];

/// Appends "see docs/book/<chapter>.md#<anchor>" to the hint of every error whose field the
/// book explains (once: errors passed on from one check to another are not pointed twice).
pub(crate) fn point_into_book(kind: &str, mut errors: Vec<FieldError>) -> Vec<FieldError> {
    for e in &mut errors {
        if let Some(section) = book_section(kind, &e.path)
            && !e.hint.contains("docs/book/")
        {
            e.hint = if e.hint.is_empty() {
                format!("see {section}")
            } else {
                format!("{}; see {section}", e.hint)
            };
        }
    }
    errors
}

/// What kind of input file a TOML text is, judged from its top-level keys; used to say "this is
/// a patient file" rather than list the keys a scenario lacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FileKind {
    Scenario,
    Patient,
}

/// The kind of `text` when its top-level keys say so clearly, else `None`.
pub(crate) fn file_kind(text: &str) -> Option<FileKind> {
    let t: toml::Table = text.parse().ok()?;
    let has = |k: &str| t.contains_key(k);
    let scenario = has("person") || has("device") || has("technique");
    let patient = has("patient") || has("practitioner") || has("medications");
    match (scenario, patient) {
        (true, false) => Some(FileKind::Scenario),
        (false, true) => Some(FileKind::Patient),
        _ => None,
    }
}

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error(
        "cannot read scenario file `{file}`: {source}\n  hint: check the path; scenario files are TOML, see `needlesim schema scenario` and examples/"
    )]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "scenario file `{file}` is not valid TOML (line {line}, column {column}): {message}\n  hint: check quoting, brackets and `key = value` syntax near that line"
    )]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("scenario file `{file}` has {} problem(s):\n{}", .errors.len(), format_list(.errors))]
    Invalid {
        file: String,
        errors: Vec<FieldError>,
    },
    #[error(
        "`{file}` is not a scenario file: this is a patient file: use `needlesim plan {file}`\n  hint: `punctures`, `deliver` and `simulate` read scenario files (examples/*.toml); `plan` reads patient files (examples/patients/)"
    )]
    PatientFile { file: String },
}

/// Why an input file of the kinds without their own error type (cohort files) could not be
/// loaded: the same three cases, worded the same way, as [`ScenarioError`].
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error(
        "cannot read {kind} file `{file}`: {source}\n  hint: check the path; {kind} files are TOML, see `needlesim schema {kind}` and {examples}"
    )]
    Io {
        kind: &'static str,
        file: String,
        examples: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{kind} file `{file}` is not valid TOML (line {line}, column {column}): {message}\n  hint: check quoting, brackets and `key = value` syntax near that line"
    )]
    Syntax {
        kind: &'static str,
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{kind} file `{file}` has {} problem(s):\n{}", .errors.len(), format_list(.errors))]
    Invalid {
        kind: &'static str,
        file: String,
        errors: Vec<FieldError>,
    },
}

impl FileError {
    /// The field errors, if this is a validation failure.
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            FileError::Invalid { errors, .. } => errors,
            _ => &[],
        }
    }
}

/// Field errors as a bulleted list, one per line (scenario and patient files alike).
pub(crate) fn format_list(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("  - {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl ScenarioError {
    /// The field errors, if this is a validation failure.
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            ScenarioError::Invalid { errors, .. } => errors,
            _ => &[],
        }
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = offset
        - before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1)
        + 1;
    (line, col)
}

/// A problem found while reading a TOML input file, before any range check.
pub(crate) enum TomlProblem {
    /// Not valid TOML.
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// Valid TOML that does not fit the file's structure (unknown or missing key, wrong type).
    Field(FieldError),
}

/// Reads TOML text into one of the input-file structs. Syntax errors carry line and column;
/// structural errors carry the field path and line, with a hint naming the schema command
/// (`needlesim schema <schema>`) and the folder of complete examples.
pub(crate) fn read_toml<T: serde::de::DeserializeOwned>(
    text: &str,
    schema: &str,
    examples: &str,
) -> Result<T, TomlProblem> {
    let de = toml::Deserializer::parse(text).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
        let mut message = e.message().trim().to_string();
        // The TOML reader says only "duplicate key"; its span is the key (or the table name).
        if message == "duplicate key"
            && let Some(key) = e.span().and_then(|s| text.get(s)).map(str::trim)
            && !key.is_empty()
        {
            message = format!(
                "duplicate key `{}`: it is set twice (a key, or a [table] other than a [[list]] entry, may appear only once)",
                shorten(key)
            );
        }
        TomlProblem::Syntax {
            line,
            column,
            message,
        }
    })?;
    serde_path_to_error::deserialize::<_, T>(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let line = inner.span().map(|s| line_col(text, s.start).0);
        let message = inner.message().trim().to_string();
        let hint = if message.contains("unknown field") {
            format!("remove or rename the key; `needlesim schema {schema}` lists every allowed key")
        } else if message.contains("missing field") {
            format!("add the missing key; see {examples} for complete files")
        } else {
            format!("check the value's type (number, whole number, true/false, string, list); see `needlesim schema {schema}`")
        };
        TomlProblem::Field(FieldError {
            path: if path == "." { "(top level)".into() } else { path },
            value: "-".into(),
            message,
            hint,
            line,
        })
    })
}

/// Collects field errors while converting an input file; shared by every file format so that
/// all of them report problems the same way. Modules add their own checks in their own
/// `impl Checker` blocks.
pub(crate) struct Checker {
    pub(crate) errors: Vec<FieldError>,
}

impl Checker {
    pub(crate) fn new() -> Checker {
        Checker { errors: Vec::new() }
    }

    /// An anatomical site by its file name; an unknown name is an error listing the allowed ones.
    pub(crate) fn site(&mut self, path: &str, name: &str) -> Option<Site> {
        let site = Site::from_name(name);
        if site.is_none() {
            let all: Vec<_> = Site::ALL.iter().map(|s| s.name()).collect();
            self.fail(
                path,
                format!("{name:?}"),
                format!("is not a known site; allowed: {}", all.join(", ")),
                "pick the nearest anatomical site",
            );
        }
        site
    }

    pub(crate) fn fail(
        &mut self,
        path: &str,
        value: impl fmt::Display,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.errors
            .push(FieldError::new(path, value, message, hint));
    }

    /// A finite number in `[min, max]`; returns it or records an error and returns `None`.
    pub(crate) fn range(
        &mut self,
        path: &str,
        v: f64,
        min: f64,
        max: f64,
        unit: &str,
        hint: &str,
    ) -> Option<f64> {
        if v.is_finite() && v >= min && v <= max {
            Some(v)
        } else {
            self.fail(
                path,
                v,
                format!("must be a finite number within {min}-{max} {unit}"),
                hint,
            );
            None
        }
    }

    /// An optional number with a default, range-checked.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn opt(
        &mut self,
        path: &str,
        v: Option<f64>,
        default: f64,
        min: f64,
        max: f64,
        unit: &str,
        hint: &str,
    ) -> f64 {
        match v {
            Some(x) => self.range(path, x, min, max, unit, hint).unwrap_or(default),
            None => default,
        }
    }

    /// A required number (per device kind), range-checked.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn req(
        &mut self,
        path: &str,
        v: Option<f64>,
        min: f64,
        max: f64,
        unit: &str,
        what: &str,
        hint: &str,
    ) -> f64 {
        match v {
            Some(x) => self.range(path, x, min, max, unit, hint).unwrap_or(min),
            None => {
                self.fail(
                    path,
                    "(missing)",
                    format!("is required {what}; allowed {min}-{max} {unit}"),
                    hint,
                );
                min
            }
        }
    }

    pub(crate) fn int(
        &mut self,
        path: &str,
        v: i64,
        min: i64,
        max: i64,
        hint: &str,
    ) -> Option<u32> {
        if (min..=max).contains(&v) {
            Some(v as u32)
        } else {
            self.fail(
                path,
                v,
                format!("must be a whole number within {min}-{max}"),
                hint,
            );
            None
        }
    }

    /// A field that must be absent for this device kind.
    pub(crate) fn absent<T: fmt::Debug>(&mut self, path: &str, v: &Option<T>, kind: &str) {
        if let Some(x) = v {
            self.fail(
                path,
                format!("{x:?}"),
                format!("does not apply to a {kind}"),
                "remove it, or change device.kind if you meant another device",
            );
        }
    }
}
