//! Property tests: random text and random numbers fed to the scenario parser never panic.

use needlesim::input::parse;
use proptest::prelude::*;

const TEMPLATE: &str = r#"
[person]
age_years = {age}
sex = "male"
phototype = {pt}
[device]
kind = "{kind}"
needle_count = {count}
stroke_rate_hz = {rate}
depth_mm = {depth}
needle_length_mm = {depth}
drum_diameter_mm = {rate}
drum_width_mm = {rate}
[technique]
passes = {passes}
overlap = {overlap}
speed_mm_s = {rate}
[[zones]]
name = "z"
site = "{site}"
shape = "{shape}"
width_mm = {w}
height_mm = {h}
"#;

fn num() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<f64>().prop_map(|x| format!("{x:?}")),
        (-1e3f64..1e3).prop_map(|x| format!("{x}")),
        any::<i64>().prop_map(|x| x.to_string()),
        Just("nan".to_string()),
        Just("inf".to_string()),
        Just("-inf".to_string()),
        Just("0".to_string()),
        Just("\"x\"".to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics(text in "\\PC{0,400}") {
        let _ = parse(&text, "fuzz.toml");
    }

    #[test]
    fn random_toml_like_text_never_panics(text in "[\\[\\]a-z_=\"0-9.\\n -]{0,300}") {
        let _ = parse(&text, "fuzz.toml");
    }

    #[test]
    fn random_numbers_never_panic(
        age in num(), pt in num(), count in num(), rate in num(), depth in num(),
        passes in num(), overlap in num(), w in num(), h in num(),
        kind in prop_oneof![Just("pen"), Just("roller"), Just("stamp"), Just("x")],
        site in prop_oneof![Just("cheek"), Just("periorbital"), Just("back"), Just("?")],
        shape in prop_oneof![Just("ellipse"), Just("rectangle"), Just("polygon"), Just("")],
    ) {
        let text = TEMPLATE
            .replace("{age}", &age).replace("{pt}", &pt).replace("{kind}", kind)
            .replace("{count}", &count).replace("{rate}", &rate).replace("{depth}", &depth)
            .replace("{passes}", &passes).replace("{overlap}", &overlap).replace("{site}", site)
            .replace("{shape}", shape).replace("{w}", &w).replace("{h}", &h);
        if let Ok(s) = parse(&text, "fuzz.toml") {
            // Whatever validates must also run.
            prop_assert!(s.zones.iter().all(|z| z.zone.shape.area_m2() > 0.0));
        }
    }
}
