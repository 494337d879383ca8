//! The crate-level error: what a [`crate::study::Study`] run (or the validation) can fail with.
//!
//! It wraps the module errors at the seams; each keeps its own message (file, field path,
//! value, allowed range, hint). [`Error::is_bad_input`] tells a fault in the input (exit
//! status 2 on the command line) from a failure of the run.

use std::path::PathBuf;

use crate::delivery::DeliveryError;
use crate::device::DeviceError;
use crate::healing::simulate::SimulateError;
use crate::input::{FileError, ScenarioError};
use crate::plan::{PatientError, PlanError};
use crate::validate::ValidateError;

/// Why a study, a validation run or writing their outputs failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The scenario file cannot be read or is invalid.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The patient file cannot be read or is invalid.
    #[error(transparent)]
    Patient(#[from] PatientError),
    /// Another input file (a cohort file) cannot be read or is invalid.
    #[error(transparent)]
    File(#[from] FileError),
    /// The input does not fit the command (e.g. `simulate` without `[protocol]`, `deliver`
    /// without `[delivery]`, a patient file where a scenario is needed).
    #[error("{0}")]
    Input(String),
    #[error("generating punctures")]
    Device(#[source] DeviceError),
    #[error("simulating delivery")]
    Delivery(#[source] DeliveryError),
    #[error(transparent)]
    Healing(SimulateError),
    #[error("making the plan")]
    Plan(#[source] PlanError),
    #[error(transparent)]
    Validate(#[from] ValidateError),
    /// The run's memory estimate exceeds its limit ([`crate::budget`]).
    #[error(transparent)]
    Budget(#[from] crate::budget::BudgetError),
    /// Reading or writing a file or folder.
    #[error("{what} `{}`", .path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The hair model refused its input (a field named) or failed.
    #[error("hair: {0}")]
    Hair(#[from] crate::hair::HairError),
    /// A run that completed but failed its checks (e.g. a validation case regressed).
    #[error("{0}")]
    Failed(String),
    /// Drawing a figure.
    #[error("drawing `{what}`")]
    Plot {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// True when the input is at fault (the command line exits with status 2).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Error::Scenario(_)
                | Error::Patient(_)
                | Error::File(_)
                | Error::Input(_)
                | Error::Healing(SimulateError::NoProtocol(_))
                // A validation case file with broken values or inputs.
                | Error::Validate(ValidateError::Case { .. })
                // Refused up front: the estimate, the limit and what to change are in the message.
                | Error::Budget(_)
        ) || matches!(self, Error::Hair(e) if e.is_bad_input())
    }

    /// An I/O error on `path`.
    pub fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            what,
            path: path.into(),
            source,
        }
    }
}

impl From<DeviceError> for Error {
    fn from(e: DeviceError) -> Error {
        Error::Device(e)
    }
}

impl From<DeliveryError> for Error {
    fn from(e: DeliveryError) -> Error {
        Error::Delivery(e)
    }
}

impl From<SimulateError> for Error {
    fn from(e: SimulateError) -> Error {
        match e {
            SimulateError::Device(d) => Error::Device(d),
            other => Error::Healing(other),
        }
    }
}

impl From<PlanError> for Error {
    fn from(e: PlanError) -> Error {
        Error::Plan(e)
    }
}

/// Results of the library's front door.
pub type Result<T, E = Error> = std::result::Result<T, E>;
