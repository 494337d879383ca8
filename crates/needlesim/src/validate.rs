//! Validation against published measurements.
//!
//! Each case is a TOML file under `validation/` holding the published value, its tolerance, its
//! source and grade, the *metric* the model computes for it and the metric's inputs. The runner
//! evaluates every case and reports measured vs simulated with pass/fail; failing cases are kept
//! and reported with the reason in their `note`, never loosened. Each case also records the
//! outcome it had when last reviewed (`expect = "pass"` or `"fail"`), so the test suite notices
//! when a change moves a case either way.
//!
//! Metrics are plain functions of the case's `[inputs]` table; adding a model means adding a
//! metric to [`evaluate`].

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::scenario::{self, ScenarioFile};
use crate::skin::{self, LayerKind, Person, Sex, Site, ThicknessOverrides};

/// What a case is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// An independent check of the model.
    Validation,
    /// A case a parameter was fitted to; passing it shows the fit, not the model's truth.
    Calibration,
    /// A formula or kinematics check (the value follows from definitions).
    Check,
}

/// Outcome recorded at the last review.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    Pass,
    Fail,
}

/// One validation case file.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub id: String,
    pub quantity: String,
    pub unit: String,
    /// Published value.
    pub expected: f64,
    /// Accepted range for the simulated value.
    pub low: f64,
    pub high: f64,
    /// Where the tolerance comes from.
    pub tolerance_basis: String,
    pub role: Role,
    /// Evidence grade of the source (A/P primary, B/S secondary; C/W cases are not targets).
    pub grade: String,
    pub source: String,
    /// Assumptions made to set the case up, and for a failing case, why it fails.
    #[serde(default)]
    pub note: String,
    pub expect: Expect,
    /// Name of the metric (see [`evaluate`]).
    pub metric: String,
    /// Inputs of the metric.
    #[serde(default)]
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    pub inputs: toml::Table,
}

/// The result of one case.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct Outcome {
    pub id: String,
    pub file: String,
    pub quantity: String,
    pub unit: String,
    pub expected: f64,
    pub low: f64,
    pub high: f64,
    pub simulated: Option<f64>,
    pub pass: bool,
    pub role: Role,
    pub grade: String,
    pub expect: Expect,
    /// Error message when the metric could not be evaluated.
    pub error: Option<String>,
    pub note: String,
    pub source: String,
    pub tolerance_basis: String,
}

/// Errors loading or evaluating cases.
#[derive(Debug, Error)]
pub enum ValidateError {
    #[error("cannot read `{path}`: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "validation case `{path}` is invalid: {message}\n  hint: see validation/README.md for the case format"
    )]
    Case { path: String, message: String },
    #[error("metric `{metric}`: {message}")]
    Metric { metric: String, message: String },
}

fn metric_err(metric: &str, message: impl Into<String>) -> ValidateError {
    ValidateError::Metric {
        metric: metric.into(),
        message: message.into(),
    }
}

/// Finds all `*.toml` case files under `dir`, sorted by path.
pub fn find_cases(dir: &Path) -> Result<Vec<PathBuf>, ValidateError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|source| ValidateError::Io {
            path: d.display().to_string(),
            source,
        })?;
        for e in entries {
            let p = e
                .map_err(|source| ValidateError::Io {
                    path: d.display().to_string(),
                    source,
                })?
                .path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "toml") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Loads one case file.
pub fn load_case(path: &Path) -> Result<Case, ValidateError> {
    let text = std::fs::read_to_string(path).map_err(|source| ValidateError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let case: Case = toml::from_str(&text).map_err(|e| ValidateError::Case {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    if !case.low.is_finite() || !case.high.is_finite() || case.low > case.high {
        return Err(ValidateError::Case {
            path: path.display().to_string(),
            message: format!("low {} must not exceed high {}", case.low, case.high),
        });
    }
    Ok(case)
}

/// Runs one case.
pub fn run_case(path: &Path) -> Result<Outcome, ValidateError> {
    let case = load_case(path)?;
    let (simulated, error) = match evaluate(&case.metric, &case.inputs) {
        Ok(v) => (Some(v), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let pass = simulated.is_some_and(|v| v >= case.low && v <= case.high);
    Ok(Outcome {
        id: case.id,
        file: path.display().to_string(),
        quantity: case.quantity,
        unit: case.unit,
        expected: case.expected,
        low: case.low,
        high: case.high,
        simulated,
        pass,
        role: case.role,
        grade: case.grade,
        expect: case.expect,
        error,
        note: case.note,
        source: case.source,
        tolerance_basis: case.tolerance_basis,
    })
}

fn get_str<'a>(metric: &str, t: &'a toml::Table, key: &str) -> Result<&'a str, ValidateError> {
    t.get(key)
        .and_then(|v| v.as_str())
        .ok_or_else(|| metric_err(metric, format!("input `{key}` (a string) is missing")))
}

fn get_f64(metric: &str, t: &toml::Table, key: &str) -> Result<f64, ValidateError> {
    match t.get(key) {
        Some(toml::Value::Float(x)) => Ok(*x),
        Some(toml::Value::Integer(i)) => Ok(*i as f64),
        _ => Err(metric_err(
            metric,
            format!("input `{key}` (a number) is missing"),
        )),
    }
}

fn site(metric: &str, t: &toml::Table) -> Result<Site, ValidateError> {
    let s = get_str(metric, t, "site")?;
    Site::from_name(s).ok_or_else(|| metric_err(metric, format!("unknown site {s:?}")))
}

/// A scenario given inline as `[inputs.scenario]`, validated like a file.
fn inline_scenario(metric: &str, t: &toml::Table) -> Result<scenario::Scenario, ValidateError> {
    let table = t
        .get("scenario")
        .and_then(|v| v.as_table())
        .ok_or_else(|| metric_err(metric, "input table `scenario` is missing"))?;
    let raw: ScenarioFile = toml::Value::Table(table.clone())
        .try_into()
        .map_err(|e: toml::de::Error| metric_err(metric, e.to_string()))?;
    scenario::validate(&raw, "inputs.scenario").map_err(|e| metric_err(metric, e.to_string()))
}

/// Skin thickness (epidermis + dermis) of a site, in mm; `sex = "mixed"` averages both sexes.
fn thickness_mm(
    metric: &str,
    t: &toml::Table,
    f: impl Fn(&skin::SkinColumn) -> f64,
) -> Result<f64, ValidateError> {
    let site = site(metric, t)?;
    let age = get_f64(metric, t, "age_years")?;
    let sexes: Vec<Sex> = match get_str(metric, t, "sex")? {
        "female" => vec![Sex::Female],
        "male" => vec![Sex::Male],
        "mixed" => vec![Sex::Female, Sex::Male],
        s => {
            return Err(metric_err(
                metric,
                format!("sex {s:?}: use female, male or mixed"),
            ));
        }
    };
    let mut sum = 0.0;
    for sex in &sexes {
        let col = skin::column(
            site,
            &Person {
                age_years: age,
                sex: *sex,
                phototype: 3,
            },
            &ThicknessOverrides::default(),
        )
        .map_err(|e| metric_err(metric, e.to_string()))?;
        sum += f(&col);
    }
    Ok(sum / sexes.len() as f64)
}

/// Realised mean channel depth of the first zone of a scenario, m.
fn realised_mean_depth(metric: &str, s: &scenario::Scenario) -> Result<f64, ValidateError> {
    let run = crate::pipeline::run_punctures(s).map_err(|e| metric_err(metric, e.to_string()))?;
    let (_, ch, ..) = run
        .sets
        .first()
        .ok_or_else(|| metric_err(metric, "the scenario has no zone"))?;
    if ch.channels.is_empty() {
        return Err(metric_err(metric, "no channels in the first zone"));
    }
    Ok(ch.channels.iter().map(|c| c.depth_m).sum::<f64>() / ch.channels.len() as f64)
}

/// The metric names [`evaluate`] handles itself (models add theirs in [`metric_names`]).
pub const METRICS: &[&str] = &[
    "skin.skin_thickness_mm",
    "skin.stratum_corneum_um",
    "skin.dermis_thinning_fraction",
    "punctures.density_per_cm2",
    "punctures.rate_per_s",
    "injury.mean_depth_um",
    "injury.depth_slope_mm_per_mm",
];

/// Every metric name [`evaluate`] knows: the ones above and each model's own list.
pub fn metric_names() -> Vec<&'static str> {
    METRICS
        .iter()
        .chain(crate::healing::validation::METRICS)
        .chain(crate::delivery::validate::METRICS)
        .copied()
        .collect()
}

/// Evaluates a metric on its inputs.
pub fn evaluate(metric: &str, t: &toml::Table) -> Result<f64, ValidateError> {
    match metric {
        "healing.collagen_content_ratio" => {
            let site = site(metric, t)?;
            let sex = match get_str(metric, t, "sex")? {
                "male" => Sex::Male,
                _ => Sex::Female,
            };
            crate::healing::validation::collagen_content_ratio(
                site,
                sex,
                get_f64(metric, t, "age_from")?,
                get_f64(metric, t, "age_to")?,
            )
            .map_err(|e| metric_err(metric, e))
        }
        m if m.starts_with("healing.") => {
            let s = inline_scenario(metric, t)?;
            let day = get_f64(metric, t, "day")?;
            let punct = crate::pipeline::run_punctures(&s)
                .map_err(|e| metric_err(metric, e.to_string()))?;
            crate::healing::validation::evaluate_prepared(
                m,
                &s,
                &punct,
                day,
                &crate::healing::HealingParams::default(),
            )
            .map_err(|e| metric_err(metric, e))
        }
        "skin.skin_thickness_mm" => thickness_mm(metric, t, |c| c.skin_thickness_m() * 1e3),
        "skin.stratum_corneum_um" => thickness_mm(metric, t, |c| {
            c.layer(LayerKind::StratumCorneum).thickness_m * 1e6
        }),
        "skin.dermis_thinning_fraction" => {
            let (a0, a1) = (
                get_f64(metric, t, "age_from")?,
                get_f64(metric, t, "age_to")?,
            );
            let dermis = |age: f64| {
                let mut t2 = t.clone();
                t2.insert("age_years".into(), toml::Value::Float(age));
                thickness_mm(metric, &t2, |c| {
                    c.layer(LayerKind::PapillaryDermis).thickness_m
                        + c.layer(LayerKind::ReticularDermis).thickness_m
                })
            };
            Ok(1.0 - dermis(a1)? / dermis(a0)?)
        }
        "punctures.density_per_cm2" => {
            let s = inline_scenario(metric, t)?;
            let run = crate::pipeline::run_punctures(&s)
                .map_err(|e| metric_err(metric, e.to_string()))?;
            run.report
                .zones
                .first()
                .map(|z| z.density_per_cm2)
                .ok_or_else(|| metric_err(metric, "the scenario has no zone"))
        }
        "punctures.rate_per_s" => {
            let s = inline_scenario(metric, t)?;
            let z = s
                .zones
                .first()
                .ok_or_else(|| metric_err(metric, "the scenario has no zone"))?;
            Ok(crate::device::puncture_rate_hz(&z.device, &s.technique))
        }
        "injury.mean_depth_um" => {
            let s = inline_scenario(metric, t)?;
            Ok(realised_mean_depth(metric, &s)? * 1e6)
        }
        "injury.depth_slope_mm_per_mm" => {
            // Slope of the realised mean depth between two pen depth settings.
            let s = inline_scenario(metric, t)?;
            let (d0, d1) = (
                get_f64(metric, t, "depth_from_mm")?,
                get_f64(metric, t, "depth_to_mm")?,
            );
            if (d1 - d0).abs() < 1e-9 {
                return Err(metric_err(
                    metric,
                    "depth_from_mm and depth_to_mm must differ",
                ));
            }
            let at = |d_mm: f64| {
                let mut s2 = s.clone();
                for z in &mut s2.zones {
                    if let crate::device::Device::Pen(p) = &mut z.device {
                        p.needle.length_m = d_mm * 1e-3;
                    }
                }
                realised_mean_depth(metric, &s2)
            };
            Ok((at(d1)? - at(d0)?) * 1e3 / (d1 - d0))
        }
        m if m.starts_with("delivery.") => {
            crate::delivery::validate::evaluate(m, t).map_err(|e| metric_err(m, e))
        }
        other => Err(metric_err(
            other,
            format!("unknown metric; known: {}", metric_names().join(", ")),
        )),
    }
}

/// The outcomes as a Markdown table.
pub fn markdown_table(outcomes: &[Outcome]) -> String {
    let mut s = String::from(
        "| case | quantity | published | simulated | accepted range | result | role | grade | note |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for o in outcomes {
        let sim = match (o.simulated, &o.error) {
            (Some(v), _) => format!("{} {}", fmt_num(v), o.unit),
            (None, Some(e)) => format!("error: {e}"),
            (None, None) => "-".into(),
        };
        s.push_str(&format!(
            "| {} | {} | {} {} | {} | {}-{} | {} | {:?} | {} | {} |\n",
            o.id,
            o.quantity,
            fmt_num(o.expected),
            o.unit,
            sim,
            fmt_num(o.low),
            fmt_num(o.high),
            if o.pass { "pass" } else { "**fail**" },
            o.role,
            o.grade,
            o.note.replace('\n', " ").replace('|', "/")
        ));
    }
    s
}

fn fmt_num(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}
