//! Drum roller kinematics: which needles touch the skin where, as the drum rolls along a stroke.
//!
//! Model (documented in `docs/MODEL.md (Devices)`): the drum of diameter `D` and width `W` carries
//! `rows` rows of needles evenly spaced around its circumference; the `needle_count` needles are
//! shared among the rows as evenly as integers allow (MF8: 8 rows of 24). Within a row the needles
//! sit evenly across the width; even rows are shifted a quarter pitch one way and odd rows a
//! quarter pitch the other, so that neighbouring rows are staggered by half a pitch (assumed:
//! the MF8 description only says "8 rows"). Rolling without slip, row `k` touches the skin each
//! time the drum has rolled an arc `πD/rows` further: along the stroke the contacts are at
//! `s = φ + q·πD/rows`, q = 0, 1, …, with a random phase `φ` and starting row per stroke.

use rand::RngExt;
use rand_pcg::Pcg64Mcg;

use super::generate::{Stroke, StrokeModel};
use super::geometry::Frame;
use super::zone::Shape;
use super::{Puncture, Roller};

/// A roller prepared for stroke generation.
pub(crate) struct RollerModel {
    circumference_m: f64,
    width_m: f64,
    needle_count: u32,
    /// Lateral needle offsets (across the stroke, from the drum's centre) for each row, m.
    rows: Vec<Vec<f64>>,
    speed_m_s: f64,
}

impl RollerModel {
    /// `roller` and `speed_m_s` must already be validated (positive, finite, rows <= needles).
    pub fn new(roller: &Roller, speed_m_s: f64) -> Self {
        RollerModel {
            circumference_m: std::f64::consts::PI * roller.drum_diameter_m,
            width_m: roller.drum_width_m,
            needle_count: roller.needle_count,
            rows: row_offsets(roller.needle_count, roller.rows, roller.drum_width_m),
            speed_m_s,
        }
    }
}

/// Lateral offsets of the needles of each row across a drum of width `width_m`, staggered by half
/// a pitch between neighbouring rows.
pub(crate) fn row_offsets(needle_count: u32, rows: u32, width_m: f64) -> Vec<Vec<f64>> {
    let base = needle_count / rows;
    let extra = needle_count % rows;
    (0..rows)
        .map(|k| {
            let n = base + u32::from(k < extra);
            let pitch = width_m / f64::from(n.max(1));
            let shift = if k % 2 == 0 { 0.25 } else { 0.75 };
            (0..n)
                .map(|i| -0.5 * width_m + (f64::from(i) + shift) * pitch)
                .collect()
        })
        .collect()
}

impl StrokeModel for RollerModel {
    fn track_width_m(&self) -> f64 {
        self.width_m
    }

    fn half_band_m(&self) -> f64 {
        0.5 * self.width_m
    }

    fn raw_bound(&self, len_m: f64) -> f64 {
        f64::from(self.needle_count) * (len_m / self.circumference_m + 1.0)
    }

    fn nominal_duration_s(&self, len_m: f64) -> f64 {
        len_m / self.speed_m_s
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
        let len = stroke.u1 - stroke.u0;
        let n_rows = self.rows.len();
        let dq = self.circumference_m / n_rows as f64;
        let phase = rng.random::<f64>() * dq;
        let first_row = rng.random_range(0..n_rows);
        // Contacts q = 0..n with s = phase + q·dq <= len; bounded by the caller's count guard.
        let n = ((len - phase) / dq).floor() + 1.0;
        let n = if n > 0.0 { n as u64 } else { 0 };
        for q in 0..n {
            let s = phase + q as f64 * dq;
            let row = &self.rows[(first_row + (q % n_rows as u64) as usize) % n_rows];
            let u = if stroke.reverse {
                stroke.u1 - s
            } else {
                stroke.u0 + s
            };
            let t = s / self.speed_m_s;
            for &dv in row {
                let (x, y) = frame.to_zone(u, stroke.v + dv);
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
        len / self.speed_m_s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mf8_rows_are_staggered_and_inside_the_drum() {
        let rows = row_offsets(192, 8, 0.02);
        assert_eq!(rows.len(), 8);
        assert!(rows.iter().all(|r| r.len() == 24));
        assert!(rows.iter().flatten().all(|&d| d.abs() < 0.01));
        let pitch = 0.02 / 24.0;
        assert!((rows[1][0] - rows[0][0] - 0.5 * pitch).abs() < 1e-15);
        let uneven = row_offsets(10, 3, 0.01);
        assert_eq!(uneven.iter().map(Vec::len).sum::<usize>(), 10);
    }
}
