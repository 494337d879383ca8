//! Grids for the transport engine: 3-D Cartesian (uniform in x and y, variable spacing in z) and
//! axisymmetric (r, z). Both are cell-centred finite-volume grids.
//!
//! Internally both become a [`Mesh`]: a tensor product of three 1-D axes, each carrying the 1-D
//! cell measures, face "areas" and half-widths that the finite-volume operator needs. In the
//! axisymmetric case axis 0 is r (face area factor r, cell measure (r₊² − r₋²)/2), axis 1 is a
//! single dummy cell and axis 2 is z. The solver never needs to know which geometry it runs on.
//!
//! Index order everywhere: voxel `v = (k * ny + j) * nx + i`, x (or r) fastest, z slowest.
//! z grows *into* the skin: face `ZMin` (k = 0) is the skin surface, `ZMax` is the deepest face.

use super::TransportError;

/// One axis of a tensor-product mesh (crate-internal).
#[derive(Debug, Clone)]
pub(crate) struct Axis {
    /// Number of cells.
    pub n: usize,
    /// Cell centres (m).
    pub centres: Vec<f64>,
    /// 1-D cell measure `w_p` (m for Cartesian axes; m² for r: (r₊² − r₋²)/2).
    pub w: Vec<f64>,
    /// 1-D face area factor at each of the `n + 1` faces (1 for Cartesian axes, r for the r axis).
    pub area: Vec<f64>,
    /// Distance from a cell centre to its faces, `w`-independent (m).
    pub half: Vec<f64>,
}

impl Axis {
    fn cartesian(faces: Vec<f64>) -> Self {
        let n = faces.len() - 1;
        let centres: Vec<f64> = (0..n).map(|p| 0.5 * (faces[p] + faces[p + 1])).collect();
        let w: Vec<f64> = (0..n).map(|p| faces[p + 1] - faces[p]).collect();
        let half = w.iter().map(|w| 0.5 * w).collect();
        Axis {
            n,
            area: vec![1.0; n + 1],
            centres,
            w,
            half,
        }
    }

    fn radial(faces: Vec<f64>) -> Self {
        let n = faces.len() - 1;
        let centres: Vec<f64> = (0..n).map(|p| 0.5 * (faces[p] + faces[p + 1])).collect();
        let w: Vec<f64> = (0..n)
            .map(|p| 0.5 * (faces[p + 1] * faces[p + 1] - faces[p] * faces[p]))
            .collect();
        let half = (0..n).map(|p| 0.5 * (faces[p + 1] - faces[p])).collect();
        Axis {
            n,
            centres,
            w,
            area: faces,
            half,
        }
    }

    fn dummy() -> Self {
        Axis {
            n: 1,
            centres: vec![0.5],
            w: vec![1.0],
            area: vec![1.0, 1.0],
            half: vec![0.5],
        }
    }
}

/// The tensor-product mesh the solver runs on (crate-internal).
#[derive(Debug, Clone)]
pub(crate) struct Mesh {
    pub n: [usize; 3],
    pub axes: [Axis; 3],
    /// Cell volume = `volume_factor * w_x[i] * w_y[j] * w_z[k]` (1 for Cartesian, 2π for axisymmetric).
    pub volume_factor: f64,
    pub axisymmetric: bool,
}

impl Mesh {
    pub fn len(&self) -> usize {
        self.n[0] * self.n[1] * self.n[2]
    }

    pub fn coords(&self, v: usize) -> [usize; 3] {
        let i = v % self.n[0];
        let j = (v / self.n[0]) % self.n[1];
        let k = v / (self.n[0] * self.n[1]);
        [i, j, k]
    }

    pub fn volume(&self, i: usize, j: usize, k: usize) -> f64 {
        self.volume_factor * self.axes[0].w[i] * self.axes[1].w[j] * self.axes[2].w[k]
    }
}

fn check_faces(name: &str, faces: &[f64]) -> Result<(), TransportError> {
    if faces.len() < 2 {
        return Err(TransportError::InvalidGrid {
            what: format!(
                "{name} needs at least 2 face positions (1 cell), got {}",
                faces.len()
            ),
        });
    }
    for (p, f) in faces.iter().enumerate() {
        if !f.is_finite() {
            return Err(TransportError::InvalidGrid {
                what: format!("{name}[{p}] = {f} is not finite"),
            });
        }
        if p > 0 && *f <= faces[p - 1] {
            return Err(TransportError::InvalidGrid {
                what: format!(
                    "{name} must be strictly increasing, but {name}[{p}] = {f} m <= {name}[{}] = {} m",
                    p - 1,
                    faces[p - 1]
                ),
            });
        }
    }
    Ok(())
}

fn check_spacing(name: &str, h: f64) -> Result<(), TransportError> {
    if !(h.is_finite() && h > 0.0) {
        return Err(TransportError::InvalidGrid {
            what: format!("{name} = {h} m is invalid: must be finite and > 0"),
        });
    }
    Ok(())
}

fn check_count(name: &str, n: usize) -> Result<(), TransportError> {
    if n == 0 {
        return Err(TransportError::InvalidGrid {
            what: format!("{name} = 0: need at least one cell"),
        });
    }
    if n > (1 << 24) {
        return Err(TransportError::InvalidGrid {
            what: format!("{name} = {n} is too large (at most 16,777,216 cells per axis)"),
        });
    }
    Ok(())
}

/// A 3-D Cartesian cell-centred grid: uniform spacing in x and y, arbitrary spacing in z
/// (so thin layers such as the stratum corneum can be resolved). Coordinates start at 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid3 {
    nx: usize,
    ny: usize,
    dx: f64,
    dy: f64,
    z_faces: Vec<f64>,
}

impl Grid3 {
    /// A uniform grid with `n = [nx, ny, nz]` cells of size `spacing = [dx, dy, dz]` (m).
    pub fn uniform(n: [usize; 3], spacing: [f64; 3]) -> Result<Self, TransportError> {
        check_count("nz", n[2])?;
        check_spacing("dz", spacing[2])?;
        let z_faces = (0..=n[2]).map(|k| k as f64 * spacing[2]).collect();
        Self::with_z_faces(n[0], n[1], spacing[0], spacing[1], z_faces)
    }

    /// A grid with `nx × ny` uniform columns of size `dx × dy` (m) and the given z face positions
    /// (m, strictly increasing, `nz + 1` values; `z_faces[0]` is the surface).
    pub fn with_z_faces(
        nx: usize,
        ny: usize,
        dx: f64,
        dy: f64,
        z_faces: Vec<f64>,
    ) -> Result<Self, TransportError> {
        check_count("nx", nx)?;
        check_count("ny", ny)?;
        check_spacing("dx", dx)?;
        check_spacing("dy", dy)?;
        check_faces("z_faces", &z_faces)?;
        let nz = z_faces.len() - 1;
        check_count("nz", nz)?;
        let total = (nx as u128) * (ny as u128) * (nz as u128);
        if total > (1u128 << 34) {
            return Err(TransportError::InvalidGrid {
                what: format!("{nx}×{ny}×{nz} = {total} voxels is more than 2^34"),
            });
        }
        Ok(Grid3 {
            nx,
            ny,
            dx,
            dy,
            z_faces,
        })
    }

    /// Cells per axis `[nx, ny, nz]`.
    pub fn shape(&self) -> [usize; 3] {
        [self.nx, self.ny, self.z_faces.len() - 1]
    }

    /// Total number of voxels.
    pub fn len(&self) -> usize {
        let [a, b, c] = self.shape();
        a * b * c
    }

    /// Always false: a grid has at least one voxel.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Uniform spacings `(dx, dy)` in m.
    pub fn spacing_xy(&self) -> (f64, f64) {
        (self.dx, self.dy)
    }

    /// z face positions (m).
    pub fn z_faces(&self) -> &[f64] {
        &self.z_faces
    }

    /// Flat voxel index of cell `(i, j, k)`.
    pub fn index(&self, i: usize, j: usize, k: usize) -> usize {
        (k * self.ny + j) * self.nx + i
    }

    /// Centre of cell `(i, j, k)` in m.
    pub fn centre(&self, i: usize, j: usize, k: usize) -> [f64; 3] {
        [
            (i as f64 + 0.5) * self.dx,
            (j as f64 + 0.5) * self.dy,
            0.5 * (self.z_faces[k] + self.z_faces[k + 1]),
        ]
    }

    /// Volume of cell `(i, j, k)` in m³.
    pub fn volume(&self, _i: usize, _j: usize, k: usize) -> f64 {
        self.dx * self.dy * (self.z_faces[k + 1] - self.z_faces[k])
    }
}

/// An axisymmetric (r, z) cell-centred grid for a unit cell around one channel. The axis r = 0
/// is the first r face; r faces and z faces may be non-uniform.
#[derive(Debug, Clone, PartialEq)]
pub struct AxiGrid {
    r_faces: Vec<f64>,
    z_faces: Vec<f64>,
}

impl AxiGrid {
    /// A grid from face positions (m). `r_faces[0]` must be 0 (the symmetry axis).
    pub fn new(r_faces: Vec<f64>, z_faces: Vec<f64>) -> Result<Self, TransportError> {
        check_faces("r_faces", &r_faces)?;
        check_faces("z_faces", &z_faces)?;
        if r_faces[0] != 0.0 {
            return Err(TransportError::InvalidGrid {
                what: format!(
                    "r_faces[0] = {} m: the first r face must be the axis, 0",
                    r_faces[0]
                ),
            });
        }
        check_count("nr", r_faces.len() - 1)?;
        check_count("nz", z_faces.len() - 1)?;
        Ok(AxiGrid { r_faces, z_faces })
    }

    /// `nr` uniform rings out to `radius` and `nz` uniform slabs down to `depth` (m).
    pub fn uniform(nr: usize, nz: usize, radius: f64, depth: f64) -> Result<Self, TransportError> {
        check_count("nr", nr)?;
        check_count("nz", nz)?;
        check_spacing("radius", radius)?;
        check_spacing("depth", depth)?;
        let r = (0..=nr).map(|p| radius * p as f64 / nr as f64).collect();
        let z = (0..=nz).map(|p| depth * p as f64 / nz as f64).collect();
        Self::new(r, z)
    }

    /// Cells `[nr, nz]`.
    pub fn shape(&self) -> [usize; 2] {
        [self.r_faces.len() - 1, self.z_faces.len() - 1]
    }

    /// Total number of voxels.
    pub fn len(&self) -> usize {
        (self.r_faces.len() - 1) * (self.z_faces.len() - 1)
    }

    /// Always false: a grid has at least one voxel.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Flat voxel index of ring `i`, slab `k`.
    pub fn index(&self, i: usize, k: usize) -> usize {
        k * (self.r_faces.len() - 1) + i
    }

    /// r face positions (m).
    pub fn r_faces(&self) -> &[f64] {
        &self.r_faces
    }

    /// z face positions (m).
    pub fn z_faces(&self) -> &[f64] {
        &self.z_faces
    }

    /// Centre `(r, z)` of cell `(i, k)` (midpoints of the faces), m.
    pub fn centre(&self, i: usize, k: usize) -> [f64; 2] {
        [
            0.5 * (self.r_faces[i] + self.r_faces[i + 1]),
            0.5 * (self.z_faces[k] + self.z_faces[k + 1]),
        ]
    }

    /// Volume of the ring cell `(i, k)` in m³: π (r₊² − r₋²) Δz.
    pub fn volume(&self, i: usize, k: usize) -> f64 {
        let (a, b) = (self.r_faces[i], self.r_faces[i + 1]);
        std::f64::consts::PI * (b * b - a * a) * (self.z_faces[k + 1] - self.z_faces[k])
    }
}

/// The geometry a transport problem lives on.
#[derive(Debug, Clone, PartialEq)]
pub enum Geometry {
    /// 3-D Cartesian grid.
    Cartesian(Grid3),
    /// Axisymmetric (r, z) grid; stored as `nx = nr`, `ny = 1`, `nz`.
    Axisymmetric(AxiGrid),
}

impl From<Grid3> for Geometry {
    fn from(g: Grid3) -> Self {
        Geometry::Cartesian(g)
    }
}

impl From<AxiGrid> for Geometry {
    fn from(g: AxiGrid) -> Self {
        Geometry::Axisymmetric(g)
    }
}

impl Geometry {
    /// Cells per axis `[nx, ny, nz]` as stored (axisymmetric: `[nr, 1, nz]`).
    pub fn shape(&self) -> [usize; 3] {
        match self {
            Geometry::Cartesian(g) => g.shape(),
            Geometry::Axisymmetric(g) => {
                let [nr, nz] = g.shape();
                [nr, 1, nz]
            }
        }
    }

    /// Total number of voxels.
    pub fn len(&self) -> usize {
        let [a, b, c] = self.shape();
        a * b * c
    }

    /// Always false: a grid has at least one voxel.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// z face positions (m); z = `z_faces[0]` is the surface.
    pub fn z_faces(&self) -> &[f64] {
        match self {
            Geometry::Cartesian(g) => g.z_faces(),
            Geometry::Axisymmetric(g) => g.z_faces(),
        }
    }

    pub(crate) fn mesh(&self) -> Mesh {
        match self {
            Geometry::Cartesian(g) => {
                let xf = (0..=g.nx).map(|i| i as f64 * g.dx).collect();
                let yf = (0..=g.ny).map(|j| j as f64 * g.dy).collect();
                Mesh {
                    n: g.shape(),
                    axes: [
                        Axis::cartesian(xf),
                        Axis::cartesian(yf),
                        Axis::cartesian(g.z_faces.clone()),
                    ],
                    volume_factor: 1.0,
                    axisymmetric: false,
                }
            }
            Geometry::Axisymmetric(g) => Mesh {
                n: self.shape(),
                axes: [
                    Axis::radial(g.r_faces.clone()),
                    Axis::dummy(),
                    Axis::cartesian(g.z_faces.clone()),
                ],
                volume_factor: 2.0 * std::f64::consts::PI,
                axisymmetric: true,
            },
        }
    }
}
