//! Skin columns against published thicknesses (validation cases VT-14, VT-15, VT-16, VT-18 of
//! `validation/cases.json`) and the column invariants every later model relies on.
//!
//! Each test names its case and source. Tolerances are the cases' own; none is loosened here.

use needlesim::skin::tables::{self, REF_AGE_GIBNEY, REF_AGE_US50_20_29};
use needlesim::skin::{
    LayerKind, Person, Sex, Site, SkinColumn, SkinError, ThicknessOverrides, column,
};
use proptest::prelude::*;

fn person(age_years: f64, sex: Sex) -> Person {
    Person {
        age_years,
        sex,
        phototype: 3,
    }
}

fn col(site: Site, age: f64, sex: Sex) -> SkinColumn {
    column(site, &person(age, sex), &ThicknessOverrides::default()).expect("valid person")
}

fn total_mm(site: Site, age: f64, sex: Sex) -> f64 {
    col(site, age, sex).skin_thickness_m() * 1e3
}

fn dermis_m(c: &SkinColumn) -> f64 {
    c.layer(LayerKind::PapillaryDermis).thickness_m
        + c.layer(LayerKind::ReticularDermis).thickness_m
}

/// Asserts `value` within `expected ± tol` at every whole year of a 20-29 y band.
fn assert_band(site: Site, sex: Sex, expected_mm: f64, tol_mm: f64, case: &str) {
    for age in 20..=29 {
        let t = total_mm(site, f64::from(age), sex);
        assert!(
            (t - expected_mm).abs() <= tol_mm,
            "{case}: {} {sex:?} {age} y total skin {t:.3} mm, expected {expected_mm} ± {tol_mm}",
            site.name()
        );
    }
}

// VT-14a: 50 MHz ultrasound, cheek, women 20-29 y 1.90 ± 0.21 mm; men 2.53 ± 0.26 mm (±1 SD).
// Source: 'Research value of 50 MHz high-frequency ultrasound on sonography of normal facial skin in adult'.
#[test]
fn vt14a_cheek_total_skin_20_29_years() {
    assert_band(Site::Cheek, Sex::Female, 1.90, 0.21, "VT-14a");
    assert_band(Site::Cheek, Sex::Male, 2.53, 0.26, "VT-14a (men)");
}

// VT-14b: same study, forehead, women 20-29 y 1.86 ± 0.26 mm; men 2.45 ± 0.37 mm.
#[test]
fn vt14b_forehead_total_skin_20_29_years() {
    assert_band(Site::Forehead, Sex::Female, 1.86, 0.26, "VT-14b");
    assert_band(Site::Forehead, Sex::Male, 2.45, 0.37, "VT-14b (men)");
}

// VT-14c: same study, eyelid (our periorbital site), women 20-29 y 1.24 ± 0.25 mm; men 1.44 ± 0.16 mm.
#[test]
fn vt14c_eyelid_total_skin_20_29_years() {
    assert_band(Site::Periorbital, Sex::Female, 1.24, 0.25, "VT-14c");
    assert_band(Site::Periorbital, Sex::Male, 1.44, 0.16, "VT-14c (men)");
}

// VT-14: at the study's own reference (centre of 20-29 y) the table reproduces the means exactly.
#[test]
fn vt14_reference_means_reproduced() {
    for (site, f, m) in [
        (Site::Cheek, 1.90, 2.53),
        (Site::Forehead, 1.86, 2.45),
        (Site::Periorbital, 1.24, 1.44),
    ] {
        assert!((total_mm(site, REF_AGE_US50_20_29, Sex::Female) - f).abs() < 1e-9);
        assert!((total_mm(site, REF_AGE_US50_20_29, Sex::Male) - m).abs() < 1e-9);
    }
}

// VT-15: Gibney 2010 ultrasound, 388 adults (18-85 y, both sexes): thigh 1.9 mm, abdomen 2.2 mm, ±0.3 mm.
// The cohort is mixed-sex and its centre age is REF_AGE_GIBNEY; the pooled (F+M)/2 and each sex are checked.
#[test]
fn vt15_thigh_and_abdomen_total_skin() {
    for (site, expected) in [(Site::Thigh, 1.9), (Site::Abdomen, 2.2)] {
        let f = total_mm(site, REF_AGE_GIBNEY, Sex::Female);
        let m = total_mm(site, REF_AGE_GIBNEY, Sex::Male);
        let pooled = (f + m) / 2.0;
        assert!(
            (pooled - expected).abs() <= 0.3,
            "VT-15 {} pooled {pooled:.3}",
            site.name()
        );
        assert!(
            (f - expected).abs() <= 0.3,
            "VT-15 {} women {f:.3}",
            site.name()
        );
        assert!(
            (m - expected).abs() <= 0.3,
            "VT-15 {} men {m:.3}",
            site.name()
        );
    }
}

// VT-16b: Egawa 2007 in vivo Raman SC thickness: cheek 16.8 µm, back of hand 29.3 µm (±25 %).
// VT-16a (Sandby-Møller 2003 histology, dorsal forearm 18.3 ± 4.9 µm) has no forearm site here; its
// shoulder value (11.0 ± 2.2 µm) is what the back uses, checked at ±1 SD.
#[test]
fn vt16_stratum_corneum() {
    for sex in [Sex::Female, Sex::Male] {
        for age in [18.0, 40.0, 75.0, 100.0] {
            let sc = |site| {
                col(site, age, sex)
                    .layer(LayerKind::StratumCorneum)
                    .thickness_m
                    * 1e6
            };
            assert!(
                (sc(Site::Cheek) - 16.8).abs() <= 0.25 * 16.8,
                "VT-16b cheek"
            );
            assert!(
                (sc(Site::DorsalHand) - 29.3).abs() <= 0.25 * 29.3,
                "VT-16b back of hand"
            );
            assert!((sc(Site::Back) - 11.0).abs() <= 2.2, "VT-16a shoulder/back");
        }
    }
}

// Sandby-Møller 2003: SC thickness is not correlated with age or skin type, so the model keeps it fixed.
#[test]
fn sc_does_not_depend_on_age_sex_or_phototype() {
    for site in Site::ALL {
        let base = col(site, 30.0, Sex::Female)
            .layer(LayerKind::StratumCorneum)
            .thickness_m;
        for (age, sex, phototype) in [
            (18.0, Sex::Male, 1),
            (65.0, Sex::Female, 6),
            (100.0, Sex::Male, 4),
        ] {
            let c = column(
                site,
                &Person {
                    age_years: age,
                    sex,
                    phototype,
                },
                &ThicknessOverrides::default(),
            )
            .unwrap();
            assert_eq!(
                c.layer(LayerKind::StratumCorneum).thickness_m,
                base,
                "{}",
                site.name()
            );
        }
    }
}

// VT-18: Branchet 1990, dermis ~6 %/decade: 30 -> 60 years gives ≈ 17 % thinner dermis (±5 points).
#[test]
fn vt18_dermis_thins_about_17_percent_from_30_to_60() {
    for site in Site::ALL {
        for sex in [Sex::Female, Sex::Male] {
            let loss = 1.0 - dermis_m(&col(site, 60.0, sex)) / dermis_m(&col(site, 30.0, sex));
            assert!(
                (loss - 0.17).abs() <= 0.05,
                "VT-18 {} {sex:?}: dermal loss {loss:.3}",
                site.name()
            );
        }
    }
}

// VT-18 (epidermis): Branchet 1990, -7.2 %/decade (men), -5.7 %/decade (women): over 30 -> 60 y the
// viable epidermis loses 3 x (5.7 to 7.2) % = 17-22 % (±5 points, as the dermis case).
#[test]
fn vt18_epidermis_thins_with_age_at_branchet_rates() {
    for site in Site::ALL {
        for sex in [Sex::Female, Sex::Male] {
            let ve = |age| {
                col(site, age, sex)
                    .layer(LayerKind::ViableEpidermis)
                    .thickness_m
            };
            let loss = 1.0 - ve(60.0) / ve(30.0);
            assert!(
                (0.171 - 0.05..=0.216 + 0.05).contains(&loss),
                "{} {sex:?}: VE loss {loss:.3}",
                site.name()
            );
        }
    }
}

fn assert_column_invariants(c: &SkinColumn) {
    assert_eq!(c.layers.len(), 5);
    let mut depth = 0.0;
    for (layer, kind) in c.layers.iter().zip(LayerKind::ALL) {
        assert_eq!(layer.kind, kind);
        assert!(
            layer.thickness_m.is_finite() && layer.thickness_m > 0.0,
            "{kind:?} {}",
            layer.thickness_m
        );
        assert!(layer.thickness_sd_m.is_finite() && layer.thickness_sd_m >= 0.0);
        assert!(
            (layer.top_m - depth).abs() < 1e-15,
            "layers must be contiguous"
        );
        assert!(!layer.source.is_empty());
        depth = layer.bottom_m();
    }
    assert!((c.total_m() - depth).abs() < 1e-15);
    // Plausibility bounds (not validation): SC 5-50 µm, VE 20-300 µm, skin 0.5-4 mm.
    let um = |k: LayerKind| c.layer(k).thickness_m * 1e6;
    assert!((5.0..=50.0).contains(&um(LayerKind::StratumCorneum)));
    assert!((20.0..=300.0).contains(&um(LayerKind::ViableEpidermis)));
    assert!((0.5e-3..=4e-3).contains(&c.skin_thickness_m()));
    assert!(
        c.layer(LayerKind::PapillaryDermis)
            .properties
            .vascular_fraction
            > 0.0
    );
}

// Every site, both sexes, every half year of 18-100: five contiguous, positive, plausible layers.
#[test]
fn columns_are_contiguous_and_positive_everywhere() {
    for site in Site::ALL {
        for sex in [Sex::Female, Sex::Male] {
            for half_years in 36..=200 {
                assert_column_invariants(&col(site, f64::from(half_years) / 2.0, sex));
            }
        }
    }
}

// Men have thicker skin than women (50 MHz study at every facial region and decade; Sandby-Møller 2003
// for cellular epidermis; US22Sites and Firooz 2017 for dermis). Total skin: every site and age.
// Viable epidermis: at the reference age of each VE number (Branchet's faster male loss makes men's
// epidermis the thinner one late in life; see docs/MODEL.md (Skin)).
#[test]
fn men_have_thicker_skin_than_women() {
    for site in Site::ALL {
        for age in [18.0, 30.0, 50.0, 70.0, 100.0] {
            assert!(
                total_mm(site, age, Sex::Male) > total_mm(site, age, Sex::Female),
                "{} {age}",
                site.name()
            );
        }
        let ref_age = tables::row(site).viable_epidermis.ref_age_years;
        let ve = |sex| {
            col(site, ref_age, sex)
                .layer(LayerKind::ViableEpidermis)
                .thickness_m
        };
        assert!(ve(Sex::Male) >= ve(Sex::Female), "{}", site.name());
    }
}

// Face: the periorbital skin is the thinnest facial site in the 50 MHz data, and the nose the thickest
// (Ha 2005 nasal tip > brow; Chopra 2015 thickest dermis at the lower nasal sidewall).
#[test]
fn facial_ordering() {
    for sex in [Sex::Female, Sex::Male] {
        let eye = total_mm(Site::Periorbital, 35.0, sex);
        let nose = total_mm(Site::Nose, 35.0, sex);
        for site in [
            Site::Forehead,
            Site::Cheek,
            Site::Perioral,
            Site::Chin,
            Site::Nose,
        ] {
            assert!(total_mm(site, 35.0, sex) > eye);
        }
        for site in [Site::Forehead, Site::Cheek, Site::Perioral, Site::Chin] {
            assert!(nose > total_mm(site, 35.0, sex));
        }
    }
}

#[test]
fn overrides_replace_single_layers_and_are_labelled() {
    let p = person(40.0, Sex::Female);
    let base = column(Site::Cheek, &p, &ThicknessOverrides::default()).unwrap();
    let o = ThicknessOverrides {
        stratum_corneum_m: Some(30e-6),
        viable_epidermis_m: None,
        papillary_dermis_m: Some(150e-6),
        reticular_dermis_m: None,
        subcutis_m: Some(5e-3),
    };
    let c = column(Site::Cheek, &p, &o).unwrap();
    assert_column_invariants(&c);
    for kind in LayerKind::ALL {
        let (l, b) = (c.layer(kind), base.layer(kind));
        match o.get(kind) {
            Some(v) => {
                assert_eq!(l.thickness_m, v);
                assert_eq!(l.source, "user override");
                assert_eq!(l.thickness_sd_m, 0.0);
            }
            None => {
                assert_eq!(l.thickness_m, b.thickness_m);
                assert_ne!(l.source, "user override");
            }
        }
    }
    // Tops follow the overridden thicknesses.
    assert!(
        (c.dej_m() - (30e-6 + base.layer(LayerKind::ViableEpidermis).thickness_m)).abs() < 1e-15
    );
}

#[test]
fn overrides_outside_limits_are_rejected() {
    for (kind, bad) in [
        (LayerKind::StratumCorneum, 0.5e-6),
        (LayerKind::StratumCorneum, 15e-3), // 15 "µm" typed as mm
        (LayerKind::ViableEpidermis, 2e-3),
        (LayerKind::PapillaryDermis, 10e-6),
        (LayerKind::ReticularDermis, 7e-3),
        (LayerKind::Subcutis, 0.05e-3),
        (LayerKind::Subcutis, 25e-3),
        (LayerKind::ReticularDermis, -1e-3),
        (LayerKind::ViableEpidermis, f64::NAN),
        (LayerKind::Subcutis, f64::INFINITY),
    ] {
        let mut o = ThicknessOverrides::default();
        match kind {
            LayerKind::StratumCorneum => o.stratum_corneum_m = Some(bad),
            LayerKind::ViableEpidermis => o.viable_epidermis_m = Some(bad),
            LayerKind::PapillaryDermis => o.papillary_dermis_m = Some(bad),
            LayerKind::ReticularDermis => o.reticular_dermis_m = Some(bad),
            LayerKind::Subcutis => o.subcutis_m = Some(bad),
        }
        let (min_m, max_m) = tables::OVERRIDE_LIMITS[kind.index()];
        match column(Site::Forehead, &person(30.0, Sex::Male), &o) {
            Err(SkinError::Override {
                layer,
                value_m,
                min_m: lo,
                max_m: hi,
            }) => {
                assert_eq!(layer, kind.name());
                assert!(value_m == bad || (value_m.is_nan() && bad.is_nan()));
                assert_eq!((lo, hi), (min_m, max_m));
            }
            other => panic!("{kind:?} = {bad}: expected an override error, got {other:?}"),
        }
    }
    // The limits themselves are accepted.
    for kind in LayerKind::ALL {
        for v in [
            tables::OVERRIDE_LIMITS[kind.index()].0,
            tables::OVERRIDE_LIMITS[kind.index()].1,
        ] {
            assert!(tables::validate_override(kind, v).is_ok());
        }
    }
}

// Fitzpatrick type is carried, validated (1-6) and does not change thickness (Sandby-Møller 2003: no
// correlation of epidermal thickness with skin type).
#[test]
fn phototype_is_carried_and_validated() {
    let base = col(Site::Cheek, 35.0, Sex::Female);
    for phototype in 1..=6 {
        let p = Person {
            age_years: 35.0,
            sex: Sex::Female,
            phototype,
        };
        let c = column(Site::Cheek, &p, &ThicknessOverrides::default()).unwrap();
        assert_eq!(c.person.phototype, phototype);
        assert_eq!(
            c.layers.iter().map(|l| l.thickness_m).collect::<Vec<_>>(),
            base.layers
                .iter()
                .map(|l| l.thickness_m)
                .collect::<Vec<_>>()
        );
    }
    for phototype in [0, 7, 255] {
        let p = Person {
            age_years: 35.0,
            sex: Sex::Female,
            phototype,
        };
        assert_eq!(
            column(Site::Cheek, &p, &ThicknessOverrides::default()),
            Err(SkinError::Phototype(phototype))
        );
    }
}

#[test]
fn ages_outside_18_to_100_are_rejected() {
    for age in [17.99, 100.01, -1.0, 0.0, 1e9] {
        let r = column(
            Site::Neck,
            &person(age, Sex::Male),
            &ThicknessOverrides::default(),
        );
        assert_eq!(r, Err(SkinError::AgeOutOfRange { age_years: age }));
    }
    for age in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let r = column(
            Site::Neck,
            &person(age, Sex::Male),
            &ThicknessOverrides::default(),
        );
        assert!(matches!(r, Err(SkinError::AgeOutOfRange { .. })), "{age}");
    }
    assert!(
        column(
            Site::Neck,
            &person(18.0, Sex::Male),
            &ThicknessOverrides::default()
        )
        .is_ok()
    );
    assert!(
        column(
            Site::Neck,
            &person(100.0, Sex::Female),
            &ThicknessOverrides::default()
        )
        .is_ok()
    );
}

/// The generated tables, as they must appear in the documentation.
fn doc_tables() -> [(&'static str, String); 4] {
    [
        ("site table", tables::markdown_site_table()),
        (
            "column table",
            tables::markdown_column_table(&[25.0, 55.0, 85.0]),
        ),
        (
            "properties table",
            needlesim::skin::properties::markdown_table(),
        ),
        ("sources", tables::markdown_sources()),
    ]
}

// The documentation (docs/MODEL.md, Skin) shows the tables the code uses. On a mismatch the
// failure message holds the up-to-date table.
#[test]
fn docs_show_the_tables_in_use() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let docs = std::fs::read_to_string(root.join("docs/MODEL.md")).expect("docs/MODEL.md exists");
    for (name, table) in doc_tables() {
        assert!(
            docs.contains(&table),
            "the skin {name} in the docs is out of date; replace it with:\n<!-- BEGIN {name} -->\n{table}<!-- END {name} -->"
        );
    }
}

proptest! {
    // Any valid person at any site: the invariants hold, and deeper depths map to deeper layers.
    #[test]
    fn any_valid_person_gives_a_sane_column(site_i in 0usize..13, male in any::<bool>(), age in 18.0f64..=100.0, phototype in 1u8..=6, depth in 0.0f64..6e-3) {
        let sex = if male { Sex::Male } else { Sex::Female };
        let c = column(Site::ALL[site_i], &Person { age_years: age, sex, phototype }, &ThicknessOverrides::default()).unwrap();
        assert_column_invariants(&c);
        let k = c.layer_at(depth);
        prop_assert!(c.layer_at(depth + 1e-4) >= k);
    }

    // No input panics: arbitrary ages, phototypes and overrides give a column or an error.
    #[test]
    fn no_input_panics(age in any::<f64>(), phototype in any::<u8>(), sc in proptest::option::of(any::<f64>()), ret in proptest::option::of(any::<f64>())) {
        let o = ThicknessOverrides { stratum_corneum_m: sc, reticular_dermis_m: ret, ..Default::default() };
        for site in Site::ALL {
            let _ = column(site, &Person { age_years: age, sex: Sex::Female, phototype }, &o);
        }
    }
}
