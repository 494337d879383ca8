//! The delivery model's physical and physiological constants (`crate::delivery::physchem`
//! holds the relations that use them and their sources).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Physical and physiological constants of the delivery model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PhysChemParams {
    /// Skin temperature, K. **Assumed** 32 °C (skin surface; also the usual Franz-cell setting).
    pub temperature_k: f64,
    /// Viscosity of channel fluid (water / interstitial fluid) at that temperature, Pa·s.
    /// Water at 32 °C: 0.765 mPa·s (handbook value, grade U).
    pub fluid_viscosity_pa_s: f64,
    /// Partial specific volume used to turn MW into a radius for small molecules and peptides,
    /// m³/kg. **Estimated** 0.8 cm³/g (between organic solids, ~0.7-0.9); with it
    /// Stokes-Einstein gives caffeine 6.2e-10 m²/s at 25 °C.
    pub small_specific_volume_m3_kg: f64,
    /// Ratio of viable-epidermis to free diffusivity. **Calibrated** on VT-13b (Wei 2018: 1-8
    /// µm²/s for 70-2000 kDa dextrans): 0.12 puts 70 kDa at 5.9 and 2 MDa at 1.3 µm²/s. Used for
    /// every solute (assumption: the same tortuosity/obstruction factor for small molecules).
    pub ve_factor: f64,
    /// Ratio of dermis to free diffusivity. **Calibrated** on VT-13a (1-20 µm²/s): 0.25 gives
    /// 12 and 2.7 µm²/s for 70 kDa and 2 MDa. Same assumption for small molecules.
    pub dermis_factor: f64,
    /// First-order capillary clearance of a small, freely permeating solute in the papillary
    /// dermis, 1/s. **Estimated** as flow-limited clearance, skin blood flow per tissue volume:
    /// about 6 mL/100 g/min (handbook order of magnitude, grade U) = 1e-3 /s.
    pub clearance_small_per_s: f64,
    /// Reticular/papillary clearance ratio. **Assumed** 0.3 (the capillary loops and the
    /// subpapillary plexus sit in the papillary dermis).
    pub reticular_clearance_ratio: f64,
    /// Small-pore radius of continuous capillaries (two-pore theory), m. **Assumed** 4.5 nm.
    /// Solutes are cleared through the pores with the Renkin factor of r_h / r_pore.
    pub capillary_pore_radius_m: f64,
    /// Lymphatic clearance floor for macromolecules, 1/s. **Assumed** 1e-5 /s (about a day).
    pub lymph_clearance_per_s: f64,
    /// Channel patency: the fraction of a channel's geometric open cross-section that is a free
    /// aqueous pathway right after needling (the rest is collapsed or compressed tissue, clot
    /// and exudate, treated as tissue). **Assumed** 1 (not calibrated): lowering it to 1e-3
    /// still leaves VT-10/VT-11 enhancements 20-50× above the published ones while breaking
    /// VT-09, so a single patency factor does not explain the gap; see `docs/VALIDATION.md`.
    pub channel_patency: f64,
}

impl Default for PhysChemParams {
    fn default() -> Self {
        PhysChemParams {
            temperature_k: 305.15,
            fluid_viscosity_pa_s: 0.765e-3,
            small_specific_volume_m3_kg: 0.8e-3,
            ve_factor: 0.12,
            dermis_factor: 0.25,
            clearance_small_per_s: 1.0e-3,
            reticular_clearance_ratio: 0.3,
            capillary_pore_radius_m: 4.5e-9,
            lymph_clearance_per_s: 1.0e-5,
            channel_patency: 1.0,
        }
    }
}
