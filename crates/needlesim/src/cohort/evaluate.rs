//! One virtual patient at planner fidelity: the planner's screening, its recommendation per
//! zone, and the lumped healing model's predictions (with bands) of every protocol and draw.
//! No optimiser runs.

use std::panic::{AssertUnwindSafe, catch_unwind};

use super::patient::VirtualPatient;
use super::spec::{CohortSpec, ProtocolKind};
use crate::params::ModelParams;
use crate::plan::hair_predictor::ScalpPredictor;
use crate::plan::healing_predictor::HealingPredictor;
use crate::plan::predict::{Estimate, PredictInput, Predictor, ZoneProtocol};
use crate::plan::recommend::{
    self, ZoneStatus, check_depth, concern_plan, default_passes, zone_skin_with,
};
use crate::plan::rules;
use crate::rng;
use crate::skin::tables::OVERRIDE_LIMITS;
use crate::skin::{self, LayerKind, Sex, Site, ThicknessOverrides};

/// One row of the results: a patient × zone × protocol × draw (the protocol is the
/// `protocol=` partition). Field by field in `docs/OUTPUTS.md` (cohort).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Row {
    /// Index of the protocol in the cohort file (its name is the partition, not a column).
    pub protocol: usize,
    pub patient: u32,
    pub patient_seed: u64,
    pub zone: String,
    pub site: String,
    pub draw: u32,
    pub age_years: f64,
    pub sex: String,
    pub phototype: i32,
    pub concern: String,
    pub grade: Option<i32>,
    pub scar_types: String,
    pub pih_history: bool,
    pub keloid_tendency: bool,
    pub isotretinoin: bool,
    pub topical_retinoid: bool,
    pub anticoagulant: bool,
    pub inflamed_acne: bool,
    pub pregnant: bool,
    pub thickness_z_sc: f64,
    pub thickness_z_ve: f64,
    pub thickness_z_dermis: f64,
    pub epidermis_mm: Option<f64>,
    pub dermis_mm: Option<f64>,
    pub chart_column: Option<String>,
    pub device: String,
    pub setting_mm: Option<f64>,
    pub passes: Option<i32>,
    pub sessions: Option<i32>,
    pub interval_days: Option<i32>,
    pub within_dermis: Option<bool>,
    pub verdict: Option<String>,
    pub verdict_rules: Option<String>,
    pub treated: Option<bool>,
    pub metric: Option<String>,
    pub improvement_pct: Option<Estimate>,
    pub collagen_change_pct: Option<Estimate>,
    pub downtime_days: Option<Estimate>,
    pub pih_risk_pct: Option<Estimate>,
    pub horizon_days: Option<f64>,
    pub responder: Option<bool>,
    pub error: Option<String>,
}

/// The verdict of a zone's status and its rule ids; whether the planner would treat (and
/// predict) it: now, with precautions, or from a date.
fn verdict(s: &ZoneStatus) -> (&'static str, String, bool) {
    match s {
        ZoneStatus::Treat => ("treat", String::new(), true),
        ZoneStatus::TreatWithPrecautions { rules } => {
            ("treat_with_precautions", rules.join(","), true)
        }
        ZoneStatus::DeferredUntil { rules, .. } => ("deferred_until_date", rules.join(","), true),
        ZoneStatus::DeferredUntilCondition { rules, .. } => {
            ("deferred_until_condition", rules.join(","), false)
        }
        ZoneStatus::Excluded { rules, .. } => ("do_not_treat", rules.join(","), false),
        // No setting keeps the planner's margin of dermis below the channels (or no protocol
        // meets the stated limits): the planner recommends none.
        ZoneStatus::NotWithinLimits { .. } => ("not_within_limits", String::new(), false),
    }
}

/// The patient's layer thicknesses at a site: the table means moved by the patient's z-scores
/// times the tables' SDs, kept within the accepted override limits.
pub fn thickness_overrides(
    vp: &VirtualPatient,
    site: Site,
    sp: &skin::SkinParams,
) -> Result<ThicknessOverrides, skin::SkinError> {
    let mean = skin::column_with(site, &vp.person, &ThicknessOverrides::default(), sp)?;
    let at = |k: LayerKind, z: f64| {
        let l = mean.layer(k);
        let (lo, hi) = OVERRIDE_LIMITS[k.index()];
        Some((l.thickness_m + z * l.thickness_sd_m).clamp(lo, hi))
    };
    Ok(ThicknessOverrides {
        stratum_corneum_m: at(LayerKind::StratumCorneum, vp.z[0]),
        viable_epidermis_m: at(LayerKind::ViableEpidermis, vp.z[1]),
        papillary_dermis_m: at(LayerKind::PapillaryDermis, vp.z[2]),
        reticular_dermis_m: at(LayerKind::ReticularDermis, vp.z[2]),
        subcutis_m: None,
    })
}

fn base_row(vp: &VirtualPatient, site: Site, draw: usize) -> Row {
    let f = &vp.flags;
    Row {
        patient: vp.index as u32,
        patient_seed: vp.seed,
        zone: VirtualPatient::zone_name(site).into(),
        site: site.name().into(),
        draw: draw as u32,
        age_years: vp.person.age_years,
        sex: match vp.person.sex {
            Sex::Female => "female",
            Sex::Male => "male",
        }
        .into(),
        phototype: i32::from(vp.person.phototype),
        concern: vp.concern.kind.name().into(),
        grade: vp.concern.grade.map(i32::from),
        scar_types: vp
            .concern
            .scar_types
            .iter()
            .map(|t| t.name())
            .collect::<Vec<_>>()
            .join(","),
        pih_history: f.pih_history,
        keloid_tendency: f.keloid_tendency,
        isotretinoin: f.isotretinoin,
        topical_retinoid: f.topical_retinoid,
        anticoagulant: f.anticoagulant,
        inflamed_acne: f.inflamed_acne,
        pregnant: f.pregnant,
        thickness_z_sc: vp.z[0],
        thickness_z_ve: vp.z[1],
        thickness_z_dermis: vp.z[2],
        ..Row::default()
    }
}

/// The rows of one patient, one zone and one draw (one per protocol, in the file's order).
fn zone_draw_rows(
    spec: &CohortSpec,
    vp: &VirtualPatient,
    zi: usize,
    site: Site,
    draw: usize,
    params: &ModelParams,
) -> Vec<Row> {
    let base = base_row(vp, site, draw);
    let fail = |e: String| -> Vec<Row> {
        spec.protocols
            .iter()
            .enumerate()
            .map(|(i, p)| Row {
                protocol: i,
                device: p.device.name().into(),
                error: Some(e.clone()),
                ..base.clone()
            })
            .collect()
    };
    let overrides = match thickness_overrides(vp, site, &params.skin) {
        Ok(o) => o,
        Err(e) => return fail(format!("skin model: {e}")),
    };
    let (column, skin_summary) = match zone_skin_with(site, &vp.person, &overrides, &params.skin) {
        Ok(x) => x,
        Err(e) => return fail(format!("skin model: {e}")),
    };
    let mut base = base;
    base.epidermis_mm = Some(skin_summary.epidermis_mm);
    base.dermis_mm = Some(skin_summary.dermis_mm);
    base.chart_column = Some(skin_summary.chart_column.clone());

    // One predictor per patient, zone and draw: its injury cache is for this column only. The
    // seed is the patient's and zone's, the same for every protocol and draw (common random
    // numbers: protocols differ by their effect, not by their noise).
    let mut healing = HealingPredictor::new(params);
    healing.seed = rng::derive(vp.seed, &[zi as u64]);
    // Thinning scalp hair goes to the hair model, as in the planner (`Study::plan`); virtual
    // patients carry no minoxidil, so their hair arm is needling alone.
    let predictor = ScalpPredictor::new(&healing, params, false);

    let mut rows = Vec::with_capacity(spec.protocols.len());
    for (pi, proto) in spec.protocols.iter().enumerate() {
        let patient = vp.planner_patient(spec, proto.device, params);
        let findings = rules::screen(&patient);
        let zone_name = VirtualPatient::zone_name(site);
        let status = recommend::zone_status(zone_name, &findings);
        let (verdict, verdict_rules, treated) = verdict(&status);
        let cp = concern_plan(
            &patient,
            site,
            &vp.concern,
            &column,
            &skin_summary,
            &params.injury,
        );
        let zp = match proto.kind {
            ProtocolKind::Recommended => ZoneProtocol::uniform(
                cp.setting_mm,
                default_passes(proto.device),
                cp.sessions,
                cp.interval_days,
            ),
            ProtocolKind::Fixed {
                setting_mm,
                passes,
                sessions,
                interval_days,
            } => ZoneProtocol::uniform(setting_mm, passes, sessions, interval_days),
        };
        let check = check_depth(
            proto.device,
            zp.setting_mm,
            &column,
            &params.injury,
            &params.device,
            params.planner.min_dermis_below_mm,
        );
        let mut row = Row {
            protocol: pi,
            device: proto.device.name().into(),
            setting_mm: Some(zp.setting_mm),
            passes: Some(zp.passes as i32),
            sessions: Some(zp.sessions as i32),
            interval_days: Some(zp.interval_days as i32),
            within_dermis: Some(check.within_dermis),
            verdict: Some(verdict.into()),
            verdict_rules: Some(verdict_rules),
            treated: Some(treated),
            ..base.clone()
        };
        if treated {
            let input = PredictInput {
                person: &vp.person,
                column: &column,
                concern: &vp.concern,
                device: proto.device,
                protocol: &zp,
                bands: true,
            };
            match predictor.predict(&input) {
                Ok(p) => {
                    let worst = p
                        .downtime_days
                        .iter()
                        .copied()
                        .max_by(|a, b| a.mean.total_cmp(&b.mean));
                    row.responder =
                        Some(p.improvement_pct.mean >= spec.responder_min_improvement_pct);
                    row.metric = Some(p.metric.clone());
                    row.improvement_pct = Some(p.improvement_pct);
                    row.collagen_change_pct = p.trajectory.last().map(|t| t.collagen_change_pct);
                    row.downtime_days = worst;
                    row.pih_risk_pct = p.pih_risk.map(|e| Estimate {
                        mean: e.mean * 100.0,
                        lo: e.lo * 100.0,
                        hi: e.hi * 100.0,
                    });
                    row.horizon_days = Some(p.horizon_days);
                }
                Err(e) => row.error = Some(format!("prediction: {e}")),
            }
        }
        rows.push(row);
    }
    rows
}

/// Every row of a patient, in the order zone, draw, protocol. A panic in the models is caught
/// and written into the error column of the rows it would have made, so one bad patient does
/// not stop the cohort.
pub fn patient_rows(spec: &CohortSpec, vp: &VirtualPatient, draws: &[ModelParams]) -> Vec<Row> {
    let mut out = Vec::new();
    for (zi, &site) in vp.sites.iter().enumerate() {
        for (d, params) in draws.iter().enumerate() {
            let rows = catch_unwind(AssertUnwindSafe(|| {
                zone_draw_rows(spec, vp, zi, site, d, params)
            }));
            match rows {
                Ok(r) => out.extend(r),
                Err(panic) => {
                    let msg = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "unknown panic".into());
                    let base = base_row(vp, site, d);
                    out.extend(spec.protocols.iter().enumerate().map(|(i, p)| Row {
                        protocol: i,
                        device: p.device.name().into(),
                        error: Some(format!("internal error (a bug; please report): {msg}")),
                        ..base.clone()
                    }));
                }
            }
        }
    }
    out
}
