//! Injury stage on real puncture maps: monotone in depth and passes, independent of threads.

use needlesim::device::{self, CartridgeLayout, Device, Needle, Pen, Shape, Technique, Zone};
use needlesim::injury::{InjuryParams, channels, mean_depth};
use needlesim::skin::{self, LayerKind, Person, Site, ThicknessOverrides};

fn pen(depth_m: f64) -> Device {
    Device::Pen(Pen {
        needle_count: 12,
        layout: CartridgeLayout::Round,
        head_diameter_m: 7e-3,
        stroke_rate_hz: 100.0,
        min_depth_m: 0.0,
        max_depth_m: 2.5e-3,
        needle: Needle {
            length_m: depth_m,
            diameter_m: 2e-4,
            tip_angle_rad: 20f64.to_radians(),
        },
    })
}

fn technique(passes: u32) -> Technique {
    Technique {
        passes,
        directions: 3,
        overlap: 0.2,
        speed_m_s: 0.02,
        presses_per_s: 1.0,
        turnaround_s: 0.5,
    }
}

fn zone() -> Zone {
    Zone {
        name: "z".into(),
        site: Site::Cheek,
        shape: Shape::Rectangle {
            width_m: 0.02,
            height_m: 0.02,
        },
    }
}

fn cheek() -> skin::SkinColumn {
    skin::column(
        Site::Cheek,
        &Person::default(),
        &ThicknessOverrides::default(),
    )
    .expect("cheek column")
}

#[test]
fn deeper_settings_reach_deeper_layers_and_bleed_more() {
    let col = cheek();
    let p = InjuryParams::default();
    let mut last_bleed = -1.0;
    let mut last_reticular = -1.0;
    for depth in [0.1e-3, 0.25e-3, 0.5e-3, 1.0e-3, 1.5e-3] {
        let d = pen(depth);
        let set = device::generate(&d, &zone(), &technique(1), 3).unwrap();
        let ch = channels(&set, &col, &d, &p, 3);
        let ret = ch.reach_fraction[LayerKind::ReticularDermis.index()];
        assert!(
            ch.bleeding_fraction >= last_bleed,
            "bleeding grows with depth"
        );
        assert!(ret >= last_reticular, "reticular reach grows with depth");
        assert!(
            ch.channels
                .iter()
                .all(|c| c.depth_m <= depth && c.depth_m >= 0.5 * depth)
        );
        last_bleed = ch.bleeding_fraction;
        last_reticular = ret;
    }
    assert!(
        last_bleed > 0.9,
        "1.5 mm on the cheek bleeds almost everywhere"
    );
}

#[test]
fn shallow_needles_stay_above_the_capillaries() {
    let col = cheek();
    let d = pen(0.1e-3);
    let set = device::generate(&d, &zone(), &technique(1), 1).unwrap();
    let ch = channels(&set, &col, &d, &InjuryParams::default(), 1);
    assert_eq!(
        ch.bleeding_fraction,
        0.0,
        "mean depth {} µm vs DEJ {} µm",
        ch.mean_depth_m * 1e6,
        col.dej_m() * 1e6
    );
}

#[test]
fn injured_fraction_grows_with_passes_but_saturates_below_one() {
    let col = cheek();
    let d = pen(0.5e-3);
    let f = |passes| {
        let set = device::generate(&d, &zone(), &technique(passes), 9).unwrap();
        channels(&set, &col, &d, &InjuryParams::default(), 9).injured_volume_fraction
            [LayerKind::ViableEpidermis.index()]
    };
    let (a, b, c) = (f(1), f(2), f(8));
    assert!(a > 0.0 && b > a && c > b && c < 1.0, "{a} {b} {c}");
    // Sub-linear: the Boolean union saturates.
    assert!(b < 2.0 * a);
}

#[test]
fn mean_depth_of_the_realised_channels_matches_the_model() {
    let col = cheek();
    let d = pen(1.0e-3);
    let p = InjuryParams::default();
    let set = device::generate(&d, &zone(), &technique(2), 4).unwrap();
    let ch = channels(&set, &col, &d, &p, 4);
    let mean = ch.channels.iter().map(|c| c.depth_m).sum::<f64>() / ch.channels.len() as f64;
    // Depths follow N(model mean, σ_ρ L) truncated to [ρ_min L, L]: compare with that
    // distribution's mean, integrated numerically.
    let (mu, sd, lo, hi) = (
        mean_depth(&d, 1.0e-3, &p),
        p.ratio_sd * 1.0e-3,
        p.min_ratio * 1.0e-3,
        1.0e-3,
    );
    let n = 20_000;
    let (mut w, mut wx) = (0.0, 0.0);
    for i in 0..n {
        let x = lo + (hi - lo) * (i as f64 + 0.5) / n as f64;
        let pdf = (-0.5 * ((x - mu) / sd).powi(2)).exp();
        w += pdf;
        wx += pdf * x;
    }
    let expected = wx / w;
    assert!(
        expected < mu,
        "truncation at the needle length lowers the mean"
    );
    assert!(
        (mean - expected).abs() < 0.005 * expected,
        "{mean} vs {expected}"
    );
}

#[test]
fn channels_are_identical_with_one_and_two_threads() {
    let col = cheek();
    let d = pen(0.5e-3);
    let run = |threads| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let set = device::generate(&d, &zone(), &technique(3), 77).unwrap();
            channels(&set, &col, &d, &InjuryParams::default(), 77)
        })
    };
    let (a, b) = (run(1), run(2));
    assert!(a.channels.len() > 10_000);
    assert_eq!(a, b);
}
