//! The app's own pages: the list of saved patients, the intake form, error pages. Each page is
//! one HTML document with its style sheet inline; nothing is loaded from anywhere. Labels are in
//! plain words; the file's names for values (`acne_scars`, `periorbital`) are only the values
//! sent back.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use needlesim::input::FieldError;
use needlesim::plan::patient::{ConcernKind, MedicationClass, ProcedureKind, ScarType, SkinState};
use needlesim::plan::rules::RULES;
use needlesim::report::html::esc;
use needlesim::skin::Site;

use crate::form::{Form, HISTORY_FLAGS};

/// The app's style sheet: one column on a phone, two-column field grids on wider screens.
pub const CSS: &str = r#"
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:980px;margin:0 auto;padding:0 12px 40px;color:#222;line-height:1.45;font-size:16px}
header.bar{display:flex;flex-wrap:wrap;gap:8px 18px;align-items:center;padding:10px 0;border-bottom:2px solid #eee;margin-bottom:12px}
header.bar a{color:#1a4d8f;text-decoration:none;font-weight:600} header.bar .brand{font-size:1.1em;color:#222}
h1{font-size:1.45em;margin:10px 0 6px} h2{font-size:1.15em;margin:0 0 8px}
.note{background:#fff4d6;border:1px solid #e0a030;padding:8px 12px;border-radius:6px;font-size:.95em}
fieldset{border:1px solid #ccd;border-radius:8px;padding:10px 14px 14px;margin:14px 0;min-width:0}
legend{font-weight:700;padding:0 6px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:10px 18px}
.field{display:flex;flex-direction:column;gap:3px;min-width:0}
.field>label,.field>.label{font-weight:600;font-size:.95em}
.help{font-size:.85em;color:#555}
input[type=text],input[type=number],input[type=date],select,textarea{font:inherit;padding:7px 8px;border:1px solid #aab;border-radius:5px;width:100%;max-width:100%;background:#fff}
textarea{min-height:4.5em}
.checks{display:grid;grid-template-columns:repeat(auto-fit,minmax(230px,1fr));gap:4px 14px}
.checks label{display:flex;gap:8px;align-items:flex-start;font-weight:400}
.checks input{margin-top:4px;flex:none;width:18px;height:18px}
.row{border:1px dashed #bbc;border-radius:8px;padding:10px 12px;margin:10px 0;background:#fafbfd}
.row h3{margin:0 0 8px;font-size:1em}
.bad input,.bad select,.bad textarea,.checks.bad{border-color:#c9302c;outline:2px solid #f3c4c2}
.err{color:#b02a26;font-size:.9em;font-weight:600}
.err .hint{display:block;color:#555;font-weight:400}
.summary-errors{background:#fbe3e2;border-left:6px solid #c9302c;padding:8px 14px;border-radius:6px;margin:12px 0}
.summary-errors pre{white-space:pre-wrap;word-break:break-word;margin:4px 0;font-size:.85em}
button,.button{font:inherit;padding:8px 14px;border-radius:6px;border:1px solid #1a4d8f;background:#fff;color:#1a4d8f;cursor:pointer;text-decoration:none;display:inline-block}
button.primary,.button.primary{background:#1a4d8f;color:#fff;font-weight:700}
button.small{padding:4px 10px;font-size:.9em}
.actions{display:flex;flex-wrap:wrap;gap:10px;margin:18px 0;position:sticky;bottom:0;background:#fff;padding:10px 0;border-top:1px solid #eee}
ul.records{list-style:none;padding:0} ul.records li{border:1px solid #ddd;border-radius:6px;padding:8px 12px;margin:8px 0;display:flex;flex-wrap:wrap;gap:6px 16px;align-items:baseline}
.v{padding:1px 8px;border-radius:10px;font-size:.85em;font-weight:700}
.v-treat{background:#e4f4ea;color:#245f39}.v-treat_with_precautions{background:#fdf1dc;color:#7a4e00}.v-not_today{background:#fbe3e2;color:#8d211e}
.small{font-size:.88em;color:#555}
details>summary{cursor:pointer;font-weight:600}
pre.code{white-space:pre-wrap;word-break:break-word;background:#f7f7f7;border:1px solid #e4e4e4;padding:8px;font-size:.85em}
@media (max-width:600px){body{font-size:15px;padding:0 8px 40px} fieldset{padding:8px 8px 10px} .row{padding:8px}}
"#;

/// A whole page around `body`.
pub fn layout(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{t} · needlesim</title><style>{CSS}</style></head><body>\n<header class=\"bar\"><a class=\"brand\" href=\"/\">needlesim planner</a><a href=\"/\">Saved patients</a><a href=\"/patients/new\">New patient</a></header>\n{body}\n</body></html>\n",
        t = esc(title)
    )
}

/// An error page: what happened and what to do.
pub fn error_page(title: &str, what: &str, todo: &str) -> String {
    layout(
        title,
        &format!(
            "<h1>{}</h1><p>{}</p><p>{}</p><p><a class=\"button\" href=\"/\">Back to the saved patients</a></p>",
            esc(title),
            esc(what),
            esc(todo)
        ),
    )
}

/// The start page: saved patients and ways to start.
pub fn home(
    rows: &[(crate::db::PatientRow, Option<(i64, String)>)],
    examples: &[(&str, &str)],
) -> String {
    let mut b = String::from(
        "<h1>Saved patients</h1><p class=\"note\">A planning aid for practitioners, not medical advice. Everything stays on this computer, in the data folder the app was started with.</p>\n<p><a class=\"button primary\" href=\"/patients/new\" id=\"new-patient\">New patient</a></p>\n",
    );
    if rows.is_empty() {
        b.push_str("<p>No saved patients yet.</p>\n");
    } else {
        b.push_str("<ul class=\"records\">\n");
        for (p, plan) in rows {
            let _ = write!(
                b,
                "<li><a href=\"/patients/{id}\" class=\"patient-link\">{t}</a><span class=\"small\">changed {u} UTC</span>",
                id = p.id,
                t = esc(&p.title),
                u = esc(&p.updated)
            );
            if let Some((plan_id, verdict)) = plan {
                let _ = write!(
                    b,
                    "<a href=\"/plans/{plan_id}\">latest plan</a> <span class=\"v v-{v}\">{l}</span>",
                    v = esc(verdict),
                    l = esc(&verdict_label(verdict))
                );
            }
            b.push_str("</li>\n");
        }
        b.push_str("</ul>\n");
    }
    b.push_str("<h2>Start from an example</h2><ul>\n");
    for (name, title) in examples {
        let _ = writeln!(
            b,
            "<li><a href=\"/patients/new?example={n}\">{t}</a></li>",
            n = esc(name),
            t = esc(title)
        );
    }
    b.push_str("</ul>\n");
    layout("Saved patients", &b)
}

/// The verdict in words.
pub fn verdict_label(kind: &str) -> String {
    match kind {
        "treat" => "can be treated".into(),
        "treat_with_precautions" => "can be treated, with precautions".into(),
        "not_today" => "not today".into(),
        k => k.replace('_', " "),
    }
}

pub fn site_label(s: &str) -> &str {
    match s {
        "forehead" => "Forehead",
        "periorbital" => "Around the eyes",
        "cheek" => "Cheeks",
        "nose" => "Nose",
        "perioral" => "Around the mouth",
        "chin" => "Chin",
        "neck" => "Neck",
        "chest" => "Upper chest",
        "dorsal_hand" => "Back of the hands",
        "abdomen" => "Belly",
        "thigh" => "Thighs",
        "back" => "Back",
        "scalp" => "Scalp",
        other => other,
    }
}

pub fn concern_label(s: &str) -> &str {
    match s {
        "fine_lines" => "Fine lines",
        "wrinkles" => "Wrinkles (deeper lines)",
        "acne_scars" => "Acne scars",
        "stretch_marks" => "Stretch marks",
        "hyperpigmentation" => "Dark spots or patches",
        "melasma" => "Melasma (brown patches, often hormonal)",
        "enlarged_pores" => "Large pores",
        "sun_damage" => "Sun damage",
        "laxity" => "Loose or sagging skin",
        "hair_thinning" => "Thinning hair (scalp only)",
        other => other,
    }
}

pub fn skin_state_label(s: &str) -> &str {
    match s {
        "infection" => "Skin infection",
        "herpes" => "Cold sore (herpes)",
        "inflamed_acne" => "Red, swollen spots (active acne)",
        "eczema_flare" => "Eczema flare-up",
        "psoriasis_flare" => "Psoriasis flare-up",
        "rosacea_flare" => "Rosacea flare-up (redness)",
        "sunburn" => "Sunburn",
        "open_wound" => "Open wound or cut",
        "suspicious_lesion" => "A mole or spot not yet checked by a doctor",
        "warts" => "Warts",
        other => other,
    }
}

fn medication_label(s: &str) -> &str {
    match s {
        "isotretinoin" => "Isotretinoin tablets for acne (e.g. Roaccutane)",
        "anticoagulant" => "Blood thinner (e.g. warfarin, apixaban)",
        "antiplatelet" => "Aspirin or clopidogrel",
        "topical_retinoid" => "Retinoid cream or gel (e.g. tretinoin, adapalene)",
        "immunosuppressant" => "Medicine that weakens the immune system",
        "chemotherapy" => "Cancer medicine (chemotherapy)",
        "minoxidil" => "Minoxidil (hair-growth medicine)",
        "other" => "Other medicine (the rules do not check it: the practitioner must)",
        other => other,
    }
}

fn procedure_label(s: &str) -> &str {
    match s {
        "filler" => "Filler injections",
        "botulinum_toxin" => "Anti-wrinkle injections (botulinum toxin)",
        "chemical_peel" => "Chemical peel",
        "laser" => "Laser or light treatment",
        "surgery" => "Surgery",
        "microneedling" => "Microneedling",
        other => other,
    }
}

fn history_label(s: &str) -> &str {
    match s {
        "pregnant" => "Pregnant",
        "breastfeeding" => "Breastfeeding",
        "keloid_tendency" => "Raised, thick scars (keloids) before, or in the family",
        "metal_allergy" => "Allergy to metal (e.g. nickel)",
        "bleeding_disorder" => "Bleeding or clotting problem",
        "immunosuppressed" => "Weak immune system (illness or medicine)",
        "cancer_treatment" => "Having chemotherapy or radiotherapy now",
        "pih_history" => "Dark marks left after spots, injuries or earlier treatments",
        other => other,
    }
}

fn scar_label(s: &str) -> &str {
    match s {
        "icepick" => "Ice-pick (narrow and deep)",
        "boxcar" => "Boxcar (wide, with sharp edges)",
        "rolling" => "Rolling (soft, wavy)",
        other => other,
    }
}

/// Field errors by form control.
pub type Errors = BTreeMap<String, Vec<FieldError>>;

struct W<'a> {
    h: String,
    errors: &'a Errors,
}

impl W<'_> {
    fn err(&self, field: &str) -> String {
        let Some(list) = self.errors.get(field) else {
            return String::new();
        };
        let mut h = String::new();
        for e in list {
            let _ = write!(
                h,
                "<span class=\"err\" data-field=\"{f}\">{v}{m}<span class=\"hint\">{hint}</span></span>",
                f = esc(field),
                v = if e.value == "-" || e.value.is_empty() {
                    String::new()
                } else {
                    format!("{}: ", esc(&e.value))
                },
                m = esc(&e.message),
                hint = esc(&e.hint)
            );
        }
        h
    }

    fn bad(&self, field: &str) -> &'static str {
        if self.errors.contains_key(field) {
            " bad"
        } else {
            ""
        }
    }

    fn id(field: &str) -> String {
        field.replace(['[', ']', '.'], "_")
    }

    /// A text, number or date input with its label and help.
    fn input(
        &mut self,
        field: &str,
        kind: &str,
        label: &str,
        help: &str,
        value: &str,
        extra: &str,
    ) {
        let id = Self::id(field);
        let _ = write!(
            self.h,
            "<div class=\"field{bad}\"><label for=\"{id}\">{l}</label><input type=\"{kind}\" id=\"{id}\" name=\"{f}\" value=\"{v}\" {extra}>{help}{err}</div>\n",
            bad = self.bad(field),
            l = esc(label),
            f = esc(field),
            v = esc(value),
            help = if help.is_empty() {
                String::new()
            } else {
                format!("<span class=\"help\">{}</span>", esc(help))
            },
            err = self.err(field)
        );
    }

    fn select(
        &mut self,
        field: &str,
        label: &str,
        help: &str,
        value: &str,
        options: &[(String, String)],
    ) {
        let id = Self::id(field);
        let _ = write!(
            self.h,
            "<div class=\"field{bad}\"><label for=\"{id}\">{l}</label><select id=\"{id}\" name=\"{f}\">",
            bad = self.bad(field),
            l = esc(label),
            f = esc(field)
        );
        let known = options.iter().any(|(v, _)| v == value);
        if !known && !value.is_empty() {
            // A value the form does not offer (typed into a saved file) is kept and shown.
            let _ = write!(
                self.h,
                "<option value=\"{v}\" selected>{v}</option>",
                v = esc(value)
            );
        }
        for (v, l) in options {
            let _ = write!(
                self.h,
                "<option value=\"{}\"{}>{}</option>",
                esc(v),
                if v == value { " selected" } else { "" },
                esc(l)
            );
        }
        let _ = write!(
            self.h,
            "</select>{}{}</div>\n",
            if help.is_empty() {
                String::new()
            } else {
                format!("<span class=\"help\">{}</span>", esc(help))
            },
            self.err(field)
        );
    }

    fn checks(
        &mut self,
        field: &str,
        label: &str,
        chosen: &[String],
        options: &[(String, String)],
    ) {
        let _ = write!(
            self.h,
            "<div class=\"field\"><span class=\"label\">{l}</span><div class=\"checks{bad}\" id=\"{id}\">",
            l = esc(label),
            bad = self.bad(field),
            id = Self::id(field)
        );
        for (v, l) in options {
            let _ = write!(
                self.h,
                "<label><input type=\"checkbox\" name=\"{f}\" value=\"{v}\"{c}><span>{l}</span></label>",
                f = esc(field),
                v = esc(v),
                c = if chosen.contains(v) { " checked" } else { "" },
                l = esc(l)
            );
        }
        // Values the form does not offer (from a saved file) are kept as hidden fields.
        for c in chosen
            .iter()
            .filter(|c| !options.iter().any(|(v, _)| v == *c))
        {
            let _ = write!(
                self.h,
                "<label><input type=\"checkbox\" name=\"{f}\" value=\"{v}\" checked><span>{v}</span></label>",
                f = esc(field),
                v = esc(c)
            );
        }
        let _ = write!(self.h, "</div>{}</div>\n", self.err(field));
    }
}

fn opts(
    values: impl IntoIterator<Item = &'static str>,
    label: fn(&str) -> &str,
) -> Vec<(String, String)> {
    values
        .into_iter()
        .map(|v| (v.to_string(), label(v).to_string()))
        .collect()
}

fn with_blank(first: &str, mut o: Vec<(String, String)>) -> Vec<(String, String)> {
    o.insert(0, (String::new(), first.to_string()));
    o
}

/// The intake form. `id`: the saved patient being edited; `errors`: field errors by control;
/// `unplaced`: errors shown only at the top (all errors are listed there too, as the command
/// line prints them).
pub fn intake(
    form: &Form,
    id: Option<i64>,
    errors: &Errors,
    all: &[FieldError],
    plans: &[(i64, String, String, String)],
) -> String {
    let mut w = W {
        h: String::new(),
        errors,
    };
    let title = if id.is_some() {
        "Edit patient"
    } else {
        "New patient"
    };
    let _ = write!(w.h, "<h1>{}</h1>\n", title);
    if !plans.is_empty() {
        w.h.push_str("<details><summary>Plans made for this patient</summary><ul>");
        for (pid, created, verdict, summary) in plans {
            let _ = write!(
                w.h,
                "<li><a href=\"/plans/{pid}\">{c} UTC</a> <span class=\"v v-{v}\">{l}</span> <span class=\"small\">{s}</span></li>",
                c = esc(created),
                v = esc(verdict),
                l = esc(&verdict_label(verdict)),
                s = esc(summary)
            );
        }
        w.h.push_str("</ul></details>\n");
    }
    if !all.is_empty() {
        let _ = write!(
            w.h,
            "<div class=\"summary-errors\" id=\"errors\"><strong>Please check {n} {what}.</strong> Each is marked below; the same messages as <code>needlesim plan</code> gives for the patient file:<pre>",
            n = all.len(),
            what = if all.len() == 1 { "entry" } else { "entries" }
        );
        for e in all {
            let _ = writeln!(w.h, "{}", esc(&e.to_string()));
        }
        w.h.push_str("</pre></div>\n");
    }
    w.h.push_str("<form method=\"post\" action=\"/patients\" id=\"intake\" novalidate>\n");
    if let Some(id) = id {
        let _ = write!(
            w.h,
            "<input type=\"hidden\" name=\"patient_id\" value=\"{id}\">\n"
        );
    }

    w.h.push_str("<fieldset><legend>The patient</legend><div class=\"grid\">\n");
    w.input(
        "title",
        "text",
        "Record name",
        "A pseudonym or initials, not the patient's real name.",
        &form.title,
        "maxlength=\"200\"",
    );
    w.input(
        "date",
        "date",
        "Date of this visit",
        "Waiting times are counted from this day.",
        &form.date,
        "",
    );
    w.input(
        "patient.age_years",
        "number",
        "Age (years)",
        "18 to 100.",
        &form.age_years,
        "step=\"any\" inputmode=\"decimal\"",
    );
    w.select(
        "patient.sex",
        "Sex",
        "Skin thickness differs between women and men.",
        &form.sex,
        &with_blank(
            "(choose)",
            vec![
                ("female".into(), "Female".into()),
                ("male".into(), "Male".into()),
            ],
        ),
    );
    let photo: Vec<(String, String)> = [
        "1: always burns, never tans",
        "2: usually burns, tans a little",
        "3: sometimes burns, tans evenly",
        "4: rarely burns, tans easily",
        "5: very rarely burns, brown skin",
        "6: never burns, dark brown or black skin",
    ]
    .iter()
    .enumerate()
    .map(|(i, l)| ((i + 1).to_string(), l.to_string()))
    .collect();
    w.select(
        "patient.phototype",
        "Skin type (how the skin reacts to sun)",
        "Darker skin types are more likely to get dark marks after treatment.",
        &form.phototype,
        &with_blank("(choose)", photo),
    );
    w.h.push_str("</div></fieldset>\n");

    w.h.push_str("<fieldset><legend>Health</legend>\n");
    let hist = opts(HISTORY_FLAGS.iter().copied(), history_label);
    w.checks("history", "Tick what applies", &form.history, &hist);
    w.h.push_str("<div class=\"grid\">");
    w.select(
        "history.diabetes",
        "Diabetes",
        "",
        &form.diabetes,
        &vec![
            (String::new(), "No".into()),
            ("controlled".into(), "Yes, under control".into()),
            ("uncontrolled".into(), "Yes, not under control".into()),
        ],
    );
    w.h.push_str("</div>");
    let states = opts(SkinState::ALL.iter().map(|s| s.name()), skin_state_label);
    w.checks(
        "skin_state",
        "Skin problems today, all over the body",
        &form.skin_state,
        &states,
    );
    w.h.push_str("</fieldset>\n");

    // Areas to treat.
    w.h.push_str("<fieldset id=\"zones\"><legend>Areas to treat</legend>\n");
    let _ = write!(w.h, "{}", w.err("zones"));
    let sites = with_blank(
        "(choose)",
        opts(Site::ALL.iter().map(|s| s.name()), site_label),
    );
    let concerns = opts(ConcernKind::ALL.iter().map(|c| c.name()), concern_label);
    let scars = opts(ScarType::ALL.iter().map(|c| c.name()), scar_label);
    let grades = with_blank(
        "(not acne scars)",
        vec![
            ("1".into(), "1: flat marks only".into()),
            ("2".into(), "2: mild, hidden by make-up".into()),
            ("3".into(), "3: moderate, seen at normal distance".into()),
            ("4".into(), "4: severe".into()),
        ],
    );
    let hair_grades = with_blank(
        "(not thinning hair)",
        vec![
            (
                "1".into(),
                "1: Norwood 1 (no recession) / Ludwig I (mild)".into(),
            ),
            ("2".into(), "2: Norwood 2 / Ludwig II (moderate)".into()),
            ("3".into(), "3: Norwood 3 / Ludwig III (severe)".into()),
            ("4".into(), "4: Norwood 4 (men only)".into()),
            ("5".into(), "5: Norwood 5 (men only)".into()),
            ("6".into(), "6: Norwood 6 (men only)".into()),
            ("7".into(), "7: Norwood 7 (men only)".into()),
        ],
    );
    for (i, z) in form.zones.iter().enumerate() {
        let p = |f: &str| format!("zones[{i}].{f}");
        let _ = write!(
            w.h,
            "<div class=\"row zone\" id=\"zone-{i}\"><h3>Area {}</h3><div class=\"grid\">",
            i + 1
        );
        w.input(
            &p("name"),
            "text",
            "Short name",
            "Letters, digits, - or _; e.g. cheeks.",
            &z.name,
            "maxlength=\"64\"",
        );
        w.select(&p("site"), "Where on the body", "", &z.site, &sites);
        w.input(
            &p("area_cm2"),
            "number",
            "Size (cm², optional)",
            "Both cheeks are about 90 cm²; leave empty for a typical size.",
            &z.area_cm2,
            "step=\"any\" inputmode=\"decimal\"",
        );
        w.h.push_str("</div>");
        w.checks(
            &p("concerns"),
            "What bothers the patient here",
            &z.concerns,
            &concerns,
        );
        w.h.push_str("<div class=\"grid\">");
        w.select(&p("grade"), "Acne scars: how severe", "", &z.grade, &grades);
        w.select(
            &p("hair_grade"),
            "Thinning hair: grade",
            "Men: Hamilton-Norwood 1-7; women: Ludwig 1-3.",
            &z.hair_grade,
            &hair_grades,
        );
        w.h.push_str("</div>");
        w.checks(
            &p("scar_types"),
            "Acne scars: which kinds",
            &z.scar_types,
            &scars,
        );
        w.checks(
            &p("skin_state"),
            "Skin problems in this area today",
            &z.skin_state,
            &states,
        );
        let _ = write!(
            w.h,
            "<button type=\"submit\" class=\"small\" name=\"action\" value=\"remove_zone:{i}\" formnovalidate>Remove this area</button></div>\n"
        );
    }
    w.h.push_str("<button type=\"submit\" class=\"small\" name=\"action\" value=\"add_zone\" id=\"add-zone\">Add an area</button></fieldset>\n");

    // Medicines.
    w.h.push_str(
        "<fieldset id=\"medications\"><legend>Medicines (now or in the last year)</legend>\n",
    );
    let classes = with_blank(
        "(choose)",
        opts(
            MedicationClass::ALL.iter().map(|c| c.name()),
            medication_label,
        ),
    );
    for (i, m) in form.medications.iter().enumerate() {
        let p = |f: &str| format!("medications[{i}].{f}");
        let _ = write!(w.h, "<div class=\"row\"><div class=\"grid\">");
        w.input(
            &p("name"),
            "text",
            "Name",
            "As the patient says it, e.g. warfarin 5 mg.",
            &m.name,
            "maxlength=\"200\"",
        );
        w.select(&p("class"), "What kind of medicine", "", &m.class, &classes);
        w.input(
            &p("started"),
            "date",
            "Started (optional)",
            "",
            &m.started,
            "",
        );
        w.input(
            &p("stopped"),
            "date",
            "Stopped (empty if still taken)",
            "",
            &m.stopped,
            "",
        );
        let _ = write!(
            w.h,
            "</div><button type=\"submit\" class=\"small\" name=\"action\" value=\"remove_medication:{i}\">Remove</button></div>\n"
        );
    }
    w.h.push_str("<button type=\"submit\" class=\"small\" name=\"action\" value=\"add_medication\" id=\"add-medication\">Add a medicine</button></fieldset>\n");

    // Earlier treatments.
    w.h.push_str("<fieldset id=\"procedures\"><legend>Earlier skin treatments</legend>\n");
    let kinds = with_blank(
        "(choose)",
        opts(ProcedureKind::ALL.iter().map(|c| c.name()), procedure_label),
    );
    for (i, r) in form.procedures.iter().enumerate() {
        let p = |f: &str| format!("procedures[{i}].{f}");
        let _ = write!(w.h, "<div class=\"row\"><div class=\"grid\">");
        w.select(&p("kind"), "Treatment", "", &r.kind, &kinds);
        w.input(&p("date"), "date", "Date", "", &r.date, "");
        w.input(
            &p("zones"),
            "text",
            "Areas (optional)",
            "Short names of the areas above, separated by commas; empty for all.",
            &r.zones,
            "",
        );
        w.input(
            &p("detail"),
            "text",
            "Details (optional)",
            "Product, peel depth, laser type.",
            &r.detail,
            "maxlength=\"500\"",
        );
        let _ = write!(
            w.h,
            "</div><button type=\"submit\" class=\"small\" name=\"action\" value=\"remove_procedure:{i}\">Remove</button></div>\n"
        );
    }
    w.h.push_str("<button type=\"submit\" class=\"small\" name=\"action\" value=\"add_procedure\" id=\"add-procedure\">Add an earlier treatment</button></fieldset>\n");

    // Goals.
    w.h.push_str("<fieldset><legend>Wishes and limits</legend><div class=\"grid\">\n");
    w.input(
        "goals.max_downtime_days",
        "number",
        "Most days of visible healing after a session (optional)",
        "0 to 30 days.",
        &form.max_downtime_days,
        "step=\"any\" inputmode=\"decimal\"",
    );
    w.input(
        "goals.max_sessions",
        "number",
        "Most sessions per area (optional)",
        "1 to 20.",
        &form.max_sessions,
        "step=\"1\" inputmode=\"numeric\"",
    );
    w.input(
        "goals.max_pih_risk_pct",
        "number",
        "Highest acceptable chance of dark marks, % (optional)",
        "Default: 20 % for skin types 4-6 or earlier dark marks.",
        &form.max_pih_risk_pct,
        "step=\"any\" inputmode=\"decimal\"",
    );
    w.input(
        "goals.earliest_start",
        "date",
        "No session before (optional)",
        "",
        &form.earliest_start,
        "",
    );
    w.input(
        "goals.finish_by",
        "date",
        "All healed by (optional)",
        "For example before a wedding or a holiday.",
        &form.finish_by,
        "",
    );
    w.select(
        "goals.numbing",
        "Numbing",
        "",
        &form.numbing,
        &vec![
            (String::new(), "Numbing cream, lidocaine 4 % (usual)".into()),
            ("emla_occluded".into(), "EMLA cream under cling film".into()),
            ("none".into(), "No numbing".into()),
        ],
    );
    w.select(
        "goals.device",
        "Device",
        "",
        &form.device,
        &vec![
            (String::new(), "Microneedling pen (usual)".into()),
            ("roller".into(), "Roller".into()),
        ],
    );
    w.h.push_str("</div>\n");
    for (i, b) in form.blackout.iter().enumerate() {
        let p = |f: &str| format!("goals.blackout[{i}].{f}");
        let _ = write!(
            w.h,
            "<div class=\"row\"><h3>No sessions in this period</h3><div class=\"grid\">"
        );
        w.input(&p("from"), "date", "From", "", &b.from, "");
        w.input(&p("to"), "date", "To", "", &b.to, "");
        w.input(
            &p("reason"),
            "text",
            "Why (optional)",
            "e.g. holiday in the sun.",
            &b.reason,
            "maxlength=\"200\"",
        );
        let _ = write!(
            w.h,
            "</div><button type=\"submit\" class=\"small\" name=\"action\" value=\"remove_blackout:{i}\">Remove</button></div>\n"
        );
    }
    w.h.push_str("<button type=\"submit\" class=\"small\" name=\"action\" value=\"add_blackout\" id=\"add-blackout\">Add a period without sessions</button>\n");
    let nid = "goals_notes";
    let _ = write!(
        w.h,
        "<div class=\"field{bad}\" style=\"margin-top:10px\"><label for=\"{nid}\">What the patient hopes for (optional)</label><textarea id=\"{nid}\" name=\"goals.notes\" maxlength=\"2000\">{v}</textarea>{err}</div>",
        bad = w.bad("goals.notes"),
        v = esc(&form.notes),
        err = w.err("goals.notes")
    );
    w.h.push_str("</fieldset>\n");

    // Practitioner.
    w.h.push_str("<fieldset><legend>Practitioner's decisions</legend>\n");
    let waivable: Vec<(String, String)> = RULES
        .iter()
        .filter(|r| r.waivable)
        .map(|r| (r.id.to_string(), format!("Go ahead despite: {}", r.finding)))
        .collect();
    w.checks("practitioner.waive", "Set aside a waiting time the rules advise (after talking it through with the patient or the prescriber)", &form.waive, &waivable);
    w.h.push_str("<details><summary>Advanced: model settings</summary>");
    let _ = write!(
        w.h,
        "<div class=\"field{bad}\"><label for=\"params\">Model parameter changes (for research; leave empty)</label><textarea id=\"params\" name=\"params\" rows=\"4\" placeholder=\"[params.healing]&#10;collagen_output_activated = 13.5\">{v}</textarea><span class=\"help\">As in a patient file: <code>[params.&lt;group&gt;]</code>, then <code>name = value</code>; <code>needlesim params</code> lists them.</span>{err}</div>",
        bad = w.bad("params"),
        v = esc(&form.params),
        err = w.err("params")
    );
    w.h.push_str("</details></fieldset>\n");

    w.h.push_str("<div class=\"actions\"><button type=\"submit\" class=\"primary\" name=\"action\" value=\"plan\" id=\"make-plan\">Save and make the plan</button><button type=\"submit\" name=\"action\" value=\"save\" id=\"save\">Save only</button></div>\n</form>\n");
    layout(title, &w.h)
}
