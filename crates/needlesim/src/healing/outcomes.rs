//! From trajectories to outcomes: tissue changes, redness/swelling and downtime, PIH risk, scar
//! and wrinkle scores; uncertainty bands from sampled parameters; the report types.
//!
//! Outcome mappings (see `docs/MODEL.md (Healing)`):
//! * content changes are per skin area (Σ layer thickness × concentration) against rest;
//! * dermal thickness change Δh = Σ hℓ·ν·((Cℓ+Eℓ)/(C0ℓ+E0ℓ) − 1) (matrix-proportional volume);
//! * downtime: visible erythema/oedema E(t) = Σⱼ (qⱼ/q_ref)·exp(−(t − tⱼ)/τ_e) from each session's
//!   injury dose qⱼ (needle-displaced volume per skin area, raised by bleeding channels), visible
//!   while E > exp(−D_ref/τ_e); so a session of the reference dose (V14's set-up) lasts D_ref and
//!   others D_ref + τ_e·ln(q/q_ref): continuous in depth, density and bleeding;
//! * PIH: hazard per reference-dose session, scaled by the session's dose and by phototype;
//!   risk = 1 − Π exp(−h·ratio^(type − 4.5)·qⱼ/q_ref), fitted jointly on two cohorts;
//! * scar score reduction = Σ shareₖ·(1 − exp(−γ·F(t)·wₖ/(wₖ + s)/dₖ)), s = channel spacing,
//!   F(t) = the dermal thickening seen through the maturation lag of new matrix (first order,
//!   time constant collagen3_remodel_half_life/ln 2): improvement keeps growing for months after
//!   the last session and has no cap but 100 %;
//! * wrinkle improvement (relative reduction of the wrinkle grade) = 1 − exp(−γ_w·F(t)/d_w), the
//!   same fill over the wrinkle depth with its own gain, calibrated on V01 (Ablon 2018);
//! * laxity improvement (relative reduction of the laxity grade) = 1 − exp(−γ_l·ΔM_ret), ΔM_ret the
//!   relative change of the reticular dermis's collagen I + elastin (the deep, load-bearing
//!   matrix), calibrated on V01-LAX (Ablon 2018);
//! * texture improvement (relative reduction of the texture grade) = 1 − exp(−γ_t·ΔC_pap), ΔC_pap
//!   the relative change of the papillary dermis's collagen concentration (the surface's
//!   support), calibrated on V01-TEX (Ablon 2018);
//! * stretch-mark improvement (relative reduction of the striae grade) = 1 − exp(−γ·F(t)·w/(w + s)/d),
//!   a stria read as a linear atrophic dermal scar of depth d and width w (`striae_depth`,
//!   `striae_width`) filled like an acne scar, with the scar gain γ calibrated on V02: no gain of
//!   its own, so striae cases are predictions;
//! * pores, pigment and melasma: not predicted (no published data to calibrate a mapping on),
//!   listed in `ZoneOutcomes::not_predicted`.

use rayon::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::lumped::{self, Accuracy, LumpedModel, SessionInput, Trajectory};
use super::model::{self, NPAP};
use super::ode::OdeError;
use super::params::{DAY, HOUR, HealingParams};
use crate::protocol::{Concern, Protocol, Scar};
use crate::skin::SkinColumn;

/// A value with its uncertainty band.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Band {
    /// With the nominal parameters.
    pub nominal: f64,
    /// 5th, 50th and 95th percentiles over the parameter samples (= nominal without samples).
    pub p5: f64,
    pub p50: f64,
    pub p95: f64,
}

impl Band {
    fn from(nominal: f64, samples: &mut [f64]) -> Band {
        if samples.is_empty() {
            return Band {
                nominal,
                p5: nominal,
                p50: nominal,
                p95: nominal,
            };
        }
        samples.sort_by(f64::total_cmp);
        let q = |p: f64| {
            let pos = p * (samples.len() - 1) as f64;
            let (i, f) = (pos.floor() as usize, pos.fract());
            let j = (i + 1).min(samples.len() - 1);
            samples[i] * (1.0 - f) + samples[j] * f
        };
        Band {
            nominal,
            p5: q(0.05),
            p50: q(0.5),
            p95: q(0.95),
        }
    }
}

/// Tissue and clinical outcomes at one time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TimepointOutcomes {
    /// Days from the first session.
    pub day: f64,
    /// Change of dermal collagen I per skin area, %.
    pub collagen_i_change_pct: Band,
    /// Change of dermal collagen III per skin area, %.
    pub collagen_iii_change_pct: Band,
    /// Change of dermal elastin per skin area, %.
    pub elastin_change_pct: Band,
    /// Change of total collagen concentration in the papillary dermis, %.
    pub papillary_collagen_change_pct: Band,
    /// Change of viable epidermal thickness, %.
    pub epidermal_thickness_change_pct: Band,
    /// Change of dermal thickness from matrix (oedema excluded), %.
    pub dermal_thickness_change_pct: Band,
    /// Dermal thickening from matrix, µm.
    pub dermal_thickening_um: Band,
    /// Predicted reduction of the acne-scar score, % (when acne_scars is a concern).
    pub acne_scar_score_reduction_pct: Option<Band>,
    /// Predicted wrinkle improvement: relative reduction of the wrinkle grade, % (when wrinkles
    /// or fine_lines is a concern; calibrated on V01, Ablon 2018).
    pub wrinkle_improvement_pct: Option<Band>,
    /// Predicted laxity improvement: relative reduction of the laxity grade, % (when laxity is a
    /// concern; from the reticular dermis's collagen I + elastin, calibrated on V01-LAX, Ablon
    /// 2018).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub laxity_improvement_pct: Option<Band>,
    /// Predicted texture improvement: relative reduction of the texture grade, % (when texture is
    /// a concern; from the papillary dermis's collagen, calibrated on V01-TEX, Ablon 2018).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub texture_improvement_pct: Option<Band>,
    /// Predicted stretch-mark improvement: relative reduction of the striae grade, % (when
    /// stretch_marks is a concern; a stria filled as a linear atrophic scar with the scar gain
    /// calibrated on V02, no gain of its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stretch_marks_improvement_pct: Option<Band>,
}

/// A clinical score of a time point, as the terminal and the study page list it.
pub struct ClinicalScore<'a> {
    /// Its name ("scar score", "wrinkle grade", ...).
    pub name: &'static str,
    /// A qualifier shown with the name (the stretch-mark score is uncalibrated for striae).
    pub note: Option<&'static str>,
    /// The score (a relative reduction, %), when the protocol has its concern.
    pub band: Option<&'a Band>,
}

impl TimepointOutcomes {
    /// The clinical scores, in the order they are shown; `band` is None for a concern the
    /// protocol does not have.
    pub fn clinical_scores(&self) -> [ClinicalScore<'_>; 5] {
        fn s<'a>(
            name: &'static str,
            note: Option<&'static str>,
            band: &'a Option<Band>,
        ) -> ClinicalScore<'a> {
            ClinicalScore {
                name,
                note,
                band: band.as_ref(),
            }
        }
        [
            s("scar score", None, &self.acne_scar_score_reduction_pct),
            s("wrinkle grade", None, &self.wrinkle_improvement_pct),
            s("laxity grade", None, &self.laxity_improvement_pct),
            s("texture grade", None, &self.texture_improvement_pct),
            s(
                "striae grade",
                Some("uncalibrated: the acne-scar gain"),
                &self.stretch_marks_improvement_pct,
            ),
        ]
    }
}

/// Per-session response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SessionOutcomes {
    pub day: f64,
    /// Days until redness and swelling are no longer visible.
    pub downtime_days: Band,
    /// Peak papillary blood volume relative to rest.
    pub redness_peak_ratio: Band,
    /// Peak dermal oedema, % of tissue volume.
    pub swelling_peak_pct: Band,
    /// Hours until 95 % of the opened surface has resealed.
    pub reseal_h: Band,
}

/// Time of the peaks after the first session (emergent phases), days.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PhasePeaks {
    pub cytokine_day: f64,
    pub neutrophils_day: f64,
    pub macrophages_day: f64,
    pub activated_fibroblasts_day: f64,
    pub collagen_iii_rate_day: f64,
    pub collagen_i_rate_day: f64,
}

/// Everything the healing model says about one zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ZoneOutcomes {
    pub sessions: Vec<SessionOutcomes>,
    /// Mean downtime over the sessions, days.
    pub downtime_mean_days: Band,
    /// Risk of post-inflammatory hyperpigmentation over the protocol, %.
    pub pih_risk_pct: Band,
    /// At each report day and at the end of the follow-up.
    pub timepoints: Vec<TimepointOutcomes>,
    pub phase_peaks: PhasePeaks,
    pub samples: u32,
    /// Concerns of the protocol the model gives no calibrated clinical score for, with why (the
    /// tissue quantities above are still reported; they are not a score for these concerns).
    #[serde(default)]
    pub not_predicted: Vec<NotPredicted>,
}

/// A concern without a calibrated clinical mapping.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NotPredicted {
    pub concern: String,
    pub reason: String,
}

/// Why a concern is not predicted (`None`: it is).
pub fn not_predicted_reason(c: Concern) -> Option<&'static str> {
    match c {
        Concern::AcneScars
        | Concern::Wrinkles
        | Concern::FineLines
        | Concern::Laxity
        | Concern::Texture
        | Concern::StretchMarks => None,
        Concern::Rejuvenation => Some(
            "no objective rejuvenation or pigment score with numbers after plain microneedling (round2.md D5-D6; melasma data involve co-treatments)",
        ),
    }
}

/// The time grid: every 2 h for 10 days after each session, daily otherwise, plus report times
/// and the end; sorted, unique.
pub fn output_grid(protocol: &Protocol) -> Vec<f64> {
    let mut g = vec![0.0];
    let end = protocol.follow_up_s;
    for &ts in &protocol.session_times_s {
        for k in 0..=120 {
            g.push(ts + k as f64 * 2.0 * HOUR);
        }
    }
    let mut t = 0.0;
    while t < end {
        g.push(t);
        t += DAY;
    }
    g.extend(protocol.report_times_s.iter().copied());
    g.extend(protocol.session_times_s.iter().copied());
    g.push(end);
    g.retain(|&x| x >= 0.0 && x <= end);
    g.sort_by(f64::total_cmp);
    g.dedup_by(|a, b| (*a - *b).abs() < 1.0);
    g
}

/// Derived series of one run on the grid (what is plotted and summarised).
#[derive(Clone, Debug, Default)]
pub struct Series {
    pub t_s: Vec<f64>,
    pub collagen_i_pct: Vec<f64>,
    pub collagen_iii_pct: Vec<f64>,
    pub elastin_pct: Vec<f64>,
    pub papillary_collagen_pct: Vec<f64>,
    pub epidermis_pct: Vec<f64>,
    pub dermis_pct: Vec<f64>,
    pub dermal_thickening_m: Vec<f64>,
    /// Change of the reticular dermis's collagen I + elastin content (its elastic, load-bearing
    /// matrix), % (the laxity mapping's tissue quantity).
    pub reticular_matrix_pct: Vec<f64>,
    pub redness_ratio: Vec<f64>,
    pub swelling_pct: Vec<f64>,
    pub open_surface: Vec<f64>,
    /// Papillary-dermis values (SI): damage, cytokine, neutrophils, macrophages, activated
    /// fibroblasts (Fa+Fm), TGF-β excess, PDGF, MMP (relative).
    pub damage: Vec<f64>,
    pub cytokine: Vec<f64>,
    pub neutrophils: Vec<f64>,
    pub macrophages: Vec<f64>,
    pub fibroblasts_active: Vec<f64>,
    pub tgfb_excess: Vec<f64>,
    pub pdgf: Vec<f64>,
    pub mmp: Vec<f64>,
}

/// Computes the derived series from a trajectory.
pub fn series(model: &LumpedModel, tr: &Trajectory, p: &HealingParams) -> Series {
    let blocks = model.blocks();
    let hs: Vec<f64> = blocks.iter().map(|b| b.base.thickness_m).collect();
    let c1_0: f64 = blocks
        .iter()
        .map(|b| b.base.thickness_m * b.base.c1_0)
        .sum();
    let c3_0: f64 = blocks
        .iter()
        .map(|b| b.base.thickness_m * b.base.c3_0)
        .sum();
    let e_0: f64 = blocks.iter().map(|b| b.base.thickness_m * b.base.e0).sum();
    let h_tot: f64 = hs.iter().sum();
    let pb = &model.papillary.base;
    let he0 = model.papillary.epi.map_or(1.0, |e| e.he0);
    let rb = &model.reticular.base;
    let rm0 = rb.c1_0 + rb.e0;
    let mut s = Series {
        t_s: tr.times_s.clone(),
        ..Default::default()
    };
    for i in 0..tr.times_s.len() {
        let rows: [&[f64; NPAP]; 2] = [&tr.values[0][i], &tr.values[1][i]];
        let (mut c1, mut c3, mut e, mut dh, mut w) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (b, y) in blocks.iter().zip(rows) {
            let h = b.base.thickness_m;
            c1 += h * y[model::C1];
            c3 += h * y[model::C3];
            e += h * y[model::E];
            let m0 = b.base.c1_0 + b.base.c3_0 + b.base.e0;
            if m0 > 0.0 {
                dh += h
                    * p.matrix_volume_coupling
                    * ((y[model::C1] + y[model::C3] + y[model::E]) / m0 - 1.0);
            }
            w += h * y[model::W];
        }
        s.reticular_matrix_pct.push(if rm0 > 0.0 {
            100.0 * ((rows[1][model::C1] + rows[1][model::E]) / rm0 - 1.0)
        } else {
            0.0
        });
        let y = rows[0];
        s.collagen_i_pct.push(100.0 * (c1 / c1_0 - 1.0));
        s.collagen_iii_pct.push(100.0 * (c3 / c3_0 - 1.0));
        s.elastin_pct.push(100.0 * (e / e_0 - 1.0));
        s.papillary_collagen_pct
            .push(100.0 * ((y[model::C1] + y[model::C3]) / (pb.c1_0 + pb.c3_0) - 1.0));
        s.epidermis_pct.push(100.0 * (y[model::HE] / he0 - 1.0));
        s.dermis_pct.push(100.0 * dh / h_tot);
        s.dermal_thickening_m.push(dh);
        s.redness_ratio.push((pb.v0 + y[model::VB]) / pb.v0);
        s.swelling_pct.push(100.0 * w / h_tot);
        s.open_surface.push(y[model::BO]);
        s.damage.push(y[model::D]);
        s.cytokine.push(y[model::S]);
        s.neutrophils.push(y[model::N]);
        s.macrophages.push(y[model::M]);
        s.fibroblasts_active.push(y[model::FA] + y[model::FM]);
        s.tgfb_excess.push(y[model::T] - pb.t0);
        s.pdgf.push(y[model::P]);
        s.mmp.push(y[model::MMP]);
    }
    s
}

/// Scalar results of one run (one parameter sample).
#[derive(Clone, Debug, Default)]
struct RunSummary {
    downtime: Vec<f64>,
    red_peak: Vec<f64>,
    swell_peak: Vec<f64>,
    reseal_h: Vec<f64>,
    pih: f64,
    /// Per report time: [c1, c3, el, pap, epi, derm, thick_um, scar, wrinkle, laxity, texture,
    /// striae].
    at: Vec<[f64; 12]>,
}

/// Which clinical scores a protocol's concerns ask for.
#[derive(Clone, Copy)]
struct Scored {
    acne: bool,
    /// Wrinkles or fine lines.
    wr: bool,
    lax: bool,
    tex: bool,
    /// Stretch marks.
    sd: bool,
}

impl Scored {
    fn of(protocol: &Protocol) -> Scored {
        let has = |c: Concern| protocol.concerns.contains(&c);
        Scored {
            acne: has(Concern::AcneScars),
            wr: has(Concern::Wrinkles) || has(Concern::FineLines),
            lax: has(Concern::Laxity),
            tex: has(Concern::Texture),
            sd: has(Concern::StretchMarks),
        }
    }
}

fn interp(t: &[f64], v: &[f64], x: f64) -> f64 {
    match t.iter().position(|&ti| ti >= x) {
        Some(0) => v[0],
        Some(j) => {
            let f = (x - t[j - 1]) / (t[j] - t[j - 1]);
            v[j - 1] * (1.0 - f) + v[j] * f
        }
        None => *v.last().unwrap_or(&0.0),
    }
}

/// Fraction of an atrophic depression's depth `depth_m` (width `width_m`) filled by a visible fill
/// `fill_m` (m, the matured dermal thickening) reached by channels `spacing_m` apart, with fill
/// gain `gain`: 1 − exp(−gain·fill·coverage/depth), coverage = w/(w + s), the share of the
/// depression's width the channels reach.
fn depression_filled(fill_m: f64, depth_m: f64, width_m: f64, spacing_m: f64, gain: f64) -> f64 {
    let cover = width_m / (width_m + spacing_m);
    1.0 - (-gain * fill_m.max(0.0) * cover / depth_m).exp()
}

/// Scar-score reduction (fraction) for a visible fill `fill_m` (m, the matured dermal
/// thickening): each scar type's residual depth falls as exp(−γ·fill·coverage/depth), coverage
/// = w/(w + s), the share of the scar's width the channels (spacing s) reach.
pub fn scar_reduction(fill_m: f64, scars: &[Scar], spacing_m: f64, p: &HealingParams) -> f64 {
    let total: f64 = scars.iter().map(|s| s.share).sum();
    if total <= 0.0 {
        return 0.0;
    }
    scars
        .iter()
        .map(|s| {
            s.share / total
                * depression_filled(fill_m, s.depth_m, s.width_m, spacing_m, p.scar_score_gain)
        })
        .sum()
}

/// Stretch-mark improvement (relative reduction of the striae grade, fraction) for a visible fill
/// `fill_m`: a stria is read as a linear atrophic dermal scar (thinned dermis under a depressed
/// surface) of depth `depth_m` and width `width_m`, filled as [`scar_reduction`] fills an acne
/// scar, with the same calibrated gain (no gain of its own).
pub fn striae_improvement(
    fill_m: f64,
    depth_m: f64,
    width_m: f64,
    spacing_m: f64,
    p: &HealingParams,
) -> f64 {
    depression_filled(fill_m, depth_m, width_m, spacing_m, p.scar_score_gain)
}

/// Laxity improvement (relative reduction of the laxity grade, fraction) for a relative change
/// `dm` of the reticular dermis's collagen I + elastin content: 1 − exp(−γ_l·max(dm, 0)). Laxity
/// is read as a property of the deep, load-bearing dermis (its coarse collagen I bundles and
/// elastic fibres), so channels that stop in the papillary dermis barely move it.
pub fn laxity_improvement(dm: f64, p: &HealingParams) -> f64 {
    1.0 - (-p.laxity_score_gain * dm.max(0.0)).exp()
}

/// Texture improvement (relative reduction of the texture grade, fraction) for a relative change
/// `dc` of the papillary dermis's collagen concentration: 1 − exp(−γ_t·max(dc, 0)). Texture (fine
/// surface irregularity) is read as a property of the surface's support, the papillary dermis,
/// which shallow needles reach too.
pub fn texture_improvement(dc: f64, p: &HealingParams) -> f64 {
    1.0 - (-p.texture_score_gain * dc.max(0.0)).exp()
}

/// The visible fill on the grid: the dermal thickening through a first-order maturation lag of
/// time constant `tau_s` (exact for an input held over each grid step).
pub fn matured_fill(t: &[f64], dh: &[f64], tau_s: f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(t.len());
    let mut f = 0.0f64;
    for i in 0..t.len() {
        if i > 0 {
            let a = (-(t[i] - t[i - 1]).max(0.0) / tau_s).exp();
            f = dh[i].max(0.0) + (f - dh[i].max(0.0)) * a;
        }
        out.push(f);
    }
    out
}

/// Injury dose of a session, m: needle-displaced volume per skin area over the layers, raised by
/// the bleeding channels (each bleeding channel counts twice: its blood and its clot inflame).
pub fn injury_dose_m(column: &SkinColumn, injury: &super::lumped::InjuryInput) -> f64 {
    let displaced: f64 = crate::skin::LayerKind::ALL
        .iter()
        .enumerate()
        .map(|(i, &k)| column.layer(k).thickness_m * injury.injured_volume_fraction[i])
        .sum();
    displaced * (1.0 + injury.bleeding_fraction.clamp(0.0, 1.0))
}

/// Downtime (days) of each session from the erythema clock, and each session's relative dose.
pub fn downtime_days(times_s: &[f64], doses_m: &[f64], p: &HealingParams) -> Vec<f64> {
    let tau = p.erythema_decay_time;
    let ln_vis = -p.erythema_reference_downtime / tau;
    (0..times_s.len())
        .map(|k| {
            let e: f64 = (0..=k)
                .map(|j| {
                    doses_m[j] / p.erythema_reference_dose
                        * (-(times_s[k] - times_s[j]) / tau).exp()
                })
                .sum();
            if e > 0.0 {
                ((e.ln() - ln_vis) * tau / DAY).max(0.0)
            } else {
                0.0
            }
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn summarise(
    s: &Series,
    protocol: &Protocol,
    report_times: &[f64],
    injury_spacing_m: f64,
    model: &LumpedModel,
    p: &HealingParams,
    phototype: u8,
    doses_m: &[f64],
) -> RunSummary {
    let mut out = RunSummary::default();
    let n_s = protocol.session_times_s.len();
    let hazard = p.pih_hazard * p.pih_ratio_per_phototype.powf(phototype as f64 - 4.5);
    let dose_rel: f64 = doses_m.iter().map(|q| q / p.erythema_reference_dose).sum();
    out.pih = 100.0 * (1.0 - (-hazard * dose_rel).exp());
    out.downtime = downtime_days(&protocol.session_times_s[..n_s], doses_m, p);
    for k in 0..n_s {
        let t0 = protocol.session_times_s[k];
        let t1 = protocol
            .session_times_s
            .get(k + 1)
            .copied()
            .unwrap_or(protocol.follow_up_s);
        let (mut rp, mut sp) = (1.0f64, 0.0f64);
        for i in 0..s.t_s.len() {
            let t = s.t_s[i];
            if t <= t0 || t > t1 {
                continue;
            }
            rp = rp.max(s.redness_ratio[i]);
            sp = sp.max(s.swelling_pct[i]);
        }
        out.red_peak.push(rp);
        out.swell_peak.push(sp);
        out.reseal_h
            .push(3.0 / model.papillary.reseal_rate() / HOUR);
    }
    let fill = matured_fill(
        &s.t_s,
        &s.dermal_thickening_m,
        p.collagen3_remodel_half_life / std::f64::consts::LN_2,
    );
    let Scored {
        acne,
        wr,
        lax,
        tex,
        sd,
    } = Scored::of(protocol);
    // The protocol's geometry, or the parameters' defaults (this draw's, in a band sample).
    let scars = if acne {
        protocol.scars_with(p)
    } else {
        Vec::new()
    };
    let wrinkle_depth = protocol.wrinkle_depth_with(p);
    for &t in report_times {
        let dh = interp(&s.t_s, &s.dermal_thickening_m, t);
        let f = interp(&s.t_s, &fill, t);
        let scar = if acne {
            100.0 * scar_reduction(f, &scars, injury_spacing_m, p)
        } else {
            f64::NAN
        };
        let wrinkle = if wr {
            100.0 * (1.0 - (-p.wrinkle_score_gain * f.max(0.0) / wrinkle_depth).exp())
        } else {
            f64::NAN
        };
        let laxity = if lax {
            100.0 * laxity_improvement(interp(&s.t_s, &s.reticular_matrix_pct, t) / 100.0, p)
        } else {
            f64::NAN
        };
        let texture = if tex {
            100.0 * texture_improvement(interp(&s.t_s, &s.papillary_collagen_pct, t) / 100.0, p)
        } else {
            f64::NAN
        };
        let striae = if sd {
            100.0
                * striae_improvement(
                    f,
                    protocol.striae_depth_with(p),
                    protocol.striae_width_with(p),
                    injury_spacing_m,
                    p,
                )
        } else {
            f64::NAN
        };
        out.at.push([
            interp(&s.t_s, &s.collagen_i_pct, t),
            interp(&s.t_s, &s.collagen_iii_pct, t),
            interp(&s.t_s, &s.elastin_pct, t),
            interp(&s.t_s, &s.papillary_collagen_pct, t),
            interp(&s.t_s, &s.epidermis_pct, t),
            interp(&s.t_s, &s.dermis_pct, t),
            dh * 1e6,
            scar,
            wrinkle,
            laxity,
            texture,
            striae,
        ]);
    }
    out
}

fn peak_day(t: &[f64], v: &[f64], t_end: f64) -> f64 {
    let mut best = (f64::NEG_INFINITY, 0.0);
    for (i, (&ti, &vi)) in t.iter().zip(v).enumerate() {
        if ti > t_end {
            break;
        }
        let _ = i;
        if vi > best.0 {
            best = (vi, ti);
        }
    }
    best.1 / DAY
}

/// Peak times after the first session (up to the second session or 90 days).
pub fn phase_peaks(s: &Series, protocol: &Protocol) -> PhasePeaks {
    let t_end = protocol
        .session_times_s
        .get(1)
        .copied()
        .unwrap_or(protocol.follow_up_s)
        .min(90.0 * DAY);
    // Deposition rates by finite differences of the content series.
    let rate = |v: &[f64]| -> Vec<f64> {
        (0..v.len())
            .map(|i| {
                if i == 0 {
                    0.0
                } else {
                    (v[i] - v[i - 1]) / (s.t_s[i] - s.t_s[i - 1]).max(1.0)
                }
            })
            .collect()
    };
    PhasePeaks {
        cytokine_day: peak_day(&s.t_s, &s.cytokine, t_end),
        neutrophils_day: peak_day(&s.t_s, &s.neutrophils, t_end),
        macrophages_day: peak_day(&s.t_s, &s.macrophages, t_end),
        activated_fibroblasts_day: peak_day(&s.t_s, &s.fibroblasts_active, t_end),
        collagen_iii_rate_day: peak_day(&s.t_s, &rate(&s.collagen_iii_pct), t_end),
        collagen_i_rate_day: peak_day(&s.t_s, &rate(&s.collagen_i_pct), t_end),
    }
}

/// Inputs of one zone's healing run.
pub struct ZoneRun<'a> {
    pub column: &'a SkinColumn,
    pub age_years: f64,
    pub phototype: u8,
    pub sessions: Vec<SessionInput>,
    pub protocol: &'a Protocol,
    /// Mean spacing of the channels, m (1/√density).
    pub spacing_m: f64,
    /// The closure law's constants: the opened surface reseals at the law's unoccluded rate for
    /// the first session's channel depth, the person and the column's site.
    pub closure: &'a crate::params::ClosureParams,
}

impl ZoneRun<'_> {
    /// Resealing rate of the opened surface, 1/s (the one closure law, unoccluded).
    pub fn reseal_rate_per_s(&self) -> f64 {
        reseal_rate_per_s(
            self.closure,
            &self.sessions,
            self.age_years,
            self.phototype,
            self.column.site,
        )
    }
}

/// Resealing rate of the opened surface, 1/s: the one closure law, unoccluded, at the first
/// session's mean channel depth (the reference depth without sessions), for this person and site.
pub fn reseal_rate_per_s(
    closure: &crate::params::ClosureParams,
    sessions: &[SessionInput],
    age_years: f64,
    phototype: u8,
    site: crate::skin::Site,
) -> f64 {
    let depth = sessions
        .first()
        .map_or(closure.ref_depth_m, |s| s.injury.mean_depth_m);
    closure.reseal_rate_per_s(depth, age_years, phototype, site)
}

/// The result: outcomes with bands, plus the nominal series and its 5-95 % band for plotting.
pub struct ZoneResult {
    pub outcomes: ZoneOutcomes,
    pub nominal: Series,
    pub model: LumpedModel,
    /// 5th and 95th percentiles per grid time of: collagen I %, collagen III %, elastin %,
    /// epidermis %, redness ratio.
    pub bands: [[Vec<f64>; 2]; 5],
}

/// The report times of a protocol, the follow-up last.
fn report_times_of(protocol: &Protocol) -> Vec<f64> {
    let mut report_times = protocol.report_times_s.clone();
    report_times.push(protocol.follow_up_s);
    report_times
}

/// Parameter sample `k` of a zone run (its own seeded stream: the same for any thread count).
fn sample_params(p: &HealingParams, seed: u64, k: u32) -> HealingParams {
    let mut rng = crate::rng::stream(seed, &[crate::rng::tag::PARAMETER_SAMPLE, k as u64]);
    p.sample(&mut rng)
}

/// One run of the zone with parameters `pp`: its series, scalar summary and model.
fn run_one(
    z: &ZoneRun<'_>,
    grid: &[f64],
    report_times: &[f64],
    pp: &HealingParams,
    accuracy: Accuracy,
) -> Result<(Series, RunSummary, LumpedModel), OdeError> {
    let model = LumpedModel::new(z.column, z.age_years, z.phototype, pp)
        .with_reseal_rate(z.reseal_rate_per_s());
    let tr = lumped::simulate(&model, &z.sessions, z.protocol.follow_up_s, grid, accuracy)?;
    let s = series(&model, &tr, pp);
    let doses: Vec<f64> = z
        .sessions
        .iter()
        .map(|s| injury_dose_m(z.column, &s.injury))
        .collect();
    let sum = summarise(
        &s,
        z.protocol,
        report_times,
        z.spacing_m,
        &model,
        pp,
        z.phototype,
        &doses,
    );
    Ok((s, sum, model))
}

/// The limit and sample order of [`pih_p95_exceeds`].
#[derive(Clone, Copy, Debug)]
pub struct PihScreen<'a> {
    /// The limit, % (the percentile must exceed it).
    pub limit_pct: f64,
    /// Sample indices in the order to run them (empty: 0, 1, ...).
    pub order: &'a [u32],
    /// Samples to run along `order` before giving up.
    pub give_up_after: usize,
}

/// Whether the 95th percentile of the PIH risk (%) over the parameter samples that
/// [`run_zone_with`] draws certainly exceeds `limit_pct`, found without running them all: a
/// screen for the planner's search, which skips the full bands of protocols that break the PIH
/// limit anyway. `true` is certain; `false` means "not shown" (the caller then runs the full
/// bands), never "below the limit".
///
/// The samples run one by one (the same seeded draws), in the order `order` suggests (sample
/// indices, e.g. by the PIH risk each gave for another protocol: the draws are common to all
/// protocols, so the same samples tend to be the highest), and it stops as soon as the two
/// highest seen, a ≥ b, bound the percentile: with n ≤ 21 finite samples the 95th percentile
/// is s₍ₙ₋₁₎·(1−f) + s₍ₙ₎·f (the two largest, f the fraction of 0.95·(n−1)), at least
/// b·(1−f) + a·f, computed the same way. It gives up (`false`) on a non-finite sample, and after
/// `give_up_after` samples without a bound (all of them when `order` is empty). `seen` receives
/// the PIH risk of every sample run, by index.
pub fn pih_p95_exceeds(
    z: &ZoneRun<'_>,
    p: &HealingParams,
    accuracy: Accuracy,
    seed: u64,
    screen: &PihScreen<'_>,
    seen: &mut Vec<(u32, f64)>,
) -> bool {
    let PihScreen {
        limit_pct,
        order,
        give_up_after,
    } = *screen;
    let n = z.protocol.samples;
    if !(2..=21).contains(&n) || limit_pct.is_nan() {
        return false;
    }
    let pos = 0.95 * (n - 1) as f64;
    let f = pos.fract();
    if pos.floor() as u32 != n - 2 {
        return false;
    }
    let hinted = order.len() == n as usize && order.iter().all(|&k| k < n);
    let all: Vec<u32> = (0..n).collect();
    let (order, limit_runs) = if hinted {
        (order, give_up_after.max(2))
    } else {
        (&all[..], n as usize)
    };
    let grid = output_grid(z.protocol);
    let report_times = report_times_of(z.protocol);
    let (mut a, mut b) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    for (runs, &k) in order.iter().enumerate() {
        if runs >= limit_runs {
            return false;
        }
        let pp = sample_params(p, seed, k);
        let Ok((_, r, _)) = run_one(z, &grid, &report_times, &pp, accuracy) else {
            return false;
        };
        if !r.pih.is_finite() {
            return false;
        }
        seen.push((k, r.pih));
        if r.pih >= a {
            (a, b) = (r.pih, a);
        } else if r.pih > b {
            b = r.pih;
        }
        if runs >= 1 && b * (1.0 - f) + a * f > limit_pct {
            return true;
        }
    }
    false
}

/// Runs the nominal model and `protocol.samples` parameter samples (seeded streams per sample:
/// identical results for any thread count).
pub fn run_zone(z: &ZoneRun<'_>, p: &HealingParams, seed: u64) -> Result<ZoneResult, OdeError> {
    run_zone_with(z, p, Accuracy::default(), seed)
}

/// As [`run_zone`], with the integrator's accuracy (the registry's `numerics` group).
pub fn run_zone_with(
    z: &ZoneRun<'_>,
    p: &HealingParams,
    accuracy: Accuracy,
    seed: u64,
) -> Result<ZoneResult, OdeError> {
    let grid = output_grid(z.protocol);
    let report_times = report_times_of(z.protocol);
    let (nom_s, nom, model) = run_one(z, &grid, &report_times, p, accuracy)?;
    let draws: Vec<(Series, RunSummary)> = (0..z.protocol.samples)
        .into_par_iter()
        .map(|k| {
            let pp = sample_params(p, seed, k);
            run_one(z, &grid, &report_times, &pp, accuracy).map(|(s, r, _)| (s, r))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let band = |nominal: f64, f: &dyn Fn(&RunSummary) -> f64| {
        let mut v: Vec<f64> = draws
            .iter()
            .map(|(_, r)| f(r))
            .filter(|x| x.is_finite())
            .collect();
        Band::from(nominal, &mut v)
    };
    let sessions = (0..z.sessions.len())
        .map(|k| SessionOutcomes {
            day: z.sessions[k].t_s / DAY,
            downtime_days: band(nom.downtime[k], &|r| r.downtime[k]),
            redness_peak_ratio: band(nom.red_peak[k], &|r| r.red_peak[k]),
            swelling_peak_pct: band(nom.swell_peak[k], &|r| r.swell_peak[k]),
            reseal_h: band(nom.reseal_h[k], &|r| r.reseal_h[k]),
        })
        .collect();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let Scored {
        acne,
        wr,
        lax,
        tex,
        sd,
    } = Scored::of(z.protocol);
    let timepoints = report_times
        .iter()
        .enumerate()
        .map(|(j, &t)| {
            let b = |k: usize| band(nom.at[j][k], &|r: &RunSummary| r.at[j][k]);
            TimepointOutcomes {
                day: t / DAY,
                collagen_i_change_pct: b(0),
                collagen_iii_change_pct: b(1),
                elastin_change_pct: b(2),
                papillary_collagen_change_pct: b(3),
                epidermal_thickness_change_pct: b(4),
                dermal_thickness_change_pct: b(5),
                dermal_thickening_um: b(6),
                acne_scar_score_reduction_pct: acne.then(|| b(7)),
                wrinkle_improvement_pct: wr.then(|| b(8)),
                laxity_improvement_pct: lax.then(|| b(9)),
                texture_improvement_pct: tex.then(|| b(10)),
                stretch_marks_improvement_pct: sd.then(|| b(11)),
            }
        })
        .collect();
    let pct_band = |sel: &dyn Fn(&Series) -> &Vec<f64>| -> [Vec<f64>; 2] {
        let n = grid.len();
        let mut lo = vec![0.0; n];
        let mut hi = vec![0.0; n];
        for i in 0..n {
            let mut v: Vec<f64> = draws.iter().map(|(s, _)| sel(s)[i]).collect();
            let b = Band::from(sel(&nom_s)[i], &mut v);
            lo[i] = b.p5;
            hi[i] = b.p95;
        }
        [lo, hi]
    };
    let bands = [
        pct_band(&|s| &s.collagen_i_pct),
        pct_band(&|s| &s.collagen_iii_pct),
        pct_band(&|s| &s.elastin_pct),
        pct_band(&|s| &s.epidermis_pct),
        pct_band(&|s| &s.redness_ratio),
    ];
    let outcomes = ZoneOutcomes {
        sessions,
        downtime_mean_days: band(mean(&nom.downtime), &|r| mean(&r.downtime)),
        pih_risk_pct: band(nom.pih, &|r| r.pih),
        timepoints,
        phase_peaks: phase_peaks(&nom_s, z.protocol),
        samples: z.protocol.samples,
        not_predicted: z
            .protocol
            .concerns
            .iter()
            .filter_map(|&c| {
                not_predicted_reason(c).map(|r| NotPredicted {
                    concern: c.name().to_string(),
                    reason: r.to_string(),
                })
            })
            .collect(),
    };
    let _ = (acne, wr);
    Ok(ZoneResult {
        outcomes,
        nominal: nom_s,
        model,
        bands,
    })
}
