//! Bad input: every case gives a clear error naming the file, the field path, the value, the
//! allowed range and a hint — never a panic.

use needlesim::input::{ScenarioError, parse};

const FILE: &str = "test.toml";

/// A valid pen scenario; tests patch one thing at a time.
const BASE: &str = r#"
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

fn replace(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "test bug: {from:?} not in BASE");
    BASE.replacen(from, to, 1)
}

/// Parses `text`, expects a field error at `path`, and checks the message parts.
fn expect_field(text: &str, path: &str, needles: &[&str]) -> String {
    let err = parse(text, FILE).expect_err("scenario should be rejected");
    let msg = err.to_string();
    assert!(msg.contains(FILE), "message does not name the file: {msg}");
    assert!(
        err.field_errors().iter().any(|e| e.path == path),
        "no error at `{path}`: {msg}"
    );
    for n in needles {
        assert!(msg.contains(n), "message lacks {n:?}: {msg}");
    }
    assert!(msg.contains("hint:"), "message has no hint: {msg}");
    msg
}

#[test]
fn base_is_valid() {
    let s = parse(BASE, FILE).expect("base scenario is valid");
    assert_eq!(s.zones.len(), 1);
    assert_eq!(s.seed, 5);
    assert!((s.zones[0].device.needle().length_m - 0.5e-3).abs() < 1e-12);
}

#[test]
fn malformed_toml_names_line_and_column() {
    let text = replace("passes = 2", "passes = = 2");
    let err = parse(&text, FILE).expect_err("malformed");
    match &err {
        ScenarioError::Syntax { line, file, .. } => {
            assert_eq!(file, FILE);
            assert_eq!(*line, 13, "{err}"); // `passes` is on line 13 of BASE
        }
        other => panic!("expected a syntax error, got {other}"),
    }
    assert!(err.to_string().contains("hint:"));
}

#[test]
fn unknown_key_is_named() {
    expect_field(
        &replace("passes = 2", "passes = 2\npasess = 3"),
        "technique.pasess",
        &["unknown field", "pasess", "line"],
    );
}

#[test]
fn unknown_top_level_table() {
    let msg = parse(&format!("{BASE}\n[devise]\nkind = \"pen\"\n"), FILE)
        .expect_err("unknown")
        .to_string();
    assert!(
        msg.contains("devise") && msg.contains("unknown field"),
        "{msg}"
    );
}

#[test]
fn unknown_site_lists_the_allowed_ones() {
    expect_field(
        &replace("site = \"cheek\"", "site = \"elbow\""),
        "zones[0].site",
        &["\"elbow\"", "forehead", "dorsal_hand", "scalp"],
    );
}

#[test]
fn unknown_device_kind() {
    expect_field(
        &replace("kind = \"pen\"", "kind = \"laser\""),
        "device.kind",
        &["\"laser\"", "roller", "pen", "stamp"],
    );
}

#[test]
fn wrong_type_is_reported_with_path() {
    let msg = expect_field(
        &replace("passes = 2", "passes = \"two\""),
        "technique.passes",
        &["line"],
    );
    assert!(
        msg.contains("integer") || msg.contains("invalid type"),
        "{msg}"
    );
}

#[test]
fn zero_passes() {
    expect_field(
        &replace("passes = 2", "passes = 0"),
        "technique.passes",
        &["= 0", "1-100"],
    );
}

#[test]
fn negative_width() {
    expect_field(
        &replace("width_mm = 50", "width_mm = -50"),
        "zones[0].width_mm",
        &["-50", "1-1000 mm"],
    );
}

#[test]
fn absurd_stroke_rate() {
    expect_field(
        &replace("stroke_rate_hz = 100", "stroke_rate_hz = 1e9"),
        "device.stroke_rate_hz",
        &["1000000000", "1-300 Hz"],
    );
}

#[test]
fn non_finite_value() {
    expect_field(
        &replace("width_mm = 50", "width_mm = nan"),
        "zones[0].width_mm",
        &["NaN", "finite"],
    );
}

#[test]
fn absurd_age_and_phototype() {
    let text =
        replace("age_years = 40", "age_years = 400").replacen("phototype = 3", "phototype = 9", 1);
    let msg = expect_field(&text, "person.age_years", &["400", "18-100"]);
    assert!(
        msg.contains("person.phototype") && msg.contains("1-6"),
        "all problems are reported at once: {msg}"
    );
}

#[test]
fn depth_outside_device_range() {
    let text = replace("depth_mm = 0.5", "depth_mm = 3.0");
    expect_field(&text, "device.depth_mm", &["3", "depth range 0.25-2.5 mm"]);
}

#[test]
fn zone_depth_outside_device_range() {
    let text = replace("height_mm = 40", "height_mm = 40\ndepth_mm = 2.75");
    expect_field(&text, "zones[0].depth_mm", &["2.75", "0.25-2.5 mm"]);
}

#[test]
fn depth_deeper_than_the_skin() {
    // Periorbital skin is thin; a 2.5 mm setting reaches past the dermis.
    let text = replace("site = \"cheek\"", "site = \"periorbital\"").replacen(
        "depth_mm = 0.5",
        "depth_mm = 2.5",
        1,
    );
    expect_field(
        &text,
        "device.depth_mm",
        &["beyond the skin", "periorbital", "epidermis + dermis"],
    );
}

#[test]
fn empty_zone_list() {
    let text = "zones = []\n".to_string() + BASE.split("[[zones]]").next().unwrap();
    expect_field(&text, "zones", &["at least one zone"]);
}

#[test]
fn degenerate_polygon_is_an_empty_zone() {
    let text = replace(
        "shape = \"ellipse\"\nwidth_mm = 50\nheight_mm = 40",
        "shape = \"polygon\"\nvertices_mm = [[0, 0], [10, 0], [20, 0]]",
    );
    expect_field(&text, "zones[0].vertices_mm", &["empty zone"]);
}

#[test]
fn field_for_another_device_kind() {
    expect_field(
        &replace("depth_mm = 0.5", "depth_mm = 0.5\ndrum_diameter_mm = 20"),
        "device.drum_diameter_mm",
        &["does not apply to a pen"],
    );
}

#[test]
fn roller_needs_its_fields() {
    let text = replace(
        "kind = \"pen\"\nneedle_count = 12\nstroke_rate_hz = 100\ndepth_mm = 0.5",
        "kind = \"roller\"\nneedle_length_mm = 0.5",
    );
    let msg = expect_field(&text, "device.drum_diameter_mm", &["required"]);
    assert!(msg.contains("device.needle_count"), "{msg}");
}

#[test]
fn duplicate_zone_names() {
    let text = format!(
        "{BASE}\n[[zones]]\nname = \"cheek\"\nsite = \"chin\"\nshape = \"rectangle\"\nwidth_mm = 10\nheight_mm = 10\n"
    );
    expect_field(&text, "zones[1].name", &["another zone"]);
}

#[test]
fn bad_override() {
    expect_field(
        &format!("{BASE}\n[skin]\nstratum_corneum_um = 0\n"),
        "skin.stratum_corneum_um",
        &["1-500 µm"],
    );
}

#[test]
fn missing_section() {
    let text = BASE.replace("[technique]\npasses = 2\n", "");
    let msg = parse(&text, FILE).expect_err("missing").to_string();
    assert!(
        msg.contains("missing field") && msg.contains("technique"),
        "{msg}"
    );
}

#[test]
fn unknown_species_lists_the_allowed_ones() {
    let text = format!("{BASE}[skin]\nspecies = \"mouse\"\n");
    expect_field(
        &text,
        "skin.species",
        &["mouse", "human, pig, rat, hairless_guinea_pig"],
    );
}

#[test]
fn an_animal_species_sets_the_layer_defaults_and_file_values_win() {
    let rat = parse(&format!("{BASE}[skin]\nspecies = \"rat\"\n"), FILE).expect("rat");
    assert_eq!(rat.species, needlesim::skin::Species::Rat);
    let sc = |s: &needlesim::scenario::Scenario| {
        s.zones[0]
            .column
            .layer(needlesim::skin::LayerKind::ViableEpidermis)
            .thickness_m
    };
    assert!((sc(&rat) - 30e-6).abs() < 1e-9, "{}", sc(&rat));
    let own = parse(
        &format!("{BASE}[skin]\nspecies = \"rat\"\nviable_epidermis_um = 40\n"),
        FILE,
    )
    .expect("rat with its own epidermis");
    assert!((sc(&own) - 40e-6).abs() < 1e-9);
    let human = parse(BASE, FILE).expect("human");
    assert_eq!(human.species, needlesim::skin::Species::Human);
    assert!(sc(&human) > 40e-6, "cheek epidermis from the site tables");
}
