//! # needlesim
//!
//! A simulator and treatment planner for microneedling (collagen induction therapy).
//!
//! The library follows one pipeline (see `docs/ARCHITECTURE.md`):
//!
//! ```text
//! scenario.toml --(input)--> Scenario (SI units)
//!   device::generate(device, zone, technique, seed) -> PunctureSet
//!   skin::column(site, person, overrides)            -> SkinColumn
//!   injury::channels(punctures, column, params, seed) -> ChannelSet
//! ```
//!
//! Everything inside the library is in SI units (m, s, kg, mol). Human units (mm, µm, days)
//! appear only in input files, flags and printed output, and are converted once in [`input`],
//! a leaf that no model imports.

pub mod delivery;
pub mod device;
pub mod healing;
pub mod input;
pub mod injury;
pub mod pipeline;
pub mod plan;
pub mod progress;
pub mod protocol;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod skin;
pub mod transport;
pub mod units;
pub mod validate;

/// The version of the JSON output schemas. Bumped on any incompatible change.
pub const SCHEMA_VERSION: &str = "1.0";
