//! The closure law's constants (`crate::delivery::closure` holds the law itself and its
//! sources).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::units::HOUR;

/// Parameters of the closure law (see the module documentation for sources).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClosureParams {
    /// Open-area half-life without occlusion at the reference depth and age, s (0.25 h).
    pub half_life_none_s: f64,
    /// ... under a serum film, s (2.0 h, assumed).
    pub half_life_serum_s: f64,
    /// ... under an occlusive patch, s (16 h).
    pub half_life_patch_s: f64,
    /// Reference channel depth, m (500 µm).
    pub ref_depth_m: f64,
    /// Depth exponent β (0.55).
    pub depth_exponent: f64,
    /// Age below which the age factor is 1, years (25).
    pub ref_age_years: f64,
    /// Age factor at ref_age + 60 years (4.27).
    pub age_factor_60y: f64,
    /// Phototype factor for types V-VI (0.63); type IV gets the midpoint to 1.
    pub phototype_factor_v_vi: f64,
    /// Open-area fraction below which the barrier counts as recovered (0.1).
    pub recovered_fraction: f64,
}

impl Default for ClosureParams {
    fn default() -> Self {
        ClosureParams {
            half_life_none_s: 0.25 * HOUR,
            half_life_serum_s: 2.0 * HOUR,
            half_life_patch_s: 16.0 * HOUR,
            ref_depth_m: 500e-6,
            depth_exponent: 0.55,
            ref_age_years: 25.0,
            age_factor_60y: 4.27,
            phototype_factor_v_vi: 0.63,
            recovered_fraction: 0.1,
        }
    }
}
