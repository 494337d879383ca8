//! The `[hair]` section of a scenario file (issue 20): arms of a scalp protocol compared in one
//! `simulate` run (needling from the scenario's device, technique and `[protocol]` session
//! days; a scalp product; PRP).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Checker;
use crate::scenario::{HairArmSpec, HairSpec, ZoneSetup};
use crate::skin::{Sex, Site};

/// Hair outputs of a scalp zone: the person's alopecia and the arms to compare.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HairFile {
    /// "none", "norwood" (men, grades 1-7) or "ludwig" (women, grades 1-3).
    pub alopecia_scale: String,
    /// Grade on that scale (0 with "none").
    pub alopecia_grade: i64,
    /// Measured hair density of a scalp area without hair loss, hairs/cm² (50-400); default:
    /// the table value for the person's age.
    #[serde(default)]
    pub density_per_cm2: Option<f64>,
    /// Days simulated (1-730); default: the protocol's last session + follow-up.
    #[serde(default)]
    pub duration_days: Option<f64>,
    /// Days at which hair counts are reported (each within the run).
    #[serde(default)]
    pub report_days: Vec<f64>,
    /// The arms (1-8).
    pub arms: Vec<HairArmFile>,
}

/// One arm.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HairArmFile {
    pub name: String,
    /// Needling at the `[protocol]` session days with the scenario's device.
    #[serde(default)]
    pub needling: bool,
    /// A scalp product of the compound library (e.g. "minoxidil_5_solution").
    #[serde(default)]
    pub product: Option<String>,
    /// Applications of the product per day (1-4, default 2).
    #[serde(default)]
    pub applications_per_day: Option<i64>,
    /// Hours after a needling session before the next application (0-168, default 24).
    #[serde(default)]
    pub delay_after_needling_h: Option<f64>,
    /// Platelet-rich plasma at each needling session.
    #[serde(default)]
    pub prp: bool,
}

/// Checks the section against the zones and person.
pub(crate) fn validate(
    c: &mut Checker,
    h: &HairFile,
    zones: &[ZoneSetup],
    sex: Sex,
    has_sessions: bool,
) -> Option<HairSpec> {
    let n0 = c.errors.len();
    for (i, z) in zones.iter().enumerate() {
        if z.zone.site != Site::Scalp {
            c.fail(
                &format!("zones[{i}].site"),
                format!("{:?}", z.zone.site.name()),
                "has no terminal hair: the [hair] section's outputs exist only on the scalp",
                "give every zone site = \"scalp\", or remove the [hair] section",
            );
        }
    }
    let scale = crate::hair::Scale::from_name(&h.alopecia_scale);
    if scale.is_none() {
        c.fail(
            "hair.alopecia_scale",
            format!("{:?}", h.alopecia_scale),
            "allowed: none, norwood, ludwig",
            "norwood (Hamilton-Norwood) for men, ludwig for women",
        );
    }
    if let Some(s) = scale {
        let (lo, hi) = s.grades();
        c.int(
            "hair.alopecia_grade",
            h.alopecia_grade,
            i64::from(lo),
            i64::from(hi),
            &format!("the {} scale has grades {lo}-{hi}", s.name()),
        );
        let wrong = matches!(
            (s, sex),
            (crate::hair::Scale::Ludwig, Sex::Male) | (crate::hair::Scale::Norwood, Sex::Female)
        );
        if wrong {
            c.fail(
                "hair.alopecia_scale",
                format!("{:?}", h.alopecia_scale),
                "does not match person.sex",
                "norwood for men, ludwig for women",
            );
        }
    }
    if let Some(d) = h.density_per_cm2 {
        c.range(
            "hair.density_per_cm2",
            d,
            50.0,
            400.0,
            "hairs/cm²",
            "adults without hair loss have 150-300/cm²",
        );
    }
    if let Some(d) = h.duration_days {
        c.range(
            "hair.duration_days",
            d,
            1.0,
            730.0,
            "days",
            "up to two years",
        );
    }
    if h.arms.is_empty() || h.arms.len() > 8 {
        c.fail(
            "hair.arms",
            h.arms.len(),
            "must list 1-8 arms",
            "e.g. [[hair.arms]] name = \"minoxidil\" product = \"minoxidil_5_solution\"",
        );
    }
    let lib = crate::delivery::compounds::Library::builtin();
    let mut arms = Vec::new();
    for (i, a) in h.arms.iter().enumerate() {
        let p = |f: &str| format!("hair.arms[{i}].{f}");
        if a.needling && !has_sessions {
            c.fail(
                &p("needling"),
                "true",
                "needs [protocol] session_days",
                "add a [protocol] section with the needling session days",
            );
        }
        if let Some(name) = &a.product {
            match lib.product(name) {
                Ok(prod) => {
                    if !crate::hair::drivers::SCALP_COMPOUNDS.contains(&prod.compound.as_str()) {
                        c.fail(
                            &p("product"),
                            format!("{name:?}"),
                            format!(
                                "is not a scalp product (its active is {}; scalp actives: {})",
                                prod.compound,
                                crate::hair::drivers::SCALP_COMPOUNDS.join(", ")
                            ),
                            "name a minoxidil product (minoxidil_5_solution), or remove it for needling alone",
                        );
                    }
                }
                Err(e) => c.fail(
                    &p("product"),
                    format!("{name:?}"),
                    e.to_string(),
                    "see data/compounds.toml",
                ),
            }
        }
        let apps = a.applications_per_day.map_or(Some(2), |v| {
            c.int(&p("applications_per_day"), v, 1, 4, "once or twice a day")
        });
        let delay = c.opt(
            &p("delay_after_needling_h"),
            a.delay_after_needling_h,
            24.0,
            0.0,
            168.0,
            "h",
            "trials withheld minoxidil for a day after needling",
        );
        if a.prp && !a.needling {
            c.fail(
                &p("prp"),
                "true",
                "is given at needling sessions",
                "set needling = true in this arm, or remove prp",
            );
        }
        arms.push(HairArmSpec {
            name: a.name.clone(),
            needling: a.needling,
            product: a.product.clone(),
            applications_per_day: apps.unwrap_or(2),
            delay_after_needling_h: delay,
            prp: a.prp,
        });
    }
    if c.errors.len() > n0 {
        return None;
    }
    Some(HairSpec {
        alopecia_scale: scale?.name().to_string(),
        alopecia_grade: h.alopecia_grade as u8,
        density_per_cm2: h.density_per_cm2,
        duration_days: h.duration_days,
        report_days: h.report_days.clone(),
        arms,
    })
}
