//! Bad input of the hair model (issue 20, "Bad input"): scalp-only settings on another site, a
//! follicle density or alopecia grade out of range, a product not meant for the scalp, and hair
//! outputs asked for a site without terminal hair. Each is refused as bad input (exit status 2)
//! with the field, the value, what is allowed and what to do.

use needlesim::input::parse;
use needlesim::study::Study;

const EXAMPLE: &str = include_str!("../../../examples/simulate_hair_arms.toml");
const PATIENT: &str = include_str!("../../../examples/patients/hair_scalp_type2.toml");

fn patched(from: &str, to: &str) -> String {
    assert!(EXAMPLE.contains(from), "test bug: {from:?}");
    EXAMPLE.replacen(from, to, 1)
}

/// The scenario is refused with an error at `path` whose message holds every needle.
fn refused(text: &str, path: &str, needles: &[&str]) {
    let e = parse(text, "hair.toml").expect_err("refused");
    let msg = e.to_string();
    assert!(
        e.field_errors().iter().any(|f| f.path == path),
        "no error at `{path}`: {msg}"
    );
    for n in needles {
        assert!(msg.contains(n), "lacks {n:?}: {msg}");
    }
    assert!(msg.contains("hint:"), "no hint: {msg}");
    // Through the front door: bad input (exit status 2), not a model failure.
    let e = Study::from_toml_str(text, "hair.toml").expect_err("refused");
    assert!(e.is_bad_input(), "{e}");
}

#[test]
fn the_example_is_valid() {
    let s = parse(EXAMPLE, "hair.toml").unwrap();
    assert_eq!(s.hair.as_ref().unwrap().arms.len(), 3);
}

#[test]
fn hair_outputs_on_a_site_without_terminal_hair_are_refused_and_say_so() {
    refused(
        &patched("site = \"scalp\"", "site = \"cheek\""),
        "zones[0].site",
        &["cheek", "no terminal hair", "only on the scalp"],
    );
}

#[test]
fn grade_out_of_range_or_on_the_wrong_scale_names_the_field() {
    refused(
        &patched("alopecia_grade = 4", "alopecia_grade = 8"),
        "hair.alopecia_grade",
        &["8", "1-7"],
    );
    refused(
        &patched(
            "alopecia_scale = \"norwood\"",
            "alopecia_scale = \"ludwig\"",
        ),
        "hair.alopecia_scale",
        &["ludwig", "person.sex"],
    );
    refused(
        &patched("alopecia_scale = \"norwood\"", "alopecia_scale = \"savin\""),
        "hair.alopecia_scale",
        &["savin", "none, norwood, ludwig"],
    );
}

#[test]
fn follicle_density_out_of_range_names_the_field() {
    refused(
        &patched(
            "alopecia_grade = 4",
            "alopecia_grade = 4\ndensity_per_cm2 = 900",
        ),
        "hair.density_per_cm2",
        &["900", "50", "400"],
    );
}

#[test]
fn a_product_not_meant_for_the_scalp_names_the_field() {
    refused(
        &patched(
            "product = \"minoxidil_5_solution\"",
            "product = \"vitamin_c_serum_15\"",
        ),
        "hair.arms[0].product",
        &["vitamin_c_serum_15", "not a scalp product", "minoxidil"],
    );
}

#[test]
fn scalp_only_concern_and_grades_in_a_patient_file_name_the_field() {
    // Thinning hair on another site.
    let text = PATIENT.replacen("site = \"scalp\"", "site = \"cheek\"", 1);
    let e = Study::patient_from_toml_str(&text, "p.toml").expect_err("refused");
    assert!(e.is_bad_input(), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("zones[0].concerns[0].kind") && msg.contains("scalp"),
        "{msg}"
    );
    // A Norwood grade past 7 (men), a Ludwig grade past 3 (women).
    let text = PATIENT.replacen(
        "{ kind = \"hair_thinning\" }",
        "{ kind = \"hair_thinning\", grade = 8 }",
        1,
    );
    let e = Study::patient_from_toml_str(&text, "p.toml").expect_err("refused");
    let msg = e.to_string();
    assert!(
        e.is_bad_input() && msg.contains("grade") && msg.contains("1-7"),
        "{msg}"
    );
    let text = PATIENT
        .replacen("sex = \"male\"", "sex = \"female\"", 1)
        .replacen(
            "{ kind = \"hair_thinning\" }",
            "{ kind = \"hair_thinning\", grade = 4 }",
            1,
        );
    let e = Study::patient_from_toml_str(&text, "p.toml").expect_err("refused");
    let msg = e.to_string();
    assert!(
        e.is_bad_input() && msg.contains("grade") && msg.contains("Ludwig"),
        "{msg}"
    );
}
