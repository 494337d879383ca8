//! Validation against published measurements.
//!
//! Each case is a TOML file under `validation/` holding the published value, its tolerance, its
//! source and grade, the *metric* the model computes for it and the metric's inputs. The runner
//! evaluates every case and reports measured vs simulated with pass/fail; failing cases are kept
//! and reported with the reason in their `note`, never loosened.
//!
//! The reviewed outcome of every case lives in one place, the baseline (`validation/baseline.json`,
//! [`Baseline`]): a case that passed there and fails now is a regression ([`Status::Regressed`]);
//! a case that never passed is open ([`Status::Open`]); a case that passes for the first time is
//! reported so the baseline can be updated after review ([`Status::NowPasses`]).
//!
//! Metrics are plain functions of the case's `[inputs]` table; adding a model means adding a
//! metric to [`evaluate`].

pub mod delivery;
pub mod hair;
pub mod healing;

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::input::scenario::ScenarioFile;
use crate::scenario::Scenario;
use crate::skin::{self, LayerKind, Person, Sex, Site, ThicknessOverrides};

/// What a case is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// An independent check of the model (a measurement the model's inputs or tables were not
    /// built from, but not a forecast of a treatment's outcome: skin tables, devices, transport).
    Validation,
    /// An out-of-sample prediction: no parameter was fitted to this measurement or its cohort,
    /// and the model forecasts what was measured. Counted separately (`Counts::predictions_*`).
    Prediction,
    /// A case a parameter was fitted to; passing it shows the fit, not the model's truth.
    Calibration,
    /// A formula or kinematics check (the value follows from definitions).
    Check,
}

/// The part of the model a case exercises (derived from its metric's prefix).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// Skin columns: layer thicknesses, age and sex rules (`skin.*`).
    Skin,
    /// Devices: puncture maps and rates (`punctures.*`).
    Devices,
    /// Injury: realised channel depths (`injury.*`).
    Injury,
    /// Transport and delivery: permeability, closure, delivered amounts (`delivery.*`).
    Delivery,
    /// Healing: the cascade after needling and its outcomes (`healing.*`).
    Healing,
    /// Hair: scalp follicles, their cycle, minoxidil and needling (`hair.*`).
    Hair,
}

impl Part {
    /// All parts, in pipeline order.
    pub const ALL: [Part; 6] = [
        Part::Skin,
        Part::Devices,
        Part::Injury,
        Part::Delivery,
        Part::Healing,
        Part::Hair,
    ];

    /// The part of a metric name, from its prefix.
    pub fn of_metric(metric: &str) -> Option<Part> {
        match metric.split('.').next()? {
            "skin" => Some(Part::Skin),
            "punctures" => Some(Part::Devices),
            "injury" => Some(Part::Injury),
            "delivery" => Some(Part::Delivery),
            "healing" => Some(Part::Healing),
            "hair" => Some(Part::Hair),
            _ => None,
        }
    }

    /// Name as written in files and flags.
    pub fn name(self) -> &'static str {
        match self {
            Part::Skin => "skin",
            Part::Devices => "devices",
            Part::Injury => "injury",
            Part::Delivery => "delivery",
            Part::Healing => "healing",
            Part::Hair => "hair",
        }
    }

    /// What the part covers, for reports.
    pub fn label(self) -> &'static str {
        match self {
            Part::Skin => "skin columns",
            Part::Devices => "devices (puncture maps)",
            Part::Injury => "injury (channel depths)",
            Part::Delivery => "transport and delivery",
            Part::Healing => "healing and outcomes",
            Part::Hair => "hair growth (scalp)",
        }
    }
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
    /// Published dispersion of the measurement (SD, CI or range, with n), as the source gives
    /// it; empty when none was published.
    #[serde(default)]
    pub dispersion: String,
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
    /// Calibration cases: which parameter(s) were fitted to this case (the parameter registry's
    /// names where there is one). Listed in `docs/VALIDATION.md`, "Calibration, prediction and
    /// check".
    #[serde(default)]
    pub fitted: Option<String>,
    /// Name of the metric (see [`evaluate`]).
    pub metric: String,
    /// Inputs of the metric.
    #[serde(default)]
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    pub inputs: toml::Table,
}

/// The result of one case.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct CaseOutcome {
    pub id: String,
    /// Case file, relative to the validation folder.
    pub file: String,
    pub part: Part,
    pub quantity: String,
    pub unit: String,
    pub expected: f64,
    /// Published dispersion (empty when none was published).
    pub dispersion: String,
    pub low: f64,
    pub high: f64,
    /// Simulated value (nominal parameters).
    pub simulated: Option<f64>,
    /// 5-95 % band of the simulated value over the model's parameter samples, where the metric
    /// has one (healing outcomes).
    pub band: Option<[f64; 2]>,
    /// Simulated value within the accepted range.
    pub pass: bool,
    /// Compared with the baseline (see [`apply_baseline`]); before that, pass or open.
    pub status: Status,
    /// Simulated value recorded in the baseline.
    pub baseline_simulated: Option<f64>,
    pub role: Role,
    pub grade: String,
    /// Error message when the metric could not be evaluated.
    pub error: Option<String>,
    pub note: String,
    pub source: String,
    pub tolerance_basis: String,
    /// Parameter(s) fitted to the case (calibration cases that say so).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fitted: Option<String>,
}

/// A case's result compared with the baseline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Passes, as in the baseline.
    Pass,
    /// Fails and never passed (open in the baseline, or new): reported with its reason, does not
    /// fail the run.
    Open,
    /// Passed in the baseline and fails now: fails the run.
    Regressed,
    /// Passes now but is open in the baseline (or new): update the baseline after review.
    NowPasses,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Open => "open",
            Status::Regressed => "REGRESSED",
            Status::NowPasses => "now passes",
        }
    }
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

/// Loads one case file and checks it ([`check_case`]): a case with broken values or inputs is an
/// error, never an open case.
pub fn load_case(path: &Path) -> Result<Case, ValidateError> {
    let text = std::fs::read_to_string(path).map_err(|source| ValidateError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let case: Case = toml::from_str(&text).map_err(|e| ValidateError::Case {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    check_case(&case).map_err(|message| ValidateError::Case {
        path: path.display().to_string(),
        message,
    })?;
    Ok(case)
}

/// The evidence grades a case may have (validation/README.md): A and P primary, B and S
/// secondary, C and W weak (never targets: such a case can only be a `check`). A grade may
/// carry a qualifier in parentheses, e.g. `A (animal)`.
pub const GRADES: &[&str] = &["A", "P", "B", "S", "C", "W"];

/// Checks a case's own values: `expected`, `low` and `high` finite and ordered
/// (`low <= expected <= high`), a known grade (C/W only for `check` cases), a known metric, and
/// its `[inputs]` ([`check_inputs`]).
pub fn check_case(case: &Case) -> Result<(), String> {
    for (name, v) in [
        ("expected", case.expected),
        ("low", case.low),
        ("high", case.high),
    ] {
        if !v.is_finite() {
            return Err(format!("`{name}` = {v} must be a finite number"));
        }
    }
    if case.low > case.high {
        return Err(format!(
            "low {} must not exceed high {}",
            case.low, case.high
        ));
    }
    if case.expected < case.low || case.expected > case.high {
        return Err(format!(
            "the published value `expected` = {} lies outside the accepted range low {} - high {}; the range must contain it",
            case.expected, case.low, case.high
        ));
    }
    let grade = case.grade.trim();
    let letter = grade.split_whitespace().next().unwrap_or("");
    let qualifier_ok = grade[letter.len()..].trim().is_empty()
        || (grade[letter.len()..].trim().starts_with('(') && grade.ends_with(')'));
    if !GRADES.contains(&letter) || !qualifier_ok {
        return Err(format!(
            "grade {:?} is not an evidence grade; allowed: {} (optionally with a qualifier in parentheses, e.g. \"A (animal)\")",
            crate::input::shorten(&case.grade),
            GRADES.join(", ")
        ));
    }
    if matches!(letter, "C" | "W") && case.role != Role::Check {
        return Err(format!(
            "grade {letter} sources are never targets: a {letter}-grade case can only have role = \"check\" (it has role = {:?})",
            case.role
        ));
    }
    // A metric of no model part is reported by the runner (`run_dir` refuses it; a single
    // `run_case` shows it as the case's error); one of a known part must be a known metric.
    if Part::of_metric(&case.metric).is_none() {
        return Ok(());
    }
    if !metric_names().contains(&case.metric.as_str()) {
        return Err(format!(
            "metric `{}` is not known; known metrics: {}",
            crate::input::shorten(&case.metric),
            metric_names().join(", ")
        ));
    }
    check_inputs(&case.metric, &case.inputs).map_err(|e| format!("[inputs] {e}"))
}

/// What a metric input must be.
#[derive(Clone, Copy, Debug)]
enum InputKind {
    /// A finite number within the range.
    Num(f64, f64),
    /// A whole number within the range.
    Int(i64, i64),
    /// One of these strings.
    Choice(&'static [&'static str]),
    /// An anatomical site name.
    Site,
    /// A compound of the built-in library.
    Compound,
    /// An inline scenario (`[inputs.scenario]`), valid as a scenario file.
    Scenario,
    /// An inline scenario with a valid `[delivery]` section.
    DeliveryScenario,
}

/// One input of a metric: name, kind, required.
type InputKey = (&'static str, InputKind, bool);

const AGE: InputKind = InputKind::Num(18.0, 100.0);
const SEX_MIXED: InputKind = InputKind::Choice(&["female", "male", "mixed"]);
const DAY_OF_FOLLOW_UP: InputKind = InputKind::Num(0.0, 730.0);

/// The keys of a scalp case: the person and the grade of androgenetic alopecia, then with
/// `arm` the trial arm (needling, PRP and a product), then any further keys.
macro_rules! hair_keys {
    // `arm` first: an identifier would also match `expr`.
    (arm $(, $extra:expr)* $(,)?) => {
        hair_keys![
            ("needle_mm", InputKind::Num(0.0, 2.5), false),
            ("device", InputKind::Choice(&["pen", "roller"]), false),
            ("passes", InputKind::Int(1, 30), false),
            ("sessions", InputKind::Int(0, 52), false),
            ("interval_days", InputKind::Num(1.0, 90.0), false),
            ("prp", InputKind::Choice(&["yes", "no"]), false),
            (
                "product",
                InputKind::Choice(&["none", "minoxidil_5_solution"]),
                false,
            ),
            ("applications_per_day", InputKind::Int(1, 4), false),
            ("delay_after_needling_h", InputKind::Num(0.0, 168.0), false),
            $($extra),*
        ]
    };
    ($($extra:expr),* $(,)?) => {
        &[
            ("sex", InputKind::Choice(&["female", "male"]), true),
            ("age_years", AGE, true),
            ("phototype", InputKind::Int(1, 6), false),
            (
                "alopecia_scale",
                InputKind::Choice(&["none", "norwood", "ludwig"]),
                true,
            ),
            ("alopecia_grade", InputKind::Int(0, 7), true),
            $($extra),*
        ]
    };
}

/// A scalp: the person and the grade of androgenetic alopecia.
const HAIR_PERSON: &[InputKey] = hair_keys![];

/// A trial arm on the scalp: the person, needling, PRP and a product.
const HAIR_ARM: &[InputKey] = hair_keys![arm];

/// A trial arm read at a day.
const HAIR_ARM_DAY: &[InputKey] = hair_keys![arm, ("day", DAY_OF_FOLLOW_UP, true)];

/// The inputs each metric takes (every name in [`metric_names`] has an entry; a test checks it).
fn metric_inputs(metric: &str) -> Option<&'static [InputKey]> {
    use InputKind::*;
    Some(match metric {
        "skin.skin_thickness_mm" | "skin.stratum_corneum_um" => &[
            ("site", Site, true),
            ("sex", SEX_MIXED, true),
            ("age_years", AGE, true),
        ],
        "skin.dermis_thinning_fraction" => &[
            ("site", Site, true),
            ("sex", SEX_MIXED, true),
            ("age_from", AGE, true),
            ("age_to", AGE, true),
        ],
        "healing.collagen_content_ratio" => &[
            ("site", Site, true),
            ("sex", Choice(&["female", "male"]), true),
            ("age_from", AGE, true),
            ("age_to", AGE, true),
        ],
        "punctures.density_per_cm2" | "punctures.rate_per_s" | "injury.mean_depth_um" => {
            &[("scenario", Scenario, true)]
        }
        "injury.depth_slope_mm_per_mm" => &[
            ("scenario", Scenario, true),
            ("depth_from_mm", Num(0.1, 3.5), true),
            ("depth_to_mm", Num(0.1, 3.5), true),
        ],
        m if m.starts_with("healing.") && healing::METRICS.contains(&m) => &[
            ("scenario", Scenario, true),
            ("day", DAY_OF_FOLLOW_UP, true),
        ],
        "delivery.log_kp_cm_h" => &[
            ("log_kow", Num(-10.0, 10.0), true),
            ("mw_g_mol", Num(1.0, 1e7), true),
            ("model", Choice(&["potts_guy_1992", "refit_2023"]), false),
        ],
        "delivery.barrier_recovery_h" => &[
            ("occlusion", Choice(&["none", "serum", "patch"]), true),
            ("depth_um", Num(1.0, 5000.0), true),
            ("age_years", AGE, true),
            ("phototype", Int(1, 6), true),
        ],
        "delivery.tissue_diffusivity_um2_s" => &[
            ("compound", Compound, true),
            ("layer", Choice(&["viable_epidermis", "dermis"]), true),
        ],
        "delivery.enhancement_ratio" => &[
            ("scenario", DeliveryScenario, true),
            (
                "quantity",
                Choice(&[
                    "receptor_blood",
                    "reached_dermis",
                    "held_in_viable_skin",
                    "endpoint",
                ]),
                true,
            ),
            ("at_h", Num(0.0, 336.0), false),
        ],
        "delivery.time_to_steady_h" => &[("scenario", DeliveryScenario, true)],
        "hair.density_per_cm2" | "hair.anagen_fraction" | "hair.kenogen_fraction" => HAIR_PERSON,
        "hair.absorbed_fraction" => HAIR_ARM,
        "hair.wnt_peak_day" => HAIR_ARM,
        "hair.count_change_per_cm2" | "hair.diameter_change_um" => HAIR_ARM_DAY,
        "delivery.onset_ratio" => &[("scenario", DeliveryScenario, true)],
        _ => return None,
    })
}

/// Checks a metric's `[inputs]`: no unknown key, every required key present, each value of the
/// right kind and within range (an inline scenario is validated like a scenario file).
pub fn check_inputs(metric: &str, t: &toml::Table) -> Result<(), String> {
    let spec = metric_inputs(metric).ok_or_else(|| format!("metric `{metric}` is not known"))?;
    let names = || {
        spec.iter()
            .map(|(n, ..)| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for key in t.keys() {
        if !spec.iter().any(|(n, ..)| n == key) {
            return Err(format!(
                "`{}` is not an input of `{metric}`; its inputs are {}",
                crate::input::shorten(key),
                names()
            ));
        }
    }
    for &(name, kind, required) in spec {
        let Some(v) = t.get(name) else {
            if required {
                return Err(format!("`{name}` is missing; `{metric}` needs {}", names()));
            }
            continue;
        };
        let shown = crate::input::shorten(&v.to_string());
        let bad = |what: String| Err(format!("`{name}` = {shown}: {what}"));
        match kind {
            InputKind::Num(lo, hi) => {
                let x = match v {
                    toml::Value::Float(x) => *x,
                    toml::Value::Integer(i) => *i as f64,
                    _ => return bad("must be a number".into()),
                };
                if !(x.is_finite() && (lo..=hi).contains(&x)) {
                    return bad(format!("must be a finite number within {lo}-{hi}"));
                }
            }
            InputKind::Int(lo, hi) => match v {
                toml::Value::Integer(i) if (lo..=hi).contains(i) => {}
                _ => return bad(format!("must be a whole number within {lo}-{hi}")),
            },
            InputKind::Choice(allowed) => match v.as_str() {
                Some(s) if allowed.contains(&s) => {}
                _ => return bad(format!("allowed: {}", allowed.join(", "))),
            },
            InputKind::Site => {
                if v.as_str().and_then(Site::from_name).is_none() {
                    let all: Vec<_> = Site::ALL.iter().map(|s| s.name()).collect();
                    return bad(format!("is not a known site; allowed: {}", all.join(", ")));
                }
            }
            InputKind::Compound => {
                let known = v.as_str().is_some_and(|s| {
                    crate::delivery::compounds::Library::builtin()
                        .compound(s)
                        .is_ok()
                });
                if !known {
                    return bad(
                        "is not a compound of the built-in library (data/compounds.toml)".into(),
                    );
                }
            }
            InputKind::Scenario | InputKind::DeliveryScenario => {
                let Some(table) = v.as_table() else {
                    return Err(format!("`{name}` must be a table ([inputs.{name}])"));
                };
                let text = toml::to_string(table).map_err(|e| e.to_string())?;
                let checked = if matches!(kind, InputKind::DeliveryScenario) {
                    crate::input::delivery::parse(&text, "inputs.scenario").map(|_| ())
                } else {
                    crate::input::parse(&text, "inputs.scenario").map(|_| ())
                };
                checked.map_err(|e| e.to_string())?;
            }
        }
    }
    Ok(())
}

/// Where `needlesim validate` writes its Markdown table when `--markdown` is not given: the
/// repository's `docs/VALIDATION.md`, and only when run at the repository root (`root` holds
/// `Cargo.toml`, `docs/` and `validation/baseline.json`) on the repository's own cases
/// (`dir` is `root/validation`). Anywhere else it writes none, rather than create or overwrite a
/// `docs/VALIDATION.md` that is not the project's.
pub fn default_markdown(root: &Path, dir: &Path) -> Option<PathBuf> {
    let at_root = root.join("Cargo.toml").is_file()
        && root.join("docs").is_dir()
        && root.join("validation").join("baseline.json").is_file();
    let canon = |p: &Path| std::fs::canonicalize(p).ok();
    let own_cases =
        canon(&root.join(dir)).is_some_and(|d| Some(d) == canon(&root.join("validation")));
    (at_root && own_cases).then(|| root.join("docs").join("VALIDATION.md"))
}

/// Runs one case (its file path is kept as given).
pub fn run_case(path: &Path) -> Result<CaseOutcome, ValidateError> {
    let case = load_case(path)?;
    Ok(evaluate_case(case, path, None))
}

fn relative(path: &Path, dir: Option<&Path>) -> String {
    dir.and_then(|d| path.strip_prefix(d).ok())
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

fn evaluate_case(case: Case, path: &Path, dir: Option<&Path>) -> CaseOutcome {
    let (simulated, band, error) = match evaluate_banded(&case.metric, &case.inputs) {
        Ok((v, b)) => (Some(v), b, None),
        Err(e) => (None, None, Some(e.to_string())),
    };
    let pass = simulated.is_some_and(|v| v >= case.low && v <= case.high);
    CaseOutcome {
        id: case.id,
        file: relative(path, dir),
        part: Part::of_metric(&case.metric).unwrap_or(Part::Skin),
        quantity: case.quantity,
        unit: case.unit,
        expected: case.expected,
        dispersion: case.dispersion,
        low: case.low,
        high: case.high,
        simulated,
        band,
        pass,
        status: if pass { Status::Pass } else { Status::Open },
        baseline_simulated: None,
        role: case.role,
        grade: case.grade,
        error,
        note: case.note,
        source: case.source,
        tolerance_basis: case.tolerance_basis,
        fitted: case.fitted,
    }
}

/// Which cases to run: a case is selected when any pattern occurs (case-insensitive) in its id,
/// its file path relative to the validation folder, or its model part; no pattern selects all.
pub fn selected(patterns: &[String], id: &str, file: &str, part: Part) -> bool {
    patterns.is_empty()
        || patterns.iter().any(|p| {
            let p = p.to_lowercase();
            id.to_lowercase().contains(&p)
                || file.to_lowercase().contains(&p)
                || part.name().contains(&p)
        })
}

/// Loads every case under `dir`, keeps those matching `filter` (see [`selected`]) and evaluates
/// them in file order. `progress(done, total, id)` is called before each case and once at the
/// end (`done == total`). Duplicate ids and unreadable case files are errors.
pub fn run_dir(
    dir: &Path,
    filter: &[String],
    progress: &mut dyn FnMut(usize, usize, &str),
) -> Result<Vec<CaseOutcome>, ValidateError> {
    let mut cases = Vec::new();
    let mut ids = std::collections::BTreeMap::new();
    for f in find_cases(dir)? {
        let case = load_case(&f)?;
        if let Some(other) = ids.insert(case.id.clone(), f.clone()) {
            return Err(ValidateError::Case {
                path: f.display().to_string(),
                message: format!(
                    "id `{}` is also used by `{}`; every case needs its own id",
                    case.id,
                    other.display()
                ),
            });
        }
        if Part::of_metric(&case.metric).is_none() {
            return Err(ValidateError::Case {
                path: f.display().to_string(),
                message: format!(
                    "metric `{}` has no known model part; known metrics: {}",
                    case.metric,
                    metric_names().join(", ")
                ),
            });
        }
        let part = Part::of_metric(&case.metric).unwrap_or(Part::Skin);
        if selected(filter, &case.id, &relative(&f, Some(dir)), part) {
            cases.push((case, f));
        }
    }
    let total = cases.len();
    let mut out = Vec::with_capacity(total);
    for (i, (case, f)) in cases.into_iter().enumerate() {
        progress(i, total, &case.id);
        out.push(evaluate_case(case, &f, Some(dir)));
    }
    progress(total, total, "");
    Ok(out)
}

// ----------------------------------------------------------------------------------------------
// Baseline
// ----------------------------------------------------------------------------------------------

/// Reviewed status of a case in the baseline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BaselineStatus {
    Pass,
    Open,
}

/// One case in the baseline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BaselineEntry {
    pub part: Part,
    pub status: BaselineStatus,
    /// Simulated value when the baseline was written (for information; the status decides).
    pub simulated: Option<f64>,
}

/// The reviewed outcome of every case: the single source of truth for regressions. Written by
/// `needlesim validate --update-baseline` after a change has been reviewed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    #[serde(default)]
    pub comment: String,
    /// Cases by id.
    pub cases: std::collections::BTreeMap<String, BaselineEntry>,
}

/// The baseline committed with this build (`validation/baseline.json`), for the validation
/// status shown in reports.
pub const STORED_BASELINE: &str = include_str!("../../../../validation/baseline.json");

impl Baseline {
    /// Reads a baseline file.
    pub fn load(path: &Path) -> Result<Baseline, ValidateError> {
        let text = std::fs::read_to_string(path).map_err(|source| ValidateError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Baseline::parse(&text).map_err(|message| ValidateError::Case {
            path: path.display().to_string(),
            message,
        })
    }

    /// Parses a baseline from JSON.
    pub fn parse(text: &str) -> Result<Baseline, String> {
        serde_json::from_str(text).map_err(|e| format!("not a validation baseline: {e}"))
    }

    /// The baseline built into this binary.
    pub fn stored() -> Baseline {
        // A test checks the committed file parses; fall back to empty rather than panic.
        Baseline::parse(STORED_BASELINE).unwrap_or_default()
    }

    /// This baseline with the outcomes' results written in (other cases kept, so a filtered
    /// run updates only its cases). Cases listed in `removed` are dropped.
    pub fn updated(&self, outcomes: &[CaseOutcome], removed: &[String]) -> Baseline {
        let mut b = self.clone();
        b.comment = BASELINE_COMMENT.into();
        for id in removed {
            b.cases.remove(id);
        }
        for o in outcomes {
            b.cases.insert(
                o.id.clone(),
                BaselineEntry {
                    part: o.part,
                    status: if o.pass {
                        BaselineStatus::Pass
                    } else {
                        BaselineStatus::Open
                    },
                    simulated: o.simulated.map(round_sig),
                },
            );
        }
        b
    }

    /// The baseline as pretty JSON (one case per line group, sorted by id).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// Passing and open case ids per part, for the parts given (all parts when empty).
    pub fn by_part(&self, parts: &[Part]) -> Vec<PartStatus> {
        Part::ALL
            .iter()
            .filter(|p| parts.is_empty() || parts.contains(p))
            .map(|&part| {
                let ids = |st: BaselineStatus| -> Vec<String> {
                    self.cases
                        .iter()
                        .filter(|(_, e)| e.part == part && e.status == st)
                        .map(|(id, _)| id.clone())
                        .collect()
                };
                PartStatus {
                    part,
                    pass: ids(BaselineStatus::Pass),
                    open: ids(BaselineStatus::Open),
                }
            })
            .collect()
    }
}

const BASELINE_COMMENT: &str = "Reviewed outcome of every validation case (status pass or open). `needlesim validate` fails when a case that passes here fails; change this file only with `needlesim validate --update-baseline` after reviewing why a case moved.";

fn round_sig(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let mag = 10f64.powi(5 - v.abs().log10().floor() as i32);
    (v * mag).round() / mag
}

/// Validation status of one model part.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
pub struct PartStatus {
    pub part: Part,
    pub pass: Vec<String>,
    pub open: Vec<String>,
}

impl PartStatus {
    /// The row of the reports' validation status table.
    pub fn row(&self) -> crate::report::html::StatusRow {
        crate::report::html::StatusRow {
            label: self.part.label().into(),
            pass: self.pass.clone(),
            open: self.open.clone(),
        }
    }
}

/// The validation status rows of the parts a run used, from the reviewed baseline built into
/// this version.
pub fn status_rows(parts: &[Part]) -> Vec<crate::report::html::StatusRow> {
    Baseline::stored()
        .by_part(parts)
        .iter()
        .map(PartStatus::row)
        .collect()
}

/// Sets each outcome's [`Status`] from the baseline. Returns the ids in the baseline that no
/// outcome has (cases removed or renamed), which matter only for an unfiltered run.
pub fn apply_baseline(outcomes: &mut [CaseOutcome], baseline: &Baseline) -> Vec<String> {
    for o in outcomes.iter_mut() {
        let entry = baseline.cases.get(&o.id);
        o.baseline_simulated = entry.and_then(|e| e.simulated);
        let was_pass = entry.is_some_and(|e| e.status == BaselineStatus::Pass);
        o.status = match (was_pass, o.pass) {
            (true, true) => Status::Pass,
            (true, false) => Status::Regressed,
            (false, true) => Status::NowPasses,
            (false, false) => Status::Open,
        };
    }
    baseline
        .cases
        .keys()
        .filter(|id| !outcomes.iter().any(|o| &o.id == *id))
        .cloned()
        .collect()
}

/// The results of a run, as written to `validation.json`.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct ValidationReport {
    pub schema_version: String,
    pub needlesim_version: String,
    /// Filter patterns of the run (empty: every case).
    pub filter: Vec<String>,
    pub counts: Counts,
    pub by_part: Vec<PartStatus>,
    pub cases: Vec<CaseOutcome>,
}

/// How many cases ended in each status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, JsonSchema)]
pub struct Counts {
    pub total: usize,
    pub pass: usize,
    pub open: usize,
    pub regressed: usize,
    pub now_passes: usize,
    /// Cases with role `prediction` (out-of-sample predictions) and how many of them pass
    /// (pass or newly passing).
    pub predictions: usize,
    pub predictions_pass: usize,
}

impl ValidationReport {
    pub fn new(outcomes: Vec<CaseOutcome>, filter: &[String]) -> ValidationReport {
        let mut counts = Counts {
            total: outcomes.len(),
            ..Counts::default()
        };
        for o in &outcomes {
            match o.status {
                Status::Pass => counts.pass += 1,
                Status::Open => counts.open += 1,
                Status::Regressed => counts.regressed += 1,
                Status::NowPasses => counts.now_passes += 1,
            }
            if o.role == Role::Prediction {
                counts.predictions += 1;
                if matches!(o.status, Status::Pass | Status::NowPasses) {
                    counts.predictions_pass += 1;
                }
            }
        }
        let by_part = Part::ALL
            .iter()
            .map(|&part| {
                let ids = |f: &dyn Fn(&CaseOutcome) -> bool| -> Vec<String> {
                    outcomes
                        .iter()
                        .filter(|o| o.part == part && f(o))
                        .map(|o| o.id.clone())
                        .collect()
                };
                PartStatus {
                    part,
                    pass: ids(&|o| o.pass),
                    open: ids(&|o| !o.pass),
                }
            })
            .filter(|p| !p.pass.is_empty() || !p.open.is_empty())
            .collect();
        ValidationReport {
            schema_version: crate::SCHEMA_VERSION.into(),
            needlesim_version: env!("CARGO_PKG_VERSION").into(),
            filter: filter.to_vec(),
            counts,
            by_part,
            cases: outcomes,
        }
    }
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
fn inline_scenario(metric: &str, t: &toml::Table) -> Result<Scenario, ValidateError> {
    let table = t
        .get("scenario")
        .and_then(|v| v.as_table())
        .ok_or_else(|| metric_err(metric, "input table `scenario` is missing"))?;
    let raw: ScenarioFile = toml::Value::Table(table.clone())
        .try_into()
        .map_err(|e: toml::de::Error| metric_err(metric, e.to_string()))?;
    crate::input::validate(&raw, "inputs.scenario").map_err(|e| metric_err(metric, e.to_string()))
}

/// A scenario with a `[delivery]` section given inline as `[inputs.scenario]`.
fn inline_delivery(
    metric: &str,
    t: &toml::Table,
) -> Result<(Scenario, crate::delivery::run::DeliveryPlan), ValidateError> {
    let table = t
        .get("scenario")
        .and_then(|v| v.as_table())
        .ok_or_else(|| metric_err(metric, "input table `scenario` is missing"))?;
    let text = toml::to_string(table).map_err(|e| metric_err(metric, e.to_string()))?;
    crate::input::delivery::parse(&text, "inputs.scenario")
        .map_err(|e| metric_err(metric, e.to_string()))
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

/// Stage 1 of the study pipeline for every zone of a scenario: punctures -> channels.
fn zones(metric: &str, s: &Scenario) -> Result<crate::pipeline::PuncturesRun, ValidateError> {
    crate::pipeline::stages::punctures(
        s,
        &crate::progress::silent,
        &mut crate::timings::Timings::default(),
    )
    .map_err(|e| metric_err(metric, e.to_string()))
}

/// Realised mean channel depth of the first zone of a scenario, m.
fn realised_mean_depth(metric: &str, s: &Scenario) -> Result<f64, ValidateError> {
    let run = zones(metric, s)?;
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
        .chain(healing::METRICS)
        .chain(delivery::METRICS)
        .chain(hair::METRICS)
        .copied()
        .collect()
}

/// Evaluates a metric on its inputs: the nominal value and, for metrics that have one (healing
/// outcomes), the 5-95 % band over the scenario's parameter samples.
pub fn evaluate_banded(
    metric: &str,
    t: &toml::Table,
) -> Result<(f64, Option<[f64; 2]>), ValidateError> {
    if metric.starts_with("healing.") && metric != "healing.collagen_content_ratio" {
        let s = inline_scenario(metric, t)?;
        let day = get_f64(metric, t, "day")?;
        let punct = zones(metric, &s)?;
        let b = healing::evaluate_banded(metric, &s, &punct, day, &s.params.healing, None)
            .map_err(|e| metric_err(metric, e))?;
        let band = (b.p5 != b.p95).then_some([b.p5, b.p95]);
        return Ok((b.nominal, band));
    }
    evaluate(metric, t).map(|v| (v, None))
}

/// Evaluates a metric on its inputs (nominal parameters).
pub fn evaluate(metric: &str, t: &toml::Table) -> Result<f64, ValidateError> {
    match metric {
        "healing.collagen_content_ratio" => {
            let site = site(metric, t)?;
            let sex = match get_str(metric, t, "sex")? {
                "male" => Sex::Male,
                _ => Sex::Female,
            };
            healing::collagen_content_ratio(
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
            let punct = zones(metric, &s)?;
            healing::evaluate_prepared(m, &s, &punct, day, &s.params.healing)
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
            let run = zones(metric, &s)?;
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
            let inline = if delivery::SCENARIO_METRICS.contains(&m) {
                Some(inline_delivery(m, t)?)
            } else {
                None
            };
            delivery::evaluate(m, t, inline.as_ref().map(|(s, p)| (s, p)))
                .map_err(|e| metric_err(m, e))
        }
        m if m.starts_with("hair.") => hair::evaluate(m, t).map_err(|e| metric_err(m, e)),
        other => Err(metric_err(
            other,
            format!("unknown metric; known: {}", metric_names().join(", ")),
        )),
    }
}

fn md_cell(s: &str) -> String {
    s.replace('\n', " ").replace('|', "/")
}

/// The simulated value with its band, or the error.
pub fn simulated_text(o: &CaseOutcome) -> String {
    match (o.simulated, &o.error) {
        (Some(v), _) => match o.band {
            Some([lo, hi]) => format!("{} [{}, {}]", fmt_num(v), fmt_num(lo), fmt_num(hi)),
            None => fmt_num(v),
        },
        (None, Some(_)) => "error".into(),
        (None, None) => "-".into(),
    }
}

/// The outcomes as a Markdown table: published value with its dispersion, simulated value with
/// its band, accepted range, status against the baseline, role, grade, source and note (for an
/// open case, the reason).
pub fn markdown_table(outcomes: &[CaseOutcome]) -> String {
    let mut s = String::from(
        "| case | part | quantity | published (dispersion) | simulated [5-95 %] | accepted range | status | role, grade | source | note |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for o in outcomes {
        let published = if o.dispersion.is_empty() {
            format!("{} {}", fmt_num(o.expected), o.unit)
        } else {
            format!("{} {} ({})", fmt_num(o.expected), o.unit, o.dispersion)
        };
        let mut note = o.note.clone();
        if let Some(e) = &o.error {
            note = format!("metric error: {e}. {note}");
        }
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {}-{} ({}) | {} | {:?}, {} | {} | {} |\n",
            o.id,
            o.part.name(),
            md_cell(&o.quantity),
            md_cell(&published),
            simulated_text(o),
            fmt_num(o.low),
            fmt_num(o.high),
            md_cell(&o.tolerance_basis),
            match o.status {
                Status::Pass => "pass".to_string(),
                s => format!("**{}**", s.label()),
            },
            o.role,
            o.grade,
            md_cell(&o.source),
            md_cell(&note)
        ));
    }
    s
}

/// The whole `docs/VALIDATION.md`: a header saying how it was made, the counts per part, and the
/// table.
pub fn markdown(report: &ValidationReport) -> String {
    let mut s = String::from(
        "# Validation\n\nGenerated by `needlesim validate` (default `--markdown docs/VALIDATION.md`) from the case files under `validation/`: each holds the published value and its dispersion, the accepted range and its basis, the source and its evidence grade, and the metric the model computes. Simulated values use the nominal parameters; healing outcomes also show the 5-95 % band over the model's parameter samples. Calibration cases were used to fit a parameter, so passing them shows the fit, not an independent check.\n\nStatus is against the reviewed baseline `validation/baseline.json`: **open** cases never passed and stay in the table with their reason in the note (they do not fail the run); a **REGRESSED** case passed in the baseline and fails now (the run exits non-zero); **now passes** asks for the baseline to be updated (`needlesim validate --update-baseline`) after review.\n\n",
    );
    if !report.filter.is_empty() {
        s.push_str(&format!(
            "Only cases matching `{}` were run.\n\n",
            report.filter.join("`, `")
        ));
    }
    let c = &report.counts;
    s.push_str(&format!(
        "**Out-of-sample predictions: {} of {} pass.** (Role `prediction`: no parameter was fitted to the measurement or its cohort; calibration cases and checks are not counted here.)\n\n{} cases in all: {} pass, {} open, {} regressed, {} newly passing.\n\n| model part | pass | open |\n|---|---|---|\n",
        c.predictions_pass, c.predictions, c.total, c.pass, c.open, c.regressed, c.now_passes
    ));
    let ids = |v: &[String]| {
        if v.is_empty() {
            "0".to_string()
        } else {
            format!("{} ({})", v.len(), v.join(", "))
        }
    };
    for p in &report.by_part {
        s.push_str(&format!(
            "| {} | {} | {} |\n",
            p.part.label(),
            ids(&p.pass),
            ids(&p.open)
        ));
    }
    s.push('\n');
    s.push_str(&roles_table(&report.cases));
    s.push_str(&markdown_table(&report.cases));
    s
}

/// "Calibration, prediction and check": which case fitted which parameter, which cases are
/// predictions (nothing was fitted to them) and which are formula checks.
fn roles_table(cases: &[CaseOutcome]) -> String {
    let mut s = String::from(
        "## Calibration, prediction and check\n\nA **calibration** case had a parameter fitted to it (passing shows the fit); a **prediction** had nothing fitted to it and forecasts what was measured; a **validation** case is an independent check of the inputs or tables (skin, devices, transport), not a forecast of an outcome; a **check** follows from a formula or kinematics.\n\n| case | role | fitted parameter(s) |\n|---|---|---|\n",
    );
    for o in cases {
        let (role, what) = match o.role {
            Role::Calibration => (
                "calibration",
                o.fitted
                    .clone()
                    .unwrap_or_else(|| "(not named in the case file; see its note)".into()),
            ),
            Role::Prediction => ("prediction", "none".to_string()),
            Role::Validation => ("validation", "none".to_string()),
            Role::Check => ("check", "none".to_string()),
        };
        s.push_str(&format!("| {} | {role} | {} |\n", o.id, md_cell(&what)));
    }
    s.push('\n');
    s
}

/// Every case on one scale, as a forest plot: each row maps the case's accepted range to the
/// shaded band [0, 1], and marks the published value (black bar), the simulated value (dot:
/// green pass, orange open, red regressed) and its 5-95 % band (line). Values beyond the axis
/// are drawn at its edge with an arrow and their value.
pub fn forest_svg(outcomes: &[CaseOutcome]) -> String {
    use std::fmt::Write as _;
    let esc = crate::report::html::esc;
    // The phone version (report::plot_style::narrow) is narrower, with the key wrapped.
    let narrow = crate::report::plot_style::is_narrow();
    let key = "black bar: published; dot: simulated (green pass, orange open, red regressed); line: 5-95 % band";
    let key_lines = crate::report::plot_style::wrap(key, if narrow { 52 } else { 200 });
    let (w, left, right, row) = if narrow {
        (480.0, 150.0, 50.0, 26.0)
    } else {
        (900.0, 200.0, 70.0, 26.0)
    };
    let top = 56.0 + 16.0 * (key_lines.len() as f64 - 1.0);
    let h = top + row * outcomes.len().max(1) as f64 + 64.0;
    let (x0, x1) = (-1.0, 2.0);
    let px = |u: f64| left + (w - left - right) * (u.clamp(x0, x1) - x0) / (x1 - x0);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" font-family="sans-serif" font-size="15"><rect width="{w}" height="{h}" fill="#fff"/>"##
    );
    let _ = writeln!(
        s,
        r##"<rect x="{:.1}" y="{}" width="{:.1}" height="{:.1}" fill="#e3f1e5"/><text x="{:.1}" y="20" text-anchor="middle" fill="#333">accepted range</text>"##,
        px(0.0),
        top - 6.0,
        px(1.0) - px(0.0),
        row * outcomes.len() as f64 + 6.0,
        (px(0.0) + px(1.0)) / 2.0
    );
    for (i, l) in key_lines.iter().enumerate() {
        let _ = writeln!(
            s,
            r##"<text x="10" y="{}" fill="#555" font-size="14">{}</text>"##,
            40 + 16 * i,
            esc(l)
        );
    }
    for (i, o) in outcomes.iter().enumerate() {
        let y = top + row * i as f64 + row / 2.0;
        let span = (o.high - o.low).max(1e-12);
        let u = |v: f64| (v - o.low) / span;
        let _ = writeln!(
            s,
            r##"<line x1="{left}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#eee"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            w - right,
            left - 8.0,
            y + 5.0,
            esc(&o.id)
        );
        let xp = px(u(o.expected));
        let _ = writeln!(
            s,
            r##"<line x1="{xp:.1}" x2="{xp:.1}" y1="{:.1}" y2="{:.1}" stroke="#000" stroke-width="3"/>"##,
            y - 8.0,
            y + 8.0
        );
        let colour = match o.status {
            Status::Pass | Status::NowPasses => "#2e7d32",
            Status::Open => "#e08a00",
            Status::Regressed => "#c62828",
        };
        if let Some([lo, hi]) = o.band {
            let _ = writeln!(
                s,
                r##"<line x1="{:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="{colour}" stroke-width="2"/>"##,
                px(u(lo)),
                px(u(hi))
            );
        }
        if let Some(v) = o.simulated {
            let uv = u(v);
            let xv = px(uv);
            if uv > x1 || uv < x0 {
                let (dir, anchor, dx) = if uv > x1 {
                    (1.0, "end", -12.0)
                } else {
                    (-1.0, "start", 12.0)
                };
                let _ = writeln!(
                    s,
                    r##"<path d="M{:.1},{:.1} l{:.1},-6 l0,12 z" fill="{colour}"/><text x="{:.1}" y="{:.1}" text-anchor="{anchor}" fill="{colour}">{} {}</text>"##,
                    xv,
                    y,
                    -10.0 * dir,
                    xv + dx,
                    y - 7.0,
                    fmt_num(v),
                    esc(&o.unit)
                );
            } else {
                let _ = writeln!(
                    s,
                    r##"<circle cx="{xv:.1}" cy="{y:.1}" r="6" fill="{colour}"><title>{}: simulated {} {}, accepted {}-{}</title></circle>"##,
                    esc(&o.id),
                    fmt_num(v),
                    esc(&o.unit),
                    fmt_num(o.low),
                    fmt_num(o.high)
                );
            }
        }
    }
    let yb = top + row * outcomes.len() as f64 + 6.0;
    for (u, label) in [
        (-1.0, "-1"),
        (0.0, "0 (low)"),
        (1.0, "1 (high)"),
        (2.0, "2"),
    ] {
        let _ = writeln!(
            s,
            r##"<line x1="{0:.1}" x2="{0:.1}" y1="{1:.1}" y2="{2:.1}" stroke="#333"/><text x="{0:.1}" y="{3:.1}" text-anchor="middle" fill="#333">{label}</text>"##,
            px(u),
            yb,
            yb + 6.0,
            yb + 24.0
        );
    }
    let _ = writeln!(
        s,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text></svg>"##,
        if narrow {
            w / 2.0
        } else {
            (left + w - right) / 2.0
        },
        yb + 44.0,
        if narrow {
            "position in the accepted range (0 = low, 1 = high)"
        } else {
            "position in the case's accepted range (0 = low, 1 = high)"
        }
    );
    s
}

/// Formats a number for tables (about 3 significant digits).
pub fn fmt_num(v: f64) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(id: &str, pass: bool) -> CaseOutcome {
        CaseOutcome {
            id: id.into(),
            file: format!("skin/{id}.toml"),
            part: Part::Skin,
            quantity: "q".into(),
            unit: "mm".into(),
            expected: 1.0,
            dispersion: String::new(),
            low: 0.5,
            high: 1.5,
            simulated: Some(if pass { 1.0 } else { 3.0 }),
            band: None,
            pass,
            status: Status::Open,
            baseline_simulated: None,
            role: Role::Validation,
            grade: "A".into(),
            error: None,
            note: String::new(),
            source: String::new(),
            tolerance_basis: String::new(),
            fitted: None,
        }
    }

    #[test]
    fn statuses_come_from_the_baseline() {
        let old = Baseline::default().updated(
            &[
                outcome("A", true),
                outcome("B", false),
                outcome("C", true),
                outcome("Gone", true),
            ],
            &[],
        );
        let mut now = vec![
            outcome("A", true),
            outcome("B", true),
            outcome("C", false),
            outcome("New", false),
        ];
        let missing = apply_baseline(&mut now, &old);
        let st: Vec<Status> = now.iter().map(|o| o.status).collect();
        assert_eq!(
            st,
            [
                Status::Pass,
                Status::NowPasses,
                Status::Regressed,
                Status::Open
            ]
        );
        assert_eq!(missing, ["Gone"]);
        let upd = old.updated(&now, &missing);
        assert!(!upd.cases.contains_key("Gone"));
        assert_eq!(upd.cases["C"].status, BaselineStatus::Open);
        assert_eq!(upd.cases["B"].status, BaselineStatus::Pass);
        assert_eq!(Baseline::parse(&upd.to_json()).unwrap(), upd);
        let r = ValidationReport::new(now, &[]);
        assert_eq!((r.counts.regressed, r.counts.now_passes), (1, 1));
        assert!(markdown(&r).contains("**REGRESSED**"));
    }

    #[test]
    fn filters_match_id_path_or_part() {
        let f = |p: &str| {
            selected(
                &[p.to_string()],
                "VT-14a",
                "skin/VT-14a_cheek.toml",
                Part::Skin,
            )
        };
        assert!(f("vt-14"));
        assert!(f("cheek"));
        assert!(f("SKIN"));
        assert!(!f("healing"));
        assert!(selected(&[], "x", "y", Part::Healing));
        assert_eq!(Part::of_metric("punctures.rate_per_s"), Some(Part::Devices));
        assert_eq!(Part::of_metric("nope.x"), None);
        for m in metric_names() {
            assert!(Part::of_metric(m).is_some(), "{m}");
        }
    }
}
