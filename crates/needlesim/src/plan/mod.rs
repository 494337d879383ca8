//! The treatment planner: consultation -> screening -> recommendations -> schedule ->
//! aftercare -> (prediction and optimisation) -> report.
//!
//! ```text
//! patient.toml --(patient)--> Patient (validated, dates)
//!   rules::screen(patient)                      -> findings (do not treat / precaution / note)
//!   recommend::zone_plan(patient, zone, ...)    -> depth range checked against the SkinColumn,
//!                                                  passes, sessions, interval, products, dates
//!   visits, numbing, session time, aftercare timeline
//!   predict::optimise(predictor, ...)           -> only with a Predictor (the healing model)
//! render: plan.json + report.html + the terminal plan
//! ```
//!
//! It owns the patient file format, the screening rules with their evidence levels, the cited
//! recommendation tables and the plan outputs. It reads the skin, device and injury models; it
//! does not simulate healing itself (that is the [`predict::Predictor`] seam). Rules, tables
//! and limits: `docs/PLANNER.md`.
//!
//! needlesim is a planning aid, not medical advice: every output says so.

pub mod aftercare;
pub mod clinic;
pub mod date;
pub mod evidence;
pub mod hair_predictor;
pub mod healing_predictor;
pub mod numbing;
pub mod patient;
pub mod predict;
pub mod recommend;
pub mod render;
pub mod rules;
pub mod tables;

use std::collections::BTreeMap;
use std::time::Instant;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::injury::InjuryParams;
pub use crate::params::planner::{AFTERCARE_MIN, MAX_SETTINGS, PREPARATION_MIN};
use crate::skin::Person;
use crate::timings::Timings;
pub use date::Date;
pub use numbing::{LabelNumbing, ModelNumbing, NumbingModel};
pub use patient::{Patient, PatientError, PatientFile};
pub use predict::Predictor;

/// The wording every output carries.
pub const DISCLAIMER: &str = "Planning aid, not medical advice. needlesim suggests a plan from published ranges and a skin model; the treating practitioner examines the patient, decides, and is responsible for the treatment. Evidence levels are shown for every rule: most come from reviews and clinic protocols, not trials.";

/// The overall answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VerdictKind {
    Treat,
    TreatWithPrecautions,
    NotToday,
}

/// The overall answer with its reasons.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Verdict {
    pub kind: VerdictKind,
    pub summary: String,
    /// Why (findings that hold treatment back or need precautions).
    pub reasons: Vec<String>,
    /// Earliest date a held-back treatment can be reconsidered, when every reason has a date.
    pub reconsider_from: Option<Date>,
}

/// A zone treated at a visit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VisitZone {
    pub zone: String,
    /// Session number of this zone (1-based).
    pub session: u32,
    pub setting_mm: f64,
    pub passes: u32,
}

/// One clinic visit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Visit {
    pub number: u32,
    pub date: Date,
    pub zones: Vec<VisitZone>,
    /// Apply numbing this long before needling, min.
    pub numbing_min: f64,
    /// Needling time of all zones of the visit, min.
    pub needling_min: f64,
    /// Preparation + numbing + needling + aftercare, min.
    pub total_min: f64,
    /// Downtime after the visit (manufacturer chart, deepest zone), days.
    pub downtime_days: [f64; 2],
}

/// What the plan does with a zone once its protocols are predicted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The recommender's (chart) protocol meets every limit: it is the plan.
    ChartProtocol,
    /// The chart protocol breaks a limit; the optimiser's best protocol, which meets them all,
    /// replaces it (the zone's setting, passes, sessions and dates are the optimiser's).
    Optimised,
    /// No protocol searched meets the limits: the plan recommends none for this zone (the
    /// zone is `not_within_limits`). The practitioner may change a limit in the patient file
    /// (e.g. `goals.max_pih_risk_pct`); the plan then states the new limit.
    NoneMeetsLimits,
}

/// Percentage points by which the best protocol within the limits must beat the chart
/// protocol's calibrated score (and at least double it) for the zone to mention it.
pub const MUCH_MORE_PP: f64 = 10.0;

/// A protocol with its prediction and the limits it breaks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PredictedProtocol {
    pub protocol: predict::ZoneProtocol,
    pub prediction: predict::Prediction,
    pub meets_limits: bool,
    pub violations: Vec<String>,
}

/// Prediction and optimisation for one zone and concern.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ZonePrediction {
    pub zone: String,
    pub concern: patient::ConcernKind,
    /// The planned protocol on the zone's dates (with `decision` `none_meets_limits`: the
    /// chart protocol, which the plan does not recommend).
    pub recommended: predict::ZoneProtocol,
    /// Prediction for the recommended protocol, with bands.
    pub prediction: predict::Prediction,
    /// Whether `recommended` meets every limit the plan states, checked on `prediction`'s
    /// bands (PIH on the upper band, downtime on the mean of the longest session).
    pub meets_limits: bool,
    /// The limits `recommended` breaks.
    pub violations: Vec<String>,
    pub decision: Decision,
    /// The recommender's chart protocol when the plan replaced it (`optimised`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<PredictedProtocol>,
    pub optimisation: predict::Optimisation,
    /// Prediction for the optimiser's best protocol, with bands.
    pub best_prediction: Option<predict::Prediction>,
}

/// The prediction section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PredictionSection {
    /// No predictor was available; nothing is predicted.
    NotAvailable { reason: String },
    Done {
        predictor: String,
        zones: Vec<ZonePrediction>,
        /// Zones/concerns the predictor could not evaluate, with the reason.
        failures: Vec<String>,
    },
}

/// A treatment plan (plan.json).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Plan {
    pub schema_version: String,
    pub disclaimer: String,
    pub title: String,
    /// Consultation date.
    pub date: Date,
    pub person: Person,
    pub verdict: Verdict,
    pub findings: Vec<rules::Finding>,
    pub zones: Vec<recommend::ZonePlan>,
    pub visits: Vec<Visit>,
    pub numbing: numbing::NumbingPlan,
    pub aftercare: Vec<aftercare::SessionAftercare>,
    pub warning_signs: Vec<String>,
    pub maintenance: String,
    pub prediction: PredictionSection,
    pub goals: patient::Goals,
    /// Every source cited in this plan.
    pub sources: Vec<evidence::CitedSource>,
}

/// Errors making a plan (input errors are caught by [`patient::validate`]).
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("skin model for zone `{zone}`: {source}")]
    Skin {
        zone: String,
        #[source]
        source: crate::skin::SkinError,
    },
}

/// What the planner calls out to.
pub struct Models<'a> {
    pub numbing: &'a dyn NumbingModel,
    pub predictor: Option<&'a dyn Predictor>,
}

impl Default for Models<'_> {
    /// Label numbing times, no predictor (the cheapest plan; `needlesim plan` uses
    /// [`ModelNumbing`] and the healing model).
    fn default() -> Self {
        Models {
            numbing: &LabelNumbing,
            predictor: None,
        }
    }
}

/// Makes the plan.
pub fn plan(p: &Patient, models: &Models<'_>) -> Result<Plan, PlanError> {
    plan_timed(p, models, &mut Timings::default())
}

/// Makes the plan, timing its stages (`plan: screen`, `plan: recommend`, `plan: numbing`,
/// `plan: predict+optimise`) into `timings`.
pub fn plan_timed(
    p: &Patient,
    models: &Models<'_>,
    timings: &mut Timings,
) -> Result<Plan, PlanError> {
    let t0 = Instant::now();
    let findings = rules::screen(p);
    timings.add("plan: screen", t0);

    let t1 = Instant::now();
    let params = p.params.injury.clone();
    let mut zones = Vec::new();
    for z in &p.zones {
        zones.push(
            recommend::zone_plan(p, z, &findings, &params).map_err(|source| PlanError::Skin {
                zone: z.name.clone(),
                source,
            })?,
        );
    }
    pack(p, &mut zones);
    timings.add("plan: recommend", t1);

    // Prediction comes before the visits: a zone whose chart protocol breaks a stated limit
    // gets the optimiser's protocol, or none.
    let t2 = Instant::now();
    let prediction = match models.predictor {
        None => PredictionSection::NotAvailable {
            reason: "no predictor was used (the command was run with --no-predict, or the library without a Predictor); the planner does not predict outcomes or optimise protocols without one. Downtime figures shown are the manufacturer chart's (grade C), not a model result; the PIH limit is not checked.".into(),
        },
        Some(pred) => predict_all(p, &mut zones, pred, &params),
    };
    timings.add("plan: predict+optimise", t2);

    let deepest = zones.iter().map(|z| z.setting_mm).fold(0.0, f64::max);
    let t_numb = Instant::now();
    let zone_sites: Vec<(String, crate::skin::Site)> =
        zones.iter().map(|z| (z.name.clone(), z.site)).collect();
    let numbing = models
        .numbing
        .onset(p.goals.numbing, &p.person, &zone_sites, deepest);
    timings.add("plan: numbing", t_numb);
    let visits = visits(&zones, &numbing, &p.params.planner);
    let verdict = verdict(p, &findings, &zones);

    let strict_sun = rules::gentle(p)
        || p.zones.iter().any(|z| {
            z.concerns.iter().any(|c| {
                matches!(
                    c.kind,
                    patient::ConcernKind::Hyperpigmentation | patient::ConcernKind::Melasma
                )
            })
        });
    let aftercare: Vec<_> = visits
        .iter()
        .enumerate()
        .map(|(i, v)| {
            aftercare::timeline(
                v.number,
                v.date,
                v.zones.iter().map(|z| z.zone.clone()).collect(),
                visits.get(i + 1).map(|n| n.date),
                strict_sun,
            )
        })
        .collect();
    let maintenance = match visits.last() {
        Some(v) => format!(
            "Results keep improving for months after the last session. Maintenance: one session every 6-12 months, from about {} (practice, grade C).",
            v.date.add_months(6)
        ),
        None => "No sessions are planned yet.".into(),
    };

    let mut keys: Vec<String> = Vec::new();
    let mut add = |k: &String| {
        if !keys.contains(k) {
            keys.push(k.clone());
        }
    };
    for f in &findings {
        f.sources.iter().for_each(&mut add);
    }
    for z in &zones {
        for c in &z.concerns {
            c.row.sources.iter().for_each(&mut add);
            c.session_basis.sources.iter().for_each(&mut add);
            for pr in &c.products {
                pr.sources.iter().for_each(&mut add);
            }
        }
    }
    numbing.sources.iter().for_each(&mut add);
    add(&"aftercare-clinics".to_string());
    add(&"chu2021".to_string());
    add(&"graham-blog".to_string());
    let sources = evidence::SOURCES
        .iter()
        .filter(|s| keys.iter().any(|k| k == s.key))
        .map(evidence::CitedSource::from)
        .collect();

    Ok(Plan {
        schema_version: crate::SCHEMA_VERSION.into(),
        disclaimer: DISCLAIMER.into(),
        title: p.title.clone(),
        date: p.date,
        person: p.person.clone(),
        verdict,
        findings,
        zones,
        visits,
        numbing,
        aftercare,
        warning_signs: aftercare::warning_signs(),
        maintenance,
        prediction,
        goals: p.goals.clone(),
        sources,
    })
}

fn visits(
    zones: &[recommend::ZonePlan],
    numbing: &numbing::NumbingPlan,
    planner: &crate::params::PlannerParams,
) -> Vec<Visit> {
    let mut by_date: BTreeMap<Date, Vec<(usize, u32)>> = BTreeMap::new();
    for (zi, z) in zones.iter().enumerate() {
        for (k, d) in z.dates.iter().enumerate() {
            by_date.entry(*d).or_default().push((zi, k as u32 + 1));
        }
    }
    by_date
        .into_iter()
        .enumerate()
        .map(|(i, (date, zs))| {
            let needling: f64 = zs
                .iter()
                .map(|&(zi, _)| zones[zi].needling_min.unwrap_or(0.0))
                .sum();
            // Numbing goes on all zones of the visit at once: wait for the slowest.
            let numb = zs
                .iter()
                .map(|&(zi, _)| numbing.zone_min(&zones[zi].name))
                .fold(0.0, f64::max);
            let dt = zs.iter().fold([0.0f64, 0.0f64], |a, &(zi, _)| {
                [
                    a[0].max(zones[zi].downtime_days[0]),
                    a[1].max(zones[zi].downtime_days[1]),
                ]
            });
            Visit {
                number: i as u32 + 1,
                date,
                zones: zs
                    .iter()
                    .map(|&(zi, s)| VisitZone {
                        zone: zones[zi].name.clone(),
                        session: s,
                        setting_mm: zones[zi].setting_mm,
                        passes: zones[zi].passes,
                    })
                    .collect(),
                numbing_min: numb,
                needling_min: needling,
                total_min: planner.preparation_min + numb + needling + planner.aftercare_min,
                downtime_days: dt,
            }
        })
        .collect()
}

fn verdict(p: &Patient, findings: &[rules::Finding], zones: &[recommend::ZonePlan]) -> Verdict {
    use recommend::ZoneStatus as S;
    let today_ok: Vec<&recommend::ZonePlan> = zones
        .iter()
        .filter(|z| matches!(z.status, S::Treat | S::TreatWithPrecautions { .. }))
        .collect();
    let reasons: Vec<String> = findings
        .iter()
        .filter(|f| f.holds_back() || f.category == rules::Category::Precaution)
        .map(|f| {
            let scope = f
                .zone
                .as_deref()
                .map(|z| format!("zone `{z}`: "))
                .unwrap_or_default();
            let hold = match (&f.defer, f.category, f.waived) {
                (_, rules::Category::DoNotTreat, _) => " - do not treat".to_string(),
                (Some(rules::Deferral::Date { date }), _, false) => {
                    format!(" - deferred until {date}")
                }
                (Some(rules::Deferral::Condition { condition }), _, false) => {
                    format!(" - deferred until {condition}")
                }
                (Some(_), _, true) => " - deferral waived by the practitioner".to_string(),
                (None, _, _) => " - precaution".to_string(),
            };
            format!(
                "{scope}{}{hold} [{}, grade {}]",
                f.finding,
                f.rule,
                f.grade.label()
            )
        })
        .chain(zones.iter().filter_map(|z| match &z.status {
            S::NotWithinLimits { reasons } => Some(format!(
                "zone `{}`: NOT RECOMMENDED - {}",
                z.name,
                reasons.join("; ")
            )),
            _ => None,
        }))
        .collect();
    let held_zones = zones.len() - today_ok.len();
    if today_ok.is_empty() {
        let dated: Vec<(Date, &str)> = zones
            .iter()
            .filter_map(|z| match &z.status {
                S::DeferredUntil { date, .. } => Some((*date, z.name.as_str())),
                _ => None,
            })
            .collect();
        let reconsider = dated.iter().map(|d| d.0).min();
        let mut parts: Vec<String> = Vec::new();
        for z in zones {
            match &z.status {
                S::DeferredUntil { date, .. } => parts.push(format!("`{}` from {date}", z.name)),
                S::DeferredUntilCondition { conditions, .. } => {
                    parts.push(format!("`{}` once {}", z.name, conditions.join(" and ")))
                }
                S::Excluded { reconsider, .. } => {
                    parts.push(format!("`{}` once {}", z.name, reconsider.join(" and ")))
                }
                S::NotWithinLimits { .. } => parts.push(format!(
                    "`{}` only with a protocol that meets the limits (none found; see the zone)",
                    z.name
                )),
                _ => {}
            }
        }
        return Verdict {
            kind: VerdictKind::NotToday,
            summary: format!(
                "Not today: no zone can be treated on {}. Reconsider {}.",
                p.date,
                parts.join("; ")
            ),
            reasons,
            reconsider_from: reconsider,
        };
    }
    let any_precaution = findings.iter().any(|f| f.category != rules::Category::Note);
    if any_precaution || held_zones > 0 {
        let names: Vec<&str> = today_ok.iter().map(|z| z.name.as_str()).collect();
        let mut summary = format!(
            "Treat with precautions: {} can be treated",
            names.join(", ")
        );
        if held_zones > 0 {
            summary.push_str(&format!("; {held_zones} zone(s) held back (see below)"));
        }
        summary.push('.');
        Verdict {
            kind: VerdictKind::TreatWithPrecautions,
            summary,
            reasons,
            reconsider_from: None,
        }
    } else {
        Verdict {
            kind: VerdictKind::Treat,
            summary: "Treat: no contraindication or precaution found in the file.".into(),
            reasons,
            reconsider_from: None,
        }
    }
}

/// The PIH limit of the optimiser: the patient file's `goals.max_pih_risk_pct` if given, else
/// [`predict::MAX_PIH_RISK_GENTLE`] for phototype IV-VI or earlier PIH (planner assumption), else
/// none.
pub fn pih_limit(p: &Patient) -> Option<f64> {
    p.goals
        .max_pih_risk_pct
        .map(|v| v / 100.0)
        .or_else(|| rules::gentle(p).then_some(p.params.planner.max_pih_risk_gentle))
}

/// Dates the sessions of every zone that can be scheduled, all zones together, so that zones
/// share visits (and their numbing) instead of coming a few days apart (issue 21): the next
/// visit is on the earliest date a session is due, or up to `planner.visit_pack_days` later
/// when that lets sessions due within the window join it; no session is ever earlier than due
/// (deferrals and intervals are minimums). A visit whose date or downtime touches a blackout
/// moves to the day after it; a zone's sessions whose downtime would end after `finish_by`
/// are left out. Every wait and omission is noted on the zone.
fn pack(p: &Patient, zones: &mut [recommend::ZonePlan]) {
    struct St {
        next: Date,
        left: u32,
        k: u32,
        dt: i64,
    }
    let window = p.params.planner.visit_pack_days.max(0.0).floor() as i64;
    let mut st: Vec<Option<St>> = zones
        .iter_mut()
        .map(|z| {
            z.dates.clear();
            z.schedule_notes.clear();
            recommend::ready_date(p, &z.status).map(|ready| St {
                next: ready,
                left: z.sessions,
                k: 0,
                dt: z.downtime_days[1].max(0.0).ceil() as i64,
            })
        })
        .collect();
    for _ in 0..100_000 {
        let active: Vec<usize> = (0..zones.len())
            .filter(|&i| st[i].as_ref().is_some_and(|s| s.left > 0))
            .collect();
        let Some(d) = active
            .iter()
            .filter_map(|&i| st[i].as_ref().map(|s| s.next))
            .min()
        else {
            break;
        };
        let due = |i: usize, v: Date| st[i].as_ref().is_some_and(|s| s.left > 0 && s.next <= v);
        // The latest due date within the window: everyone due by then joins.
        let mut v = active
            .iter()
            .filter_map(|&i| st[i].as_ref().map(|s| s.next))
            .filter(|n| d.days_until(*n) <= window)
            .max()
            .unwrap_or(d);
        // Past blackouts (the visit's longest downtime).
        let mut guard = 0;
        loop {
            guard += 1;
            let dt = active
                .iter()
                .filter(|&&i| due(i, v))
                .filter_map(|&i| st[i].as_ref().map(|s| s.dt))
                .max()
                .unwrap_or(0);
            let Some(b) = p
                .goals
                .blackout
                .iter()
                .find(|b| v <= b.to && v.add_days(dt) >= b.from)
            else {
                break;
            };
            let nv = b.to.add_days(1);
            for &i in &active {
                if due(i, v) {
                    let s = st[i].as_ref().map_or(0, |s| s.k);
                    zones[i].schedule_notes.push(format!(
                        "session {} moved from {v} to {nv}: it or its downtime (about {dt} days) would fall in the blackout {} to {}{}",
                        s + 1,
                        b.from,
                        b.to,
                        b.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
                    ));
                }
            }
            v = nv;
            if guard > 100 {
                break;
            }
        }
        let members: Vec<usize> = active.iter().copied().filter(|&i| due(i, v)).collect();
        for i in members {
            let Some(s) = st[i].as_mut() else { continue };
            if let Some(f) = p.goals.finish_by
                && v.add_days(s.dt) > f
            {
                zones[i].schedule_notes.push(format!(
                    "only {} of {} sessions fit before {f} (finish_by) with their downtime; the rest are left out",
                    s.k, zones[i].sessions
                ));
                s.left = 0;
                continue;
            }
            let wait = s.next.days_until(v);
            if wait > 0
                && !zones[i]
                    .schedule_notes
                    .iter()
                    .any(|n| n.contains(&format!("session {} moved", s.k + 1)))
            {
                zones[i].schedule_notes.push(format!(
                    "session {} waits {wait} day(s), from {} to {v}, to share a visit with other zones (planner.visit_pack_days)",
                    s.k + 1,
                    s.next
                ));
            }
            zones[i].dates.push(v);
            s.k += 1;
            s.left -= 1;
            s.next = v.add_days(i64::from(zones[i].interval_days.max(1)));
        }
    }
}

/// The zone's planned protocol on its dates.
fn zone_protocol(z: &recommend::ZonePlan) -> predict::ZoneProtocol {
    let mut pr =
        predict::ZoneProtocol::uniform(z.setting_mm, z.passes, z.sessions, z.interval_days);
    if !z.dates.is_empty() {
        pr = pr.with_dates(&z.dates);
    }
    pr
}

/// Predicts a protocol with bands and checks the limits on them.
fn predict_checked(
    pred: &dyn Predictor,
    base: &predict::PredictInput<'_>,
    protocol: &predict::ZoneProtocol,
    cons: &predict::Constraints,
) -> Result<PredictedProtocol, String> {
    let prediction = pred.predict(&predict::PredictInput {
        protocol,
        bands: true,
        ..*base
    })?;
    let violations = predict::limit_violations(
        predict::worst_downtime(&prediction),
        prediction.pih_risk,
        protocol.sessions,
        cons,
    );
    Ok(PredictedProtocol {
        protocol: protocol.clone(),
        prediction,
        meets_limits: violations.is_empty(),
        violations,
    })
}

fn predict_all(
    p: &Patient,
    zones: &mut [recommend::ZonePlan],
    pred: &dyn Predictor,
    _params: &InjuryParams,
) -> PredictionSection {
    use recommend::ZoneStatus as S;
    let mut out: Vec<ZonePrediction> = Vec::new();
    let mut failures = Vec::new();
    let gentle = rules::gentle(p);
    let mut changed = false;
    // Notes on each zone's decision, added after the dates are packed (packing starts every
    // zone's schedule notes afresh).
    let mut decision_notes: Vec<(usize, String)> = Vec::new();
    for zi in 0..zones.len() {
        let z = &zones[zi];
        if !matches!(
            z.status,
            S::Treat | S::TreatWithPrecautions { .. } | S::DeferredUntil { .. }
        ) {
            continue;
        }
        let Ok((column, _)) = recommend::zone_skin(z.site, &p.person, &p.params.skin) else {
            failures.push(format!("{}: skin model failed", z.name));
            continue;
        };
        let chart_protocol = zone_protocol(z);
        let cons = predict::Constraints {
            max_downtime_days: p.goals.max_downtime_days,
            max_pih_risk: pih_limit(p),
            max_sessions: p.goals.max_sessions,
            calendar: recommend::ready_date(p, &z.status).map(|start| predict::Calendar {
                start,
                blackout: p.goals.blackout.clone(),
                finish_by: p.goals.finish_by,
            }),
        };
        // Per concern: the chart protocol, predicted and checked; the optimiser's search.
        let mut rows: Vec<(
            usize,
            PredictedProtocol,
            predict::Optimisation,
            Option<predict::Prediction>,
        )> = Vec::new();
        for (ci, c) in z.concerns.iter().enumerate() {
            let base = predict::PredictInput {
                person: &p.person,
                column: &column,
                concern: &c.concern,
                device: p.goals.device,
                protocol: &chart_protocol,
                bands: true,
            };
            let chart = match predict_checked(pred, &base, &chart_protocol, &cons) {
                Ok(x) => x,
                Err(e) => {
                    failures.push(format!("{} / {}: {e}", z.name, c.concern.kind.label()));
                    continue;
                }
            };
            // Settings from 0.25 mm to the deepest the site's chart row and the dermis margin
            // allow (`max_mm`), whatever the concern.
            let safe_hi = c.max_mm.min(c.cited_mm[1].max(c.range_mm[1]));
            let mut settings = Vec::new();
            let mut s = 0.25;
            while s <= safe_hi + 1e-9 {
                settings.push(s);
                s += 0.25;
            }
            if settings.is_empty() {
                settings.push(c.setting_mm.min(c.max_mm));
            }
            // At most MAX_SETTINGS settings, evenly spread with both ends kept (search cost).
            let max_settings = p.params.planner.max_settings as usize;
            if settings.len() > max_settings {
                let n = settings.len() - 1;
                settings = (0..max_settings)
                    .map(|i| settings[(i * n + (max_settings - 1) / 2) / (max_settings - 1)])
                    .collect();
                settings.dedup();
            }
            let hair = c.concern.kind == patient::ConcernKind::HairThinning;
            let max_n = if hair { 12 } else { 6 }.max(c.sessions);
            let space = predict::SearchSpace {
                settings_mm: settings,
                passes: match p.goals.device {
                    patient::DeviceChoice::Pen => vec![2, 3, 4, 6],
                    patient::DeviceChoice::Roller => vec![5, 10, 15, 20],
                },
                sessions: (1..=max_n).collect(),
                intervals_days: if hair {
                    vec![7, 14]
                } else if gentle {
                    vec![42, 56]
                } else {
                    vec![28, 42]
                },
            };
            let optimisation = predict::optimise(pred, &base, &space, &cons);
            let best_prediction = optimisation.best.as_ref().and_then(|b| {
                pred.predict(&predict::PredictInput {
                    protocol: &b.protocol,
                    ..base
                })
                .ok()
            });
            rows.push((ci, chart, optimisation, best_prediction));
        }
        if rows.is_empty() {
            continue;
        }
        // The zone's decision: the chart protocol if it meets the limits for every concern;
        // else the first failing concern's best protocol if it meets them for every concern;
        // else none.
        let mut decision = Decision::ChartProtocol;
        let mut planned: Vec<PredictedProtocol> = rows.iter().map(|r| r.1.clone()).collect();
        if rows.iter().any(|r| !r.1.meets_limits) {
            decision = Decision::NoneMeetsLimits;
            let candidate = rows
                .iter()
                .find(|r| !r.1.meets_limits)
                .and_then(|r| r.2.best.as_ref())
                .map(|b| {
                    predict::ZoneProtocol::uniform(
                        b.protocol.setting_mm,
                        b.protocol.passes,
                        b.protocol.sessions,
                        b.protocol.interval_days,
                    )
                });
            if let Some(proto) = candidate {
                let checked: Vec<Option<PredictedProtocol>> = rows
                    .iter()
                    .map(|r| {
                        let c = &z.concerns[r.0];
                        let base = predict::PredictInput {
                            person: &p.person,
                            column: &column,
                            concern: &c.concern,
                            device: p.goals.device,
                            protocol: &proto,
                            bands: true,
                        };
                        predict_checked(pred, &base, &proto, &cons).ok()
                    })
                    .collect();
                if checked
                    .iter()
                    .all(|c| c.as_ref().is_some_and(|c| c.meets_limits))
                {
                    decision = Decision::Optimised;
                    planned = checked.into_iter().flatten().collect();
                }
            }
        }
        let zm = &mut zones[zi];
        match decision {
            Decision::ChartProtocol => {
                // The chart protocol meets the limits and stays the plan; where a calibrated
                // score predicts much more from the best protocol within the same limits, the
                // zone says so (the practitioner decides).
                for r in &rows {
                    let chart = &r.1.prediction;
                    let (Some(b), Some(bp)) = (r.2.best.as_ref(), r.3.as_ref()) else {
                        continue;
                    };
                    let (c, m) = (chart.improvement_pct, bp.improvement_pct);
                    if chart.calibrated
                        && bp.calibrated
                        && b.meets_limits
                        && m.mean >= c.mean + MUCH_MORE_PP
                        && m.mean >= 2.0 * c.mean
                    {
                        let label = zm.concerns[r.0].concern.kind.label();
                        decision_notes.push((zi, format!(
                            "{}: the model predicts {} {:.0} % (band {:.0}-{:.0}) from the chart protocol and {:.0} % (band {:.0}-{:.0}) from the best protocol within the same limits ({:.2} mm, {} passes, {} sessions every {} d); the plan keeps the chart protocol, which meets the limits; the score is calibrated on one study (see the prediction section)",
                            label,
                            chart.metric, c.mean, c.lo, c.hi, m.mean, m.lo, m.hi,
                            b.protocol.setting_mm, b.protocol.passes, b.protocol.sessions, b.protocol.interval_days
                        )));
                    }
                }
            }
            Decision::Optimised => {
                changed = true;
                let proto = &planned[0].protocol;
                let mut why: Vec<String> = rows
                    .iter()
                    .flat_map(|r| r.1.violations.iter().cloned())
                    .collect();
                // Two concerns of one zone break the same limit with the same protocol.
                why.dedup();
                decision_notes.push((zi, format!(
                    "the chart protocol ({:.2} mm, {} passes, {} sessions every {} d) breaks a stated limit ({}); the plan uses the optimiser's protocol that meets them all: {:.2} mm, {} passes, {} sessions every {} d",
                    zm.setting_mm, zm.passes, zm.sessions, zm.interval_days, why.join("; "),
                    proto.setting_mm, proto.passes, proto.sessions, proto.interval_days
                )));
                zm.setting_mm = proto.setting_mm;
                zm.passes = proto.passes;
                zm.sessions = proto.sessions;
                zm.interval_days = proto.interval_days;
                zm.downtime_days = tables::chart_downtime_days(proto.setting_mm).0;
                zm.needling_min = recommend::needling_min(
                    p.goals.device,
                    proto.setting_mm,
                    proto.passes,
                    zm.site,
                    zm.area_cm2,
                    &p.params.device,
                );
            }
            Decision::NoneMeetsLimits => {
                changed = true;
                let mut reasons: Vec<String> = Vec::new();
                for r in &rows {
                    for v in &r.1.violations {
                        if !reasons.contains(v) {
                            reasons.push(v.clone());
                        }
                    }
                }
                let g = rows.iter().find_map(|r| r.2.gentlest.as_ref());
                let mut text = format!(
                    "no protocol searched meets the stated limits; the chart protocol breaks them ({})",
                    reasons.join("; ")
                );
                if let Some(g) = g {
                    text.push_str(&format!(
                        "; the gentlest modelled ({:.2} mm, {} passes, {} sessions every {} d) still breaks them ({})",
                        g.protocol.setting_mm,
                        g.protocol.passes,
                        g.protocol.sessions,
                        g.protocol.interval_days,
                        g.violations.join("; ")
                    ));
                }
                text.push_str(". The plan recommends no needling here; to go ahead anyway, the practitioner changes the limit in the patient file (e.g. goals.max_pih_risk_pct), and the plan states the new limit");
                zm.status = S::NotWithinLimits {
                    reasons: vec![text],
                };
                zm.dates.clear();
            }
        }
        for (k, (ci, chart, optimisation, best_prediction)) in rows.into_iter().enumerate() {
            let pl = &planned[k];
            out.push(ZonePrediction {
                zone: zm.name.clone(),
                concern: zm.concerns[ci].concern.kind,
                recommended: pl.protocol.clone(),
                prediction: pl.prediction.clone(),
                meets_limits: pl.meets_limits,
                violations: pl.violations.clone(),
                decision,
                chart: (decision == Decision::Optimised).then_some(chart),
                optimisation,
                best_prediction,
            });
        }
    }
    if changed {
        // New protocols: date them (packing again), then predict the planned protocols on
        // their final dates; a zone that no longer meets the limits there is not recommended.
        pack(p, zones);
        for zp in out.iter_mut() {
            let Some(zi) = zones.iter().position(|z| z.name == zp.zone) else {
                continue;
            };
            let z = &zones[zi];
            if z.dates.is_empty() || zp.decision == Decision::NoneMeetsLimits {
                continue;
            }
            let proto = zone_protocol(z);
            if proto == zp.recommended {
                continue;
            }
            let Ok((column, _)) = recommend::zone_skin(z.site, &p.person, &p.params.skin) else {
                continue;
            };
            let Some(c) = z.concerns.iter().find(|c| c.concern.kind == zp.concern) else {
                continue;
            };
            let base = predict::PredictInput {
                person: &p.person,
                column: &column,
                concern: &c.concern,
                device: p.goals.device,
                protocol: &proto,
                bands: true,
            };
            match predict_checked(pred, &base, &proto, &zp.optimisation.constraints) {
                Ok(pc) => {
                    zp.recommended = pc.protocol;
                    zp.prediction = pc.prediction;
                    zp.meets_limits = pc.meets_limits;
                    zp.violations = pc.violations;
                }
                Err(e) => failures.push(format!("{} / {}: {e}", zp.zone, zp.concern.label())),
            }
            if !zp.meets_limits {
                let zm = &mut zones[zi];
                zm.status = S::NotWithinLimits {
                    reasons: vec![format!(
                        "on its final dates the planned protocol breaks a stated limit ({}); the plan recommends no needling here",
                        zp.violations.join("; ")
                    )],
                };
                zm.dates.clear();
                zp.decision = Decision::NoneMeetsLimits;
            }
        }
    }
    for (zi, n) in decision_notes {
        // A zone the plan no longer recommends (no dates) says why in its status instead.
        if !zones[zi].dates.is_empty() {
            zones[zi].schedule_notes.push(n);
        }
    }
    PredictionSection::Done {
        predictor: pred.name(),
        zones: out,
        failures,
    }
}
