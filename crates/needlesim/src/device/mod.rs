//! Needle devices and the puncture maps they make.
//!
//! Owns the device descriptions (roller, automated pen, stamp), treatment zones and technique,
//! and the seeded generator that turns them into a [`PunctureSet`]. It knows nothing about skin:
//! depths here are *nominal* (needle length or pen depth setting); what the skin does with them
//! is [`crate::injury`]'s job.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub mod generate;
mod geometry;
pub mod params;
mod pen;
mod presets;
mod roller;
mod stamp;
pub mod zone;

pub use generate::{
    SessionEstimate, estimate, estimate_with, expected_density_per_pass_m2, generate,
    generate_with, puncture_rate_hz, stroke_direction_rad,
};
pub use params::DeviceParams;
pub use presets::{ASSUMED_PEN_HEAD_DIAMETER_M, ASSUMED_TIP_ANGLE_RAD};
pub use stamp::PRESS_JITTER_FRACTION;
pub use zone::{Shape, Zone};

/// One needle's geometry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Needle {
    /// Length protruding from the drum / cartridge / stamp plate, m. For a pen this is the
    /// depth setting.
    pub length_m: f64,
    /// Shaft diameter, m.
    pub diameter_m: f64,
    /// Full cone angle of the tip, radians.
    pub tip_angle_rad: f64,
}

/// A hand roller (e.g. Dermaroller MF8: 192 needles in 8 rows on a 2 cm x 2 cm drum).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Roller {
    pub drum_diameter_m: f64,
    pub drum_width_m: f64,
    pub needle_count: u32,
    /// Number of needle rows around the drum circumference.
    pub rows: u32,
    pub needle: Needle,
}

/// How the needles sit in a pen cartridge.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CartridgeLayout {
    /// Needles packed in concentric rings filling a round head.
    Round,
    /// A rectangular grid of `rows` x `needle_count / rows` needles filling the head's square.
    Grid { rows: u32 },
}

/// An automated (motor-driven, reciprocating) pen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Pen {
    pub needle_count: u32,
    pub layout: CartridgeLayout,
    /// Diameter of the needle-bearing face of the cartridge, m (sets the track width).
    pub head_diameter_m: f64,
    /// Reciprocation frequency, strokes per second (Hz).
    pub stroke_rate_hz: f64,
    /// Depth range the device allows, m (e.g. 0-2.5 mm for SkinPen-type pens).
    pub min_depth_m: f64,
    pub max_depth_m: f64,
    /// `needle.length_m` is the depth setting.
    pub needle: Needle,
}

/// A stamp: a flat plate of needles pressed repeatedly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Stamp {
    pub rows: u32,
    pub cols: u32,
    /// Needle pitch on the plate, m.
    pub pitch_m: f64,
    pub needle: Needle,
}

/// The device used on a zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Device {
    Roller(Roller),
    Pen(Pen),
    Stamp(Stamp),
}

/// How needles enter the skin; it changes how much the skin tents (see [`crate::injury`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InsertionMode {
    /// Perpendicular, fast, motor-driven (pens).
    PenStamping,
    /// Perpendicular, slow, hand-pressed (stamps).
    HandStamping,
    /// Along an arc as a drum rolls (rollers).
    Rolling,
}

impl Device {
    /// The needle geometry.
    pub fn needle(&self) -> &Needle {
        match self {
            Device::Roller(r) => &r.needle,
            Device::Pen(p) => &p.needle,
            Device::Stamp(s) => &s.needle,
        }
    }

    /// The insertion mode of this kind of device.
    pub fn insertion_mode(&self) -> InsertionMode {
        match self {
            Device::Roller(_) => InsertionMode::Rolling,
            Device::Pen(_) => InsertionMode::PenStamping,
            Device::Stamp(_) => InsertionMode::HandStamping,
        }
    }

    /// `"roller"`, `"pen"` or `"stamp"`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Device::Roller(_) => "roller",
            Device::Pen(_) => "pen",
            Device::Stamp(_) => "stamp",
        }
    }
}

/// How the practitioner moves the device over a zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Technique {
    /// Number of passes over the whole zone (each pass covers the zone once).
    pub passes: u32,
    /// Number of distinct stroke directions the passes cycle through (1: all parallel; 2: 0° and
    /// 90°; 3: 0°, 90°, 45°; 4: adds 135°).
    pub directions: u32,
    /// Fraction of the track width by which neighbouring strokes overlap, 0 <= overlap < 1.
    pub overlap: f64,
    /// Hand speed along a stroke, m/s (pen glide speed or roller rolling speed). Unused by stamps.
    pub speed_m_s: f64,
    /// Stamp presses per second (stamps only).
    pub presses_per_s: f64,
    /// Time lost at each stroke end (lifting, turning, repositioning), s.
    pub turnaround_s: f64,
}

/// One puncture.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Puncture {
    /// Position in the zone's frame, m (the zone's bounding box starts at 0, 0).
    pub x_m: f64,
    pub y_m: f64,
    /// Time since the start of the first pass, s.
    pub t_s: f64,
    /// Nominal depth (needle length or depth setting), m.
    pub nominal_depth_m: f64,
    /// Pass index, from 0.
    pub pass: u32,
}

/// The punctures one device makes on one zone in one session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PunctureSet {
    pub zone_area_m2: f64,
    pub insertion: InsertionMode,
    pub needle: Needle,
    /// Time the device is working on the skin (strokes plus turnarounds), s.
    pub needling_time_s: f64,
    /// Expected punctures per m² per pass from the device's kinematics (analytic, without
    /// randomness or edge effects). Reported next to the realised density.
    pub expected_density_per_pass_m2: f64,
    pub punctures: Vec<Puncture>,
}

impl PunctureSet {
    /// Realised areal density, punctures/m².
    pub fn density_m2(&self) -> f64 {
        self.punctures.len() as f64 / self.zone_area_m2
    }
}

/// Errors in device, zone or technique descriptions. The scenario layer has already checked
/// ranges field by field; these are the remaining consistency failures.
#[derive(Debug, Error, PartialEq)]
pub enum DeviceError {
    #[error("the zone is empty: {0}")]
    EmptyZone(String),
    #[error(
        "the puncture map would hold {count} punctures, more than the limit of {limit}; reduce passes, density or zone area"
    )]
    TooManyPunctures { count: u64, limit: u64 },
    #[error("{0}")]
    Inconsistent(String),
}
