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

/// Prediction and optimisation for one zone and concern.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ZonePrediction {
    pub zone: String,
    pub concern: patient::ConcernKind,
    pub recommended: predict::ZoneProtocol,
    /// Prediction for the recommended protocol, with bands.
    pub prediction: predict::Prediction,
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
    timings.add("plan: recommend", t1);

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

    let t2 = Instant::now();
    let prediction = match models.predictor {
        None => PredictionSection::NotAvailable {
            reason: "no predictor was used (the command was run with --no-predict, or the library without a Predictor); the planner does not predict outcomes or optimise protocols without one. Downtime figures shown are the manufacturer chart's (grade C), not a model result.".into(),
        },
        Some(pred) => predict_all(p, &zones, pred, &params),
    };
    timings.add("plan: predict+optimise", t2);

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

fn predict_all(
    p: &Patient,
    zones: &[recommend::ZonePlan],
    pred: &dyn Predictor,
    params: &InjuryParams,
) -> PredictionSection {
    use recommend::ZoneStatus as S;
    let mut out = Vec::new();
    let mut failures = Vec::new();
    let gentle = rules::gentle(p);
    for z in zones {
        if matches!(
            z.status,
            S::Excluded { .. } | S::DeferredUntilCondition { .. }
        ) {
            continue;
        }
        let Ok((column, _)) = recommend::zone_skin(z.site, &p.person, &p.params.skin) else {
            failures.push(format!("{}: skin model failed", z.name));
            continue;
        };
        for c in &z.concerns {
            // The recommended protocol on the zone's own dates (moved past blackouts, cut at
            // the finish date) when it has them.
            let mut recommended =
                predict::ZoneProtocol::uniform(c.setting_mm, z.passes, c.sessions, c.interval_days);
            if !z.dates.is_empty() {
                let n = (c.sessions as usize).min(z.dates.len());
                recommended.interval_days = z.interval_days;
                recommended = recommended.with_dates(&z.dates[..n]);
            }
            let base = predict::PredictInput {
                person: &p.person,
                column: &column,
                concern: &c.concern,
                device: p.goals.device,
                protocol: &recommended,
                bands: true,
            };
            let prediction = match pred.predict(&base) {
                Ok(x) => x,
                Err(e) => {
                    failures.push(format!("{} / {}: {e}", z.name, c.concern.kind.label()));
                    continue;
                }
            };
            let safe_hi = recommend::deepest_safe_setting(
                p.goals.device,
                &column,
                params,
                &p.params.device,
                c.cited_mm[1].max(c.range_mm[1]),
                p.params.planner.setting_step_mm,
            );
            // Shallower than the cited range is always within the skin; deeper stops at the
            // deepest setting that stays in the dermis.
            let lo: f64 = 0.25;
            let mut settings = Vec::new();
            let mut s = (lo / 0.25).ceil() * 0.25;
            while s <= safe_hi + 1e-9 {
                settings.push(s);
                s += 0.25;
            }
            if settings.is_empty() {
                settings.push(c.setting_mm);
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
            let optimisation = predict::optimise(pred, &base, &space, &cons);
            let best_prediction = optimisation.best.as_ref().and_then(|b| {
                pred.predict(&predict::PredictInput {
                    protocol: &b.protocol,
                    ..base
                })
                .ok()
            });
            out.push(ZonePrediction {
                zone: z.name.clone(),
                concern: c.concern.kind,
                recommended,
                prediction,
                optimisation,
                best_prediction,
            });
        }
    }
    PredictionSection::Done {
        predictor: pred.name(),
        zones: out,
        failures,
    }
}
