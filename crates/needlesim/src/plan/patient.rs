//! Patient files: the TOML format, its validation, and the validated [`Patient`].
//!
//! Mirrors [`crate::input::scenario`]: the file is read into plain structs (also the source of
//! `needlesim schema patient`), every field is checked, and *all* problems are reported at once
//! with the field path, the value, what is allowed and a hint. Nothing downstream re-validates.

use std::collections::BTreeSet;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::date::Date;
use crate::input::{Checker, FieldError, format_list};
use crate::skin::{Person, Sex, Site};

/// Why a patient file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PatientError {
    #[error(
        "cannot read patient file `{file}`: {source}\n  hint: check the path; patient files are TOML, see `needlesim schema patient` and examples/patients/"
    )]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "patient file `{file}` is not valid TOML (line {line}, column {column}): {message}\n  hint: check quoting, brackets and `key = value` syntax near that line"
    )]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("patient file `{file}` has {} problem(s):\n{}", .errors.len(), format_list(.errors))]
    Invalid {
        file: String,
        errors: Vec<FieldError>,
    },
    #[error(
        "`{file}` is not a patient file: this is a scenario file: use `needlesim punctures`, `deliver` or `simulate` with it\n  hint: `plan` reads patient files (examples/patients/); the other commands read scenario files (examples/*.toml)"
    )]
    ScenarioFile { file: String },
}

impl PatientError {
    /// The field errors, if this is a validation failure.
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            PatientError::Invalid { errors, .. } => errors,
            _ => &[],
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The file format.
// ---------------------------------------------------------------------------------------------

/// A patient file: one consultation.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatientFile {
    /// Free-text title shown in outputs (use a pseudonym, not the patient's name).
    #[serde(default)]
    pub title: Option<String>,
    /// Consultation date, YYYY-MM-DD. Waiting periods are counted from the dates below, and
    /// "today" in the plan is this date.
    pub date: String,
    pub patient: PersonSection,
    /// Medical history (all default to false / none).
    #[serde(default)]
    pub history: HistoryFile,
    /// Current and recent medications.
    #[serde(default)]
    pub medications: Vec<MedicationFile>,
    /// Earlier aesthetic or surgical procedures.
    #[serde(default)]
    pub procedures: Vec<ProcedureFile>,
    /// Skin state that affects every zone (e.g. a widespread sunburn). Same values as
    /// `zones[].skin_state`.
    #[serde(default)]
    pub skin_state: Vec<String>,
    /// Treatment zones with their concerns.
    pub zones: Vec<ZoneSection>,
    /// Goals and constraints.
    #[serde(default)]
    pub goals: GoalsFile,
    /// Decisions of the practitioner.
    #[serde(default)]
    pub practitioner: PractitionerFile,
    /// Model-parameter overrides, `[params.<group>] name = value` in the unit `needlesim params`
    /// lists (e.g. `[params.healing] collagen_output_activated = 13.5`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub params: crate::params::ParamsFile,
}

/// The person.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonSection {
    /// Age in years, 18-100.
    pub age_years: f64,
    /// "female" or "male".
    pub sex: String,
    /// Fitzpatrick phototype, 1-6.
    pub phototype: i64,
}

/// Medical history.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryFile {
    #[serde(default)]
    pub pregnant: bool,
    #[serde(default)]
    pub breastfeeding: bool,
    /// Keloid or hypertrophic scars in the past, or in the family.
    #[serde(default)]
    pub keloid_tendency: bool,
    /// Metal (e.g. nickel) allergy.
    #[serde(default)]
    pub metal_allergy: bool,
    /// A known bleeding or clotting disorder.
    #[serde(default)]
    pub bleeding_disorder: bool,
    /// "none" (default), "controlled" or "uncontrolled".
    #[serde(default)]
    pub diabetes: Option<String>,
    /// Immunosuppressed (disease or medication).
    #[serde(default)]
    pub immunosuppressed: bool,
    /// Currently in chemotherapy or radiotherapy.
    #[serde(default)]
    pub cancer_treatment: bool,
    /// Dark marks after earlier spots, injuries or treatments (post-inflammatory
    /// hyperpigmentation).
    #[serde(default)]
    pub pih_history: bool,
}

/// One medication.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MedicationFile {
    /// Name as the patient gives it (shown in outputs).
    pub name: String,
    /// What it is: "isotretinoin", "anticoagulant", "antiplatelet", "topical_retinoid",
    /// "immunosuppressant", "chemotherapy", "minoxidil" or "other".
    pub class: String,
    /// Start date, YYYY-MM-DD (optional).
    #[serde(default)]
    pub started: Option<String>,
    /// Stop date, YYYY-MM-DD; leave out while it is still taken. A date after the
    /// consultation is a planned stop.
    #[serde(default)]
    pub stopped: Option<String>,
}

/// One earlier procedure.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcedureFile {
    /// "filler", "botulinum_toxin", "chemical_peel", "laser", "surgery", "microneedling" or
    /// "other" (a procedure the rules do not know: listed as not checked; say what in `detail`).
    pub kind: String,
    /// Date, YYYY-MM-DD (on or before the consultation).
    pub date: String,
    /// Names of the zones (in this file) it was done in; leave out for all zones.
    #[serde(default)]
    pub zones: Vec<String>,
    /// Free-text detail (product, depth of a peel, laser type).
    #[serde(default)]
    pub detail: Option<String>,
}

/// A treatment zone.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneSection {
    /// Name used in outputs (letters, digits, `_` and `-`).
    pub name: String,
    /// Anatomical site: forehead, periorbital, cheek, nose, perioral, chin, neck, chest,
    /// dorsal_hand, abdomen, thigh, back, scalp.
    pub site: String,
    /// Treated area, cm² (1-2000). Default: a typical area for the site.
    #[serde(default)]
    pub area_cm2: Option<f64>,
    /// What bothers the patient here (at least one).
    pub concerns: Vec<ConcernFile>,
    /// Current skin state in this zone: "infection", "herpes", "inflamed_acne",
    /// "eczema_flare", "psoriasis_flare", "rosacea_flare", "sunburn", "open_wound",
    /// "suspicious_lesion", "warts".
    #[serde(default)]
    pub skin_state: Vec<String>,
}

/// One concern in a zone.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConcernFile {
    /// "fine_lines", "wrinkles", "acne_scars", "stretch_marks", "hyperpigmentation",
    /// "melasma", "enlarged_pores", "sun_damage", "laxity" or "hair_thinning".
    pub kind: String,
    /// Acne scars: Goodman & Baron qualitative grade 1-4 (required). Thinning hair: the grade
    /// of androgenetic alopecia, Hamilton-Norwood 1-7 for men or Ludwig 1-3 for women
    /// (optional; the hair model assumes 3 / 1 without it).
    #[serde(default)]
    pub grade: Option<i64>,
    /// Acne scars only: any of "icepick", "boxcar", "rolling".
    #[serde(default)]
    pub scar_types: Vec<String>,
}

/// Goals and constraints.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GoalsFile {
    /// Longest acceptable downtime after one session, days (0-30).
    #[serde(default)]
    pub max_downtime_days: Option<f64>,
    /// Most sessions the patient wants per zone (1-20).
    #[serde(default)]
    pub max_sessions: Option<i64>,
    /// Highest acceptable risk of post-inflammatory hyperpigmentation over a series, % (the
    /// upper band of the healing model's PIH risk; 1-100). Default: 20 for phototype IV-VI or
    /// earlier PIH (a planner assumption, docs/PLANNER.md), no limit otherwise.
    #[serde(default)]
    pub max_pih_risk_pct: Option<f64>,
    /// No session before this date, YYYY-MM-DD (default: the consultation date).
    #[serde(default)]
    pub earliest_start: Option<String>,
    /// The series should be over, downtime included, by this date (e.g. an event).
    #[serde(default)]
    pub finish_by: Option<String>,
    /// Periods without sessions or downtime (holidays, events, sun exposure).
    #[serde(default)]
    pub blackout: Vec<BlackoutFile>,
    /// Numbing product: "lidocaine_4_liposomal" (default), "emla_occluded" or "none".
    #[serde(default)]
    pub numbing: Option<String>,
    /// Device: "pen" (default) or "roller".
    #[serde(default)]
    pub device: Option<String>,
    /// What the patient hopes for, in their words (shown in the plan).
    #[serde(default)]
    pub notes: Option<String>,
}

/// A period without sessions.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BlackoutFile {
    /// First day, YYYY-MM-DD.
    pub from: String,
    /// Last day, YYYY-MM-DD.
    pub to: String,
    /// Why (shown in the plan).
    #[serde(default)]
    pub reason: Option<String>,
}

/// Decisions of the practitioner.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PractitionerFile {
    /// Rule ids of precautions whose advised deferral the practitioner has decided to set aside
    /// (e.g. "anticoagulant" once the prescriber agrees). Do-not-treat rules cannot be waived.
    #[serde(default)]
    pub waive: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// The validated patient.
// ---------------------------------------------------------------------------------------------

macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $var),+ }
        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$var),+];
            /// The name used in files.
            pub fn name(self) -> &'static str { match self { $($name::$var => $s),+ } }
            /// Parses a file name.
            pub fn from_name(s: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|v| v.name() == s)
            }
            fn allowed() -> String {
                $name::ALL.iter().map(|v| format!("\"{}\"", v.name())).collect::<Vec<_>>().join(", ")
            }
        }
    };
}

named_enum!(
    /// A concern.
    ConcernKind {
        FineLines = "fine_lines",
        Wrinkles = "wrinkles",
        AcneScars = "acne_scars",
        StretchMarks = "stretch_marks",
        Hyperpigmentation = "hyperpigmentation",
        Melasma = "melasma",
        EnlargedPores = "enlarged_pores",
        SunDamage = "sun_damage",
        Laxity = "laxity",
        HairThinning = "hair_thinning",
    }
);

impl ConcernKind {
    /// Words for outputs.
    pub fn label(self) -> &'static str {
        match self {
            ConcernKind::FineLines => "fine lines",
            ConcernKind::Wrinkles => "wrinkles",
            ConcernKind::AcneScars => "acne scars",
            ConcernKind::StretchMarks => "stretch marks",
            ConcernKind::Hyperpigmentation => "hyperpigmentation",
            ConcernKind::Melasma => "melasma",
            ConcernKind::EnlargedPores => "enlarged pores",
            ConcernKind::SunDamage => "sun damage",
            ConcernKind::Laxity => "laxity",
            ConcernKind::HairThinning => "thinning scalp hair",
        }
    }
}

named_enum!(
    /// An atrophic acne scar type.
    ScarType {
        Icepick = "icepick",
        Boxcar = "boxcar",
        Rolling = "rolling",
    }
);

named_enum!(
    /// A current skin state.
    SkinState {
        Infection = "infection",
        Herpes = "herpes",
        InflamedAcne = "inflamed_acne",
        EczemaFlare = "eczema_flare",
        PsoriasisFlare = "psoriasis_flare",
        RosaceaFlare = "rosacea_flare",
        Sunburn = "sunburn",
        OpenWound = "open_wound",
        SuspiciousLesion = "suspicious_lesion",
        Warts = "warts",
    }
);

impl SkinState {
    /// Words for outputs.
    pub fn label(self) -> &'static str {
        match self {
            SkinState::Infection => "active skin infection",
            SkinState::Herpes => "active herpes (cold sore)",
            SkinState::InflamedAcne => "inflamed (active) acne",
            SkinState::EczemaFlare => "eczema flare",
            SkinState::PsoriasisFlare => "psoriasis flare",
            SkinState::RosaceaFlare => "rosacea flare",
            SkinState::Sunburn => "sunburn",
            SkinState::OpenWound => "open wound",
            SkinState::SuspiciousLesion => "suspicious lesion (not yet assessed)",
            SkinState::Warts => "warts",
        }
    }
}

named_enum!(
    /// A medication class the rules know.
    MedicationClass {
        Isotretinoin = "isotretinoin",
        Anticoagulant = "anticoagulant",
        Antiplatelet = "antiplatelet",
        TopicalRetinoid = "topical_retinoid",
        Immunosuppressant = "immunosuppressant",
        Chemotherapy = "chemotherapy",
        Minoxidil = "minoxidil",
        Other = "other",
    }
);

named_enum!(
    /// An earlier procedure.
    ProcedureKind {
        Filler = "filler",
        BotulinumToxin = "botulinum_toxin",
        ChemicalPeel = "chemical_peel",
        Laser = "laser",
        Surgery = "surgery",
        Microneedling = "microneedling",
        Other = "other",
    }
);

impl ProcedureKind {
    /// Words for outputs.
    pub fn label(self) -> &'static str {
        match self {
            ProcedureKind::Filler => "filler",
            ProcedureKind::BotulinumToxin => "botulinum toxin",
            ProcedureKind::ChemicalPeel => "chemical peel",
            ProcedureKind::Laser => "laser",
            ProcedureKind::Surgery => "surgery",
            ProcedureKind::Microneedling => "microneedling",
            ProcedureKind::Other => "other procedure",
        }
    }
}

named_enum!(
    /// Diabetes status.
    Diabetes {
        None = "none",
        Controlled = "controlled",
        Uncontrolled = "uncontrolled",
    }
);

named_enum!(
    /// Numbing product.
    NumbingChoice {
        Lidocaine4Liposomal = "lidocaine_4_liposomal",
        EmlaOccluded = "emla_occluded",
        None = "none",
    }
);

named_enum!(
    /// Device kind the planner recommends settings for.
    DeviceChoice {
        Pen = "pen",
        Roller = "roller",
    }
);

/// Validated history.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct History {
    pub pregnant: bool,
    pub breastfeeding: bool,
    pub keloid_tendency: bool,
    pub metal_allergy: bool,
    pub bleeding_disorder: bool,
    pub diabetes: Option<Diabetes>,
    pub immunosuppressed: bool,
    pub cancer_treatment: bool,
    pub pih_history: bool,
}

/// A validated medication.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Medication {
    pub name: String,
    pub class: MedicationClass,
    pub started: Option<Date>,
    pub stopped: Option<Date>,
}

/// A validated earlier procedure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Procedure {
    pub kind: ProcedureKind,
    pub date: Date,
    /// Zone names; empty = all zones.
    pub zones: Vec<String>,
    pub detail: Option<String>,
}

/// A validated concern.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PatientConcern {
    pub kind: ConcernKind,
    /// Goodman & Baron grade (acne scars); Norwood (men) or Ludwig (women) grade (thinning hair).
    pub grade: Option<u8>,
    pub scar_types: Vec<ScarType>,
}

/// A validated zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PatientZone {
    pub name: String,
    pub site: Site,
    pub area_cm2: f64,
    /// Whether the area is the site's default (not given in the file).
    pub area_assumed: bool,
    pub concerns: Vec<PatientConcern>,
    pub skin_state: Vec<SkinState>,
}

/// A period without sessions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Blackout {
    pub from: Date,
    pub to: Date,
    pub reason: Option<String>,
}

/// Validated goals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Goals {
    pub max_downtime_days: Option<f64>,
    pub max_sessions: Option<u32>,
    /// Highest acceptable upper band of the modelled PIH risk, % (None: the planner's default).
    #[serde(default)]
    pub max_pih_risk_pct: Option<f64>,
    pub earliest_start: Option<Date>,
    pub finish_by: Option<Date>,
    pub blackout: Vec<Blackout>,
    pub numbing: NumbingChoice,
    pub device: DeviceChoice,
    pub notes: Option<String>,
}

/// A validated patient file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Patient {
    pub title: String,
    pub date: Date,
    pub person: Person,
    pub history: History,
    pub medications: Vec<Medication>,
    pub procedures: Vec<Procedure>,
    pub skin_state: Vec<SkinState>,
    pub zones: Vec<PatientZone>,
    pub goals: Goals,
    pub waive: Vec<String>,
    /// The model parameters: defaults with the file's `[params]` overrides (not echoed in
    /// outputs).
    #[serde(skip)]
    #[schemars(skip)]
    pub params: crate::params::ModelParams,
}

/// Typical treated area of a site, cm² (assumed: a typical adult; both sides for paired
/// sites). Used when a zone gives no `area_cm2`; outputs mark it as assumed.
pub fn default_area_cm2(site: Site) -> f64 {
    match site {
        Site::Forehead => 60.0,
        Site::Periorbital => 20.0,
        Site::Cheek => 90.0,
        Site::Nose => 15.0,
        Site::Perioral => 30.0,
        Site::Chin => 20.0,
        Site::Neck => 120.0,
        Site::Chest => 200.0,
        Site::DorsalHand => 150.0,
        Site::Abdomen => 300.0,
        Site::Thigh => 400.0,
        Site::Back => 600.0,
        Site::Scalp => 150.0,
    }
}

/// Whether a site is on the face.
pub fn is_facial(site: Site) -> bool {
    matches!(
        site,
        Site::Forehead | Site::Periorbital | Site::Cheek | Site::Nose | Site::Perioral | Site::Chin
    )
}

// ---------------------------------------------------------------------------------------------
// Parsing and validation.
// ---------------------------------------------------------------------------------------------

/// Reads and validates a patient file.
pub fn load(path: &Path) -> Result<Patient, PatientError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| PatientError::Io {
        file: file.clone(),
        source,
    })?;
    parse(&text, &file)
}

/// Parses and validates patient text; `file` names it in messages.
pub fn parse(text: &str, file: &str) -> Result<Patient, PatientError> {
    let raw = parse_raw(text, file)?;
    validate(&raw, file)
}

/// Parses the TOML into the file structs, mapping type errors and unknown keys to field errors.
pub fn parse_raw(text: &str, file: &str) -> Result<PatientFile, PatientError> {
    use crate::input::{FileKind, TomlProblem, file_kind, read_toml};
    read_toml(text, "patient", "examples/patients/").map_err(|p| match p {
        TomlProblem::Field(_) if file_kind(text) == Some(FileKind::Scenario) => {
            PatientError::ScenarioFile {
                file: file.to_string(),
            }
        }
        TomlProblem::Syntax {
            line,
            column,
            message,
        } => PatientError::Syntax {
            file: file.to_string(),
            line,
            column,
            message,
        },
        TomlProblem::Field(e) => PatientError::Invalid {
            file: file.to_string(),
            errors: crate::input::point_into_book("patient", vec![e]),
        },
    })
}

/// Patient-file checks, on the shared field-error collector.
impl Checker {
    fn date(&mut self, path: &str, s: &str) -> Option<Date> {
        match Date::parse(s) {
            Ok(d) => Some(d),
            Err(e) => {
                self.fail(
                    path,
                    format!("{s:?}"),
                    e,
                    "write dates as YYYY-MM-DD, e.g. \"2026-11-21\"",
                );
                None
            }
        }
    }

    fn opt_date(&mut self, path: &str, s: &Option<String>) -> Option<Date> {
        s.as_deref().and_then(|s| self.date(path, s))
    }

    fn named<T>(
        &mut self,
        path: &str,
        s: &str,
        parse: fn(&str) -> Option<T>,
        allowed: &str,
        hint: &str,
    ) -> Option<T> {
        let v = parse(s);
        if v.is_none() {
            self.fail(
                path,
                format!("{s:?}"),
                format!("is not known; allowed: {allowed}"),
                hint,
            );
        }
        v
    }
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
}

/// Validates the raw file.
pub fn validate(raw: &PatientFile, file: &str) -> Result<Patient, PatientError> {
    let mut c = Checker::new();
    let date = c.date("date", &raw.date);

    let p = &raw.patient;
    let age = c
        .range(
            "patient.age_years",
            p.age_years,
            18.0,
            100.0,
            "years",
            "the planner and the skin tables cover adults 18-100 years",
        )
        .unwrap_or(35.0);
    let sex = match p.sex.as_str() {
        "female" => Sex::Female,
        "male" => Sex::Male,
        other => {
            c.fail(
                "patient.sex",
                format!("{other:?}"),
                "must be \"female\" or \"male\"",
                "the skin thickness tables are split by sex",
            );
            Sex::Female
        }
    };
    let phototype = c
        .int(
            "patient.phototype",
            p.phototype,
            1,
            6,
            "Fitzpatrick phototypes are 1 (always burns, never tans) to 6 (never burns)",
        )
        .unwrap_or(3) as u8;
    let person = Person {
        age_years: age,
        sex,
        phototype,
    };

    let h = &raw.history;
    let diabetes = h.diabetes.as_deref().and_then(|s| {
        c.named(
            "history.diabetes",
            s,
            Diabetes::from_name,
            &Diabetes::allowed(),
            "\"uncontrolled\" means blood sugar not under control now",
        )
    });
    if raw.patient.sex == "male" && (h.pregnant || h.breastfeeding) {
        c.fail(
            "history.pregnant",
            "true",
            "is set for a male patient",
            "check the sex and history entries",
        );
    }
    let history = History {
        pregnant: h.pregnant,
        breastfeeding: h.breastfeeding,
        keloid_tendency: h.keloid_tendency,
        metal_allergy: h.metal_allergy,
        bleeding_disorder: h.bleeding_disorder,
        diabetes,
        immunosuppressed: h.immunosuppressed,
        cancer_treatment: h.cancer_treatment,
        pih_history: h.pih_history,
    };

    // Zones first (procedures refer to them).
    if raw.zones.is_empty() {
        c.fail(
            "zones",
            "[]",
            "at least one zone is required",
            "add a [[zones]] table with name, site and concerns",
        );
    }
    let mut names = BTreeSet::new();
    let mut zones = Vec::new();
    for (i, z) in raw.zones.iter().enumerate() {
        let path = |f: &str| format!("zones[{i}].{f}");
        let before = c.errors.len();
        if !valid_name(&z.name) {
            c.fail(
                &path("name"),
                format!("{:?}", z.name),
                "must be 1-64 letters, digits, `_` or `-`",
                "it names the zone in the plan",
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
        let area = z.area_cm2.and_then(|a| {
            c.range(
                &path("area_cm2"),
                a,
                1.0,
                2000.0,
                "cm²",
                "a full face is about 300 cm², both cheeks about 90 cm²",
            )
        });
        if z.concerns.is_empty() {
            c.fail(
                &path("concerns"),
                "[]",
                "at least one concern is required",
                "add e.g. concerns = [{ kind = \"fine_lines\" }]",
            );
        }
        let mut concerns = Vec::new();
        let mut kinds = BTreeSet::new();
        for (j, cf) in z.concerns.iter().enumerate() {
            let cp = |f: &str| format!("zones[{i}].concerns[{j}].{f}");
            let Some(kind) = c.named(
                &cp("kind"),
                &cf.kind,
                ConcernKind::from_name,
                &ConcernKind::allowed(),
                "one entry per concern",
            ) else {
                continue;
            };
            if !kinds.insert(kind) {
                c.fail(
                    &cp("kind"),
                    format!("{:?}", cf.kind),
                    "is listed twice in this zone",
                    "list each concern once per zone",
                );
            }
            let mut grade = None;
            let mut scar_types = Vec::new();
            if kind == ConcernKind::AcneScars {
                match cf.grade {
                    Some(g) => grade = c.int(&cp("grade"), g, 1, 4, "Goodman & Baron qualitative grade: 1 macular, 2 mild, 3 moderate, 4 severe").map(|g| g as u8),
                    None => c.fail(&cp("grade"), "(missing)", "is required for acne scars (Goodman & Baron 1-4)", "1 macular, 2 mild, 3 moderate, 4 severe"),
                }
                for (k, t) in cf.scar_types.iter().enumerate() {
                    if let Some(st) = c.named(
                        &format!("{}[{k}]", cp("scar_types")),
                        t,
                        ScarType::from_name,
                        &ScarType::allowed(),
                        "atrophic scar types",
                    ) && !scar_types.contains(&st)
                    {
                        scar_types.push(st);
                    }
                }
            } else if kind == ConcernKind::HairThinning {
                // The grade of androgenetic alopecia: Hamilton-Norwood 1-7 for men, Ludwig 1-3
                // for women (issue 20); none given: the hair model assumes grade 3 / 1.
                if let Some(g) = cf.grade {
                    let (hi, scale) = if sex == Sex::Male {
                        (7, "Hamilton-Norwood grade 1-7 (men)")
                    } else {
                        (3, "Ludwig grade 1-3 (women)")
                    };
                    grade = c.int(&cp("grade"), g, 1, hi, scale).map(|g| g as u8);
                }
            } else if let Some(g) = cf.grade {
                c.fail(
                    &cp("grade"),
                    g,
                    "applies only to acne scars (Goodman & Baron) and thinning hair (Norwood/Ludwig)",
                    "remove it",
                );
            }
            // Scar types belong to acne scars only.
            if kind != ConcernKind::AcneScars && !cf.scar_types.is_empty() {
                c.fail(
                    &cp("scar_types"),
                    format!("{:?}", cf.scar_types),
                    "applies only to acne scars",
                    "remove it",
                );
            }
            if let Some(site) = site {
                let scalp = site == Site::Scalp;
                if scalp != (kind == ConcernKind::HairThinning) {
                    c.fail(
                        &cp("kind"),
                        format!("{:?}", cf.kind),
                        if scalp {
                            "is not a scalp concern; the scalp takes only \"hair_thinning\""
                        } else {
                            "applies only to the scalp"
                        },
                        "put thinning hair in a zone with site = \"scalp\"",
                    );
                }
                if kind == ConcernKind::StretchMarks && is_facial(site) {
                    c.fail(
                        &cp("kind"),
                        "\"stretch_marks\"",
                        format!("is not expected on the face ({})", site.name()),
                        "stretch marks are treated on body sites (abdomen, thigh, chest, back)",
                    );
                }
            }
            concerns.push(PatientConcern {
                kind,
                grade,
                scar_types,
            });
        }
        let mut skin_state = Vec::new();
        for (k, s) in z.skin_state.iter().enumerate() {
            if let Some(st) = c.named(
                &format!("{}[{k}]", path("skin_state")),
                s,
                SkinState::from_name,
                &SkinState::allowed(),
                "list only what is present today",
            ) && !skin_state.contains(&st)
            {
                skin_state.push(st);
            }
        }
        if c.errors.len() > before {
            continue;
        }
        if let Some(site) = site {
            zones.push(PatientZone {
                name: z.name.clone(),
                site,
                area_cm2: area.unwrap_or_else(|| default_area_cm2(site)),
                area_assumed: area.is_none(),
                concerns,
                skin_state,
            });
        }
    }
    let mut skin_state = Vec::new();
    for (k, s) in raw.skin_state.iter().enumerate() {
        if let Some(st) = c.named(
            &format!("skin_state[{k}]"),
            s,
            SkinState::from_name,
            &SkinState::allowed(),
            "list only what is present today, everywhere",
        ) && !skin_state.contains(&st)
        {
            skin_state.push(st);
        }
    }

    let mut medications = Vec::new();
    for (i, m) in raw.medications.iter().enumerate() {
        let path = |f: &str| format!("medications[{i}].{f}");
        if m.name.trim().is_empty() {
            c.fail(
                &path("name"),
                "\"\"",
                "must not be empty",
                "the name as the patient gives it",
            );
        }
        let class = c.named(
            &path("class"),
            &m.class,
            MedicationClass::from_name,
            &MedicationClass::allowed(),
            "use \"other\" for medicines the rules do not know",
        );
        let started = c.opt_date(&path("started"), &m.started);
        let stopped = c.opt_date(&path("stopped"), &m.stopped);
        if let (Some(a), Some(b)) = (started, stopped)
            && b < a
        {
            c.fail(
                &path("stopped"),
                b,
                format!("is before the start date {a}"),
                "check the dates",
            );
        }
        if let (Some(a), Some(d)) = (started, date)
            && a > d
        {
            c.fail(
                &path("started"),
                a,
                format!("is after the consultation date {d}"),
                "list medicines taken now or before",
            );
        }
        if let Some(class) = class {
            medications.push(Medication {
                name: m.name.clone(),
                class,
                started,
                stopped,
            });
        }
    }

    let mut procedures = Vec::new();
    for (i, pr) in raw.procedures.iter().enumerate() {
        let path = |f: &str| format!("procedures[{i}].{f}");
        let kind = c.named(
            &path("kind"),
            &pr.kind,
            ProcedureKind::from_name,
            &ProcedureKind::allowed(),
            "earlier aesthetic or surgical procedures; use \"other\" for one the rules do not know",
        );
        let pd = c.date(&path("date"), &pr.date);
        if let (Some(a), Some(d)) = (pd, date)
            && a > d
        {
            c.fail(
                &path("date"),
                a,
                format!("is after the consultation date {d}"),
                "list procedures already done",
            );
        }
        for (k, zn) in pr.zones.iter().enumerate() {
            if !raw.zones.iter().any(|z| &z.name == zn) {
                let known: Vec<_> = raw.zones.iter().map(|z| z.name.as_str()).collect();
                c.fail(
                    &format!("{}[{k}]", path("zones")),
                    format!("{zn:?}"),
                    format!("is not a zone of this file; zones: {}", known.join(", ")),
                    "name the zones it was done in, or leave `zones` out for all",
                );
            }
        }
        if let (Some(kind), Some(pd)) = (kind, pd) {
            procedures.push(Procedure {
                kind,
                date: pd,
                zones: pr.zones.clone(),
                detail: pr.detail.clone(),
            });
        }
    }

    let g = &raw.goals;
    let max_downtime = g.max_downtime_days.and_then(|v| {
        c.range(
            "goals.max_downtime_days",
            v,
            0.0,
            30.0,
            "days",
            "downtime is the days of visible redness or swelling after one session",
        )
    });
    let max_sessions = g.max_sessions.and_then(|v| {
        c.int(
            "goals.max_sessions",
            v,
            1,
            20,
            "series are usually 3-6 sessions",
        )
    });
    let max_pih = g.max_pih_risk_pct.and_then(|v| {
        c.range(
            "goals.max_pih_risk_pct",
            v,
            1.0,
            100.0,
            "%",
            "the highest acceptable chance of dark marks after the series, in per cent (the planner's default for phototype IV-VI is 20)",
        )
    });
    let earliest = c.opt_date("goals.earliest_start", &g.earliest_start);
    let finish_by = c.opt_date("goals.finish_by", &g.finish_by);
    if let (Some(e), Some(d)) = (earliest, date)
        && e < d
    {
        c.fail(
            "goals.earliest_start",
            e,
            format!("is before the consultation date {d}"),
            "leave it out to start from the consultation",
        );
    }
    if let (Some(f), Some(d)) = (finish_by, date)
        && f <= d
    {
        c.fail(
            "goals.finish_by",
            f,
            format!("is not after the consultation date {d}"),
            "give the date by which the series and its downtime should be over",
        );
    }
    let mut blackout = Vec::new();
    for (i, b) in g.blackout.iter().enumerate() {
        let from = c.date(&format!("goals.blackout[{i}].from"), &b.from);
        let to = c.date(&format!("goals.blackout[{i}].to"), &b.to);
        if let (Some(f), Some(t)) = (from, to) {
            if t < f {
                c.fail(
                    &format!("goals.blackout[{i}].to"),
                    t,
                    format!("is before `from` = {f}"),
                    "swap the two dates",
                );
            } else if f.days_until(t) > 3 * 366 {
                c.fail(
                    &format!("goals.blackout[{i}].to"),
                    t,
                    "makes a blackout longer than 3 years",
                    "check the year",
                );
            } else {
                blackout.push(Blackout {
                    from: f,
                    to: t,
                    reason: b.reason.clone(),
                });
            }
        }
    }
    let numbing = g
        .numbing
        .as_deref()
        .map_or(Some(NumbingChoice::Lidocaine4Liposomal), |s| {
            c.named(
                "goals.numbing",
                s,
                NumbingChoice::from_name,
                &NumbingChoice::allowed(),
                "liposomal 4 % lidocaine needs no occlusion",
            )
        })
        .unwrap_or(NumbingChoice::Lidocaine4Liposomal);
    let device = g
        .device
        .as_deref()
        .map_or(Some(DeviceChoice::Pen), |s| {
            c.named(
                "goals.device",
                s,
                DeviceChoice::from_name,
                &DeviceChoice::allowed(),
                "clinics mostly use automated pens",
            )
        })
        .unwrap_or(DeviceChoice::Pen);

    for (i, w) in raw.practitioner.waive.iter().enumerate() {
        match super::rules::rule(w) {
            None => {
                let ids: Vec<_> = super::rules::RULES
                    .iter()
                    .filter(|r| r.waivable)
                    .map(|r| r.id)
                    .collect();
                c.fail(
                    &format!("practitioner.waive[{i}]"),
                    format!("{w:?}"),
                    format!("is not a waivable rule; waivable: {}", ids.join(", ")),
                    "use the rule id shown in the plan",
                );
            }
            Some(r) if !r.waivable => c.fail(
                &format!("practitioner.waive[{i}]"),
                format!("{w:?}"),
                format!(
                    "is a do-not-treat rule (grade {}) and cannot be waived",
                    r.grade.label()
                ),
                "treat the zone once the finding has resolved",
            ),
            Some(_) => {}
        }
    }

    let params = c.model_params(&raw.params);

    let (true, Some(date)) = (c.errors.is_empty(), date) else {
        return Err(PatientError::Invalid {
            file: file.to_string(),
            errors: crate::input::point_into_book("patient", c.errors),
        });
    };
    Ok(Patient {
        title: raw
            .title
            .clone()
            .unwrap_or_else(|| "untitled patient".into()),
        date,
        person,
        history,
        medications,
        procedures,
        skin_state,
        zones,
        goals: Goals {
            max_downtime_days: max_downtime,
            max_sessions,
            max_pih_risk_pct: max_pih,
            earliest_start: earliest,
            finish_by,
            blackout,
            numbing,
            device,
            notes: g.notes.clone(),
        },
        waive: raw.practitioner.waive.clone(),
        params,
    })
}
