//! The real [`Predictor`]: the lumped healing model (issue 5, `crate::healing`).
//!
//! For a protocol it builds the per-session injury from the skin and device models (punctures
//! on a 1 cm² patch of the zone's site with the planned setting and passes ->
//! `injury::channels` -> `healing::lumped::InjuryInput`; cached per setting, passes, device and skin column), runs
//! `healing::outcomes::run_zone` through the sessions and a follow-up of 90 days after the last,
//! and maps its outcomes: the clinical score the model has for the concern (acne-scar score
//! reduction; wrinkle improvement, calibrated on V01), otherwise the
//! dermal collagen I change, named as such. Downtime per session and PIH risk come from the
//! model. Bands are the 5-95 % range over sampled parameters (only when asked: the optimiser
//! searches on nominal values).

use std::collections::HashMap;
use std::sync::Mutex;

use super::patient::{ConcernKind, ScarType};
use super::predict::{Estimate, PredictInput, Prediction, Predictor, TrajectoryPoint};
use super::recommend::{device_at, technique};
use crate::device::{Shape, Zone};
use crate::healing::HealingParams;
use crate::healing::lumped::Accuracy;
use crate::healing::lumped::{InjuryInput, SessionInput};
use crate::healing::outcomes::{self, ZoneRun};
use crate::healing::params::DAY;
use crate::injury::InjuryParams;
pub use crate::params::planner::{BAND_SAMPLES, FOLLOW_UP_DAYS};
use crate::params::{DeviceParams, ModelParams, PlannerParams};
use crate::protocol::{Concern as HConcern, Protocol as HProtocol, ScarKind};

/// Seed of the patch punctures and parameter samples of the planner (`HealingPredictor::seed`).
pub const SEED: u64 = 6;

/// Per-session injury and channel spacing (m), keyed by (setting bits, passes, device).
/// Injury per setting, passes, device and skin column (the column's exact description: its site,
/// person and layers, which decide where the channels end).
type InjuryCache = Mutex<HashMap<(u64, u32, u8, String), (InjuryInput, f64)>>;

/// The lumped healing model behind the planner's seam.
pub struct HealingPredictor {
    pub params: HealingParams,
    pub injury: InjuryParams,
    /// The device presets' tip angle and head, and the hand-placement jitters.
    pub device: DeviceParams,
    /// Follow-up and band samples.
    pub planner: PlannerParams,
    /// The integrator's accuracy.
    pub accuracy: Accuracy,
    /// The closure law's constants (barrier resealing).
    pub closure: crate::params::ClosureParams,
    /// Seed of the patch punctures and the band's parameter samples ([`SEED`] for the planner;
    /// a cohort gives each virtual patient's zone its own).
    pub seed: u64,
    cache: InjuryCache,
    /// Banded predictions by [`HealingPredictor::bands_key`]: a plan asks for the same bands
    /// more than once (the optimiser's best, its prediction, the planned protocol on its
    /// dates), and each costs a nominal run and `band_samples` sampled runs.
    predictions: Mutex<HashMap<String, Prediction>>,
    /// The band's samples in order of the PIH risk they gave for a protocol screened in full
    /// (highest first): the order in which [`Predictor::pih_band_exceeds`] runs them. It only
    /// decides how soon a screen finds its answer, never the answer.
    pih_order: Mutex<Vec<u32>>,
}

impl Default for HealingPredictor {
    fn default() -> Self {
        HealingPredictor::new(&ModelParams::default())
    }
}

impl HealingPredictor {
    /// The predictor with a patient's model parameters (`Patient::params`).
    pub fn new(m: &ModelParams) -> Self {
        HealingPredictor {
            params: m.healing.clone(),
            injury: m.injury.clone(),
            device: m.device.clone(),
            planner: m.planner.clone(),
            accuracy: m.numerics.accuracy(),
            closure: m.closure.clone(),
            seed: SEED,
            cache: Mutex::new(HashMap::new()),
            predictions: Mutex::new(HashMap::new()),
            pih_order: Mutex::new(Vec::new()),
        }
    }
}

/// What the model predicts for a concern: the healing model's concern, the metric's name, its
/// unit, whether it is calibrated, and on what (or why not).
struct Metric {
    concern: HConcern,
    name: &'static str,
    unit: &'static str,
    calibrated: bool,
    calibration: &'static str,
}

const COLLAGEN_UNIT: &str = "% change of dermal collagen I from before treatment";
const COLLAGEN_CAL: &str = "NOT PREDICTED: the model has no calibrated clinical score for this concern (docs/MODEL.md, 'Outcome mappings'); shown instead, and used to rank protocols, is the dermal collagen I change (collagen output calibrated on V08, Lotfi 2013), a tissue quantity, not this concern's outcome";

fn concern_of(k: ConcernKind) -> Option<Metric> {
    let m = |concern, name, unit, calibrated, calibration| Metric {
        concern,
        name,
        unit,
        calibrated,
        calibration,
    };
    let wrinkle = "wrinkle gain calibrated on V01 (Ablon 2018: Lemperle global wrinkle score -1.23 grades at day 150 after 4 monthly sessions, baseline grade 3 assumed); the visible fill of new matrix over the wrinkle depth and its maturation lag set the rest; its one test, neck wrinkles (Alqam 2022: -25.9 %), is predicted too high (the predicted and measured values: docs/VALIDATION.md, ALQ22)";
    Some(match k {
        ConcernKind::AcneScars => m(
            HConcern::AcneScars,
            "acne-scar score reduction",
            "% of the baseline acne-scar score",
            true,
            "scar fill gain calibrated on V02 (Dogra 2014: -44.6 % one month after 5 monthly sessions, mixed scar types); geometry (type, depth, width), channel spacing and the maturation lag of new matrix set the rest",
        ),
        ConcernKind::Wrinkles => m(
            HConcern::Wrinkles,
            "wrinkle improvement",
            "% of the baseline wrinkle grade",
            true,
            wrinkle,
        ),
        ConcernKind::FineLines => m(
            HConcern::FineLines,
            "fine-line improvement",
            "% of the baseline line grade",
            true,
            wrinkle,
        ),
        ConcernKind::Laxity => m(
            HConcern::Laxity,
            "laxity improvement",
            "% of the baseline laxity grade",
            true,
            "laxity gain calibrated on V01-LAX (Ablon 2018: modified Alexiades-Armenakas laxity grade -1.09 at day 150 after 4 monthly sessions, baseline grade 2.5 assumed); read from the reticular dermis's collagen I + elastin, so channels that stop in the papillary dermis barely move it; no second laxity study tests it",
        ),
        ConcernKind::StretchMarks => m(
            HConcern::StretchMarks,
            "stretch-mark improvement",
            "% of the baseline striae grade",
            false,
            "UNCALIBRATED for stretch marks: a stria is read as a linear atrophic dermal scar (dermal deficit 0.52 mm from ultrasound, width 3 mm assumed) and filled like an acne scar with the scar gain calibrated on acne scars (V02, Dogra 2014), none fitted on striae; of its three tests (docs/VALIDATION.md) the two after 1-3 sessions are open with the trials improving more and sooner than predicted (ALSTER20-SD, ADR23-SD), the one after 6 sessions passes (MA17-SD): after few sessions, expect more than this",
        ),
        ConcernKind::EnlargedPores => m(
            HConcern::Texture,
            "not predicted (pores): dermal collagen I change shown",
            COLLAGEN_UNIT,
            false,
            COLLAGEN_CAL,
        ),
        ConcernKind::SunDamage | ConcernKind::Hyperpigmentation | ConcernKind::Melasma => m(
            HConcern::Rejuvenation,
            "not predicted (this concern): dermal collagen I change shown",
            COLLAGEN_UNIT,
            false,
            COLLAGEN_CAL,
        ),
        ConcernKind::HairThinning => return None,
    })
}

/// Why an acne-scar prediction for ice-pick scars alone is not calibrated.
pub const ICEPICK_ONLY: &str = "UNCALIBRATED for ice-pick scars alone: the scar score was calibrated on a mixed-scar cohort (V02, Dogra 2014), and in a trial of 1.5 mm rolling ice-pick scars improved only slightly (grade A); expect less than this";

impl HealingPredictor {
    /// Per-session injury of a setting and passes on a 1 cm² patch of the zone's skin, and the channel
    /// spacing, m.
    fn injury(&self, input: &PredictInput<'_>) -> Result<(InjuryInput, f64), String> {
        let pr = input.protocol;
        // The column is part of the key: zones on other sites (or other people) have other
        // layers, so the same setting ends its channels elsewhere.
        let key = (
            pr.setting_mm.to_bits(),
            pr.passes,
            input.device as u8,
            format!("{:?}", input.column),
        );
        if let Some(v) = self.cache.lock().ok().and_then(|c| c.get(&key).copied()) {
            return Ok(v);
        }
        let dev = device_at(input.device, pr.setting_mm, &self.device);
        let tech = technique(input.device, pr.passes);
        let zone = Zone {
            name: "patch".into(),
            site: input.column.site,
            shape: Shape::Rectangle {
                width_m: 0.01,
                height_m: 0.01,
            },
        };
        // Stage 1 of the study pipeline, as for a scenario zone.
        let (set, ch) = crate::pipeline::stages::channels(
            &dev,
            &zone,
            &tech,
            input.column,
            &self.injury,
            &self.device,
            self.seed,
            &mut crate::timings::Timings::default(),
        )
        .map_err(|e| e.to_string())?;
        let density = set.density_m2();
        let spacing = if density > 0.0 {
            1.0 / density.sqrt()
        } else {
            1.0
        };
        let v = (InjuryInput::from_channels(&ch, density), spacing);
        if let Ok(mut c) = self.cache.lock() {
            c.insert(key, v);
        }
        Ok(v)
    }

    /// The healing model's protocol for a planned one (sessions, follow-up, report times,
    /// scars, samples when bands are wanted), the per-session injury, the channel spacing (m)
    /// and the follow-up (days from the first session).
    /// The lumped zone run of a protocol ([`Self::zone_protocol`]'s parts) for this person and
    /// column, with the predictor's closure law: the prediction and the PIH screen run the same.
    fn zone_run<'a>(
        &'a self,
        input: &PredictInput<'a>,
        protocol: &'a HProtocol,
        sessions: Vec<SessionInput>,
        spacing_m: f64,
    ) -> ZoneRun<'a> {
        ZoneRun {
            column: input.column,
            age_years: input.person.age_years,
            phototype: input.person.phototype,
            sessions,
            protocol,
            spacing_m,
            closure: &self.closure,
        }
    }

    fn zone_protocol(
        &self,
        input: &PredictInput<'_>,
        hc: HConcern,
    ) -> Result<(HProtocol, Vec<SessionInput>, f64, f64), String> {
        let pr = input.protocol;
        if pr.sessions == 0 {
            return Err("no sessions".into());
        }
        let (inj, spacing) = self.injury(input)?;
        let session_days = pr.session_days();
        let last = session_days.last().copied().unwrap_or(0.0);
        let follow = (last + self.planner.follow_up_days).min(730.0);
        let report: Vec<f64> = (1..)
            .map(|k| f64::from(k) * 14.0)
            .take_while(|d| *d < follow)
            .map(|d| d * DAY)
            .collect();
        // The parameters' default mix, or its kinds the patient has: both read at run time, so
        // every band draw takes its own scar depths and widths.
        let scar_kinds =
            (hc == HConcern::AcneScars && !input.concern.scar_types.is_empty()).then(|| {
                input
                    .concern
                    .scar_types
                    .iter()
                    .map(|t| match t {
                        ScarType::Icepick => ScarKind::Icepick,
                        ScarType::Boxcar => ScarKind::Boxcar,
                        ScarType::Rolling => ScarKind::Rolling,
                    })
                    .collect::<Vec<_>>()
            });
        let hp = HProtocol {
            session_times_s: session_days.iter().map(|d| d * DAY).collect(),
            follow_up_s: follow * DAY,
            concerns: vec![hc],
            scars: None,
            scar_kinds,
            wrinkle_depth_m: None,
            striae_depth_m: None,
            striae_width_m: None,
            report_times_s: report,
            samples: if input.bands {
                self.planner.band_samples as u32
            } else {
                0
            },
            resolution: None,
            patch_size_m: crate::protocol::DEFAULT_PATCH_SIZE_M,
            patch_voxel_m: crate::protocol::DEFAULT_PATCH_VOXEL_M,
        };
        let sessions: Vec<SessionInput> = hp
            .session_times_s
            .iter()
            .map(|&t_s| SessionInput { t_s, injury: inj })
            .collect();
        Ok((hp, sessions, spacing, follow))
    }

    /// The key of a banded prediction in the cache (None: not cached; the search's nominal
    /// runs are each asked once). Everything the prediction depends on besides the predictor's
    /// own parameters and seed, which do not change.
    fn bands_key(&self, input: &PredictInput<'_>) -> Option<String> {
        input.bands.then(|| {
            format!(
                "{}|{:?}|{:?}|{:?}|{:?}|{:?}",
                self.seed, input.protocol, input.device, input.concern, input.person, input.column
            )
        })
    }
}

fn band(b: &outcomes::Band) -> Estimate {
    Estimate {
        mean: b.nominal,
        lo: b.p5.min(b.nominal),
        hi: b.p95.max(b.nominal),
    }
}

impl Predictor for HealingPredictor {
    fn name(&self) -> String {
        "lumped healing model (needlesim::healing, issue 5)".into()
    }

    fn predict(&self, input: &PredictInput<'_>) -> Result<Prediction, String> {
        let metric = concern_of(input.concern.kind).ok_or_else(|| {
            format!(
                "the healing model has no outcome for {}",
                input.concern.kind.label()
            )
        })?;
        let hc = metric.concern;
        let icepick_only = hc == HConcern::AcneScars
            && !input.concern.scar_types.is_empty()
            && input
                .concern
                .scar_types
                .iter()
                .all(|t| matches!(t, ScarType::Icepick));
        let key = self.bands_key(input);
        if let Some(k) = &key
            && let Some(p) = self.predictions.lock().ok().and_then(|c| c.get(k).cloned())
        {
            return Ok(p);
        }
        let (hp, sessions, spacing, follow) = self.zone_protocol(input, hc)?;
        let run = self.zone_run(input, &hp, sessions, spacing);
        let res = outcomes::run_zone_with(&run, &self.params, self.accuracy, self.seed)
            .map_err(|e| e.to_string())?;
        let o = &res.outcomes;
        let score = |t: &outcomes::TimepointOutcomes| -> Estimate {
            match hc {
                HConcern::AcneScars => t.acne_scar_score_reduction_pct.as_ref().map(band),
                HConcern::Wrinkles | HConcern::FineLines => {
                    t.wrinkle_improvement_pct.as_ref().map(band)
                }
                HConcern::Laxity => t.laxity_improvement_pct.as_ref().map(band),
                HConcern::StretchMarks => t.stretch_marks_improvement_pct.as_ref().map(band),
                // Enlarged pores run as texture but stay not predicted: texture is not pores.
                _ => None,
            }
            .unwrap_or_else(|| band(&t.collagen_i_change_pct))
        };
        let trajectory: Vec<TrajectoryPoint> = std::iter::once(TrajectoryPoint {
            day: 0.0,
            improvement_pct: Estimate {
                mean: 0.0,
                lo: 0.0,
                hi: 0.0,
            },
            collagen_change_pct: Estimate {
                mean: 0.0,
                lo: 0.0,
                hi: 0.0,
            },
        })
        .chain(o.timepoints.iter().map(|t| TrajectoryPoint {
            day: t.day,
            improvement_pct: score(t),
            collagen_change_pct: band(&t.collagen_i_change_pct),
        }))
        .collect();
        let end = o.timepoints.last().ok_or("no outcome time points")?;
        let prediction = Prediction {
            metric: metric.name.into(),
            unit: metric.unit.into(),
            calibrated: metric.calibrated && !icepick_only,
            calibration: if icepick_only {
                ICEPICK_ONLY.into()
            } else {
                metric.calibration.into()
            },
            improvement_pct: score(end),
            downtime_days: o.sessions.iter().map(|s| band(&s.downtime_days)).collect(),
            pih_risk: Some({
                let b = band(&o.pih_risk_pct);
                Estimate {
                    mean: b.mean / 100.0,
                    lo: b.lo / 100.0,
                    hi: b.hi / 100.0,
                }
            }),
            trajectory,
            horizon_days: follow,
        };
        if let Some(k) = key
            && let Ok(mut c) = self.predictions.lock()
        {
            c.insert(k, prediction.clone());
        }
        Ok(prediction)
    }

    fn pih_band_exceeds(&self, input: &PredictInput<'_>, max: f64) -> bool {
        let Some(metric) = concern_of(input.concern.kind) else {
            return false;
        };
        let banded = PredictInput {
            bands: true,
            ..*input
        };
        let Ok((hp, sessions, spacing, _)) = self.zone_protocol(&banded, metric.concern) else {
            return false;
        };
        let run = self.zone_run(input, &hp, sessions, spacing);
        // The prediction's PIH band is the model's % / 100, checked as `hi > max + 1e-12`: a
        // hair above that limit in %, so that exceeding it here exceeds it there.
        let order = self.pih_order.lock().map(|o| o.clone()).unwrap_or_default();
        let mut seen = Vec::new();
        let out = outcomes::pih_p95_exceeds(
            &run,
            &self.params,
            self.accuracy,
            self.seed,
            &outcomes::PihScreen {
                limit_pct: (max + 1e-12) * 100.0 * (1.0 + 1e-12),
                order: &order,
                give_up_after: 4,
            },
            &mut seen,
        );
        // Without an order yet, every sample ran: their order by PIH risk, highest first,
        // serves the next protocols (the draws are the same for every protocol).
        if order.is_empty() && seen.len() == hp.samples as usize {
            seen.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
            if let Ok(mut o) = self.pih_order.lock()
                && o.is_empty()
            {
                *o = seen.iter().map(|s| s.0).collect();
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::patient::DeviceChoice;
    use crate::plan::predict::ZoneProtocol;
    use crate::skin::{self, Person, Sex, Site, ThicknessOverrides};

    /// One predictor serves every zone of a plan: the injury it caches for one site must not be
    /// reused for another site's skin (the forehead's thin dermis vs the cheek's).
    #[test]
    fn injury_cache_is_per_skin_column() {
        let person = Person {
            age_years: 45.0,
            sex: Sex::Female,
            phototype: 3,
        };
        let concern = super::super::patient::PatientConcern {
            kind: ConcernKind::FineLines,
            grade: None,
            scar_types: vec![],
        };
        let proto = ZoneProtocol::uniform(1.5, 3, 3, 28);
        let inj = |pred: &HealingPredictor, site: Site| {
            let column = skin::column(site, &person, &ThicknessOverrides::default()).unwrap();
            let input = PredictInput {
                person: &person,
                column: &column,
                concern: &concern,
                device: DeviceChoice::Pen,
                protocol: &proto,
                bands: false,
            };
            pred.injury(&input).unwrap()
        };
        let shared = HealingPredictor::default();
        let cheek_first = inj(&shared, Site::Cheek);
        let forehead_after = inj(&shared, Site::Forehead);
        let forehead_alone = inj(&HealingPredictor::default(), Site::Forehead);
        assert_eq!(format!("{forehead_after:?}"), format!("{forehead_alone:?}"));
        assert_ne!(format!("{cheek_first:?}"), format!("{forehead_alone:?}"));
    }
}
