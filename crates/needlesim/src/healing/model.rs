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
//! | 5 | T | TGF-β1 (not split into latent and active) | kg/m³ |
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
//! collagen-I-making cells. Equations: `docs/MODEL.md (Healing)`.

use super::ode::System;
use super::params::HealingParams;
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
    /// Resealing rate of the opened surface, 1/s: the program's one closure law
    /// ([`crate::params::closure`], unoccluded channels) for this age and phototype.
    pub reseal_rate_per_s: f64,
    /// Fitzpatrick phototype (1-6).
    pub phototype: u8,
}

impl PersonFactors {
    pub fn new(age_years: f64, phototype: u8, p: &HealingParams) -> Self {
        let frac = ((age_years - p.age_young) / (p.age_old - p.age_young)).clamp(0.0, 1.0);
        let output = 1.0 - (1.0 - p.age_output_ratio) * frac;
        // The closure law at its default constants, reference depth and a site without a site
        // factor; runs that know the study's closure constants, the channel depth and the site
        // set the rate with `LumpedModel::with_reseal_rate` (`healing::outcomes::run_zone`).
        let closure = crate::params::closure::ClosureParams::default();
        PersonFactors {
            output,
            reseal_rate_per_s: closure.reseal_rate_per_s(
                closure.ref_depth_m,
                age_years,
                phototype,
                crate::skin::Site::Cheek,
            ),
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
    /// Resting TGF-β (not split into latent and active), kg/m³ (steady state of the production terms).
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
            k_seal: person.reseal_rate_per_s,
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

/// Collagen III content that remodelling converts towards, for total collagen `c`: the resting
/// matrix `c_rest` keeps its resting share `th0`, matrix above it matures to the share `thr`.
#[inline]
pub fn remodel_target(c: f64, c_rest: f64, th0: f64, thr: f64) -> f64 {
    if c > c_rest {
        th0 * c_rest + thr * (c - c_rest)
    } else {
        th0 * c
    }
}

#[inline]
fn hill(x: f64, k: f64) -> f64 {
    let x = x.max(0.0);
    x / (x + k)
}

/// d hill(x, k) / dx (right derivative at 0; 0 for x < 0, where `hill` is clamped).
#[inline]
fn dhill(x: f64, k: f64) -> f64 {
    if x >= 0.0 {
        k / ((x + k) * (x + k))
    } else {
        0.0
    }
}

/// d max(x, 0) / dx (right derivative at 0).
#[inline]
fn dpos(x: f64) -> f64 {
    if x >= 0.0 { 1.0 } else { 0.0 }
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

    /// Sets the resealing rate constant (from the closure law), 1/s.
    pub fn set_reseal_rate(&mut self, k_per_s: f64) {
        self.r.k_seal = k_per_s;
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

    /// The analytic Jacobian ∂f/∂y of [`System::rhs`], row-major `dim × dim`, written into
    /// `jac` (fully overwritten). Clamped terms (`max(x, 0)`, Hill functions) use their right
    /// derivative at 0, so the resting state sees the response to an increase. Tested against
    /// finite differences.
    pub fn jacobian_into(&self, y: &[f64], jac: &mut [f64]) {
        let n = self.dim();
        jac[..n * n].fill(0.0);
        let mut set = |i: usize, j: usize, v: f64| jac[i * n + j] += v;
        let p = &self.p;
        let r = &self.r;
        let b = &self.base;
        let d = y[D].max(0.0);
        let nn = y[N].max(0.0);
        let m = y[M].max(0.0);
        let fq = y[FQ].max(0.0);
        let fa = y[FA].max(0.0);
        let fm = y[FM].max(0.0);
        let (pd, pn, pm) = (dpos(y[D]), dpos(y[N]), dpos(y[M]));
        let (pfq, pfa, pfm) = (dpos(y[FQ]), dpos(y[FA]), dpos(y[FM]));
        let f_act = fa + fm;
        let ft = fq + f_act;

        let h_d = hill(d, p.debris_half_activation);
        let h_d1 = dhill(y[D], p.debris_half_activation);
        let s_sig = hill(y[S], p.cytokine_half_effect);
        let s_sig1 = dhill(y[S], p.cytokine_half_effect);
        let sig_p = hill(y[P], p.pdgf_half_effect);
        let sig_p1 = dhill(y[P], p.pdgf_half_effect);
        let dt_ex = (y[T] - b.t0).max(0.0);
        let dt_ex1 = dpos(y[T] - b.t0);
        let sig_t = hill(dt_ex, p.tgfb_half_effect);
        let sig_t1 = dhill(dt_ex, p.tgfb_half_effect) * dt_ex1;
        let drive = 1.0 - (1.0 - sig_p) * (1.0 - sig_t);
        let drive_p = (1.0 - sig_t) * sig_p1;
        let drive_t = (1.0 - sig_p) * sig_t1;
        let blood = b.v0 + y[VB].max(0.0);
        let blood1 = dpos(y[VB]);

        // D
        let clear = p.debris_clearance_neutrophil * nn + p.debris_clearance_macrophage * m;
        set(D, D, -clear * pd);
        set(D, N, -p.debris_clearance_neutrophil * pn * d);
        set(D, M, -p.debris_clearance_macrophage * pm * d);
        // P
        set(P, P, -r.k_p);
        set(P, M, p.pdgf_per_macrophage * pm * h_d);
        set(P, D, p.pdgf_per_macrophage * m * h_d1);
        // S
        let antiinf = 1.0 / (1.0 + dt_ex / p.tgfb_antiinflammatory_k);
        let antiinf_t = -antiinf * antiinf / p.tgfb_antiinflammatory_k * dt_ex1;
        let leuk = p.cytokine_per_neutrophil * nn + p.cytokine_per_macrophage * m * h_d;
        set(S, S, -r.k_s);
        set(
            S,
            D,
            p.cytokine_from_damage * pd + p.cytokine_per_macrophage * m * h_d1 * antiinf,
        );
        set(S, N, p.cytokine_per_neutrophil * pn * antiinf);
        set(S, M, p.cytokine_per_macrophage * pm * h_d * antiinf);
        set(S, T, leuk * antiinf_t);
        if self.epi.is_some() {
            set(
                S,
                DE,
                p.cytokine_from_damage * self.ve_over_pd * dpos(y[DE]),
            );
        }
        // N
        set(N, VB, p.neutrophil_influx * blood1 * s_sig);
        set(N, S, p.neutrophil_influx * blood * s_sig1);
        set(N, N, -r.k_n * pn);
        // M
        let kn = p.neutrophil_half_macrophage_recruit;
        set(M, VB, p.macrophage_influx * blood1 * hill(nn, kn));
        set(M, N, p.macrophage_influx * blood * dhill(y[N], kn));
        set(M, M, -p.macrophage_removal_rate);
        // T
        set(T, M, p.tgfb_per_macrophage * pm * (1.0 - h_d));
        set(T, D, -p.tgfb_per_macrophage * m * h_d1);
        set(T, T, -r.k_t);
        // Fibroblasts.
        let ka = p.fibroblast_activation_rate;
        let fmax = p.fibroblast_max_ratio * b.f0;
        let gl = 1.0 - ft / fmax;
        let (g, g1) = if gl > 0.0 {
            (gl, -1.0 / fmax)
        } else {
            (0.0, 0.0)
        };
        let km = p.myofibroblast_rate;
        let kr = p.fibroblast_reversion_rate;
        let (apop, apop1) = if ft > b.f0 {
            let da = p.fibroblast_apoptosis_rate;
            (da * (ft - b.f0) / ft, da * b.f0 / (ft * ft))
        } else {
            (0.0, 0.0)
        };
        let fs = [(FQ, pfq), (FA, pfa), (FM, pfm)];
        // act = ka drive fq
        let act_p = ka * drive_p * fq;
        let act_t = ka * drive_t * fq;
        let act_q = ka * drive * pfq;
        // prolif = rho drive fa g
        let pro_p = r.rho_f * drive_p * fa * g;
        let pro_t = r.rho_f * drive_t * fa * g;
        // diff = km sig_t fa
        let dif_t = km * sig_t1 * fa;
        let dif_a = km * sig_t * pfa;
        // rev_a = kr (1 - drive) fa ; rev_m = kr (1 - sig_t) fm
        let ra_p = -kr * drive_p * fa;
        let ra_t = -kr * drive_t * fa;
        let ra_a = kr * (1.0 - drive) * pfa;
        let rm_t = -kr * sig_t1 * fm;
        let rm_m = kr * (1.0 - sig_t) * pfm;
        // dFQ = -act + rev_a + rev_m - apop fq
        set(FQ, P, -act_p + ra_p);
        set(FQ, T, -act_t + ra_t + rm_t);
        set(FQ, FQ, -act_q - apop * pfq);
        set(FQ, FA, ra_a);
        set(FQ, FM, rm_m);
        // dFA = act + prolif - diff - rev_a - apop fa
        set(FA, P, act_p + pro_p - ra_p);
        set(FA, T, act_t + pro_t - dif_t - ra_t);
        set(FA, FQ, act_q);
        set(FA, FA, -dif_a - ra_a - apop * pfa);
        for (j, pj) in fs {
            // ∂prolif/∂F_j and ∂(apop f)/∂F_j (f = fq, fa, fm) through the totals.
            set(FQ, j, -apop1 * pj * fq);
            set(FA, j, r.rho_f * drive * fa * g1 * pj - apop1 * pj * fa);
            set(FM, j, -apop1 * pj * fm);
        }
        set(FA, FA, r.rho_f * drive * g * pfa);
        // dFM = diff - rev_m - apop fm
        set(FM, T, dif_t - rm_t);
        set(FM, FA, dif_a);
        set(FM, FM, -rm_m - apop * pfm);
        // Collagen.
        let c_rest = b.c1_0 + b.c3_0;
        let sigma = if b.f0 > 0.0 {
            r.k_c * c_rest / b.f0
        } else {
            0.0
        };
        let kac = p.collagen_output_activated;
        let th0 = r.theta0;
        let tha = p.collagen3_share_early;
        let mmp = y[MMP].max(0.0);
        let pmmp = dpos(y[MMP]);
        let c3 = y[C3].max(0.0);
        let c1 = y[C1].max(0.0);
        let (p3, p1) = (dpos(y[C3]), dpos(y[C1]));
        // III target: the resting matrix keeps its share, new matrix matures to the adult share.
        let thr = if c3 + c1 > c_rest {
            p.collagen3_share_remodelled
        } else {
            th0
        };
        let ex = c3 - remodel_target(c3 + c1, c_rest, th0, p.collagen3_share_remodelled);
        let (exc, on) = if ex > 0.0 { (ex, 1.0) } else { (0.0, 0.0) };
        set(C3, FQ, sigma * th0 * pfq);
        set(C3, FA, sigma * kac * tha * pfa);
        set(C3, FM, sigma * kac * th0 * pfm);
        set(C1, FQ, sigma * (1.0 - th0) * pfq);
        set(C1, FA, sigma * kac * (1.0 - tha) * pfa);
        set(C1, FM, sigma * kac * (1.0 - th0) * pfm);
        let x_mmp = r.k_x * exc * pmmp;
        let x_c3 = r.k_x * mmp * on * (1.0 - thr) * p3;
        let x_c1 = -r.k_x * mmp * on * thr * p1;
        set(C3, MMP, -r.k_c * c3 * pmmp - x_mmp);
        set(C3, C3, -r.k_c * mmp * p3 - x_c3);
        set(C3, C1, -x_c1);
        set(C1, MMP, -r.k_c * c1 * pmmp + x_mmp);
        set(C1, C1, -r.k_c * mmp * p1 + x_c1);
        set(C1, C3, x_c3);
        // Elastin.
        let se = if b.f0 > 0.0 { r.k_e * b.e0 / b.f0 } else { 0.0 };
        let ke = p.elastin_output_activated;
        set(E, FQ, se * pfq);
        set(E, FA, se * ke * pfa);
        set(E, FM, se * ke * pfm);
        set(E, N, -p.elastase_per_neutrophil * pn * y[E].max(0.0));
        set(E, E, -(r.k_e + p.elastase_per_neutrophil * nn) * dpos(y[E]));
        // Collagenase.
        let inv_f0 = if b.f0 > 0.0 { 1.0 / b.f0 } else { 0.0 };
        set(MMP, S, r.k_mmp * p.mmp_induction_cytokine * s_sig1);
        set(MMP, FA, r.k_mmp * p.mmp_induction_fibroblast * inv_f0 * pfa);
        set(MMP, FM, r.k_mmp * p.mmp_induction_fibroblast * inv_f0 * pfm);
        set(MMP, MMP, -r.k_mmp);
        // Vascular response.
        let tv = p.vascular_time_constant;
        set(VB, S, b.v0 * (p.vasodilation_max - 1.0) * s_sig1 / tv);
        set(VB, VB, -1.0 / tv);
        set(W, S, r.k_w * p.oedema_max * s_sig1);
        set(W, W, -r.k_w);
        if let Some(e) = &self.epi {
            set(DE, DE, -r.k_de);
            set(BO, BO, -r.k_seal);
            let f_rel = f_act * inv_f0;
            let c_gain = (c1 + c3) / c_rest.max(1e-30) - 1.0;
            let inner =
                1.0 + p.epidermis_fibroblast_drive * f_rel + p.epidermis_matrix_coupling * c_gain;
            if inner > 0.2 {
                let kf = r.k_he * e.he0 * p.epidermis_fibroblast_drive * inv_f0;
                let kc = r.k_he * e.he0 * p.epidermis_matrix_coupling / c_rest.max(1e-30);
                set(HE, FA, kf * pfa);
                set(HE, FM, kf * pfm);
                set(HE, C3, kc * p3);
                set(HE, C1, kc * p1);
            }
            set(HE, HE, -r.k_he);
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
        // Excess cells of every state die at the same per-cell rate, quiescent ones included:
        // scars lose their cellularity by apoptosis (Desmoulière et al. 1995), so the cells
        // that reverted to quiescence do not keep the density above rest.
        dy[FQ] = -act + rev_a + rev_m - apop * fq;
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
        // Remodelling: collagen III above its target (the resting matrix at the resting share,
        // new matrix at the adult share) is converted into I: III rises during a series (III-rich
        // early matrix) and falls after it.
        let x = r.k_x
            * mmp
            * (c3 - remodel_target(c3 + c1, c_rest, th0, p.collagen3_share_remodelled)).max(0.0);
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

    fn jacobian(&self, _t: f64, y: &[f64], jac: &mut [f64]) -> bool {
        self.jacobian_into(y, jac);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skin::{self, Person, Site, ThicknessOverrides};

    /// The analytic Jacobian matches central finite differences at rest, right after an injury
    /// and at states along the healing trajectory.
    #[test]
    fn analytic_jacobian_matches_finite_differences() {
        let col = skin::column(
            Site::Cheek,
            &Person::default(),
            &ThicknessOverrides::default(),
        )
        .expect("column");
        let p = HealingParams::default();
        let pf = PersonFactors::new(50.0, 4, &p);
        for kind in [LayerKind::PapillaryDermis, LayerKind::ReticularDermis] {
            let b = Block::new(&col, kind, &p, &pf);
            let n = b.dim();
            let sc = b.scales();
            let mut states = Vec::new();
            let mut y = b.rest();
            // Perturb upwards off the clamps so one-sided kinks are not straddled.
            for (i, v) in y.iter_mut().enumerate() {
                *v += 0.01 * sc[i];
            }
            states.push(y.clone());
            b.apply_injury(
                &mut y,
                &BlockInjury {
                    injured_fraction: 0.05,
                    blood_fraction: 0.01,
                    epidermis_injured_fraction: 0.05,
                    open_surface_fraction: 0.02,
                },
            );
            states.push(y.clone());
            let mut ws = crate::healing::ode::Workspace::new(n);
            let opts = crate::healing::ode::Options::new(
                1e-6,
                sc.iter().map(|s| s * 1e-6).collect(),
                60.0,
                5.0 * crate::units::DAY,
            );
            for days in [1.0, 4.0, 12.0] {
                let mut z = y.clone();
                crate::healing::ode::integrate(
                    &b,
                    0.0,
                    days * crate::units::DAY,
                    &mut z,
                    &opts,
                    &mut ws,
                    |_| {},
                )
                .expect("integrate");
                states.push(z);
            }
            let mut ja = vec![0.0; n * n];
            let (mut fp, mut fm) = (vec![0.0; n], vec![0.0; n]);
            for y in &states {
                b.jacobian_into(y, &mut ja);
                let mut f0 = vec![0.0; n];
                b.rhs(0.0, y, &mut f0);
                let fscale: Vec<f64> = (0..n).map(|i| f0[i].abs().max(sc[i] * 1e-9)).collect();
                for j in 0..n {
                    let h = 1e-6 * y[j].abs().max(sc[j]);
                    let mut yp = y.clone();
                    yp[j] += h;
                    b.rhs(0.0, &yp, &mut fp);
                    yp[j] = y[j] - h;
                    b.rhs(0.0, &yp, &mut fm);
                    for i in 0..n {
                        let fd = (fp[i] - fm[i]) / (2.0 * h);
                        // Compare the effect of a typical change of y_j on f_i.
                        let diff = (fd - ja[i * n + j]).abs() * sc[j];
                        let tol = 1e-4 * (fscale[i] + fd.abs() * sc[j]);
                        assert!(
                            diff <= tol,
                            "{kind:?} d f[{}]/d y[{}]: analytic {} vs FD {fd}",
                            NAMES[i],
                            NAMES[j],
                            ja[i * n + j]
                        );
                    }
                }
            }
        }
    }
}
