//! The bundled example patients: each plans, with the outcome its file describes, and the plan
//! round-trips through JSON.

use std::path::Path;

use needlesim::plan::{self, Models, VerdictKind, patient};

fn load(name: &str) -> plan::Plan {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/patients")
        .join(name);
    let p = patient::load(&path).unwrap_or_else(|e| panic!("{e}"));
    plan::plan(&p, &Models::default()).unwrap()
}

#[test]
fn at_least_five_examples_and_all_plan() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/patients");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".toml") {
            let pl = load(&name);
            let json = serde_json::to_string(&pl).unwrap();
            let back: plan::Plan = serde_json::from_str(&json).unwrap();
            // serde_json parses floats to within an ulp; compare everything but the numbers.
            assert_eq!(back.verdict, pl.verdict, "{name}");
            assert_eq!(back.findings, pl.findings, "{name}");
            assert_eq!(back.aftercare, pl.aftercare, "{name}");
            let dates = |p: &plan::Plan| p.visits.iter().map(|v| v.date).collect::<Vec<_>>();
            assert_eq!(dates(&back), dates(&pl), "{name}");
            let html = plan::render::html(&pl);
            assert!(html.contains("not medical advice"));
            assert!(
                !html.contains("src=\"http") && !html.contains("href=\"http"),
                "self-contained"
            );
            assert!(plan::render::text(&pl).contains("not medical advice"));
            n += 1;
        }
    }
    assert!(n >= 5, "{n} examples");
}

#[test]
fn not_today_example() {
    let pl = load("not_today_isotretinoin_cold_sore.toml");
    assert_eq!(pl.verdict.kind, VerdictKind::NotToday);
    assert!(pl.visits.iter().all(|v| v.date > pl.date));
    assert!(pl.verdict.summary.contains("2027-04-03"));
}

#[test]
fn darker_skin_acne_example() {
    let pl = load("acne_scars_type5.toml");
    assert_eq!(pl.person.phototype, 5);
    assert_eq!(pl.verdict.kind, VerdictKind::TreatWithPrecautions);
    assert!(pl.findings.iter().any(|f| f.rule == "darker-skin"));
    assert!(pl.zones.iter().all(|z| z.interval_days == 42));
    assert!(pl.aftercare[0].steps.iter().any(|s| {
        s.instructions
            .iter()
            .any(|i| i.contains("strict sun protection"))
    }));
}

#[test]
fn fine_lines_example_respects_blackout_and_event() {
    let pl = load("fine_lines_type2.toml");
    let finish = plan::Date::parse("2027-05-15").unwrap();
    for v in &pl.visits {
        assert!(v.date.add_days(v.downtime_days[1] as i64) <= finish);
    }
    let forehead = pl.zones.iter().find(|z| z.name == "forehead").unwrap();
    // Never before the toxin deferral ends (2027-01-15); since issue 21 it waits a day to share
    // the other zones' visit on 2027-01-16 instead of a visit of its own the day before.
    let deferral_end = plan::Date::parse("2027-01-15").unwrap();
    assert!(forehead.dates[0] >= deferral_end);
    assert_eq!(forehead.dates[0], plan::Date::parse("2027-01-16").unwrap());
    let eyes = pl.zones.iter().find(|z| z.name == "eyes").unwrap();
    assert!(eyes.dates.contains(&forehead.dates[0]));
}
