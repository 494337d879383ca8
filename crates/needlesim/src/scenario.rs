//! Scenario files: the TOML format, its validation, and the conversion to SI.
//!
//! A scenario file is written in human units with a suffix (`depth_mm`, `speed_mm_s`,
//! `stratum_corneum_um`). This module is the only place those units are read: it checks every
//! field against its allowed range, reports *all* problems at once with the file, the field path
//! (`zones[1].width_mm`), the value, the allowed range and a hint, and returns a [`Scenario`]
//! in SI units. Nothing downstream re-validates user input.

use std::fmt;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::device::{CartridgeLayout, Device, Needle, Pen, Roller, Shape, Stamp, Technique, Zone};
use crate::injury::InjuryParams;
use crate::skin::{self, Person, Sex, Site, SkinColumn, ThicknessOverrides};
use crate::units::{MINUTE, MM, UM};

/// One problem with one field.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldError {
    /// Path of the field, e.g. `device.depth_mm` or `zones[2].site`.
    pub path: String,
    /// The offending value as written (or a short description).
    pub value: String,
    /// What is wrong, including the allowed range or values.
    pub message: String,
    /// What to do about it.
    pub hint: String,
    /// 1-based line in the file, when known.
    pub line: Option<usize>,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(
                f,
                "{} = {} (line {}): {}",
                self.path, self.value, l, self.message
            )?,
            None => write!(f, "{} = {}: {}", self.path, self.value, self.message)?,
        }
        if !self.hint.is_empty() {
            write!(f, "\n      hint: {}", self.hint)?;
        }
        Ok(())
    }
}

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error(
        "cannot read scenario file `{file}`: {source}\n  hint: check the path; scenario files are TOML, see `needlesim schema scenario` and examples/"
    )]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "scenario file `{file}` is not valid TOML (line {line}, column {column}): {message}\n  hint: check quoting, brackets and `key = value` syntax near that line"
    )]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("scenario file `{file}` has {} problem(s):\n{}", .errors.len(), format_list(.errors))]
    Invalid {
        file: String,
        errors: Vec<FieldError>,
    },
}

fn format_list(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("  - {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl ScenarioError {
    /// The field errors, if this is a validation failure.
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            ScenarioError::Invalid { errors, .. } => errors,
            _ => &[],
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The file format (human units). These types are also the source of `needlesim schema scenario`.
// ---------------------------------------------------------------------------------------------

/// A needlesim scenario file: who is treated, with what device, where and how.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Free-text title shown in outputs.
    #[serde(default)]
    pub title: Option<String>,
    /// Seed of all random streams (default 1). `--seed` overrides it.
    #[serde(default)]
    pub seed: Option<u64>,
    pub person: PersonFile,
    /// Optional thickness overrides and skin mechanics.
    #[serde(default)]
    pub skin: SkinFile,
    pub device: DeviceFile,
    pub technique: TechniqueFile,
    /// One or more treatment zones; each gets its own puncture map.
    pub zones: Vec<ZoneFile>,
    /// Preparation and numbing, for the session time estimate.
    #[serde(default)]
    pub session: SessionFile,
    /// Topical delivery after needling (read by `needlesim deliver`, ignored by `punctures`).
    #[serde(default)]
    pub delivery: Option<crate::delivery::scenario::DeliveryFile>,
    /// Compounds added to the built-in library (same keys as `data/compounds.toml`).
    #[serde(default)]
    pub compounds: Vec<crate::delivery::compounds::CompoundEntry>,
    /// The treatment protocol (sessions, follow-up, concerns), needed by `simulate`.
    #[serde(default)]
    pub protocol: Option<crate::protocol::ProtocolFile>,
    /// Model-parameter overrides, `[params.<group>] name = value` in the unit `needlesim params`
    /// lists (e.g. `[params.healing] collagen_output_activated = 13.5`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub params: crate::params::ParamsFile,
}

/// The person.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonFile {
    /// Age in years, 18-100.
    pub age_years: f64,
    /// "female" or "male".
    pub sex: String,
    /// Fitzpatrick phototype, 1-6.
    pub phototype: i64,
}

/// Thickness overrides (any subset) and skin mechanics.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SkinFile {
    /// Stratum corneum thickness, µm (1-500).
    pub stratum_corneum_um: Option<f64>,
    /// Viable epidermis thickness, µm (10-1000).
    pub viable_epidermis_um: Option<f64>,
    /// Papillary dermis thickness, µm (20-1000).
    pub papillary_dermis_um: Option<f64>,
    /// Reticular dermis thickness, mm (0.1-6).
    pub reticular_dermis_mm: Option<f64>,
    /// Modelled top of the subcutis, mm (0.1-20).
    pub subcutis_mm: Option<f64>,
    /// Skin stiffness relative to the forearm reference of the tenting calibration (0.25-4,
    /// default 1). Taut (stretched) skin is stiffer and tents less.
    pub relative_stiffness: Option<f64>,
}

/// The device. Which fields apply depends on `kind`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceFile {
    /// "roller", "pen" or "stamp".
    pub kind: String,
    /// Needle length, mm (roller and stamp; 0.1-3.5).
    pub needle_length_mm: Option<f64>,
    /// Pen depth setting, mm (pen only; within min_depth_mm..max_depth_mm).
    pub depth_mm: Option<f64>,
    /// Needle shaft diameter, mm (0.05-0.5). Default 0.25 for rollers (Dermaroller MF8), 0.2
    /// otherwise.
    pub needle_diameter_mm: Option<f64>,
    /// Full cone angle of the needle tip, degrees (5-90, default 20).
    pub tip_angle_deg: Option<f64>,
    /// Roller drum diameter, mm (5-50).
    pub drum_diameter_mm: Option<f64>,
    /// Roller drum width, mm (5-100).
    pub drum_width_mm: Option<f64>,
    /// Number of needles (roller: 1-2000; pen cartridge: 1-100).
    pub needle_count: Option<i64>,
    /// Roller needle rows around the drum (1-needle_count); grid pen cartridge rows.
    pub rows: Option<i64>,
    /// Pen cartridge layout: "round" (default) or "grid".
    pub layout: Option<String>,
    /// Pen cartridge face diameter, mm (1-20, default 7).
    pub head_diameter_mm: Option<f64>,
    /// Pen stroke rate, Hz (1-300).
    pub stroke_rate_hz: Option<f64>,
    /// Pen shallowest depth setting, mm (default 0.25).
    pub min_depth_mm: Option<f64>,
    /// Pen deepest depth setting, mm (default 2.5).
    pub max_depth_mm: Option<f64>,
    /// Stamp needle columns (1-100).
    pub cols: Option<i64>,
    /// Stamp needle pitch, mm (0.1-10).
    pub pitch_mm: Option<f64>,
}

/// How the device is moved.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TechniqueFile {
    /// Passes over each zone, 1-100.
    pub passes: i64,
    /// Distinct stroke directions cycled through, 1-4 (default 3).
    pub directions: Option<i64>,
    /// Overlap of neighbouring strokes as a fraction of the track width, 0-0.9 (default 0).
    pub overlap: Option<f64>,
    /// Hand speed along a stroke, mm/s (1-200; default 20 for rollers, 10 for pens).
    pub speed_mm_s: Option<f64>,
    /// Stamp presses per second (0.1-20, default 1).
    pub presses_per_s: Option<f64>,
    /// Time at each stroke end, s (0-10, default 0.5).
    pub turnaround_s: Option<f64>,
}

/// A treatment zone.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneFile {
    /// Name used in outputs and file names (letters, digits, `_` and `-`).
    pub name: String,
    /// Anatomical site: forehead, periorbital, cheek, nose, perioral, chin, neck, chest,
    /// dorsal_hand, abdomen, thigh, back, scalp.
    pub site: String,
    /// "rectangle", "ellipse" or "polygon".
    pub shape: String,
    /// Bounding-box width, mm (rectangle, ellipse; 1-1000).
    pub width_mm: Option<f64>,
    /// Bounding-box height, mm (rectangle, ellipse; 1-1000).
    pub height_mm: Option<f64>,
    /// Alternative to width/height for rectangles and ellipses: area in cm² (0.01-10000), with
    /// `aspect` = width/height (default 1).
    pub area_cm2: Option<f64>,
    /// Width/height ratio when `area_cm2` is given (0.05-20).
    pub aspect: Option<f64>,
    /// Polygon vertices in mm, in order (at least 3).
    pub vertices_mm: Option<Vec<[f64; 2]>>,
    /// Pen depth for this zone, mm (overrides `device.depth_mm`; pens only).
    pub depth_mm: Option<f64>,
}

/// Preparation and numbing before needling.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionFile {
    /// Cleansing, marking, photographs, mm (0-120, default 10 min).
    pub preparation_min: Option<f64>,
    /// Topical anaesthetic: "none", "lidocaine_4_liposomal" (30 min, no occlusion) or
    /// "emla_occluded" (60 min under occlusion). Default "lidocaine_4_liposomal".
    pub numbing: Option<String>,
    /// Clean-up and post-treatment serum/mask, min (0-60, default 5).
    pub aftercare_min: Option<f64>,
}

// ---------------------------------------------------------------------------------------------
// The validated scenario (SI).
// ---------------------------------------------------------------------------------------------

/// Topical anaesthetic used before needling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Numbing {
    None,
    /// 4 % liposomal lidocaine (LMX-4): anaesthesia within 30 min without occlusion
    /// (Pesaturo & Matthews 2009, US Pharmacist 34(3)).
    #[serde(rename = "lidocaine_4_liposomal")]
    Lidocaine4Liposomal,
    /// EMLA under occlusion: at least 60 min for minor procedures (EMLA US prescribing
    /// information).
    EmlaOccluded,
}

impl Numbing {
    /// The name used in files and printed output.
    pub fn name(self) -> &'static str {
        match self {
            Numbing::None => "none",
            Numbing::Lidocaine4Liposomal => "lidocaine_4_liposomal",
            Numbing::EmlaOccluded => "emla_occluded",
        }
    }

    /// Application time before needling, s.
    pub fn wait_s(self) -> f64 {
        match self {
            Numbing::None => 0.0,
            Numbing::Lidocaine4Liposomal => 30.0 * MINUTE,
            Numbing::EmlaOccluded => 60.0 * MINUTE,
        }
    }
}

/// Session-level times, SI.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SessionPlan {
    pub preparation_s: f64,
    pub numbing: Numbing,
    pub aftercare_s: f64,
}

/// One zone with its resolved device and skin.
#[derive(Clone, Debug, PartialEq)]
pub struct ZonePlan {
    pub zone: Zone,
    /// The device as used on this zone (pen depth per zone applied).
    pub device: Device,
    pub column: SkinColumn,
}

/// A validated scenario in SI units.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub title: String,
    pub seed: u64,
    pub person: Person,
    pub technique: Technique,
    pub zones: Vec<ZonePlan>,
    pub injury: InjuryParams,
    pub session: SessionPlan,
    /// Non-fatal remarks found during validation (shown in outputs).
    pub warnings: Vec<String>,
    /// The protocol, when the file has a `[protocol]` section.
    pub protocol: Option<crate::protocol::Protocol>,
    /// The model parameters: defaults with the file's `[params]` overrides.
    pub params: crate::params::ModelParams,
}

/// Reads and validates a scenario file.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
        file: file.clone(),
        source,
    })?;
    parse(&text, &file)
}

/// Parses and validates scenario text; `file` names it in messages.
pub fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
    let raw = parse_raw(text, file)?;
    validate(&raw, file)
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = offset
        - before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1)
        + 1;
    (line, col)
}

/// A problem found while reading a TOML input file, before any range check.
pub(crate) enum TomlProblem {
    /// Not valid TOML.
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// Valid TOML that does not fit the file's structure (unknown or missing key, wrong type).
    Field(FieldError),
}

/// Reads TOML text into one of the input-file structs. Syntax errors carry line and column;
/// structural errors carry the field path and line, with a hint naming the schema command
/// (`needlesim schema <schema>`) and the folder of complete examples.
pub(crate) fn read_toml<T: serde::de::DeserializeOwned>(
    text: &str,
    schema: &str,
    examples: &str,
) -> Result<T, TomlProblem> {
    let de = toml::Deserializer::parse(text).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
        TomlProblem::Syntax {
            line,
            column,
            message: e.message().trim().to_string(),
        }
    })?;
    serde_path_to_error::deserialize::<_, T>(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let line = inner.span().map(|s| line_col(text, s.start).0);
        let message = inner.message().trim().to_string();
        let hint = if message.contains("unknown field") {
            format!("remove or rename the key; `needlesim schema {schema}` lists every allowed key")
        } else if message.contains("missing field") {
            format!("add the missing key; see {examples} for complete files")
        } else {
            format!("check the value's type (number, whole number, true/false, string, list); see `needlesim schema {schema}`")
        };
        TomlProblem::Field(FieldError {
            path: if path == "." { "(top level)".into() } else { path },
            value: "-".into(),
            message,
            hint,
            line,
        })
    })
}

/// Parses the TOML into the file structs, mapping type errors and unknown keys to field errors.
pub fn parse_raw(text: &str, file: &str) -> Result<ScenarioFile, ScenarioError> {
    read_toml(text, "scenario", "examples/").map_err(|p| match p {
        TomlProblem::Syntax {
            line,
            column,
            message,
        } => ScenarioError::Syntax {
            file: file.to_string(),
            line,
            column,
            message,
        },
        TomlProblem::Field(e) => ScenarioError::Invalid {
            file: file.to_string(),
            errors: vec![e],
        },
    })
}

/// Collects field errors while converting an input file; shared by every file format so that
/// all of them report problems the same way. Modules add their own checks in their own
/// `impl Checker` blocks.
pub(crate) struct Checker {
    pub(crate) errors: Vec<FieldError>,
}

impl Checker {
    /// An anatomical site by its file name; an unknown name is an error listing the allowed ones.
    pub(crate) fn site(&mut self, path: &str, name: &str) -> Option<Site> {
        let site = Site::from_name(name);
        if site.is_none() {
            let all: Vec<_> = Site::ALL.iter().map(|s| s.name()).collect();
            self.fail(
                path,
                format!("{name:?}"),
                format!("is not a known site; allowed: {}", all.join(", ")),
                "pick the nearest anatomical site",
            );
        }
        site
    }

    pub(crate) fn fail(
        &mut self,
        path: &str,
        value: impl fmt::Display,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.errors.push(FieldError {
            path: path.to_string(),
            value: value.to_string(),
            message: message.into(),
            hint: hint.into(),
            line: None,
        });
    }

    /// A finite number in `[min, max]`; returns it or records an error and returns `None`.
    pub(crate) fn range(
        &mut self,
        path: &str,
        v: f64,
        min: f64,
        max: f64,
        unit: &str,
        hint: &str,
    ) -> Option<f64> {
        if v.is_finite() && v >= min && v <= max {
            Some(v)
        } else {
            self.fail(
                path,
                v,
                format!("must be a finite number within {min}-{max} {unit}"),
                hint,
            );
            None
        }
    }

    /// An optional number with a default, range-checked.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn opt(
        &mut self,
        path: &str,
        v: Option<f64>,
        default: f64,
        min: f64,
        max: f64,
        unit: &str,
        hint: &str,
    ) -> f64 {
        match v {
            Some(x) => self.range(path, x, min, max, unit, hint).unwrap_or(default),
            None => default,
        }
    }

    /// A required number (per device kind), range-checked.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn req(
        &mut self,
        path: &str,
        v: Option<f64>,
        min: f64,
        max: f64,
        unit: &str,
        what: &str,
        hint: &str,
    ) -> f64 {
        match v {
            Some(x) => self.range(path, x, min, max, unit, hint).unwrap_or(min),
            None => {
                self.fail(
                    path,
                    "(missing)",
                    format!("is required {what}; allowed {min}-{max} {unit}"),
                    hint,
                );
                min
            }
        }
    }

    pub(crate) fn int(
        &mut self,
        path: &str,
        v: i64,
        min: i64,
        max: i64,
        hint: &str,
    ) -> Option<u32> {
        if (min..=max).contains(&v) {
            Some(v as u32)
        } else {
            self.fail(
                path,
                v,
                format!("must be a whole number within {min}-{max}"),
                hint,
            );
            None
        }
    }

    /// A field that must be absent for this device kind.
    pub(crate) fn absent<T: fmt::Debug>(&mut self, path: &str, v: &Option<T>, kind: &str) {
        if let Some(x) = v {
            self.fail(
                path,
                format!("{x:?}"),
                format!("does not apply to a {kind}"),
                "remove it, or change device.kind if you meant another device",
            );
        }
    }
}

/// Validates the raw file and converts to SI.
pub fn validate(raw: &ScenarioFile, file: &str) -> Result<Scenario, ScenarioError> {
    let mut c = Checker { errors: Vec::new() };
    let mut warnings = Vec::new();

    // Person.
    let p = &raw.person;
    let age = c
        .range(
            "person.age_years",
            p.age_years,
            18.0,
            100.0,
            "years",
            "the skin tables cover adults 18-100 years",
        )
        .unwrap_or(35.0);
    let sex = match p.sex.as_str() {
        "female" => Sex::Female,
        "male" => Sex::Male,
        other => {
            c.fail(
                "person.sex",
                format!("{other:?}"),
                "must be \"female\" or \"male\"",
                "the thickness tables are split by sex",
            );
            Sex::Female
        }
    };
    let phototype = c
        .int(
            "person.phototype",
            p.phototype,
            1,
            6,
            "Fitzpatrick phototypes are 1 (always burns) to 6 (never burns)",
        )
        .unwrap_or(3) as u8;
    let person = Person {
        age_years: age,
        sex,
        phototype,
    };

    // Skin overrides.
    let s = &raw.skin;
    let um = |v: Option<f64>| v.map(|x| x * UM);
    let mm = |v: Option<f64>| v.map(|x| x * MM);
    let hint_thick = "leave it out to use the site's published thickness";
    let mut checked = |path: &str, v: Option<f64>, min: f64, max: f64, unit: &str| {
        v.and_then(|x| c.range(path, x, min, max, unit, hint_thick).map(|_| x))
    };
    let overrides = ThicknessOverrides {
        stratum_corneum_m: um(checked(
            "skin.stratum_corneum_um",
            s.stratum_corneum_um,
            1.0,
            500.0,
            "µm",
        )),
        viable_epidermis_m: um(checked(
            "skin.viable_epidermis_um",
            s.viable_epidermis_um,
            10.0,
            1000.0,
            "µm",
        )),
        papillary_dermis_m: um(checked(
            "skin.papillary_dermis_um",
            s.papillary_dermis_um,
            20.0,
            1000.0,
            "µm",
        )),
        reticular_dermis_m: mm(checked(
            "skin.reticular_dermis_mm",
            s.reticular_dermis_mm,
            0.1,
            6.0,
            "mm",
        )),
        subcutis_m: mm(checked("skin.subcutis_mm", s.subcutis_mm, 0.1, 20.0, "mm")),
    };
    let stiffness = c.opt(
        "skin.relative_stiffness",
        s.relative_stiffness,
        1.0,
        0.25,
        4.0,
        "",
        "1 is the forearm reference of the tenting calibration; 2 is skin held taut",
    );

    // Device.
    let d = &raw.device;
    let kind = d.kind.as_str();
    let needle_hint = "microneedling needles are 0.1-3.5 mm long";
    let tip_angle = c.opt(
        "device.tip_angle_deg",
        d.tip_angle_deg,
        20.0,
        5.0,
        90.0,
        "degrees",
        "a sharp steel needle tip is about 15-30 degrees",
    );
    let device = match kind {
        "roller" => {
            c.absent(
                "device.depth_mm",
                &d.depth_mm,
                "roller (use needle_length_mm)",
            );
            c.absent("device.stroke_rate_hz", &d.stroke_rate_hz, "roller");
            c.absent("device.head_diameter_mm", &d.head_diameter_mm, "roller");
            c.absent("device.layout", &d.layout, "roller");
            c.absent("device.min_depth_mm", &d.min_depth_mm, "roller");
            c.absent("device.max_depth_mm", &d.max_depth_mm, "roller");
            c.absent("device.cols", &d.cols, "roller");
            c.absent("device.pitch_mm", &d.pitch_mm, "roller");
            let length = c.req(
                "device.needle_length_mm",
                d.needle_length_mm,
                0.1,
                3.5,
                "mm",
                "for a roller",
                needle_hint,
            );
            let dia = c.opt(
                "device.needle_diameter_mm",
                d.needle_diameter_mm,
                0.25,
                0.05,
                0.5,
                "mm",
                "roller needles are 0.1-0.25 mm thick",
            );
            let drum_d = c.req(
                "device.drum_diameter_mm",
                d.drum_diameter_mm,
                5.0,
                50.0,
                "mm",
                "for a roller",
                "the Dermaroller MF8 drum is 20 mm",
            );
            let drum_w = c.req(
                "device.drum_width_mm",
                d.drum_width_mm,
                5.0,
                100.0,
                "mm",
                "for a roller",
                "the Dermaroller MF8 drum is 20 mm wide",
            );
            let count = match d.needle_count {
                Some(n) => c
                    .int(
                        "device.needle_count",
                        n,
                        1,
                        2000,
                        "the standard roller has 192 needles",
                    )
                    .unwrap_or(1),
                None => {
                    c.fail(
                        "device.needle_count",
                        "(missing)",
                        "is required for a roller; allowed 1-2000",
                        "the standard roller has 192 needles",
                    );
                    1
                }
            };
            let rows = match d.rows {
                Some(n) => c
                    .int(
                        "device.rows",
                        n,
                        1,
                        count.max(1) as i64,
                        "rows must not exceed needle_count; the standard roller has 8",
                    )
                    .unwrap_or(1),
                None => 8.min(count),
            };
            Device::Roller(Roller {
                drum_diameter_m: drum_d * MM,
                drum_width_m: drum_w * MM,
                needle_count: count,
                rows,
                needle: Needle {
                    length_m: length * MM,
                    diameter_m: dia * MM,
                    tip_angle_rad: tip_angle.to_radians(),
                },
            })
        }
        "pen" => {
            c.absent(
                "device.needle_length_mm",
                &d.needle_length_mm,
                "pen (use depth_mm, the depth setting)",
            );
            c.absent("device.drum_diameter_mm", &d.drum_diameter_mm, "pen");
            c.absent("device.drum_width_mm", &d.drum_width_mm, "pen");
            c.absent("device.cols", &d.cols, "pen");
            c.absent("device.pitch_mm", &d.pitch_mm, "pen");
            let min_depth = c.opt(
                "device.min_depth_mm",
                d.min_depth_mm,
                0.25,
                0.0,
                5.0,
                "mm",
                "pens set depth in 0.25 mm steps from 0 (SkinPen: 0-2.5 mm)",
            );
            let max_depth = c.opt(
                "device.max_depth_mm",
                d.max_depth_mm,
                2.5,
                0.1,
                5.0,
                "mm",
                "most pens reach 2.5 mm; some 3 mm",
            );
            if min_depth > max_depth {
                c.fail(
                    "device.min_depth_mm",
                    min_depth,
                    format!("is larger than device.max_depth_mm = {max_depth}"),
                    "swap the two values",
                );
            }
            let depth = c.req(
                "device.depth_mm",
                d.depth_mm,
                0.1,
                3.5,
                "mm",
                "for a pen (the depth setting)",
                "typical settings are 0.25-2.5 mm",
            );
            let count = match d.needle_count {
                Some(n) => c
                    .int(
                        "device.needle_count",
                        n,
                        1,
                        100,
                        "pen cartridges hold about 9-42 needles",
                    )
                    .unwrap_or(1),
                None => 12,
            };
            let layout = match d.layout.as_deref() {
                None | Some("round") => {
                    c.absent(
                        "device.rows",
                        &d.rows,
                        "round pen cartridge (rows apply to layout = \"grid\")",
                    );
                    CartridgeLayout::Round
                }
                Some("grid") => {
                    let rows = match d.rows {
                        Some(n) => c
                            .int(
                                "device.rows",
                                n,
                                1,
                                count.max(1) as i64,
                                "rows must not exceed needle_count",
                            )
                            .unwrap_or(1),
                        None => {
                            c.fail(
                                "device.rows",
                                "(missing)",
                                "is required for a grid cartridge",
                                "e.g. rows = 3 for a 3x4 cartridge of 12",
                            );
                            1
                        }
                    };
                    CartridgeLayout::Grid { rows }
                }
                Some(other) => {
                    c.fail(
                        "device.layout",
                        format!("{other:?}"),
                        "must be \"round\" or \"grid\"",
                        "round cartridges are the common case",
                    );
                    CartridgeLayout::Round
                }
            };
            let head = c.opt(
                "device.head_diameter_mm",
                d.head_diameter_mm,
                7.0,
                1.0,
                20.0,
                "mm",
                "pen cartridge faces are about 5-10 mm across",
            );
            let rate = c.req(
                "device.stroke_rate_hz",
                d.stroke_rate_hz,
                1.0,
                300.0,
                "Hz",
                "for a pen",
                "pens run at about 90-120 Hz",
            );
            let dia = c.opt(
                "device.needle_diameter_mm",
                d.needle_diameter_mm,
                0.2,
                0.05,
                0.5,
                "mm",
                "pen needles are about 0.15-0.25 mm thick",
            );
            Device::Pen(Pen {
                needle_count: count,
                layout,
                head_diameter_m: head * MM,
                stroke_rate_hz: rate,
                min_depth_m: min_depth * MM,
                max_depth_m: max_depth * MM,
                needle: Needle {
                    length_m: depth * MM,
                    diameter_m: dia * MM,
                    tip_angle_rad: tip_angle.to_radians(),
                },
            })
        }
        "stamp" => {
            c.absent(
                "device.depth_mm",
                &d.depth_mm,
                "stamp (use needle_length_mm)",
            );
            c.absent("device.drum_diameter_mm", &d.drum_diameter_mm, "stamp");
            c.absent("device.drum_width_mm", &d.drum_width_mm, "stamp");
            c.absent("device.stroke_rate_hz", &d.stroke_rate_hz, "stamp");
            c.absent("device.head_diameter_mm", &d.head_diameter_mm, "stamp");
            c.absent("device.layout", &d.layout, "stamp");
            c.absent(
                "device.needle_count",
                &d.needle_count,
                "stamp (it has rows x cols needles)",
            );
            c.absent("device.min_depth_mm", &d.min_depth_mm, "stamp");
            c.absent("device.max_depth_mm", &d.max_depth_mm, "stamp");
            let length = c.req(
                "device.needle_length_mm",
                d.needle_length_mm,
                0.1,
                3.5,
                "mm",
                "for a stamp",
                needle_hint,
            );
            let dia = c.opt(
                "device.needle_diameter_mm",
                d.needle_diameter_mm,
                0.2,
                0.05,
                0.5,
                "mm",
                "stamp needles are about 0.1-0.25 mm thick",
            );
            let mut dim = |path: &str, v: Option<i64>| match v {
                Some(n) => c
                    .int(
                        path,
                        n,
                        1,
                        100,
                        "stamps carry up to about 100 x 100 needles",
                    )
                    .unwrap_or(1),
                None => {
                    c.fail(
                        path,
                        "(missing)",
                        "is required for a stamp; allowed 1-100",
                        "e.g. rows = 6, cols = 6",
                    );
                    1
                }
            };
            let rows = dim("device.rows", d.rows);
            let cols = dim("device.cols", d.cols);
            let pitch = c.req(
                "device.pitch_mm",
                d.pitch_mm,
                0.1,
                10.0,
                "mm",
                "for a stamp",
                "needle pitch on stamps is about 0.5-2 mm",
            );
            Device::Stamp(Stamp {
                rows,
                cols,
                pitch_m: pitch * MM,
                needle: Needle {
                    length_m: length * MM,
                    diameter_m: dia * MM,
                    tip_angle_rad: tip_angle.to_radians(),
                },
            })
        }
        other => {
            c.fail(
                "device.kind",
                format!("{other:?}"),
                "is not a known device; allowed: \"roller\", \"pen\", \"stamp\"",
                "see examples/ for one scenario of each",
            );
            // Keep going to report the other fields' problems too.
            Device::Stamp(Stamp {
                rows: 1,
                cols: 1,
                pitch_m: 1e-3,
                needle: Needle {
                    length_m: 1e-3,
                    diameter_m: 2e-4,
                    tip_angle_rad: 0.35,
                },
            })
        }
    };

    // Technique.
    let t = &raw.technique;
    let passes = c
        .int(
            "technique.passes",
            t.passes,
            1,
            100,
            "practitioners make about 2-8 passes; rollers up to 15-20",
        )
        .unwrap_or(1);
    let directions = match t.directions {
        Some(n) => c
            .int(
                "technique.directions",
                n,
                1,
                4,
                "1: parallel strokes only; 4: horizontal, vertical and both diagonals",
            )
            .unwrap_or(1),
        None => 3,
    };
    let overlap = c.opt(
        "technique.overlap",
        t.overlap,
        0.0,
        0.0,
        0.9,
        "",
        "0 means neighbouring strokes just touch; 0.5 means half-overlapping",
    );
    let default_speed = if matches!(device, Device::Roller(_)) {
        20.0
    } else {
        10.0
    };
    let speed = c.opt(
        "technique.speed_mm_s",
        t.speed_mm_s,
        default_speed,
        1.0,
        200.0,
        "mm/s",
        "a slow, steady glide is about 5-20 mm/s",
    );
    if matches!(device, Device::Stamp(_)) {
        c.absent(
            "technique.speed_mm_s",
            &t.speed_mm_s,
            "stamp (use presses_per_s)",
        );
    } else {
        c.absent("technique.presses_per_s", &t.presses_per_s, kind);
    }
    let presses = c.opt(
        "technique.presses_per_s",
        t.presses_per_s,
        1.0,
        0.1,
        20.0,
        "1/s",
        "a hand stamp is pressed about once a second",
    );
    let turnaround = c.opt(
        "technique.turnaround_s",
        t.turnaround_s,
        0.5,
        0.0,
        10.0,
        "s",
        "time to lift and reposition at each stroke end",
    );
    let technique = Technique {
        passes,
        directions,
        overlap,
        speed_m_s: speed * MM,
        presses_per_s: presses,
        turnaround_s: turnaround,
    };

    // Zones.
    if raw.zones.is_empty() {
        c.fail(
            "zones",
            "[]",
            "at least one zone is required",
            "add a [[zones]] table with name, site, shape and size",
        );
    }
    let mut zones = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    for (i, z) in raw.zones.iter().enumerate() {
        let path = |f: &str| format!("zones[{i}].{f}");
        let before = c.errors.len();
        if z.name.is_empty()
            || !z
                .name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
        {
            c.fail(
                &path("name"),
                format!("{:?}", z.name),
                "must be non-empty and use only letters, digits, `_` and `-`",
                "it names output files",
            );
        } else if !names.insert(z.name.clone()) {
            c.fail(
                &path("name"),
                format!("{:?}", z.name),
                "is used by another zone",
                "give each zone its own name",
            );
        }
        let site = c.site(&path("site"), &z.site);
        let size_hint = "zone sizes are 1-1000 mm; a cheek is about 60 x 50 mm";
        let wh = |c: &mut Checker| -> Option<(f64, f64)> {
            match (z.width_mm, z.height_mm, z.area_cm2) {
                (Some(w), Some(h), None) => {
                    let w = c.range(&path("width_mm"), w, 1.0, 1000.0, "mm", size_hint);
                    let h = c.range(&path("height_mm"), h, 1.0, 1000.0, "mm", size_hint);
                    Some((w?, h?))
                }
                (None, None, Some(a)) => {
                    let a = c.range(
                        &path("area_cm2"),
                        a,
                        0.01,
                        10_000.0,
                        "cm²",
                        "a full face is about 300 cm²",
                    )?;
                    let aspect = c.opt(
                        &path("aspect"),
                        z.aspect,
                        1.0,
                        0.05,
                        20.0,
                        "",
                        "width/height of the zone",
                    );
                    let a_mm2 = a
                        * 100.0
                        * if z.shape == "ellipse" {
                            4.0 / std::f64::consts::PI
                        } else {
                            1.0
                        };
                    Some(((a_mm2 * aspect).sqrt(), (a_mm2 / aspect).sqrt()))
                }
                _ => {
                    c.fail(
                        &path("width_mm"),
                        format!("width_mm={:?}, height_mm={:?}, area_cm2={:?}", z.width_mm, z.height_mm, z.area_cm2),
                        "give either both width_mm and height_mm, or area_cm2 (with optional aspect)",
                        "e.g. width_mm = 60, height_mm = 50",
                    );
                    None
                }
            }
        };
        let shape = match z.shape.as_str() {
            "rectangle" | "ellipse" => {
                c.absent(
                    &path("vertices_mm"),
                    &z.vertices_mm,
                    "rectangle or ellipse (vertices are for polygons)",
                );
                wh(&mut c).map(|(w, h)| {
                    if z.shape == "rectangle" {
                        Shape::Rectangle {
                            width_m: w * MM,
                            height_m: h * MM,
                        }
                    } else {
                        Shape::Ellipse {
                            width_m: w * MM,
                            height_m: h * MM,
                        }
                    }
                })
            }
            "polygon" => match &z.vertices_mm {
                Some(v)
                    if v.len() >= 3
                        && v.iter()
                            .flatten()
                            .all(|x| x.is_finite() && x.abs() <= 1000.0) =>
                {
                    let minx = v.iter().map(|p| p[0]).fold(f64::INFINITY, f64::min);
                    let miny = v.iter().map(|p| p[1]).fold(f64::INFINITY, f64::min);
                    let shape = Shape::Polygon {
                        vertices_m: v
                            .iter()
                            .map(|p| [(p[0] - minx) * MM, (p[1] - miny) * MM])
                            .collect(),
                    };
                    if shape.area_m2() < 1e-6 {
                        c.fail(
                            &path("vertices_mm"),
                            format!("{v:?}"),
                            "encloses less than 1 mm² (empty zone)",
                            "check the vertex order and values",
                        );
                        None
                    } else {
                        Some(shape)
                    }
                }
                Some(v) => {
                    c.fail(
                        &path("vertices_mm"),
                        format!("{v:?}"),
                        "needs at least 3 finite vertices within ±1000 mm",
                        "list the outline as [[x, y], ...] in mm",
                    );
                    None
                }
                None => {
                    c.fail(
                        &path("vertices_mm"),
                        "(missing)",
                        "is required for a polygon",
                        "list the outline as [[x, y], ...] in mm",
                    );
                    None
                }
            },
            other => {
                c.fail(
                    &path("shape"),
                    format!("{other:?}"),
                    "must be \"rectangle\", \"ellipse\" or \"polygon\"",
                    "ellipses suit cheeks and foreheads",
                );
                None
            }
        };
        // Per-zone pen depth.
        let mut zone_device = device.clone();
        let depth_override = z.depth_mm.and_then(|v| {
            c.range(
                &path("depth_mm"),
                v,
                0.1,
                3.5,
                "mm",
                "typical settings are 0.25-2.5 mm",
            )
        });
        if let Some(dz) = depth_override {
            match &mut zone_device {
                Device::Pen(p) => p.needle.length_m = dz * MM,
                _ => c.fail(
                    &path("depth_mm"),
                    dz,
                    "only pens have a depth setting per zone",
                    "for rollers and stamps the depth is the needle length of the device",
                ),
            }
        }
        if let Device::Pen(p) = &zone_device {
            let depth_mm = p.needle.length_m / MM;
            let field = if depth_override.is_some() {
                path("depth_mm")
            } else {
                "device.depth_mm".to_string()
            };
            if depth_mm < p.min_depth_m / MM - 1e-9 || depth_mm > p.max_depth_m / MM + 1e-9 {
                c.fail(
                    &field,
                    depth_mm,
                    format!("is outside the pen's depth range {}-{} mm", p.min_depth_m / MM, p.max_depth_m / MM),
                    "choose a setting within the device's range, or set device.min_depth_mm / max_depth_mm to your device's",
                );
            }
        }
        let (Some(site), Some(shape)) = (site, shape) else {
            continue;
        };
        if c.errors.len() > before {
            continue;
        }
        let column = match skin::column(site, &person, &overrides) {
            Ok(col) => col,
            Err(e) => {
                c.fail(
                    "skin",
                    "-",
                    e.to_string(),
                    "adjust person or skin overrides",
                );
                continue;
            }
        };
        zones.push(ZonePlan {
            zone: Zone {
                name: z.name.clone(),
                site,
                shape,
            },
            device: zone_device,
            column,
        });
    }

    // Session.
    let se = &raw.session;
    let prep = c.opt(
        "session.preparation_min",
        se.preparation_min,
        10.0,
        0.0,
        120.0,
        "min",
        "cleansing, marking and photographs take about 5-15 min",
    );
    let after = c.opt(
        "session.aftercare_min",
        se.aftercare_min,
        5.0,
        0.0,
        60.0,
        "min",
        "clean-up and applying a serum or mask",
    );
    let numbing = match se.numbing.as_deref() {
        None | Some("lidocaine_4_liposomal") => Numbing::Lidocaine4Liposomal,
        Some("emla_occluded") => Numbing::EmlaOccluded,
        Some("none") => Numbing::None,
        Some(other) => {
            c.fail(
                "session.numbing",
                format!("{other:?}"),
                "allowed: \"none\", \"lidocaine_4_liposomal\", \"emla_occluded\"",
                "liposomal 4 % lidocaine needs no occlusion",
            );
            Numbing::None
        }
    };

    let params = c.model_params(&raw.params);

    let protocol = raw
        .protocol
        .as_ref()
        .and_then(|pf| crate::protocol::validate_with(pf, &mut c.errors, &params.healing));

    let injury = InjuryParams {
        relative_stiffness: stiffness,
        ..params.injury.clone()
    };

    // Depth against the skin: the expected effective depth must stay in the skin
    // (epidermis + dermis); a nominal depth past it is only a warning because tenting
    // shortens it.
    if c.errors.is_empty() {
        for (i, z) in zones.iter().enumerate() {
            let nominal = z.device.needle().length_m;
            let eff = crate::injury::mean_depth(&z.device, nominal, &injury);
            let skin_m = z.column.skin_thickness_m();
            let field = match (&z.device, raw.zones[i].depth_mm) {
                (Device::Pen(_), Some(_)) => format!("zones[{i}].depth_mm"),
                (Device::Pen(_), None) => "device.depth_mm".into(),
                _ => "device.needle_length_mm".into(),
            };
            if eff > skin_m {
                c.fail(
                    &field,
                    nominal / MM,
                    format!(
                        "reaches beyond the skin of zone `{}` ({}): expected penetration {:.2} mm but epidermis + dermis is {:.2} mm here",
                        z.zone.name,
                        z.zone.site.name(),
                        eff / MM,
                        skin_m / MM
                    ),
                    "use a shorter needle or depth setting; microneedling targets the dermis",
                );
            } else if nominal > skin_m {
                warnings.push(format!(
                    "zone `{}`: the nominal depth {:.2} mm exceeds the epidermis + dermis ({:.2} mm); tenting keeps the expected penetration at {:.2} mm",
                    z.zone.name,
                    nominal / MM,
                    skin_m / MM,
                    eff / MM
                ));
            }
        }
    }

    if !c.errors.is_empty() {
        return Err(ScenarioError::Invalid {
            file: file.to_string(),
            errors: c.errors,
        });
    }
    Ok(Scenario {
        title: raw
            .title
            .clone()
            .unwrap_or_else(|| "untitled scenario".into()),
        seed: raw.seed.unwrap_or(1),
        person,
        technique,
        zones,
        injury,
        session: SessionPlan {
            preparation_s: prep * MINUTE,
            numbing,
            aftercare_s: after * MINUTE,
        },
        warnings,
        protocol,
        params,
    })
}
