//! The optimiser behind the predictor seam, driven by a *test double* (a made-up monotone
//! response, not a model of anything): it must respect the constraints, return a monotone
//! trade-off curve, and not depend on the thread count. The real predictor is the healing model.

use needlesim::plan::Date;
use needlesim::plan::patient::Blackout;
use needlesim::plan::patient::{ConcernKind, DeviceChoice, PatientConcern};
use needlesim::plan::predict::{
    Calendar, Constraints, Estimate, PredictInput, Prediction, Predictor, SearchSpace,
    TrajectoryPoint, optimise,
};
use needlesim::skin::{self, Person, Site, ThicknessOverrides};

/// Test double: improvement grows with depth x passes x sessions with diminishing returns;
/// downtime grows with depth (or is a fixed long time); PIH risk with depth for phototype >= 4.
struct Toy;
/// The same with 12 days of downtime after every session (longer than the chart's bands).
struct LongDowntime;

impl Predictor for LongDowntime {
    fn name(&self) -> String {
        "test double, long downtime".into()
    }
    fn predict(&self, i: &PredictInput<'_>) -> Result<Prediction, String> {
        let mut p = Toy.predict(i)?;
        for d in &mut p.downtime_days {
            *d = Estimate {
                mean: 12.0,
                lo: 10.0,
                hi: 14.0,
            };
        }
        Ok(p)
    }
}

impl Predictor for Toy {
    fn name(&self) -> String {
        "test double".into()
    }
    fn predict(&self, i: &PredictInput<'_>) -> Result<Prediction, String> {
        let pr = i.protocol;
        let dose = pr.setting_mm * f64::from(pr.passes).sqrt() * f64::from(pr.sessions);
        let imp =
            60.0 * (1.0 - (-dose / 6.0).exp()) * (28.0 / f64::from(pr.interval_days)).powf(0.1);
        let dt = 1.0 + 3.0 * pr.setting_mm;
        let band = |m: f64| Estimate {
            mean: m,
            lo: 0.8 * m,
            hi: 1.2 * m,
        };
        Ok(Prediction {
            metric: "toy".into(),
            unit: "%".into(),
            calibrated: false,
            calibration: "a test stand-in".into(),
            improvement_pct: band(imp),
            downtime_days: vec![band(dt); pr.sessions as usize],
            pih_risk: (i.person.phototype >= 4).then(|| band(0.1 * pr.setting_mm)),
            trajectory: vec![TrajectoryPoint {
                day: 0.0,
                improvement_pct: band(0.0),
                collagen_change_pct: band(0.0),
            }],
            horizon_days: 180.0,
        })
    }
}

fn space() -> SearchSpace {
    SearchSpace {
        settings_mm: vec![0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0],
        passes: vec![2, 3, 4, 5, 6],
        sessions: (1..=6).collect(),
        intervals_days: vec![28, 42],
    }
}

fn run(phototype: u8, cons: &Constraints) -> needlesim::plan::predict::Optimisation {
    run_with(&Toy, phototype, cons)
}

fn run_with(
    pred: &dyn Predictor,
    phototype: u8,
    cons: &Constraints,
) -> needlesim::plan::predict::Optimisation {
    let person = Person {
        age_years: 30.0,
        sex: skin::Sex::Female,
        phototype,
    };
    let column = skin::column(Site::Cheek, &person, &ThicknessOverrides::default()).unwrap();
    let concern = PatientConcern {
        kind: ConcernKind::AcneScars,
        grade: Some(3),
        scar_types: vec![],
    };
    let proto = needlesim::plan::predict::ZoneProtocol::uniform(1.0, 3, 3, 28);
    let base = PredictInput {
        person: &person,
        column: &column,
        concern: &concern,
        device: DeviceChoice::Pen,
        protocol: &proto,
        bands: false,
    };
    optimise(pred, &base, &space(), cons)
}

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

fn calendar(finish_by: Option<&str>) -> Calendar {
    calendar_from("2026-11-21", finish_by)
}

fn calendar_from(start: &str, finish_by: Option<&str>) -> Calendar {
    Calendar {
        start: d(start),
        blackout: vec![Blackout {
            from: d("2026-12-10"),
            to: d("2027-01-05"),
            reason: Some("holiday".into()),
        }],
        finish_by: finish_by.map(d),
    }
}

/// True if a session on `date` with `days` of downtime touches the calendar's blackout.
fn touches(cal: &Calendar, date: Date, days: f64) -> bool {
    cal.blackout
        .iter()
        .any(|b| date <= b.to && date.add_days(days.ceil() as i64) >= b.from)
}

#[test]
fn candidates_are_moved_past_blackouts_and_dropped_after_the_finish_date() {
    let cal = calendar(Some("2027-05-31"));
    let cons = Constraints {
        max_downtime_days: Some(6.0),
        calendar: Some(cal.clone()),
        ..Default::default()
    };
    let o = run(2, &cons);
    let free = run(
        2,
        &Constraints {
            max_downtime_days: Some(6.0),
            ..Default::default()
        },
    );
    assert_eq!(o.evaluated, free.evaluated);
    assert!(o.moved_for_blackouts > 0, "the blackout moves some series");
    assert!(
        o.dropped_for_dates > 0,
        "6 sessions every 42 days do not fit before the finish date"
    );
    let b = o.best.as_ref().expect("feasible");
    assert_eq!(b.dates.len() as u32, b.protocol.sessions);
    let chart = needlesim::plan::tables::chart_downtime_days(b.protocol.setting_mm).0[1];
    for date in &b.dates {
        assert!(!touches(&cal, *date, chart), "session on {date}");
        assert!(
            !touches(&cal, *date, b.downtime_days.mean),
            "session on {date}"
        );
        assert!(date.add_days(chart.ceil() as i64) <= d("2027-05-31"));
    }
    // The second session (28 or 42 days after 2026-11-21) falls in the blackout: moved, and
    // predicted on the moved days (not every `interval_days`).
    if b.protocol.sessions >= 2 {
        assert!(!b.schedule_notes.is_empty());
        assert_eq!(b.dates[1], d("2027-01-06"));
        let days = b.protocol.session_days();
        assert_eq!(
            days[1],
            f64::from(d("2026-11-21").days_until(d("2027-01-06")) as i32)
        );
    }
    // The calendar holds on the trade-off curve too.
    for c in &o.tradeoff {
        let chart = needlesim::plan::tables::chart_downtime_days(c.protocol.setting_mm).0[1];
        assert!(c.dates.iter().all(|x| !touches(&cal, *x, chart)));
    }
    // Without the calendar the best series would have had a session in the blackout.
    let fb = free.best.expect("feasible");
    assert!(fb.dates.is_empty());
}

#[test]
fn model_downtime_longer_than_the_chart_is_moved_too() {
    // A first session on 2026-11-29 clears the blackout (from 2026-12-10) with the chart's
    // 3-7 days of downtime but not with the model's 12.
    let cal = calendar_from("2026-11-29", None);
    let cons = Constraints {
        calendar: Some(cal.clone()),
        ..Default::default()
    };
    let o = run_with(&LongDowntime, 2, &cons);
    let b = o.best.expect("feasible");
    for date in &b.dates {
        assert!(!touches(&cal, *date, 12.0), "session on {date} + 12 d");
    }
    assert!(
        b.schedule_notes
            .iter()
            .any(|n| n.contains("model's downtime")),
        "{:?}",
        b.schedule_notes
    );
    assert_eq!(b.dates[0], d("2027-01-06"));
    assert!(b.feasible);
}

#[test]
fn the_calendar_does_not_depend_on_the_thread_count() {
    let cons = Constraints {
        max_downtime_days: Some(4.0),
        calendar: Some(calendar(Some("2027-05-01"))),
        ..Default::default()
    };
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| run(4, &cons));
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap()
        .install(|| run(4, &cons));
    assert_eq!(one, two);
}

#[test]
fn best_respects_every_constraint() {
    let cons = Constraints {
        max_downtime_days: Some(4.0),
        max_pih_risk: Some(0.12),
        max_sessions: Some(4),
        ..Default::default()
    };
    let o = run(5, &cons);
    assert_eq!(o.evaluated, 8 * 5 * 6 * 2);
    let b = o.best.expect("a feasible protocol exists");
    assert!(b.downtime_days.mean <= 4.0);
    assert!(b.pih_risk.unwrap().hi <= 0.12 + 1e-12);
    assert!(b.protocol.sessions <= 4);
    // Under the toy response the best is the deepest allowed setting, most passes and sessions.
    assert_eq!(b.protocol.setting_mm, 1.0);
    assert_eq!(b.protocol.sessions, 4);
    assert_eq!(b.protocol.passes, 6);
    // Without the constraints the optimum is deeper.
    let free = run(
        2,
        &Constraints {
            max_downtime_days: None,
            max_pih_risk: None,
            max_sessions: None,
            ..Default::default()
        },
    );
    assert!(free.best.unwrap().protocol.setting_mm > 1.0);
}

#[test]
fn tradeoff_curve_is_monotone_and_ignores_only_the_downtime_limit() {
    let cons = Constraints {
        max_downtime_days: Some(3.0),
        max_pih_risk: None,
        max_sessions: Some(5),
        ..Default::default()
    };
    let o = run(2, &cons);
    assert!(o.tradeoff.len() >= 3);
    for w in o.tradeoff.windows(2) {
        assert!(w[1].downtime_days.mean >= w[0].downtime_days.mean);
        assert!(w[1].improvement_pct.mean > w[0].improvement_pct.mean);
    }
    assert!(
        o.tradeoff.iter().any(|c| c.downtime_days.mean > 3.0),
        "shows what more downtime would buy"
    );
    assert!(o.tradeoff.iter().all(|c| c.protocol.sessions <= 5));
}

#[test]
fn no_feasible_protocol_is_reported_not_invented() {
    let cons = Constraints {
        max_downtime_days: Some(0.5),
        max_pih_risk: None,
        max_sessions: None,
        ..Default::default()
    };
    assert!(run(2, &cons).best.is_none());
}

#[test]
fn thread_count_does_not_change_the_result() {
    let cons = Constraints {
        max_downtime_days: Some(4.0),
        max_pih_risk: None,
        max_sessions: None,
        ..Default::default()
    };
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| run(2, &cons));
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap()
        .install(|| run(2, &cons));
    assert_eq!(one, two);
}

#[test]
fn plan_with_a_predictor_fills_prediction_and_plots() {
    use needlesim::plan::{self, Models, PredictionSection, patient};
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/patients/acne_scars_type5.toml");
    let p = patient::load(&path).unwrap();
    let without = plan::plan(&p, &Models::default()).unwrap();
    assert!(matches!(
        without.prediction,
        PredictionSection::NotAvailable { .. }
    ));
    assert!(plan::render::html(&without).contains("not available"));
    let models = Models {
        numbing: &plan::LabelNumbing,
        predictor: Some(&Toy),
    };
    let with = plan::plan(&p, &models).unwrap();
    let PredictionSection::Done {
        zones, predictor, ..
    } = &with.prediction
    else {
        panic!("prediction expected")
    };
    assert_eq!(predictor, "test double");
    assert_eq!(zones.len(), 2);
    for z in zones {
        // Darker skin: PIH constraint applied; the patient's downtime limit too.
        assert_eq!(
            z.optimisation.constraints.max_pih_risk,
            Some(plan::predict::MAX_PIH_RISK_GENTLE)
        );
        assert_eq!(z.optimisation.constraints.max_downtime_days, Some(5.0));
        assert!(z.optimisation.space.intervals_days.iter().all(|&d| d >= 42));
    }
    let html = plan::render::html(&with);
    assert!(html.contains("<polyline"));
    assert!(
        html.contains("planner assumption"),
        "the PIH limit says what it is"
    );
    // The patient file can set the PIH limit (for any phototype).
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("[goals]\n", "[goals]\nmax_pih_risk_pct = 10\n");
    let p10 = patient::parse(&text, "t.toml").unwrap();
    assert_eq!(p10.goals.max_pih_risk_pct, Some(10.0));
    let with10 = plan::plan(&p10, &models).unwrap();
    let PredictionSection::Done { zones, .. } = &with10.prediction else {
        panic!("prediction expected")
    };
    for z in zones {
        assert_eq!(z.optimisation.constraints.max_pih_risk, Some(0.1));
        if let Some(b) = &z.optimisation.best {
            assert!(b.pih_risk.unwrap().hi <= 0.1 + 1e-12);
        }
    }
    assert!(plan::render::text(&with10).contains("goals.max_pih_risk_pct"));
}

#[test]
fn healing_model_predicts_and_the_optimiser_respects_the_limits() {
    use needlesim::plan::healing_predictor::HealingPredictor;
    use needlesim::plan::{self, Models, PredictionSection, patient};
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/patients/melasma_type4_keloid.toml");
    let p = patient::load(&path).unwrap();
    let hp = HealingPredictor::default();
    let pl = plan::plan(
        &p,
        &Models {
            numbing: &plan::LabelNumbing,
            predictor: Some(&hp),
        },
    )
    .unwrap();
    let PredictionSection::Done { zones, .. } = &pl.prediction else {
        panic!("prediction expected")
    };
    assert!(!zones.is_empty());
    for z in zones {
        let r = &z.prediction;
        assert!(
            r.improvement_pct.lo <= r.improvement_pct.mean
                && r.improvement_pct.mean <= r.improvement_pct.hi
        );
        assert_eq!(r.downtime_days.len() as u32, z.recommended.sessions);
        assert!(r.pih_risk.is_some());
        assert!(r.trajectory.len() > 3);
        if let Some(b) = &z.optimisation.best {
            assert!(b.downtime_days.mean <= 3.0 + 1e-9, "max_downtime_days = 3");
            assert!(b.pih_risk.unwrap().hi <= plan::predict::MAX_PIH_RISK_GENTLE + 1e-12);
            // Never deeper than the skin allows.
            let col = needlesim::skin::column(
                needlesim::skin::Site::Cheek,
                &p.person,
                &Default::default(),
            )
            .unwrap();
            let chk = plan::recommend::check_depth(
                p.goals.device,
                b.protocol.setting_mm,
                &col,
                &Default::default(),
                &Default::default(),
                p.params.planner.min_dermis_below_mm,
            );
            assert!(chk.within_dermis);
        }
    }
}
