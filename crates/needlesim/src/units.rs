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

/// A length in metres as millimetres for an output file, rounded to 1e-9 mm so that a value
/// read from the registry in metres prints as written (0.52e-3 m is 0.52 mm, not the
/// 0.5199999999999999 that the conversion gives in binary).
pub fn mm_out(m: f64) -> f64 {
    (to_mm(m) * 1e9).round() / 1e9
}

/// Converts an areal density in 1/m² to 1/cm².
pub fn per_cm2(per_m2: f64) -> f64 {
    per_m2 * CM2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_millimetres_print_as_written() {
        // The plain conversion is not exact in binary for these.
        assert_ne!(to_mm(0.52e-3), 0.52);
        assert_eq!(mm_out(0.52e-3), 0.52);
        assert_eq!(mm_out(0.2e-3), 0.2);
        assert_eq!(mm_out(3e-3), 3.0);
        // Sub-nanometre detail is all it drops.
        assert!((mm_out(1.234_567e-3) - 1.234_567).abs() < 1e-12);
    }
}
