//! `[params.skin]`, `[params.device]` and the planner's numbing parameters: overrides from a
//! scenario or patient file reach the skin columns, the puncture maps and the numbing plan, and
//! `needlesim params` lists those entries as settable.

use needlesim::input as scenario;
use needlesim::params::{ModelParams, all_rows, table_text};
use needlesim::plan;
use needlesim::skin::LayerKind;
use needlesim::study::{Command, Outcome, RunOptions, Study};

const SCENARIO: &str = r#"
title = "skin and device params test"
seed = 5

[person]
age_years = 45
sex = "female"
phototype = 3

[device]
kind = "pen"
needle_count = 12
layout = "round"
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
name = "cheek"
site = "cheek"
shape = "rectangle"
width_mm = 10
height_mm = 10
"#;

fn with(extra: &str) -> String {
    format!("{SCENARIO}\n{extra}\n")
}

/// `punctures` through the front door, as the CLI runs it.
fn punctures(text: &str) -> needlesim::pipeline::PuncturesRun {
    let study = Study::from_toml_str(text, "test.toml").unwrap();
    let run = study.run(&RunOptions::new(Command::Punctures)).unwrap();
    match run.result {
        Outcome::Punctures { run, .. } => *run,
        _ => panic!("punctures gave another outcome"),
    }
}

#[test]
fn skin_override_changes_the_zone_column() {
    let base = scenario::parse(SCENARIO, "t").unwrap();
    let over = scenario::parse(
        &with("[params.skin]\ndermis_dry_mass = 300\nsubcutis_slab = 0.003\ndermis_loss_per_decade = 0.1"),
        "t",
    )
    .unwrap();
    assert_eq!(over.params.skin.dermis_dry_mass, 300.0);
    let (a, b) = (&base.zones[0].column, &over.zones[0].column);
    // Composition: collagen = dry mass x collagen share.
    let pd = LayerKind::PapillaryDermis;
    assert_eq!(a.layer(pd).properties.collagen_kg_m3, 330.0 * 0.75);
    assert_eq!(b.layer(pd).properties.collagen_kg_m3, 300.0 * 0.75);
    // Thickness rules: the modelled subcutis slab and the dermis's ageing.
    assert_eq!(a.layer(LayerKind::Subcutis).thickness_m, 2e-3);
    assert_eq!(b.layer(LayerKind::Subcutis).thickness_m, 3e-3);
    assert!(b.layer(LayerKind::Subcutis).source.contains("top 3 mm"));
    assert!(
        b.dermis_bottom_m() < a.dermis_bottom_m() - 10e-6,
        "faster dermal loss at 45 y should thin the dermis: {} vs {}",
        b.dermis_bottom_m(),
        a.dermis_bottom_m()
    );
}

#[test]
fn skin_override_changes_the_punctures_result() {
    // The same punctures, but the channels land in a thinner dermis: some reach the subcutis.
    let a = punctures(SCENARIO);
    let b = punctures(&with(
        "[params.skin]\ndermis_loss_per_decade = 0.12\npapillary_fraction = 0.3",
    ));
    let (ca, cb) = (&a.sets[0].2, &b.sets[0].2);
    assert_ne!(
        ca.layer(LayerKind::ReticularDermis).thickness_m,
        cb.layer(LayerKind::ReticularDermis).thickness_m
    );
    assert_eq!(a.sets[0].0.punctures.len(), b.sets[0].0.punctures.len());
    let ra = serde_json::to_string(&a.report).unwrap();
    let rb = serde_json::to_string(&b.report).unwrap();
    assert_ne!(ra, rb, "punctures.json must follow the skin parameters");
}

#[test]
fn device_override_changes_the_punctures_result() {
    let a = punctures(SCENARIO);
    let b = punctures(&with("[params.device]\ntrack_jitter_fraction = 0.3"));
    let (pa, pb) = (&a.sets[0].0.punctures, &b.sets[0].0.punctures);
    assert!(!pa.is_empty());
    let same = pa.len() == pb.len()
        && pa
            .iter()
            .zip(pb.iter())
            .all(|(x, y)| x.x_m == y.x_m && x.y_m == y.y_m);
    assert!(!same, "a wider stroke jitter must move the punctures");
    // The pen head without `head_diameter_mm` is the registry's.
    let s = scenario::parse(&with("[params.device]\npen_head_diameter = 0.01"), "t").unwrap();
    match &s.zones[0].device {
        needlesim::device::Device::Pen(p) => assert_eq!(p.head_diameter_m, 0.01),
        other => panic!("{other:?}"),
    }
    // Range-checked like every entry.
    let e = scenario::parse(&with("[params.device]\ntrack_jitter_fraction = 2"), "t")
        .unwrap_err()
        .to_string();
    assert!(e.contains("params.device.track_jitter_fraction"), "{e}");
    assert!(e.contains("0 to 0.5"), "{e}");
}

fn patient_text() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/patients/fine_lines_type2.toml"
    );
    std::fs::read_to_string(path).unwrap()
}

/// The numbing plan of a patient file through the front door (`needlesim plan`).
fn numbing_plan(text: &str) -> plan::numbing::NumbingPlan {
    let study = Study::patient_from_toml_str(text, "p.toml").unwrap();
    let run = study.run(&RunOptions::new(Command::Plan)).unwrap();
    match run.result {
        Outcome::Plan { plan, .. } => plan.numbing,
        _ => panic!("plan gave another outcome"),
    }
}

#[test]
fn patient_physchem_override_changes_the_numbing_plan() {
    let text = patient_text();
    let a = numbing_plan(&text);
    let b = numbing_plan(&format!(
        "{text}\n[params.physchem]\nve_factor = 0.03\ndermis_factor = 0.03\n"
    ));
    let onsets = |p: &plan::numbing::NumbingPlan| -> Vec<Option<f64>> {
        p.zones.iter().map(|z| z.model_onset_min).collect()
    };
    assert!(onsets(&a).iter().all(Option::is_some), "{:?}", onsets(&a));
    assert_ne!(
        onsets(&a),
        onsets(&b),
        "the patient's physico-chemistry must reach the numbing onset"
    );
}

#[test]
fn patient_skin_override_reaches_the_planner_columns() {
    let text = patient_text();
    let base = plan::patient::parse(&text, "p.toml").unwrap();
    let over = plan::patient::parse(
        &format!("{text}\n[params.skin]\ndermis_loss_per_decade = 0.12\n"),
        "p.toml",
    )
    .unwrap();
    let a = plan::plan(&base, &plan::Models::default()).unwrap();
    let b = plan::plan(&over, &plan::Models::default()).unwrap();
    // 54 years: faster dermal loss gives a thinner modelled dermis in every zone.
    for (za, zb) in a.zones.iter().zip(&b.zones) {
        assert!(
            zb.skin.dermis_mm < za.skin.dermis_mm,
            "{}: {} vs {}",
            za.name,
            zb.skin.dermis_mm,
            za.skin.dermis_mm
        );
    }
}

#[test]
fn params_lists_skin_and_device_as_settable() {
    let rows = all_rows();
    for r in rows
        .iter()
        .filter(|r| r.group == "skin" || r.group == "device")
    {
        assert!(r.settable, "{} should be settable", r.path());
    }
    let fixed: Vec<String> = rows
        .iter()
        .filter(|r| !r.settable)
        .map(|r| r.path())
        .collect();
    // The last four fixed entries (planner.setting_step_mm, numerics.ros_substeps,
    // numerics.delivery_spent_film, numerics.delivery_explicit_film_fraction) are settable too.
    assert!(fixed.is_empty(), "{fixed:?}");
    assert!(!table_text(None).contains("(fixed)"));
    let t = table_text(Some("skin."));
    assert!(t.contains("dermis_dry_mass"), "{t}");
    assert!(!t.contains("(fixed)"), "{t}");
    let t = table_text(Some("device."));
    assert!(
        t.contains("track_jitter_fraction") && !t.contains("(fixed)"),
        "{t}"
    );
    // Every settable default can be set back onto itself (and is within its range).
    let mut m = ModelParams::default();
    for r in rows.iter().filter(|r| r.settable) {
        m.set(&r.path(), r.value).unwrap();
    }
    assert_eq!(m, ModelParams::default());
}
