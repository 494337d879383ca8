//! Puncture generator: published densities and rates (VT-01, VT-02), the kinematic formulas,
//! clipping to the zone, determinism across thread counts, timing and input guards.

use needlesim::device::{
    CartridgeLayout, Device, DeviceError, Pen, PunctureSet, Roller, Shape, Stamp, Technique, Zone,
    estimate, expected_density_per_pass_m2, generate, puncture_rate_hz,
};
use needlesim::skin::Site;

const CM2: f64 = 1e-4;

fn zone(shape: Shape) -> Zone {
    Zone {
        name: "test".into(),
        site: Site::Cheek,
        shape,
    }
}

fn square(side_m: f64) -> Zone {
    zone(Shape::Rectangle {
        width_m: side_m,
        height_m: side_m,
    })
}

/// A full face: a 300 cm² ellipse, 18 cm wide.
fn face() -> Zone {
    let w = 0.18;
    zone(Shape::Ellipse {
        width_m: w,
        height_m: 0.03 * 4.0 / (std::f64::consts::PI * w),
    })
}

/// A concave polygon (an L with a notch) inside a 6 x 5 cm box.
fn concave() -> Zone {
    zone(Shape::Polygon {
        vertices_m: vec![
            [0.0, 0.0],
            [0.06, 0.0],
            [0.06, 0.02],
            [0.03, 0.025],
            [0.02, 0.05],
            [0.0, 0.05],
        ],
    })
}

fn per_cm2(set: &PunctureSet) -> f64 {
    set.density_m2() * CM2
}

fn mf8() -> Device {
    Device::Roller(Roller::dermaroller_mf8())
}

fn dermapen() -> Device {
    Device::Pen(Pen::dermapen_like(1.0e-3))
}

fn stamp() -> Device {
    Device::Stamp(Stamp::stamp_35(1.0e-3))
}

fn assert_inside(set: &PunctureSet, z: &Zone) {
    for p in &set.punctures {
        assert!(
            z.shape.contains(p.x_m, p.y_m),
            "puncture at ({}, {}) outside {:?}",
            p.x_m,
            p.y_m,
            z.shape
        );
    }
}

/// VT-01: a 192-needle roller rolled 15 times gives about 250 punctures/cm² (range 200-300);
/// the geometry gives 229.
#[test]
fn vt01_standard_roller_density() {
    let z = square(0.10);
    let tech = Technique::roller_standard();
    let set = generate(&mf8(), &z, &tech, 1).unwrap();
    let analytic = 192.0 / (std::f64::consts::PI * 2.0 * 2.0) * 15.0;
    let d = per_cm2(&set);
    println!("VT-01: {d:.1} punctures/cm² (analytic {analytic:.1}, published ~250)");
    assert!((200.0..=300.0).contains(&d), "{d}");
    assert!((d / analytic - 1.0).abs() < 0.03, "{d} vs {analytic}");
    assert!((set.expected_density_per_pass_m2 * CM2 * 15.0 - analytic).abs() < 1e-9);
    assert_inside(&set, &z);
}

/// VT-02: 11 needles at 90 Hz make 990 punctures per second; each actuation fires every needle
/// at once, actuations 1/90 s apart.
#[test]
fn vt02_pen_puncture_rate() {
    let dev = dermapen();
    let mut tech = Technique::pen_typical();
    tech.passes = 1;
    let rate = puncture_rate_hz(&dev, &tech);
    assert!((rate - 990.0).abs() < 1e-9);
    let set = generate(&dev, &square(0.05), &tech, 3).unwrap();
    // Group consecutive punctures by time: full groups (head wholly inside the zone) hold 11.
    let mut groups: Vec<(f64, usize)> = Vec::new();
    for p in &set.punctures {
        match groups.last_mut() {
            Some((t, n)) if *t == p.t_s => *n += 1,
            _ => groups.push((p.t_s, 1)),
        }
    }
    let largest = groups.iter().map(|g| g.1).max().unwrap();
    assert_eq!(largest, 11);
    let mut gaps: Vec<f64> = groups.windows(2).map(|w| w[1].0 - w[0].0).collect();
    gaps.sort_by(f64::total_cmp);
    let median_gap = gaps[gaps.len() / 2];
    let realised = largest as f64 / median_gap;
    println!("VT-02: {realised:.1} punctures/s (published ~990)");
    assert!((940.0..=1040.0).contains(&realised), "{realised}");
    assert!((median_gap - 1.0 / 90.0).abs() < 1e-9);
}

#[test]
fn pen_density_follows_the_kinematic_formula() {
    let z = square(0.06);
    for (dev, overlap) in [
        (dermapen(), 0.0),
        (dermapen(), 0.3),
        (Device::Pen(Pen::skinpen_like(0.5e-3)), 0.0),
    ] {
        let mut tech = Technique::pen_typical();
        tech.passes = 2;
        tech.overlap = overlap;
        let set = generate(&dev, &z, &tech, 11).unwrap();
        let Device::Pen(p) = &dev else { unreachable!() };
        let formula = p.stroke_rate_hz * f64::from(p.needle_count)
            / (tech.speed_m_s * p.head_diameter_m * (1.0 - overlap));
        assert!((expected_density_per_pass_m2(&dev, &tech) / formula - 1.0).abs() < 1e-12);
        let per_pass = set.density_m2() / 2.0;
        println!(
            "pen {} overlap {overlap}: {:.1}/cm² per pass, formula {:.1}",
            p.needle_count,
            per_pass * CM2,
            formula * CM2
        );
        assert!((per_pass / formula - 1.0).abs() < 0.03);
        assert_inside(&set, &z);
    }
}

#[test]
fn density_is_linear_in_passes() {
    let z = square(0.20);
    let dev = mf8();
    let mut tech = Technique::roller_standard();
    let expected = expected_density_per_pass_m2(&dev, &tech);
    for passes in [1, 2, 4, 8] {
        tech.passes = passes;
        let set = generate(&dev, &z, &tech, 5).unwrap();
        let per_pass = set.density_m2() / f64::from(passes);
        println!("{passes} passes: {:.2}/cm² per pass", per_pass * CM2);
        assert!(
            (per_pass / expected - 1.0).abs() < 0.04,
            "{passes}: {per_pass}"
        );
    }
}

#[test]
fn stamp_density_follows_the_pitch() {
    let z = square(0.10);
    let dev = stamp();
    let tech = Technique::stamp_typical();
    let set = generate(&dev, &z, &tech, 2).unwrap();
    let formula = 1.0 / (1.5e-3f64 * 1.5e-3);
    let per_pass = set.density_m2() / 2.0;
    println!(
        "stamp: {:.1}/cm² per pass, formula {:.1}",
        per_pass * CM2,
        formula * CM2
    );
    assert!((per_pass / formula - 1.0).abs() < 0.04);
    assert!((expected_density_per_pass_m2(&dev, &tech) / formula - 1.0).abs() < 1e-12);
    assert!(set.needling_time_s > 0.0);
}

#[test]
fn no_puncture_outside_the_zone() {
    let shapes = [
        square(0.04),
        zone(Shape::Ellipse {
            width_m: 0.05,
            height_m: 0.02,
        }),
        concave(),
    ];
    for z in &shapes {
        for dev in [mf8(), dermapen(), stamp()] {
            let tech = match dev {
                Device::Roller(_) => Technique::roller_standard(),
                Device::Pen(_) => Technique::pen_typical(),
                Device::Stamp(_) => Technique::stamp_typical(),
            };
            let set = generate(&dev, z, &tech, 9).unwrap();
            assert!(!set.punctures.is_empty());
            assert_inside(&set, z);
        }
    }
    // The notch of the concave polygon stays untouched.
    let set = generate(&dermapen(), &concave(), &Technique::pen_typical(), 4).unwrap();
    assert!(!set.punctures.iter().any(|p| p.x_m > 0.04 && p.y_m > 0.03));
}

fn bitwise(set: &PunctureSet) -> Vec<u64> {
    let mut v = vec![set.needling_time_s.to_bits(), set.punctures.len() as u64];
    for p in &set.punctures {
        v.extend([
            p.x_m.to_bits(),
            p.y_m.to_bits(),
            p.t_s.to_bits(),
            p.nominal_depth_m.to_bits(),
            u64::from(p.pass),
        ]);
    }
    v
}

#[test]
fn same_output_with_1_and_2_threads() {
    let cases = [
        (mf8(), face(), Technique::roller_standard()),
        (dermapen(), concave(), Technique::pen_typical()),
        (stamp(), face(), Technique::stamp_typical()),
    ];
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    for (dev, z, tech) in &cases {
        let a = one.install(|| generate(dev, z, tech, 42)).unwrap();
        let b = two.install(|| generate(dev, z, tech, 42)).unwrap();
        assert!(!a.punctures.is_empty());
        assert_eq!(bitwise(&a), bitwise(&b));
    }
}

#[test]
fn seed_changes_the_output() {
    let z = square(0.05);
    let a = generate(&mf8(), &z, &Technique::roller_standard(), 1).unwrap();
    let b = generate(&mf8(), &z, &Technique::roller_standard(), 2).unwrap();
    let c = generate(&mf8(), &z, &Technique::roller_standard(), 1).unwrap();
    assert_ne!(bitwise(&a), bitwise(&b));
    assert_eq!(bitwise(&a), bitwise(&c));
}

#[test]
fn times_are_ordered_and_depths_nominal() {
    for (dev, tech) in [
        (mf8(), Technique::roller_standard()),
        (dermapen(), Technique::pen_typical()),
        (stamp(), Technique::stamp_typical()),
    ] {
        let set = generate(&dev, &concave(), &tech, 8).unwrap();
        assert!(set.punctures.windows(2).all(|w| w[0].t_s <= w[1].t_s));
        assert!(set.punctures.windows(2).all(|w| w[0].pass <= w[1].pass));
        let last = set.punctures.last().unwrap();
        assert!(last.t_s <= set.needling_time_s);
        assert_eq!(last.pass, tech.passes - 1);
        let depth = dev.needle().length_m;
        assert!(set.punctures.iter().all(|p| p.nominal_depth_m == depth));
    }
}

/// Needling time of a full face (300 cm²) with a pen, 3 passes at 2 cm/s: about 12 minutes
/// (sessions of 30-60 min include preparation and numbing).
#[test]
fn full_face_needling_time() {
    let z = face();
    let tech = Technique::pen_typical();
    let set = generate(&dermapen(), &z, &tech, 7).unwrap();
    let minutes = set.needling_time_s / 60.0;
    let est = estimate(&dermapen(), &z, &tech, 7).unwrap();
    println!(
        "full face, pen, 3 passes: {} punctures, {:.1} min needling ({} strokes)",
        set.punctures.len(),
        minutes,
        est.strokes
    );
    assert!((8.0..=25.0).contains(&minutes), "{minutes}");
    // The plan-only estimate gives the same time for pens and rollers.
    assert_eq!(est.needling_time_s, set.needling_time_s);
    assert!((est.expected_punctures / set.punctures.len() as f64 - 1.0).abs() < 0.03);
    let roller = generate(&mf8(), &z, &Technique::roller_standard(), 7).unwrap();
    println!(
        "full face, MF8, 15 passes: {} punctures, {:.1} min needling",
        roller.punctures.len(),
        roller.needling_time_s / 60.0
    );
    assert!((2.0..=20.0).contains(&(roller.needling_time_s / 60.0)));
}

#[test]
fn zero_passes_give_an_empty_set() {
    let mut tech = Technique::roller_standard();
    tech.passes = 0;
    let set = generate(&mf8(), &square(0.02), &tech, 0).unwrap();
    assert!(set.punctures.is_empty());
    assert_eq!(set.needling_time_s, 0.0);
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let good = Technique::pen_typical();
    // Degenerate zones.
    for shape in [
        Shape::Rectangle {
            width_m: 0.0,
            height_m: 0.1,
        },
        Shape::Ellipse {
            width_m: -1.0,
            height_m: 0.1,
        },
        Shape::Polygon {
            vertices_m: vec![[0.0, 0.0], [0.01, 0.0]],
        },
        Shape::Polygon {
            vertices_m: vec![[0.0, 0.0], [0.01, 0.01], [0.02, 0.02]],
        },
    ] {
        let r = generate(&dermapen(), &zone(shape), &good, 0);
        assert!(matches!(r, Err(DeviceError::EmptyZone(_))), "{r:?}");
    }
    // Non-finite and huge zones.
    for (w, h) in [
        (f64::NAN, 0.1),
        (f64::INFINITY, 0.1),
        (1e300, 1e300),
        (1e6, 1e6),
    ] {
        let r = generate(
            &dermapen(),
            &zone(Shape::Rectangle {
                width_m: w,
                height_m: h,
            }),
            &good,
            0,
        );
        assert!(r.is_err(), "{w} x {h}");
    }
    // Too many punctures: a slow glide over a large zone, checked before allocating.
    let mut slow = good.clone();
    slow.speed_m_s = 1e-6;
    assert!(matches!(
        generate(&dermapen(), &square(0.1), &slow, 0),
        Err(DeviceError::TooManyPunctures { .. })
    ));
    let mut many = Technique::roller_standard();
    many.passes = u32::MAX;
    assert!(generate(&mf8(), &square(0.1), &many, 0).is_err());
    // Bad techniques.
    for tweak in [
        |t: &mut Technique| t.overlap = 1.0,
        |t: &mut Technique| t.overlap = f64::NAN,
        |t: &mut Technique| t.directions = 0,
        |t: &mut Technique| t.speed_m_s = 0.0,
        |t: &mut Technique| t.speed_m_s = f64::INFINITY,
        |t: &mut Technique| t.turnaround_s = -1.0,
    ] {
        let mut t = good.clone();
        tweak(&mut t);
        assert!(matches!(
            generate(&dermapen(), &square(0.02), &t, 0),
            Err(DeviceError::Inconsistent(_))
        ));
    }
    // Bad devices.
    let mut deep = Pen::dermapen_like(3.0e-3);
    assert!(generate(&Device::Pen(deep.clone()), &square(0.02), &good, 0).is_err());
    deep.needle.length_m = 1e-3;
    deep.layout = CartridgeLayout::Grid { rows: 0 };
    assert!(generate(&Device::Pen(deep), &square(0.02), &good, 0).is_err());
    let mut r = Roller::dermaroller_mf8();
    r.rows = 500;
    assert!(generate(&Device::Roller(r.clone()), &square(0.02), &good, 0).is_err());
    r.rows = 8;
    r.needle_count = u32::MAX;
    assert!(generate(&Device::Roller(r.clone()), &square(0.02), &good, 0).is_err());
    r.needle_count = 192;
    r.drum_diameter_m = f64::MIN_POSITIVE;
    assert!(generate(&Device::Roller(r), &square(0.02), &good, 0).is_err());
    let mut s = Stamp::stamp_35(1e-3);
    s.pitch_m = 1e300;
    // A stamp far larger than the zone is clipped, not an error (and makes few or no punctures).
    assert!(
        generate(
            &Device::Stamp(s.clone()),
            &square(0.02),
            &Technique::stamp_typical(),
            0
        )
        .is_ok()
    );
    s.rows = u32::MAX;
    s.cols = u32::MAX;
    assert!(
        generate(
            &Device::Stamp(s),
            &square(0.02),
            &Technique::stamp_typical(),
            0
        )
        .is_err()
    );
    // Finite but absurd rates and speeds.
    let mut p = Pen::dermapen_like(1e-3);
    p.stroke_rate_hz = 1e-300;
    let mut t = good.clone();
    t.speed_m_s = 1e-300;
    if let Ok(set) = generate(&Device::Pen(p), &square(0.02), &t, 0) {
        assert!(set.needling_time_s.is_finite());
        assert!(set.punctures.iter().all(|p| p.t_s.is_finite()));
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn device() -> impl Strategy<Value = Device> {
        prop_oneof![
            (1e-3f64..0.05, 1e-3f64..0.05, 1u32..300, 1u32..12).prop_map(|(d, w, n, r)| {
                let mut roller = Roller::dermaroller_mf8();
                roller.drum_diameter_m = d;
                roller.drum_width_m = w;
                roller.needle_count = n.max(r);
                roller.rows = r;
                Device::Roller(roller)
            }),
            (1u32..43, 1e-3f64..0.02, 10.0f64..200.0, 0u32..5).prop_map(|(n, w, f, rows)| {
                let mut pen = Pen::dermapen_like(1e-3);
                pen.needle_count = n;
                pen.head_diameter_m = w;
                pen.stroke_rate_hz = f;
                pen.layout = if rows == 0 {
                    CartridgeLayout::Round
                } else {
                    CartridgeLayout::Grid { rows }
                };
                Device::Pen(pen)
            }),
            (1u32..12, 1u32..12, 2e-4f64..5e-3).prop_map(|(r, c, a)| {
                let mut s = Stamp::stamp_35(1e-3);
                s.rows = r;
                s.cols = c;
                s.pitch_m = a;
                Device::Stamp(s)
            }),
        ]
    }

    fn shape() -> impl Strategy<Value = Shape> {
        prop_oneof![
            (1e-3f64..0.1, 1e-3f64..0.1).prop_map(|(w, h)| Shape::Rectangle {
                width_m: w,
                height_m: h
            }),
            (1e-3f64..0.1, 1e-3f64..0.1).prop_map(|(w, h)| Shape::Ellipse {
                width_m: w,
                height_m: h
            }),
            (1e-3f64..0.1, 0.1f64..0.9).prop_map(|(s, k)| Shape::Polygon {
                vertices_m: vec![[0.0, 0.0], [s, 0.0], [k * s, k * s], [0.0, s]],
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Any moderate input: a clean result or a clean error; results lie in the zone, are
        /// time-ordered and independent of the thread count.
        #[test]
        fn generator_invariants(
            dev in device(),
            sh in shape(),
            passes in 0u32..5,
            directions in 1u32..7,
            overlap in 0.0f64..0.9,
            speed in 0.002f64..0.2,
            seed in any::<u64>(),
        ) {
            let tech = Technique {
                passes,
                directions,
                overlap,
                speed_m_s: speed,
                presses_per_s: 2.0,
                turnaround_s: 0.3,
            };
            let z = zone(sh);
            let expected =
                expected_density_per_pass_m2(&dev, &tech) * f64::from(passes) * z.shape.area_m2();
            prop_assume!(expected < 3e5);
            let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
            let a = one.install(|| generate(&dev, &z, &tech, seed));
            let b = generate(&dev, &z, &tech, seed);
            match (a, b) {
                (Ok(a), Ok(b)) => {
                    prop_assert_eq!(bitwise(&a), bitwise(&b));
                    prop_assert!(a.needling_time_s.is_finite());
                    prop_assert!(a.punctures.iter().all(|p| z.shape.contains(p.x_m, p.y_m)));
                    prop_assert!(a.punctures.windows(2).all(|w| w[0].t_s <= w[1].t_s));
                }
                (Err(a), Err(b)) => prop_assert_eq!(a, b),
                (a, b) => prop_assert!(false, "{:?} vs {:?}", a.is_ok(), b.is_ok()),
            }
        }
    }
}
