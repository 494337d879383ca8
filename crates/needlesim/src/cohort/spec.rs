//! The cohort file: its TOML format, its checks, and the validated [`CohortSpec`].
//!
//! Like the scenario and patient files, the file is read into plain structs (the source of
//! `needlesim schema cohort`), every field is checked on the shared [`Checker`], and *all*
//! problems are reported at once with the field path, the value, what is allowed and a hint.
//! The format is documented in `docs/COHORTS.md`.

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::input::{Checker, FileError, TomlProblem, read_toml};
use crate::params::{ModelParams, ParamsFile, entry};
use crate::plan::Date;
use crate::plan::patient::{ConcernKind, DeviceChoice, ScarType};
use crate::skin::Site;

/// The kind name of cohort files in messages and `needlesim schema cohort`.
pub const KIND: &str = "cohort";
/// Where complete cohort files are.
pub const EXAMPLES: &str = "examples/cohorts/";

/// The age range a cohort may span, years (the planner and skin tables accept 18-100; cohorts
/// are kept to 18-90, where the thickness tables' ageing is read from data).
pub const AGE_RANGE_YEARS: (f64, f64) = (18.0, 90.0);
/// The most virtual patients of one cohort file.
pub const MAX_PATIENTS: i64 = 10_000_000;
/// Virtual patients per shard when the file gives no `shard_size`.
pub const DEFAULT_SHARD_SIZE: i64 = 100;
/// The most parameter draws.
pub const MAX_DRAWS: i64 = 1000;
/// How close to 1 a set of probabilities must sum.
pub const SUM_TOLERANCE: f64 = 1e-6;

// ---------------------------------------------------------------------------------------------
// The file format.
// ---------------------------------------------------------------------------------------------

/// A cohort file: a population of virtual patients, the protocols to compare on each, and the
/// model-parameter draws.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CohortFile {
    /// Free-text title shown in outputs.
    #[serde(default)]
    pub title: Option<String>,
    /// Cohort seed (0 to 2^63-1): each virtual patient's seed is derived from it and the
    /// patient's index, so results do not depend on shards or workers.
    pub seed: i64,
    /// Number of virtual patients (1-10 000 000).
    pub patients: i64,
    /// Virtual patients per shard, the unit of work and of resuming (1-100 000; default 100).
    #[serde(default)]
    pub shard_size: Option<i64>,
    /// Consultation date of every virtual patient, YYYY-MM-DD (screening counts waiting periods
    /// from it; default 2026-01-01).
    #[serde(default)]
    pub date: Option<String>,
    /// Age distribution.
    pub age: AgeFile,
    /// Sex shares (sum 1).
    pub sex: SexFile,
    /// Fitzpatrick phototype shares.
    pub phototype: PhototypeFile,
    /// Between-person variation of the layer thicknesses around the site tables.
    #[serde(default)]
    pub skin: SkinFile,
    /// Prevalence of history items that the planner's screening reads.
    #[serde(default)]
    pub history: HistoryFile,
    /// The presenting concerns, their shares (sum 1), zones and severities.
    pub concerns: Vec<ConcernFile>,
    /// The protocols to compare, each with a name.
    pub protocols: Vec<ProtocolFile>,
    /// The model-parameter draws (default: the registry's values, one draw).
    #[serde(default)]
    pub draws: DrawsFile,
    /// How the summary counts responders.
    #[serde(default)]
    pub summary: SummaryFile,
    /// Model-parameter overrides, `[params.<group>] name = value` as in scenario and patient
    /// files: the base of every draw.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: ParamsFile,
}

/// Age distribution, years.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgeFile {
    /// Youngest age, years (18-90).
    pub min_years: f64,
    /// Oldest age, years (18-90, at least `min_years`).
    pub max_years: f64,
    /// "uniform" (default) or "normal" (then `mean_years` and `sd_years`, cut to the range).
    #[serde(default)]
    pub distribution: Option<String>,
    /// Mean of the normal distribution, years (within the range).
    #[serde(default)]
    pub mean_years: Option<f64>,
    /// SD of the normal distribution, years (0.5-50).
    #[serde(default)]
    pub sd_years: Option<f64>,
}

/// Sex shares.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SexFile {
    /// Share of women (0-1).
    pub female: f64,
    /// Share of men (0-1); `female + male` = 1.
    pub male: f64,
}

/// Phototype shares.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PhototypeFile {
    /// Shares of Fitzpatrick phototypes I-VI: six numbers 0-1 summing to 1.
    pub probabilities: Vec<f64>,
}

/// Layer-thickness variation.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SkinFile {
    /// Multiple of the site tables' published between-person SDs (0-3; default 1; 0: every
    /// virtual patient has the tables' mean thicknesses).
    #[serde(default)]
    pub sd_scale: Option<f64>,
    /// Draws are cut to ± this many SDs (0.5-4; default 2.5).
    #[serde(default)]
    pub truncate_sd: Option<f64>,
}

/// Prevalence (0-1) of the history items the planner's screening reads; default 0.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryFile {
    /// Earlier post-inflammatory hyperpigmentation.
    #[serde(default)]
    pub pih_history: Option<f64>,
    /// Keloid or hypertrophic scars.
    #[serde(default)]
    pub keloid_tendency: Option<f64>,
    /// Currently taking isotretinoin.
    #[serde(default)]
    pub isotretinoin: Option<f64>,
    /// Currently using a topical retinoid.
    #[serde(default)]
    pub topical_retinoid: Option<f64>,
    /// Currently taking an anticoagulant.
    #[serde(default)]
    pub anticoagulant: Option<f64>,
    /// Inflamed (active) acne on the day.
    #[serde(default)]
    pub inflamed_acne: Option<f64>,
    /// Pregnant (drawn for women under 50 only).
    #[serde(default)]
    pub pregnant: Option<f64>,
}

/// One presenting concern.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConcernFile {
    /// A concern of patient files: "fine_lines", "wrinkles", "acne_scars", "stretch_marks",
    /// "hyperpigmentation", "melasma", "enlarged_pores", "sun_damage", "laxity",
    /// "hair_thinning".
    pub kind: String,
    /// Share of the virtual patients presenting with it (0-1); the shares sum to 1.
    pub probability: f64,
    /// Sites treated for it, one zone each (at least one; names as in patient files).
    pub sites: Vec<String>,
    /// Severity: shares of Goodman & Baron grades 1-4 (four numbers summing to 1). Acne scars
    /// only (the one concern whose severity the planner reads); default [0.25, 0.25, 0.25, 0.25].
    #[serde(default)]
    pub grades: Option<Vec<f64>>,
    /// Acne scars only: chance (0-1) that each scar type is present, e.g.
    /// `{ rolling = 0.7, boxcar = 0.5, icepick = 0.3 }`; a patient drawn with none has all three.
    #[serde(default)]
    pub scar_types: Option<BTreeMap<String, f64>>,
}

/// A protocol to compare.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProtocolFile {
    /// Name (letters, digits, `_` and `-`; unique): the `protocol=` partition of the results.
    pub name: String,
    /// true: the planner's recommended protocol for each patient and zone (setting, sessions,
    /// interval from its tables and checks; the device's default passes). Then no setting,
    /// passes, sessions or interval may be given.
    #[serde(default)]
    pub recommended: Option<bool>,
    /// "pen" (default) or "roller".
    #[serde(default)]
    pub device: Option<String>,
    /// Needle setting (pen) or length (roller), mm (0.1-3).
    #[serde(default)]
    pub setting_mm: Option<f64>,
    /// Passes per session (1-30).
    #[serde(default)]
    pub passes: Option<i64>,
    /// Sessions (1-12).
    #[serde(default)]
    pub sessions: Option<i64>,
    /// Days between sessions (7-180).
    #[serde(default)]
    pub interval_days: Option<i64>,
}

/// The model-parameter draws.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DrawsFile {
    /// "registry" (default: one draw, the registry's values with the `[params]` overrides) or
    /// "sampled" (`count` draws: every healing parameter with an uncertainty spread is
    /// multiplied by exp(spread·z), and each entry of `vary` is drawn within its plausible
    /// range). Posterior samples of a calibration will be a third source.
    #[serde(default)]
    pub source: Option<String>,
    /// Number of draws ("sampled"; 1-1000; default 8).
    #[serde(default)]
    pub count: Option<i64>,
    /// Seed of the draws ("sampled"; default: the cohort seed).
    #[serde(default)]
    pub seed: Option<i64>,
    /// Registry entries (`group.name`) drawn within their plausible range ("sampled"):
    /// log-uniformly when the range is positive, else uniformly.
    #[serde(default)]
    pub vary: Vec<String>,
}

/// The summary's definitions.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SummaryFile {
    /// A row is a responder when its predicted mean improvement at the horizon is at least
    /// this, % (0-100; default 20).
    #[serde(default)]
    pub responder_min_improvement_pct: Option<f64>,
}

// ---------------------------------------------------------------------------------------------
// The validated spec.
// ---------------------------------------------------------------------------------------------

/// The age distribution.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "distribution", rename_all = "snake_case")]
pub enum AgeDist {
    Uniform {
        min_years: f64,
        max_years: f64,
    },
    /// Normal, cut to `[min_years, max_years]`.
    Normal {
        min_years: f64,
        max_years: f64,
        mean_years: f64,
        sd_years: f64,
    },
}

/// A validated concern of the mix.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConcernMix {
    pub kind: ConcernKind,
    pub probability: f64,
    pub sites: Vec<Site>,
    /// Shares of grades 1-4 (acne scars), else `None`.
    pub grades: Option<[f64; 4]>,
    /// Chance of each scar type (acne scars), in [`ScarType::ALL`] order.
    pub scar_types: Option<[f64; 3]>,
}

/// What a protocol is.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProtocolKind {
    /// The planner's recommendation for each patient and zone.
    Recommended,
    /// The same for everyone.
    Fixed {
        setting_mm: f64,
        passes: u32,
        sessions: u32,
        interval_days: u32,
    },
}

/// A validated protocol.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProtocolSpec {
    pub name: String,
    pub device: DeviceChoice,
    pub kind: ProtocolKind,
}

/// Where the model-parameter draws come from.
///
/// The rest of the cohort reads only the list of [`ModelParams`] this gives
/// ([`CohortSpec::draw_params`]), so posterior samples of a calibration plug in as one more
/// variant (one `ModelParams` per sample) without touching the runs or the outputs.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum DrawSource {
    /// One draw: the registry's values with the file's `[params]` overrides.
    Registry,
    /// `count` seeded draws around them.
    Sampled {
        count: usize,
        seed: u64,
        /// Entries drawn within their plausible range: (`group.name`, min, max).
        vary: Vec<(String, f64, f64)>,
    },
}

/// Prevalence of the screened history items.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct HistoryRates {
    pub pih_history: f64,
    pub keloid_tendency: f64,
    pub isotretinoin: f64,
    pub topical_retinoid: f64,
    pub anticoagulant: f64,
    pub inflamed_acne: f64,
    pub pregnant: f64,
}

/// A validated cohort file.
#[derive(Clone, Debug, Serialize)]
pub struct CohortSpec {
    /// The file's name as given (messages only: neither the fingerprint nor any output holds
    /// it, so the same cohort read from another path gives the same files).
    #[serde(skip)]
    pub file: String,
    /// The file's text, stored with the results.
    #[serde(skip)]
    pub text: String,
    pub title: String,
    pub seed: u64,
    pub patients: usize,
    pub shard_size: usize,
    pub date: Date,
    pub age: AgeDist,
    /// Share of women.
    pub female: f64,
    /// Shares of phototypes I-VI.
    pub phototype: [f64; 6],
    /// Multiple of the published thickness SDs.
    pub sd_scale: f64,
    /// Cut of the thickness draws, SDs.
    pub truncate_sd: f64,
    pub history: HistoryRates,
    pub concerns: Vec<ConcernMix>,
    pub protocols: Vec<ProtocolSpec>,
    pub draws: DrawSource,
    pub responder_min_improvement_pct: f64,
    /// The registry with the file's `[params]` overrides (the base of every draw).
    #[serde(skip)]
    pub params: ModelParams,
    /// The file's `[params]` overrides as written (the fingerprint).
    pub params_overrides: ParamsFile,
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
}

fn allowed<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> String {
    all.iter()
        .map(|v| format!("\"{}\"", name(*v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Cohort-file checks, on the shared field-error collector.
impl Checker {
    /// A probability (0-1).
    fn prob(&mut self, path: &str, v: f64) -> f64 {
        self.range(
            path,
            v,
            0.0,
            1.0,
            "(a probability)",
            "give a share or chance between 0 and 1",
        )
        .unwrap_or(0.0)
    }

    /// Probabilities that must each be 0-1 and sum to 1; records one error at `path` for the
    /// sum.
    fn shares(&mut self, path: &str, items: &[(String, f64)]) -> bool {
        let before = self.errors.len();
        for (p, v) in items {
            self.prob(p, *v);
        }
        if self.errors.len() > before {
            return false;
        }
        let sum: f64 = items.iter().map(|x| x.1).sum();
        if (sum - 1.0).abs() > SUM_TOLERANCE {
            let list = items
                .iter()
                .map(|(p, v)| format!("{p} = {v}"))
                .collect::<Vec<_>>()
                .join(", ");
            self.fail(
                path,
                format!("sum {sum}"),
                format!("the probabilities must sum to 1 (they sum to {sum}: {list})"),
                "scale the shares so that they add up to 1",
            );
            return false;
        }
        true
    }
}

impl CohortSpec {
    /// Reads and validates a cohort file.
    pub fn from_path(path: &Path) -> crate::Result<CohortSpec> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| FileError::Io {
            kind: KIND,
            file: file.clone(),
            examples: EXAMPLES,
            source,
        })?;
        Ok(CohortSpec::parse(&text, &file)?)
    }

    /// Validates cohort-file text (named `cohort.toml` in messages).
    pub fn from_toml_str(text: &str) -> crate::Result<CohortSpec> {
        Ok(CohortSpec::parse(text, "cohort.toml")?)
    }

    /// Validates cohort-file text; `file` names it in messages.
    pub fn parse(text: &str, file: &str) -> Result<CohortSpec, FileError> {
        let raw: CohortFile = read_toml(text, KIND, EXAMPLES).map_err(|p| match p {
            TomlProblem::Syntax {
                line,
                column,
                message,
            } => FileError::Syntax {
                kind: KIND,
                file: file.to_string(),
                line,
                column,
                message,
            },
            TomlProblem::Field(e) => FileError::Invalid {
                kind: KIND,
                file: file.to_string(),
                errors: crate::input::point_into_book(KIND, vec![e]),
            },
        })?;
        validate(&raw, text, file)
    }

    /// The number of shards.
    pub fn shard_count(&self) -> usize {
        self.patients.div_ceil(self.shard_size)
    }

    /// The patient indices of shard `shard` (empty past the last shard).
    pub fn shard_patients(&self, shard: usize) -> std::ops::Range<usize> {
        let a = (shard * self.shard_size).min(self.patients);
        let b = ((shard + 1) * self.shard_size).min(self.patients);
        a..b
    }

    /// The number of parameter draws.
    pub fn draw_count(&self) -> usize {
        match &self.draws {
            DrawSource::Registry => 1,
            DrawSource::Sampled { count, .. } => *count,
        }
    }

    /// A 64-bit fingerprint of everything that determines the results (the validated spec and
    /// the needlesim version), stored in each shard's marker: a rerun skips only shards made
    /// from the same cohort by the same version.
    pub fn fingerprint(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_default();
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in json
            .bytes()
            .chain(env!("CARGO_PKG_VERSION").bytes())
            .chain(super::SCHEMA_VERSION.bytes())
        {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{h:016x}")
    }
}

/// Validates the raw file.
pub fn validate(raw: &CohortFile, text: &str, file: &str) -> Result<CohortSpec, FileError> {
    let mut c = Checker::new();

    let seed = if raw.seed < 0 {
        c.fail(
            "seed",
            raw.seed,
            "must be a whole number 0 or more",
            "any non-negative whole number; the same seed gives the same cohort",
        );
        0
    } else {
        raw.seed as u64
    };
    let patients = c
        .int(
            "patients",
            raw.patients,
            1,
            MAX_PATIENTS,
            "the number of virtual patients",
        )
        .unwrap_or(1) as usize;
    let shard_size = match raw.shard_size {
        Some(s) => c
            .int(
                "shard_size",
                s,
                1,
                100_000,
                "virtual patients per shard; 50-1000 keeps files few and resuming cheap",
            )
            .unwrap_or(1) as usize,
        None => DEFAULT_SHARD_SIZE as usize,
    };
    let date = match raw.date.as_deref() {
        Some(s) => match Date::parse(s) {
            Ok(d) => d,
            Err(e) => {
                c.fail(
                    "date",
                    format!("{s:?}"),
                    e,
                    "write dates as YYYY-MM-DD, e.g. \"2026-11-21\"",
                );
                Date::from_ymd(2026, 1, 1).expect("valid date")
            }
        },
        None => Date::from_ymd(2026, 1, 1).expect("valid date"),
    };

    // Age.
    let (lo, hi) = AGE_RANGE_YEARS;
    let age_hint = "cohorts cover adults 18-90 years (the ageing of the skin tables is read from data in that range)";
    let a = &raw.age;
    let min_y = c.range("age.min_years", a.min_years, lo, hi, "years", age_hint);
    let max_y = c.range("age.max_years", a.max_years, lo, hi, "years", age_hint);
    if let (Some(x), Some(y)) = (min_y, max_y)
        && x > y
    {
        c.fail(
            "age.max_years",
            y,
            format!("must be at least age.min_years ({x})"),
            "swap the two values",
        );
    }
    let (min_y, max_y) = (
        min_y.unwrap_or(lo),
        max_y.unwrap_or(hi).max(min_y.unwrap_or(lo)),
    );
    let age = match a.distribution.as_deref().unwrap_or("uniform") {
        "uniform" => {
            for (p, v) in [
                ("age.mean_years", a.mean_years),
                ("age.sd_years", a.sd_years),
            ] {
                if let Some(v) = v {
                    c.fail(
                        p,
                        v,
                        "applies only to age.distribution = \"normal\"",
                        "remove it, or set age.distribution = \"normal\"",
                    );
                }
            }
            AgeDist::Uniform {
                min_years: min_y,
                max_years: max_y,
            }
        }
        "normal" => {
            let mean = c.req(
                "age.mean_years",
                a.mean_years,
                min_y,
                max_y,
                "years",
                "for a normal age distribution (within age.min_years-age.max_years)",
                "the mean age of the population",
            );
            let sd = match a.sd_years {
                Some(v) if v.is_finite() && v < 0.0 => {
                    c.fail(
                        "age.sd_years",
                        v,
                        "a standard deviation cannot be negative; allowed 0.5-50 years",
                        "give the spread of ages as a positive number of years",
                    );
                    1.0
                }
                other => c.req(
                    "age.sd_years",
                    other,
                    0.5,
                    50.0,
                    "years",
                    "for a normal age distribution",
                    "the spread of ages, e.g. 12 years",
                ),
            };
            AgeDist::Normal {
                min_years: min_y,
                max_years: max_y,
                mean_years: mean,
                sd_years: sd,
            }
        }
        other => {
            c.fail(
                "age.distribution",
                format!("{other:?}"),
                "is not known; allowed: \"uniform\", \"normal\"",
                "uniform between min_years and max_years, or normal cut to them",
            );
            AgeDist::Uniform {
                min_years: min_y,
                max_years: max_y,
            }
        }
    };

    // Sex and phototype.
    c.shares(
        "sex",
        &[
            ("sex.female".into(), raw.sex.female),
            ("sex.male".into(), raw.sex.male),
        ],
    );
    let female = raw.sex.female.clamp(0.0, 1.0);
    let mut phototype = [1.0 / 6.0; 6];
    if raw.phototype.probabilities.len() != 6 {
        c.fail(
            "phototype.probabilities",
            format!("{} values", raw.phototype.probabilities.len()),
            "must have six values, the shares of phototypes I to VI",
            "write e.g. probabilities = [0.1, 0.25, 0.3, 0.2, 0.1, 0.05]",
        );
    } else {
        let items: Vec<(String, f64)> = raw
            .phototype
            .probabilities
            .iter()
            .enumerate()
            .map(|(i, &v)| (format!("phototype.probabilities[{i}]"), v))
            .collect();
        if c.shares("phototype.probabilities", &items) {
            phototype.copy_from_slice(&raw.phototype.probabilities);
        }
    }

    // Skin.
    let sd_scale = match raw.skin.sd_scale {
        Some(v) if v.is_finite() && v < 0.0 => {
            c.fail(
                "skin.sd_scale",
                v,
                "a multiple of a standard deviation cannot be negative; allowed 0-3",
                "1 uses the site tables' published SDs; 0 gives every patient the table means",
            );
            1.0
        }
        v => c.opt(
            "skin.sd_scale",
            v,
            1.0,
            0.0,
            3.0,
            "(multiple of the published SDs)",
            "1 uses the site tables' published SDs; 0 gives every patient the table means",
        ),
    };
    let truncate_sd = c.opt(
        "skin.truncate_sd",
        raw.skin.truncate_sd,
        2.5,
        0.5,
        4.0,
        "SDs",
        "draws beyond this many SDs are cut; 2.5 keeps 98.8 % of a normal distribution",
    );

    // History.
    let h = &raw.history;
    let mut hp =
        |name: &str, v: Option<f64>| v.map_or(0.0, |v| c.prob(&format!("history.{name}"), v));
    let history = HistoryRates {
        pih_history: hp("pih_history", h.pih_history),
        keloid_tendency: hp("keloid_tendency", h.keloid_tendency),
        isotretinoin: hp("isotretinoin", h.isotretinoin),
        topical_retinoid: hp("topical_retinoid", h.topical_retinoid),
        anticoagulant: hp("anticoagulant", h.anticoagulant),
        inflamed_acne: hp("inflamed_acne", h.inflamed_acne),
        pregnant: hp("pregnant", h.pregnant),
    };

    // Concerns.
    let mut concerns = Vec::new();
    if raw.concerns.is_empty() {
        c.fail(
            "concerns",
            "(none)",
            "at least one [[concerns]] entry is needed",
            &format!("see {EXAMPLES}"),
        );
    }
    let mut shares = Vec::new();
    for (i, cf) in raw.concerns.iter().enumerate() {
        let p = format!("concerns[{i}]");
        let kind = ConcernKind::from_name(&cf.kind);
        if kind.is_none() {
            c.fail(
                &format!("{p}.kind"),
                format!("{:?}", cf.kind),
                format!(
                    "is not known; allowed: {}",
                    allowed(ConcernKind::ALL, ConcernKind::name)
                ),
                "use a concern of patient files",
            );
        }
        shares.push((format!("{p}.probability"), cf.probability));
        let mut sites = Vec::new();
        if cf.sites.is_empty() {
            c.fail(
                &format!("{p}.sites"),
                "[]",
                "at least one site is needed",
                "list the sites treated for this concern, e.g. [\"cheek\"]",
            );
        }
        for (j, s) in cf.sites.iter().enumerate() {
            if let Some(site) = c.site(&format!("{p}.sites[{j}]"), s) {
                if sites.contains(&site) {
                    c.fail(
                        &format!("{p}.sites[{j}]"),
                        format!("{s:?}"),
                        "is listed twice",
                        "each site is one zone; list it once",
                    );
                }
                sites.push(site);
            }
        }
        let acne = kind == Some(ConcernKind::AcneScars);
        let grades = match (&cf.grades, acne) {
            (Some(g), true) => {
                if g.len() != 4 {
                    c.fail(
                        &format!("{p}.grades"),
                        format!("{} values", g.len()),
                        "must have four values, the shares of Goodman & Baron grades 1 to 4",
                        "write e.g. grades = [0.1, 0.4, 0.4, 0.1]",
                    );
                    None
                } else {
                    let items: Vec<(String, f64)> = g
                        .iter()
                        .enumerate()
                        .map(|(k, &v)| (format!("{p}.grades[{k}]"), v))
                        .collect();
                    c.shares(&format!("{p}.grades"), &items);
                    Some([g[0], g[1], g[2], g[3]])
                }
            }
            (None, true) => Some([0.25; 4]),
            (Some(_), false) => {
                c.fail(
                    &format!("{p}.grades"),
                    "(list)",
                    format!(
                        "severity grades apply to acne scars only (the planner reads no severity for {})",
                        kind.map_or("this concern", ConcernKind::label)
                    ),
                    "remove grades from this concern",
                );
                None
            }
            (None, false) => None,
        };
        let scar_types = match (&cf.scar_types, acne) {
            (Some(m), true) => {
                let mut v = [0.0; 3];
                for (name, &x) in m {
                    match ScarType::from_name(name) {
                        Some(t) => {
                            let k = ScarType::ALL.iter().position(|a| *a == t).unwrap_or(0);
                            v[k] = c.prob(&format!("{p}.scar_types.{name}"), x);
                        }
                        None => c.fail(
                            &format!("{p}.scar_types.{name}"),
                            x,
                            format!(
                                "is not a scar type; allowed: {}",
                                allowed(ScarType::ALL, ScarType::name)
                            ),
                            "rename the key",
                        ),
                    }
                }
                Some(v)
            }
            (None, true) => Some([1.0; 3]),
            (Some(_), false) => {
                c.fail(
                    &format!("{p}.scar_types"),
                    "(table)",
                    "scar types apply to acne scars only",
                    "remove scar_types from this concern",
                );
                None
            }
            (None, false) => None,
        };
        if let Some(kind) = kind {
            concerns.push(ConcernMix {
                kind,
                probability: cf.probability,
                sites,
                grades,
                scar_types,
            });
        }
    }
    if !raw.concerns.is_empty() {
        c.shares("concerns", &shares);
    }

    // Protocols.
    let mut protocols: Vec<ProtocolSpec> = Vec::new();
    if raw.protocols.is_empty() {
        c.fail(
            "protocols",
            "(none)",
            "at least one [[protocols]] entry is needed",
            "name the protocols to compare; `recommended = true` is the planner's own",
        );
    }
    for (i, pf) in raw.protocols.iter().enumerate() {
        let p = format!("protocols[{i}]");
        if !valid_name(&pf.name) {
            c.fail(
                &format!("{p}.name"),
                format!("{:?}", pf.name),
                "must be 1-64 letters, digits, `_` or `-` (it names a folder of results)",
                "e.g. \"pen_1.5mm\" -> \"pen_1_5mm\"",
            );
        } else if protocols.iter().any(|q| q.name == pf.name) {
            c.fail(
                &format!("{p}.name"),
                format!("{:?}", pf.name),
                "is used by an earlier protocol",
                "give each protocol its own name",
            );
        }
        let device = match pf.device.as_deref() {
            None => DeviceChoice::Pen,
            Some(s) => DeviceChoice::from_name(s).unwrap_or_else(|| {
                c.fail(
                    &format!("{p}.device"),
                    format!("{s:?}"),
                    "is not known; allowed: \"pen\", \"roller\"",
                    "the planner's devices",
                );
                DeviceChoice::Pen
            }),
        };
        let kind = if pf.recommended == Some(true) {
            let fixed = [
                ("setting_mm", pf.setting_mm.is_some()),
                ("passes", pf.passes.is_some()),
                ("sessions", pf.sessions.is_some()),
                ("interval_days", pf.interval_days.is_some()),
            ];
            for (k, given) in fixed {
                if given {
                    c.fail(
                        &format!("{p}.{k}"),
                        "(given)",
                        "does not apply to the recommended protocol (the planner chooses it)",
                        "remove it, or remove `recommended = true` for a fixed protocol",
                    );
                }
            }
            ProtocolKind::Recommended
        } else {
            let what = "for a fixed protocol (or set recommended = true)";
            let setting_mm = c.req(
                &format!("{p}.setting_mm"),
                pf.setting_mm,
                0.1,
                3.0,
                "mm",
                what,
                "the needle setting of the pen or length of the roller",
            );
            let mut int = |k: &str, v: Option<i64>, lo: i64, hi: i64, hint: &str| match v {
                Some(x) => c
                    .int(&format!("{p}.{k}"), x, lo, hi, hint)
                    .unwrap_or(lo as u32),
                None => {
                    c.fail(
                        &format!("{p}.{k}"),
                        "(missing)",
                        format!("is required {what}; allowed {lo}-{hi}"),
                        hint,
                    );
                    lo as u32
                }
            };
            ProtocolKind::Fixed {
                setting_mm,
                passes: int("passes", pf.passes, 1, 30, "passes per session"),
                sessions: int("sessions", pf.sessions, 1, 12, "sessions in the series"),
                interval_days: int(
                    "interval_days",
                    pf.interval_days,
                    7,
                    180,
                    "days between sessions",
                ),
            }
        };
        protocols.push(ProtocolSpec {
            name: pf.name.clone(),
            device,
            kind,
        });
    }

    // Draws.
    let d = &raw.draws;
    let draws = match d.source.as_deref().unwrap_or("registry") {
        "registry" => {
            for (k, given) in [
                ("count", d.count.is_some()),
                ("seed", d.seed.is_some()),
                ("vary", !d.vary.is_empty()),
            ] {
                if given {
                    c.fail(
                        &format!("draws.{k}"),
                        "(given)",
                        "applies only to draws.source = \"sampled\"",
                        "remove it, or set draws.source = \"sampled\"",
                    );
                }
            }
            DrawSource::Registry
        }
        "sampled" => {
            let count = c
                .int(
                    "draws.count",
                    d.count.unwrap_or(8),
                    1,
                    MAX_DRAWS,
                    "parameter draws per patient, zone and protocol",
                )
                .unwrap_or(1) as usize;
            let dseed = match d.seed {
                Some(s) if s < 0 => {
                    c.fail(
                        "draws.seed",
                        s,
                        "must be a whole number 0 or more",
                        "any non-negative whole number",
                    );
                    0
                }
                Some(s) => s as u64,
                None => seed,
            };
            let defaults = ModelParams::default();
            let mut vary = Vec::new();
            for (i, path) in d.vary.iter().enumerate() {
                let (g, n) = path.split_once('.').unwrap_or((path.as_str(), ""));
                match entry(g, n) {
                    Some(e) if e.settable => {
                        let def = defaults.get(path).unwrap_or(0.0);
                        let (lo, hi) = e.range.bounds(def);
                        if vary.iter().any(|(q, _, _)| q == path) {
                            c.fail(
                                &format!("draws.vary[{i}]"),
                                format!("{path:?}"),
                                "is listed twice",
                                "list each entry once",
                            );
                        }
                        vary.push((path.clone(), lo, hi));
                    }
                    Some(_) => c.fail(
                        &format!("draws.vary[{i}]"),
                        format!("{path:?}"),
                        "is fixed (read when needlesim is compiled) and cannot be drawn",
                        "remove it; `needlesim params` marks fixed entries",
                    ),
                    None => c.fail(
                        &format!("draws.vary[{i}]"),
                        format!("{path:?}"),
                        "is not a registry entry (`group.name`)",
                        "`needlesim params` lists every entry",
                    ),
                }
            }
            DrawSource::Sampled {
                count,
                seed: dseed,
                vary,
            }
        }
        other => {
            c.fail(
                "draws.source",
                format!("{other:?}"),
                "is not known; allowed: \"registry\", \"sampled\" (posterior samples of a calibration are planned)",
                "\"registry\": the registry's values; \"sampled\": seeded draws around them",
            );
            DrawSource::Registry
        }
    };

    let responder_min_improvement_pct = c.opt(
        "summary.responder_min_improvement_pct",
        raw.summary.responder_min_improvement_pct,
        20.0,
        0.0,
        100.0,
        "%",
        "the predicted improvement that counts as a response",
    );

    let params = c.model_params(&raw.params);

    if !c.errors.is_empty() {
        return Err(FileError::Invalid {
            kind: KIND,
            file: file.to_string(),
            errors: crate::input::point_into_book(KIND, c.errors),
        });
    }
    Ok(CohortSpec {
        file: file.to_string(),
        text: text.to_string(),
        title: raw.title.clone().unwrap_or_else(|| "Virtual cohort".into()),
        seed,
        patients,
        shard_size,
        date,
        age,
        female,
        phototype,
        sd_scale,
        truncate_sd,
        history,
        concerns,
        protocols,
        draws,
        responder_min_improvement_pct,
        params,
        params_overrides: raw.params.clone(),
    })
}
