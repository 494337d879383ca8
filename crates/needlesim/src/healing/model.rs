//! The healing cascade of one dermal compartment (lumped, layer-averaged), as an ODE system.
//!
//! State (SI; layer-volume averages):
//!
//! | index | symbol | meaning | unit |
//! |---|---|---|---|
//! | 0 | D | damaged (necrotic) tissue volume fraction | 1 |
//! | 1 | P | PDGF-like platelet / macrophage growth factor | kg/m³ |
//! | 2 | S | pro-inflammatory cytokine signal (IL-1/TNF-like) | kg/m³ |
//! | 3 | N | neutrophils | 1/m³ |
//! | 4 | M | macrophages | 1/m³ |
//! | 5 | T | active TGF-β1 | kg/m³ |
//! | 6 | Fq | quiescent fibroblasts | 1/m³ |
//! | 7 | Fa | activated (proliferating) fibroblasts | 1/m³ |
//! | 8 | Fm | matrix-synthesising (myo)fibroblasts | 1/m³ |
//! | 9 | C3 | collagen III | kg/m³ |
//! | 10 | C1 | collagen I | kg/m³ |
//! | 11 | E | elastin | kg/m³ |
//! | 12 | m | collagenase (MMP) activity relative to rest (normalised: no tissue baseline read) | 1 |
//! | 13 | Vb | excess blood volume fraction (vasodilation → redness) | 1 |
//! | 14 | W | excess interstitial water volume fraction (oedema → swelling) | 1 |
//!
//! The papillary block also carries the epidermis above it:
//!
//! | 15 | De | damaged fraction of the viable epidermis | 1 |
//! | 16 | Bo | open (unsealed) fraction of the skin surface | 1 |
//! | 17 | He | viable epidermal thickness | m |
//!
//! No phase is scripted: inflammation, proliferation and remodelling follow from debris driving
//! cytokines and leukocytes, debris clearance switching macrophages from cytokine/PDGF to
//! TGF-β output, growth factors activating fibroblasts, and TGF-β turning them into
//! collagen-I-making cells. Equations: `docs/model/healing.md`.

use super::ode::System;
use super::params::{HealingParams, YEAR};
use crate::skin::{LayerKind, SkinColumn};

pub const D: usize = 0;
pub const P: usize = 1;
pub const S: usize = 2;
pub const N: usize = 3;
pub const M: usize = 4;
pub const T: usize = 5;
pub const FQ: usize = 6;
pub const FA: usize = 7;
pub const FM: usize = 8;
pub const C3: usize = 9;
pub const C1: usize = 10;
pub const E: usize = 11;
pub const MMP: usize = 12;
pub const VB: usize = 13;
pub const W: usize = 14;
pub const DE: usize = 15;
pub const BO: usize = 16;
pub const HE: usize = 17;
/// Variables of a dermal block without / with the epidermis.
pub const NDERM: usize = 15;
pub const NPAP: usize = 18;

/// Names of the state variables (CSV headers).
pub const NAMES: [&str; NPAP] = [
    "damage",
    "pdgf_kg_m3",
    "cytokine_kg_m3",
    "neutrophils_per_m3",
    "macrophages_per_m3",
    "tgfb_kg_m3",
    "fibroblasts_quiescent_per_m3",
    "fibroblasts_activated_per_m3",
    "fibroblasts_synthetic_per_m3",
    "collagen3_kg_m3",
    "collagen1_kg_m3",
    "elastin_kg_m3",
    "mmp_relative",
    "blood_excess_fraction",
    "oedema_fraction",
    "epidermal_damage",
    "open_surface_fraction",
    "epidermis_m",
];

/// The person-dependent factors.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PersonFactors {
    /// Fibroblast collagen/elastin output relative to a young adult (Varani 2006).
    pub output: f64,
    /// Resealing rate relative to a young adult of light skin.
    pub reseal: f64,
    /// Fitzpatrick phototype (1-6).
    pub phototype: u8,
}

impl PersonFactors {
    pub fn new(age_years: f64, phototype: u8, p: &HealingParams) -> Self {
        let frac = ((age_years - p.age_young) / (p.age_old - p.age_young)).clamp(0.0, 1.0);
        let output = 1.0 - (1.0 - p.age_output_ratio) * frac;
        let slow = 1.0
            + p.reseal_slowing_per_phototype * (phototype as f64 - 2.0).max(0.0)
            + p.reseal_slowing_per_year * (age_years - 30.0).max(0.0);
        PersonFactors {
            output,
            reseal: 1.0 / slow,
            phototype,
        }
    }
}

/// Resting values of one dermal layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerBase {
    pub kind: LayerKind,
    pub thickness_m: f64,
    /// Resting fibroblast density, 1/m³.
    pub f0: f64,
    /// Resting macrophage density, 1/m³.
    pub m0: f64,
    /// Resting collagen I and III, kg/m³.
    pub c1_0: f64,
    pub c3_0: f64,
    /// Resting elastin, kg/m³.
    pub e0: f64,
    /// Resting blood volume fraction.
    pub v0: f64,
    /// Resting active TGF-β, kg/m³ (steady state of the production terms).
    pub t0: f64,
}

/// Epidermis carried by the papillary block.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpiBase {
    /// Resting viable epidermal thickness, m.
    pub he0: f64,
}

/// Rate constants derived once from the parameters and the person.
#[derive(Clone, Debug, PartialEq)]
pub struct Rates {
    k_s: f64,
    k_n: f64,
    k_p: f64,
    k_t: f64,
    rho_f: f64,
    k_mmp: f64,
    /// Collagen turnover at rest for this person (young value × output factor), 1/s.
    k_c: f64,
    k_e: f64,
    k_x: f64,
    k_w: f64,
    k_seal: f64,
    k_de: f64,
    k_he: f64,
    theta0: f64,
    output: f64,
}

impl Rates {
    pub fn new(p: &HealingParams, person: &PersonFactors, c3_share_rest: f64) -> Self {
        let ln2 = std::f64::consts::LN_2;
        Rates {
            k_s: ln2 / p.cytokine_half_life,
            k_n: 1.0 / p.neutrophil_lifetime,
            k_p: ln2 / p.pdgf_half_life,
            k_t: ln2 / p.tgfb_half_life,
            rho_f: ln2 / p.fibroblast_doubling_time,
            k_mmp: ln2 / p.mmp_half_life,
            k_c: person.output * ln2 / p.collagen_half_life,
            k_e: person.output / p.elastin_residence_time,
            k_x: ln2 / p.collagen3_remodel_half_life,
            k_w: ln2 / p.oedema_half_life,
            k_seal: person.reseal * 3.0 / p.reseal_time_95,
            k_de: 3.0 / p.epidermal_repair_time_95,
            k_he: 1.0 / p.epidermal_turnover_time,
            theta0: c3_share_rest,
            output: person.output,
        }
    }
}

/// One compartment: a dermal layer, plus the epidermis for the papillary dermis.
#[derive(Clone, Debug)]
pub struct Block {
    pub base: LayerBase,
    pub epi: Option<EpiBase>,
    /// Thickness of the viable epidermis over the papillary dermis (cytokine dilution), m.
    pub ve_over_pd: f64,
    pub p: HealingParams,
    pub r: Rates,
}

/// What one session does to one block (from the channel set).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BlockInjury {
    /// Needle-displaced volume fraction of the layer.
    pub injured_fraction: f64,
    /// Volume fraction of the layer filled by clotting blood.
    pub blood_fraction: f64,
    /// Needle-displaced volume fraction of the viable epidermis (papillary block only).
    pub epidermis_injured_fraction: f64,
    /// Surface fraction opened (papillary block only).
    pub open_surface_fraction: f64,
}

#[inline]
fn hill(x: f64, k: f64) -> f64 {
    let x = x.max(0.0);
    x / (x + k)
}

impl Block {
    /// Builds the block of `kind` (papillary or reticular dermis) for a column.
    pub fn new(
        column: &SkinColumn,
        kind: LayerKind,
        p: &HealingParams,
        pf: &PersonFactors,
    ) -> Self {
        let layer = column.layer(kind);
        let props = &layer.properties;
        let f0 = props.cell_density_per_m3;
        let m0 = p.resident_macrophage_ratio * f0;
        let c0 = props.collagen_kg_m3;
        let c1_0 = c0 * props.collagen_i_fraction;
        let c3_0 = c0 - c1_0;
        let t0 = (p.tgfb_per_macrophage * m0 + p.tgfb_per_fibroblast * f0)
            / (std::f64::consts::LN_2 / p.tgfb_half_life);
        let base = LayerBase {
            kind,
            thickness_m: layer.thickness_m,
            f0,
            m0,
            c1_0,
            c3_0,
            e0: props.elastin_kg_m3,
            v0: props.vascular_fraction,
            t0,
        };
        let epi = (kind == LayerKind::PapillaryDermis).then(|| EpiBase {
            he0: column.layer(LayerKind::ViableEpidermis).thickness_m,
        });
        let share = if c0 > 0.0 { c3_0 / c0 } else { 0.0 };
        Block {
            base,
            epi,
            ve_over_pd: column.layer(LayerKind::ViableEpidermis).thickness_m
                / column.layer(LayerKind::PapillaryDermis).thickness_m,
            p: p.clone(),
            r: Rates::new(p, pf, share),
        }
    }

    /// Resealing rate constant of the opened surface, 1/s.
    pub fn reseal_rate(&self) -> f64 {
        self.r.k_seal
    }

    /// The resting state.
    pub fn rest(&self) -> Vec<f64> {
        let b = &self.base;
        let mut y = vec![0.0; self.dim()];
        y[M] = b.m0;
        y[T] = b.t0;
        y[FQ] = b.f0;
        y[C3] = b.c3_0;
        y[C1] = b.c1_0;
        y[E] = b.e0;
        y[MMP] = 1.0;
        if let Some(e) = &self.epi {
            y[HE] = e.he0;
        }
        y
    }

    /// Typical magnitudes of each variable (absolute tolerances are a small fraction of these).
    pub fn scales(&self) -> Vec<f64> {
        let b = &self.base;
        let mut s = vec![0.0; self.dim()];
        s[D] = 1e-2;
        s[P] = self.p.pdgf_half_effect;
        s[S] = self.p.cytokine_half_effect;
        s[N] = b.f0.max(1e10);
        s[M] = b.f0.max(1e10);
        s[T] = b.t0.max(self.p.tgfb_half_effect);
        s[FQ] = b.f0.max(1e10);
        s[FA] = b.f0.max(1e10);
        s[FM] = b.f0.max(1e10);
        s[C3] = (b.c3_0 + b.c1_0).max(1.0);
        s[C1] = (b.c3_0 + b.c1_0).max(1.0);
        s[E] = b.e0.max(0.1);
        s[MMP] = 1.0;
        s[VB] = b.v0.max(1e-4);
        s[W] = 1e-2;
        if self.epi.is_some() {
            s[DE] = 1e-2;
            s[BO] = 1e-2;
            s[HE] = 1e-5;
        }
        s
    }

    /// Applies a session's injury to the state (an impulse at the time of needling).
    pub fn apply_injury(&self, y: &mut [f64], inj: &BlockInjury) {
        let phi = (inj.injured_fraction * self.p.damage_halo_factor).clamp(0.0, 0.95);
        y[D] += phi * (1.0 - y[D]);
        // Resident cells in the damaged volume die.
        for i in [M, FQ, FA, FM] {
            y[i] *= 1.0 - phi;
        }
        let blood = inj.blood_fraction.clamp(0.0, 1.0);
        y[P] += blood * self.p.pdgf_per_blood;
        y[T] += blood * self.p.tgfb_per_blood;
        if self.epi.is_some() {
            let pe = (inj.epidermis_injured_fraction * self.p.damage_halo_factor).clamp(0.0, 0.95);
            y[DE] += pe * (1.0 - y[DE]);
            y[BO] += inj.open_surface_fraction.clamp(0.0, 1.0) * (1.0 - y[BO]);
        }
    }
}

impl System for Block {
    fn dim(&self) -> usize {
        if self.epi.is_some() { NPAP } else { NDERM }
    }

    fn rhs(&self, _t: f64, y: &[f64], dy: &mut [f64]) {
        let p = &self.p;
        let r = &self.r;
        let b = &self.base;
        let d = y[D].max(0.0);
        let n = y[N].max(0.0);
        let m = y[M].max(0.0);
        let fq = y[FQ].max(0.0);
        let fa = y[FA].max(0.0);
        let fm = y[FM].max(0.0);
        let f_act = fa + fm;
        let ft = fq + f_act;

        let h_d = hill(d, p.debris_half_activation);
        let s_sig = hill(y[S], p.cytokine_half_effect);
        let sig_p = hill(y[P], p.pdgf_half_effect);
        let dt_ex = (y[T] - b.t0).max(0.0);
        let sig_t = hill(dt_ex, p.tgfb_half_effect);
        let drive = 1.0 - (1.0 - sig_p) * (1.0 - sig_t);
        let blood = b.v0 + y[VB].max(0.0);

        // Debris and its clearance by phagocytes.
        dy[D] = -(p.debris_clearance_neutrophil * n + p.debris_clearance_macrophage * m) * d;
        // Growth factors: platelet impulse (in apply_injury) + debris-activated macrophages.
        dy[P] = p.pdgf_per_macrophage * m * h_d - r.k_p * y[P];
        let epi_damage = if self.epi.is_some() {
            y[DE].max(0.0) * self.ve_over_pd
        } else {
            0.0
        };
        let antiinf = 1.0 / (1.0 + dt_ex / p.tgfb_antiinflammatory_k);
        dy[S] = p.cytokine_from_damage * (d + epi_damage)
            + (p.cytokine_per_neutrophil * n + p.cytokine_per_macrophage * m * h_d) * antiinf
            - r.k_s * y[S];
        // Leukocytes: recruited through the perfused vessels in proportion to the signal.
        dy[N] = p.neutrophil_influx * blood * s_sig - r.k_n * n;
        // Monocytes follow the neutrophils (neutrophil-derived chemoattractants), so the
        // macrophage wave lags the neutrophil wave.
        dy[M] = p.macrophage_influx * blood * hill(n, p.neutrophil_half_macrophage_recruit)
            - p.macrophage_removal_rate * (y[M] - b.m0);
        // TGF-β: reparative macrophages (debris cleared) and the resting fibroblast output
        // (held at its resting value: autocrine amplification is not modelled).
        dy[T] =
            p.tgfb_per_macrophage * m * (1.0 - h_d) + p.tgfb_per_fibroblast * b.f0 - r.k_t * y[T];
        // Fibroblasts.
        let act = p.fibroblast_activation_rate * drive * fq;
        let prolif = r.rho_f * drive * fa * (1.0 - ft / (p.fibroblast_max_ratio * b.f0)).max(0.0);
        let diff = p.myofibroblast_rate * sig_t * fa;
        let rev_a = p.fibroblast_reversion_rate * (1.0 - drive) * fa;
        let rev_m = p.fibroblast_reversion_rate * (1.0 - sig_t) * fm;
        let apop = if ft > b.f0 {
            p.fibroblast_apoptosis_rate * (ft - b.f0) / ft
        } else {
            0.0
        };
        dy[FQ] = -act + rev_a + rev_m;
        dy[FA] = act + prolif - diff - rev_a - apop * fa;
        dy[FM] = diff - rev_m - apop * fm;
        // Collagen: quiescent output balances turnover at rest (per-cell output from the
        // resting steady state), activated cells make `collagen_output_activated` times more;
        // early (proliferating) cells make a III-rich matrix.
        let c_rest = b.c1_0 + b.c3_0;
        let sigma = if b.f0 > 0.0 {
            r.k_c * c_rest / b.f0
        } else {
            0.0
        };
        let ka = p.collagen_output_activated;
        let th0 = r.theta0;
        let tha = p.collagen3_share_early;
        let syn3 = sigma * (th0 * fq + ka * (tha * fa + th0 * fm));
        let syn1 = sigma * ((1.0 - th0) * fq + ka * ((1.0 - tha) * fa + (1.0 - th0) * fm));
        let mmp = y[MMP].max(0.0);
        let c3 = y[C3].max(0.0);
        let c1 = y[C1].max(0.0);
        let x = r.k_x * mmp * (c3 - th0 * (c3 + c1)).max(0.0);
        dy[C3] = syn3 - r.k_c * mmp * c3 - x;
        dy[C1] = syn1 - r.k_c * mmp * c1 + x;
        // Elastin: tropoelastin from fibroblasts; slow turnover; neutrophil elastase.
        let se = if b.f0 > 0.0 { r.k_e * b.e0 / b.f0 } else { 0.0 };
        dy[E] = se * (fq + p.elastin_output_activated * f_act)
            - (r.k_e + p.elastase_per_neutrophil * n) * y[E].max(0.0);
        // Collagenase activity relative to rest.
        let f_rel = if b.f0 > 0.0 { f_act / b.f0 } else { 0.0 };
        dy[MMP] = r.k_mmp
            * (1.0 + p.mmp_induction_cytokine * s_sig + p.mmp_induction_fibroblast * f_rel
                - y[MMP]);
        // Vascular response.
        dy[VB] = (b.v0 * (p.vasodilation_max - 1.0) * s_sig - y[VB]) / p.vascular_time_constant;
        dy[W] = r.k_w * (p.oedema_max * s_sig - y[W]);
        if let Some(e) = &self.epi {
            dy[DE] = -r.k_de * y[DE];
            dy[BO] = -r.k_seal * y[BO];
            let c_gain = (c1 + c3) / c_rest.max(1e-30) - 1.0;
            let target = e.he0
                * (1.0
                    + p.epidermis_fibroblast_drive * f_rel
                    + p.epidermis_matrix_coupling * c_gain)
                    .max(0.2);
            dy[HE] = r.k_he * (target - y[HE]);
        }
        let _ = r.output;
    }
}

/// Seconds per year (re-exported for callers converting follow-up times).
pub const SECONDS_PER_YEAR: f64 = YEAR;
