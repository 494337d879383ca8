//! Planner behaviour: screening outcomes, computed dates, zone-local exclusion, waivers, and
//! depth settings that never reach beyond the modelled dermis.

use needlesim::plan::recommend::ZoneStatus;
use needlesim::plan::rules::Category;
use needlesim::plan::{self, Date, Models, VerdictKind, patient};

fn patient(extra: &str, zones: &str) -> patient::Patient {
    let text = format!(
        "date = \"2026-11-21\"\n[patient]\nage_years = 40\nsex = \"female\"\nphototype = 2\n{extra}\n{zones}"
    );
    patient::parse(&text, "test.toml").unwrap_or_else(|e| panic!("{e}\n{text}"))
}

const CHEEKS: &str =
    "[[zones]]\nname = \"cheeks\"\nsite = \"cheek\"\nconcerns = [{ kind = \"wrinkles\" }]\n";
const TWO: &str = "[[zones]]\nname = \"cheeks\"\nsite = \"cheek\"\nconcerns = [{ kind = \"wrinkles\" }]\n[[zones]]\nname = \"mouth\"\nsite = \"perioral\"\nconcerns = [{ kind = \"fine_lines\" }]\nskin_state = [\"herpes\"]\n";

fn make(p: &patient::Patient) -> plan::Plan {
    plan::plan(p, &Models::default()).expect("plan")
}

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

#[test]
fn clean_file_is_treat_today() {
    let pl = make(&patient("", CHEEKS));
    assert_eq!(pl.verdict.kind, VerdictKind::Treat);
    assert_eq!(pl.visits.first().map(|v| v.date), Some(d("2026-11-21")));
    assert_eq!(pl.zones[0].interval_days, 28);
    assert!(pl.disclaimer.contains("not medical advice"));
}

#[test]
fn zone_local_infection_excludes_the_zone_not_the_person() {
    let pl = make(&patient("", TWO));
    let mouth = pl.zones.iter().find(|z| z.name == "mouth").unwrap();
    let cheeks = pl.zones.iter().find(|z| z.name == "cheeks").unwrap();
    assert!(matches!(mouth.status, ZoneStatus::Excluded { .. }));
    assert!(mouth.dates.is_empty());
    assert!(matches!(
        cheeks.status,
        ZoneStatus::Treat | ZoneStatus::TreatWithPrecautions { .. }
    ));
    assert!(!cheeks.dates.is_empty());
    assert_eq!(pl.verdict.kind, VerdictKind::TreatWithPrecautions);
    let f = pl.findings.iter().find(|f| f.rule == "infection").unwrap();
    assert_eq!(f.category, Category::DoNotTreat);
    assert_eq!(f.zone.as_deref(), Some("mouth"));
}

#[test]
fn isotretinoin_wait_is_computed_from_the_stop_date() {
    let med =
        |stop: &str| format!("[[medications]]\nname = \"iso\"\nclass = \"isotretinoin\"\n{stop}\n");
    let pl = make(&patient(&med("stopped = \"2026-10-03\""), CHEEKS));
    assert_eq!(pl.verdict.kind, VerdictKind::NotToday);
    assert_eq!(pl.verdict.reconsider_from, Some(d("2027-04-03")));
    assert_eq!(pl.zones[0].dates.first(), Some(&d("2027-04-03")));
    // Month-end arithmetic: 31 August + 6 months = 28 February.
    let pl = make(&patient(&med("stopped = \"2026-08-31\""), CHEEKS));
    assert_eq!(pl.verdict.reconsider_from, Some(d("2027-02-28")));
    // Ongoing: deferred until a condition, no date.
    let pl = make(&patient(&med(""), CHEEKS));
    assert_eq!(pl.verdict.kind, VerdictKind::NotToday);
    assert_eq!(pl.verdict.reconsider_from, None);
    // Stopped more than 6 months ago: nothing to report.
    let pl = make(&patient(&med("stopped = \"2026-04-01\""), CHEEKS));
    assert!(pl.findings.iter().all(|f| f.rule != "isotretinoin"));
    assert_eq!(pl.verdict.kind, VerdictKind::Treat);
}

#[test]
fn waiver_releases_a_precaution_but_keeps_it_in_the_plan() {
    let med =
        "[[medications]]\nname = \"iso\"\nclass = \"isotretinoin\"\nstopped = \"2026-10-03\"\n";
    let pl = make(&patient(
        &format!("{med}[practitioner]\nwaive = [\"isotretinoin\"]\n"),
        CHEEKS,
    ));
    let f = pl
        .findings
        .iter()
        .find(|f| f.rule == "isotretinoin")
        .unwrap();
    assert!(f.waived);
    assert_eq!(pl.verdict.kind, VerdictKind::TreatWithPrecautions);
    assert_eq!(pl.visits[0].date, d("2026-11-21"));
}

#[test]
fn do_not_treat_rules_cannot_be_waived() {
    let text = format!(
        "date = \"2026-11-21\"\n[patient]\nage_years = 40\nsex = \"female\"\nphototype = 2\n[practitioner]\nwaive = [\"infection\", \"nonsense\"]\n{CHEEKS}"
    );
    let e = patient::parse(&text, "t.toml").unwrap_err();
    let errs = e.field_errors();
    assert_eq!(errs.len(), 2, "{e}");
    assert!(errs[0].message.contains("cannot be waived"));
    assert_eq!(errs[1].path, "practitioner.waive[1]");
}

#[test]
fn procedures_defer_only_their_zone() {
    let pr = "[[procedures]]\nkind = \"filler\"\ndate = \"2026-10-01\"\nzones = [\"cheeks\"]\n";
    let zones = "[[zones]]\nname = \"cheeks\"\nsite = \"cheek\"\nconcerns = [{ kind = \"wrinkles\" }]\n[[zones]]\nname = \"forehead\"\nsite = \"forehead\"\nconcerns = [{ kind = \"fine_lines\" }]\n";
    let pl = make(&patient(pr, zones));
    let cheeks = &pl.zones[0];
    assert_eq!(
        cheeks.status,
        ZoneStatus::DeferredUntil {
            date: d("2027-01-01"),
            rules: vec!["filler".into()]
        }
    );
    assert_eq!(cheeks.dates[0], d("2027-01-01"));
    assert_eq!(pl.zones[1].dates[0], d("2026-11-21"));
}

#[test]
fn pregnancy_defers_everything() {
    let pl = make(&patient("[history]\npregnant = true\n", CHEEKS));
    assert_eq!(pl.verdict.kind, VerdictKind::NotToday);
    assert!(pl.visits.is_empty());
    let f = pl.findings.iter().find(|f| f.rule == "pregnancy").unwrap();
    assert_eq!(
        f.category,
        Category::Precaution,
        "grade C rules are precautions, not absolutes"
    );
}

#[test]
fn darker_skin_gets_gentler_settings_and_longer_intervals() {
    // Wrinkles, not acne scars: since issue 21 the cheek's chart row caps acne scars of a
    // 40-year-old (thin column, 0.5-1.0 mm) at 1.0 mm, which leaves no range to narrow.
    let zones =
        "[[zones]]\nname = \"cheeks\"\nsite = \"cheek\"\nconcerns = [{ kind = \"wrinkles\" }]\n";
    let light = make(&patient("", zones));
    let dark_text = format!(
        "date = \"2026-11-21\"\n[patient]\nage_years = 40\nsex = \"female\"\nphototype = 5\n{zones}"
    );
    let dark = make(&patient::parse(&dark_text, "t").unwrap());
    let (l, k) = (&light.zones[0].concerns[0], &dark.zones[0].concerns[0]);
    assert!(
        k.range_mm[1] < l.range_mm[1],
        "{:?} vs {:?}",
        k.range_mm,
        l.range_mm
    );
    assert!(k.setting_mm <= l.setting_mm);
    assert_eq!(k.interval_days, 42);
    assert_eq!(l.interval_days, 28);
    assert!(
        dark.findings
            .iter()
            .any(|f| f.rule == "darker-skin" && f.category == Category::Precaution)
    );
}

#[test]
fn downtime_limit_caps_the_depth_by_the_chart() {
    let zones = "[[zones]]\nname = \"cheeks\"\nsite = \"cheek\"\nconcerns = [{ kind = \"acne_scars\", grade = 4 }]\n";
    let pl = make(&patient("[goals]\nmax_downtime_days = 3\n", zones));
    let c = &pl.zones[0].concerns[0];
    assert!(c.setting_mm <= 0.5 + 1e-9, "{}", c.setting_mm);
    assert!(c.adjustments.iter().any(|a| a.contains("downtime")));
}

#[test]
fn blackouts_and_finish_date_shape_the_schedule() {
    let goals = "[goals]\nfinish_by = \"2027-02-01\"\nblackout = [{ from = \"2026-12-15\", to = \"2026-12-31\" }]\n";
    let pl = make(&patient(goals, CHEEKS));
    let z = &pl.zones[0];
    let dt = z.downtime_days[1].ceil() as i64;
    for date in &z.dates {
        assert!(
            !(*date <= d("2026-12-31") && date.add_days(dt) >= d("2026-12-15")),
            "{date}"
        );
        assert!(date.add_days(dt) <= d("2027-02-01"));
    }
    assert!(z.dates.len() < 3);
    assert!(!z.schedule_notes.is_empty());
}

#[test]
fn no_recommended_setting_reaches_beyond_the_dermis() {
    let sites = [
        "forehead",
        "periorbital",
        "cheek",
        "nose",
        "perioral",
        "chin",
        "neck",
        "chest",
        "dorsal_hand",
        "abdomen",
        "thigh",
        "back",
    ];
    let concerns = [
        "fine_lines",
        "wrinkles",
        "acne_scars",
        "stretch_marks",
        "melasma",
        "enlarged_pores",
        "laxity",
    ];
    for age in [18, 45, 90] {
        for sex in ["female", "male"] {
            for device in ["pen", "roller"] {
                for site in sites {
                    for concern in concerns {
                        let facial = [
                            "forehead",
                            "periorbital",
                            "cheek",
                            "nose",
                            "perioral",
                            "chin",
                        ]
                        .contains(&site);
                        if concern == "stretch_marks" && facial {
                            continue;
                        }
                        let grade = if concern == "acne_scars" {
                            ", grade = 4"
                        } else {
                            ""
                        };
                        let text = format!(
                            "date = \"2026-11-21\"\n[patient]\nage_years = {age}\nsex = \"{sex}\"\nphototype = 2\n[goals]\ndevice = \"{device}\"\n[[zones]]\nname = \"z\"\nsite = \"{site}\"\nconcerns = [{{ kind = \"{concern}\"{grade} }}]\n"
                        );
                        let p = patient::parse(&text, "t").unwrap();
                        let pl = make(&p);
                        for c in &pl.zones[0].concerns {
                            assert!(
                                c.check.within_dermis,
                                "{site} {concern} {age} {sex} {device}: {:?}",
                                c.check
                            );
                            assert!(c.check.deep_end_mm <= c.check.dermis_bottom_mm);
                            assert!(c.range_mm[0] <= c.range_mm[1] + 1e-9);
                            assert!(
                                c.setting_mm >= c.range_mm[0] - 1e-9
                                    && c.setting_mm <= c.range_mm[1] + 1e-9,
                                "{site} {concern}: {} not in {:?}",
                                c.setting_mm,
                                c.range_mm
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn aftercare_is_dated_per_session() {
    let pl = make(&patient("", CHEEKS));
    assert_eq!(pl.aftercare.len(), pl.visits.len());
    for (a, v) in pl.aftercare.iter().zip(&pl.visits) {
        assert_eq!(a.date, v.date);
        let phases: Vec<&str> = a.steps.iter().map(|s| s.phase.as_str()).collect();
        assert_eq!(
            &phases[..4],
            &["first hours", "24 h", "48-72 h", "first week"]
        );
        assert_eq!(a.steps[1].from, v.date.add_days(1));
        assert_eq!(a.steps[3].to, v.date.add_days(7));
    }
    assert!(
        pl.aftercare[0]
            .steps
            .iter()
            .any(|s| s.phase == "before the next session")
    );
    assert!(pl.warning_signs.len() >= 5);
}

#[test]
fn numbing_time_comes_from_the_delivery_model_and_says_so() {
    let nm = plan::ModelNumbing::default();
    let models = Models {
        numbing: &nm,
        predictor: None,
    };
    for (goals, label, occlusion) in [
        ("", 30.0, "none"),
        (
            "[goals]\nnumbing = \"emla_occluded\"\n",
            60.0,
            "occlusive dressing",
        ),
    ] {
        let pl = plan::plan(&patient(goals, TWO), &models).expect("plan");
        let n = &pl.numbing;
        let cal = n.calibration.as_ref().expect("delivery model used");
        assert_eq!(cal.reference_site, needlesim::skin::Site::DorsalHand);
        assert_eq!(cal.label_onset_min, label);
        assert_eq!(cal.occlusion, occlusion);
        assert_eq!(n.zones.len(), 2);
        for z in &n.zones {
            // Facial stratum corneum (16.8 µm) is thinner than the hand's (29.3 µm): the model
            // predicts a faster onset, and the label stays the minimum.
            let t = z.model_onset_min.expect("onset");
            assert!(t > 0.0 && t < label, "{z:?}");
            assert_eq!(z.apply_before_min, label);
        }
        assert!(pl.visits.iter().all(|v| v.numbing_min == label));
        let text = plan::render::text(&pl);
        assert!(
            text.contains("calibrated") && text.contains("back of the"),
            "{text}"
        );
        let html = plan::render::html(&pl);
        assert!(html.contains("model onset") && html.contains("Calibrated"));
        let json = serde_json::to_string(&pl).unwrap();
        assert!(json.contains("threshold_ug_ml") && json.contains("model_onset_min"));
    }
    // Label numbing only (the library default) still works and says it is the label.
    let pl = make(&patient("", CHEEKS));
    assert!(pl.numbing.calibration.is_none());
    assert!(pl.numbing.basis.starts_with("label"));
}
