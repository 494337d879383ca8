//! Adversarial patients (issue 21): every file under `tests/data/adversarial/` is planned with
//! and without the healing model, and every safety property of the planner is asserted on the
//! plan, its JSON, its terminal text and its HTML report:
//!
//! 1. limits on the bands: every predicted protocol carries bands and `meets_limits`; a zone
//!    with sessions meets every stated limit (PIH on the upper band, downtime on the mean); a
//!    zone with no protocol within the limits gets no sessions and says so;
//! 2. depth: never past the site's chart row, and the deepest channel (mean + 2 SD) leaves the
//!    stated margin of dermis;
//! 3. screening on the whole person: person-wide holds and precautions reach every zone,
//!    excluded ones included; medicines and procedures of class/kind "other" are listed as not
//!    checked, in the terminal, plan.json and the report;
//! 4. names and honesty: every prediction names its metric, unit and calibration; the
//!    uncalibrated ones are marked in the terminal and the report;
//!
//! plus the issue's own examples and a sweep of every site x concern.

use std::path::{Path, PathBuf};

use needlesim::plan::patient::{
    self, ConcernKind, MedicationClass, PatientConcern, PatientZone, ProcedureKind,
};
use needlesim::plan::recommend::{self, ZoneStatus};
use needlesim::plan::rules::Category;
use needlesim::plan::{self, Decision, LabelNumbing, Models, PredictionSection};
use needlesim::skin::Site;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/adversarial")
}

fn files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    v.sort();
    v
}

fn load(name: &str) -> patient::Patient {
    patient::load(&dir().join(name)).unwrap_or_else(|e| panic!("{e}"))
}

/// A bundled example patient (`examples/patients/<file>`).
fn bundled(file: &str) -> patient::Patient {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/patients")
        .join(file);
    patient::load(&path).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// A cheaper healing model for the sweep (fewer band samples and settings; the properties do
/// not depend on them).
fn cheap(p: &mut patient::Patient) {
    p.params.planner.band_samples = 4.0;
    p.params.planner.max_settings = 2.0;
}

/// The terminal text with its line wrapping undone.
fn flat(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn plan_with(p: &patient::Patient, predict: bool) -> plan::Plan {
    let hp = plan::healing_predictor::HealingPredictor::new(&p.params);
    let models = Models {
        numbing: &LabelNumbing,
        predictor: predict.then_some(&hp as &dyn plan::Predictor),
    };
    plan::plan(p, &models).unwrap()
}

/// Depth: the site's chart row and the dermis margin hold for every concern of every zone and
/// for the zone's setting (what the pen is set to).
fn check_depth(name: &str, p: &patient::Patient, pl: &plan::Plan) {
    let margin = p.params.planner.min_dermis_below_mm;
    assert!(margin > 0.0, "a real margin");
    for z in &pl.zones {
        let (col, skin) = recommend::zone_skin(z.site, &p.person, &p.params.skin).unwrap();
        let cap = recommend::site_cap_mm(z.site, &skin.chart_column).map(|c| c.0);
        if z.site == Site::Periorbital {
            let chart = if skin.chart_column == "thin" {
                0.25
            } else {
                0.5
            };
            assert_eq!(cap, Some(chart), "{name}: periorbital chart value");
        }
        for c in &z.concerns {
            if let Some(cap) = cap {
                assert!(
                    c.setting_mm <= cap + 1e-9 && c.max_mm <= cap + 1e-9,
                    "{name} {}: {} mm beyond the site's chart row {cap} mm",
                    z.name,
                    c.setting_mm
                );
            }
            if c.depth_ok {
                assert!(c.check.within_dermis, "{name} {}: {:?}", z.name, c.check);
                assert!(
                    c.check.dermis_bottom_mm - c.check.deep_end_mm >= margin - 1e-9,
                    "{name} {}: deepest channel {:.3} mm leaves less than {margin} mm of dermis (bottom {:.3})",
                    z.name,
                    c.check.deep_end_mm,
                    c.check.dermis_bottom_mm
                );
            } else {
                assert!(z.dates.is_empty(), "{name} {}: too thin, yet dated", z.name);
            }
        }
        if !z.dates.is_empty() {
            if let Some(cap) = cap {
                assert!(z.setting_mm <= cap + 1e-9, "{name} {}", z.name);
            }
            let chk = recommend::check_depth(
                p.goals.device,
                z.setting_mm,
                &col,
                &p.params.injury,
                &p.params.device,
                margin,
            );
            assert!(
                chk.within_dermis,
                "{name} {}: zone setting {} mm: {chk:?}",
                z.name, z.setting_mm
            );
        }
    }
}

/// Screening: person-wide findings reach every zone; "other" is listed, never dropped.
fn check_screening(name: &str, p: &patient::Patient, pl: &plan::Plan, text: &str, html: &str) {
    let text = &flat(text);
    let json = serde_json::to_string(pl).unwrap();
    for f in pl.findings.iter().filter(|f| f.zone.is_none()) {
        for z in &pl.zones {
            assert!(
                z.findings.contains(&f.rule),
                "{name}: person-wide `{}` missing from zone `{}` ({:?})",
                f.rule,
                z.name,
                z.status
            );
            if f.holds_back() {
                match &z.status {
                    ZoneStatus::Treat | ZoneStatus::TreatWithPrecautions { .. } => {
                        panic!(
                            "{name}: `{}` holds the person back, zone `{}` treated",
                            f.rule, z.name
                        )
                    }
                    ZoneStatus::DeferredUntil { rules, .. }
                    | ZoneStatus::DeferredUntilCondition { rules, .. }
                    | ZoneStatus::Excluded { rules, .. } => assert!(
                        rules.contains(&f.rule),
                        "{name}: zone `{}` status {:?} lacks `{}`",
                        z.name,
                        z.status,
                        f.rule
                    ),
                    ZoneStatus::NotWithinLimits { .. } => {}
                }
                if let Some(plan::rules::Deferral::Date { date }) = &f.defer {
                    assert!(
                        z.dates.iter().all(|d| d >= date),
                        "{name}: zone `{}` before {date}",
                        z.name
                    );
                }
            }
        }
    }
    let zone_local_holds: Vec<_> = pl
        .findings
        .iter()
        .filter(|f| f.zone.is_some() && f.holds_back())
        .collect();
    for f in zone_local_holds {
        let z = pl
            .zones
            .iter()
            .find(|z| Some(&z.name) == f.zone.as_ref())
            .unwrap();
        assert!(z.findings.contains(&f.rule), "{name}");
        assert!(
            !matches!(
                z.status,
                ZoneStatus::Treat | ZoneStatus::TreatWithPrecautions { .. }
            ),
            "{name}: `{}` holds zone `{}` back",
            f.rule,
            z.name
        );
    }
    let unknown_meds = p
        .medications
        .iter()
        .filter(|m| m.class == MedicationClass::Other);
    let unknown_procs = p
        .procedures
        .iter()
        .filter(|m| m.kind == ProcedureKind::Other)
        .count();
    let not_checked: Vec<_> = pl
        .findings
        .iter()
        .filter(|f| f.rule == "not-checked")
        .collect();
    for m in unknown_meds {
        assert!(
            not_checked.iter().any(|f| f.finding.contains(&m.name)),
            "{name}: `{}` dropped",
            m.name
        );
        for (what, s) in [
            ("terminal", text.as_str()),
            ("plan.json", json.as_str()),
            ("report", html),
        ] {
            assert!(
                s.contains(&m.name),
                "{name}: `{}` missing from the {what}",
                m.name
            );
        }
    }
    assert_eq!(
        not_checked.len(),
        p.medications
            .iter()
            .filter(|m| m.class == MedicationClass::Other)
            .count()
            + unknown_procs,
        "{name}"
    );
    for f in &not_checked {
        assert_eq!(f.category, Category::Precaution);
        for s in [text.as_str(), json.as_str(), html] {
            assert!(
                s.contains("not checked by the rules - ask the practitioner"),
                "{name}"
            );
        }
    }
}

/// Limits on bands and honest names (with a predictor).
fn check_prediction(name: &str, p: &patient::Patient, pl: &plan::Plan, text: &str, html: &str) {
    let text = &flat(text);
    let PredictionSection::Done { zones, .. } = &pl.prediction else {
        panic!("{name}: a prediction")
    };
    let pih_limit = plan::pih_limit(p);
    for zp in zones {
        let z = pl.zones.iter().find(|z| z.name == zp.zone).unwrap();
        let pr = &zp.prediction;
        // Names, units, calibration.
        assert!(
            !pr.metric.is_empty() && !pr.unit.is_empty() && !pr.calibration.is_empty(),
            "{name}"
        );
        if pr.metric.contains("collagen") {
            assert!(!pr.metric.contains("improvement"), "{name}: {}", pr.metric);
            assert!(pr.unit.contains("collagen"), "{name}: {}", pr.unit);
        }
        if !pr.calibrated {
            assert!(
                text.contains("UNCALIBRATED") && html.contains("UNCALIBRATED"),
                "{name}"
            );
        }
        if zp.concern == ConcernKind::Wrinkles || zp.concern == ConcernKind::FineLines {
            assert!(
                pr.calibrated && pr.calibration.contains("V01"),
                "{name}: the wrinkle score is calibrated on V01: {}",
                pr.calibration
            );
        }
        if zp.concern == ConcernKind::Laxity {
            assert!(
                pr.calibrated && pr.calibration.contains("V01-LAX") && pr.metric.contains("laxity"),
                "{name}: the laxity score is calibrated on V01-LAX: {}",
                pr.calibration
            );
        }
        // Stretch marks: the scar fill over a stria's geometry, shown UNCALIBRATED (the gain is
        // fitted on acne scars, not striae; session 19).
        if zp.concern == ConcernKind::StretchMarks {
            assert!(
                !pr.calibrated
                    && pr.calibration.starts_with("UNCALIBRATED")
                    && pr.calibration.contains("ALSTER20-SD")
                    && pr.metric.contains("stretch-mark"),
                "{name}: the stretch-mark score is shown uncalibrated: {} / {}",
                pr.metric,
                pr.calibration
            );
        }
        // Concerns without a clinical mapping are reported as not predicted, never as a
        // calibrated collagen-I score (issue 19).
        if matches!(
            zp.concern,
            ConcernKind::EnlargedPores
                | ConcernKind::SunDamage
                | ConcernKind::Hyperpigmentation
                | ConcernKind::Melasma
        ) {
            assert!(
                !pr.calibrated && pr.calibration.contains("NOT PREDICTED"),
                "{name}: {:?} must be reported as not predicted",
                zp.concern
            );
        }
        let c = z
            .concerns
            .iter()
            .find(|c| c.concern.kind == zp.concern)
            .unwrap();
        if !c.concern.scar_types.is_empty()
            && c.concern
                .scar_types
                .iter()
                .all(|t| *t == patient::ScarType::Icepick)
        {
            assert!(!pr.calibrated, "{name}: ice-pick only is not calibrated");
        }
        assert!(text.contains(&pr.metric), "{name}: metric not printed");
        // Bands.
        let band_ok =
            |e: &plan::predict::Estimate| e.lo <= e.mean + 1e-12 && e.mean <= e.hi + 1e-12;
        assert!(band_ok(&pr.improvement_pct), "{name}");
        let r = pr.pih_risk.expect("PIH risk modelled");
        assert!(band_ok(&r) && r.hi > r.lo, "{name}: PIH band {r:?}");
        let worst = plan::predict::worst_downtime(pr);
        assert!(band_ok(&worst), "{name}");
        // meets_limits is the limits checked on the quantities the plan names.
        let mut ok = true;
        if let Some(m) = pih_limit {
            ok &= r.hi <= m + 1e-12;
        }
        if let Some(m) = p.goals.max_downtime_days {
            ok &= worst.mean <= m + 1e-9;
        }
        if let Some(m) = p.goals.max_sessions {
            ok &= zp.recommended.sessions <= m;
        }
        assert_eq!(zp.meets_limits, ok, "{name} {}: meets_limits", zp.zone);
        assert_eq!(zp.meets_limits, zp.violations.is_empty(), "{name}");
        match zp.decision {
            Decision::ChartProtocol | Decision::Optimised => {
                assert!(
                    zp.meets_limits,
                    "{name} {}: recommended but breaks a limit: {:?}",
                    zp.zone, zp.violations
                );
                if !z.dates.is_empty() {
                    assert_eq!(zp.recommended.sessions as usize, z.dates.len(), "{name}");
                    assert!(
                        (zp.recommended.setting_mm - z.setting_mm).abs() < 1e-9,
                        "{name}"
                    );
                }
            }
            Decision::NoneMeetsLimits => {
                assert!(
                    matches!(z.status, ZoneStatus::NotWithinLimits { .. }),
                    "{name}"
                );
                assert!(z.dates.is_empty(), "{name}");
                assert!(
                    text.contains("NO PROTOCOL MEETS THE STATED LIMITS"),
                    "{name}"
                );
                assert!(html.contains("NOT RECOMMENDED"), "{name}");
            }
        }
        if let Some(ch) = &zp.chart {
            assert!(!ch.meets_limits && !ch.violations.is_empty(), "{name}");
        }
        // Every reported candidate carries bands and its limits checked on them.
        let o = &zp.optimisation;
        for c in o
            .best
            .iter()
            .chain(o.gentlest.iter())
            .chain(o.tradeoff.iter())
        {
            assert!(c.banded, "{name}: unbanded candidate");
            assert_eq!(c.meets_limits, c.violations.is_empty(), "{name}");
            assert_eq!(c.meets_limits, c.feasible, "{name}");
            let r = c.pih_risk.unwrap();
            assert!(
                band_ok(&r) && r.hi > r.lo,
                "{name}: best/trade-off PIH band {r:?}"
            );
        }
        if let Some(b) = &o.best {
            assert!(b.meets_limits, "{name}");
            if let Some(m) = pih_limit {
                assert!(b.pih_risk.unwrap().hi <= m + 1e-12, "{name}");
            }
            if let Some(m) = p.goals.max_downtime_days {
                assert!(b.downtime_days.mean <= m + 1e-9, "{name}");
            }
        } else if let Some(g) = &o.gentlest {
            assert!(!g.meets_limits, "{name}");
        }
    }
    // Every zone with sessions was predicted and meets the limits, unless it could not be
    // predicted (hair) - then the failure is listed.
    let PredictionSection::Done { failures, .. } = &pl.prediction else {
        unreachable!()
    };
    for z in pl.zones.iter().filter(|z| !z.dates.is_empty()) {
        let zs: Vec<_> = zones.iter().filter(|zp| zp.zone == z.name).collect();
        if zs.is_empty() {
            assert!(
                failures.iter().any(|f| f.starts_with(&z.name)),
                "{name}: zone `{}` neither predicted nor listed",
                z.name
            );
        }
        for zp in zs {
            assert!(
                zp.meets_limits,
                "{name}: zone `{}` has sessions but breaks a limit",
                z.name
            );
        }
    }
    // The terminal prints the recommended protocol's PIH risk and downtime with bands.
    for zp in zones {
        let r = zp.prediction.pih_risk.unwrap();
        let s = format!(
            "PIH risk {:.0} (band {:.0}-{:.0}) %",
            r.mean * 100.0,
            r.lo * 100.0,
            r.hi * 100.0
        );
        assert!(text.contains(&s), "{name}: `{s}` not printed");
        assert!(html.contains(&s), "{name}: `{s}` not in the report");
    }
}

/// Visits: one per date, every zone's dates in visits, intervals not shortened.
fn check_visits(name: &str, pl: &plan::Plan) {
    for w in pl.visits.windows(2) {
        assert!(w[0].date < w[1].date, "{name}");
    }
    for z in &pl.zones {
        for d in &z.dates {
            assert!(
                pl.visits
                    .iter()
                    .any(|v| v.date == *d && v.zones.iter().any(|vz| vz.zone == z.name)),
                "{name}"
            );
        }
        for w in z.dates.windows(2) {
            assert!(
                w[0].days_until(w[1]) >= i64::from(z.interval_days),
                "{name}: interval shortened"
            );
        }
        if z.dates.is_empty() {
            assert!(
                pl.visits
                    .iter()
                    .all(|v| v.zones.iter().all(|vz| vz.zone != z.name)),
                "{name}"
            );
        }
    }
}

#[test]
fn at_least_30_adversarial_files_are_safe_without_a_predictor() {
    let fs = files();
    assert!(fs.len() >= 30, "{} files", fs.len());
    for f in &fs {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let p = patient::load(f).unwrap_or_else(|e| panic!("{name}: {e}"));
        let pl = plan_with(&p, false);
        let text = plan::render::text(&pl);
        let html = plan::render::html(&pl);
        check_depth(&name, &p, &pl);
        check_screening(&name, &p, &pl, &text, &html);
        check_visits(&name, &pl);
    }
}

#[test]
fn adversarial_files_are_safe_with_the_healing_model() {
    for f in files() {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let mut p = patient::load(&f).unwrap_or_else(|e| panic!("{name}: {e}"));
        cheap(&mut p);
        let pl = plan_with(&p, true);
        let text = plan::render::text(&pl);
        let html = plan::render::html(&pl);
        check_depth(&name, &p, &pl);
        check_screening(&name, &p, &pl, &text, &html);
        check_visits(&name, &pl);
        check_prediction(&name, &p, &pl, &text, &html);
    }
}

// ------------------------------------------------------------------------------------------
// The examples, each a bug of the old planner.
// ------------------------------------------------------------------------------------------

#[test]
fn eyelid_is_never_needled_past_its_chart_value() {
    let p = load("eyelid_70_acne_grade4.toml");
    let pl = plan_with(&p, false);
    let z = &pl.zones[0];
    assert!(z.setting_mm <= 0.25 + 1e-9, "{} mm", z.setting_mm);
    let c = &z.concerns[0];
    assert!(c.check.dermis_below_mm >= p.params.planner.min_dermis_below_mm - 1e-9);
    assert!(
        c.adjustments
            .iter()
            .any(|a| a.contains("site's row of the depth chart"))
    );
}

#[test]
fn person_wide_deferral_reaches_the_excluded_zone_and_warfarin_is_listed() {
    let p = load("isotretinoin_2mo_cold_sore_warfarin.toml");
    let pl = plan_with(&p, false);
    let lip = pl.zones.iter().find(|z| z.name == "lip").unwrap();
    let ZoneStatus::Excluded { reconsider, rules } = &lip.status else {
        panic!("{:?}", lip.status)
    };
    assert!(
        rules.contains(&"infection".to_string()) && rules.contains(&"isotretinoin".to_string())
    );
    assert!(
        reconsider.iter().any(|r| r.contains("2027-03-21")),
        "{reconsider:?}"
    );
    assert!(pl.verdict.summary.contains("2027-03-21"));
    let text = flat(&plan::render::text(&pl));
    assert!(
        text.contains("warfarin 5 mg")
            && text.contains("not checked by the rules - ask the practitioner")
    );
    assert!(
        serde_json::to_string(&pl)
            .unwrap()
            .contains("warfarin 5 mg")
    );
    assert!(plan::render::html(&pl).contains("warfarin 5 mg"));
}

/// The bundled phototype V example: the old recommended cheek protocol's PIH band reached
/// 53 % against the 20 % limit; the melasma patient's 36 % against her 10 %.
#[test]
fn bundled_darker_skin_examples_meet_their_pih_limit_on_the_band() {
    for (file, limit) in [
        ("acne_scars_type5.toml", 0.20),
        ("melasma_type4_keloid.toml", 0.10),
    ] {
        let mut p = bundled(file);
        cheap(&mut p);
        assert_eq!(plan::pih_limit(&p), Some(limit));
        let pl = plan_with(&p, true);
        let PredictionSection::Done { zones, .. } = &pl.prediction else {
            panic!()
        };
        assert!(!zones.is_empty());
        for zp in zones {
            let hi = zp.prediction.pih_risk.unwrap().hi;
            let treated = pl
                .zones
                .iter()
                .any(|z| z.name == zp.zone && !z.dates.is_empty());
            if treated {
                assert!(
                    hi <= limit + 1e-12,
                    "{file} {}: PIH band up to {hi}",
                    zp.zone
                );
            }
            if let Some(b) = &zp.optimisation.best {
                assert!(
                    b.pih_risk.unwrap().hi > b.pih_risk.unwrap().lo,
                    "{file}: best carries real bands"
                );
            }
        }
        check_prediction(
            file,
            &p,
            &pl,
            &plan::render::text(&pl),
            &plan::render::html(&pl),
        );
    }
}

#[test]
fn no_protocol_within_the_limits_means_no_sessions_said_plainly() {
    let mut p = load("phototype6_melasma_pih1.toml");
    cheap(&mut p);
    // Since the PIH hazard scales with each session's injury dose (issue 19), the gentlest
    // searched protocol (0.25 mm) keeps its upper band under the file's lowest accepted limit
    // (1 %); a limit below anything the search can meet keeps this path tested.
    p.goals.max_pih_risk_pct = Some(1e-4);
    let pl = plan_with(&p, true);
    let z = &pl.zones[0];
    assert!(
        matches!(z.status, ZoneStatus::NotWithinLimits { .. }),
        "{:?}",
        z.status
    );
    assert!(z.dates.is_empty() && pl.visits.is_empty());
    assert!(
        pl.verdict
            .reasons
            .iter()
            .any(|r| r.contains("NOT RECOMMENDED"))
    );
    let PredictionSection::Done { zones, .. } = &pl.prediction else {
        panic!()
    };
    assert_eq!(zones[0].decision, Decision::NoneMeetsLimits);
    assert!(zones[0].optimisation.gentlest.is_some());
}

#[test]
fn zones_ready_a_day_apart_share_one_visit() {
    // The bundled fine-lines example: the forehead's toxin deferral ends the day before the
    // other zones' third session; the old plan had two visits a day apart, each with numbing.
    let p = bundled("fine_lines_type2.toml");
    let pl = plan_with(&p, false);
    for w in pl.visits.windows(2) {
        assert!(
            w[0].date.days_until(w[1].date) > 7,
            "{} and {}",
            w[0].date,
            w[1].date
        );
    }
    let f = pl.zones.iter().find(|z| z.name == "forehead").unwrap();
    assert!(f.schedule_notes.iter().any(|n| n.contains("share a visit")));
}

/// The bundled fine-lines example (session 18): the neck's chart protocol (0.25 mm) meets the
/// limits but is predicted to leave laxity unmoved, while the best protocol within the limits
/// (deeper) is not: the zone says so and keeps the chart protocol. The cheeks' note that the
/// chart protocol was replaced survives the packing of the new dates (it was lost before).
#[test]
fn decision_notes_survive_packing_and_flag_a_chart_protocol_that_does_little() {
    let mut p = bundled("fine_lines_type2.toml");
    cheap(&mut p);
    let pl = plan_with(&p, true);
    let PredictionSection::Done { zones, .. } = &pl.prediction else {
        panic!()
    };
    let zp = zones.iter().find(|z| z.zone == "neck").unwrap();
    assert_eq!(zp.decision, Decision::ChartProtocol);
    let chart = zp.prediction.improvement_pct.mean;
    let best = zp.best_prediction.as_ref().unwrap().improvement_pct.mean;
    assert!(best >= chart + plan::MUCH_MORE_PP, "{chart} vs {best}");
    let neck = pl.zones.iter().find(|z| z.name == "neck").unwrap();
    assert!(
        neck.schedule_notes
            .iter()
            .any(|n| n.starts_with("laxity: the model predicts")
                && n.contains("keeps the chart protocol")),
        "{:?}",
        neck.schedule_notes
    );
    let text = flat(&plan::render::text(&pl));
    assert!(text.contains("from the best protocol within the same limits"));
    let cheeks = pl.zones.iter().find(|z| z.name == "cheeks").unwrap();
    let replaced: Vec<_> = cheeks
        .schedule_notes
        .iter()
        .filter(|n| n.contains("the plan uses the optimiser's protocol"))
        .collect();
    assert_eq!(replaced.len(), 1, "{:?}", cheeks.schedule_notes);
    assert_eq!(
        replaced[0].matches("downtime").count(),
        1,
        "a limit broken by two concerns is named once: {}",
        replaced[0]
    );
    // Zones whose chart protocol is close to the best say nothing.
    for z in ["eyes", "forehead"] {
        let zp = zones.iter().find(|x| x.zone == z).unwrap();
        let best = zp
            .best_prediction
            .as_ref()
            .map_or(0.0, |b| b.improvement_pct.mean);
        let zn = pl.zones.iter().find(|x| x.name == z).unwrap();
        let noted = zn
            .schedule_notes
            .iter()
            .any(|n| n.contains("within the same limits"));
        assert_eq!(
            noted,
            best >= zp.prediction.improvement_pct.mean + plan::MUCH_MORE_PP
                && best >= 2.0 * zp.prediction.improvement_pct.mean,
            "{z}"
        );
    }
}

#[test]
fn icepick_note_and_prediction_agree() {
    let mut p = bundled("acne_scars_type5.toml");
    cheap(&mut p);
    let pl = plan_with(&p, true);
    let PredictionSection::Done { zones, .. } = &pl.prediction else {
        panic!()
    };
    let zp = zones.iter().find(|z| z.zone == "forehead").unwrap();
    assert!(!zp.prediction.calibrated);
    assert!(zp.prediction.calibration.contains("ice-pick"));
    let note = pl
        .findings
        .iter()
        .find(|f| f.rule == "icepick-scars")
        .unwrap();
    assert!(note.advice.contains("uncalibrated"));
}

// ------------------------------------------------------------------------------------------
// Every site x concern (whatever the file validation would allow), old and young, thin and
// thick, both devices.
// ------------------------------------------------------------------------------------------

#[test]
fn every_site_and_concern_is_capped_by_the_chart_row_and_the_dermis_margin() {
    let base = patient::parse(
        "title = \"sweep\"\ndate = \"2026-11-21\"\n[patient]\nage_years = 40\nsex = \"female\"\nphototype = 3\n[[zones]]\nname = \"z\"\nsite = \"cheek\"\nconcerns = [{ kind = \"wrinkles\" }]\n",
        "sweep.toml",
    )
    .unwrap();
    let kinds = [
        "fine_lines",
        "wrinkles",
        "acne_scars",
        "stretch_marks",
        "hyperpigmentation",
        "melasma",
        "enlarged_pores",
        "sun_damage",
        "laxity",
        "hair_thinning",
    ];
    let mut n = 0;
    for (age, sex, pt, device) in [
        (
            18.0,
            needlesim::skin::Sex::Male,
            1,
            patient::DeviceChoice::Pen,
        ),
        (
            45.0,
            needlesim::skin::Sex::Female,
            6,
            patient::DeviceChoice::Roller,
        ),
        (
            100.0,
            needlesim::skin::Sex::Female,
            3,
            patient::DeviceChoice::Pen,
        ),
    ] {
        let mut p = base.clone();
        p.person.age_years = age;
        p.person.sex = sex;
        p.person.phototype = pt;
        p.goals.device = device;
        for site in Site::ALL {
            for k in kinds {
                for grade in [None, Some(1u8), Some(4u8)] {
                    let kind = ConcernKind::from_name(k).unwrap();
                    if (kind == ConcernKind::AcneScars) != grade.is_some() {
                        continue;
                    }
                    let z = PatientZone {
                        name: "z".into(),
                        site,
                        area_cm2: 10.0,
                        area_assumed: false,
                        concerns: vec![PatientConcern {
                            kind,
                            grade,
                            scar_types: vec![],
                        }],
                        skin_state: vec![],
                    };
                    let zp = recommend::zone_plan(&p, &z, &[], &p.params.injury).unwrap();
                    let c = &zp.concerns[0];
                    let label = format!("{age} y pt {pt} {device:?} {} {k} {grade:?}", site.name());
                    if let Some((cap, _)) = recommend::site_cap_mm(site, &zp.skin.chart_column) {
                        assert!(
                            zp.setting_mm <= cap + 1e-9,
                            "{label}: {} > {cap}",
                            zp.setting_mm
                        );
                    }
                    if site == Site::Periorbital {
                        assert!(zp.setting_mm <= 0.5 + 1e-9, "{label}");
                    }
                    if c.depth_ok {
                        assert!(
                            c.check.dermis_bottom_mm - c.check.deep_end_mm
                                >= p.params.planner.min_dermis_below_mm - 1e-9,
                            "{label}: {:?}",
                            c.check
                        );
                    } else {
                        assert!(
                            matches!(zp.status, ZoneStatus::NotWithinLimits { .. }),
                            "{label}"
                        );
                        assert!(zp.dates.is_empty(), "{label}");
                    }
                    n += 1;
                }
            }
        }
    }
    assert_eq!(n, 3 * 13 * 11);
}
