//! # needlesim
//!
//! A simulator and treatment planner for microneedling (collagen induction therapy).
//!
//! The library follows one pipeline (see `docs/ARCHITECTURE.md`):
//!
//! ```text
//! scenario.toml --(scenario)--> Scenario (SI units)
//!   device::generate(device, zone, technique, seed) -> PunctureSet
//!   skin::column(site, person, overrides)            -> SkinColumn
//!   injury::channels(punctures, column, params, seed) -> ChannelSet
//! ```
//!
//! Everything inside the library is in SI units (m, s, kg, mol). Human units (mm, µm, days)
//! appear only in scenario files, flags and printed output, and are converted once in
//! [`scenario`].

pub mod budget;
pub mod delivery;
pub mod device;
pub mod healing;
pub mod injury;
pub mod pipeline;
pub mod plan;
pub mod progress;
pub mod protocol;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod skin;
/// The transport engine, its own crate ([`needlesim_transport`]), re-exported so
/// `needlesim::transport::...` paths keep working.
pub use needlesim_transport as transport;
pub mod units;
pub mod validate;

/// The version of the JSON output schemas. Bumped on any incompatible change.
pub const SCHEMA_VERSION: &str = "1.0";
