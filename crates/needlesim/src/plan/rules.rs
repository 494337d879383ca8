//! Screening: each finding in the patient file becomes "do not treat" (why, and from when it
//! can be reconsidered), "treat with precautions" (which) or a note, with its evidence level.
//!
//! Policy (see `docs/PLANNER.md`):
//!
//! * **Do not treat** needs peer-reviewed support (grade A or B). It cannot be waived.
//! * Findings supported only by clinic pages (grade C) are **precautions**. Where the source
//!   advises waiting, the precaution carries that *advised deferral* and the planner schedules
//!   after it by default (the conservative choice); the practitioner may set it aside by listing
//!   the rule id under `practitioner.waive`, and the plan records that.
//! * A zone-local finding excludes or defers the zone, not the person.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::date::Date;
use super::evidence::Grade;
use super::patient::{Diabetes, MedicationClass, Patient, ProcedureKind, SkinState};

/// The three outcomes of a rule.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    DoNotTreat,
    Precaution,
    Note,
}

impl Category {
    pub fn label(self) -> &'static str {
        match self {
            Category::DoNotTreat => "do not treat",
            Category::Precaution => "precaution",
            Category::Note => "note",
        }
    }
}

/// Until when a finding holds treatment back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Deferral {
    /// Until a computed date (inclusive: treatment can be reconsidered on this date).
    Date { date: Date },
    /// Until a condition is met (re-assess at a later visit).
    Condition { condition: String },
}

/// One rule of the table.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct RuleInfo {
    pub id: &'static str,
    /// The finding it looks for.
    pub finding: &'static str,
    pub category: Category,
    pub grade: Grade,
    /// Whether it is zone-local (excludes or defers the zone only).
    pub zone_local: bool,
    /// What the rule does.
    pub effect: &'static str,
    /// Source keys ([`super::evidence::SOURCES`]).
    pub sources: &'static [&'static str],
    /// Whether `practitioner.waive` may set aside its deferral.
    pub waivable: bool,
}

/// The rule table (also printed in `docs/PLANNER.md`).
pub const RULES: &[RuleInfo] = &[
    RuleInfo {
        id: "infection",
        finding: "active skin infection, or active herpes (cold sore), in the zone (or everywhere)",
        category: Category::DoNotTreat,
        grade: Grade::B,
        zone_local: true,
        effect: "zone excluded until healed; re-assess at a later visit",
        sources: &["chu2021", "soc-chapter", "clinic-contra"],
        waivable: false,
    },
    RuleInfo {
        id: "skin-flare",
        finding: "inflamed acne, or an eczema, psoriasis or rosacea flare in the zone",
        category: Category::Precaution,
        grade: Grade::C,
        zone_local: true,
        effect: "zone deferred until the flare has settled",
        sources: &["clinic-contra"],
        waivable: true,
    },
    RuleInfo {
        id: "wound-sunburn",
        finding: "sunburn or an open wound in the zone",
        category: Category::Precaution,
        grade: Grade::C,
        zone_local: true,
        effect: "zone deferred until healed",
        sources: &["commonly-listed"],
        waivable: true,
    },
    RuleInfo {
        id: "lesion-in-field",
        finding: "a suspicious lesion or warts in the zone",
        category: Category::Precaution,
        grade: Grade::C,
        zone_local: true,
        effect: "zone deferred until a doctor has assessed the lesion",
        sources: &["clinic-contra"],
        waivable: true,
    },
    RuleInfo {
        id: "not-checked",
        finding: "a medicine (class \"other\") or procedure (kind \"other\") the rules do not know",
        category: Category::Precaution,
        grade: Grade::Planner,
        zone_local: false,
        effect: "listed as not checked by the rules - ask the practitioner; never dropped",
        sources: &[],
        waivable: false,
    },
    RuleInfo {
        id: "pregnancy",
        finding: "pregnancy or breastfeeding",
        category: Category::Precaution,
        grade: Grade::C,
        zone_local: false,
        effect: "all zones deferred until after pregnancy and breastfeeding",
        sources: &["clinic-contra"],
        waivable: true,
    },
    RuleInfo {
        id: "anticoagulant",
        finding: "anticoagulant or antiplatelet medicine, or a bleeding disorder",
        category: Category::Precaution,
        grade: Grade::C,
        zone_local: false,
        effect: "deferred until the prescribing doctor agrees (then waive); more bleeding and bruising expected",
        sources: &["clinic-contra"],
        waivable: true,
    },
    RuleInfo {
        id: "systemic",
        finding: "uncontrolled diabetes, immunosuppression, or current chemo- or radiotherapy",
        category: Category::Precaution,
        grade: Grade::C,
        zone_local: false,
        effect: "deferred until controlled / the treating doctor agrees (then waive)",
        sources: &["clinic-contra"],
        waivable: true,
    },
    RuleInfo {
        id: "isotretinoin",
        finding: "oral isotretinoin now or stopped less than 6 months ago",
        category: Category::Precaution,
        grade: Grade::B,
        zone_local: false,
        effect: "deferred until 6 months after the last dose (package insert); a consensus found no evidence to delay superficial procedures, so the practitioner may waive",
        sources: &["waldman2017", "clinic-intervals"],
        waivable: true,
    },
    RuleInfo {
        id: "filler",
        finding: "filler in the zone less than 3 months ago",
        category: Category::Precaution,
        grade: Grade::C,
        zone_local: true,
        effect: "zone deferred until 3 months after the filler (clinic pages: 3-12 months)",
        sources: &["clinic-intervals"],
        waivable: true,
    },
    RuleInfo {
        id: "toxin",
        finding: "botulinum toxin in the zone less than 3 months ago",
        category: Category::Precaution,
        grade: Grade::C,
        zone_local: true,
        effect: "zone deferred until 3 months after the injection",
        sources: &["clinic-intervals"],
        waivable: true,
    },
    RuleInfo {
        id: "peel",
        finding: "chemical peel in the zone less than 30 days ago",
        category: Category::Precaution,
        grade: Grade::C,
        zone_local: true,
        effect: "zone deferred until 30 days after the peel (a clinic page, for deep peels; applied to any peel)",
        sources: &["clinic-intervals"],
        waivable: true,
    },
    RuleInfo {
        id: "laser",
        finding: "laser treatment in the zone less than 30 days ago",
        category: Category::Precaution,
        grade: Grade::Planner,
        zone_local: true,
        effect: "zone deferred until 30 days after the laser (no interval found; taken from peels)",
        sources: &["clinic-intervals"],
        waivable: true,
    },
    RuleInfo {
        id: "surgery",
        finding: "surgery in the zone less than 3 months ago",
        category: Category::Precaution,
        grade: Grade::C,
        zone_local: true,
        effect: "zone deferred until 3 months after surgery (clinic pages: 3-12 months)",
        sources: &["clinic-intervals"],
        waivable: true,
    },
    RuleInfo {
        id: "recent-microneedling",
        finding: "microneedling in the zone less than 4 weeks ago",
        category: Category::Precaution,
        grade: Grade::B,
        zone_local: true,
        effect: "zone deferred until 4 weeks after the last session (median trial interval)",
        sources: &["harris2015"],
        waivable: true,
    },
    RuleInfo {
        id: "keloid",
        finding: "keloid or hypertrophic-scar tendency",
        category: Category::Precaution,
        grade: Grade::B,
        zone_local: false,
        effect: "relative contraindication: deferred until the practitioner has discussed the risk and decided (then waive)",
        sources: &["soc-chapter"],
        waivable: true,
    },
    RuleInfo {
        id: "darker-skin",
        finding: "Fitzpatrick phototype IV-VI",
        category: Category::Precaution,
        grade: Grade::B,
        zone_local: false,
        effect: "gentler settings (lower half of the depth range), 6-week intervals, strict sun protection",
        sources: &["chu2021", "pmid23216209", "jaad2016-soc"],
        waivable: false,
    },
    RuleInfo {
        id: "pih-history",
        finding: "earlier post-inflammatory hyperpigmentation",
        category: Category::Precaution,
        grade: Grade::B,
        zone_local: false,
        effect: "treated like phototype IV-VI for settings and intervals; strict sun protection",
        sources: &["chu2021"],
        waivable: false,
    },
    RuleInfo {
        id: "metal-allergy",
        finding: "metal (nickel) allergy",
        category: Category::Precaution,
        grade: Grade::B,
        zone_local: false,
        effect: "check the needle material; granulomatous and allergic reactions are reported",
        sources: &["chu2021"],
        waivable: false,
    },
    RuleInfo {
        id: "topical-retinoid",
        finding: "topical retinoid in use",
        category: Category::Note,
        grade: Grade::C,
        zone_local: false,
        effect: "pause it for 5-7 days after each session",
        sources: &["aftercare-clinics"],
        waivable: false,
    },
    RuleInfo {
        id: "icepick-scars",
        finding: "ice-pick acne scars",
        category: Category::Note,
        grade: Grade::A,
        zone_local: true,
        effect: "ice-pick scars improved only slightly with needling alone; discuss other options for them",
        sources: &["acne-trials"],
        waivable: false,
    },
];

/// The rule with this id.
pub fn rule(id: &str) -> Option<&'static RuleInfo> {
    RULES.iter().find(|r| r.id == id)
}

/// One finding about this patient.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    /// Rule id.
    pub rule: String,
    pub category: Category,
    /// The zone it applies to; `None` for the whole person.
    pub zone: Option<String>,
    /// What was found, in words.
    pub finding: String,
    /// Why it matters, and what to do.
    pub advice: String,
    /// Advised deferral, if any.
    pub defer: Option<Deferral>,
    /// Whether the practitioner set the deferral aside (`practitioner.waive`).
    pub waived: bool,
    pub grade: Grade,
    pub sources: Vec<String>,
}

impl Finding {
    /// Whether this finding currently holds treatment back (deferral not waived, or do not
    /// treat).
    pub fn holds_back(&self) -> bool {
        self.category == Category::DoNotTreat || (self.defer.is_some() && !self.waived)
    }
}

struct Ctx<'a> {
    p: &'a Patient,
    out: Vec<Finding>,
}

impl Ctx<'_> {
    fn add(
        &mut self,
        id: &str,
        zone: Option<&str>,
        finding: String,
        advice: String,
        defer: Option<Deferral>,
    ) {
        let Some(r) = rule(id) else { return };
        let waived = r.waivable && self.p.waive.iter().any(|w| w == id);
        self.out.push(Finding {
            rule: id.to_string(),
            category: r.category,
            zone: zone.map(str::to_string),
            finding,
            advice,
            defer,
            waived,
            grade: r.grade,
            sources: r.sources.iter().map(|s| s.to_string()).collect(),
        });
    }
}

fn cond(s: &str) -> Option<Deferral> {
    Some(Deferral::Condition {
        condition: s.to_string(),
    })
}

/// Screens the patient: every finding, zone-local ones per zone.
pub fn screen(p: &Patient) -> Vec<Finding> {
    let mut cx = Ctx { p, out: Vec::new() };
    let today = p.date;

    // Skin state, per zone (person-wide states apply to every zone).
    for z in &p.zones {
        let states: Vec<SkinState> = z.skin_state.iter().chain(&p.skin_state).copied().collect();
        let mut seen = Vec::new();
        for s in states {
            if seen.contains(&s) {
                continue;
            }
            seen.push(s);
            let zn = Some(z.name.as_str());
            match s {
                SkinState::Infection | SkinState::Herpes => cx.add(
                    "infection",
                    zn,
                    format!("{} in zone `{}`", s.label(), z.name),
                    "Needling through an active infection risks spreading it; active infection is a listed risk factor (systematic review) and a relative contraindication in skin of colour. Treat the zone only once healed; other zones are not affected unless infected. For herpes, ask the prescriber about prevention before needling near the mouth.".into(),
                    cond("the infection has healed (re-assess at a later visit)"),
                ),
                SkinState::InflamedAcne | SkinState::EczemaFlare | SkinState::PsoriasisFlare | SkinState::RosaceaFlare => cx.add(
                    "skin-flare",
                    zn,
                    format!("{} in zone `{}`", s.label(), z.name),
                    "Clinic protocols list active inflammatory skin disease in the field as a contraindication (grade C only). The planner defers the zone until the flare has settled.".into(),
                    cond("the flare has settled (re-assess at a later visit)"),
                ),
                SkinState::Sunburn | SkinState::OpenWound => cx.add(
                    "wound-sunburn",
                    zn,
                    format!("{} in zone `{}`", s.label(), z.name),
                    "Commonly listed as a contraindication (grade C). Defer the zone until the skin has healed.".into(),
                    cond("the skin has healed (re-assess at a later visit)"),
                ),
                SkinState::SuspiciousLesion | SkinState::Warts => cx.add(
                    "lesion-in-field",
                    zn,
                    format!("{} in zone `{}`", s.label(), z.name),
                    "Clinic protocols exclude malignancy, warts and moles in the field (grade C). A suspicious lesion should be assessed by a doctor first; needle around, never through, benign lesions.".into(),
                    cond("a doctor has assessed the lesion"),
                ),
            }
        }
    }

    let h = &p.history;
    if h.pregnant || h.breastfeeding {
        let what = match (h.pregnant, h.breastfeeding) {
            (true, true) => "pregnant and breastfeeding",
            (true, false) => "pregnant",
            _ => "breastfeeding",
        };
        cx.add(
            "pregnancy",
            None,
            format!("patient is {what}"),
            "Clinic protocols list pregnancy and breastfeeding as contraindications (grade C; no trial data either way). The planner defers treatment until after both.".into(),
            cond("pregnancy and breastfeeding are over"),
        );
    }

    let anticoag: Vec<&str> = p
        .medications
        .iter()
        .filter(|m| {
            matches!(
                m.class,
                MedicationClass::Anticoagulant | MedicationClass::Antiplatelet
            ) && m.stopped.is_none_or(|s| s > today)
        })
        .map(|m| m.name.as_str())
        .collect();
    if !anticoag.is_empty() || h.bleeding_disorder {
        let mut what = Vec::new();
        if !anticoag.is_empty() {
            what.push(format!("taking {}", anticoag.join(", ")));
        }
        if h.bleeding_disorder {
            what.push("bleeding disorder".to_string());
        }
        cx.add(
            "anticoagulant",
            None,
            what.join("; "),
            "Clinic protocols list bleeding disorders and anticoagulants/aspirin as contraindications (grade C). Do not stop the medicine without the prescriber. With the prescriber's agreement (then waive `anticoagulant`), expect more bleeding and bruising; do not aim for pinpoint bleeding as the end point.".into(),
            cond("the prescribing doctor agrees"),
        );
    }

    let mut sys = Vec::new();
    if h.diabetes == Some(Diabetes::Uncontrolled) {
        sys.push("uncontrolled diabetes");
    }
    if h.immunosuppressed
        || p.medications.iter().any(|m| {
            m.class == MedicationClass::Immunosuppressant && m.stopped.is_none_or(|s| s > today)
        })
    {
        sys.push("immunosuppression");
    }
    if h.cancer_treatment
        || p.medications.iter().any(|m| {
            m.class == MedicationClass::Chemotherapy && m.stopped.is_none_or(|s| s > today)
        })
    {
        sys.push("current chemo- or radiotherapy");
    }
    if !sys.is_empty() {
        cx.add(
            "systemic",
            None,
            sys.join(", "),
            "Clinic protocols list these as contraindications (grade C): healing and infection risk. Defer until controlled or the treating doctor agrees (then waive `systemic`).".into(),
            cond("the condition is controlled and the treating doctor agrees"),
        );
    }

    for m in p
        .medications
        .iter()
        .filter(|m| m.class == MedicationClass::Isotretinoin)
    {
        match m.stopped {
            None => cx.add(
                "isotretinoin",
                None,
                format!("taking oral isotretinoin ({})", m.name),
                "The package insert advises stopping isotretinoin 6 months before cosmetic procedures; an expert consensus (ASDS 2017) found insufficient evidence to justify delaying superficial peels and non-ablative lasers, and clinic pages use 'currently taking' or 3 months. The planner defers until 6 months after the last dose; the practitioner may decide otherwise (waive `isotretinoin`).".into(),
                cond("6 months after the last dose (give the stop date to compute it)"),
            ),
            Some(stop) => {
                let until = stop.add_months(6);
                if until > today {
                    cx.add(
                        "isotretinoin",
                        None,
                        format!("oral isotretinoin ({}) {} {stop}", m.name, if stop > today { "to stop on" } else { "stopped on" }),
                        format!("The package insert advises 6 months off isotretinoin before cosmetic procedures (until {until}); an expert consensus (ASDS 2017) found insufficient evidence to delay superficial procedures, and clinic pages use 3 months ({}). The planner defers until {until}; the practitioner may decide otherwise (waive `isotretinoin`).", stop.add_months(3)),
                        Some(Deferral::Date { date: until }),
                    );
                }
            }
        }
    }

    // What the rules do not know is listed, never dropped (issue 21).
    for m in p
        .medications
        .iter()
        .filter(|m| m.class == MedicationClass::Other)
    {
        let when = match m.stopped {
            Some(s) if s <= today => format!(", stopped on {s}"),
            Some(s) => format!(", to stop on {s}"),
            None => String::new(),
        };
        cx.add(
            "not-checked",
            None,
            format!("medicine `{}` (class \"other\"{when}): not checked by the rules - ask the practitioner", m.name),
            "The screening rules know only the classes listed in docs/PLANNER.md; this medicine was not checked against anything. The practitioner checks it (bleeding, healing, photosensitivity, interactions with numbing cream) before treating.".into(),
            None,
        );
    }
    for pr in p
        .procedures
        .iter()
        .filter(|pr| pr.kind == ProcedureKind::Other)
    {
        let detail = pr
            .detail
            .as_deref()
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        let zones = if pr.zones.is_empty() {
            "all zones".to_string()
        } else {
            pr.zones.join(", ")
        };
        cx.add(
            "not-checked",
            None,
            format!("procedure{detail} on {} in {zones} (kind \"other\"): not checked by the rules - ask the practitioner", pr.date),
            "The screening rules know only the procedures listed in docs/PLANNER.md; this one was not checked and no waiting time was applied. The practitioner decides whether the skin has recovered.".into(),
            None,
        );
    }

    for pr in &p.procedures {
        let (id, until) = match pr.kind {
            ProcedureKind::Filler => ("filler", pr.date.add_months(3)),
            ProcedureKind::BotulinumToxin => ("toxin", pr.date.add_months(3)),
            ProcedureKind::ChemicalPeel => ("peel", pr.date.add_days(30)),
            ProcedureKind::Laser => ("laser", pr.date.add_days(30)),
            ProcedureKind::Surgery => ("surgery", pr.date.add_months(3)),
            ProcedureKind::Microneedling => ("recent-microneedling", pr.date.add_days(28)),
            ProcedureKind::Other => continue,
        };
        if until <= today {
            continue;
        }
        let zones: Vec<&str> = if pr.zones.is_empty() {
            p.zones.iter().map(|z| z.name.as_str()).collect()
        } else {
            pr.zones.iter().map(String::as_str).collect()
        };
        let detail = pr
            .detail
            .as_deref()
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        let basis = rule(id).map_or("", |r| r.effect);
        for zn in zones {
            cx.add(
                id,
                Some(zn),
                format!("{}{detail} on {} in zone `{zn}`", pr.kind.label(), pr.date),
                format!("Advised wait: {basis}. Reconsider from {until}."),
                Some(Deferral::Date { date: until }),
            );
        }
    }

    if h.keloid_tendency {
        cx.add(
            "keloid",
            None,
            "keloid or hypertrophic-scar tendency".into(),
            "A relative contraindication (skin-of-colour chapter). Discuss the risk; if the practitioner decides to go ahead (waive `keloid`), the planner keeps to the lower part of the depth range.".into(),
            cond("the practitioner has discussed the risk and decided"),
        );
    }
    let pt = p.person.phototype;
    if pt >= 4 {
        cx.add(
            "darker-skin",
            None,
            format!("Fitzpatrick phototype {}", roman(pt)),
            "Darker skin is a risk factor for post-inflammatory hyperpigmentation (systematic review). A trial in phototypes I-VI with 3 monthly sessions saw no dyschromia, and microneedling is thought safer than resurfacing in IV-VI. The planner uses the lower half of each depth range, 6-week intervals, and strict sun protection.".into(),
            None,
        );
    }
    if h.pih_history {
        cx.add(
            "pih-history",
            None,
            "earlier post-inflammatory hyperpigmentation".into(),
            "The planner uses the same gentler settings and longer intervals as for phototypes IV-VI, with strict sun protection.".into(),
            None,
        );
    }
    if h.metal_allergy {
        cx.add(
            "metal-allergy",
            None,
            "metal (nickel) allergy".into(),
            "Allergic and granulomatous reactions are reported risk factors (systematic review). Check the needle alloy of the cartridge or roller with the manufacturer before treating.".into(),
            None,
        );
    }
    if p.medications
        .iter()
        .any(|m| m.class == MedicationClass::TopicalRetinoid && m.stopped.is_none_or(|s| s > today))
    {
        cx.add(
            "topical-retinoid",
            None,
            "topical retinoid in use".into(),
            "Aftercare pages advise no retinoids, acids or exfoliants for 5-7 days after each session; the aftercare timeline gives the dates.".into(),
            None,
        );
    }
    for z in &p.zones {
        if z.concerns
            .iter()
            .any(|c| c.scar_types.contains(&super::patient::ScarType::Icepick))
        {
            cx.add(
                "icepick-scars",
                Some(&z.name),
                format!("ice-pick scars in zone `{}`", z.name),
                "In a trial of 1.5 mm rolling (5 monthly sessions) rolling and boxcar scars did well but ice-pick scars improved only slightly; set expectations and discuss other options for them. The model's acne-scar score is calibrated on a mixed-scar cohort and does not single ice-pick scars out: for ice-pick scars alone its prediction is marked uncalibrated, and in a mix expect less for the ice-pick scars than the zone's prediction.".into(),
                None,
            );
        }
    }
    cx.out
}

/// Roman numeral of a phototype.
pub fn roman(pt: u8) -> &'static str {
    ["0", "I", "II", "III", "IV", "V", "VI"]
        .get(pt as usize)
        .copied()
        .unwrap_or("?")
}

/// Whether gentler settings apply (phototype IV-VI or earlier PIH).
pub fn gentle(p: &Patient) -> bool {
    p.person.phototype >= 4 || p.history.pih_history
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/PLANNER.md lists every rule with its grade; a new or changed rule must be documented.
    #[test]
    fn every_rule_is_in_the_docs() {
        let doc = include_str!("../../../../docs/PLANNER.md");
        for r in RULES {
            let row = doc
                .lines()
                .find(|l| l.starts_with(&format!("| `{}` |", r.id)))
                .unwrap_or_else(|| panic!("rule {} missing from docs/PLANNER.md", r.id));
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            assert_eq!(cells[3], r.category.label(), "{}", r.id);
            assert_eq!(cells[4], r.grade.label(), "{}", r.id);
            for s in r.sources {
                assert!(
                    super::super::evidence::SOURCES.iter().any(|x| x.key == *s),
                    "{s}"
                );
            }
        }
    }
}
