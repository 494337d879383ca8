//! The validated scenario, in SI units: who is treated, with what device, where and how.
//!
//! A [`Scenario`] is made by the input layer (`input`, above the models) from a scenario file;
//! the models take it as it is and never re-validate it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::device::{Device, Technique, Zone};
use crate::injury::InjuryParams;
use crate::skin::{Person, SkinColumn};
use crate::units::MINUTE;

// ---------------------------------------------------------------------------------------------
// The validated scenario (SI).
// ---------------------------------------------------------------------------------------------

/// Topical anaesthetic used before needling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Numbing {
    None,
    /// 4 % liposomal lidocaine (LMX-4): anaesthesia within 30 min without occlusion
    /// (Pesaturo & Matthews 2009, US Pharmacist 34(3)).
    #[serde(rename = "lidocaine_4_liposomal")]
    Lidocaine4Liposomal,
    /// EMLA under occlusion: at least 60 min for minor procedures (EMLA US prescribing
    /// information).
    EmlaOccluded,
}

impl Numbing {
    /// The name used in files and printed output.
    pub fn name(self) -> &'static str {
        match self {
            Numbing::None => "none",
            Numbing::Lidocaine4Liposomal => "lidocaine_4_liposomal",
            Numbing::EmlaOccluded => "emla_occluded",
        }
    }

    /// Application time before needling, s.
    pub fn wait_s(self) -> f64 {
        match self {
            Numbing::None => 0.0,
            Numbing::Lidocaine4Liposomal => 30.0 * MINUTE,
            Numbing::EmlaOccluded => 60.0 * MINUTE,
        }
    }
}

/// Session-level times, SI.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SessionPlan {
    pub preparation_s: f64,
    pub numbing: Numbing,
    pub aftercare_s: f64,
}

/// One zone with its resolved device and skin.
#[derive(Clone, Debug, PartialEq)]
pub struct ZoneSetup {
    pub zone: Zone,
    /// The device as used on this zone (pen depth per zone applied).
    pub device: Device,
    pub column: SkinColumn,
}

/// A validated scenario in SI units.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub title: String,
    pub seed: u64,
    pub person: Person,
    pub technique: Technique,
    pub zones: Vec<ZoneSetup>,
    pub injury: InjuryParams,
    pub session: SessionPlan,
    /// Non-fatal remarks found during validation (shown in outputs).
    pub warnings: Vec<String>,
    /// The protocol, when the file has a `[protocol]` section.
    pub protocol: Option<crate::protocol::Protocol>,
    /// The model parameters: defaults with the file's `[params]` overrides.
    pub params: crate::params::ModelParams,
    /// Whose skin (`[skin] species`; human unless a file says otherwise).
    pub species: crate::skin::Species,
}
