//! Automated pen kinematics: a reciprocating cartridge glided along a stroke.
//!
//! Model (documented in `docs/MODEL.md (Devices)`): the head centre moves at the glide speed `v`
//! along the stroke; the motor fires all `N` needles together `f` times a second, so actuation `k`
//! happens at `t = (φ + k)/f` (random phase `φ` per stroke) with the head centre at `v·t` along
//! the stroke. Each actuation punctures at the cartridge layout's offsets around the head centre.
//! The head centre runs from half a head diameter before the zone's extent in the stroke's band to
//! half a head diameter past it, so every needle sweeps the whole extent.

use rand::RngExt;
use rand_pcg::Pcg64Mcg;

use super::generate::{Stroke, StrokeModel};
use super::geometry::Frame;
use super::zone::Shape;
use super::{CartridgeLayout, Pen, Puncture};

/// A pen prepared for stroke generation.
pub(crate) struct PenModel {
    /// Needle offsets `(along, across)` the stroke from the head centre, m.
    layout: Vec<[f64; 2]>,
    head_m: f64,
    rate_hz: f64,
    speed_m_s: f64,
}

impl PenModel {
    /// `pen` and `speed_m_s` must already be validated (positive, finite, grid rows >= 1).
    pub fn new(pen: &Pen, speed_m_s: f64) -> Self {
        PenModel {
            layout: cartridge_layout(pen.needle_count, &pen.layout, pen.head_diameter_m),
            head_m: pen.head_diameter_m,
            rate_hz: pen.stroke_rate_hz,
            speed_m_s,
        }
    }
}

/// Needle offsets `(along, across)` the stroke direction, m, for a cartridge of `n` needles on a
/// head of diameter `d`.
///
/// * `Round`: one centre needle and `M` concentric rings at radii `(d/2)·m/M`, `M` the smallest
///   number of rings whose hexagonal-packing capacity `1 + 3M(M+1)` holds `n`; the `n − 1` outer
///   needles are shared among the rings in proportion to their circumference (largest remainder),
///   odd rings turned by half a needle spacing.
/// * `Grid { rows }`: `rows` rows stacked along the stroke, filled in order with
///   `ceil(n/rows)` needles each (the last row may hold fewer), every row spread evenly across
///   the head's width, all inside the `d x d` square.
pub(crate) fn cartridge_layout(n: u32, layout: &CartridgeLayout, d: f64) -> Vec<[f64; 2]> {
    let r = 0.5 * d;
    match layout {
        CartridgeLayout::Round => {
            if n <= 1 {
                return vec![[0.0, 0.0]; n as usize];
            }
            let n = u64::from(n);
            let mut rings = 1u64;
            while 1 + 3 * rings * (rings + 1) < n {
                rings += 1;
            }
            let outer = n - 1;
            let total_weight = rings * (rings + 1) / 2;
            let mut counts: Vec<u64> = (1..=rings).map(|m| outer * m / total_weight).collect();
            let mut left = outer - counts.iter().sum::<u64>();
            // Largest remainder, ties to the outer rings.
            let mut order: Vec<u64> = (1..=rings).collect();
            order.sort_by_key(|&m| {
                (
                    std::cmp::Reverse((outer * m) % total_weight),
                    std::cmp::Reverse(m),
                )
            });
            for m in order {
                if left == 0 {
                    break;
                }
                counts[(m - 1) as usize] += 1;
                left -= 1;
            }
            let mut out = vec![[0.0, 0.0]];
            for (i, &c) in counts.iter().enumerate() {
                let m = i as u64 + 1;
                let radius = r * m as f64 / rings as f64;
                let turn = if m % 2 == 1 { 0.5 } else { 0.0 };
                for j in 0..c {
                    let a = 2.0 * std::f64::consts::PI * (j as f64 + turn) / c as f64;
                    out.push([radius * a.cos(), radius * a.sin()]);
                }
            }
            out
        }
        CartridgeLayout::Grid { rows } => {
            let rows = (*rows).max(1);
            let cols = n.div_ceil(rows);
            let used_rows = n.div_ceil(cols.max(1));
            (0..n)
                .map(|i| {
                    let row = i / cols;
                    let col = i % cols;
                    let in_row = (n - row * cols).min(cols);
                    [
                        -r + (f64::from(row) + 0.5) * d / f64::from(used_rows),
                        -r + (f64::from(col) + 0.5) * d / f64::from(in_row),
                    ]
                })
                .collect()
        }
    }
}

impl StrokeModel for PenModel {
    fn track_width_m(&self) -> f64 {
        self.head_m
    }

    fn half_band_m(&self) -> f64 {
        0.5 * self.head_m
    }

    fn raw_bound(&self, len_m: f64) -> f64 {
        self.layout.len() as f64 * ((len_m + self.head_m) * self.rate_hz / self.speed_m_s + 1.0)
    }

    fn nominal_duration_s(&self, len_m: f64) -> f64 {
        (len_m + self.head_m) / self.speed_m_s
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
        let span = stroke.u1 - stroke.u0 + self.head_m;
        let step = self.speed_m_s / self.rate_hz;
        let phase: f64 = rng.random();
        let n = (span / step - phase).floor() + 1.0;
        let n = if n > 0.0 { n as u64 } else { 0 };
        let r = 0.5 * self.head_m;
        for k in 0..n {
            let beats = phase + k as f64;
            let d = beats * step;
            let centre = if stroke.reverse {
                stroke.u1 + r - d
            } else {
                stroke.u0 - r + d
            };
            let t = beats / self.rate_hz;
            for &[du, dv] in &self.layout {
                let (x, y) = frame.to_zone(centre + du, stroke.v + dv);
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
        }
        span / self.speed_m_s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_hold_every_needle_inside_the_head() {
        for n in [1, 9, 11, 12, 14, 16, 24, 36, 42] {
            let round = cartridge_layout(n, &CartridgeLayout::Round, 0.008);
            assert_eq!(round.len(), n as usize);
            assert!(round.iter().all(|p| p[0].hypot(p[1]) <= 0.004 + 1e-12));
            for rows in [1, 2, 3, 7, 50] {
                let grid = cartridge_layout(n, &CartridgeLayout::Grid { rows }, 0.008);
                assert_eq!(grid.len(), n as usize);
                assert!(
                    grid.iter()
                        .all(|p| p[0].abs() < 0.004 && p[1].abs() < 0.004)
                );
            }
        }
    }
}
