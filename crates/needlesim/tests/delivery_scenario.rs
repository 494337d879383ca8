//! The `[delivery]` scenario section: bad input gives field errors with path, value, range and
//! hint; good input gives a plan; the bundled examples load.

use needlesim::delivery::run::GeometryKind;
use needlesim::input::ScenarioError;
use needlesim::input::delivery::parse;

const BASE: &str = r#"
title = "t"
[person]
age_years = 35
sex = "female"
phototype = 3
[device]
kind = "pen"
needle_count = 12
layout = "round"
head_diameter_mm = 7
stroke_rate_hz = 100
depth_mm = 0.5
[technique]
passes = 2
[[zones]]
name = "cheek"
site = "cheek"
shape = "rectangle"
width_mm = 10
height_mm = 10
"#;

fn errors(delivery: &str) -> Vec<(String, String, String)> {
    match parse(&format!("{BASE}{delivery}"), "t.toml") {
        Err(ScenarioError::Invalid { errors, .. }) => errors
            .into_iter()
            .map(|e| (e.path, e.value, format!("{} | {}", e.message, e.hint)))
            .collect(),
        Err(e) => panic!("unexpected error kind: {e}"),
        Ok(_) => panic!("accepted invalid input: {delivery}"),
    }
}

fn has(errs: &[(String, String, String)], path: &str, needle: &str) -> bool {
    errs.iter()
        .any(|(p, v, m)| p == path && (m.contains(needle) || v.contains(needle)))
}

#[test]
fn unknown_compound_lists_close_names() {
    let e = errors("[delivery]\ncompound = \"lidocane\"\nconcentration_mg_g = 40\n");
    assert!(has(&e, "delivery.compound", "\"lidocaine\""), "{e:?}");
    let e = errors("[delivery]\nproduct = \"lidocaine_cream\"\n");
    assert!(has(&e, "delivery.product", "lidocaine_4_cream"), "{e:?}");
}

#[test]
fn negative_absurd_dose_and_application_before_needling_are_refused() {
    let e = errors("[delivery]\nproduct = \"vitamin_c_serum_15\"\ndose_mg_cm2 = -2\n");
    assert!(has(&e, "delivery.dose_mg_cm2", "positive"), "{e:?}");
    let e = errors("[delivery]\nproduct = \"vitamin_c_serum_15\"\ndose_mg_cm2 = 50000\n");
    assert!(has(&e, "delivery.dose_mg_cm2", "0.01-1000"), "{e:?}");
    let e = errors("[delivery]\nproduct = \"vitamin_c_serum_15\"\napply_after_min = -10\n");
    assert!(
        has(&e, "delivery.apply_after_min", "before the end of needling"),
        "{e:?}"
    );
    let e = errors(
        "[delivery]\nproduct = \"vitamin_c_serum_15\"\napply_after_min = 30\nwipe_after_min = 10\n",
    );
    assert!(
        has(&e, "delivery.wipe_after_min", "later than the application"),
        "{e:?}"
    );
}

#[test]
fn too_large_molecule_is_an_error_and_a_macromolecule_a_warning() {
    let e = errors(
        "[delivery]\ncompound = \"bead\"\nconcentration_mg_g = 1\n[[compounds]]\nname = \"bead\"\nclass = \"protein\"\nmw_g_mol = 1e7\nlog_p = -3\nsolubility_mg_ml = 1\ncharge = \"neutral\"\nr_h_nm = 5000\n",
    );
    assert!(
        e.iter()
            .any(|(p, _, m)| p.starts_with("compounds[0].r_h_nm") || m.contains("too large")),
        "{e:?}"
    );
    let (_, plan) = parse(
        &format!(
            "{BASE}[delivery]\ncompound = \"ha_high\"\nconcentration_mg_g = 5\ndose_mg_cm2 = 2\n"
        ),
        "t.toml",
    )
    .expect("valid");
    assert!(
        plan.warnings.iter().any(|w| w.contains("outside")),
        "{:?}",
        plan.warnings
    );
}

#[test]
fn bad_choices_and_unknown_keys_name_the_field() {
    let e = errors(
        "[delivery]\nproduct = \"ha_serum\"\nocclusion = \"cling film\"\nsetup = \"mouse\"\ngeometry = \"sphere\"\n",
    );
    for f in ["delivery.occlusion", "delivery.setup", "delivery.geometry"] {
        assert!(has(&e, f, "allowed"), "{f}: {e:?}");
    }
    match parse(
        &format!("{BASE}[delivery]\nproduct = \"ha_serum\"\ncolour = 3\n"),
        "t.toml",
    ) {
        Err(e) => assert!(e.to_string().contains("colour"), "{e}"),
        Ok(_) => panic!("unknown key accepted"),
    }
    let e = errors("[delivery]\nproduct = \"ha_serum\"\ncompound = \"caffeine\"\n");
    assert!(has(&e, "delivery.product", "not both"), "{e:?}");
}

#[test]
fn repeated_applications_and_user_compounds_are_accepted() {
    let (s, plan) = parse(
        &format!(
            "{BASE}[delivery]\ncompound = \"my_peptide\"\nconcentration_mg_g = 5\ngeometry = \"patch\"\npatch_side_mm = 2\n\
             [[delivery.applications]]\nafter_min = 0\ndose_mg_cm2 = 2\nwipe_after_min = 30\n\
             [[delivery.applications]]\nafter_min = 60\ndose_mg_cm2 = 2\n\
             [[compounds]]\nname = \"my_peptide\"\nclass = \"peptide\"\nmw_g_mol = 600\nlog_p = -1\nsolubility_mg_ml = 20\ncharge = \"cationic\"\n"
        ),
        "t.toml",
    )
    .expect("valid");
    assert_eq!(plan.schedule.applications.len(), 2);
    assert_eq!(plan.compound.name, "my_peptide");
    assert!(
        matches!(plan.geometry, GeometryKind::Patch { side_m } if (side_m - 2e-3).abs() < 1e-12)
    );
    assert_eq!(s.zones.len(), 1);
    let e = errors(
        "[delivery]\nproduct = \"ha_serum\"\ndose_mg_cm2 = 2\n[[delivery.applications]]\nafter_min = -5\n",
    );
    assert!(
        has(
            &e,
            "delivery.applications[0].after_min",
            "before the end of needling"
        ),
        "{e:?}"
    );
    assert!(
        has(&e, "delivery.dose_mg_cm2", "cannot be combined"),
        "{e:?}"
    );
}

#[test]
fn the_bundled_delivery_examples_load() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).expect("examples") {
        let p = e.expect("entry").path();
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if name.starts_with("deliver_") && name.ends_with(".toml") {
            needlesim::input::delivery::load(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
            n += 1;
        }
    }
    assert!(n >= 3, "{n} delivery examples");
}

/// Issue 18 (bad input): an experiment type that does not fit the other inputs is refused with
/// the field, the value and what to do; a fitting one is accepted with its endpoint.
#[test]
fn an_endpoint_that_does_not_fit_the_setup_is_refused() {
    let sol = "[delivery]\ncompound = \"caffeine\"\nconcentration_mg_g = 10\ndose = \"infinite\"\n";
    // A Franz cell with plasma levels.
    let e = errors(&format!(
        "{sol}setup = \"franz_cell\"\nendpoint = \"plasma\"\n[delivery.plasma]\nvolume_l = 50\nhalf_life_h = 4\n"
    ));
    assert!(
        has(&e, "delivery.endpoint", "Franz cell has no blood or plasma"),
        "{e:?}"
    );
    assert!(has(&e, "delivery.endpoint", "setup = \"in_vivo\""), "{e:?}");
    // In vivo with a receptor.
    let e = errors(&format!("{sol}endpoint = \"receptor_flux\"\n"));
    assert!(
        has(&e, "delivery.endpoint", "only in a Franz cell"),
        "{e:?}"
    );
    // Plasma without its kinetics; kinetics without plasma.
    let e = errors(&format!("{sol}endpoint = \"plasma\"\n"));
    assert!(
        has(&e, "delivery.plasma", "volume_l and half_life_h"),
        "{e:?}"
    );
    let e = errors(&format!(
        "{sol}endpoint = \"blood\"\n[delivery.plasma]\nvolume_l = 50\nhalf_life_h = 4\n"
    ));
    assert!(
        has(&e, "delivery.plasma", "applies only to endpoint"),
        "{e:?}"
    );
    // Out-of-range kinetics, a window past the end, sampling times that go back.
    let e = errors(&format!(
        "{sol}endpoint = \"plasma\"\nduration_h = 10\nsampling_h = [4, 2]\nsteady_window_h = [5, 12]\n[delivery.plasma]\nvolume_l = 0\nhalf_life_h = 4\n"
    ));
    assert!(has(&e, "delivery.plasma.volume_l", "0.1"), "{e:?}");
    assert!(has(&e, "delivery.sampling_h", "must increase"), "{e:?}");
    assert!(has(&e, "delivery.steady_window_h", "<= 10 h"), "{e:?}");
    // Unknown endpoint names the allowed ones.
    let e = errors(&format!("{sol}endpoint = \"urine\"\n"));
    assert!(has(&e, "delivery.endpoint", "receptor_flux"), "{e:?}");
    // Fitting experiments are accepted; the defaults follow the set-up.
    let (_, plan) = parse(
        &format!("{BASE}{sol}setup = \"franz_cell\"\nendpoint = \"receptor_flux\"\nsteady_window_h = [6, 24]\n"),
        "t.toml",
    )
    .unwrap();
    assert_eq!(
        plan.experiment.endpoint,
        needlesim::delivery::experiment::Endpoint::ReceptorFlux
    );
    assert_eq!(
        plan.experiment.steady_window_s,
        Some((6.0 * 3600.0, 24.0 * 3600.0))
    );
    let (_, plan) = parse(&format!("{BASE}{sol}"), "t.toml").unwrap();
    assert_eq!(
        plan.experiment.endpoint,
        needlesim::delivery::experiment::Endpoint::Blood
    );
    let (_, plan) = parse(
        &format!(
            "{BASE}{sol}endpoint = \"plasma\"\n[delivery.plasma]\nvolume_l = 50\nhalf_life_h = 4\n"
        ),
        "t.toml",
    )
    .unwrap();
    let pk = plan.experiment.plasma.unwrap();
    assert!(pk.area_m2.is_nan() && (pk.volume_m3 - 0.05).abs() < 1e-12);
}
