//! Unit conversions used at the boundary (scenario files, flags, printed output).
//!
//! The library works in SI; these helpers keep the conversion factors in one place.

/// Metres per millimetre.
pub const MM: f64 = 1e-3;
/// Metres per micrometre.
pub const UM: f64 = 1e-6;
/// Metres per centimetre.
pub const CM: f64 = 1e-2;
/// Square metres per square centimetre.
pub const CM2: f64 = 1e-4;
/// Seconds per minute.
pub const MINUTE: f64 = 60.0;
/// Seconds per hour.
pub const HOUR: f64 = 3600.0;
/// Seconds per day.
pub const DAY: f64 = 86_400.0;
/// Seconds per (Julian) year.
pub const YEAR: f64 = 365.25 * DAY;

/// Converts a length in metres to micrometres.
pub fn to_um(m: f64) -> f64 {
    m / UM
}

/// Converts a length in metres to millimetres.
pub fn to_mm(m: f64) -> f64 {
    m / MM
}

/// Converts an areal density in 1/m² to 1/cm².
pub fn per_cm2(per_m2: f64) -> f64 {
    per_m2 * CM2
}
