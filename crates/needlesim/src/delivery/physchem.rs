//! Transport parameters derived from a compound's physicochemistry.
//!
//! Owns the relations that turn library data (MW, log P, radius) into the coefficients the
//! delivery simulation needs: intact-skin permeability (three parallel routes: lipid by
//! Potts-Guy, polar aqueous pores, follicles; [`intact_routes`]), molecular size and free
//! diffusivity (Stokes-Einstein), hindered diffusion in a narrow channel (Renkin), diffusivity in
//! viable epidermis and dermis, and dermal capillary clearance. Every constant lives in
//! [`PhysChemParams`] with its value, unit and source or "calibrated"/"assumed" tag; the
//! equations are written out in `docs/MODEL.md (Delivery)`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::compounds::{Compound, CompoundClass};

/// Boltzmann constant, J/K.
pub const K_B: f64 = 1.380_649e-23;
/// Avogadro constant, 1/mol.
pub const N_A: f64 = 6.022_140_76e23;
/// cm/h in m/s.
pub const CM_PER_H: f64 = crate::units::CM / crate::units::HOUR;

/// Which Potts-Guy fit gives the lipid route of the intact-skin permeability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum PermeabilityModel {
    /// Potts & Guy 1992, Pharm Res 9:663: log kp[cm/h] = −2.7 + 0.71 log Kow − 0.0061 MW
    /// (coefficients read secondhand, grade S; VT-17 checks the implementation).
    #[default]
    PottsGuy1992,
    /// 2023 refit, J Appl Toxicol 43:940 (doi:10.1002/jat.4435), grade P:
    /// log kp = −2.55 + 0.65 log P − 0.0085 MW.
    Refit2023,
}

impl PermeabilityModel {
    /// log10 kp in cm/h.
    pub fn log_kp_cm_h(self, log_kow: f64, mw_g_mol: f64) -> f64 {
        match self {
            PermeabilityModel::PottsGuy1992 => -2.7 + 0.71 * log_kow - 0.0061 * mw_g_mol,
            PermeabilityModel::Refit2023 => -2.55 + 0.65 * log_kow - 0.0085 * mw_g_mol,
        }
    }

    /// Largest MW (g/mol) of the compounds each fit was made on: beyond it the prediction is an
    /// extrapolation (1992: Flynn set, MW 18-750; 2023: "18 to > 584").
    pub fn mw_domain_max(self) -> f64 {
        match self {
            PermeabilityModel::PottsGuy1992 => 750.0,
            PermeabilityModel::Refit2023 => 584.0,
        }
    }

    /// log P domain of the fit.
    pub fn log_p_domain(self) -> (f64, f64) {
        match self {
            PermeabilityModel::PottsGuy1992 => (-3.0, 6.0),
            PermeabilityModel::Refit2023 => (-4.0, 5.0),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            PermeabilityModel::PottsGuy1992 => "potts_guy_1992",
            PermeabilityModel::Refit2023 => "refit_2023",
        }
    }
}

pub use crate::params::physchem::PhysChemParams;

/// Where a molecular radius came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RadiusSource {
    /// Listed in the library.
    Listed,
    /// Sphere of the molecule's volume (MW × partial specific volume).
    MolecularVolume,
    /// Globular protein relation (Erickson 2009).
    GlobularProtein,
    /// Dextran power law.
    DextranPowerLaw,
    /// Hyaluronan coil scaling.
    CoilScaling,
}

/// Hydrodynamic radius of a compound, m, and how it was obtained.
pub fn stokes_radius(c: &Compound, p: &PhysChemParams) -> (f64, RadiusSource) {
    if let Some(r) = c.r_h_m {
        return (r, RadiusSource::Listed);
    }
    let m = c.mw_g_mol;
    match c.class {
        CompoundClass::Small | CompoundClass::Peptide => {
            // Volume of one molecule: M [kg/mol] × v̄ [m³/kg] / N_A.
            let v = m * 1e-3 * p.small_specific_volume_m3_kg / N_A;
            (
                (3.0 * v / (4.0 * std::f64::consts::PI)).cbrt(),
                RadiusSource::MolecularVolume,
            )
        }
        // Erickson 2009: R_min = 0.066 nm · M^(1/3); Stokes radius ≈ 1.25 R_min.
        CompoundClass::Protein => (1.25 * 0.066e-9 * m.cbrt(), RadiusSource::GlobularProtein),
        // Dextran: r_h ≈ 0.0488 nm · M^0.437 (estimated; the library lists measured radii).
        CompoundClass::Dextran => (0.0488e-9 * m.powf(0.437), RadiusSource::DextranPowerLaw),
        // Hyaluronan: 8 nm at 50 kDa, ∝ M^0.6 (assumed).
        CompoundClass::Polysaccharide => (8e-9 * (m / 5e4).powf(0.6), RadiusSource::CoilScaling),
    }
}

/// Free (Stokes-Einstein) diffusivity of a sphere of radius `r` m, m²/s.
pub fn stokes_einstein(r_m: f64, p: &PhysChemParams) -> f64 {
    K_B * p.temperature_k / (6.0 * std::f64::consts::PI * p.fluid_viscosity_pa_s * r_m)
}

/// Renkin (1954) hindrance of diffusion of a sphere of radius `r_s` in a cylindrical pore of
/// radius `r_p`: steric partitioning (1 − λ)² times hydrodynamic drag
/// (1 − 2.104 λ + 2.09 λ³ − 0.95 λ⁵), λ = r_s / r_p. 0 when the solute does not fit.
pub fn renkin(r_s: f64, r_p: f64) -> f64 {
    if r_p <= 0.0 {
        return 0.0;
    }
    let l = r_s / r_p;
    if l >= 1.0 {
        return 0.0;
    }
    let drag = 1.0 - 2.104 * l + 2.09 * l.powi(3) - 0.95 * l.powi(5);
    ((1.0 - l).powi(2) * drag).max(0.0)
}

/// Domain of the compounds the route constants were fitted on
/// (`crates/needlesim/data/intact_kp_huskindb.csv`): MW, g/mol, and log P. A compound outside
/// it gets a warning; beyond the largest MW the stratum corneum is treated as impermeable.
pub const ROUTES_MW_DOMAIN: (f64, f64) = (18.0, 764.5);
pub const ROUTES_LOG_P_DOMAIN: (f64, f64) = (-7.57, 6.43);

/// Intact-skin permeability of each parallel route, m/s.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RouteKp {
    /// Through the intercellular lipids: the Potts-Guy (or 2023 refit) relation.
    pub lipid_m_s: f64,
    /// Through aqueous pores: `ε/(τ L) · D_free · H(r_h / r_pore)` (Renkin hindrance).
    pub polar_m_s: f64,
    /// Through follicles: `f_follicle · D_free / L_appendage`.
    pub appendageal_m_s: f64,
}

impl RouteKp {
    pub fn total_m_s(&self) -> f64 {
        self.lipid_m_s + self.polar_m_s + self.appendageal_m_s
    }
}

/// The three routes of intact stratum corneum for a solute of radius `r_h_m`, free
/// diffusivity `d_free`, log K and MW; `follicle_factor` scales the reference follicle area
/// (site and species: [`crate::skin::follicle_area_factor`], [`crate::skin::Species`]).
/// The same equations as `tools/fit_intact_routes.py`.
pub fn intact_routes(
    model: PermeabilityModel,
    log_k: f64,
    mw_g_mol: f64,
    r_h_m: f64,
    d_free: f64,
    follicle_factor: f64,
    p: &PhysChemParams,
) -> RouteKp {
    RouteKp {
        lipid_m_s: 10f64.powf(model.log_kp_cm_h(log_k, mw_g_mol)) * CM_PER_H,
        polar_m_s: p.polar_porosity_per_length_per_m
            * d_free
            * renkin(r_h_m, p.polar_pore_radius_m),
        appendageal_m_s: p.follicle_area_fraction * follicle_factor * d_free
            / p.appendage_path_length_m,
    }
}

/// The transport coefficients of one compound.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TransportCoefficients {
    pub compound: String,
    /// Hydrodynamic radius, m.
    pub r_h_m: f64,
    pub r_h_source: RadiusSource,
    /// Free diffusivity in channel fluid at skin temperature, m²/s (before channel hindrance).
    pub d_free_m2_s: f64,
    /// Diffusivity in viable epidermis and in dermis, m²/s.
    pub d_ve_m2_s: f64,
    pub d_dermis_m2_s: f64,
    /// Intact-skin (stratum corneum) permeability, m/s (the sum of [`Self::routes`]), and log10
    /// in cm/h.
    pub kp_m_s: f64,
    /// The parallel routes that make up `kp_m_s` (all zero when the SC is treated as
    /// impermeable).
    pub routes: RouteKp,
    pub log_kp_cm_h: f64,
    pub permeability_model: PermeabilityModel,
    /// log10 partition coefficient used in the permeability.
    pub log_k_used: f64,
    /// Stratum corneum/water partition coefficient, the SC's storage capacity relative to
    /// water ([`sc_partition`]): the SC voxels hold `K_SC u` at the aqueous-equivalent
    /// concentration `u`, so the SC's lag time is `K_SC h_SC / (6 kp)`.
    #[serde(default = "one")]
    pub sc_partition: f64,
    /// Capillary clearance in papillary and reticular dermis, 1/s.
    pub clearance_papillary_per_s: f64,
    pub clearance_reticular_per_s: f64,
    /// Channel patency (copied from the parameters).
    pub channel_patency: f64,
    /// Remarks: extrapolations, zeroed permeability, ...
    pub warnings: Vec<String>,
}

fn one() -> f64 {
    1.0
}

/// Stratum corneum/water partition coefficient of a solute of log K `log_k`:
/// `K_SC = max(1, K^f)`, f = [`PhysChemParams::sc_partition_exponent`] (lipid-bilayer/water
/// partition `K_ow^0.7`, Mitragotri 2003; floor 1: water-like storage, assumed).
pub fn sc_partition(log_k: f64, p: &PhysChemParams) -> f64 {
    10f64.powf(p.sc_partition_exponent * log_k).max(1.0)
}

/// Small-molecule reference radius for clearance scaling: caffeine-sized, m.
const CLEARANCE_REF_RADIUS_M: f64 = 0.4e-9;

/// Derives all coefficients of a compound on the reference skin (human trunk).
pub fn coefficients(
    c: &Compound,
    model: PermeabilityModel,
    p: &PhysChemParams,
) -> TransportCoefficients {
    coefficients_at(c, model, p, 1.0)
}

/// The warning for a compound too large for the intact-skin permeability routes' fitted domain
/// (`None` inside it), with what the model then does. The input check gives it before any run
/// and [`coefficients_at`] with the coefficients: one text, so a run reports it once.
pub fn mw_domain_warning(c: &Compound) -> Option<String> {
    let (mw_lo, mw_hi) = ROUTES_MW_DOMAIN;
    (c.mw_g_mol > mw_hi).then(|| {
        format!(
            "{}: MW {:.0} g/mol is outside the fitted domain of the intact-skin permeability routes (MW {mw_lo:.0}-{mw_hi:.0}); the stratum corneum is treated as impermeable (intact-skin kp = 0)",
            c.name, c.mw_g_mol
        )
    })
}

/// Derives all coefficients of a compound on skin whose follicle area is `follicle_factor`
/// times the reference's (site × species).
pub fn coefficients_at(
    c: &Compound,
    model: PermeabilityModel,
    p: &PhysChemParams,
    follicle_factor: f64,
) -> TransportCoefficients {
    let mut warnings = Vec::new();
    let (r, src) = stokes_radius(c, p);
    let d_free = stokes_einstein(r, p);
    let log_k = c.log_k_for_permeability();
    let (lp_lo, lp_hi) = ROUTES_LOG_P_DOMAIN;
    let routes = if let Some(w) = mw_domain_warning(c) {
        warnings.push(w);
        RouteKp {
            lipid_m_s: 0.0,
            polar_m_s: 0.0,
            appendageal_m_s: 0.0,
        }
    } else {
        if log_k < lp_lo || log_k > lp_hi {
            warnings.push(format!(
                "{}: log K {log_k:.2} is outside the fitted domain of the intact-skin permeability routes (log P {lp_lo}..{lp_hi}); intact-skin permeability is extrapolated",
                c.name
            ));
        }
        if c.mw_g_mol > model.mw_domain_max() {
            warnings.push(format!(
                "{}: MW {:.0} g/mol is beyond the {} fit (MW ≤ {:.0}); its lipid route is extrapolated",
                c.name,
                c.mw_g_mol,
                model.name(),
                model.mw_domain_max()
            ));
        }
        intact_routes(model, log_k, c.mw_g_mol, r, d_free, follicle_factor, p)
    };
    let kp = routes.total_m_s();
    let log_kp = if kp > 0.0 {
        (kp / CM_PER_H).log10()
    } else {
        f64::NEG_INFINITY
    };
    let d_ref = stokes_einstein(CLEARANCE_REF_RADIUS_M, p);
    let k_pap =
        p.clearance_small_per_s * (d_free / d_ref).min(1.0) * renkin(r, p.capillary_pore_radius_m)
            / renkin(CLEARANCE_REF_RADIUS_M, p.capillary_pore_radius_m)
            + p.lymph_clearance_per_s;
    TransportCoefficients {
        compound: c.name.clone(),
        r_h_m: r,
        r_h_source: src,
        d_free_m2_s: d_free,
        d_ve_m2_s: p.ve_factor * d_free,
        d_dermis_m2_s: p.dermis_factor * d_free,
        kp_m_s: kp,
        routes,
        log_kp_cm_h: log_kp,
        permeability_model: model,
        log_k_used: log_k,
        sc_partition: if kp > 0.0 {
            sc_partition(log_k, p)
        } else {
            1.0
        },
        clearance_papillary_per_s: k_pap,
        clearance_reticular_per_s: k_pap * p.reticular_clearance_ratio,
        channel_patency: p.channel_patency,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::compounds::Library;

    #[test]
    fn vt17_potts_guy_lidocaine() {
        // VT-17: log Kow 1.633, MW 234.3 -> log kp = -2.97 ± 0.01 (cm/h).
        let v = PermeabilityModel::PottsGuy1992.log_kp_cm_h(1.633, 234.3);
        assert!((v - -2.97).abs() <= 0.01, "{v}");
        // The library's lidocaine uses its log D 7.4 and gives the same value.
        let lib = Library::builtin();
        let c = coefficients(
            lib.compound("lidocaine").expect("in library"),
            PermeabilityModel::PottsGuy1992,
            &PhysChemParams::default(),
        );
        let lipid = c.routes.lipid_m_s / CM_PER_H;
        assert!((lipid.log10() - -2.97).abs() <= 0.01, "{lipid}");
        assert!((c.routes.lipid_m_s / (1.07e-3 * CM_PER_H) - 1.0).abs() < 0.03);
        // The lipid route carries lidocaine: polar and follicular add under 10 %.
        assert!(c.kp_m_s > c.routes.lipid_m_s && c.kp_m_s < 1.1 * c.routes.lipid_m_s);
    }

    /// The Rust routes reproduce the fit script's predictions (same equations, same constants):
    /// every compound of `crates/needlesim/data/intact_routes_fit.json` within 0.01 log units
    /// (the registry holds the fitted constants to four digits).
    #[test]
    fn routes_reproduce_the_fit_script() {
        let fit: serde_json::Value =
            serde_json::from_str(include_str!("../../data/intact_routes_fit.json")).expect("json");
        let p = PhysChemParams::default();
        let mut checked = 0;
        let mut worst: f64 = 0.0;
        for row in fit["predictions"].as_array().expect("predictions") {
            let (log_p, mw) = (
                row["log_p"].as_f64().unwrap(),
                row["mw_g_mol"].as_f64().unwrap(),
            );
            let c = Compound {
                log_p,
                log_d_7_4: None,
                mw_g_mol: mw,
                r_h_m: None,
                class: CompoundClass::Small,
                ..Library::builtin().compound("caffeine").expect("c").clone()
            };
            let co = coefficients(&c, PermeabilityModel::PottsGuy1992, &p);
            let want = row["predicted_log_kp_cm_h"].as_f64().unwrap();
            worst = worst.max((co.log_kp_cm_h - want).abs());
            checked += 1;
        }
        assert!(checked >= 200, "{checked}");
        assert!(worst < 0.01, "largest difference from the script {worst}");
        // The fit itself: RMSE as documented in docs/TRANSPORT.md.
        let (f, h) = (
            fit["rmse_log_kp_fit"].as_f64().unwrap(),
            fit["rmse_log_kp_held_out"].as_f64().unwrap(),
        );
        assert!(f < 1.2 && h < 1.7, "{f} {h}");
    }

    /// The polar and follicular routes lift very hydrophilic solutes to the measured floor
    /// (1e-4..1e-3 cm/h for small ones) that Potts-Guy alone misses by 1-2 orders of magnitude.
    #[test]
    fn hydrophilic_solutes_reach_the_measured_kp_floor() {
        let lib = Library::builtin();
        let p = PhysChemParams::default();
        let kp = |n: &str| {
            let co = coefficients(lib.compound(n).expect(n), PermeabilityModel::default(), &p);
            (co.kp_m_s / CM_PER_H, co.routes.lipid_m_s / CM_PER_H)
        };
        let (asc, asc_lipid) = kp("ascorbic_acid");
        assert!(asc_lipid < 2e-5, "Potts-Guy alone {asc_lipid}");
        assert!((1e-4..1e-3).contains(&asc), "ascorbic acid {asc}");
        let (caf, _) = kp("caffeine");
        // HuskinDB median for caffeine (epidermis): 2.9e-4 cm/h.
        assert!((1e-4..1e-3).contains(&caf), "caffeine {caf}");
    }

    #[test]
    fn outside_the_fitted_domain_warns() {
        let lib = Library::builtin();
        let p = PhysChemParams::default();
        let mut c = lib.compound("caffeine").expect("c").clone();
        let ok = coefficients(&c, PermeabilityModel::default(), &p);
        assert!(ok.warnings.is_empty(), "{:?}", ok.warnings);
        c.log_p = 8.0;
        c.log_d_7_4 = None;
        let w = coefficients(&c, PermeabilityModel::default(), &p).warnings;
        assert!(
            w.iter().any(|m| m.contains("outside the fitted domain")),
            "{w:?}"
        );
        c.log_p = 1.0;
        c.mw_g_mol = 900.0;
        let co = coefficients(&c, PermeabilityModel::default(), &p);
        assert_eq!(co.kp_m_s, 0.0);
        assert!(
            co.warnings.iter().any(|m| m.contains("MW 18-764")),
            "{:?}",
            co.warnings
        );
    }

    #[test]
    fn follicles_scale_only_the_appendageal_route() {
        let lib = Library::builtin();
        let p = PhysChemParams::default();
        let c = lib.compound("caffeine").expect("c");
        let a = coefficients_at(c, PermeabilityModel::default(), &p, 1.0);
        let b = coefficients_at(c, PermeabilityModel::default(), &p, 9.0);
        assert_eq!(a.routes.lipid_m_s, b.routes.lipid_m_s);
        assert_eq!(a.routes.polar_m_s, b.routes.polar_m_s);
        assert!((b.routes.appendageal_m_s / a.routes.appendageal_m_s - 9.0).abs() < 1e-12);
        // Calibration target: follicles add 20 % to caffeine's other routes on the reference
        // skin (the fit used caffeine's HuskinDB log P; the library's differs slightly).
        let share = a.routes.appendageal_m_s / (a.routes.lipid_m_s + a.routes.polar_m_s);
        assert!(share > 0.1 && share < 0.3, "{share}");
    }

    #[test]
    fn refit_2023_coefficients() {
        let v = PermeabilityModel::Refit2023.log_kp_cm_h(1.0, 100.0);
        assert!((v - (-2.55 + 0.65 - 0.85)).abs() < 1e-12);
    }

    #[test]
    fn stokes_einstein_gives_known_magnitudes() {
        let p = PhysChemParams {
            temperature_k: 298.15,
            fluid_viscosity_pa_s: 0.89e-3,
            ..PhysChemParams::default()
        };
        let lib = Library::builtin();
        let (r, _) = stokes_radius(lib.compound("caffeine").expect("c"), &p);
        let d = stokes_einstein(r, &p);
        // Caffeine in water at 25 °C is about 6-7e-10 m²/s.
        assert!(d > 5.5e-10 && d < 7.5e-10, "{d}");
        // 25 kDa protein: about 2.4 nm, D ≈ 9e-11 m²/s.
        let (r, src) = stokes_radius(lib.compound("growth_factor_25kda").expect("gf"), &p);
        assert_eq!(src, RadiusSource::GlobularProtein);
        assert!((r - 2.4e-9).abs() < 0.1e-9, "{r}");
    }

    #[test]
    fn renkin_limits_and_monotonicity() {
        assert_eq!(renkin(0.0, 1.0), 1.0);
        assert_eq!(renkin(1.0, 1.0), 0.0);
        assert_eq!(renkin(2.0, 1.0), 0.0);
        let mut last = 1.0;
        for i in 1..100 {
            let h = renkin(i as f64 / 100.0, 1.0);
            assert!(h < last && h >= 0.0);
            last = h;
        }
        // λ = 0.1: (0.9)² (1 − 0.2104 + 0.00209 − 0.0000095) = 0.641
        assert!((renkin(0.1, 1.0) - 0.6411).abs() < 1e-3);
    }

    #[test]
    fn vt13_dextran_tissue_diffusivities_fall_in_wei_2018_ranges() {
        // Calibration check (not independent validation): 70 kDa-2 MDa dextrans.
        let lib = Library::builtin();
        let p = PhysChemParams::default();
        for name in [
            "fitc_dextran_70k",
            "rhodamine_dextran_500k",
            "rhodamine_dextran_2000k",
        ] {
            let c = coefficients(
                lib.compound(name).expect("dextran"),
                PermeabilityModel::default(),
                &p,
            );
            let (ve, de) = (c.d_ve_m2_s * 1e12, c.d_dermis_m2_s * 1e12);
            assert!((1.0..=8.0).contains(&ve), "{name} VE {ve}");
            assert!((1.0..=20.0).contains(&de), "{name} dermis {de}");
            assert_eq!(c.kp_m_s, 0.0, "macromolecule must not cross intact SC");
            assert!(!c.warnings.is_empty());
        }
    }

    #[test]
    fn clearance_falls_with_size() {
        let lib = Library::builtin();
        let p = PhysChemParams::default();
        let k = |n: &str| {
            coefficients(lib.compound(n).expect(n), PermeabilityModel::default(), &p)
                .clearance_papillary_per_s
        };
        assert!(k("caffeine") > k("growth_factor_25kda"));
        assert!(k("growth_factor_25kda") > k("fitc_dextran_70k"));
        assert!(k("fitc_dextran_70k") >= p.lymph_clearance_per_s);
    }
}
