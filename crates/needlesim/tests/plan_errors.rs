//! Bad patient files: every problem reported at once with path, value, range and hint; random
//! input never panics.

use needlesim::plan::{self, Models, patient};
use proptest::prelude::*;

#[test]
fn all_problems_reported_with_paths() {
    let text = r#"
date = "2026-02-30"
[patient]
age_years = 17
sex = "other"
phototype = 7
[[medications]]
name = "x"
class = "magic"
[[procedures]]
kind = "filler"
date = "2026-11-01"
zones = ["lips"]
[[zones]]
name = "cheeks"
site = "cheeks"
concerns = [{ kind = "acne_scars" }, { kind = "stretch_marks" }]
[goals]
max_downtime_days = -1
max_pih_risk_pct = 150
blackout = [{ from = "2027-01-10", to = "2027-01-01" }]
"#;
    let e = patient::parse(text, "bad.toml").unwrap_err();
    let paths: Vec<&str> = e.field_errors().iter().map(|f| f.path.as_str()).collect();
    for p in [
        "date",
        "patient.age_years",
        "patient.sex",
        "patient.phototype",
        "zones[0].site",
        "zones[0].concerns[0].grade",
        "medications[0].class",
        "procedures[0].zones[0]",
        "goals.max_downtime_days",
        "goals.max_pih_risk_pct",
        "goals.blackout[0].to",
    ] {
        assert!(paths.contains(&p), "missing {p} in {paths:?}\n{e}");
    }
    for f in e.field_errors() {
        assert!(!f.message.is_empty() && !f.hint.is_empty(), "{f}");
    }
    let msg = e.to_string();
    assert!(msg.contains("bad.toml") && msg.contains("hint:"));
}

#[test]
fn unknown_keys_and_types_are_field_errors() {
    let e = patient::parse("date = \"2026-11-21\"\n[patient]\nage_years = 30\nsex = \"female\"\nphototype = 2\nheight = 3\n", "t").unwrap_err();
    assert!(e.to_string().contains("unknown field"), "{e}");
    let e = patient::parse("date = 5\n", "t").unwrap_err();
    assert!(!e.field_errors().is_empty(), "{e}");
    let e = patient::parse("date = \"2026", "t").unwrap_err();
    assert!(e.to_string().contains("not valid TOML"), "{e}");
}

const TEMPLATE: &str = r#"
date = "{date}"
[patient]
age_years = {age}
sex = "female"
phototype = {pt}
[[medications]]
name = "m"
class = "{class}"
stopped = "{date2}"
[[procedures]]
kind = "{proc}"
date = "{date2}"
[[zones]]
name = "z"
site = "{site}"
area_cm2 = {area}
concerns = [{ kind = "{concern}", grade = {grade} }]
skin_state = ["{state}"]
[goals]
max_downtime_days = {dt}
max_sessions = {ns}
finish_by = "{date3}"
device = "{device}"
"#;

fn num() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<f64>().prop_map(|x| format!("{x:?}")),
        (-100f64..3000.0).prop_map(|x| format!("{x}")),
        any::<i64>().prop_map(|x| x.to_string()),
        (0i64..30).prop_map(|x| x.to_string()),
        Just("nan".to_string()),
        Just("inf".to_string()),
    ]
}

fn date() -> impl Strategy<Value = String> {
    prop_oneof![
        (1890i32..2210, 0u32..14, 0u32..33).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
        (2025i32..2028, 1u32..13, 1u32..29).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
        "\\PC{0,12}",
    ]
}

fn pick(v: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::sample::select(v).prop_map(str::to_string)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics(text in "\\PC{0,300}") {
        let _ = patient::parse(&text, "fuzz.toml");
    }

    #[test]
    fn random_patient_files_never_panic(
        d1 in date(), d2 in date(), d3 in date(), age in num(), pt in num(), area in num(),
        grade in num(), dt in num(), ns in num(),
        class in pick(&["isotretinoin", "anticoagulant", "antiplatelet", "topical_retinoid", "immunosuppressant", "chemotherapy", "minoxidil", "other", "x"]),
        proc_ in pick(&["filler", "botulinum_toxin", "chemical_peel", "laser", "surgery", "microneedling", "y"]),
        site in pick(&["forehead", "periorbital", "cheek", "nose", "perioral", "chin", "neck", "chest", "dorsal_hand", "abdomen", "thigh", "back", "scalp", "elbow"]),
        concern in pick(&["fine_lines", "wrinkles", "acne_scars", "stretch_marks", "hyperpigmentation", "melasma", "enlarged_pores", "sun_damage", "laxity", "hair_thinning", "z"]),
        state in pick(&["infection", "herpes", "inflamed_acne", "eczema_flare", "psoriasis_flare", "rosacea_flare", "sunburn", "open_wound", "suspicious_lesion", "warts", "w"]),
        device in pick(&["pen", "roller", "stamp"]),
    ) {
        let text = TEMPLATE
            .replace("{date}", &d1).replace("{date2}", &d2).replace("{date3}", &d3)
            .replace("{age}", &age).replace("{pt}", &pt).replace("{area}", &area)
            .replace("{grade}", &grade).replace("{dt}", &dt).replace("{ns}", &ns)
            .replace("{class}", &class).replace("{proc}", &proc_).replace("{site}", &site)
            .replace("{concern}", &concern).replace("{state}", &state).replace("{device}", &device);
        if let Ok(p) = patient::parse(&text, "fuzz.toml") {
            let pl = plan::plan(&p, &Models::default()).expect("a valid patient always plans");
            let _ = plan::render::html(&pl);
            let _ = plan::render::text(&pl);
            for z in &pl.zones {
                for c in &z.concerns {
                    prop_assert!(c.check.within_dermis);
                }
            }
        }
    }
}
