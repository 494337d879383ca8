//! Stamp kinematics: a flat needle plate pressed again and again along a row of presses.
//!
//! Model (documented in `docs/MODEL.md (Devices)`): the plate carries `rows x cols` needles at
//! `pitch`; its footprint is `cols·pitch` along the stroke and `rows·pitch` across it, so presses
//! tiled at one footprint spacing (overlap 0) give exactly `1/pitch²` punctures per m². Presses
//! sit on a lattice along the stroke spaced `cols·pitch·(1 − overlap)`, with a random phase per
//! stroke and independent Gaussian hand-placement jitter per press (see
//! [`PRESS_JITTER_FRACTION`]). A press that puts no needle inside the zone is not made (no
//! time); the others follow each other at `presses_per_s`.

use rand::RngExt;
use rand_distr::StandardNormal;
use rand_pcg::Pcg64Mcg;

use super::generate::{Stroke, StrokeModel};
use super::geometry::Frame;
use super::zone::Shape;
use super::{Puncture, Stamp};

/// Standard deviation of the placement of each press, as a fraction of the footprint in each
/// direction. Assumed (no measurement found): a hand repositioning a 1 cm stamp misses the
/// intended spot by about a millimetre.
pub const PRESS_JITTER_FRACTION: f64 = 0.1;

/// A stamp prepared for stroke generation.
pub(crate) struct StampModel {
    layout: Vec<[f64; 2]>,
    along_m: f64,
    across_m: f64,
    spacing_m: f64,
    sigma_along_m: f64,
    sigma_across_m: f64,
    presses_per_s: f64,
}

impl StampModel {
    /// `stamp`, `overlap` and `presses_per_s` must already be validated; `jitter` is the SD of
    /// each press's placement as a fraction of the footprint ([`PRESS_JITTER_FRACTION`] unless
    /// `[params.device] press_jitter_fraction` says otherwise).
    pub fn new(stamp: &Stamp, overlap: f64, presses_per_s: f64, jitter: f64) -> Self {
        let along_m = f64::from(stamp.cols) * stamp.pitch_m;
        let across_m = f64::from(stamp.rows) * stamp.pitch_m;
        let layout = (0..stamp.rows)
            .flat_map(|r| {
                (0..stamp.cols).map(move |c| {
                    [
                        (f64::from(c) - 0.5 * f64::from(stamp.cols - 1)) * stamp.pitch_m,
                        (f64::from(r) - 0.5 * f64::from(stamp.rows - 1)) * stamp.pitch_m,
                    ]
                })
            })
            .collect();
        StampModel {
            layout,
            along_m,
            across_m,
            spacing_m: along_m * (1.0 - overlap),
            sigma_along_m: jitter * along_m,
            sigma_across_m: jitter * across_m,
            presses_per_s,
        }
    }

    /// How far before and after the zone's extent presses are considered: half a footprint plus
    /// four jitter standard deviations.
    fn margin_m(&self) -> f64 {
        0.5 * self.along_m + 4.0 * self.sigma_along_m
    }
}

impl StrokeModel for StampModel {
    fn track_width_m(&self) -> f64 {
        self.across_m
    }

    fn half_band_m(&self) -> f64 {
        0.5 * self.across_m + 4.0 * self.sigma_across_m
    }

    fn raw_bound(&self, len_m: f64) -> f64 {
        self.layout.len() as f64 * ((len_m + 2.0 * self.margin_m()) / self.spacing_m + 1.0)
    }

    fn nominal_duration_s(&self, len_m: f64) -> f64 {
        ((len_m + self.along_m) / self.spacing_m).ceil() / self.presses_per_s
    }

    fn fill(
        &self,
        stroke: &Stroke,
        frame: &Frame,
        shape: &Shape,
        depth_m: f64,
        rng: &mut Pcg64Mcg,
        out: &mut Vec<Puncture>,
    ) -> f64 {
        let margin = self.margin_m();
        let span = stroke.u1 - stroke.u0 + 2.0 * margin;
        let phase: f64 = rng.random();
        let n = (span / self.spacing_m - phase).floor() + 1.0;
        let n = if n > 0.0 { n as u64 } else { 0 };
        let mut made = 0u64;
        for q in 0..n {
            let d = (phase + q as f64) * self.spacing_m;
            let ju: f64 = rng.sample(StandardNormal);
            let jv: f64 = rng.sample(StandardNormal);
            let centre_u = if stroke.reverse {
                stroke.u1 + margin - d
            } else {
                stroke.u0 - margin + d
            } + self.sigma_along_m * ju;
            let centre_v = stroke.v + self.sigma_across_m * jv;
            let t = made as f64 / self.presses_per_s;
            let before = out.len();
            for &[du, dv] in &self.layout {
                let (x, y) = frame.to_zone(centre_u + du, centre_v + dv);
                if shape.contains(x, y) {
                    out.push(Puncture {
                        x_m: x,
                        y_m: y,
                        t_s: t,
                        nominal_depth_m: depth_m,
                        pass: stroke.pass,
                    });
                }
            }
            if out.len() > before {
                made += 1;
            }
        }
        made as f64 / self.presses_per_s
    }
}
