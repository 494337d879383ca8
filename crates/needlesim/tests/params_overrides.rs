//! `[params.<group>]` overrides in scenario and patient files: they change results at every
//! resolution and in the planner, and bad ones are refused with the field, value, range and a
//! hint.

use needlesim::healing::simulate::{Resolution, SimulateRun};
use needlesim::input::{self as scenario, ScenarioError};
use needlesim::params::{ModelParams, all_rows};
use needlesim::study::{Command, Outcome, RunOptions, Study};

const SCENARIO: &str = r#"
title = "params override test"
seed = 3

[person]
age_years = 40
sex = "female"
phototype = 3

[device]
kind = "pen"
needle_count = 12
layout = "round"
head_diameter_mm = 7
stroke_rate_hz = 100
depth_mm = 1.0
needle_diameter_mm = 0.2
tip_angle_deg = 20

[technique]
passes = 2
directions = 2
overlap = 0.2
speed_mm_s = 20
turnaround_s = 0.5

[[zones]]
name = "forehead"
site = "forehead"
shape = "rectangle"
width_mm = 15
height_mm = 15

[protocol]
sessions = 1
follow_up_days = 30
concerns = ["rejuvenation"]
"#;

fn with(extra: &str) -> String {
    format!("{SCENARIO}\n{extra}\n")
}

fn errors(text: &str) -> Vec<needlesim::input::FieldError> {
    match scenario::parse(text, "test.toml") {
        Err(ScenarioError::Invalid { errors, .. }) => errors,
        Err(e) => panic!("expected field errors, got {e}"),
        Ok(_) => panic!("expected the file to be refused"),
    }
}

/// `simulate` through the front door, as the CLI runs it.
fn simulate(text: &str, resolution: Resolution) -> SimulateRun {
    let study = Study::from_toml_str(text, "test.toml").unwrap();
    let run = study
        .run(&RunOptions {
            resolution: Some(resolution),
            ..RunOptions::new(Command::Simulate)
        })
        .unwrap();
    match run.result {
        Outcome::Simulate { run, .. } => *run,
        _ => panic!("simulate gave another outcome"),
    }
}

fn collagen_i_end(text: &str) -> f64 {
    let run = simulate(text, Resolution::Lumped);
    let t = run.zones[0].outcomes.timepoints.last().unwrap();
    t.collagen_i_change_pct.nominal
}

#[test]
fn healing_override_is_carried_and_changes_the_lumped_result() {
    let s = scenario::parse(
        &with("[params.healing]\ncollagen_output_activated = 13.5"),
        "t",
    )
    .unwrap();
    assert_eq!(s.params.healing.collagen_output_activated, 13.5);
    // Everything else stays at its default.
    let mut expect = ModelParams::default();
    expect
        .set("healing.collagen_output_activated", 13.5)
        .unwrap();
    assert_eq!(s.params, expect);

    let base = collagen_i_end(SCENARIO);
    let half = collagen_i_end(&with("[params.healing]\ncollagen_output_activated = 13.5"));
    assert!(base > 0.0, "{base}");
    assert!(
        half < 0.8 * base,
        "halving the activated collagen output should cut the collagen gain: {half} vs {base}"
    );
    // No [params] section: the defaults.
    assert_eq!(
        scenario::parse(SCENARIO, "t").unwrap().params,
        ModelParams::default()
    );
}

#[test]
fn healing_override_changes_the_unit_cell() {
    let end = |text: &str| {
        let run = simulate(text, Resolution::UnitCell);
        run.unit_cells[0].run.trajectory.values[0]
            .last()
            .unwrap()
            .to_vec()
    };
    let base = end(SCENARIO);
    let over = end(&with("[params.healing]\ncollagen_output_activated = 13.5"));
    assert_ne!(base, over);
}

#[test]
fn numerics_override_reaches_the_unit_cell_grid() {
    let s = scenario::parse(&with("[params.numerics]\ncell_nr = 12"), "t").unwrap();
    assert_eq!(s.params.numerics.cell_grid().nr, 12);
    let run = simulate(
        &with("[params.numerics]\ncell_nr = 12"),
        Resolution::UnitCell,
    );
    let base = simulate(SCENARIO, Resolution::UnitCell);
    assert!(run.unit_cells[0].run.voxels < base.unit_cells[0].run.voxels);
}

#[test]
fn injury_override_reaches_the_scenario_injury() {
    let s = scenario::parse(&with("[params.injury]\nrecoil = 0.8"), "t").unwrap();
    assert_eq!(s.injury.recoil, 0.8);
}

#[test]
fn unknown_name_is_refused_with_its_name_and_the_closest() {
    let e = errors(&with("[params.healing]\ncolagen_output_activated = 13.5"));
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].path, "params.healing.colagen_output_activated");
    assert!(
        e[0].message.contains("colagen_output_activated"),
        "{}",
        e[0]
    );
    assert!(
        e[0].message.contains("collagen_output_activated"),
        "{}",
        e[0]
    );
    assert!(
        e[0].hint.contains("needlesim params --filter healing."),
        "{}",
        e[0]
    );
}

#[test]
fn unknown_group_is_refused_with_its_name() {
    let e = errors(&with("[params.healng]\ncollagen_output_activated = 13.5"));
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].path, "params.healng");
    assert!(e[0].message.contains("healng"), "{}", e[0]);
    assert!(e[0].message.contains("closest: healing"), "{}", e[0]);
}

#[test]
fn out_of_range_value_is_refused_with_the_range() {
    let e = errors(&with("[params.healing]\ncollagen_output_activated = 1000"));
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].path, "params.healing.collagen_output_activated");
    assert_eq!(e[0].value, "1000");
    assert!(e[0].message.contains("1 to 500"), "{}", e[0]);
    let e = errors(&with("[params.numerics]\ncell_nr = 24.5"));
    assert!(e[0].message.contains("whole number"), "{}", e[0]);
    let e = errors(&with("[params.planner]\nsetting_step_mm = 0.01"));
    assert_eq!(e[0].path, "params.planner.setting_step_mm", "{}", e[0]);
    assert!(e[0].message.contains("0.05 to 0.5"), "{}", e[0]);
    let e = errors(&with("[params.numerics]\nros_substeps = 1.5"));
    assert!(e[0].message.contains("whole number"), "{}", e[0]);
    let e = errors(&with("[params.numerics]\nros_substeps = 65"));
    assert!(e[0].message.contains("1 to 64"), "{}", e[0]);
    let e = errors(&with("[params.numerics]\ndelivery_spent_film = 0.5"));
    assert_eq!(e[0].path, "params.numerics.delivery_spent_film", "{}", e[0]);
    let e = errors(&with(
        "[params.numerics]\ndelivery_explicit_film_fraction = 0.9",
    ));
    assert_eq!(
        e[0].path, "params.numerics.delivery_explicit_film_fraction",
        "{}",
        e[0]
    );
    let e = errors(&with("[params.healing]\ncollagen_output_activated = \"x\""));
    assert!(e[0].path.starts_with("params.healing"), "{}", e[0]);
}

#[test]
fn every_group_is_in_the_registry_and_the_listing() {
    let rows = all_rows();
    let text = needlesim::params::table_text(None);
    for g in needlesim::params::GROUPS {
        assert!(rows.iter().any(|r| r.group == g), "{g}");
        assert!(text.contains(&format!("[{g}]")), "{g}");
    }
}

fn patient_text() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/patients/fine_lines_type2.toml"
    );
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn patient_overrides_reach_the_planner() {
    use needlesim::plan;
    let text = patient_text();
    let base = plan::patient::parse(&text, "p.toml").unwrap();
    let over = plan::patient::parse(
        &format!("{text}\n[params.planner]\npreparation_min = 25\n"),
        "p.toml",
    )
    .unwrap();
    assert_eq!(over.params.planner.preparation_min, 25.0);
    let a = plan::plan(&base, &plan::Models::default()).unwrap();
    let b = plan::plan(&over, &plan::Models::default()).unwrap();
    assert!(!a.visits.is_empty());
    for (va, vb) in a.visits.iter().zip(&b.visits) {
        assert!((vb.total_min - va.total_min - 15.0).abs() < 1e-9);
    }
    let bad = plan::patient::parse(
        &format!("{text}\n[params.healing]\nno_such_rate = 1\n"),
        "p.toml",
    )
    .unwrap_err();
    let e = bad.field_errors();
    assert_eq!(e[0].path, "params.healing.no_such_rate", "{bad}");
}

#[test]
fn patient_healing_override_changes_the_planner_prediction() {
    use needlesim::plan::healing_predictor::HealingPredictor;
    use needlesim::plan::patient::{ConcernKind, DeviceChoice, PatientConcern as Concern};
    use needlesim::plan::predict::{PredictInput, Predictor, ZoneProtocol as Protocol};
    use needlesim::skin::{self, Person, Site, ThicknessOverrides};
    let text = patient_text();
    let over = needlesim::plan::patient::parse(
        &format!("{text}\n[params.healing]\ncollagen_output_activated = 13.5\n"),
        "p.toml",
    )
    .unwrap();
    let person = Person {
        age_years: 40.0,
        sex: skin::Sex::Female,
        phototype: 2,
    };
    let column = skin::column(Site::Cheek, &person, &ThicknessOverrides::default()).unwrap();
    let concern = Concern {
        kind: ConcernKind::Laxity,
        grade: None,
        scar_types: vec![],
    };
    let proto = Protocol::uniform(1.0, 3, 3, 28);
    let input = PredictInput {
        person: &person,
        column: &column,
        concern: &concern,
        device: DeviceChoice::Pen,
        protocol: &proto,
        bands: false,
    };
    let a = HealingPredictor::default().predict(&input).unwrap();
    let b = HealingPredictor::new(&over.params).predict(&input).unwrap();
    assert!(
        b.improvement_pct.mean < a.improvement_pct.mean,
        "{} vs {}",
        b.improvement_pct.mean,
        a.improvement_pct.mean
    );
}

#[test]
fn numerics_ros_substeps_reaches_the_patch_stepping() {
    let s = scenario::parse(&with("[params.numerics]\nros_substeps = 8"), "t").unwrap();
    assert_eq!(s.params.numerics.patch_stepping().ros_substeps, 8);
    let d = scenario::parse(SCENARIO, "t").unwrap();
    assert_eq!(d.params.numerics.patch_stepping().ros_substeps, 2);
    // That the integrator reads it: tests/healing_spatial.rs,
    // patch_ros_substeps_change_the_result.
}

#[test]
fn numerics_film_limits_reach_the_delivery_plan() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/deliver_lidocaine_pen_0.5mm.toml"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let (_, base) = scenario::delivery::parse(&text, "d.toml").unwrap();
    assert_eq!(base.resolution.spent_film, 1e-3);
    assert_eq!(base.resolution.explicit_film_fraction, 0.1);
    let (s, over) = scenario::delivery::parse(
        &format!(
            "{text}\n[params.numerics]\ndelivery_spent_film = 0.005\ndelivery_explicit_film_fraction = 0.2\n"
        ),
        "d.toml",
    )
    .unwrap();
    assert_eq!(s.params.numerics.delivery_spent_film, 0.005);
    assert_eq!(over.resolution.spent_film, 0.005);
    assert_eq!(over.resolution.explicit_film_fraction, 0.2);
    // That the engine reads them: tests/delivery_model.rs, the_spent_film_fraction_reaches_the_run
    // and the_explicit_film_fraction_reaches_the_split_sweeps.
}

#[test]
fn planner_setting_step_changes_the_recommended_range() {
    use needlesim::plan;
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/patients/fine_lines_type2.toml"
    );
    // Phototype IV: the planner keeps to the lower half of the cited range.
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace("phototype = 2", "phototype = 4");
    let base = plan::patient::parse(&text, "p.toml").unwrap();
    let over = plan::patient::parse(
        &format!("{text}\n[params.planner]\nsetting_step_mm = 0.2\n"),
        "p.toml",
    )
    .unwrap();
    assert_eq!(over.params.planner.setting_step_mm, 0.2);
    let a = plan::plan(&base, &plan::Models::default()).unwrap();
    let b = plan::plan(&over, &plan::Models::default()).unwrap();
    let ranges = |p: &plan::Plan| -> Vec<[f64; 2]> {
        p.zones
            .iter()
            .flat_map(|z| z.concerns.iter().map(|c| c.range_mm))
            .collect()
    };
    // The gentler upper end is rounded on the planner's grid.
    assert_ne!(ranges(&a), ranges(&b));
    for r in ranges(&b) {
        let k = r[1] / 0.2;
        let on_quarter = (r[1] / 0.25 - (r[1] / 0.25).round()).abs() < 1e-9;
        assert!(
            (k - k.round()).abs() < 1e-9 || on_quarter || r[1] == r[0],
            "{r:?}"
        );
    }
}
