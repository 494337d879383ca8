//! The healing cascade: what skin does after the needles.
//!
//! Owns the biology after injury: damage, platelet growth factors, inflammatory signal,
//! neutrophils and macrophages, TGF-β, fibroblasts (quiescent, activated, matrix-synthesising),
//! collagen III and I, elastin, collagenase activity, the vascular response (redness, swelling)
//! and the epidermis (barrier, thickness); sessions repeated at any interval; outcomes with
//! uncertainty bands. It reads the injury's [`crate::injury::ChannelSet`] and the
//! [`crate::skin::SkinColumn`]; it does not move needles or parse files.
//!
//! * [`params`]: every constant, with provenance (exported to `docs/parameters.csv`).
//! * [`model`]: the state variables and their equations (one compartment).
//! * [`ode`]: the stiff integrator (TR-BDF2).
//! * [`lumped`]: per-layer compartments through a protocol.
//! * [`sbml`]: SBML export of the lumped model (the independent cross-check of [`ode`]).
//! * [`outcomes`]: mapping to clinical outcomes, uncertainty bands, the report types.
//! * [`spatial`]: the same kinetics per voxel on the transport engine (unit cell around a
//!   channel), checkpoints and resume; [`patch`]: the 3-D patch over a zone's puncture maps;
//!   [`cross_section`]: their depth-by-width SVG heat maps.
//!
//! Equations and assumptions: `docs/MODEL.md (Healing)`.

pub mod cross_section;
pub mod lumped;
pub mod model;
pub mod ode;
pub mod outcomes;
/// The healing model's constants: declared in the parameter registry (`crate::params::healing`),
/// below the models, and read here under their old path.
pub use crate::params::healing as params;
mod numerics;
pub mod patch;
pub mod report;
pub mod sbml;
pub mod simulate;
pub mod spatial;

pub use params::HealingParams;
