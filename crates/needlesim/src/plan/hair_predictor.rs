//! The "thinning scalp hair" concern's prediction (issue 20, point 5): the hair model
//! ([`crate::hair`]) behind the planner's [`Predictor`] seam. Every other concern goes to the
//! inner predictor (the lumped healing model); downtime and PIH risk of scalp sessions come from
//! it too (the same injury and healing cascade, read as for a collagen concern).

use std::collections::HashMap;
use std::sync::Mutex;

use super::patient::{ConcernKind, PatientConcern};
use super::predict::{Estimate, PredictInput, Prediction, Predictor, TrajectoryPoint};
use super::recommend::{device_at, technique};
use crate::delivery::compounds::Library;
use crate::hair::{self, Alopecia, HairProtocol, Needling, Scale, Topical};
use crate::healing::lumped::InjuryInput;
use crate::params::ModelParams;
use crate::skin::Sex;

/// Seed of the scalp patch punctures.
pub const SEED: u64 = 20;

/// Injury per (setting bits, passes, device).
type Cache = Mutex<HashMap<(u64, u32, u8), (InjuryInput, f64)>>;

/// The planner's predictor with the hair model for thinning hair.
pub struct ScalpPredictor<'a> {
    pub inner: &'a dyn Predictor,
    pub params: ModelParams,
    /// Whether the patient uses minoxidil (twice-daily 5 % solution is then part of the arm,
    /// withheld for a day after each session); without it the prediction is needling alone.
    pub minoxidil: bool,
    cache: Cache,
}

impl<'a> ScalpPredictor<'a> {
    pub fn new(inner: &'a dyn Predictor, params: &ModelParams, minoxidil: bool) -> Self {
        ScalpPredictor {
            inner,
            params: params.clone(),
            minoxidil,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The person's alopecia from the concern's grade (Norwood for men, Ludwig for women;
    /// none given: Norwood 3 / Ludwig 1, assumed).
    pub fn alopecia(sex: Sex, concern: &PatientConcern) -> Alopecia {
        match sex {
            Sex::Male => Alopecia {
                scale: Scale::Norwood,
                grade: concern.grade.unwrap_or(3),
            },
            Sex::Female => Alopecia {
                scale: Scale::Ludwig,
                grade: concern.grade.unwrap_or(1),
            },
        }
    }

    fn hair(&self, input: &PredictInput<'_>) -> Result<Prediction, String> {
        hair::check_site(input.column).map_err(|e| e.to_string())?;
        let pr = input.protocol;
        if pr.sessions == 0 {
            return Err("no sessions".into());
        }
        let key = (pr.setting_mm.to_bits(), pr.passes, input.device as u8);
        let cached = self.cache.lock().ok().and_then(|c| c.get(&key).copied());
        let (injury, radius) = match cached {
            Some(v) => v,
            None => {
                let dev = device_at(input.device, pr.setting_mm, &self.params.device);
                let tech = technique(input.device, pr.passes);
                let v = hair::session_injury(&dev, &tech, input.column, &self.params, SEED)
                    .map_err(|e| e.to_string())?;
                if let Ok(mut c) = self.cache.lock() {
                    c.insert(key, v);
                }
                v
            }
        };
        let alopecia = Self::alopecia(input.person.sex, input.concern);
        let session_days = pr.session_days();
        let last = session_days.last().copied().unwrap_or(0.0);
        let horizon = (last + self.params.planner.follow_up_days).min(730.0);
        let topical = if self.minoxidil {
            let lib = Library::builtin();
            let product = lib
                .product("minoxidil_5_solution")
                .map_err(|e| e.to_string())?;
            let compound = lib.compound(&product.compound).map_err(|e| e.to_string())?;
            Some(
                Topical::new(product, compound, 2, 24.0, &self.params.physchem)
                    .map_err(|e| e.to_string())?,
            )
        } else {
            None
        };
        let protocol = HairProtocol {
            needling: Some(Needling {
                session_days: session_days.clone(),
                injury,
                channel_radius_m: radius,
                prp: false,
            }),
            topical,
            duration_days: horizon,
        };
        let run_with = |mp: &ModelParams| -> Result<hair::HairRun, String> {
            let sc = hair::scalp::scalp(input.column, input.person, alopecia, None, &mp.hair)
                .map_err(|e| e.to_string())?;
            hair::simulate(&sc, input.column, &protocol, mp).map_err(|e| e.to_string())
        };
        let nominal = run_with(&self.params)?;
        // Band: the calibrated gains halved and doubled (the spread between trials of nominally
        // similar protocols is that large; literature round 2, A).
        let mut lo_hi = (f64::INFINITY, f64::NEG_INFINITY);
        let mut runs = Vec::new();
        if input.bands {
            for fw in [0.5, 1.0, 2.0] {
                for fm in [0.5, 1.0, 2.0] {
                    let mut mp = self.params.clone();
                    mp.hair.wound_anagen_gain *= fw;
                    mp.hair.mx_effect_max *= fm;
                    let r = run_with(&mp)?;
                    let v = r.count_change(horizon);
                    lo_hi = (lo_hi.0.min(v), lo_hi.1.max(v));
                    runs.push(r);
                }
            }
        }
        let est = |day: f64| -> Estimate {
            let mean = nominal.count_change(day);
            if runs.is_empty() {
                return Estimate {
                    mean,
                    lo: mean,
                    hi: mean,
                };
            }
            let vals: Vec<f64> = runs.iter().map(|r| r.count_change(day)).collect();
            Estimate {
                mean,
                lo: vals.iter().copied().fold(mean, f64::min),
                hi: vals.iter().copied().fold(mean, f64::max),
            }
        };
        // Downtime and PIH of the scalp sessions from the healing model (a collagen concern on
        // the same column and protocol).
        let stand_in = PatientConcern {
            kind: ConcernKind::SunDamage,
            grade: None,
            scar_types: Vec::new(),
        };
        let healing = self.inner.predict(&PredictInput {
            concern: &stand_in,
            ..*input
        })?;
        let trajectory: Vec<TrajectoryPoint> = (0..)
            .map(|k| f64::from(k) * 14.0)
            .take_while(|d| *d <= horizon)
            .chain(std::iter::once(horizon))
            .map(|day| TrajectoryPoint {
                day,
                improvement_pct: est(day),
                collagen_change_pct: healing
                    .trajectory
                    .iter()
                    .min_by(|a, b| (a.day - day).abs().total_cmp(&(b.day - day).abs()))
                    .map_or(
                        Estimate {
                            mean: 0.0,
                            lo: 0.0,
                            hi: 0.0,
                        },
                        |p| p.collagen_change_pct,
                    ),
            })
            .collect();
        Ok(Prediction {
            metric: if self.minoxidil {
                "hair count change (needling with twice-daily 5 % minoxidil)".into()
            } else {
                "hair count change (needling alone)".into()
            },
            unit: "hairs/cm² from before treatment".into(),
            // The gains are fitted to needling alone, with PRP and minoxidil alone; the one
            // combination trial (Dhurat 2013, R2-C01 / DHURAT-2013-MN+Mx) is a failed
            // prediction, so the combination stays uncalibrated.
            calibrated: !self.minoxidil,
            calibration: if self.minoxidil {
                "UNCALIBRATED for needling with minoxidil: the gains are fitted to needling alone (Aggarwal 2020) and minoxidil alone (Hoffmann 2005), and the one combination trial (Dhurat 2013: +91 hairs/cm² at 12 weeks) is 2.5 times the model's (validation/hair, DHURAT-2013-MN+Mx, open); band: the gains halved and doubled".into()
            } else {
                "the wound gain fitted to needling alone (Aggarwal 2020, +10.8 hairs/cm², R2-C01a) jointly with the other hair gains (tools/fit_hair.py; validation/hair, docs/MODEL.md Hair); needle length, grade and age of that trial assumed; band: the gains halved and doubled".into()
            },
            improvement_pct: est(horizon),
            downtime_days: healing.downtime_days,
            pih_risk: healing.pih_risk,
            trajectory,
            horizon_days: horizon,
        })
    }
}

impl Predictor for ScalpPredictor<'_> {
    fn name(&self) -> String {
        // The inner name: plans without thinning hair read as before; a hair prediction names
        // its model in its metric and calibration.
        self.inner.name()
    }

    fn predict(&self, input: &PredictInput<'_>) -> Result<Prediction, String> {
        if input.concern.kind == ConcernKind::HairThinning {
            self.hair(input)
        } else {
            self.inner.predict(input)
        }
    }
}
