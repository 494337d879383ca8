//! Plane geometry for the puncture generator: zone outlines, stroke frames and the extent of a
//! zone inside a band (the part of the zone one stroke has to cover).
//!
//! Owns no randomness and knows nothing about devices. Membership tests stay with
//! [`Shape::contains`]; the outline here is only used to find where strokes start and end, so it
//! may be slightly larger than the shape (an ellipse becomes a circumscribed polygon) but never
//! smaller.

use super::DeviceError;
use super::zone::Shape;

/// Number of vertices of the polygon circumscribed about an elliptic zone. Its outline lies at
/// most `1/cos(π/256) − 1 ≈ 7.5e-5` of the semi-axis outside the ellipse, so strokes run at most
/// that much past the ellipse (about 8 µm on a 20 cm face).
const ELLIPSE_VERTICES: usize = 256;

/// A validated zone outline: the shape plus a polygon that contains it.
#[derive(Clone, Debug)]
pub(crate) struct Outline<'a> {
    pub shape: &'a Shape,
    /// Polygon containing the shape (equal to it for rectangles and polygons), m.
    pub vertices: Vec<[f64; 2]>,
    /// Centre of the vertex bounding box, m; stroke frames are centred here.
    pub centre: [f64; 2],
    /// Largest distance from `centre` to a vertex, m.
    pub radius: f64,
    /// Area of the shape, m².
    pub area_m2: f64,
}

impl<'a> Outline<'a> {
    /// Checks the shape and builds its outline.
    ///
    /// Non-finite dimensions are [`DeviceError::Inconsistent`]; zero or negative sizes, polygons
    /// with fewer than three vertices and zero-area polygons are [`DeviceError::EmptyZone`].
    pub fn new(shape: &'a Shape) -> Result<Self, DeviceError> {
        let vertices: Vec<[f64; 2]> = match shape {
            Shape::Rectangle { width_m, height_m } | Shape::Ellipse { width_m, height_m } => {
                let (w, h) = (*width_m, *height_m);
                if !w.is_finite() || !h.is_finite() {
                    return Err(DeviceError::Inconsistent(format!(
                        "zone size must be finite, got {w} m x {h} m"
                    )));
                }
                if w <= 0.0 || h <= 0.0 {
                    return Err(DeviceError::EmptyZone(format!(
                        "zone size is {w} m x {h} m; both must be positive"
                    )));
                }
                if matches!(shape, Shape::Rectangle { .. }) {
                    vec![[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]]
                } else {
                    let (a, b) = (w / 2.0, h / 2.0);
                    let n = ELLIPSE_VERTICES;
                    let grow = 1.0 / (std::f64::consts::PI / n as f64).cos();
                    (0..n)
                        .map(|i| {
                            let phi = 2.0 * std::f64::consts::PI * i as f64 / n as f64;
                            [a + a * grow * phi.cos(), b + b * grow * phi.sin()]
                        })
                        .collect()
                }
            }
            Shape::Polygon { vertices_m } => {
                if vertices_m.len() < 3 {
                    return Err(DeviceError::EmptyZone(format!(
                        "a polygon needs at least 3 vertices, got {}",
                        vertices_m.len()
                    )));
                }
                if vertices_m.iter().flatten().any(|c| !c.is_finite()) {
                    return Err(DeviceError::Inconsistent(
                        "polygon vertices must be finite".to_string(),
                    ));
                }
                vertices_m.clone()
            }
        };
        let area_m2 = shape.area_m2();
        if !area_m2.is_finite() {
            return Err(DeviceError::Inconsistent(format!(
                "zone area is not finite ({area_m2} m²)"
            )));
        }
        if area_m2 <= 0.0 {
            return Err(DeviceError::EmptyZone(format!(
                "zone area is {area_m2} m² (degenerate shape)"
            )));
        }
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for v in &vertices {
            x0 = x0.min(v[0]);
            y0 = y0.min(v[1]);
            x1 = x1.max(v[0]);
            y1 = y1.max(v[1]);
        }
        let centre = [0.5 * x0 + 0.5 * x1, 0.5 * y0 + 0.5 * y1];
        let radius = vertices
            .iter()
            .map(|v| (v[0] - centre[0]).hypot(v[1] - centre[1]))
            .fold(0.0, f64::max);
        if !radius.is_finite() {
            return Err(DeviceError::Inconsistent(
                "zone extent is too large to represent".to_string(),
            ));
        }
        Ok(Outline {
            shape,
            vertices,
            centre,
            radius,
            area_m2,
        })
    }
}

/// The frame of one pass: `u` runs along the strokes, `v` across them; both centred on the
/// zone's outline centre.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Frame {
    pub centre: [f64; 2],
    pub cos: f64,
    pub sin: f64,
}

impl Frame {
    /// A frame whose `u` axis points at `angle_rad` from the zone's x axis.
    pub fn new(centre: [f64; 2], angle_rad: f64) -> Self {
        Frame {
            centre,
            cos: angle_rad.cos(),
            sin: angle_rad.sin(),
        }
    }

    /// Zone coordinates of the frame point `(u, v)`.
    #[inline]
    pub fn to_zone(self, u: f64, v: f64) -> (f64, f64) {
        (
            self.centre[0] + u * self.cos - v * self.sin,
            self.centre[1] + u * self.sin + v * self.cos,
        )
    }

    /// Frame coordinates of the zone point `p`.
    #[inline]
    pub fn to_frame(self, p: [f64; 2]) -> [f64; 2] {
        let (dx, dy) = (p[0] - self.centre[0], p[1] - self.centre[1]);
        [
            dx * self.cos + dy * self.sin,
            -dx * self.sin + dy * self.cos,
        ]
    }
}

/// An outline expressed in one pass frame.
pub(crate) struct FramedOutline {
    /// Vertices in frame coordinates `(u, v)`.
    pub uv: Vec<[f64; 2]>,
    pub v_min: f64,
    pub v_max: f64,
}

impl FramedOutline {
    pub fn new(outline: &Outline<'_>, frame: &Frame) -> Self {
        let uv: Vec<[f64; 2]> = outline
            .vertices
            .iter()
            .map(|&p| frame.to_frame(p))
            .collect();
        let v_min = uv.iter().map(|p| p[1]).fold(f64::INFINITY, f64::min);
        let v_max = uv.iter().map(|p| p[1]).fold(f64::NEG_INFINITY, f64::max);
        FramedOutline { uv, v_min, v_max }
    }

    /// The range of `u` over the part of the outline polygon with `va <= v <= vb`, or `None` if
    /// the band misses it.
    ///
    /// A linear function on the intersection of a polygon and a band is extreme at a vertex of
    /// the intersection, and those vertices are polygon vertices inside the band or crossings of
    /// polygon edges with the two band lines; this holds for concave polygons too.
    pub fn band_extent(&self, va: f64, vb: f64) -> Option<(f64, f64)> {
        if vb < self.v_min || va > self.v_max {
            return None;
        }
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        let n = self.uv.len();
        for i in 0..n {
            let p = self.uv[i];
            let q = self.uv[(i + 1) % n];
            if p[1] >= va && p[1] <= vb {
                lo = lo.min(p[0]);
                hi = hi.max(p[0]);
            }
            for line in [va, vb] {
                if (p[1] - line) * (q[1] - line) < 0.0 {
                    let u = p[0] + (q[0] - p[0]) * (line - p[1]) / (q[1] - p[1]);
                    lo = lo.min(u);
                    hi = hi.max(u);
                }
            }
        }
        (lo <= hi).then_some((lo, hi))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_extent_of_rotated_square() {
        let shape = Shape::Rectangle {
            width_m: 2.0,
            height_m: 2.0,
        };
        let outline = Outline::new(&shape).unwrap();
        let frame = Frame::new(outline.centre, std::f64::consts::FRAC_PI_4);
        let framed = FramedOutline::new(&outline, &frame);
        let r = 2f64.sqrt();
        assert!((framed.v_max - r).abs() < 1e-12);
        let (lo, hi) = framed.band_extent(-0.1, 0.1).unwrap();
        assert!((lo + r).abs() < 1e-12 && (hi - r).abs() < 1e-12);
        let (lo, hi) = framed.band_extent(0.5 * r, 2.0 * r).unwrap();
        assert!((lo + 0.5 * r).abs() < 1e-12 && (hi - 0.5 * r).abs() < 1e-12);
        assert!(framed.band_extent(1.5, 2.0).is_none());
    }

    #[test]
    fn ellipse_outline_contains_ellipse() {
        let shape = Shape::Ellipse {
            width_m: 0.2,
            height_m: 0.1,
        };
        let outline = Outline::new(&shape).unwrap();
        let frame = Frame::new(outline.centre, 0.0);
        let framed = FramedOutline::new(&outline, &frame);
        let (lo, hi) = framed.band_extent(-1e-6, 1e-6).unwrap();
        assert!(lo <= -0.1 && lo > -0.1 - 1e-4);
        assert!((0.1..0.1 + 1e-4).contains(&hi));
    }

    #[test]
    fn degenerate_zones_are_rejected() {
        let flat = Shape::Rectangle {
            width_m: 0.0,
            height_m: 1.0,
        };
        assert!(matches!(
            Outline::new(&flat),
            Err(DeviceError::EmptyZone(_))
        ));
        let line = Shape::Polygon {
            vertices_m: vec![[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]],
        };
        assert!(matches!(
            Outline::new(&line),
            Err(DeviceError::EmptyZone(_))
        ));
        let inf = Shape::Ellipse {
            width_m: f64::INFINITY,
            height_m: 1.0,
        };
        assert!(matches!(
            Outline::new(&inf),
            Err(DeviceError::Inconsistent(_))
        ));
        let huge = Shape::Rectangle {
            width_m: 1e300,
            height_m: 1e300,
        };
        assert!(Outline::new(&huge).is_err());
    }
}
