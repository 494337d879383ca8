//! The devices' constants as a registry group (`[params.device]`; listed by `needlesim params`).

use crate::registry::Range;

crate::registry::group! {
    /// Assumptions of the device and puncture models (`crate::device`): the presets' tip angle
    /// and pen head (the planner's devices; a scenario pen without `head_diameter_mm`) and the
    /// hand-placement jitters of the puncture generator ([`crate::device::generate_with`]).
    DeviceParams, "device", DEVICE_ENTRIES;
    /// Full cone angle of the tips of steel microneedling needles.
    tip_angle = crate::device::ASSUMED_TIP_ANGLE_RAD, "rad", Assumed,
        Range::between(15.0 * std::f64::consts::PI / 180.0, 60.0 * std::f64::consts::PI / 180.0,
            "sharp needles: 15-60 degree cones"), true, "",
        "no tip angle found in a citable source; the planner's pen and roller (a scenario [device] without tip_angle_deg takes that section's own default, 20 degrees)";
    /// Pen cartridge face diameter when none is given.
    pen_head_diameter = crate::device::ASSUMED_PEN_HEAD_DIAMETER_M, "m", Assumed,
        Range::between(3e-3, 15e-3, "round cartridges are a few millimetres across"), true, "",
        "not found in a citable source; the planner's pen and a scenario pen without head_diameter_mm";
    /// SD of the placement of each stamp press, fraction of the footprint.
    press_jitter_fraction = crate::device::PRESS_JITTER_FRACTION, "1", Assumed,
        Range::between(0.0, 0.5, "0 (exact) to half the footprint"), true, "",
        "a hand repositioning a 1 cm stamp misses by about a millimetre";
    /// SD of the lateral placement of each stroke, fraction of the track width.
    track_jitter_fraction = crate::device::generate::TRACK_JITTER_FRACTION, "1", Assumed,
        Range::between(0.0, 0.5, "0 (exact) to half the track"), true, "",
        "a hand misplaces each stroke by about a tenth of the device width";
    /// SD of the direction of each pass.
    direction_jitter_sd = crate::device::generate::DIRECTION_JITTER_SD_RAD, "rad", Assumed,
        Range::between(0.0, 10.0 * std::f64::consts::PI / 180.0, "0 to 10 degrees"), true, "",
        "2 degrees";
}
