//! Validation metrics of the delivery model (`delivery.*`), evaluated by [`crate::validate`].
//!
//! | metric | inputs | value |
//! |---|---|---|
//! | `delivery.log_kp_cm_h` | `log_kow`, `mw_g_mol`, optional `model` | log10 kp (cm/h) |
//! | `delivery.barrier_recovery_h` | `occlusion`, `depth_um`, `age_years`, `phototype` | h |
//! | `delivery.tissue_diffusivity_um2_s` | `compound`, `layer` (viable_epidermis / dermis) | µm²/s |
//! | `delivery.enhancement_ratio` | `scenario` (with `[delivery]`), `quantity` (`endpoint`: the study's own endpoint, `[delivery] endpoint`), optional `at_h` | needled / intact |
//! | `delivery.time_to_steady_h` | `scenario` | h from application until the flux into blood + receptor first reaches 90 % of its maximum |
//! | `delivery.onset_ratio` | `scenario` (with an effect threshold) | time to effect, needled / intact |

use crate::delivery::closure::{Closure, ClosureParams, Occlusion};
use crate::delivery::compounds::Library;
use crate::delivery::physchem::{PermeabilityModel, PhysChemParams, coefficients};
use crate::delivery::run::{DeliverReport, DeliveryPlan, SeriesPoint};
use crate::scenario::Scenario;
use crate::skin::{Person, Sex};

/// Metric names handled here.
pub const METRICS: &[&str] = &[
    "delivery.log_kp_cm_h",
    "delivery.barrier_recovery_h",
    "delivery.tissue_diffusivity_um2_s",
    "delivery.enhancement_ratio",
    "delivery.time_to_steady_h",
    "delivery.onset_ratio",
];

fn num(t: &toml::Table, key: &str) -> Result<f64, String> {
    match t.get(key) {
        Some(toml::Value::Float(x)) => Ok(*x),
        Some(toml::Value::Integer(i)) => Ok(*i as f64),
        _ => Err(format!("input `{key}` (a number) is missing")),
    }
}

fn text<'a>(t: &'a toml::Table, key: &str) -> Result<&'a str, String> {
    t.get(key)
        .and_then(|v| v.as_str())
        .ok_or_else(|| format!("input `{key}` (a string) is missing"))
}

fn model(t: &toml::Table) -> Result<PermeabilityModel, String> {
    match t.get("model").and_then(|v| v.as_str()) {
        None | Some("potts_guy_1992") => Ok(PermeabilityModel::PottsGuy1992),
        Some("refit_2023") => Ok(PermeabilityModel::Refit2023),
        Some(o) => Err(format!("model {o:?}: use potts_guy_1992 or refit_2023")),
    }
}

/// The metrics that run an inline `[inputs.scenario]` (with its `[delivery]` section) through
/// `deliver`; the caller reads the scenario (the input layer sits above the models) and passes
/// it to [`evaluate`].
pub const SCENARIO_METRICS: &[&str] = &[
    "delivery.enhancement_ratio",
    "delivery.time_to_steady_h",
    "delivery.onset_ratio",
];

/// Runs the case's validated scenario and delivery plan through `deliver`.
fn run_given(scenario: Option<(&Scenario, &DeliveryPlan)>) -> Result<DeliverReport, String> {
    let (s, plan) = scenario.ok_or("input table `scenario` is missing")?;
    crate::pipeline::stages::deliver(
        s,
        plan,
        &crate::progress::silent,
        &mut crate::timings::Timings::default(),
    )
    .map(|r| r.report)
    .map_err(|e| e.to_string())
}

fn at(r: &DeliverReport, t_h: Option<f64>) -> Result<&SeriesPoint, String> {
    match t_h {
        None => r.series.last().ok_or_else(|| "empty series".to_string()),
        Some(t) => r
            .series
            .iter()
            .min_by(|a, b| (a.t_h - t).abs().total_cmp(&(b.t_h - t).abs()))
            .ok_or_else(|| "empty series".to_string()),
    }
}

/// Evaluates a `delivery.*` metric; those in [`SCENARIO_METRICS`] need the case's scenario.
pub fn evaluate(
    metric: &str,
    t: &toml::Table,
    scenario: Option<(&Scenario, &DeliveryPlan)>,
) -> Result<f64, String> {
    match metric {
        "delivery.log_kp_cm_h" => {
            Ok(model(t)?.log_kp_cm_h(num(t, "log_kow")?, num(t, "mw_g_mol")?))
        }
        "delivery.barrier_recovery_h" => {
            let occ = Occlusion::from_name(text(t, "occlusion")?)
                .ok_or("occlusion: use none, serum or patch")?;
            let phototype = num(t, "phototype")?;
            if !(phototype.fract() == 0.0 && (1.0..=6.0).contains(&phototype)) {
                return Err(format!(
                    "input `phototype` = {phototype}: must be a whole number within 1-6"
                ));
            }
            let person = Person {
                age_years: num(t, "age_years")?,
                sex: Sex::Female,
                phototype: phototype as u8,
            };
            // Optional `site` (a scenario site name); studies on the arm, which is no site here,
            // leave it out: site factor 1.
            let site = match t.get("site").and_then(|v| v.as_str()) {
                None => crate::skin::Site::Cheek,
                Some(s) => crate::skin::Site::from_name(s)
                    .ok_or_else(|| format!("input `site` = {s:?}: not a known site"))?,
            };
            let c = Closure::new(
                &ClosureParams::default(),
                num(t, "depth_um")? * 1e-6,
                &person,
                site,
                &[(0.0, occ)],
            );
            Ok(c.recovery_time_s() / crate::units::HOUR)
        }
        "delivery.tissue_diffusivity_um2_s" => {
            let c = Library::builtin()
                .compound(text(t, "compound")?)
                .map_err(|e| e.to_string())?;
            let co = coefficients(c, PermeabilityModel::default(), &PhysChemParams::default());
            match text(t, "layer")? {
                "viable_epidermis" => Ok(co.d_ve_m2_s * 1e12),
                "dermis" => Ok(co.d_dermis_m2_s * 1e12),
                o => Err(format!("layer {o:?}: use viable_epidermis or dermis")),
            }
        }
        "delivery.enhancement_ratio" => {
            let r = run_given(scenario)?;
            if text(t, "quantity")? == "endpoint" {
                // The endpoint the scenario's study measured ([delivery] endpoint), at its
                // sampling time / over its steady window, both arms of the same run.
                if t.contains_key("at_h") {
                    return Err("`at_h` does not apply to quantity = \"endpoint\": give the study's sampling_h (or steady_window_h) in the scenario's [delivery]".into());
                }
                let e = &r.experiment;
                return match (e.needled, e.intact) {
                    (Some(a), Some(b)) if b > 0.0 => Ok(a / b),
                    _ => Err(format!(
                        "the intact arm's {} is zero: the ratio is undefined",
                        e.description
                    )),
                };
            }
            let p = at(&r, t.get("at_h").and_then(|v| v.as_float()))?;
            let (a, b) = match text(t, "quantity")? {
                "receptor_blood" => (
                    p.needled.receptor_blood_ug_cm2,
                    p.intact.receptor_blood_ug_cm2,
                ),
                "reached_dermis" => (
                    p.needled.reached_dermis_ug_cm2,
                    p.intact.reached_dermis_ug_cm2,
                ),
                "held_in_viable_skin" => (
                    p.needled.viable_epidermis_ug_cm2
                        + p.needled.papillary_dermis_ug_cm2
                        + p.needled.reticular_dermis_ug_cm2,
                    p.intact.viable_epidermis_ug_cm2
                        + p.intact.papillary_dermis_ug_cm2
                        + p.intact.reticular_dermis_ug_cm2,
                ),
                o => Err(format!(
                    "quantity {o:?}: use endpoint, receptor_blood, reached_dermis or held_in_viable_skin"
                ))?,
            };
            if b > 0.0 {
                Ok(a / b)
            } else {
                Err("the intact arm delivers nothing: the ratio is undefined".into())
            }
        }
        "delivery.time_to_steady_h" => {
            let r = run_given(scenario)?;
            let t0 = r.applications.first().map_or(0.0, |a| a.apply_h);
            let max = r
                .series
                .iter()
                .map(|p| p.needled.flux_out_ug_cm2_h)
                .fold(0.0, f64::max);
            if max <= 0.0 {
                return Err("nothing reaches blood or receptor".into());
            }
            r.series
                .iter()
                .find(|p| p.needled.flux_out_ug_cm2_h >= 0.9 * max)
                .map(|p| p.t_h - t0)
                .ok_or_else(|| "no steady flux".into())
        }
        "delivery.onset_ratio" => {
            let r = run_given(scenario)?;
            match (r.needled.time_to_effect_min, r.intact.time_to_effect_min) {
                (Some(a), Some(b)) if b > 0.0 => Ok(a / b),
                (_, None) => Err("the intact arm never reaches the effect threshold".into()),
                (None, _) => Err("the needled arm never reaches the effect threshold".into()),
                _ => Err("the intact arm's onset is zero".into()),
            }
        }
        other => Err(format!("unknown delivery metric {other:?}")),
    }
}
