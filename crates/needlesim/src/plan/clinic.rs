//! Outputs for the clinic, made from a [`Plan`] and its [`Patient`]:
//!
//! - [`handout_html`]: a plain-language patient handout (self-contained HTML, print CSS, "save
//!   as PDF" from the browser);
//! - [`calendar_ics`]: an RFC 5545 calendar of the sessions and the aftercare milestones;
//! - [`fhir_bundle`]: a FHIR R4 `Bundle` (type `collection`) with the Patient, Conditions,
//!   MedicationStatements, the CarePlan and the planned Procedures.
//!
//! All three are deterministic: the same plan and patient give the same bytes (no wall clock;
//! identifiers are name-based UUIDs, version 5, of the plan's key and the item). Formats and
//! the choices made: `docs/OUTPUTS.md` ("Outputs for the clinic").

use std::fmt::Write as _;

use serde_json::{Value, json};
use uuid::Uuid;

use super::aftercare::SessionAftercare;
use super::patient::{ConcernKind, Diabetes, MedicationClass, PatientConcern, ScarType};
use super::recommend::ZoneStatus;
use super::rules::{Category, Deferral, Finding};
use super::{Date, Patient, Plan, VerdictKind};
use crate::report::html::esc;
use crate::skin::{Sex, Site};

/// The handout's line about what needlesim is (plain words for [`super::DISCLAIMER`]).
pub const HANDOUT_DISCLAIMER: &str = "This is a planning aid, not medical advice. Your practitioner checks your skin on the day of each visit, decides what is done, and is responsible for your treatment.";

// ---------------------------------------------------------------------------------------------
// Plain words
// ---------------------------------------------------------------------------------------------

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// "Saturday 5 December 2026".
pub fn long_date(d: Date) -> String {
    let (y, m, day) = d.ymd();
    format!(
        "{} {day} {} {y}",
        WEEKDAYS[d.weekday() as usize % 7],
        MONTHS[(m as usize + 11) % 12]
    )
}

/// "Sat 5 Dec 2026" (for tables).
pub fn short_date(d: Date) -> String {
    let (y, m, day) = d.ymd();
    format!(
        "{} {day} {} {y}",
        &WEEKDAYS[d.weekday() as usize % 7][..3],
        &MONTHS[(m as usize + 11) % 12][..3]
    )
}

/// The body area in everyday words.
pub fn site_words(site: Site) -> &'static str {
    match site {
        Site::Forehead => "forehead",
        Site::Periorbital => "around the eyes",
        Site::Cheek => "cheeks",
        Site::Nose => "nose",
        Site::Perioral => "around the mouth",
        Site::Chin => "chin",
        Site::Neck => "neck",
        Site::Chest => "chest",
        Site::DorsalHand => "back of the hands",
        Site::Abdomen => "tummy (abdomen)",
        Site::Thigh => "thighs",
        Site::Back => "back",
        Site::Scalp => "scalp",
    }
}

/// A concern in everyday words.
pub fn concern_words(k: ConcernKind) -> &'static str {
    match k {
        ConcernKind::FineLines => "fine lines",
        ConcernKind::Wrinkles => "wrinkles",
        ConcernKind::AcneScars => "acne scars",
        ConcernKind::StretchMarks => "stretch marks",
        ConcernKind::Hyperpigmentation => "dark patches",
        ConcernKind::Melasma => "melasma (brown patches)",
        ConcernKind::EnlargedPores => "large pores",
        ConcernKind::SunDamage => "sun damage",
        ConcernKind::Laxity => "loose skin",
        ConcernKind::HairThinning => "thinning hair",
    }
}

fn concern_phrase(c: &PatientConcern) -> String {
    let mut s = concern_words(c.kind).to_string();
    if !c.scar_types.is_empty() {
        let t: Vec<&str> = c
            .scar_types
            .iter()
            .map(|t| match t {
                ScarType::Icepick => "narrow deep",
                ScarType::Boxcar => "box-shaped",
                ScarType::Rolling => "rolling",
            })
            .collect();
        let _ = write!(s, " ({})", t.join(", "));
    }
    s
}

/// Why a rule holds treatment back or asks for care, in plain words (rule ids of
/// [`super::rules::RULES`]); `None` for a rule without a plain sentence (the finding's own
/// words are used then).
pub fn rule_words(id: &str) -> Option<&'static str> {
    Some(match id {
        "infection" => {
            "There is an infection or a cold sore in or next to the area. Needling could spread it, so we wait until it has fully healed."
        }
        "skin-flare" => {
            "The skin is flared up (for example eczema, psoriasis, rosacea or active spots). We wait until it has calmed down."
        }
        "wound-sunburn" => {
            "There is sunburn or an open wound in the area. We wait until the skin has healed."
        }
        "lesion-in-field" => {
            "There is a spot or mole in the area that a doctor should look at first."
        }
        "pregnancy" => {
            "Treatment is put off during pregnancy and breastfeeding, because its safety has not been studied then."
        }
        "anticoagulant" => {
            "You take a medicine that thins the blood, so you may bleed or bruise more. Your practitioner decides how to handle this. Never stop such a medicine on your own."
        }
        "systemic" => {
            "A health condition or treatment (for example diabetes that is not well controlled, a weakened immune system, or cancer treatment) can slow healing. Your practitioner will talk this through with you and, if needed, your doctor."
        }
        "isotretinoin" => {
            "You took isotretinoin (a strong acne medicine, for example Roaccutane) recently. The skin needs time to recover from it before needling."
        }
        "filler" => "You had a filler injection recently. It needs time to settle first.",
        "toxin" => {
            "You had an anti-wrinkle injection (botulinum toxin) recently. It needs time to settle first."
        }
        "peel" => "You had a chemical peel recently. The skin needs time to recover first.",
        "laser" => "You had a laser treatment recently. The skin needs time to recover first.",
        "surgery" => "You had surgery in the area recently. It needs time to heal first.",
        "recent-microneedling" => {
            "You had microneedling recently. The skin needs time to recover between sessions."
        }
        "keloid" => {
            "Your skin tends to form raised, thick scars (keloids). The practitioner will go gently and may test a small area first."
        }
        "darker-skin" => {
            "Darker skin can develop dark marks after treatment. The plan uses gentler settings, longer gaps between sessions and strict sun protection."
        }
        "pih-history" => {
            "Your skin has darkened after irritation before. The plan is gentler and sun protection is especially important."
        }
        "metal-allergy" => {
            "You have a metal allergy. Remind the clinic so they can check the needles are suitable."
        }
        "topical-retinoid" => {
            "You use a vitamin A cream (retinoid or retinol). Stop it a few days before each session, as your practitioner advises."
        }
        "icepick-scars" => {
            "Narrow, deep scars improve only a little with microneedling. Your practitioner may suggest combining it with another treatment."
        }
        _ => return None,
    })
}

/// Jargon in the planner's own sentences, and the plain words used in the handout instead.
const GLOSSARY: &[(&str, &str)] = &[
    (
        "hyaluronic-acid moisturiser",
        "moisturiser (for example with hyaluronic acid)",
    ),
    ("AHA/BHA acids", "exfoliating acids (AHA/BHA)"),
    (
        "retinoids and acids",
        "vitamin A creams and exfoliating acids",
    ),
    ("retinoids", "vitamin A creams (retinoids, retinol)"),
    ("(hyperpigmentation)", ""),
    ("hyperpigmentation", "dark patches"),
    ("(tram-track marks, granulomas)", ""),
    ("(hydration)", ""),
    ("mineral SPF 30+", "mineral sunscreen (SPF 30 or higher)"),
    ("SPF 30+", "sunscreen (SPF 30 or higher)"),
    ("pinpoint bleeding points", "tiny spots of blood"),
    (
        "are the usual end point",
        "are normal right after the treatment",
    ),
    (
        "(re-assess at a later visit)",
        "(we check at a later visit)",
    ),
];

/// A planner sentence with its jargon replaced (see [`GLOSSARY`]).
pub fn plain(s: &str) -> String {
    let mut o = s.to_string();
    for (from, to) in GLOSSARY {
        o = o.replace(from, to);
    }
    while o.contains("  ") {
        o = o.replace("  ", " ");
    }
    o.replace(" )", ")").replace(" ,", ",").trim().to_string()
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn phase_words(phase: &str) -> String {
    match phase {
        "first hours" => "Right after the session (that day)".into(),
        "24 h" => "The next day".into(),
        "48-72 h" => "Days 2 and 3".into(),
        "first week" => "Days 4 to 7".into(),
        "before the next session" => "From day 8 until your next session".into(),
        other => capitalise(other),
    }
}

fn zone_area(plan: &Plan, zone: &str) -> String {
    plan.zones
        .iter()
        .find(|z| z.name == zone)
        .map_or_else(|| zone.to_string(), |z| site_words(z.site).to_string())
}

fn areas(plan: &Plan, zones: &[String]) -> String {
    let v: Vec<String> = zones.iter().map(|z| zone_area(plan, z)).collect();
    join_words(&v)
}

fn join_words(v: &[String]) -> String {
    match v.len() {
        0 => String::new(),
        1 => v[0].clone(),
        n => format!("{} and {}", v[..n - 1].join(", "), v[n - 1]),
    }
}

fn days_words(d: [f64; 2]) -> String {
    let (a, b) = (d[0].round() as i64, d[1].round() as i64);
    if a == b {
        format!("about {a} day{}", if a == 1 { "" } else { "s" })
    } else {
        format!("about {a} to {b} days")
    }
}

fn minutes_words(m: f64) -> String {
    let m = (m / 5.0).ceil() as i64 * 5;
    if m >= 60 {
        let (h, r) = (m / 60, m % 60);
        if r == 0 {
            format!("about {h} hour{}", if h == 1 { "" } else { "s" })
        } else {
            format!("about {h} h {r} min")
        }
    } else {
        format!("about {m} minutes")
    }
}

/// Whether the plan asks for strict sun protection for the whole series (the planner's rule:
/// gentler settings, or a pigment concern).
fn strict_sun(patient: &Patient) -> bool {
    super::rules::gentle(patient)
        || patient.zones.iter().any(|z| {
            z.concerns.iter().any(|c| {
                matches!(
                    c.kind,
                    ConcernKind::Hyperpigmentation | ConcernKind::Melasma
                )
            })
        })
}

/// Key dates after one session, taken from its aftercare timeline (falling back to the
/// timeline's fixed offsets when a phase is missing).
struct KeyDates {
    makeup_from: Date,
    exercise_from: Date,
    sun_until: Date,
    actives_from: Date,
    settled_by: Date,
}

fn key_dates(a: &SessionAftercare) -> KeyDates {
    let step = |phase: &str| a.steps.iter().find(|s| s.phase == phase);
    let d = a.date;
    KeyDates {
        makeup_from: step("48-72 h").map_or(d.add_days(2), |s| s.from),
        exercise_from: step("48-72 h").map_or(d.add_days(3), |s| s.to),
        sun_until: step("first week").map_or(d.add_days(7), |s| s.to),
        actives_from: step("first week").map_or(d.add_days(8), |s| s.to.add_days(1)),
        settled_by: d.add_days(7),
    }
}

/// Plain reasons why a zone is held back, and when it can be looked at again.
fn held_back(plan: &Plan, status: &ZoneStatus) -> Option<(Vec<String>, String)> {
    let (rules, when) = match status {
        ZoneStatus::Treat | ZoneStatus::TreatWithPrecautions { .. } => return None,
        ZoneStatus::DeferredUntil { date, rules } => (rules, format!("from {}", long_date(*date))),
        ZoneStatus::DeferredUntilCondition { conditions, rules } => {
            (rules, format!("once {}", plain(&conditions.join(" and "))))
        }
        ZoneStatus::Excluded { reconsider, rules } => {
            (rules, format!("once {}", plain(&reconsider.join(" and "))))
        }
    };
    let mut reasons = Vec::new();
    for r in rules {
        let text = rule_words(r).map(str::to_string).or_else(|| {
            plan.findings
                .iter()
                .find(|f| &f.rule == r)
                .map(|f| capitalise(&plain(&f.finding)))
        });
        if let Some(t) = text
            && !reasons.contains(&t)
        {
            reasons.push(t);
        }
    }
    Some((reasons, when))
}

fn finding_words(f: &Finding) -> String {
    rule_words(&f.rule)
        .map(str::to_string)
        .unwrap_or_else(|| capitalise(&plain(&f.finding)))
}

// ---------------------------------------------------------------------------------------------
// Handout
// ---------------------------------------------------------------------------------------------

/// The style sheet of the handout: readable on a phone, and printed cleanly (A4 or Letter).
pub const HANDOUT_CSS: &str = r#"
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:760px;margin:16px auto;padding:0 14px;color:#1a1a1a;line-height:1.5;font-size:17px}
h1{font-size:1.6em;margin:0 0 4px} h2{font-size:1.2em;margin:26px 0 8px;border-bottom:2px solid #e6e6e6;padding-bottom:3px}
.lead{color:#444;margin-top:0}
.note{background:#fff6dc;border:2px solid #e0a030;border-radius:6px;padding:10px 14px}
.answer{border-radius:6px;padding:12px 16px;margin:14px 0}
.answer h2{border:0;margin:0 0 6px;font-size:1.3em}
.a-treat{background:#e5f4ea;border-left:8px solid #3a9d5d}.a-treat_with_precautions{background:#fdf1dc;border-left:8px solid #e0a030}.a-not_today{background:#fbe3e2;border-left:8px solid #c9302c}
table{border-collapse:collapse;width:100%;margin:6px 0} th,td{border:1px solid #d8d8d8;padding:6px 8px;text-align:left;vertical-align:top} th{background:#f3f3f3}
.area{border:1px solid #ddd;border-radius:6px;padding:8px 14px;margin:10px 0;break-inside:avoid}
ul{margin:4px 0;padding-left:1.3em} li{margin:3px 0}
.warn{border:2px solid #c9302c;border-radius:6px;padding:8px 14px}
.fill{display:inline-block;min-width:12em;border-bottom:1px solid #888}
.small{font-size:.88em;color:#555}
.screen-only{color:#555;font-size:.9em}
@media (max-width:600px){
 body{font-size:16px;padding:0 10px}
 table.stack,table.stack tbody,table.stack tr,table.stack td{display:block;width:100%}
 table.stack tr:first-child{display:none}
 table.stack tr{border:1px solid #d8d8d8;border-radius:6px;margin:8px 0;padding:4px 0}
 table.stack td{border:0;padding:3px 10px}
 table.stack td::before{content:attr(data-label) ": ";font-weight:600}
}
@media print{
 @page{margin:15mm}
 body{max-width:none;margin:0;padding:0;font-size:11pt;color:#000}
 .screen-only{display:none}
 h2{break-after:avoid} .answer,.warn,table,tr,li{break-inside:avoid}
 .note,.answer,.warn{border-color:#000}
 .a-treat,.a-treat_with_precautions,.a-not_today{background:none}
}
"#;

/// The patient handout: plain words, self-contained (inline CSS, no scripts, nothing loaded
/// from anywhere), printable ("save as PDF" from the browser's print dialogue).
pub fn handout_html(plan: &Plan, patient: &Patient) -> String {
    let mut h = String::with_capacity(16_384);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Your microneedling plan</title><style>{HANDOUT_CSS}</style></head><body>\n"
    );
    h.push_str("<h1>Your microneedling plan</h1>\n");
    let _ = writeln!(
        h,
        "<p class=\"lead\">From your consultation on {}.</p>",
        long_date(plan.date)
    );
    let _ = writeln!(h, "<p class=\"note\">{}</p>", esc(HANDOUT_DISCLAIMER));
    let _ = writeln!(
        h,
        "<p class=\"screen-only\">To keep a copy, use your browser's Print command and choose \"Save as PDF\".</p>"
    );

    // The answer.
    let kind = match plan.verdict.kind {
        VerdictKind::Treat => "treat",
        VerdictKind::TreatWithPrecautions => "treat_with_precautions",
        VerdictKind::NotToday => "not_today",
    };
    let _ = write!(h, "<section class=\"answer a-{kind}\">");
    let treated: Vec<String> = plan
        .zones
        .iter()
        .filter(|z| !z.dates.is_empty())
        .map(|z| site_words(z.site).to_string())
        .collect();
    match plan.verdict.kind {
        VerdictKind::NotToday => {
            h.push_str(
                "<h2>Not today</h2>\n<p>We can't start the treatment yet. This is why:</p>\n<ul>",
            );
            let mut seen: Vec<String> = Vec::new();
            for z in &plan.zones {
                if let Some((reasons, _)) = held_back(plan, &z.status) {
                    for r in reasons {
                        if !seen.contains(&r) {
                            let _ = write!(h, "<li>{}</li>", esc(&r));
                            seen.push(r);
                        }
                    }
                }
            }
            h.push_str("</ul>\n<p><strong>When we can look again:</strong></p>\n<ul>");
            for z in &plan.zones {
                if let Some((_, when)) = held_back(plan, &z.status) {
                    let _ = write!(
                        h,
                        "<li>{}: {}</li>",
                        esc(&capitalise(site_words(z.site))),
                        esc(&when)
                    );
                }
            }
            h.push_str("</ul>\n<p>Please contact the clinic then to plan your sessions.</p>");
        }
        VerdictKind::Treat => {
            let _ = write!(
                h,
                "<h2>Treatment can go ahead</h2>\n<p>Nothing in your answers stands in the way of treating your {}.</p>",
                esc(&join_words(&treated))
            );
        }
        VerdictKind::TreatWithPrecautions => {
            let _ = write!(
                h,
                "<h2>Treatment can go ahead, with extra care</h2>\n<p>We can treat your {}. Please read the points below.</p>",
                esc(&join_words(&treated))
            );
            let care: Vec<String> = plan
                .findings
                .iter()
                .filter(|f| f.category == Category::Precaution || f.holds_back())
                .map(finding_words)
                .fold(Vec::new(), |mut v, s| {
                    if !v.contains(&s) {
                        v.push(s);
                    }
                    v
                });
            if !care.is_empty() {
                h.push_str("<ul>");
                for c in care {
                    let _ = write!(h, "<li>{}</li>", esc(&c));
                }
                h.push_str("</ul>");
            }
        }
    }
    h.push_str("</section>\n");

    // Areas.
    h.push_str("<h2>The areas we talked about</h2>\n");
    for z in &plan.zones {
        let concerns: Vec<String> = z
            .concerns
            .iter()
            .map(|c| concern_phrase(&c.concern))
            .collect();
        let _ = write!(
            h,
            "<div class=\"area\"><strong>{}</strong> &middot; for {}<br>",
            esc(&capitalise(site_words(z.site))),
            esc(&join_words(&concerns))
        );
        match held_back(plan, &z.status) {
            Some((reasons, when)) => {
                let _ = write!(h, "Not treated yet. We can look again {}.", esc(&when));
                if !reasons.is_empty() {
                    h.push_str("<ul>");
                    for r in reasons {
                        let _ = write!(h, "<li>{}</li>", esc(&r));
                    }
                    h.push_str("</ul>");
                }
            }
            None => {
                let n = z.dates.len();
                let weeks = (z.interval_days as f64 / 7.0).round() as i64;
                let _ = write!(
                    h,
                    "{n} session{}{}. After each one, expect redness for {}.",
                    if n == 1 { "" } else { "s" },
                    if n > 1 {
                        format!(", about {weeks} weeks apart")
                    } else {
                        String::new()
                    },
                    days_words(z.downtime_days)
                );
            }
        }
        h.push_str("</div>\n");
    }

    // Appointments.
    if !plan.visits.is_empty() {
        h.push_str("<h2>Your appointments</h2>\n<table class=\"stack\"><tr><th>Visit</th><th>Date</th><th>Areas</th><th>Time at the clinic</th><th>Redness afterwards</th></tr>\n");
        for v in &plan.visits {
            let zones: Vec<String> = v.zones.iter().map(|z| z.zone.clone()).collect();
            let _ = writeln!(
                h,
                "<tr><td data-label=\"Visit\">{} of {}</td><td data-label=\"Date\">{}</td><td data-label=\"Areas\">{}</td><td data-label=\"Time at the clinic\">{}</td><td data-label=\"Redness afterwards\">{}</td></tr>",
                v.number,
                plan.visits.len(),
                esc(&long_date(v.date)),
                esc(&capitalise(&areas(plan, &zones))),
                esc(&minutes_words(v.total_min)),
                esc(&days_words(v.downtime_days))
            );
        }
        h.push_str("</table>\n");
        if plan.verdict.kind == VerdictKind::NotToday {
            h.push_str("<p>These dates are planned for when treatment can start; the clinic will confirm them with you.</p>\n");
        }
        h.push_str("<p class=\"small\">The clinic may move a date; the time at the clinic includes the numbing cream, the treatment and aftercare.</p>\n");

        h.push_str("<h2>On the day</h2>\n<ul>");
        let numb = plan
            .visits
            .iter()
            .map(|v| v.numbing_min)
            .fold(0.0, f64::max);
        if numb > 0.0 {
            let _ = write!(
                h,
                "<li>A numbing cream goes on first and works for {} before the treatment starts.</li>",
                esc(&minutes_words(numb))
            );
        }
        h.push_str("<li>Come without makeup if you can. Tell the clinic about any new medicine, cold sore, spots or sunburn since your last visit.</li>");
        h.push_str("<li>A small pen-like device makes many tiny, very short pricks in the skin. This starts the skin's own repair. It feels like light scratching or vibration.</li>");
        h.push_str("<li>Afterwards the skin looks red, like a sunburn, and may feel warm and tight. Tiny spots of blood are normal.</li></ul>\n");

        // Aftercare.
        if let Some(a) = plan.aftercare.first() {
            h.push_str("<h2>Looking after your skin after each session</h2>\n");
            for s in &a.steps {
                let _ = write!(
                    h,
                    "<p><strong>{}</strong></p><ul>",
                    esc(&phase_words(&s.phase))
                );
                for i in &s.instructions {
                    let _ = write!(h, "<li>{}</li>", esc(&capitalise(&plain(i))));
                }
                h.push_str("</ul>\n");
            }
            h.push_str("<p><strong>Your dates</strong></p>\n<table class=\"stack\"><tr><th>Session</th><th>Makeup again from</th><th>Exercise, sauna, swimming from</th><th>Strict sun protection until</th><th>Vitamin A creams and acids from</th></tr>\n");
            for a in &plan.aftercare {
                let k = key_dates(a);
                let _ = writeln!(
                    h,
                    "<tr><td data-label=\"Session\">{}</td><td data-label=\"Makeup again from\">{}</td><td data-label=\"Exercise, sauna, swimming from\">{}</td><td data-label=\"Strict sun protection until\">{}</td><td data-label=\"Vitamin A creams and acids from\">{}</td></tr>",
                    esc(&short_date(a.date)),
                    esc(&short_date(k.makeup_from)),
                    esc(&short_date(k.exercise_from)),
                    esc(&short_date(k.sun_until)),
                    esc(&short_date(k.actives_from))
                );
            }
            h.push_str("</table>\n");
            if strict_sun(patient) {
                h.push_str("<p>Your skin marks easily with sun: keep strict sun protection (hat, shade, sunscreen SPF 30 or higher, put on again during the day) for the whole series of sessions.</p>\n");
            }
        }
    }

    // Warning signs.
    h.push_str("<h2>Call the clinic if you notice</h2>\n<div class=\"warn\"><ul>");
    for w in &plan.warning_signs {
        let _ = write!(h, "<li>{}</li>", esc(&capitalise(&plain(w))));
    }
    h.push_str("</ul><p>If you feel very unwell, have a fever or the swelling spreads fast, get urgent medical help.</p></div>\n");

    // Medicines.
    if !patient.medications.is_empty() {
        h.push_str("<h2>Your medicines</h2>\n<p>These are the medicines you told us about. Tell the clinic about any change before each visit.</p><ul>");
        for m in &patient.medications {
            let stopped = m
                .stopped
                .filter(|d| *d <= plan.date)
                .map_or(String::new(), |d| format!(" (stopped {})", long_date(d)));
            let other = if m.class == MedicationClass::Other {
                " &mdash; the planner has no rules for this medicine: please ask your practitioner about it"
            } else {
                ""
            };
            let _ = write!(h, "<li>{}{}{other}</li>", esc(&m.name), esc(&stopped));
        }
        h.push_str("</ul>\n");
    }

    // After the series.
    if let Some(last) = plan.visits.last() {
        let _ = writeln!(
            h,
            "<h2>After your last session</h2>\n<p>Results keep improving for several months after the last session. Many people have a top-up session every 6 to 12 months; you can ask about one from about {}.</p>",
            esc(&long_date(last.date.add_months(6)))
        );
    }

    h.push_str("<h2>Questions</h2>\n<p>Clinic phone: <span class=\"fill\">&nbsp;</span></p><p>Your practitioner: <span class=\"fill\">&nbsp;</span></p>\n");
    let _ = writeln!(
        h,
        "<p class=\"small\">Made by needlesim, a treatment-planning aid, from the plan of {}. {}</p>",
        plan.date,
        esc(HANDOUT_DISCLAIMER)
    );
    h.push_str("</body></html>\n");
    h
}

// ---------------------------------------------------------------------------------------------
// Identifiers
// ---------------------------------------------------------------------------------------------

/// The namespace of needlesim's name-based identifiers (UUID v5 of the DNS name
/// `needlesim.clinic.outputs`, under the RFC 4122 DNS namespace).
fn namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_DNS, b"needlesim.clinic.outputs")
}

/// The key of this plan: what identifies the consultation (title, date, person, zones).
/// Identifiers of its items are UUIDs v5 of this key and the item's name, so they are the same
/// for every export of the same consultation and differ between consultations.
fn plan_key(plan: &Plan, patient: &Patient) -> String {
    let zones: Vec<String> = patient
        .zones
        .iter()
        .map(|z| format!("{}:{}", z.name, z.site.name()))
        .collect();
    format!(
        "{}|{}|{}|{}|{}|{}",
        plan.title,
        plan.date,
        plan.person.age_years,
        match plan.person.sex {
            Sex::Female => "female",
            Sex::Male => "male",
        },
        plan.person.phototype,
        zones.join(",")
    )
}

struct Ids(String);

impl Ids {
    fn uuid(&self, item: &str) -> Uuid {
        Uuid::new_v5(&namespace(), format!("{}#{item}", self.0).as_bytes())
    }
}

// ---------------------------------------------------------------------------------------------
// iCalendar
// ---------------------------------------------------------------------------------------------

/// Escapes a TEXT value (RFC 5545 §3.3.11).
fn ics_text(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\\' => o.push_str("\\\\"),
            ';' => o.push_str("\\;"),
            ',' => o.push_str("\\,"),
            '\n' => o.push_str("\\n"),
            '\r' => {}
            _ => o.push(ch),
        }
    }
    o
}

/// One content line, folded at 75 octets (never inside a UTF-8 character), ended by CRLF
/// (RFC 5545 §3.1).
fn ics_line(out: &mut String, line: &str) {
    let mut width = 0;
    for ch in line.chars() {
        let n = ch.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(ch);
        width += n;
    }
    out.push_str("\r\n");
}

fn ics_date(d: Date) -> String {
    let (y, m, day) = d.ymd();
    format!("{y:04}{m:02}{day:02}")
}

struct Event {
    key: String,
    start: Date,
    /// Last day (inclusive).
    last: Date,
    summary: String,
    description: String,
}

/// The events of the calendar, in order.
fn events(plan: &Plan, patient: &Patient) -> Vec<Event> {
    let mut ev = Vec::new();
    let n = plan.visits.len();
    let tail = format!(" {}", HANDOUT_DISCLAIMER);
    for v in &plan.visits {
        let zones: Vec<String> = v.zones.iter().map(|z| z.zone.clone()).collect();
        let area = areas(plan, &zones);
        let mut d = format!(
            "Microneedling of the {area}. Plan {} at the clinic",
            minutes_words(v.total_min)
        );
        if v.numbing_min > 0.0 {
            let _ = write!(
                d,
                " (the numbing cream works for {} first)",
                minutes_words(v.numbing_min)
            );
        }
        let _ = write!(
            d,
            ". Come without makeup if you can. Expect redness for {} afterwards.{tail}",
            days_words(v.downtime_days)
        );
        ev.push(Event {
            key: format!("session-{}", v.number),
            start: v.date,
            last: v.date,
            summary: format!("Microneedling session {} of {n}: {area}", v.number),
            description: d,
        });
    }
    for a in &plan.aftercare {
        let k = key_dates(a);
        let s = a.session;
        let mut push = |key: &str, start: Date, last: Date, summary: String, description: &str| {
            ev.push(Event {
                key: format!("session-{s}-{key}"),
                start,
                last,
                summary,
                description: format!("{description}{tail}"),
            })
        };
        push(
            "sun",
            a.date,
            k.sun_until,
            format!("Strict sun protection after session {s}"),
            "Stay out of strong sun; sunscreen SPF 30 or higher every morning and again when outside.",
        );
        push(
            "makeup",
            k.makeup_from,
            k.makeup_from,
            format!("Makeup allowed again after session {s} (if the skin is calm)"),
            "Makeup may be used again if the skin is calm. Keep moisturising and do not pick at dry skin.",
        );
        push(
            "exercise",
            k.exercise_from,
            k.exercise_from,
            format!("Exercise, sauna and swimming allowed again after session {s}"),
            "Sweating, sauna, steam and swimming are fine again from today.",
        );
        push(
            "actives",
            k.actives_from,
            k.actives_from,
            format!("Vitamin A creams and exfoliating acids allowed again after session {s}"),
            "Your usual routine again, including retinol and exfoliating acids; keep using sunscreen daily.",
        );
        push(
            "check",
            k.settled_by,
            k.settled_by,
            format!("Skin check after session {s}: redness should have settled"),
            "Redness and swelling should have settled by now. Call the clinic if they have not, or if you see dark patches, lumps, lines or signs of infection.",
        );
    }
    if strict_sun(patient)
        && let (Some(f), Some(l)) = (plan.visits.first(), plan.aftercare.last())
    {
        ev.push(Event {
            key: "series-sun".into(),
            start: f.date,
            last: key_dates(l).sun_until,
            summary: "Strict sun protection for the whole series".into(),
            description: format!(
                "Your skin marks easily with sun: hat, shade and sunscreen SPF 30 or higher, put on again during the day, until the week after your last session.{tail}"
            ),
        });
    }
    if let Some(last) = plan.visits.last() {
        let d = last.date.add_months(6);
        ev.push(Event {
            key: "maintenance-review".into(),
            start: d,
            last: d,
            summary: "Microneedling review: ask about a top-up session".into(),
            description: format!(
                "Results keep improving for months after the last session. Many people have a top-up session every 6 to 12 months: contact the clinic to plan one.{tail}"
            ),
        });
    }
    for z in &plan.zones {
        if let ZoneStatus::DeferredUntil { date, .. } = &z.status {
            ev.push(Event {
                key: format!("reconsider-{}", z.name),
                start: *date,
                last: *date,
                summary: format!(
                    "Microneedling of the {} can be reconsidered",
                    site_words(z.site)
                ),
                description: format!(
                    "From today the treatment of the {} can be planned again. Contact the clinic.{tail}",
                    site_words(z.site)
                ),
            });
        }
    }
    if ev.is_empty() {
        // Nothing is dated (held back until conditions are met): the consultation itself, so
        // the calendar is never empty and says what to do.
        let why: Vec<String> = plan
            .zones
            .iter()
            .filter_map(|z| {
                held_back(plan, &z.status).map(|(_, w)| format!("{} {w}", site_words(z.site)))
            })
            .collect();
        ev.push(Event {
            key: "consultation".into(),
            start: plan.date,
            last: plan.date,
            summary: "Microneedling consultation: not treated yet".into(),
            description: format!(
                "No session could be planned yet. Contact the clinic to plan again: {}.{tail}",
                why.join("; ")
            ),
        });
    }
    ev
}

/// The calendar (RFC 5545): one all-day event per visit and per aftercare milestone (strict sun
/// protection until, makeup, exercise, vitamin A creams and acids allowed again, the day-7 skin
/// check), the series-long sun protection where the plan asks for it, the maintenance review,
/// and the dates held-back areas can be reconsidered. Lines end in CRLF and are folded at 75
/// octets; UIDs are UUIDs v5 of the plan's key and the event; DTSTAMP is the consultation date
/// (midnight UTC), never the wall clock.
pub fn calendar_ics(plan: &Plan, patient: &Patient) -> String {
    let ids = Ids(plan_key(plan, patient));
    let stamp = format!("{}T000000Z", ics_date(plan.date));
    let mut o = String::with_capacity(8192);
    for l in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        &format!(
            "PRODID:-//needlesim//needlesim {}//EN",
            env!("CARGO_PKG_VERSION")
        ),
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "X-WR-CALNAME:Microneedling plan",
    ] {
        ics_line(&mut o, l);
    }
    for e in events(plan, patient) {
        ics_line(&mut o, "BEGIN:VEVENT");
        ics_line(&mut o, &format!("UID:{}@needlesim", ids.uuid(&e.key)));
        ics_line(&mut o, &format!("DTSTAMP:{stamp}"));
        ics_line(&mut o, &format!("DTSTART;VALUE=DATE:{}", ics_date(e.start)));
        ics_line(
            &mut o,
            &format!("DTEND;VALUE=DATE:{}", ics_date(e.last.add_days(1))),
        );
        ics_line(&mut o, &format!("SUMMARY:{}", ics_text(&e.summary)));
        ics_line(&mut o, &format!("DESCRIPTION:{}", ics_text(&e.description)));
        ics_line(&mut o, "TRANSP:TRANSPARENT");
        ics_line(&mut o, "END:VEVENT");
    }
    ics_line(&mut o, "END:VCALENDAR");
    o
}

// ---------------------------------------------------------------------------------------------
// FHIR
// ---------------------------------------------------------------------------------------------

const CONDITION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/condition-category";
const CONDITION_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";

fn reference(u: Uuid) -> Value {
    json!({ "reference": format!("urn:uuid:{u}") })
}

fn condition(
    id: Uuid,
    patient: Uuid,
    date: Date,
    text: &str,
    site: Option<&str>,
    note: Option<String>,
) -> Value {
    let mut c = json!({
        "resourceType": "Condition",
        "id": id.to_string(),
        "clinicalStatus": { "coding": [{ "system": CONDITION_CLINICAL, "code": "active" }] },
        "category": [{ "coding": [{ "system": CONDITION_CATEGORY, "code": "problem-list-item", "display": "Problem List Item" }] }],
        "code": { "text": text },
        "subject": reference(patient),
        "recordedDate": date.to_string(),
    });
    if let Some(s) = site {
        c["bodySite"] = json!([{ "text": s }]);
    }
    if let Some(n) = note {
        c["note"] = json!([{ "text": n }]);
    }
    c
}

/// The FHIR R4 Bundle (type `collection`): the Patient; an Observation each for the age at the
/// consultation and the skin phototype; a Condition per concern and zone, per current skin
/// state and per relevant history item; a MedicationStatement per medicine in the patient file
/// (every class, "other" included); a Procedure per earlier procedure (`completed`) and per
/// planned zone session (`preparation`, with its date as a `procedure-schedule` extension); and
/// the CarePlan with the visits and aftercare milestones as activities and the screening
/// findings as notes. Resources are identified by `urn:uuid:` full URLs (UUIDs v5 of the plan's
/// key and the item).
pub fn fhir_bundle(plan: &Plan, patient: &Patient) -> Value {
    let ids = Ids(plan_key(plan, patient));
    let pid = ids.uuid("Patient");
    let careplan_id = ids.uuid("CarePlan");
    let date = plan.date;
    let mut entries: Vec<Value> = Vec::new();
    let mut push = |v: Value| {
        let id = v["id"].as_str().unwrap_or_default().to_string();
        entries.push(json!({ "fullUrl": format!("urn:uuid:{id}"), "resource": v }));
    };

    push(json!({
        "resourceType": "Patient",
        "id": pid.to_string(),
        "active": true,
        "gender": match plan.person.sex { Sex::Female => "female", Sex::Male => "male" },
    }));
    push(json!({
        "resourceType": "Observation",
        "id": ids.uuid("Observation/age").to_string(),
        "status": "final",
        "code": { "text": "Age at the consultation" },
        "subject": reference(pid),
        "effectiveDateTime": date.to_string(),
        "valueQuantity": { "value": plan.person.age_years, "unit": "a", "system": "http://unitsofmeasure.org", "code": "a" },
    }));
    push(json!({
        "resourceType": "Observation",
        "id": ids.uuid("Observation/phototype").to_string(),
        "status": "final",
        "code": { "text": "Fitzpatrick skin phototype (1-6)" },
        "subject": reference(pid),
        "effectiveDateTime": date.to_string(),
        "valueInteger": plan.person.phototype,
    }));

    // Conditions: concerns per zone, skin states, history.
    let mut concern_ids: Vec<(String, Uuid)> = Vec::new();
    for z in &patient.zones {
        for (k, c) in z.concerns.iter().enumerate() {
            let id = ids.uuid(&format!("Condition/{}/{k}", z.name));
            let mut text = concern_phrase(c);
            if let Some(g) = c.grade {
                let _ = write!(text, ", grade {g}");
            }
            push(condition(
                id,
                pid,
                date,
                &format!("{} ({})", capitalise(&text), c.kind.name()),
                Some(&format!("{} (zone `{}`)", z.site.name(), z.name)),
                None,
            ));
            concern_ids.push((z.name.clone(), id));
        }
        for s in &z.skin_state {
            push(condition(
                ids.uuid(&format!("Condition/{}/state/{}", z.name, s.name())),
                pid,
                date,
                s.label(),
                Some(&format!("{} (zone `{}`)", z.site.name(), z.name)),
                None,
            ));
        }
    }
    for s in &patient.skin_state {
        push(condition(
            ids.uuid(&format!("Condition/state/{}", s.name())),
            pid,
            date,
            s.label(),
            None,
            None,
        ));
    }
    let hist = &patient.history;
    let mut history: Vec<(&str, String)> = Vec::new();
    let mut flag = |on: bool, key: &'static str, text: &str| {
        if on {
            history.push((key, text.to_string()));
        }
    };
    flag(hist.pregnant, "pregnant", "Pregnancy");
    flag(hist.breastfeeding, "breastfeeding", "Breastfeeding");
    flag(
        hist.keloid_tendency,
        "keloid",
        "Tendency to keloid scarring",
    );
    flag(hist.metal_allergy, "metal-allergy", "Metal allergy");
    flag(
        hist.bleeding_disorder,
        "bleeding-disorder",
        "Bleeding disorder",
    );
    flag(
        hist.immunosuppressed,
        "immunosuppressed",
        "Immunosuppression",
    );
    flag(
        hist.cancer_treatment,
        "cancer-treatment",
        "Current cancer treatment",
    );
    flag(
        hist.pih_history,
        "pih-history",
        "Earlier post-inflammatory hyperpigmentation",
    );
    match hist.diabetes {
        Some(Diabetes::Controlled) => history.push(("diabetes", "Diabetes (controlled)".into())),
        Some(Diabetes::Uncontrolled) => {
            history.push(("diabetes", "Diabetes (not controlled)".into()))
        }
        _ => {}
    }
    for (key, text) in history {
        push(condition(
            ids.uuid(&format!("Condition/history/{key}")),
            pid,
            date,
            &text,
            None,
            None,
        ));
    }

    // Medicines: every one in the file.
    for (k, m) in patient.medications.iter().enumerate() {
        let ended = m.stopped.is_some_and(|d| d <= date);
        let mut period = serde_json::Map::new();
        if let Some(s) = m.started {
            period.insert("start".into(), json!(s.to_string()));
        }
        if let Some(s) = m.stopped {
            period.insert("end".into(), json!(s.to_string()));
        }
        let note = if m.class == MedicationClass::Other {
            "class \"other\": not checked by the planner's rules; ask the practitioner".to_string()
        } else {
            format!(
                "class \"{}\" (checked by the planner's rules)",
                m.class.name()
            )
        };
        let mut ms = json!({
            "resourceType": "MedicationStatement",
            "id": ids.uuid(&format!("MedicationStatement/{k}")).to_string(),
            "status": if ended { "completed" } else { "active" },
            "medicationCodeableConcept": { "text": m.name },
            "subject": reference(pid),
            "dateAsserted": date.to_string(),
            "note": [{ "text": note }],
        });
        if !period.is_empty() {
            ms["effectivePeriod"] = Value::Object(period);
        }
        push(ms);
    }

    // Earlier procedures.
    for (k, p) in patient.procedures.iter().enumerate() {
        let mut pr = json!({
            "resourceType": "Procedure",
            "id": ids.uuid(&format!("Procedure/history/{k}")).to_string(),
            "status": "completed",
            "code": { "text": capitalise(p.kind.label()) },
            "subject": reference(pid),
            "performedDateTime": p.date.to_string(),
        });
        if !p.zones.is_empty() {
            pr["bodySite"] = Value::Array(
                p.zones
                    .iter()
                    .map(|z| json!({ "text": format!("zone `{z}`") }))
                    .collect(),
            );
        }
        if let Some(d) = &p.detail {
            pr["note"] = json!([{ "text": d }]);
        }
        push(pr);
    }

    // Planned sessions: one Procedure per zone and session.
    let n_visits = plan.visits.len();
    for v in &plan.visits {
        for vz in &v.zones {
            let Some(z) = plan.zones.iter().find(|z| z.name == vz.zone) else {
                continue;
            };
            let reasons: Vec<Value> = concern_ids
                .iter()
                .filter(|(zn, _)| *zn == z.name)
                .map(|(_, id)| reference(*id))
                .collect();
            let mut pr = json!({
                "resourceType": "Procedure",
                "id": ids.uuid(&format!("Procedure/{}/{}", z.name, vz.session)).to_string(),
                "extension": [{
                    "url": "http://hl7.org/fhir/StructureDefinition/procedure-schedule",
                    "valueTiming": { "event": [v.date.to_string()] }
                }],
                "basedOn": [reference(careplan_id)],
                "status": "preparation",
                "code": { "text": "Microneedling (collagen induction therapy)" },
                "subject": reference(pid),
                "bodySite": [{ "text": format!("{} (zone `{}`)", z.site.name(), z.name) }],
                "note": [{ "text": format!(
                    "Planned for {}: session {} of {} of this zone (visit {} of {n_visits}); {} at {} mm, {} passes. Planning aid, not medical advice.",
                    v.date, vz.session, z.dates.len(), v.number, z.device, vz.setting_mm, vz.passes
                ) }],
            });
            if !reasons.is_empty() {
                pr["reasonReference"] = Value::Array(reasons);
            }
            push(pr);
        }
    }

    // The care plan.
    let not_today = plan.verdict.kind == VerdictKind::NotToday;
    let mut activities: Vec<Value> = Vec::new();
    for v in &plan.visits {
        let zones: Vec<String> = v.zones.iter().map(|z| z.zone.clone()).collect();
        activities.push(json!({ "detail": {
            "status": "scheduled",
            "code": { "text": "Microneedling session" },
            "description": format!("Visit {} of {n_visits}: microneedling of {} (zones {}); about {:.0} min at the clinic, {:.0} min of numbing first.", v.number, areas(plan, &zones), zones.join(", "), v.total_min, v.numbing_min),
            "scheduledPeriod": { "start": v.date.to_string(), "end": v.date.to_string() },
        }}));
    }
    for a in &plan.aftercare {
        for s in &a.steps {
            activities.push(json!({ "detail": {
                "status": "not-started",
                "code": { "text": format!("Aftercare: {}", s.phase) },
                "description": format!("After session {}: {}", a.session, s.instructions.join("; ")),
                "scheduledPeriod": { "start": s.from.to_string(), "end": s.to.to_string() },
            }}));
        }
    }
    if let Some(last) = plan.visits.last() {
        activities.push(json!({ "detail": {
            "status": "not-started",
            "code": { "text": "Maintenance review" },
            "description": plan.maintenance,
            "scheduledString": format!("from {}", last.date.add_months(6)),
        }}));
    }
    for z in &plan.zones {
        if let Some((_, when)) = held_back(plan, &z.status) {
            let mut d = json!({
                "status": "on-hold",
                "code": { "text": "Microneedling (held back)" },
                "description": format!("Zone `{}` ({}) is held back: reconsider {when}.", z.name, z.site.name()),
            });
            if let ZoneStatus::DeferredUntil { date, .. } = &z.status {
                d["scheduledPeriod"] = json!({ "start": date.to_string() });
            }
            activities.push(json!({ "detail": d }));
        }
    }
    let mut notes: Vec<Value> = vec![json!({ "text": plan.disclaimer })];
    for f in &plan.findings {
        let scope = f
            .zone
            .as_deref()
            .map_or("whole person".to_string(), |z| format!("zone `{z}`"));
        let defer = match (&f.defer, f.waived) {
            (Some(Deferral::Date { date }), false) => format!(" Deferred until {date}."),
            (Some(Deferral::Condition { condition }), false) => {
                format!(" Deferred until {condition}.")
            }
            (Some(_), true) => " Deferral waived by the practitioner.".into(),
            (None, _) => String::new(),
        };
        notes.push(json!({ "text": format!(
            "Screening finding [{}, {}, grade {}] ({scope}): {} {}{defer}",
            f.rule, f.category.label(), f.grade.label(), f.finding, f.advice
        ) }));
    }
    let mut cp = json!({
        "resourceType": "CarePlan",
        "id": careplan_id.to_string(),
        "status": if not_today { "on-hold" } else { "active" },
        "intent": "plan",
        "title": format!("Microneedling plan: {}", plan.title),
        "description": plan.verdict.summary,
        "subject": reference(pid),
        "created": date.to_string(),
        "addresses": concern_ids.iter().map(|(_, id)| reference(*id)).collect::<Vec<_>>(),
        "note": notes,
    });
    if let (Some(f), Some(l)) = (plan.visits.first(), plan.visits.last()) {
        cp["period"] =
            json!({ "start": f.date.to_string(), "end": l.date.add_days(7).to_string() });
    }
    if !activities.is_empty() {
        cp["activity"] = Value::Array(activities);
    }
    if concern_ids.is_empty() {
        cp.as_object_mut().map(|o| o.remove("addresses"));
    }
    push(cp);

    json!({
        "resourceType": "Bundle",
        "id": ids.uuid("Bundle").to_string(),
        "meta": { "lastUpdated": format!("{date}T00:00:00Z") },
        "type": "collection",
        "entry": entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(name: &str) -> (Plan, Patient) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples/patients")
            .join(name);
        let p = super::super::patient::load(&path).unwrap();
        (super::super::plan(&p, &Default::default()).unwrap(), p)
    }

    fn examples() -> Vec<(String, Plan, Patient)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/patients");
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".toml"))
            .collect();
        v.sort();
        assert!(v.len() >= 6);
        v.into_iter()
            .map(|n| {
                let (plan, p) = example(&n);
                (n, plan, p)
            })
            .collect()
    }

    /// Words a patient should not have to look up, and marks of the practitioner's report.
    const JARGON: &[&str] = &[
        "dermis",
        "epidermis",
        "PIH",
        "phototype",
        "Fitzpatrick",
        "contraindicat",
        "grade ",
        "µm",
        " mm",
        "optimis",
        "posterior",
        "[",
        "`",
        "rule ",
        "hyperpigmentation",
        "AHA/BHA acids,",
        "granuloma",
        "tram-track",
        "re-assess",
    ];

    #[test]
    fn every_handout_is_plain_self_contained_and_says_what_it_is() {
        for (name, plan, p) in examples() {
            let h = handout_html(&plan, &p);
            assert!(h.contains(&esc(HANDOUT_DISCLAIMER)), "{name}");
            for bad in ["<script", "src=", "href=", "url(", "@import", "<link"] {
                assert!(!h.contains(bad), "{name}: {bad}");
            }
            let text = strip_tags(&h);
            for j in JARGON {
                assert!(!text.contains(j), "{name}: jargon `{j}` in the handout");
            }
            assert!(h.contains("@media print"), "{name}");
            for w in &plan.warning_signs {
                // Every warning sign is there (in plain words).
                assert!(text.contains(&esc(&capitalise(&plain(w)))), "{name}: {w}");
            }
            for v in &plan.visits {
                assert!(
                    text.contains(&long_date(v.date)),
                    "{name}: visit {}",
                    v.number
                );
            }
        }
    }

    fn strip_tags(h: &str) -> String {
        let body = h.split("</style>").nth(1).unwrap_or(h);
        let mut o = String::new();
        let mut inside = false;
        for c in body.chars() {
            match c {
                '<' => inside = true,
                '>' => {
                    inside = false;
                    o.push(' ');
                }
                _ if !inside => o.push(c),
                _ => {}
            }
        }
        o
    }

    #[test]
    fn the_not_today_handout_says_so_and_why() {
        let (plan, p) = example("not_today_isotretinoin_cold_sore.toml");
        assert_eq!(plan.verdict.kind, VerdictKind::NotToday);
        let text = strip_tags(&handout_html(&plan, &p));
        assert!(text.contains("Not today"));
        assert!(
            text.contains("isotretinoin (a strong acne medicine"),
            "{text}"
        );
        assert!(text.contains("cold sore"), "{text}");
        assert!(text.contains("When we can look again"));
        assert!(text.contains("Around the mouth: once"), "{text}");
        // The plan-level answer of a treatable patient is not "Not today".
        let (plan, p) = example("fine_lines_type2.toml");
        assert_ne!(plan.verdict.kind, VerdictKind::NotToday);
        assert!(!strip_tags(&handout_html(&plan, &p)).contains("Not today"));
    }

    #[test]
    fn a_medicine_the_rules_do_not_know_is_in_every_output() {
        let text = "date = \"2026-11-21\"\n[patient]\nage_years = 50\nsex = \"female\"\nphototype = 2\n[[medications]]\nname = \"warfarin 5 mg\"\nclass = \"other\"\n[[zones]]\nname = \"z\"\nsite = \"cheek\"\nconcerns = [{ kind = \"wrinkles\" }]\n";
        let p = super::super::patient::parse(text, "t.toml").unwrap();
        let plan = super::super::plan(&p, &Default::default()).unwrap();
        let h = handout_html(&plan, &p);
        assert!(h.contains("warfarin 5 mg"));
        assert!(h.contains("please ask your practitioner"));
        let b = fhir_bundle(&plan, &p);
        let ms: Vec<&Value> = b["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["resource"])
            .filter(|r| r["resourceType"] == "MedicationStatement")
            .collect();
        assert_eq!(ms.len(), 1);
        assert_eq!(ms[0]["medicationCodeableConcept"]["text"], "warfarin 5 mg");
        assert_eq!(ms[0]["status"], "active");
    }

    #[test]
    fn identifiers_are_stable_and_differ_between_consultations() {
        let (plan, p) = example("fine_lines_type2.toml");
        let a = calendar_ics(&plan, &p);
        assert_eq!(a, calendar_ics(&plan, &p));
        assert_eq!(fhir_bundle(&plan, &p), fhir_bundle(&plan, &p));
        let (plan2, p2) = example("stretch_marks_type3.toml");
        let uids = |s: &str| -> Vec<String> {
            s.lines()
                .filter(|l| l.starts_with("UID:"))
                .map(str::to_string)
                .collect()
        };
        let (u1, u2) = (uids(&a), uids(&calendar_ics(&plan2, &p2)));
        assert!(u1.iter().all(|u| !u2.contains(u)));
        assert!(a.contains("DTSTAMP:20"));
        assert!(!a.contains('\n') || a.split('\n').all(|l| l.is_empty() || l.ends_with('\r')));
    }

    #[test]
    fn long_lines_are_folded_at_75_octets_without_splitting_characters() {
        let mut o = String::new();
        let text = format!("DESCRIPTION:{}", "é".repeat(60));
        ics_line(&mut o, &text);
        for l in o.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(l.len() <= 75, "{} octets: {l}", l.len());
        }
        let unfolded = o.trim_end_matches("\r\n").replace("\r\n ", "");
        assert_eq!(unfolded, text);
    }

    #[test]
    fn text_values_are_escaped() {
        assert_eq!(ics_text("a, b; c\\d\ne"), "a\\, b\\; c\\\\d\\ne");
    }

    #[test]
    fn dates_are_spelled_out() {
        assert_eq!(
            long_date(Date::parse("2026-12-05").unwrap()),
            "Saturday 5 December 2026"
        );
    }

    #[test]
    fn plain_words_replace_the_jargon() {
        let s = plain("no retinoids, AHA/BHA acids, vitamin C serums or exfoliants until day 7");
        assert!(!s.contains("AHA/BHA acids,"), "{s}");
        assert!(s.contains("vitamin A creams"), "{s}");
    }
}
