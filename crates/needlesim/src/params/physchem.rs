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
    /// Polar (aqueous-pore) route of intact stratum corneum: porosity over tortuosity and SC
    /// thickness, ε/(τ L_SC), 1/m. **Calibrated** with [`Self::polar_pore_radius_m`] on 169
    /// intact human-skin kp values (HuskinDB, `crates/needlesim/data/intact_kp_huskindb.csv`;
    /// `tools/fit_intact_routes.py`): 5.0 /m (log10 SE 1.2), i.e. ε/τ ≈ 7.5e-5 over 15 µm.
    pub polar_porosity_per_length_per_m: f64,
    /// Effective radius of the polar route's pores, m (Renkin hindrance of r_h / r_pore).
    /// **Calibrated** in the same fit: 0.89 nm (SE 0.65 nm).
    pub polar_pore_radius_m: f64,
    /// Area fraction of follicular orifices of the reference skin (trunk), 1. **Assumed**
    /// 1.4e-3, between the forearm (0.09 %) and forehead (1.28 %) fractions of Otberg et al. 2004
    /// (J Invest Dermatol 122:14); other sites and species scale it
    /// ([`crate::skin::follicle_area_factor`]).
    pub follicle_area_fraction: f64,
    /// Effective diffusion path of the appendageal (follicular) route, m. **Calibrated** so
    /// that open follicles add 20 % to caffeine's permeability through the other routes at the
    /// reference skin (Kattou et al. 2017: +~20 % systemic availability against blocked
    /// follicles): 15.4 mm, re-derived by the same fit script.
    pub appendage_path_length_m: f64,
    /// Half-time of the nerve block's development at the nerve endings, s: the level at the
    /// blocking site follows the tissue level with first-order kinetics of this half-time
    /// (`delivery::nerve`). **Assumed** 60 s: no study measures it at unsheathed endings near
    /// the EC50. It is bracketed from below by the membrane step (lidocaine blocks a bare node
    /// of Ranvier with a half-time under 2 s at pH 8.3, Hille 1977, J Gen Physiol 69:475) and
    /// by numbness to pinprick at once after superficial intradermal lidocaine (Plast Reconstr
    /// Surg 1983;72:676; Gupta et al. 2012, Clin J Pain 28:129), and from above by a sheathed
    /// nerve's peak block 10 min after injection beside it (Nakamura et al. 2003,
    /// Anesthesiology 99:1189); the endings in the papillary dermis have no perineurium, so
    /// 60 s sits at the slow end of what they allow.
    #[serde(default = "default_nerve_block_t_half_s")]
    pub nerve_block_t_half_s: f64,
    /// Exponent `f` of the stratum corneum's partition coefficient, `K_SC = max(1, K_ow^f)`
    /// (K_ow: the lipid route's log K, `log_k_used`): the SC's storage capacity for the solute
    /// relative to water, which sets its lag time `K_SC h_SC / (6 kp)` and its content.
    /// **Literature** 0.7: lipid-bilayer/water partition `K = K_ow^0.7` (Mitragotri 2003,
    /// J Control Release 86:69; read secondhand, grade S), the same slope as Potts & Guy's
    /// 0.71 (Pharm Res 9:663), which their model reads as the membrane/water partition's
    /// dependence on K_ow. The floor 1 (**assumed**) keeps a hydrophilic solute's storage that
    /// of a water-like layer, as before: the SC's water and keratin hold it at about its
    /// aqueous concentration (its polar and follicular routes do not run through the lipids).
    #[serde(default = "default_sc_partition_exponent")]
    pub sc_partition_exponent: f64,
}

fn default_sc_partition_exponent() -> f64 {
    0.7
}

fn default_nerve_block_t_half_s() -> f64 {
    60.0
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
            polar_porosity_per_length_per_m: 4.997,
            polar_pore_radius_m: 0.8924e-9,
            follicle_area_fraction: 1.4e-3,
            appendage_path_length_m: 15.40e-3,
            nerve_block_t_half_s: default_nerve_block_t_half_s(),
            sc_partition_exponent: default_sc_partition_exponent(),
        }
    }
}
