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

use super::patient::{Concern, DeviceChoice};
use crate::skin::{Person, SkinColumn};

/// A value with its uncertainty band.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Band {
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
    pub improvement_pct: Band,
    /// Dermal collagen change from baseline, %.
    pub collagen_change_pct: Band,
}

/// What a predictor returns for one protocol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Prediction {
    /// What `improvement_pct` measures (e.g. "acne-scar score reduction").
    pub metric: String,
    /// Score improvement at the horizon, %.
    pub improvement_pct: Band,
    /// Downtime after each session, days.
    pub downtime_days: Vec<Band>,
    /// Probability of post-inflammatory hyperpigmentation over the series (0-1), if modelled.
    pub pih_risk: Option<Band>,
    pub trajectory: Vec<TrajectoryPoint>,
    /// Days from the first session to the end of the prediction.
    pub horizon_days: f64,
}

/// A protocol for one zone and concern.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Protocol {
    pub setting_mm: f64,
    pub passes: u32,
    pub sessions: u32,
    pub interval_days: u32,
}

impl Protocol {
    /// Session times, days from the first.
    pub fn session_days(&self) -> Vec<f64> {
        (0..self.sessions)
            .map(|k| f64::from(k) * f64::from(self.interval_days))
            .collect()
    }
}

/// Everything a predictor needs.
pub struct PredictInput<'a> {
    pub person: &'a Person,
    pub column: &'a SkinColumn,
    pub concern: &'a Concern,
    pub device: DeviceChoice,
    pub protocol: &'a Protocol,
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Constraints {
    /// Longest acceptable mean downtime after any session, days.
    pub max_downtime_days: Option<f64>,
    /// Highest acceptable upper band of the PIH risk (darker skin), 0-1.
    pub max_pih_risk: Option<f64>,
    pub max_sessions: Option<u32>,
}

/// Upper band of PIH risk accepted for phototypes IV-VI or earlier PIH (planner default).
pub const MAX_PIH_RISK_GENTLE: f64 = 0.2;

/// One evaluated protocol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Candidate {
    pub protocol: Protocol,
    pub improvement_pct: Band,
    /// The longest downtime of the series (mean band of the worst session), days.
    pub downtime_days: Band,
    pub pih_risk: Option<Band>,
    pub feasible: bool,
    /// Constraints it breaks.
    pub violations: Vec<String>,
}

/// The result of a search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Optimisation {
    pub space: SearchSpace,
    pub constraints: Constraints,
    pub evaluated: usize,
    /// Protocols the predictor could not evaluate.
    pub failed: usize,
    /// The best feasible protocol (highest mean improvement; ties: fewer sessions, less
    /// downtime).
    pub best: Option<Candidate>,
    /// Trade-off curve: protocols (ignoring the downtime and PIH limits, which each point's
    /// `violations` still lists) for which no other gives more improvement with less downtime,
    /// sorted by downtime.
    pub tradeoff: Vec<Candidate>,
}

fn evaluate(
    pred: &dyn Predictor,
    base: &PredictInput<'_>,
    proto: Protocol,
    cons: &Constraints,
) -> Option<Candidate> {
    let input = PredictInput {
        person: base.person,
        column: base.column,
        concern: base.concern,
        device: base.device,
        protocol: &proto,
        bands: false,
    };
    let p = pred.predict(&input).ok()?;
    let worst = p
        .downtime_days
        .iter()
        .copied()
        .max_by(|a, b| a.mean.total_cmp(&b.mean))
        .unwrap_or(Band {
            mean: 0.0,
            lo: 0.0,
            hi: 0.0,
        });
    if !p.improvement_pct.mean.is_finite() || !worst.mean.is_finite() {
        return None;
    }
    let mut violations = Vec::new();
    if let Some(m) = cons.max_downtime_days
        && worst.mean > m + 1e-9
    {
        violations.push(format!("downtime {:.1} d > {m} d", worst.mean));
    }
    if let (Some(m), Some(r)) = (cons.max_pih_risk, p.pih_risk)
        && r.hi > m + 1e-12
    {
        violations.push(format!(
            "PIH risk up to {:.0} % > {:.0} %",
            r.hi * 100.0,
            m * 100.0
        ));
    }
    if let Some(m) = cons.max_sessions
        && proto.sessions > m
    {
        violations.push(format!("{} sessions > {m}", proto.sessions));
    }
    Some(Candidate {
        protocol: proto,
        improvement_pct: p.improvement_pct,
        downtime_days: worst,
        pih_risk: p.pih_risk,
        feasible: violations.is_empty(),
        violations,
    })
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
                    protos.push(Protocol {
                        setting_mm: s,
                        passes: p,
                        sessions: n,
                        interval_days: i,
                    });
                }
            }
        }
    }
    let results: Vec<Option<Candidate>> = protos
        .into_par_iter()
        .map(|proto| evaluate(pred, base, proto, cons))
        .collect();
    let evaluated = results.len();
    let cands: Vec<Candidate> = results.into_iter().flatten().collect();
    let failed = evaluated - cands.len();
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
    let best = cands
        .iter()
        .filter(|c| c.feasible)
        .max_by(|a, b| better(a, b))
        .cloned();
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
    let mut tradeoff: Vec<Candidate> = Vec::new();
    for c in pool {
        if tradeoff
            .last()
            .is_none_or(|l| c.improvement_pct.mean > l.improvement_pct.mean + 1e-9)
        {
            tradeoff.push(c.clone());
        }
    }
    Optimisation {
        space: space.clone(),
        constraints: cons.clone(),
        evaluated,
        failed,
        best,
        tradeoff,
    }
}
