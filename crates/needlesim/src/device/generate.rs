//! PROVISIONAL: the seeded puncture generator (device helper owns this file).

use super::*;

/// Generates the punctures of `device` moved over `zone` with `technique`.
pub fn generate(
    device: &Device,
    zone: &Zone,
    _technique: &Technique,
    _seed: u64,
) -> Result<PunctureSet, DeviceError> {
    Ok(PunctureSet {
        zone_area_m2: zone.shape.area_m2(),
        insertion: device.insertion_mode(),
        needle: device.needle().clone(),
        needling_time_s: 0.0,
        expected_density_per_pass_m2: 0.0,
        punctures: Vec::new(),
    })
}
