//! Scenario files: the TOML format, its validation, and the conversion to SI.
//!
//! A scenario file is written in human units with a suffix (`depth_mm`, `speed_mm_s`,
//! `stratum_corneum_um`). This module is the only place those units are read: it checks every
//! field against its allowed range, reports *all* problems at once with the file, the field path
//! (`zones[1].width_mm`), the value, the allowed range and a hint, and returns a [`Scenario`]
//! in SI units. Nothing downstream re-validates user input.

use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Checker, FieldError, ScenarioError, TomlProblem, read_toml};
use crate::delivery::run::DeliveryPlan;
use crate::device::{CartridgeLayout, Device, Needle, Pen, Roller, Shape, Stamp, Technique, Zone};
use crate::injury::InjuryParams;
use crate::scenario::{Numbing, Scenario, SessionPlan, ZoneSetup};
use crate::skin::{self, LayerKind, Person, Sex, Species, ThicknessOverrides};
use crate::units::{MINUTE, MM, UM};

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
    pub delivery: Option<super::delivery::DeliveryFile>,
    /// Compounds added to the built-in library (same keys as `data/compounds.toml`).
    #[serde(default)]
    pub compounds: Vec<crate::delivery::compounds::CompoundEntry>,
    /// The treatment protocol (sessions, follow-up, concerns), needed by `simulate`.
    #[serde(default)]
    pub protocol: Option<super::protocol::ProtocolFile>,
    /// Model-parameter overrides, `[params.<group>] name = value` in the unit `needlesim params`
    /// lists (e.g. `[params.healing] collagen_output_activated = 13.5`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub params: crate::params::ParamsFile,
    /// Hair arms on scalp zones, compared by `simulate` (issue 20; `docs/MODEL.md`, Hair).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hair: Option<super::hair::HairFile>,
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
    /// Whose skin: "human" (default), "pig", "rat" or "hairless_guinea_pig". An animal's
    /// layer thicknesses are the defaults of the thickness fields below; its follicle density
    /// sets the appendageal route of intact-skin permeability (`docs/TRANSPORT.md`, "Species").
    pub species: Option<String>,
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

/// Parses the TOML into the file structs, mapping type errors and unknown keys to field errors.
pub fn parse_raw(text: &str, file: &str) -> Result<ScenarioFile, ScenarioError> {
    read_toml(text, "scenario", "examples/").map_err(|p| match p {
        TomlProblem::Field(_) if super::file_kind(text) == Some(super::FileKind::Patient) => {
            ScenarioError::PatientFile {
                file: file.to_string(),
            }
        }
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
            errors: super::point_into_book("scenario", vec![e]),
        },
    })
}

/// Longest zone name accepted: zones name output files (`channels_<zone>.csv`,
/// `cross_section_<zone>_day180.svg`, `checkpoint_<zone>_unit-cell.bin`), which must stay well
/// within the 255 bytes most file systems allow for one file name.
pub const MAX_ZONE_NAME_CHARS: usize = 64;

/// Validates every section of the raw file and converts to SI: the scenario, and the delivery
/// plan when the file has a `[delivery]` section (a `[[compounds]]` list without one is checked
/// too). Every command reads its scenario through here, so a bad section is reported whichever
/// command reads the file.
pub fn validate_all(
    raw: &ScenarioFile,
    file: &str,
) -> Result<(Scenario, Option<DeliveryPlan>), ScenarioError> {
    let base = check(raw);
    let plan = match &raw.delivery {
        Some(_) => Some(super::delivery::validate(raw)),
        None if !raw.compounds.is_empty() => {
            let mut c = Checker::new();
            super::delivery::library(&mut c, &raw.compounds);
            (!c.errors.is_empty()).then_some(Err(c.errors))
        }
        None => None,
    };
    let invalid = |errors| ScenarioError::Invalid {
        file: file.to_string(),
        errors: super::point_into_book("scenario", errors),
    };
    match (base, plan) {
        (Ok(s), None) => Ok((s, None)),
        (Ok(s), Some(Ok(mut p))) => {
            // The delivery model reads the scenario's [params.physchem] and [params.closure],
            // and the film limits of [params.numerics].
            p.physchem = s.params.physchem.clone();
            p.closure = s.params.closure.clone();
            p.resolution.spent_film = s.params.numerics.delivery_spent_film;
            p.resolution.explicit_film_fraction = s.params.numerics.delivery_explicit_film_fraction;
            if !s.zones.iter().any(|z| z.zone.name == p.zone) {
                let mut c = Checker::new();
                c.fail(
                    "delivery.zone",
                    format!("{:?}", p.zone),
                    "is not one of the scenario's zones",
                    "use the name of a [[zones]] entry",
                );
                return Err(invalid(c.errors));
            }
            Ok((s, Some(p)))
        }
        (base, plan) => {
            let mut errors = base.err().unwrap_or_default();
            if let Some(Err(es)) = plan {
                errors.extend(es);
            }
            Err(invalid(errors))
        }
    }
}

/// Validates the raw file (every section present) and converts to SI.
pub fn validate(raw: &ScenarioFile, file: &str) -> Result<Scenario, ScenarioError> {
    validate_all(raw, file).map(|(s, _)| s)
}

/// The scenario's own sections, each by its own validator, in file order; then the checks
/// across sections (needle depth against each zone's skin), which run only on valid sections so
/// that one mistake gives one error.
fn check(raw: &ScenarioFile) -> Result<Scenario, Vec<FieldError>> {
    let mut c = Checker::new();
    let mut warnings = Vec::new();
    // The model parameters are read first (the zones' skin columns and the device defaults take
    // them); their errors are listed after the other sections', as before.
    let mut pc = Checker::new();
    let params = pc.model_params(&raw.params);
    let person = person(&mut c, &raw.person);
    let (overrides, stiffness, species) = skin(&mut c, &raw.skin);
    let device = device(&mut c, &raw.device, &params.device);
    let technique = technique(&mut c, &raw.technique, device.as_ref());
    let zones = zones(
        &mut c,
        &raw.zones,
        device.as_ref(),
        &person,
        &overrides,
        &params.skin,
    );
    let session = session(&mut c, &raw.session);
    c.errors.append(&mut pc.errors);
    let protocol = raw
        .protocol
        .as_ref()
        .and_then(|pf| super::protocol::validate_with(pf, &mut c.errors, &params.healing));
    let (species_depth_ratio, species_depth_ratio_sd) =
        species.realised_depth().unwrap_or((0.0, 0.0));
    let injury = InjuryParams {
        relative_stiffness: stiffness,
        species_depth_ratio,
        species_depth_ratio_sd,
        ..params.injury.clone()
    };
    let hair = raw.hair.as_ref().and_then(|h| {
        super::hair::validate(
            &mut c,
            h,
            &zones,
            person.sex,
            protocol
                .as_ref()
                .is_some_and(|p| !p.session_times_s.is_empty()),
        )
    });
    if c.errors.is_empty() {
        depth_against_skin(&mut c, &zones, &raw.zones, &injury, &mut warnings);
    }
    if !c.errors.is_empty() {
        return Err(c.errors);
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
        session,
        warnings,
        protocol,
        params,
        species,
        hair,
    })
}

/// `[person]`. Invalid values are replaced by neutral ones (35 years, female, phototype 3) so
/// that the other sections can still be checked; the error is already recorded.
fn person(c: &mut Checker, p: &PersonFile) -> Person {
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
    Person {
        age_years: age,
        sex,
        phototype,
    }
}

/// `[skin]`: thickness overrides and the relative stiffness. The ranges are checked on the
/// values as typed (µm, mm); the SI value is then kept within the skin tables' limits, which
/// are the same range, so that a documented bound such as `viable_epidermis_um = 10` is not
/// refused for the rounding of 10 × 10⁻⁶.
fn skin(c: &mut Checker, s: &SkinFile) -> (ThicknessOverrides, f64, Species) {
    let species = match s.species.as_deref() {
        None => Species::Human,
        Some(name) => Species::from_name(name).unwrap_or_else(|| {
            c.fail(
                "skin.species",
                format!("{name:?}"),
                "is not a species needlesim has skin data for",
                format!("use one of: {}", Species::names()),
            );
            Species::Human
        }),
    };
    let hint_thick = "leave it out to use the site's published thickness";
    let mut checked =
        |path: &str, v: Option<f64>, min: f64, max: f64, unit: &str, kind: LayerKind| {
            let x = c.range(path, v?, min, max, unit, hint_thick)?;
            let (lo, hi) = skin::tables::OVERRIDE_LIMITS[kind.index()];
            let scale = if unit == "µm" { UM } else { MM };
            Some((x * scale).clamp(lo, hi))
        };
    let overrides = ThicknessOverrides {
        stratum_corneum_m: checked(
            "skin.stratum_corneum_um",
            s.stratum_corneum_um,
            1.0,
            500.0,
            "µm",
            LayerKind::StratumCorneum,
        ),
        viable_epidermis_m: checked(
            "skin.viable_epidermis_um",
            s.viable_epidermis_um,
            10.0,
            1000.0,
            "µm",
            LayerKind::ViableEpidermis,
        ),
        papillary_dermis_m: checked(
            "skin.papillary_dermis_um",
            s.papillary_dermis_um,
            20.0,
            1000.0,
            "µm",
            LayerKind::PapillaryDermis,
        ),
        reticular_dermis_m: checked(
            "skin.reticular_dermis_mm",
            s.reticular_dermis_mm,
            0.1,
            6.0,
            "mm",
            LayerKind::ReticularDermis,
        ),
        subcutis_m: checked(
            "skin.subcutis_mm",
            s.subcutis_mm,
            0.1,
            20.0,
            "mm",
            LayerKind::Subcutis,
        ),
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
    // An animal's layers are the defaults of the fields the file leaves out.
    let overrides = match species.layers() {
        None => overrides,
        Some(l) => ThicknessOverrides {
            stratum_corneum_m: overrides.stratum_corneum_m.or(Some(l.stratum_corneum_m)),
            viable_epidermis_m: overrides.viable_epidermis_m.or(Some(l.viable_epidermis_m)),
            papillary_dermis_m: overrides.papillary_dermis_m.or(Some(l.papillary_dermis_m)),
            reticular_dermis_m: overrides.reticular_dermis_m.or(Some(l.reticular_dermis_m)),
            ..overrides
        },
    };
    (overrides, stiffness, species)
}

/// `[device]`: the device, or `None` when any of its fields is wrong (checks that depend on the
/// device are then skipped: one mistake, one error).
fn device(c: &mut Checker, d: &DeviceFile, dp: &crate::params::DeviceParams) -> Option<Device> {
    let before = c.errors.len();
    let tip_angle = c.opt(
        "device.tip_angle_deg",
        d.tip_angle_deg,
        20.0,
        5.0,
        90.0,
        "degrees",
        "a sharp steel needle tip is about 15-30 degrees",
    );
    let device = match d.kind.as_str() {
        "roller" => roller(c, d, tip_angle),
        "pen" => pen(c, d, tip_angle, dp),
        "stamp" => stamp(c, d, tip_angle),
        other => {
            c.fail(
                "device.kind",
                format!("{other:?}"),
                "is not a known device; allowed: \"roller\", \"pen\", \"stamp\"",
                "see examples/ for one scenario of each",
            );
            return None;
        }
    };
    (c.errors.len() == before).then_some(device)
}

const NEEDLE_HINT: &str = "microneedling needles are 0.1-3.5 mm long";

fn needle(length_mm: f64, diameter_mm: f64, tip_angle_deg: f64) -> Needle {
    Needle {
        length_m: length_mm * MM,
        diameter_m: diameter_mm * MM,
        tip_angle_rad: tip_angle_deg.to_radians(),
    }
}

/// A whole-number count that bounds another (rows within 1..=count); when the count itself is
/// wrong, the other is checked against the count's own maximum instead.
fn count_bound(count: Option<u32>, max: i64) -> i64 {
    count.map_or(max, |n| n.max(1) as i64)
}

fn roller(c: &mut Checker, d: &DeviceFile, tip_angle: f64) -> Device {
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
        NEEDLE_HINT,
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
        Some(n) => c.int(
            "device.needle_count",
            n,
            1,
            2000,
            "the standard roller has 192 needles",
        ),
        None => {
            c.fail(
                "device.needle_count",
                "(missing)",
                "is required for a roller; allowed 1-2000",
                "the standard roller has 192 needles",
            );
            None
        }
    };
    let rows = match d.rows {
        Some(n) => c
            .int(
                "device.rows",
                n,
                1,
                count_bound(count, 2000),
                "rows must not exceed needle_count; the standard roller has 8",
            )
            .unwrap_or(1),
        None => 8.min(count.unwrap_or(1)),
    };
    Device::Roller(Roller {
        drum_diameter_m: drum_d * MM,
        drum_width_m: drum_w * MM,
        needle_count: count.unwrap_or(1),
        rows,
        needle: needle(length, dia, tip_angle),
    })
}

fn pen(
    c: &mut Checker,
    d: &DeviceFile,
    tip_angle: f64,
    dp: &crate::params::DeviceParams,
) -> Device {
    c.absent(
        "device.needle_length_mm",
        &d.needle_length_mm,
        "pen (use depth_mm, the depth setting)",
    );
    c.absent("device.drum_diameter_mm", &d.drum_diameter_mm, "pen");
    c.absent("device.drum_width_mm", &d.drum_width_mm, "pen");
    c.absent("device.cols", &d.cols, "pen");
    c.absent("device.pitch_mm", &d.pitch_mm, "pen");
    let min_depth = match d.min_depth_mm {
        Some(v) => c.range(
            "device.min_depth_mm",
            v,
            0.0,
            5.0,
            "mm",
            "pens set depth in 0.25 mm steps from 0 (SkinPen: 0-2.5 mm)",
        ),
        None => Some(0.25),
    };
    let max_depth = match d.max_depth_mm {
        Some(v) => c.range(
            "device.max_depth_mm",
            v,
            0.1,
            5.0,
            "mm",
            "most pens reach 2.5 mm; some 3 mm",
        ),
        None => Some(2.5),
    };
    if let (Some(lo), Some(hi)) = (min_depth, max_depth)
        && lo > hi
    {
        c.fail(
            "device.min_depth_mm",
            lo,
            format!("is larger than device.max_depth_mm = {hi}"),
            "swap the two values",
        );
    }
    let depth = match d.depth_mm {
        Some(v) => c.range(
            "device.depth_mm",
            v,
            0.1,
            3.5,
            "mm",
            "typical settings are 0.25-2.5 mm",
        ),
        None => {
            c.fail(
                "device.depth_mm",
                "(missing)",
                "is required for a pen (the depth setting); allowed 0.1-3.5 mm",
                "typical settings are 0.25-2.5 mm",
            );
            None
        }
    };
    // The depth setting within the device's own range; a zone's `depth_mm` is checked against
    // it with its zone.
    if let (Some(v), Some(lo), Some(hi)) = (depth, min_depth, max_depth)
        && lo <= hi
    {
        pen_range(c, "device.depth_mm", v, lo, hi);
    }
    let count = match d.needle_count {
        Some(n) => c.int(
            "device.needle_count",
            n,
            1,
            100,
            "pen cartridges hold about 9-42 needles",
        ),
        None => Some(12),
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
                        count_bound(count, 100),
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
        needle_count: count.unwrap_or(1),
        layout,
        // Without `head_diameter_mm`, the registry's `device.pen_head_diameter` (7 mm).
        head_diameter_m: if d.head_diameter_mm.is_some() {
            head * MM
        } else {
            dp.pen_head_diameter
        },
        stroke_rate_hz: rate,
        min_depth_m: min_depth.unwrap_or(0.25) * MM,
        max_depth_m: max_depth.unwrap_or(2.5) * MM,
        needle: needle(depth.unwrap_or(0.1), dia, tip_angle),
    })
}

/// A pen depth setting (mm, as typed) within the pen's range.
fn pen_range(c: &mut Checker, path: &str, depth_mm: f64, min_mm: f64, max_mm: f64) {
    if depth_mm < min_mm - 1e-9 || depth_mm > max_mm + 1e-9 {
        c.fail(
            path,
            depth_mm,
            format!("is outside the pen's depth range {min_mm}-{max_mm} mm"),
            "choose a setting within the device's range, or set device.min_depth_mm / max_depth_mm to your device's",
        );
    }
}

fn stamp(c: &mut Checker, d: &DeviceFile, tip_angle: f64) -> Device {
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
        NEEDLE_HINT,
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
        needle: needle(length, dia, tip_angle),
    })
}

/// `[technique]`. The fields that depend on the device kind are checked against it only when
/// the device is valid.
fn technique(c: &mut Checker, t: &TechniqueFile, device: Option<&Device>) -> Technique {
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
    let default_speed = if matches!(device, Some(Device::Roller(_))) {
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
    match device {
        Some(Device::Stamp(_)) => c.absent(
            "technique.speed_mm_s",
            &t.speed_mm_s,
            "stamp (use presses_per_s)",
        ),
        Some(d) => c.absent("technique.presses_per_s", &t.presses_per_s, d.kind_name()),
        None => {}
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
    Technique {
        passes,
        directions,
        overlap,
        speed_m_s: speed * MM,
        presses_per_s: presses,
        turnaround_s: turnaround,
    }
}

/// `[[zones]]`: each zone by [`zone`], names unique.
fn zones(
    c: &mut Checker,
    raw: &[ZoneFile],
    device: Option<&Device>,
    person: &Person,
    overrides: &ThicknessOverrides,
    skin_params: &crate::params::SkinParams,
) -> Vec<ZoneSetup> {
    if raw.is_empty() {
        c.fail(
            "zones",
            "[]",
            "at least one zone is required",
            "add a [[zones]] table with name, site, shape and size",
        );
    }
    let mut out = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    for (i, z) in raw.iter().enumerate() {
        if let Some(plan) = zone(c, i, z, &mut names, device, person, overrides, skin_params) {
            out.push(plan);
        }
    }
    out
}

/// One zone: its name, site, shape and size, and its pen depth; `None` when any is wrong.
#[allow(clippy::too_many_arguments)]
fn zone(
    c: &mut Checker,
    i: usize,
    z: &ZoneFile,
    names: &mut std::collections::BTreeSet<String>,
    device: Option<&Device>,
    person: &Person,
    overrides: &ThicknessOverrides,
    skin_params: &crate::params::SkinParams,
) -> Option<ZoneSetup> {
    let path = |f: &str| format!("zones[{i}].{f}");
    let before = c.errors.len();
    let n_chars = z.name.chars().count();
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
    } else if n_chars > MAX_ZONE_NAME_CHARS {
        c.fail(
            &path("name"),
            format!("{:?}", z.name),
            format!(
                "is {n_chars} characters long; at most {MAX_ZONE_NAME_CHARS} are allowed because it names output files (channels_<zone>.csv, cross_section_<zone>_day180.svg, ...)"
            ),
            "use a short name such as `left_cheek`; the site and shape are recorded separately",
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
    let shape = zone_shape(c, i, z);
    // Per-zone pen depth.
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
    let mut zone_device = device?.clone();
    if let Some(dz) = depth_override {
        match &mut zone_device {
            Device::Pen(p) => {
                p.needle.length_m = dz * MM;
                pen_range(
                    c,
                    &path("depth_mm"),
                    dz,
                    p.min_depth_m / MM,
                    p.max_depth_m / MM,
                );
            }
            _ => c.fail(
                &path("depth_mm"),
                dz,
                "only pens have a depth setting per zone",
                "for rollers and stamps the depth is the needle length of the device",
            ),
        }
    }
    let (Some(site), Some(shape)) = (site, shape) else {
        return None;
    };
    if c.errors.len() > before {
        return None;
    }
    let column = match skin::column_with(site, person, overrides, skin_params) {
        Ok(col) => col,
        Err(e) => {
            c.fail(
                "skin",
                "-",
                e.to_string(),
                "adjust person or skin overrides",
            );
            return None;
        }
    };
    Some(ZoneSetup {
        zone: Zone {
            name: z.name.clone(),
            site,
            shape,
        },
        device: zone_device,
        column,
    })
}

/// A zone's outline: rectangle or ellipse (width and height, or area and aspect) or polygon.
fn zone_shape(c: &mut Checker, i: usize, z: &ZoneFile) -> Option<Shape> {
    let path = |f: &str| format!("zones[{i}].{f}");
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
                    format!(
                        "width_mm={:?}, height_mm={:?}, area_cm2={:?}",
                        z.width_mm, z.height_mm, z.area_cm2
                    ),
                    "give either both width_mm and height_mm, or area_cm2 (with optional aspect)",
                    "e.g. width_mm = 60, height_mm = 50",
                );
                None
            }
        }
    };
    match z.shape.as_str() {
        "rectangle" | "ellipse" => {
            c.absent(
                &path("vertices_mm"),
                &z.vertices_mm,
                "rectangle or ellipse (vertices are for polygons)",
            );
            wh(c).map(|(w, h)| {
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
    }
}

/// `[session]`: preparation, numbing and aftercare times.
fn session(c: &mut Checker, se: &SessionFile) -> SessionPlan {
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
    SessionPlan {
        preparation_s: prep * MINUTE,
        numbing,
        aftercare_s: after * MINUTE,
    }
}

/// Across sections: the expected effective depth must stay in the skin (epidermis + dermis) of
/// each zone; a nominal depth past it is only a warning because tenting shortens it.
fn depth_against_skin(
    c: &mut Checker,
    zones: &[ZoneSetup],
    raw: &[ZoneFile],
    injury: &InjuryParams,
    warnings: &mut Vec<String>,
) {
    for (i, z) in zones.iter().enumerate() {
        let nominal = z.device.needle().length_m;
        let eff = crate::injury::mean_depth(&z.device, nominal, injury);
        let skin_m = z.column.skin_thickness_m();
        let field = match (&z.device, raw[i].depth_mm) {
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
