//! Healing metrics for `needlesim validate` and the calibration (`scripts/calibrate_healing.sh`).
//!
//! Each metric runs an inline scenario with a `[protocol]` (nominal parameters, no sampling) and
//! reads one outcome at the input `day` (days from the first session).

use crate::healing::outcomes::Band;
use crate::healing::params::{DAY, HealingParams};
use crate::scenario::Scenario;

/// The healing metric names.
pub const METRICS: &[&str] = &[
    "healing.papillary_collagen_change_pct",
    "healing.epidermal_thickness_change_pct",
    "healing.collagen_iii_change_pct",
    "healing.downtime_days",
    "healing.acne_scar_score_reduction_pct",
    "healing.wrinkle_improvement_pct",
    "healing.laxity_improvement_pct",
    "healing.texture_improvement_pct",
    "healing.stretch_marks_improvement_pct",
    "healing.pih_risk_pct",
    "healing.collagen_content_ratio",
];

/// Evaluates a healing metric on a prepared scenario (punctures already generated), with the
/// nominal parameters only (no sampling: what the calibration fits).
pub fn evaluate_prepared(
    metric: &str,
    s: &Scenario,
    punct: &crate::pipeline::PuncturesRun,
    day: f64,
    p: &HealingParams,
) -> Result<f64, String> {
    evaluate_banded(metric, s, punct, day, p, Some(0)).map(|b| b.nominal)
}

/// Evaluates a healing metric with its uncertainty band: the nominal value (identical to
/// [`evaluate_prepared`]) and the 5-95 % range over the scenario's parameter samples
/// (`protocol.uncertainty_samples`, or `samples` when given).
pub fn evaluate_banded(
    metric: &str,
    s: &Scenario,
    punct: &crate::pipeline::PuncturesRun,
    day: f64,
    p: &HealingParams,
    samples: Option<u32>,
) -> Result<Band, String> {
    let mut s = s.clone();
    let Some(pr) = s.protocol.as_mut() else {
        return Err("the scenario has no [protocol]".into());
    };
    if let Some(n) = samples {
        pr.samples = n;
    }
    if !pr
        .report_times_s
        .iter()
        .any(|&t| (t - day * DAY).abs() < 1.0)
    {
        pr.report_times_s.push(day * DAY);
    }
    // The healing stage of the study pipeline on the prepared zones.
    let run = crate::pipeline::stages::heal(
        &s,
        punct,
        p,
        &crate::progress::silent,
        &mut crate::timings::Timings::default(),
    )
    .map_err(|e| e.to_string())?;
    let z = run.report.zones.first().ok_or("the scenario has no zone")?;
    let o = &z.outcomes;
    let tp = o
        .timepoints
        .iter()
        .find(|t| (t.day - day).abs() < 1e-6)
        .ok_or("report day not found")?;
    Ok(match metric {
        "healing.papillary_collagen_change_pct" => tp.papillary_collagen_change_pct,
        "healing.epidermal_thickness_change_pct" => tp.epidermal_thickness_change_pct,
        "healing.collagen_iii_change_pct" => tp.collagen_iii_change_pct,
        "healing.downtime_days" => o.downtime_mean_days,
        "healing.acne_scar_score_reduction_pct" => tp
            .acne_scar_score_reduction_pct
            .ok_or("acne_scars is not a concern of the scenario")?,
        "healing.wrinkle_improvement_pct" => tp
            .wrinkle_improvement_pct
            .ok_or("neither wrinkles nor fine_lines is a concern of the scenario")?,
        "healing.laxity_improvement_pct" => tp
            .laxity_improvement_pct
            .ok_or("laxity is not a concern of the scenario")?,
        "healing.texture_improvement_pct" => tp
            .texture_improvement_pct
            .ok_or("texture is not a concern of the scenario")?,
        "healing.stretch_marks_improvement_pct" => tp
            .stretch_marks_improvement_pct
            .ok_or("stretch_marks is not a concern of the scenario")?,
        "healing.pih_risk_pct" => o.pih_risk_pct,
        other => return Err(format!("unknown healing metric `{other}`")),
    })
}

/// Collagen content per skin area (dermis thickness × concentration) of `age_to` relative to
/// `age_from`, from the skin module's age rules (concentrations are age-independent there).
pub fn collagen_content_ratio(
    site: crate::skin::Site,
    sex: crate::skin::Sex,
    age_from: f64,
    age_to: f64,
) -> Result<f64, String> {
    use crate::skin::{LayerKind, Person, ThicknessOverrides};
    let content = |age: f64| -> Result<f64, String> {
        let person = Person {
            age_years: age,
            sex,
            phototype: 3,
        };
        let c = crate::skin::column(site, &person, &ThicknessOverrides::default())
            .map_err(|e| e.to_string())?;
        Ok([LayerKind::PapillaryDermis, LayerKind::ReticularDermis]
            .iter()
            .map(|&k| c.layer(k).thickness_m * c.layer(k).properties.collagen_kg_m3)
            .sum())
    };
    Ok(content(age_to)? / content(age_from)?)
}
