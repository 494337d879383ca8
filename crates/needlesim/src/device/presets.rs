//! Reference devices and techniques, with their sources (`literature/transport.md` §3; grades as
//! there: P primary, S secondhand, W weak, D derived, A assumed here).
//!
//! These are defaults for examples, tests and the user interface, not validation targets.

use super::{CartridgeLayout, Needle, Pen, Roller, Stamp, Technique};

const DEG: f64 = std::f64::consts::PI / 180.0;

/// Full cone angle assumed for the tips of steel microneedling needles (A: no tip angle was found
/// in a citable source).
pub const ASSUMED_TIP_ANGLE_RAD: f64 = 30.0 * DEG;

/// Pen cartridge face diameter assumed when none is given (A: not found in a citable source;
/// typical round cartridges are a few millimetres across).
pub const ASSUMED_PEN_HEAD_DIAMETER_M: f64 = 0.007;

impl Roller {
    /// Dermaroller MF8 (Schwarz & Laaff 2011, P): drum 2 cm diameter x 2 cm wide, 192 needles in
    /// 8 rows, needle diameter 0.25 mm, length 1.5 mm. Tip angle assumed.
    pub fn dermaroller_mf8() -> Self {
        Self::mf8_with_length(0.0015)
    }

    /// The MF8 geometry with another needle length (rollers are sold with 0.5-1.5 mm needles;
    /// Doddaballapur 2009, P).
    pub fn mf8_with_length(length_m: f64) -> Self {
        Roller {
            drum_diameter_m: 0.02,
            drum_width_m: 0.02,
            needle_count: 192,
            rows: 8,
            needle: Needle {
                length_m,
                diameter_m: 0.25e-3,
                tip_angle_rad: ASSUMED_TIP_ANGLE_RAD,
            },
        }
    }
}

impl Pen {
    /// A Dermapen-like pen (Wilson 2012, W/S): 11 needles at 90 Hz, depth 0.25-2.5 mm. Round
    /// cartridge of [`ASSUMED_PEN_HEAD_DIAMETER_M`]; needle diameter 0.25 mm and tip angle
    /// assumed (A).
    pub fn dermapen_like(depth_m: f64) -> Self {
        Pen {
            needle_count: 11,
            layout: CartridgeLayout::Round,
            head_diameter_m: ASSUMED_PEN_HEAD_DIAMETER_M,
            stroke_rate_hz: 90.0,
            min_depth_m: 0.25e-3,
            max_depth_m: 2.5e-3,
            needle: Needle {
                length_m: depth_m,
                diameter_m: 0.25e-3,
                tip_angle_rad: ASSUMED_TIP_ANGLE_RAD,
            },
        }
    }

    /// A SkinPen-like pen (pinovaaesthetics.com quoting FDA DEN160029, S): 14 needles, 7000 RPM
    /// taken as one stroke per revolution (116.7 Hz, D), depth 0-2.5 mm in 0.25 mm steps. The
    /// 14 needles are put in 2 rows of 7 across the stroke (A; "arranged in rows", Termedia
    /// review, P); head size, needle diameter and tip angle assumed (A).
    pub fn skinpen_like(depth_m: f64) -> Self {
        Pen {
            needle_count: 14,
            layout: CartridgeLayout::Grid { rows: 2 },
            head_diameter_m: ASSUMED_PEN_HEAD_DIAMETER_M,
            stroke_rate_hz: 7000.0 / 60.0,
            min_depth_m: 0.0,
            max_depth_m: 2.5e-3,
            needle: Needle {
                length_m: depth_m,
                diameter_m: 0.25e-3,
                tip_angle_rad: ASSUMED_TIP_ANGLE_RAD,
            },
        }
    }
}

impl Stamp {
    /// A hand stamp with 35 needles (5 x 7) at 1.5 mm pitch (A: typical of marketed "derma
    /// stamps"; no citable specification was found).
    pub fn stamp_35(length_m: f64) -> Self {
        Stamp {
            rows: 5,
            cols: 7,
            pitch_m: 1.5e-3,
            needle: Needle {
                length_m,
                diameter_m: 0.25e-3,
                tip_angle_rad: ASSUMED_TIP_ANGLE_RAD,
            },
        }
    }
}

impl Technique {
    /// The standard roller protocol behind "≈ 250 holes/cm² after 15 passes" (Doddaballapur
    /// 2009, P): 15 passes in 4 directions (vertical, horizontal, both diagonals; Nair & Arora,
    /// P), no overlap; rolling speed 5 cm/s and 0.5 s per stroke end (A).
    pub fn roller_standard() -> Self {
        Technique {
            passes: 15,
            directions: 4,
            overlap: 0.0,
            speed_m_s: 0.05,
            presses_per_s: 1.0,
            turnaround_s: 0.5,
        }
    }

    /// A typical pen technique: 3 passes in 3 directions, no overlap, glide 2 cm/s, 0.5 s per
    /// stroke end (A: practitioners describe slow, overlapping glides; no measured speed found).
    pub fn pen_typical() -> Self {
        Technique {
            passes: 3,
            directions: 3,
            overlap: 0.0,
            speed_m_s: 0.02,
            presses_per_s: 1.0,
            turnaround_s: 0.5,
        }
    }

    /// A stamp technique: 2 passes at 0° and 90°, no overlap, 2 presses per second, 1 s per row
    /// end (A).
    pub fn stamp_typical() -> Self {
        Technique {
            passes: 2,
            directions: 2,
            overlap: 0.0,
            speed_m_s: 0.0,
            presses_per_s: 2.0,
            turnaround_s: 1.0,
        }
    }
}
