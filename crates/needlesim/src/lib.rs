//! # needlesim
//!
//! A simulator and treatment planner for microneedling (collagen induction therapy).
//!
//! The library follows one pipeline (see `docs/ARCHITECTURE.md`):
//!
//! ```text
//! scenario.toml --(input)--> Scenario (SI units)          Study::from_path
//!   device::generate(device, zone, technique, seed) -> PunctureSet
//!   skin::column(site, person, overrides)            -> SkinColumn
//!   injury::channels(punctures, column, params, seed) -> ChannelSet
//!   delivery (if asked) -> healing per session -> outcomes   study.run(&RunOptions)
//!   result files, report, summary                            StudyRun::write(dir)
//! ```
//!
//! The front door is [`study::Study`]; its one pipeline function is [`study::pipeline::run`].
//!
//! Everything inside the library is in SI units (m, s, kg, mol). Human units (mm, µm, days)
//! appear only in input files, flags and printed output, and are converted once in [`input`],
//! a leaf that no model imports.

pub mod budget;
pub mod cohort;
pub mod delivery;
pub mod device;
pub mod error;
pub mod hair;
pub mod healing;
pub mod injury;
pub mod input;
pub mod params;
pub mod pipeline;
pub mod plan;
pub mod progress;
pub mod protocol;
pub mod registry;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod skin;
pub mod study;
pub mod timings;
/// The transport engine, its own crate ([`needlesim_transport`]), re-exported so
/// `needlesim::transport::...` paths keep working.
pub use needlesim_transport as transport;
pub mod units;
pub mod validate;

pub use error::{Error, Result};
pub use study::{RunOptions, Study, StudyRun};

/// The version of the JSON output schemas. Bumped on any incompatible change (2.0: the
/// wall-clock fields `plan.json` `timings_ms` and `delivery.json` `numerics.wall_s` are gone).
pub const SCHEMA_VERSION: &str = "2.0";

/// The library guide, `docs/LIBRARY.md`: one runnable example per model, compiled and run as
/// doc tests so that it stays in step with the code.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/LIBRARY.md")]
pub struct LibraryGuide;
