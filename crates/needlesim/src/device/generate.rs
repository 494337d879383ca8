//! The seeded puncture generator: device + zone + technique + seed -> [`PunctureSet`].
//!
//! The generator follows the practitioner: each pass covers the zone once with parallel strokes
//! in one direction (passes cycle through [`stroke_direction_rad`]); strokes sit on a lattice of
//! tracks spaced `track_width·(1 − overlap)` across the stroke direction, with a random lattice
//! phase per pass and Gaussian hand-placement jitter per track ([`TRACK_JITTER_FRACTION`],
//! [`DIRECTION_JITTER_SD_RAD`]); successive strokes alternate direction (boustrophedon). Each
//! stroke only runs over the zone's extent inside its band, and punctures whose centre falls
//! outside the zone's shape are dropped. What happens along a stroke is the device's business
//! (`roller.rs`, `pen.rs`, `stamp.rs`).
//!
//! Reproducibility: pass `p` draws from `rng::stream(seed, [p, 0])` and its stroke `j` from
//! `rng::stream(seed, [p, 1 + j])`; passes and strokes are generated in parallel with rayon and
//! concatenated in (pass, stroke) order, so the output is bitwise identical for any thread count.
//!
//! The model, its equations, assumptions and sources are in `docs/MODEL.md (Devices)`.

use rand::RngExt;
use rand_distr::StandardNormal;
use rand_pcg::Pcg64Mcg;
use rayon::prelude::*;

use super::geometry::{Frame, FramedOutline, Outline};
use super::params::DeviceParams;
use super::pen::PenModel;
use super::roller::RollerModel;
use super::stamp::StampModel;
use super::*;
use crate::rng::{stream, tag};

/// Largest puncture map [`generate`] will build (about 0.8 GB of punctures). A full face with a
/// pen at a slow glide holds a few million; the limit stops a mistyped speed or zone from
/// exhausting memory.
pub const MAX_PUNCTURES: u64 = 20_000_000;

/// Largest number of strokes (tracks over all passes) [`generate`] will plan. A full face takes a
/// few hundred.
pub const MAX_STROKES: u64 = 1_000_000;

/// Largest number of needles on one device (rollers, cartridges and stamps carry tens to a few
/// hundred).
pub const MAX_NEEDLES: u32 = 100_000;

/// Standard deviation of the lateral placement of each stroke, as a fraction of the track width.
/// Assumed (no measurement found): a hand laying parallel strokes misplaces each by about a tenth
/// of the device width (2 mm for a 2 cm roller, under 1 mm for a pen).
pub const TRACK_JITTER_FRACTION: f64 = 0.1;

/// Standard deviation of the direction of each pass around its nominal direction, rad (2°).
/// Assumed.
pub const DIRECTION_JITTER_SD_RAD: f64 = 2.0 * std::f64::consts::PI / 180.0;

/// Nominal stroke direction of pass `pass` (from the zone's x axis), rad: passes cycle through
/// 0°, 90°, 45°, 135° for `directions` up to 4 (1: all at 0°; 2: 0° and 90°; 3: adds 45°); with
/// more than 4 directions they are spread evenly, `i·180°/directions`.
pub fn stroke_direction_rad(pass: u32, directions: u32) -> f64 {
    use std::f64::consts::PI;
    let d = directions.max(1);
    let i = pass % d;
    if d <= 4 {
        [0.0, 0.5 * PI, 0.25 * PI, 0.75 * PI][i as usize]
    } else {
        f64::from(i) * PI / f64::from(d)
    }
}

/// Expected punctures per m² per pass from the device kinematics, without randomness or edge
/// effects:
///
/// * roller: `N / (π·D·W·(1 − overlap))` (one drum revolution puts N needles on π·D·W);
/// * pen: `f·N / (v·w·(1 − overlap))` (f·N punctures per second over a track of width w swept at
///   glide speed v);
/// * stamp: `1 / (pitch²·(1 − overlap)²)` (presses tiled at the footprint, overlapping both ways).
///
/// The inputs are not validated here; invalid ones give a meaningless (possibly non-finite)
/// number, and [`generate`] rejects them.
pub fn expected_density_per_pass_m2(device: &Device, technique: &Technique) -> f64 {
    let keep = 1.0 - technique.overlap;
    match device {
        Device::Roller(r) => {
            f64::from(r.needle_count)
                / (std::f64::consts::PI * r.drum_diameter_m * r.drum_width_m * keep)
        }
        Device::Pen(p) => {
            p.stroke_rate_hz * f64::from(p.needle_count)
                / (technique.speed_m_s * p.head_diameter_m * keep)
        }
        Device::Stamp(s) => 1.0 / (s.pitch_m * s.pitch_m * keep * keep),
    }
}

/// Punctures per second while the device works: `N·f` for a pen (VT-02: 11 needles at 90 Hz
/// make 990 per second), `N·v/(π·D)` for a roller, `rows·cols·presses_per_s` for a stamp.
pub fn puncture_rate_hz(device: &Device, technique: &Technique) -> f64 {
    match device {
        Device::Roller(r) => {
            f64::from(r.needle_count) * technique.speed_m_s
                / (std::f64::consts::PI * r.drum_diameter_m)
        }
        Device::Pen(p) => f64::from(p.needle_count) * p.stroke_rate_hz,
        Device::Stamp(s) => f64::from(s.rows) * f64::from(s.cols) * technique.presses_per_s,
    }
}

/// What a session will cost, from the stroke plan alone (no punctures are made).
#[derive(Clone, Debug, PartialEq)]
pub struct SessionEstimate {
    /// Expected punctures: expected density per pass x passes x zone area.
    pub expected_punctures: f64,
    /// Needling time, s: equal to [`generate`]'s for rollers and pens; for stamps it counts every
    /// press whose nominal footprint overlaps the zone's extent along the stroke (generate counts
    /// only presses that put a needle in the zone, so this is slightly longer).
    pub needling_time_s: f64,
    /// Number of strokes over all passes.
    pub strokes: u64,
}

/// One stroke of the plan, in its pass's frame.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stroke {
    pub pass: u32,
    /// Index among the strokes of its pass (selects its random stream).
    pub index: u32,
    /// Lateral position of the track centre, m.
    pub v: f64,
    /// Extent of the zone along the stroke inside the stroke's band, m (`u0 <= u1`).
    pub u0: f64,
    pub u1: f64,
    /// Whether the stroke runs from `u1` back to `u0`.
    pub reverse: bool,
}

/// What a device does along one stroke.
pub(crate) trait StrokeModel: Sync {
    /// Width of the track one stroke covers; tracks are spaced `width·(1 − overlap)`, m.
    fn track_width_m(&self) -> f64;
    /// Half-width of the band around the track centre in which the stroke can puncture, m.
    fn half_band_m(&self) -> f64;
    /// Upper bound on the punctures (before clipping to the shape) of a stroke whose zone extent
    /// is `len_m` long.
    fn raw_bound(&self, len_m: f64) -> f64;
    /// Duration of a stroke whose zone extent is `len_m` long, s, without making it.
    fn nominal_duration_s(&self, len_m: f64) -> f64;
    /// Makes the stroke: appends its punctures (inside `shape`, times from the stroke's start)
    /// to `out` and returns the stroke's duration, s.
    fn fill(
        &self,
        stroke: &Stroke,
        frame: &Frame,
        shape: &Shape,
        depth_m: f64,
        rng: &mut Pcg64Mcg,
        out: &mut Vec<Puncture>,
    ) -> f64;
}

/// `x <= limit`, false for NaN (so a NaN count fails the guards).
fn at_most(x: f64, limit: f64) -> bool {
    matches!(
        x.partial_cmp(&limit),
        Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
    )
}

fn inconsistent(msg: String) -> DeviceError {
    DeviceError::Inconsistent(msg)
}

fn check_positive(what: &str, x: f64) -> Result<(), DeviceError> {
    if x.is_finite() && x > 0.0 {
        Ok(())
    } else {
        Err(inconsistent(format!(
            "{what} must be positive and finite, got {x}"
        )))
    }
}

fn check_count(what: &str, n: u64) -> Result<(), DeviceError> {
    if (1..=u64::from(MAX_NEEDLES)).contains(&n) {
        Ok(())
    } else {
        Err(inconsistent(format!(
            "{what} must be between 1 and {MAX_NEEDLES}, got {n}"
        )))
    }
}

/// Checks the device and technique and prepares the device's stroke model.
fn model(
    device: &Device,
    technique: &Technique,
    dp: &DeviceParams,
) -> Result<Box<dyn StrokeModel>, DeviceError> {
    let needle = device.needle();
    for (what, x) in [
        ("needle length (depth setting)", needle.length_m),
        ("needle diameter", needle.diameter_m),
        ("needle tip angle", needle.tip_angle_rad),
    ] {
        if !(x.is_finite() && x >= 0.0) {
            return Err(inconsistent(format!(
                "{what} must be finite and non-negative, got {x}"
            )));
        }
    }
    let o = technique.overlap;
    if !(0.0..1.0).contains(&o) {
        return Err(inconsistent(format!("overlap must be in [0, 1), got {o}")));
    }
    if technique.directions == 0 {
        return Err(inconsistent(
            "the number of stroke directions must be at least 1".into(),
        ));
    }
    let turn = technique.turnaround_s;
    if !(turn.is_finite() && turn >= 0.0) {
        return Err(inconsistent(format!(
            "turnaround time must be finite and non-negative, got {turn}"
        )));
    }
    Ok(match device {
        Device::Roller(r) => {
            check_positive("drum diameter", r.drum_diameter_m)?;
            check_positive("drum width", r.drum_width_m)?;
            check_count("roller needle count", r.needle_count.into())?;
            check_count("roller rows", r.rows.into())?;
            if r.rows > r.needle_count {
                return Err(inconsistent(format!(
                    "a roller with {} needles cannot have {} rows",
                    r.needle_count, r.rows
                )));
            }
            check_positive("rolling speed", technique.speed_m_s)?;
            Box::new(RollerModel::new(r, technique.speed_m_s))
        }
        Device::Pen(p) => {
            check_count("cartridge needle count", p.needle_count.into())?;
            if let CartridgeLayout::Grid { rows } = p.layout {
                check_count("cartridge grid rows", rows.into())?;
            }
            check_positive("head diameter", p.head_diameter_m)?;
            check_positive("stroke rate", p.stroke_rate_hz)?;
            check_positive("glide speed", technique.speed_m_s)?;
            let (lo, hi, d) = (p.min_depth_m, p.max_depth_m, needle.length_m);
            if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
                return Err(inconsistent(format!(
                    "pen depth range {lo}..{hi} m is invalid"
                )));
            }
            let tol = 1e-9 * hi.abs().max(1e-3);
            if d < lo - tol || d > hi + tol {
                return Err(inconsistent(format!(
                    "depth setting {d} m is outside the pen's range {lo}..{hi} m"
                )));
            }
            Box::new(PenModel::new(p, technique.speed_m_s))
        }
        Device::Stamp(s) => {
            check_count("stamp rows", s.rows.into())?;
            check_count("stamp columns", s.cols.into())?;
            check_count("stamp needles", u64::from(s.rows) * u64::from(s.cols))?;
            check_positive("stamp pitch", s.pitch_m)?;
            check_positive("presses per second", technique.presses_per_s)?;
            Box::new(StampModel::new(
                s,
                o,
                technique.presses_per_s,
                dp.press_jitter_fraction,
            ))
        }
    })
}

/// A checked, planned session: frames per pass and the strokes in order.
struct Plan<'a> {
    outline: Outline<'a>,
    model: Box<dyn StrokeModel>,
    frames: Vec<Frame>,
    strokes: Vec<Stroke>,
    expected_density_per_pass_m2: f64,
}

fn plan<'a>(
    device: &Device,
    zone: &'a Zone,
    technique: &Technique,
    seed: u64,
    dp: &DeviceParams,
) -> Result<Plan<'a>, DeviceError> {
    let outline = Outline::new(&zone.shape)?;
    let model = model(device, technique, dp)?;
    let density = expected_density_per_pass_m2(device, technique);
    let passes = technique.passes;

    // Guards, before anything is allocated.
    let expected = density * f64::from(passes) * outline.area_m2;
    if !at_most(expected, MAX_PUNCTURES as f64) {
        return Err(DeviceError::TooManyPunctures {
            count: if expected.is_nan() {
                u64::MAX
            } else {
                expected as u64
            },
            limit: MAX_PUNCTURES,
        });
    }
    let width = model.track_width_m();
    let spacing = width * (1.0 - technique.overlap);
    let sigma = dp.track_jitter_fraction * width;
    let half_band = model.half_band_m();
    let reach = half_band + 4.0 * sigma;
    let tracks_per_pass = (2.0 * outline.radius + 2.0 * reach) / spacing + 2.0;
    if !at_most(tracks_per_pass * f64::from(passes), MAX_STROKES as f64) {
        return Err(inconsistent(format!(
            "the session would need about {:.3e} strokes, more than the limit of {MAX_STROKES}; \
             the device is too narrow for the zone",
            tracks_per_pass * f64::from(passes)
        )));
    }

    let per_pass: Vec<(Frame, Vec<Stroke>)> = (0..passes)
        .into_par_iter()
        .map(|pass| {
            let mut rng = stream(seed, &[u64::from(pass), tag::PASS_FRAME]);
            let z: f64 = rng.sample(StandardNormal);
            let angle =
                stroke_direction_rad(pass, technique.directions) + dp.direction_jitter_sd * z;
            let frame = Frame::new(outline.centre, angle);
            let framed = FramedOutline::new(&outline, &frame);
            let start = framed.v_min - reach;
            let phase: f64 = rng.random();
            let n = ((framed.v_max + reach - start) / spacing - phase).floor() + 1.0;
            let n = if n > 0.0 { n as u64 } else { 0 };
            let mut strokes = Vec::new();
            for j in 0..n {
                let z: f64 = rng.sample(StandardNormal);
                let v = start + (phase + j as f64) * spacing + sigma * z;
                if let Some((u0, u1)) = framed.band_extent(v - half_band, v + half_band) {
                    let index = strokes.len() as u32;
                    strokes.push(Stroke {
                        pass,
                        index,
                        v,
                        u0,
                        u1,
                        reverse: index % 2 == 1,
                    });
                }
            }
            (frame, strokes)
        })
        .collect();
    let mut frames = Vec::with_capacity(per_pass.len());
    let mut strokes = Vec::with_capacity(per_pass.iter().map(|p| p.1.len()).sum());
    for (frame, s) in per_pass {
        frames.push(frame);
        strokes.extend(s);
    }
    Ok(Plan {
        outline,
        model,
        frames,
        strokes,
        expected_density_per_pass_m2: density,
    })
}

/// Estimates a session (expected punctures, needling time, strokes) from the stroke plan alone,
/// without making punctures: cheap enough for a planner (about 0.15 ms for a full face).
pub fn estimate(
    device: &Device,
    zone: &Zone,
    technique: &Technique,
    seed: u64,
) -> Result<SessionEstimate, DeviceError> {
    estimate_with(device, zone, technique, seed, &DeviceParams::default())
}

/// [`estimate`] with the device parameters `dp` (the hand-placement jitters).
pub fn estimate_with(
    device: &Device,
    zone: &Zone,
    technique: &Technique,
    seed: u64,
    dp: &DeviceParams,
) -> Result<SessionEstimate, DeviceError> {
    let plan = plan(device, zone, technique, seed, dp)?;
    let needling_time_s = plan
        .strokes
        .iter()
        .map(|s| {
            let d = plan.model.nominal_duration_s(s.u1 - s.u0);
            if d > 0.0 {
                d + technique.turnaround_s
            } else {
                0.0
            }
        })
        .sum();
    Ok(SessionEstimate {
        expected_punctures: plan.expected_density_per_pass_m2
            * f64::from(technique.passes)
            * plan.outline.area_m2,
        needling_time_s,
        strokes: plan.strokes.len() as u64,
    })
}

/// Generates the punctures of `device` moved over `zone` with `technique`.
///
/// Every puncture lies inside the zone's shape; punctures are ordered by time (pass by pass,
/// stroke by stroke); times run from the start of the first pass, counting each stroke's
/// duration plus `technique.turnaround_s` after each stroke that took time. The nominal depth of
/// every puncture is `needle.length_m` (the depth setting for pens).
///
/// Errors: [`DeviceError::EmptyZone`] for zero-area or degenerate shapes;
/// [`DeviceError::Inconsistent`] for non-finite or non-positive sizes, speeds and rates, overlap
/// outside [0, 1), zero directions, a roller with more rows than needles, a pen depth setting
/// outside its range, more than [`MAX_NEEDLES`] needles or [`MAX_STROKES`] strokes;
/// [`DeviceError::TooManyPunctures`] when the expected count (or the count before clipping to
/// the shape) exceeds [`MAX_PUNCTURES`]. `passes == 0` gives an empty set.
///
/// The result is bitwise identical for any number of rayon threads.
pub fn generate(
    device: &Device,
    zone: &Zone,
    technique: &Technique,
    seed: u64,
) -> Result<PunctureSet, DeviceError> {
    generate_with(device, zone, technique, seed, &DeviceParams::default())
}

/// [`generate`] with the device parameters `dp`: the registry's `device` group (the
/// hand-placement jitters `track_jitter_fraction`, `direction_jitter_sd` and
/// `press_jitter_fraction`), e.g. a scenario's `params.device`.
pub fn generate_with(
    device: &Device,
    zone: &Zone,
    technique: &Technique,
    seed: u64,
    dp: &DeviceParams,
) -> Result<PunctureSet, DeviceError> {
    let plan = plan(device, zone, technique, seed, dp)?;
    let raw: f64 = plan
        .strokes
        .iter()
        .map(|s| plan.model.raw_bound(s.u1 - s.u0))
        .sum();
    if !at_most(raw, MAX_PUNCTURES as f64) {
        return Err(DeviceError::TooManyPunctures {
            count: if raw.is_nan() { u64::MAX } else { raw as u64 },
            limit: MAX_PUNCTURES,
        });
    }
    let depth = device.needle().length_m;
    let shape = plan.outline.shape;
    // Makes one stroke into `out` (cleared first) from the stroke's own stream.
    let make = |s: &Stroke, out: &mut Vec<Puncture>| -> f64 {
        out.clear();
        let mut rng = stream(
            seed,
            &[u64::from(s.pass), tag::FIRST_STROKE + u64::from(s.index)],
        );
        let frame = &plan.frames[s.pass as usize];
        plan.model.fill(s, frame, shape, depth, &mut rng, out)
    };

    // Two sweeps over the strokes: the first counts punctures and times strokes in a per-thread
    // scratch buffer, the second remakes each stroke (same stream, same result) and copies it
    // into its slice of the output. Remaking is cheaper than keeping every stroke's punctures:
    // the output is then the only large buffer touched.
    let counted: Vec<(usize, f64)> = plan
        .strokes
        .par_iter()
        .map_init(Vec::new, |scratch, s| {
            let duration = make(s, scratch);
            (scratch.len(), duration)
        })
        .collect();

    // Stroke start times, in plan order (sequential, so independent of scheduling).
    let mut starts = Vec::with_capacity(counted.len());
    let mut clock = 0.0;
    for &(_, duration) in &counted {
        starts.push(clock);
        if duration > 0.0 {
            clock += duration + technique.turnaround_s;
        }
    }
    if !clock.is_finite() {
        return Err(inconsistent(format!(
            "the needling time is not finite ({clock} s); check speeds and rates"
        )));
    }

    let total = counted.iter().map(|c| c.0).sum();
    let blank = Puncture {
        x_m: 0.0,
        y_m: 0.0,
        t_s: 0.0,
        nominal_depth_m: depth,
        pass: 0,
    };
    let mut punctures = vec![blank; total];
    let mut slices = Vec::with_capacity(counted.len());
    let mut rest = punctures.as_mut_slice();
    for &(n, _) in &counted {
        let (head, tail) = rest.split_at_mut(n);
        slices.push(head);
        rest = tail;
    }
    slices
        .into_par_iter()
        .zip(plan.strokes.par_iter())
        .zip(starts.par_iter())
        .for_each_init(Vec::new, |scratch, ((dst, s), &t0)| {
            make(s, scratch);
            for (d, p) in dst.iter_mut().zip(scratch.iter()) {
                *d = Puncture {
                    t_s: p.t_s + t0,
                    ..*p
                };
            }
        });

    Ok(PunctureSet {
        zone_area_m2: plan.outline.area_m2,
        insertion: device.insertion_mode(),
        needle: device.needle().clone(),
        needling_time_s: clock,
        expected_density_per_pass_m2: plan.expected_density_per_pass_m2,
        punctures,
    })
}
