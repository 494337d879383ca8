//! Discrete diffusion operators: face conductances derived from the diffusivities and boundaries.
//!
//! For a constant diffusivity nothing per voxel is stored (the line matrices are identical and
//! are factorised once by the backend). For per-voxel diffusivities the face conductances of
//! every axis are stored (harmonic mean of the two half-cells, exact for layered media) and
//! updated locally when coefficients change, so closing channels cost O(changed voxels).

use rayon::prelude::*;

use super::grid::Mesh;
use super::problem::{Boundary, Coefficient};

/// How the diffusivity of one species is stored.
#[derive(Debug, Clone)]
pub enum DiffusivityStorage {
    /// One value everywhere (m²/s): the fast path.
    Uniform(f64),
    /// Per-voxel values with derived face conductances.
    PerVoxel(Box<PerVoxelConductances>),
}

/// Per-voxel diffusivity and the conductances derived from it.
#[derive(Debug, Clone)]
pub struct PerVoxelConductances {
    /// Diffusivity per voxel (m²/s).
    pub d: Vec<f64>,
    /// For each axis, at voxel `v`: conductance of the face between `v − e_axis` and `v`
    /// (0 at the first cell of a line). Units: area factor × m²/s / m.
    pub t: [Vec<f64>; 3],
    /// For each axis and line: conductance of the low boundary face (Dirichlet/Robin), or of the
    /// wrap face for a periodic axis; 0 otherwise.
    pub g_lo: [Vec<f64>; 3],
    /// Same for the high boundary face.
    pub g_hi: [Vec<f64>; 3],
}

/// Conductance between a cell centre and a boundary face with condition `b`.
pub(crate) fn boundary_conductance(b: Boundary, area: f64, half: f64, d: f64) -> f64 {
    match b {
        Boundary::Dirichlet(_) => area / (half / d),
        Boundary::Robin { h, .. } => area / (1.0 / h + half / d),
        _ => 0.0,
    }
    .max(0.0)
}

/// Conductance of the face between two cells (half-widths `h0`, `h1`, diffusivities `d0`, `d1`).
#[inline]
pub(crate) fn face_conductance(area: f64, h0: f64, d0: f64, h1: f64, d1: f64) -> f64 {
    let t = area / (h0 / d0 + h1 / d1);
    if t.is_nan() { 0.0 } else { t }
}

/// Index of the line through voxel `(i, j, k)` along `axis`.
pub(crate) fn line_index(mesh: &Mesh, axis: usize, i: usize, j: usize, k: usize) -> usize {
    let [nx, ny, _] = mesh.n;
    match axis {
        0 => k * ny + j,
        1 => k * nx + i,
        _ => j * nx + i,
    }
}

pub(crate) fn lines_per_axis(mesh: &Mesh, axis: usize) -> usize {
    mesh.len() / mesh.n[axis]
}

fn stride(mesh: &Mesh, axis: usize) -> usize {
    match axis {
        0 => 1,
        1 => mesh.n[0],
        _ => mesh.n[0] * mesh.n[1],
    }
}

impl PerVoxelConductances {
    pub(crate) fn new(mesh: &Mesh, d: Vec<f64>, bnd: &[Boundary; 6]) -> Self {
        let n = mesh.len();
        let mut s = PerVoxelConductances {
            d,
            t: [vec![0.0; n], vec![0.0; n], vec![0.0; n]],
            g_lo: std::array::from_fn(|a| vec![0.0; lines_per_axis(mesh, a)]),
            g_hi: std::array::from_fn(|a| vec![0.0; lines_per_axis(mesh, a)]),
        };
        s.recompute_all(mesh, bnd);
        s
    }

    pub(crate) fn recompute_all(&mut self, mesh: &Mesh, bnd: &[Boundary; 6]) {
        let plane = mesh.n[0] * mesh.n[1];
        let d = &self.d;
        for axis in 0..3 {
            let st = stride(mesh, axis);
            let ax = &mesh.axes[axis];
            self.t[axis]
                .par_chunks_mut(plane)
                .enumerate()
                .for_each(|(k, tp)| {
                    for (o, tv) in tp.iter_mut().enumerate() {
                        let v = k * plane + o;
                        let [i, j, kk] = mesh.coords(v);
                        let p = [i, j, kk][axis];
                        *tv = if p == 0 {
                            0.0
                        } else {
                            face_conductance(
                                ax.area[p],
                                ax.half[p - 1],
                                d[v - st],
                                ax.half[p],
                                d[v],
                            )
                        };
                    }
                });
        }
        self.recompute_boundaries(mesh, bnd);
    }

    fn recompute_boundary_axis(&mut self, mesh: &Mesh, bnd: &[Boundary; 6], axis: usize) {
        let n = mesh.n;
        let [nx, ny, nz] = n;
        let ax = &mesh.axes[axis];
        let na = n[axis];
        let st = stride(mesh, axis);
        let (blo, bhi) = (bnd[2 * axis], bnd[2 * axis + 1]);
        let periodic = blo == Boundary::Periodic;
        let d = &self.d;
        let mut lo = vec![0.0; lines_per_axis(mesh, axis)];
        let mut hi = vec![0.0; lines_per_axis(mesh, axis)];
        for k in 0..if axis == 2 { 1 } else { nz } {
            for j in 0..if axis == 1 { 1 } else { ny } {
                for i in 0..if axis == 0 { 1 } else { nx } {
                    let v0 = (k * ny + j) * nx + i;
                    let v1 = v0 + (na - 1) * st;
                    let li = line_index(mesh, axis, i, j, k);
                    if periodic {
                        let t =
                            face_conductance(ax.area[0], ax.half[na - 1], d[v1], ax.half[0], d[v0]);
                        lo[li] = t;
                        hi[li] = t;
                    } else {
                        lo[li] = boundary_conductance(blo, ax.area[0], ax.half[0], d[v0]);
                        hi[li] = boundary_conductance(bhi, ax.area[na], ax.half[na - 1], d[v1]);
                    }
                }
            }
        }
        self.g_lo[axis] = lo;
        self.g_hi[axis] = hi;
    }

    pub(crate) fn recompute_boundaries(&mut self, mesh: &Mesh, bnd: &[Boundary; 6]) {
        for axis in 0..3 {
            self.recompute_boundary_axis(mesh, bnd, axis);
        }
    }

    /// Updates the conductances around the given voxels after their `d` changed.
    pub(crate) fn update_local(&mut self, mesh: &Mesh, bnd: &[Boundary; 6], voxels: &[usize]) {
        for &v in voxels {
            let c = mesh.coords(v);
            for axis in 0..3 {
                let st = stride(mesh, axis);
                let ax = &mesh.axes[axis];
                let p = c[axis];
                let na = mesh.n[axis];
                for (vv, pp) in [(v, p), (v + st, p + 1)] {
                    if pp == 0 || pp >= na {
                        continue;
                    }
                    self.t[axis][vv] = face_conductance(
                        ax.area[pp],
                        ax.half[pp - 1],
                        self.d[vv - st],
                        ax.half[pp],
                        self.d[vv],
                    );
                }
                if p == 0 || p + 1 == na {
                    let li = line_index(mesh, axis, c[0], c[1], c[2]);
                    let v0 = v - p * st;
                    let v1 = v0 + (na - 1) * st;
                    let (blo, bhi) = (bnd[2 * axis], bnd[2 * axis + 1]);
                    if blo == Boundary::Periodic {
                        let t = face_conductance(
                            ax.area[0],
                            ax.half[na - 1],
                            self.d[v1],
                            ax.half[0],
                            self.d[v0],
                        );
                        self.g_lo[axis][li] = t;
                        self.g_hi[axis][li] = t;
                    } else {
                        self.g_lo[axis][li] =
                            boundary_conductance(blo, ax.area[0], ax.half[0], self.d[v0]);
                        self.g_hi[axis][li] =
                            boundary_conductance(bhi, ax.area[na], ax.half[na - 1], self.d[v1]);
                    }
                }
            }
        }
    }
}

impl DiffusivityStorage {
    pub(crate) fn from_coefficient(mesh: &Mesh, c: &Coefficient, bnd: &[Boundary; 6]) -> Self {
        match c {
            Coefficient::Uniform(d) => DiffusivityStorage::Uniform(*d),
            Coefficient::PerVoxel(d) => DiffusivityStorage::PerVoxel(Box::new(
                PerVoxelConductances::new(mesh, d.clone(), bnd),
            )),
        }
    }

    /// Diffusivity at voxel `v`.
    pub fn at(&self, v: usize) -> f64 {
        match self {
            DiffusivityStorage::Uniform(d) => *d,
            DiffusivityStorage::PerVoxel(p) => p.d[v],
        }
    }

    /// Bytes held per voxel by this storage (0 for uniform).
    pub fn bytes_per_voxel(&self) -> usize {
        match self {
            DiffusivityStorage::Uniform(_) => 0,
            DiffusivityStorage::PerVoxel(_) => 4 * std::mem::size_of::<f64>(),
        }
    }
}

/// The largest drift one update adds (a diffusivity set to or from zero counts as this).
pub const MAX_DRIFT_STEP: f64 = 50.0;

/// `|ln(new / old)|` of the voxel that changed most, at most [`MAX_DRIFT_STEP`].
pub fn drift_of(pairs: impl Iterator<Item = (f64, f64)>) -> f64 {
    pairs
        .map(|(old, new)| {
            if old == new {
                0.0
            } else if old > 0.0 && new > 0.0 {
                (new / old).ln().abs()
            } else {
                MAX_DRIFT_STEP
            }
        })
        .fold(0.0, f64::max)
        .min(MAX_DRIFT_STEP)
}

/// The discrete diffusion operator of one species: what a [`super::Backend`] needs to sweep it.
#[derive(Debug, Clone)]
pub struct DiffusionOperator {
    /// Diffusivity storage (uniform or per voxel with conductances).
    pub diffusivity: DiffusivityStorage,
    /// Boundaries per face, in [`super::Face::ALL`] order.
    pub boundaries: [Boundary; 6],
    /// Bumped whenever coefficients or boundaries change (backends key caches on it).
    pub generation: u64,
    /// How far the diffusivities have moved: the sum over all updates of the largest
    /// `|ln(D_new / D_old)|` among the voxels each update changed (each at most
    /// [`MAX_DRIFT_STEP`]). Between two values of it no voxel's diffusivity changed by more
    /// than the factor `e^(difference)`; a preconditioner built for other coefficients is kept
    /// only while that factor is small.
    pub drift: f64,
    /// Storage capacity per z level ([`super::Species::layered_capacity`]); `None`: 1.
    pub capacity_z: Option<Vec<f64>>,
    /// Storage capacity per voxel ([`super::Species::capacity`], unsplit scheme); `None`: 1.
    pub capacity: Option<Vec<f64>>,
}
