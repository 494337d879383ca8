//! Treatment zones: a named region of one site, with a planar shape.
//!
//! Coordinates are in metres in the zone's own frame; the shape's bounding box starts at (0, 0).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::skin::Site;

/// The outline of a zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "shape", rename_all = "snake_case")]
pub enum Shape {
    Rectangle {
        width_m: f64,
        height_m: f64,
    },
    /// An ellipse inscribed in a `width_m` x `height_m` box.
    Ellipse {
        width_m: f64,
        height_m: f64,
    },
    /// A simple polygon (vertices in order, not closed), with its bounding box at the origin.
    Polygon {
        vertices_m: Vec<[f64; 2]>,
    },
}

impl Shape {
    /// Width and height of the bounding box, m.
    pub fn bbox(&self) -> (f64, f64) {
        match self {
            Shape::Rectangle { width_m, height_m } | Shape::Ellipse { width_m, height_m } => {
                (*width_m, *height_m)
            }
            Shape::Polygon { vertices_m } => {
                let w = vertices_m.iter().map(|v| v[0]).fold(0.0, f64::max);
                let h = vertices_m.iter().map(|v| v[1]).fold(0.0, f64::max);
                (w, h)
            }
        }
    }

    /// Area, m².
    pub fn area_m2(&self) -> f64 {
        match self {
            Shape::Rectangle { width_m, height_m } => width_m * height_m,
            Shape::Ellipse { width_m, height_m } => std::f64::consts::PI * width_m * height_m / 4.0,
            Shape::Polygon { vertices_m } => {
                let n = vertices_m.len();
                let twice: f64 = (0..n)
                    .map(|i| {
                        let a = vertices_m[i];
                        let b = vertices_m[(i + 1) % n];
                        a[0] * b[1] - b[0] * a[1]
                    })
                    .sum();
                twice.abs() / 2.0
            }
        }
    }

    /// Whether a point lies inside (boundary included for rectangles and ellipses).
    pub fn contains(&self, x: f64, y: f64) -> bool {
        match self {
            Shape::Rectangle { width_m, height_m } => {
                (0.0..=*width_m).contains(&x) && (0.0..=*height_m).contains(&y)
            }
            Shape::Ellipse { width_m, height_m } => {
                let (a, b) = (width_m / 2.0, height_m / 2.0);
                let (u, v) = ((x - a) / a, (y - b) / b);
                u * u + v * v <= 1.0
            }
            Shape::Polygon { vertices_m } => {
                // Even-odd ray casting.
                let n = vertices_m.len();
                let mut inside = false;
                let mut j = n.wrapping_sub(1);
                for i in 0..n {
                    let (xi, yi) = (vertices_m[i][0], vertices_m[i][1]);
                    let (xj, yj) = (vertices_m[j][0], vertices_m[j][1]);
                    if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
                        inside = !inside;
                    }
                    j = i;
                }
                inside
            }
        }
    }
}

/// A treatment zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Zone {
    pub name: String,
    pub site: Site,
    pub shape: Shape,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas() {
        let r = Shape::Rectangle {
            width_m: 0.02,
            height_m: 0.03,
        };
        assert!((r.area_m2() - 6e-4).abs() < 1e-15);
        let e = Shape::Ellipse {
            width_m: 0.02,
            height_m: 0.02,
        };
        assert!((e.area_m2() - std::f64::consts::PI * 1e-4).abs() < 1e-15);
        let p = Shape::Polygon {
            vertices_m: vec![[0.0, 0.0], [0.02, 0.0], [0.0, 0.02]],
        };
        assert!((p.area_m2() - 2e-4).abs() < 1e-15);
        assert!(p.contains(0.005, 0.005));
        assert!(!p.contains(0.015, 0.015));
        assert!(e.contains(0.01, 0.01));
        assert!(!e.contains(0.0005, 0.0005));
    }
}
