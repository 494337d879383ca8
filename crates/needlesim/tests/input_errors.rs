//! The input layer's behaviour on mistakes (issue 17, point 1): every section is checked
//! whichever command reads the file, ranges are checked on the value as typed, one mistake gives
//! one error, and the messages name the key, the kind of file and a short value.
//!
//! (Each test was checked to fail on the code before the input layer.)

use needlesim::input::parse;
use needlesim::plan::patient;

const FILE: &str = "t.toml";

/// A valid pen scenario; tests patch one thing at a time.
const PEN: &str = r#"
seed = 5
[person]
age_years = 40
sex = "female"
phototype = 3
[device]
kind = "pen"
needle_count = 12
stroke_rate_hz = 100
depth_mm = 0.5
[technique]
passes = 2
[[zones]]
name = "cheek"
site = "cheek"
shape = "ellipse"
width_mm = 50
height_mm = 40
"#;

/// A valid roller scenario.
const ROLLER: &str = r#"
[person]
age_years = 40
sex = "female"
phototype = 3
[device]
kind = "roller"
needle_length_mm = 0.5
drum_diameter_mm = 20
drum_width_mm = 20
needle_count = 192
rows = 8
[technique]
passes = 2
[[zones]]
name = "cheek"
site = "cheek"
shape = "ellipse"
width_mm = 50
height_mm = 40
"#;

fn patched(base: &str, from: &str, to: &str) -> String {
    assert!(base.contains(from), "test bug: {from:?} not in the base");
    base.replacen(from, to, 1)
}

/// The field errors of a rejected scenario, as (path, value, message).
fn errors(text: &str) -> Vec<(String, String, String)> {
    let e = parse(text, FILE).expect_err("the scenario should be rejected");
    let list: Vec<_> = e
        .field_errors()
        .iter()
        .map(|f| (f.path.clone(), f.value.clone(), f.message.clone()))
        .collect();
    assert!(!list.is_empty(), "expected field errors, got: {e}");
    list
}

#[test]
fn a_bad_delivery_section_is_refused_by_every_command() {
    // `punctures` and `simulate` read their scenario through `scenario::parse`/`load`; a
    // scenario with a broken [delivery] used to pass them silently.
    let text = format!("{PEN}\n[delivery]\nproduct = \"no_such_product\"\nduration_h = 9999\n");
    let errs = errors(&text);
    assert!(errs.iter().any(|e| e.0 == "delivery.product"), "{errs:?}");
    assert!(
        errs.iter().any(|e| e.0 == "delivery.duration_h"),
        "{errs:?}"
    );
    // A delivery section naming a zone the scenario lacks.
    let text = format!("{PEN}\n[delivery]\nproduct = \"lidocaine_4_cream\"\nzone = \"forehead\"\n");
    assert!(errors(&text).iter().any(|e| e.0 == "delivery.zone"));
    // A [[compounds]] entry without [delivery] is checked too.
    let text = format!(
        "{PEN}\n[[compounds]]\nname = \"my_peptide\"\nclass = \"peptide\"\nmw_g_mol = -5\nlog_p = -1\nsolubility_mg_ml = 20\ncharge = \"cationic\"\n"
    );
    let errs = errors(&text);
    assert!(
        errs.iter().any(|e| e.0.starts_with("compounds")),
        "{errs:?}"
    );
    // A valid delivery section does not stop `punctures`.
    let ok = format!("{PEN}\n[delivery]\nproduct = \"lidocaine_4_cream\"\n");
    parse(&ok, FILE).expect("a valid [delivery] section is accepted");
}

#[test]
fn documented_minimum_thicknesses_are_accepted() {
    // `viable_epidermis_um = 10` and `papillary_dermis_um = 20` are the documented minimums;
    // 10 × 1e-6 rounds below 1e-5, and they were refused by the skin model's own check.
    let text = patched(
        PEN,
        "[device]",
        "[skin]\nviable_epidermis_um = 10\npapillary_dermis_um = 20\nstratum_corneum_um = 500\nsubcutis_mm = 20\n[device]",
    );
    let s = parse(&text, FILE).expect("the documented bounds are accepted");
    let col = &s.zones[0].column;
    use needlesim::skin::LayerKind;
    assert_eq!(col.layer(LayerKind::ViableEpidermis).thickness_m, 10e-6);
    assert_eq!(col.layer(LayerKind::PapillaryDermis).thickness_m, 20e-6);
    assert_eq!(col.layer(LayerKind::StratumCorneum).thickness_m, 500e-6);
    // Just outside is still refused, on the field, with the range as typed.
    let text = patched(
        PEN,
        "[device]",
        "[skin]\nviable_epidermis_um = 9.99\n[device]",
    );
    let errs = errors(&text);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].0, "skin.viable_epidermis_um");
    assert!(errs[0].2.contains("10-1000 µm"), "{errs:?}");
}

#[test]
fn one_mistake_gives_one_error() {
    let cases = [
        // A needle count out of range used to add a derived "rows … within 1-1".
        (
            ROLLER,
            "needle_count = 192",
            "needle_count = 1000000",
            "device.needle_count",
        ),
        (
            PEN,
            "needle_count = 12",
            "needle_count = 1000000\nlayout = \"grid\"\nrows = 3",
            "device.needle_count",
        ),
        // A pen depth out of range used to add "device.depth_mm = 0.1 is outside the pen's range".
        (PEN, "depth_mm = 0.5", "depth_mm = 9", "device.depth_mm"),
        // A bad maximum depth used to add "min_depth_mm is larger than max_depth_mm = 2.5" and
        // a depth outside "4-2.5 mm".
        (
            PEN,
            "depth_mm = 0.5",
            "depth_mm = 0.5\nmin_depth_mm = 0.3\nmax_depth_mm = 9",
            "device.max_depth_mm",
        ),
        // An unknown device kind used to be taken as a stamp: "speed_mm_s does not apply to a
        // stamp" and "only pens have a depth setting per zone" followed.
        (
            &patched(PEN, "passes = 2", "passes = 2\nspeed_mm_s = 10"),
            "kind = \"pen\"",
            "kind = \"pem\"",
            "device.kind",
        ),
    ];
    for (base, from, to, path) in cases {
        let errs = errors(&patched(base, from, to));
        assert_eq!(errs.len(), 1, "{to:?} gave {errs:?}");
        assert_eq!(errs[0].0, path, "{to:?} gave {errs:?}");
    }
    // A pen depth outside the pen's range is reported once, not once per zone.
    let two_zones = format!(
        "{}\n[[zones]]\nname = \"chin\"\nsite = \"chin\"\nshape = \"rectangle\"\nwidth_mm = 20\nheight_mm = 20\n",
        patched(PEN, "depth_mm = 0.5", "depth_mm = 3")
    );
    let errs = errors(&two_zones);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].2.contains("depth range"), "{errs:?}");
}

#[test]
fn a_duplicate_key_is_named() {
    for (from, to, key) in [
        ("passes = 2", "passes = 2\npasses = 3", "`passes`"),
        ("[technique]", "[technique]\n[technique]", "`technique`"),
    ] {
        let e = parse(&patched(PEN, from, to), FILE).expect_err("duplicate key");
        let msg = e.to_string();
        assert!(msg.contains("duplicate key"), "{msg}");
        assert!(msg.contains(key), "the message does not name {key}: {msg}");
    }
}

fn example(path: &str) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::read_to_string(root.join(path)).expect("example exists")
}

#[test]
fn a_patient_file_given_as_a_scenario_says_so_and_the_converse() {
    let e = parse(&example("examples/patients/fine_lines_type2.toml"), FILE)
        .expect_err("a patient file is not a scenario");
    let msg = e.to_string();
    assert!(
        msg.contains("this is a patient file: use `needlesim plan"),
        "{msg}"
    );
    let e = patient::parse(&example("examples/face_pen_0.5mm.toml"), FILE)
        .expect_err("a scenario is not a patient file");
    let msg = e.to_string();
    assert!(msg.contains("this is a scenario file"), "{msg}");
    assert!(
        msg.contains("needlesim simulate") || msg.contains("`simulate`"),
        "{msg}"
    );
    // A real mistake in a scenario is still reported as such.
    let e = parse(&patched(PEN, "passes = 2", "passes = 2\npasess = 3"), FILE).unwrap_err();
    assert!(!e.to_string().contains("patient file"), "{e}");
}

#[test]
fn echoed_values_are_shortened() {
    let long_site = "x".repeat(500);
    let errs = errors(&patched(
        PEN,
        "site = \"cheek\"",
        &format!("site = \"{long_site}\""),
    ));
    let (_, value, _) = errs
        .iter()
        .find(|e| e.0 == "zones[0].site")
        .expect("site error");
    assert!(
        value.chars().count() <= 60,
        "{} chars",
        value.chars().count()
    );
    assert!(value.ends_with('…'), "{value}");
    // A long list of vertices, one of them out of range.
    let mut v: Vec<String> = (0..200).map(|i| format!("[{i}, {}]", i % 7)).collect();
    v.push("[5000, 0]".into());
    let poly = format!("shape = \"polygon\"\nvertices_mm = [{}]", v.join(", "));
    let text = patched(
        PEN,
        "shape = \"ellipse\"\nwidth_mm = 50\nheight_mm = 40",
        &poly,
    );
    let errs = errors(&text);
    let (_, value, _) = errs
        .iter()
        .find(|e| e.0 == "zones[0].vertices_mm")
        .expect("vertices error");
    assert!(value.chars().count() <= 60, "{value}");
    let msg = parse(&text, FILE).unwrap_err().to_string();
    assert!(msg.len() < 600, "the message is {} bytes long", msg.len());
}

#[test]
fn a_zone_name_too_long_for_a_file_name_is_refused() {
    // Outputs are named channels_<zone>.csv, cross_section_<zone>_day180.svg, ...: a 300-letter
    // name passed validation and failed only when the files were written, after the computing.
    let name = "a".repeat(300);
    let errs = errors(&patched(
        PEN,
        "name = \"cheek\"",
        &format!("name = \"{name}\""),
    ));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].0, "zones[0].name");
    assert!(errs[0].2.contains("at most 64"), "{errs:?}");
    let ok = "b".repeat(64);
    parse(
        &patched(PEN, "name = \"cheek\"", &format!("name = \"{ok}\"")),
        FILE,
    )
    .expect("64 characters are accepted");
}
