//! Topical delivery through microchannels (issue 4).
//!
//! How much of a product applied after needling gets into the skin, where, and for how long.
//! This module owns the compound library ([`compounds`], data in `data/compounds.toml`), the
//! transport parameters derived from it ([`physchem`]), the closure of the channels over time
//! ([`closure`]) and the dosing schedule ([`dosing`]). It reads a [`crate::injury::ChannelSet`]
//! and a [`crate::skin::SkinColumn`]; it does not generate punctures or model healing.
//!
//! Units are SI throughout (m, s, kg); amounts per area are kg/m² (1 kg/m² = 100 mg/cm² =
//! 1e8 µg/cm²). Equations, parameters and sources: `docs/MODEL.md (Delivery)`.

pub mod closure;
pub mod compounds;
pub mod dosing;
pub mod experiment;
pub mod model;
pub mod nerve;
pub mod numbing;
pub mod physchem;
pub mod report;
pub mod run;

use thiserror::Error;

/// Errors of the delivery model.
#[derive(Debug, Error, PartialEq)]
pub enum DeliveryError {
    #[error("compound library `{file}` has {} problem(s):\n{}", .problems.len(), bullet(.problems))]
    Library { file: String, problems: Vec<String> },
    #[error("unknown compound {name:?}{}", suggest(.close))]
    UnknownCompound { name: String, close: Vec<String> },
    #[error("unknown product {name:?}{}", suggest(.close))]
    UnknownProduct { name: String, close: Vec<String> },
    #[error("dosing schedule has {} problem(s):\n{}", .0.len(), bullet(.0))]
    Dosing(Vec<String>),
    #[error("{0}")]
    Invalid(String),
    #[error("the simulation produced a non-finite value ({what}) at t = {t_s} s; {hint}")]
    NonFinite {
        what: String,
        t_s: f64,
        hint: String,
    },
    #[error("transport engine: {0}")]
    Transport(String),
}

fn bullet(v: &[String]) -> String {
    v.iter()
        .map(|s| format!("  - {s}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn suggest(close: &[String]) -> String {
    if close.is_empty() {
        "; see data/compounds.toml for the library, or add the compound under [[compounds]] in the scenario".into()
    } else {
        format!(
            "; did you mean {}? (or add it under [[compounds]] in the scenario)",
            close
                .iter()
                .map(|c| format!("{c:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}
