//! Aftercare: a dated timeline for each session, and the warning signs that call for the
//! clinic. Instructions come from clinic aftercare pages (grade C, `literature/biology.md`
//! §6.4); the warning signs from the adverse events of a systematic review (Chu 2021, grade B).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::date::Date;
use super::evidence::Grade;

/// One step of the timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Step {
    /// "first hours", "24 h", "48-72 h", "first week", "before the next session".
    pub phase: String,
    pub from: Date,
    pub to: Date,
    pub instructions: Vec<String>,
    pub grade: Grade,
}

/// The timeline after one session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SessionAftercare {
    /// Session number (1-based) in the visit list.
    pub session: u32,
    pub date: Date,
    pub zones: Vec<String>,
    pub steps: Vec<Step>,
}

/// Warning signs that call for the clinic (Chu 2021: transient events last up to 7 days;
/// persistent ones are PIH, tram-track scarring and granulomas; infection is a risk factor).
pub fn warning_signs() -> Vec<String> {
    vec![
        "redness, swelling or pain that gets worse after the second day instead of better".into(),
        "pus, yellow crusts, fever, or red streaks spreading from the area (infection)".into(),
        "blisters or cold sores in or near the treated area".into(),
        "redness or swelling still there after 7 days".into(),
        "darkening patches (hyperpigmentation), especially in darker skin".into(),
        "lines or tracks in the pattern of the device, or lumps and bumps under the skin (tram-track marks, granulomas)".into(),
        "itchy rash, hives or swelling after a product was applied (allergic reaction)".into(),
    ]
}

/// The timeline after a session on `date`; `next` is the next session, if any.
pub fn timeline(
    session: u32,
    date: Date,
    zones: Vec<String>,
    next: Option<Date>,
    strict_sun: bool,
) -> SessionAftercare {
    let s = |phase: &str, a: i64, b: i64, ins: &[&str]| Step {
        phase: phase.into(),
        from: date.add_days(a),
        to: date.add_days(b),
        instructions: ins.iter().map(|x| x.to_string()).collect(),
        grade: Grade::C,
    };
    let mut steps = vec![
        s(
            "first hours",
            0,
            0,
            &[
                "redness like a sunburn, slight swelling and pinpoint bleeding points are the usual end point",
                "leave the skin alone: no makeup, no touching; only the sterile serum or bland moisturiser applied at the clinic",
                "stay out of the sun; drink water (hydration)",
            ],
        ),
        s(
            "24 h",
            1,
            1,
            &[
                "wash with lukewarm water and a gentle cleanser; pat dry with a clean towel",
                "bland hyaluronic-acid moisturiser; mineral SPF 30+ from about 24 h",
                "no makeup yet (24-48 h); clean pillowcase",
            ],
        ),
        s(
            "48-72 h",
            2,
            3,
            &[
                "makeup may be resumed after 48 h if the skin is calm",
                "no vigorous exercise, sweating, sauna, steam or swimming until 72 h",
                "mild dryness or flaking is expected; keep moisturising, do not pick",
            ],
        ),
        s(
            "first week",
            4,
            7,
            &[
                "no retinoids, AHA/BHA acids, vitamin C serums or exfoliants until day 7",
                "strict sun avoidance for about a week; SPF 30+ every morning and on re-exposure",
            ],
        ),
    ];
    if strict_sun {
        steps[3].instructions.push(
            "darker skin or earlier hyperpigmentation: keep strict sun protection for the whole series (hat, shade, SPF 30+ reapplied)".into(),
        );
    }
    if let Some(n) = next
        && date.days_until(n) > 8
    {
        steps.push(s(
                "before the next session",
                8,
                date.days_until(n) - 1,
                &[
                    "usual routine again (retinoids and acids allowed from day 8)",
                    "daily SPF 30+",
                    "tell the clinic about new medicines, procedures, cold sores or skin flares before the next session; pause retinoids and acids a few days before it if the clinic advises",
                ],
            ));
    }
    SessionAftercare {
        session,
        date,
        zones,
        steps,
    }
}
