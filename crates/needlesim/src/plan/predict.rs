//! Prediction and optimisation behind a seam.
//!
//! The planner asks a [`Predictor`] for the expected trajectory of a protocol (score
//! improvement, collagen, downtime per session, pigment risk) with an uncertainty band, and
//! searches protocols with [`optimise`]. The real predictor is the lumped healing model
//! ([`super::healing_predictor::HealingPredictor`]); without a predictor the planner reports
//! prediction and optimisation as not available. Nothing in this module invents outcomes.

use rayon::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::date::Date;
use super::patient::{Blackout, DeviceChoice, PatientConcern};
use super::recommend::schedule_dates;
use super::tables::chart_downtime_days;
pub use crate::params::planner::MAX_PIH_RISK_GENTLE;
use crate::skin::{Person, SkinColumn};

/// A predicted value: its mean and a low-high range (the healing model's own band, with
/// percentiles, is [`crate::healing::outcomes::Band`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Estimate {
    pub mean: f64,
    pub lo: f64,
    pub hi: f64,
}

/// One point of a predicted trajectory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TrajectoryPoint {
    /// Days from the first session.
    pub day: f64,
    /// Improvement of the concern's clinical score, % of baseline.
    pub improvement_pct: Estimate,
    /// Dermal collagen change from baseline, %.
    pub collagen_change_pct: Estimate,
}

/// What a predictor returns for one protocol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Prediction {
    /// What `improvement_pct` measures (e.g. "acne-scar score reduction", "dermal collagen I
    /// change"): the field keeps its old name, but it holds this metric, not always a clinical
    /// improvement.
    pub metric: String,
    /// Unit of `improvement_pct` and of the trajectory's values (e.g. "% of the baseline score").
    #[serde(default)]
    pub unit: String,
    /// Whether the metric's model was calibrated against a clinical outcome for this use.
    #[serde(default)]
    pub calibrated: bool,
    /// What it was calibrated on, or why it is not (shown next to every prediction).
    #[serde(default)]
    pub calibration: String,
    /// The value of `metric` at the horizon, in `unit`.
    pub improvement_pct: Estimate,
    /// Downtime after each session, days.
    pub downtime_days: Vec<Estimate>,
    /// Probability of post-inflammatory hyperpigmentation over the series (0-1), if modelled.
    pub pih_risk: Option<Estimate>,
    pub trajectory: Vec<TrajectoryPoint>,
    /// Days from the first session to the end of the prediction.
    pub horizon_days: f64,
}

/// A protocol for one zone and concern.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ZoneProtocol {
    pub setting_mm: f64,
    pub passes: u32,
    pub sessions: u32,
    pub interval_days: u32,
    /// Session days from the first when the calendar moved sessions past a blackout (one per
    /// session, starting at 0); empty: a session every `interval_days`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub session_offsets_days: Vec<u32>,
}

impl ZoneProtocol {
    /// Sessions every `interval_days`.
    pub fn uniform(
        setting_mm: f64,
        passes: u32,
        sessions: u32,
        interval_days: u32,
    ) -> ZoneProtocol {
        ZoneProtocol {
            setting_mm,
            passes,
            sessions,
            interval_days,
            session_offsets_days: Vec::new(),
        }
    }

    /// Session times, days from the first.
    pub fn session_days(&self) -> Vec<f64> {
        if self.session_offsets_days.len() == self.sessions as usize {
            return self
                .session_offsets_days
                .iter()
                .map(|&d| f64::from(d))
                .collect();
        }
        (0..self.sessions)
            .map(|k| f64::from(k) * f64::from(self.interval_days))
            .collect()
    }

    /// Sets the session days from dates (the first is day 0); left uniform when the dates
    /// keep the interval.
    pub fn with_dates(mut self, dates: &[Date]) -> ZoneProtocol {
        self.sessions = dates.len() as u32;
        let offsets: Vec<u32> = dates
            .iter()
            .map(|d| dates[0].days_until(*d).max(0) as u32)
            .collect();
        let uniform = offsets
            .iter()
            .enumerate()
            .all(|(k, &o)| o == k as u32 * self.interval_days);
        self.session_offsets_days = if uniform { Vec::new() } else { offsets };
        self
    }
}

/// Everything a predictor needs.
pub struct PredictInput<'a> {
    pub person: &'a Person,
    pub column: &'a SkinColumn,
    pub concern: &'a PatientConcern,
    pub device: DeviceChoice,
    pub protocol: &'a ZoneProtocol,
    /// Whether uncertainty bands are wanted (the optimiser asks for the nominal value only and
    /// bands for the protocols it reports).
    pub bands: bool,
}

/// The seam to the healing model.
pub trait Predictor: Sync {
    /// Name shown in outputs.
    fn name(&self) -> String;
    /// The expected trajectory of a protocol.
    fn predict(&self, input: &PredictInput<'_>) -> Result<Prediction, String>;
    /// Whether the upper band of the protocol's PIH risk (0-1) certainly exceeds `max`, found
    /// more cheaply than its full bands. `false` means "not certain": the optimiser then
    /// computes the bands. A predictor that cannot tell more cheaply keeps this default (it
    /// changes which protocols get full bands, never a result).
    fn pih_band_exceeds(&self, _input: &PredictInput<'_>, _max: f64) -> bool {
        false
    }
}

/// Where the optimiser may search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SearchSpace {
    /// Settings, mm (all within the skin-checked range).
    pub settings_mm: Vec<f64>,
    pub passes: Vec<u32>,
    pub sessions: Vec<u32>,
    pub intervals_days: Vec<u32>,
}

/// The person's constraints.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Constraints {
    /// Longest acceptable mean downtime after any session, days.
    pub max_downtime_days: Option<f64>,
    /// Highest acceptable upper band of the PIH risk (darker skin), 0-1.
    pub max_pih_risk: Option<f64>,
    pub max_sessions: Option<u32>,
    /// The zone's calendar: candidates are dated, moved past blackouts and dropped when they do
    /// not fit before the finish date. None: no dates (sessions at their intervals).
    #[serde(default)]
    pub calendar: Option<Calendar>,
}

/// Dates a zone's sessions must respect.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Calendar {
    /// First date the zone can be treated.
    pub start: Date,
    /// Periods without sessions or downtime.
    pub blackout: Vec<Blackout>,
    /// The series, downtime included, should be over by this date.
    pub finish_by: Option<Date>,
}

/// One evaluated protocol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Candidate {
    pub protocol: ZoneProtocol,
    /// The predicted metric (the prediction's `metric`, in its `unit`).
    pub improvement_pct: Estimate,
    /// The longest downtime of the series (the session with the longest mean), days.
    pub downtime_days: Estimate,
    pub pih_risk: Option<Estimate>,
    /// Whether `improvement_pct`, `downtime_days` and `pih_risk` carry the 5-95 % bands over
    /// sampled parameters (every reported candidate does; the search screens on nominal values).
    #[serde(default)]
    pub banded: bool,
    /// Whether it meets every limit (PIH on the upper band, downtime on the mean, sessions,
    /// calendar), checked on the banded values: the same as `meets_limits`.
    pub feasible: bool,
    /// Whether it meets every limit the plan states (see `feasible`).
    #[serde(default)]
    pub meets_limits: bool,
    /// Constraints it breaks.
    pub violations: Vec<String>,
    /// Session dates (with a calendar).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dates: Vec<Date>,
    /// How the calendar moved its sessions (blackouts).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedule_notes: Vec<String>,
}

/// The result of a search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Optimisation {
    pub space: SearchSpace,
    pub constraints: Constraints,
    pub evaluated: usize,
    /// Protocols the predictor could not evaluate.
    pub failed: usize,
    /// Protocols whose sessions were moved past a blackout (predicted on the moved dates).
    #[serde(default)]
    pub moved_for_blackouts: usize,
    /// Protocols left out because their sessions and downtime do not fit before
    /// `goals.finish_by` once moved past the blackouts (not predicted).
    #[serde(default)]
    pub dropped_for_dates: usize,
    /// The best protocol that meets the limits, checked on its bands (highest mean of the
    /// metric; ties: fewer sessions, less downtime).
    pub best: Option<Candidate>,
    /// When no protocol meets the limits: the gentlest one (lowest modelled mean PIH risk, then
    /// least downtime, then fewest sessions; the session limit and the calendar hold), with
    /// its bands and the limits it breaks. The plan does not recommend it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gentlest: Option<Candidate>,
    /// Protocols whose bands were computed (the best is searched in order until one meets
    /// the limits).
    #[serde(default)]
    pub banded: usize,
    /// Trade-off curve: protocols (ignoring the downtime and PIH limits, which each point's
    /// `violations` still lists; the session limit and the calendar hold) for which no other gives more improvement with less downtime,
    /// sorted by downtime.
    pub tradeoff: Vec<Candidate>,
}

/// What became of one protocol.
enum Evaluated {
    Candidate(Box<Candidate>),
    /// The predictor failed.
    Failed,
    /// It does not fit the calendar.
    Dropped,
}

/// Dates a protocol on the calendar with `downtime_days` after each session: the dated
/// protocol and its notes, or None when it does not fit before the finish date.
fn dated(
    proto: &ZoneProtocol,
    cal: &Calendar,
    downtime_days: f64,
) -> Option<(ZoneProtocol, Vec<Date>, Vec<String>)> {
    let (dates, notes) = schedule_dates(
        &cal.blackout,
        cal.finish_by,
        cal.start,
        proto.sessions,
        proto.interval_days,
        downtime_days,
    );
    if dates.len() < proto.sessions as usize {
        return None;
    }
    let moved: Vec<String> = notes
        .into_iter()
        .filter(|n| n.contains(" moved "))
        .collect();
    Some((proto.clone().with_dates(&dates), dates, moved))
}

/// Sessions whose modelled mean downtime reaches into a blackout: `(session, blackout text)`.
fn downtime_in_blackout(dates: &[Date], downtime: &[Estimate], cal: &Calendar) -> Vec<String> {
    let mut out = Vec::new();
    for (k, (d, dt)) in dates.iter().zip(downtime).enumerate() {
        let end = d.add_days(dt.mean.max(0.0).ceil() as i64);
        for b in &cal.blackout {
            if *d <= b.to && end >= b.from {
                out.push(format!(
                    "blackout: the model's downtime after session {} ({:.1} d from {d}) reaches into the blackout {} to {}",
                    k + 1,
                    dt.mean,
                    b.from,
                    b.to
                ));
            }
        }
    }
    out
}

fn evaluate(
    pred: &dyn Predictor,
    base: &PredictInput<'_>,
    proto: ZoneProtocol,
    cons: &Constraints,
) -> Evaluated {
    let run = |proto: &ZoneProtocol| {
        pred.predict(&PredictInput {
            person: base.person,
            column: base.column,
            concern: base.concern,
            device: base.device,
            protocol: proto,
            bands: false,
        })
        .ok()
    };
    // Dates: the schedule's rule (the chart's upper downtime for the setting), then once more
    // with the model's downtime if that is longer and reaches into a blackout.
    let mut proto = proto;
    let mut dates = Vec::new();
    let mut notes = Vec::new();
    if let Some(cal) = &cons.calendar {
        match dated(&proto, cal, chart_downtime_days(proto.setting_mm).0[1]) {
            Some((p, d, n)) => (proto, dates, notes) = (p, d, n),
            None => return Evaluated::Dropped,
        }
    }
    let Some(mut p) = run(&proto) else {
        return Evaluated::Failed;
    };
    let mut blackout_hits = Vec::new();
    if let Some(cal) = &cons.calendar {
        blackout_hits = downtime_in_blackout(&dates, &p.downtime_days, cal);
        if !blackout_hits.is_empty() {
            let model_dt = p
                .downtime_days
                .iter()
                .map(|b| b.mean)
                .fold(chart_downtime_days(proto.setting_mm).0[1], f64::max);
            let base_proto = ZoneProtocol::uniform(
                proto.setting_mm,
                proto.passes,
                proto.sessions,
                proto.interval_days,
            );
            match dated(&base_proto, cal, model_dt) {
                Some((p2, d2, mut n2)) => {
                    let Some(q) = run(&p2) else {
                        return Evaluated::Failed;
                    };
                    n2.push(format!(
                        "dated with the model's downtime ({model_dt:.1} d), longer than the chart's"
                    ));
                    blackout_hits = downtime_in_blackout(&d2, &q.downtime_days, cal);
                    (proto, dates, notes, p) = (p2, d2, n2, q);
                }
                None => return Evaluated::Dropped,
            }
        }
    }
    let worst = worst_downtime(&p);
    if !p.improvement_pct.mean.is_finite() || !worst.mean.is_finite() {
        return Evaluated::Failed;
    }
    let mut violations = limit_violations(worst, p.pih_risk, proto.sessions, cons);
    violations.extend(blackout_hits);
    Evaluated::Candidate(Box::new(Candidate {
        protocol: proto,
        improvement_pct: p.improvement_pct,
        downtime_days: worst,
        pih_risk: p.pih_risk,
        banded: false,
        feasible: violations.is_empty(),
        meets_limits: violations.is_empty(),
        violations,
        dates,
        schedule_notes: notes,
    }))
}

/// The session with the longest mean downtime (its band), or zero.
pub fn worst_downtime(p: &Prediction) -> Estimate {
    p.downtime_days
        .iter()
        .copied()
        .max_by(|a, b| a.mean.total_cmp(&b.mean))
        .unwrap_or(Estimate {
            mean: 0.0,
            lo: 0.0,
            hi: 0.0,
        })
}

/// The limits a predicted protocol breaks, each on the quantity the plan names: the PIH risk
/// on its **upper band** (`hi`), the downtime on the **mean** of the session with the longest
/// downtime, and the number of sessions. Empty: it meets them.
pub fn limit_violations(
    worst_downtime: Estimate,
    pih_risk: Option<Estimate>,
    sessions: u32,
    cons: &Constraints,
) -> Vec<String> {
    let mut violations = Vec::new();
    if let Some(m) = cons.max_downtime_days
        && worst_downtime.mean > m + 1e-9
    {
        violations.push(format!(
            "downtime {:.1} d (mean) > {m} d",
            worst_downtime.mean
        ));
    }
    if let (Some(m), Some(r)) = (cons.max_pih_risk, pih_risk)
        && r.hi > m + 1e-12
    {
        violations.push(format!(
            "PIH risk up to {:.0} % (upper band) > {:.0} %",
            r.hi * 100.0,
            m * 100.0
        ));
    }
    if let Some(m) = cons.max_sessions
        && sessions > m
    {
        violations.push(format!("{sessions} sessions > {m}"));
    }
    violations
}

/// A candidate again with the predictor's bands; its limits re-checked on them.
fn with_bands(
    pred: &dyn Predictor,
    base: &PredictInput<'_>,
    c: &Candidate,
    cons: &Constraints,
) -> Candidate {
    let mut out = c.clone();
    let Ok(p) = pred.predict(&PredictInput {
        person: base.person,
        column: base.column,
        concern: base.concern,
        device: base.device,
        protocol: &c.protocol,
        bands: true,
    }) else {
        out.violations
            .push("the predictor could not compute its bands".into());
        out.feasible = false;
        out.meets_limits = false;
        return out;
    };
    let worst = worst_downtime(&p);
    let blackout: Vec<String> = c
        .violations
        .iter()
        .filter(|v| v.starts_with("blackout"))
        .cloned()
        .collect();
    let mut violations = limit_violations(worst, p.pih_risk, c.protocol.sessions, cons);
    violations.extend(blackout);
    out.improvement_pct = p.improvement_pct;
    out.downtime_days = worst;
    out.pih_risk = p.pih_risk;
    out.banded = true;
    out.feasible = violations.is_empty();
    out.meets_limits = out.feasible;
    out.violations = violations;
    out
}

/// The first of `screened` (in order of preference) that meets the limits on its bands, and
/// how many were banded in order up to it (all of them when none does): the result of banding
/// each in turn until one meets the limits. Faster, with the same result: the predictor's
/// cheap PIH screen rules out, in parallel batches, those whose PIH band certainly breaks the
/// limit, and only the others get their full bands, in order.
fn best_on_bands(
    pred: &dyn Predictor,
    base: &PredictInput<'_>,
    screened: &[&Candidate],
    cons: &Constraints,
) -> (Option<Candidate>, usize) {
    // The first alone (a predictor may learn from it how to screen the rest faster), then in
    // parallel batches.
    let batch = (2 * rayon::current_num_threads()).max(2);
    let mut start = 0;
    while start < screened.len() {
        let end = (start + if start == 0 { 1 } else { batch }).min(screened.len());
        let exceeds: Vec<bool> = screened[start..end]
            .par_iter()
            .map(|c| match cons.max_pih_risk {
                Some(m) => pred.pih_band_exceeds(
                    &PredictInput {
                        protocol: &c.protocol,
                        bands: true,
                        ..*base
                    },
                    m,
                ),
                None => false,
            })
            .collect();
        for (k, c) in screened[start..end].iter().enumerate() {
            if exceeds[k] {
                continue;
            }
            let b = with_bands(pred, base, c, cons);
            if b.meets_limits {
                return (Some(b), start + k + 1);
            }
        }
        start = end;
    }
    (None, screened.len())
}

/// Searches the space exhaustively (in parallel; the result does not depend on the thread
/// count) for the best feasible protocol, and returns the trade-off curve.
pub fn optimise(
    pred: &dyn Predictor,
    base: &PredictInput<'_>,
    space: &SearchSpace,
    cons: &Constraints,
) -> Optimisation {
    let mut protos = Vec::new();
    for &s in &space.settings_mm {
        for &p in &space.passes {
            for &n in &space.sessions {
                for &i in &space.intervals_days {
                    protos.push(ZoneProtocol::uniform(s, p, n, i));
                }
            }
        }
    }
    let results: Vec<Evaluated> = protos
        .into_par_iter()
        .map(|proto| evaluate(pred, base, proto, cons))
        .collect();
    let evaluated = results.len();
    let (mut failed, mut dropped) = (0, 0);
    let mut cands: Vec<Candidate> = Vec::new();
    for r in results {
        match r {
            Evaluated::Candidate(c) => cands.push(*c),
            Evaluated::Failed => failed += 1,
            Evaluated::Dropped => dropped += 1,
        }
    }
    let moved = cands
        .iter()
        .filter(|c| !c.schedule_notes.is_empty())
        .count();
    let better = |a: &Candidate, b: &Candidate| {
        a.improvement_pct
            .mean
            .total_cmp(&b.improvement_pct.mean)
            .then(b.protocol.sessions.cmp(&a.protocol.sessions))
            .then(b.downtime_days.mean.total_cmp(&a.downtime_days.mean))
            .then(b.protocol.setting_mm.total_cmp(&a.protocol.setting_mm))
            .then(b.protocol.passes.cmp(&a.protocol.passes))
            .then(a.protocol.interval_days.cmp(&b.protocol.interval_days))
    };
    // The best: nominal values screen (the upper band is at least the nominal value, so a
    // protocol whose nominal value breaks a limit breaks it on the band too); then, in order of
    // preference, the bands of each until one meets the limits on them.
    let mut screened: Vec<&Candidate> = cands.iter().filter(|c| c.feasible).collect();
    screened.sort_by(|a, b| better(b, a));
    let (best, mut banded) = best_on_bands(pred, base, &screened, cons);
    // Trade-off: ignore the downtime and PIH limits (shown per point), keep the session limit.
    let mut pool: Vec<&Candidate> = cands
        .iter()
        .filter(|c| {
            c.violations
                .iter()
                .all(|v| v.starts_with("downtime") || v.starts_with("PIH"))
        })
        .collect();
    pool.sort_by(|a, b| {
        a.downtime_days
            .mean
            .total_cmp(&b.downtime_days.mean)
            .then(better(b, a))
    });
    let gentlest = if best.is_none() {
        pool.iter()
            .min_by(|a, b| {
                let r = |c: &Candidate| c.pih_risk.map_or(0.0, |r| r.mean);
                r(a).total_cmp(&r(b))
                    .then(a.downtime_days.mean.total_cmp(&b.downtime_days.mean))
                    .then(a.protocol.sessions.cmp(&b.protocol.sessions))
                    .then(a.protocol.setting_mm.total_cmp(&b.protocol.setting_mm))
            })
            .map(|c| {
                banded += 1;
                with_bands(pred, base, c, cons)
            })
    } else {
        None
    };
    let mut tradeoff: Vec<Candidate> = Vec::new();
    for c in pool {
        if tradeoff
            .last()
            .is_none_or(|l| c.improvement_pct.mean > l.improvement_pct.mean + 1e-9)
        {
            tradeoff.push(c.clone());
        }
    }
    // Every reported point carries its bands and its limits checked on them (in parallel;
    // the order is kept).
    banded += tradeoff.len();
    let tradeoff: Vec<Candidate> = tradeoff
        .par_iter()
        .map(|c| with_bands(pred, base, c, cons))
        .collect();
    Optimisation {
        space: space.clone(),
        constraints: cons.clone(),
        evaluated,
        failed,
        moved_for_blackouts: moved,
        dropped_for_dates: dropped,
        best,
        gentlest,
        banded,
        tradeoff,
    }
}
