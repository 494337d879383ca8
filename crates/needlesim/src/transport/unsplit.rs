//! Unsplit implicit diffusion: the whole finite-volume system of one species (all axes, linear
//! decay and sources included) solved at once, so that no splitting error appears at any step.
//!
//! The system of a backward-Euler step (and of both stages of TR-BDF2) is
//!
//! ```text
//! [V (1 + κh λ) + κh K] c = b,     (K c)_p = Σ_f K_f (c_p − c_q) + G_p c_p
//! ```
//!
//! with `V` the cell volumes, `K_f` the 3-D face conductances (face area × harmonic-mean
//! diffusivity / distance, the same numbers the split sweeps use) and `G_p` the Dirichlet/Robin
//! boundary conductances. The matrix is symmetric positive definite, so it is solved by
//! preconditioned conjugate gradients with one of two symmetric preconditioners:
//!
//! * a **banded Cholesky factor** of the matrix (bandwidth `nx·ny`, or `min(nr, nz)` on an
//!   axisymmetric grid) when it is small enough: an exact solve in one iteration when fresh; when
//!   the step or the coefficients change it is kept as a (very good) preconditioner and refactored
//!   only once it costs more than a few iterations;
//! * otherwise **z-line block Jacobi**: each z line's tridiagonal block (the stiff direction in
//!   thin layers) solved exactly, the lateral coupling left to CG.
//!
//! All reductions are sums over fixed chunks combined in chunk order, and every other operation
//! is elementwise or per line, so results are bit-identical for any number of threads.

use rayon::prelude::*;

use super::backend::{boundary_flux_density, boundary_value};
use super::grid::Mesh;
use super::operator::{DiffusivityStorage, PerVoxelConductances, line_index};
use super::problem::{Boundary, Coefficient};

/// Elements per chunk of the deterministic reductions.
const CHUNK: usize = 8192;
/// Largest bandwidth for which the banded Cholesky preconditioner is used.
const MAX_BAND: usize = 512;
/// Largest banded factor (values) held.
const MAX_BAND_VALUES: usize = 32 << 20;
/// Iterations beyond which a stale banded factor is refactored.
const REFACTOR_AFTER: usize = 6;

/// Deterministic dot product: fixed chunks, partial sums combined in chunk order.
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let parts: Vec<f64> = a
        .par_chunks(CHUNK)
        .zip(b.par_chunks(CHUNK))
        .map(|(x, y)| x.iter().zip(y).map(|(p, q)| p * q).sum::<f64>())
        .collect();
    parts.iter().sum()
}

/// Deterministic sum: fixed chunks, partial sums combined in chunk order.
pub(crate) fn sum(a: &[f64]) -> f64 {
    let parts: Vec<f64> = a.par_chunks(CHUNK).map(|x| x.iter().sum::<f64>()).collect();
    parts.iter().sum()
}

/// Dot product of two short slices with four independent accumulators (vectorisable; the
/// order of operations is fixed, so results do not depend on the machine's thread count).
#[inline]
fn dot_short(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; 4];
    let mut ca = a.chunks_exact(4);
    let mut cb = b.chunks_exact(4);
    for (x, y) in (&mut ca).zip(&mut cb) {
        acc[0] += x[0] * y[0];
        acc[1] += x[1] * y[1];
        acc[2] += x[2] * y[2];
        acc[3] += x[3] * y[3];
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        s += x * y;
    }
    s
}

/// The assembled, step-independent parts of one species' operator.
#[derive(Debug, Clone)]
pub(crate) struct Assembled {
    /// Generation of the operator these were built from.
    generation: u64,
    /// Face conductances (a private copy for a uniform diffusivity).
    uniform_pv: Option<Box<PerVoxelConductances>>,
    /// Σ of the 3-D weights of all faces of the cell plus its boundary conductances.
    diag_k: Vec<f64>,
    /// Boundary source per cell: Σ cross-area × (G c_b + a q).
    bsrc: Vec<f64>,
    /// Periodic axes.
    periodic: [bool; 3],
}

/// Linear-solver state of one species (preconditioner and statistics).
#[derive(Debug, Clone, Default)]
pub(crate) struct SpeciesSolver {
    assembled: Option<Assembled>,
    band: Option<BandFactor>,
    zline: Option<ZLineFactor>,
    last_iterations: usize,
    /// Totals over the run: solves, CG iterations, factorisations.
    pub solves: u64,
    pub iterations: u64,
    pub factorisations: u64,
}

/// The coefficients of one solve: `M = α V (1 + κh λ)`-style combination, see [`apply`].
#[derive(Clone, Copy)]
pub(crate) struct Coeffs<'a> {
    pub kh: f64,
    pub decay: &'a Coefficient,
    pub decay_version: u64,
}

/// What a solve reports.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SolveOutcome {
    pub iterations: usize,
    pub converged: bool,
    pub residual: f64,
}

fn stride(mesh: &Mesh, axis: usize) -> usize {
    match axis {
        0 => 1,
        1 => mesh.n[0],
        _ => mesh.n[0] * mesh.n[1],
    }
}

/// Product of the cell measures of the two axes other than `axis`, times the volume factor.
#[inline]
fn cross(mesh: &Mesh, axis: usize, c: [usize; 3]) -> f64 {
    let mut p = mesh.volume_factor;
    for a in 0..3 {
        if a != axis {
            p *= mesh.axes[a].w[c[a]];
        }
    }
    p
}

impl Assembled {
    fn build(
        mesh: &Mesh,
        storage: &DiffusivityStorage,
        bnd: &[Boundary; 6],
        generation: u64,
    ) -> Self {
        let uniform_pv = match storage {
            DiffusivityStorage::Uniform(d) => Some(Box::new(PerVoxelConductances::new(
                mesh,
                vec![*d; mesh.len()],
                bnd,
            ))),
            DiffusivityStorage::PerVoxel(_) => None,
        };
        let pv: &PerVoxelConductances = match (storage, &uniform_pv) {
            (DiffusivityStorage::PerVoxel(p), _) => p,
            (_, Some(p)) => p,
            _ => unreachable!("uniform storage always has a private copy"),
        };
        let n = mesh.len();
        let periodic = std::array::from_fn(|a| bnd[2 * a] == Boundary::Periodic);
        let mut diag_k = vec![0.0; n];
        let mut bsrc = vec![0.0; n];
        let plane = mesh.n[0] * mesh.n[1];
        diag_k
            .par_chunks_mut(plane)
            .zip(bsrc.par_chunks_mut(plane))
            .enumerate()
            .for_each(|(k, (dk, bs))| {
                for o in 0..plane {
                    let v = k * plane + o;
                    let c = mesh.coords(v);
                    let (mut d, mut s) = (0.0, 0.0);
                    for axis in 0..3 {
                        let na = mesh.n[axis];
                        let st = stride(mesh, axis);
                        let p = c[axis];
                        let w = cross(mesh, axis, c);
                        let ax = &mesh.axes[axis];
                        if p > 0 {
                            d += w * pv.t[axis][v];
                        }
                        if p + 1 < na {
                            d += w * pv.t[axis][v + st];
                        }
                        let li = line_index(mesh, axis, c[0], c[1], c[2]);
                        if periodic[axis] {
                            if na > 1 && (p == 0 || p + 1 == na) {
                                d += w * pv.g_lo[axis][li];
                            }
                        } else {
                            if p == 0 {
                                let b = bnd[2 * axis];
                                d += w * pv.g_lo[axis][li];
                                s += w
                                    * (pv.g_lo[axis][li] * boundary_value(b)
                                        + ax.area[0] * boundary_flux_density(b));
                            }
                            if p + 1 == na {
                                let b = bnd[2 * axis + 1];
                                d += w * pv.g_hi[axis][li];
                                s += w
                                    * (pv.g_hi[axis][li] * boundary_value(b)
                                        + ax.area[na] * boundary_flux_density(b));
                            }
                        }
                    }
                    dk[o] = d;
                    bs[o] = s;
                }
            });
        Assembled {
            generation,
            uniform_pv,
            diag_k,
            bsrc,
            periodic,
        }
    }

    fn pv<'a>(&'a self, storage: &'a DiffusivityStorage) -> &'a PerVoxelConductances {
        match (storage, &self.uniform_pv) {
            (DiffusivityStorage::PerVoxel(p), _) => p,
            (_, Some(p)) => p,
            _ => unreachable!("uniform storage always has a private copy"),
        }
    }
}

/// `y = α V x + β [(V λ + diag_k) x − Σ K_f x_q]`, plane by plane in parallel.
#[allow(clippy::too_many_arguments)]
fn apply(
    mesh: &Mesh,
    asm: &Assembled,
    pv: &PerVoxelConductances,
    decay: &Coefficient,
    alpha: f64,
    beta: f64,
    x: &[f64],
    y: &mut [f64],
) {
    let [nx, ny, nz] = mesh.n;
    let plane = nx * ny;
    let [wx, wy, wz] = [&mesh.axes[0].w, &mesh.axes[1].w, &mesh.axes[2].w];
    let vf = mesh.volume_factor;
    let per = asm.periodic;
    y.par_chunks_mut(plane).enumerate().for_each(|(k, yp)| {
        for j in 0..ny {
            let row = (k * ny + j) * nx;
            let kx_w = beta * vf * wy[j] * wz[k];
            let vol_jk = vf * wy[j] * wz[k];
            let ky_w = beta * vf * wz[k];
            let kz_w = beta * vf * wy[j];
            for i in 0..nx {
                let v = row + i;
                let vol = vol_jk * wx[i];
                let lam = decay.at(v);
                let mut acc = (alpha * vol + beta * (vol * lam + asm.diag_k[v])) * x[v];
                // x faces
                if i > 0 {
                    acc -= kx_w * pv.t[0][v] * x[v - 1];
                }
                if i + 1 < nx {
                    acc -= kx_w * pv.t[0][v + 1] * x[v + 1];
                }
                if per[0] && nx > 1 && (i == 0 || i + 1 == nx) {
                    let li = k * ny + j;
                    let q = if i == 0 { row + nx - 1 } else { row };
                    acc -= kx_w * pv.g_lo[0][li] * x[q];
                }
                // y faces
                if ny > 1 {
                    let w = ky_w * wx[i];
                    if j > 0 {
                        acc -= w * pv.t[1][v] * x[v - nx];
                    }
                    if j + 1 < ny {
                        acc -= w * pv.t[1][v + nx] * x[v + nx];
                    }
                    if per[1] && (j == 0 || j + 1 == ny) {
                        let li = k * nx + i;
                        let q = if j == 0 {
                            v + (ny - 1) * nx
                        } else {
                            v - (ny - 1) * nx
                        };
                        acc -= w * pv.g_lo[1][li] * x[q];
                    }
                }
                // z faces
                if nz > 1 {
                    let w = kz_w * wx[i];
                    if k > 0 {
                        acc -= w * pv.t[2][v] * x[v - plane];
                    }
                    if k + 1 < nz {
                        acc -= w * pv.t[2][v + plane] * x[v + plane];
                    }
                    if per[2] && (k == 0 || k + 1 == nz) {
                        let li = j * nx + i;
                        let q = if k == 0 {
                            v + (nz - 1) * plane
                        } else {
                            v - (nz - 1) * plane
                        };
                        acc -= w * pv.g_lo[2][li] * x[q];
                    }
                }
                yp[v - k * plane] = acc;
            }
        }
    });
}

/// Banded Cholesky factor `L Lᵀ` of the matrix in a band-minimising ordering.
#[derive(Debug, Clone)]
struct BandFactor {
    /// Bandwidth.
    b: usize,
    /// True: position of voxel `k·nr + i` is `i·nz + k` (axisymmetric grids with nz < nr).
    transposed: bool,
    /// Row `r` holds `L[r][r−b ..= r]` at `l[r·(b+1) ..]` (entries before column 0 are 0).
    l: Vec<f64>,
    /// `1 / L[r][r]`.
    inv_diag: Vec<f64>,
    /// What it was factored for: generation, κh, decay version.
    key: (u64, f64, u64),
    /// Scratch in factor ordering.
    work: Vec<f64>,
}

fn band_layout(mesh: &Mesh, bnd: &[Boundary; 6]) -> Option<(usize, bool)> {
    let [nx, ny, nz] = mesh.n;
    let n = mesh.len();
    let z_periodic = bnd[4] == Boundary::Periodic;
    let x_periodic = bnd[0] == Boundary::Periodic;
    let (b, transposed) = if ny == 1 && nz < nx && !x_periodic {
        (nz, true)
    } else if !z_periodic {
        (nx * ny, false)
    } else {
        return None;
    };
    (b <= MAX_BAND && n.saturating_mul(b + 1) <= MAX_BAND_VALUES).then_some((b, transposed))
}

impl BandFactor {
    fn pos(&self, mesh: &Mesh, v: usize) -> usize {
        if self.transposed {
            let nr = mesh.n[0];
            let nz = mesh.n[2];
            (v % nr) * nz + v / nr
        } else {
            v
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn factor(
        mesh: &Mesh,
        asm: &Assembled,
        pv: &PerVoxelConductances,
        decay: &Coefficient,
        kh: f64,
        b: usize,
        transposed: bool,
        key: (u64, f64, u64),
    ) -> Self {
        let n = mesh.len();
        let w = b + 1;
        let mut f = BandFactor {
            b,
            transposed,
            l: vec![0.0; n * w],
            inv_diag: vec![0.0; n],
            key,
            work: vec![0.0; n],
        };
        // Assemble the lower band: A[r][c] at l[r·w + (b − (r − c))].
        let [nx, ny, nz] = mesh.n;
        let plane = nx * ny;
        for v in 0..n {
            let c = mesh.coords(v);
            let vol = mesh.volume(c[0], c[1], c[2]);
            let r = f.pos(mesh, v);
            f.l[r * w + b] = vol * (1.0 + kh * decay.at(v)) + kh * asm.diag_k[v];
            let put = |q: usize, kf: f64, f: &mut BandFactor| {
                let rq = f.pos(mesh, q);
                let (hi, lo) = if r > rq { (r, rq) } else { (rq, r) };
                debug_assert!(hi - lo <= b);
                f.l[hi * w + (b - (hi - lo))] -= kf;
            };
            // Each face once: towards the lower neighbour (and the wrap face at p = 0).
            for axis in 0..3 {
                let p = c[axis];
                let na = mesh.n[axis];
                let st = stride(mesh, axis);
                let wgt = kh * cross(mesh, axis, c);
                if p > 0 {
                    put(v - st, wgt * pv.t[axis][v], &mut f);
                } else if asm.periodic[axis] && na > 2 {
                    let li = line_index(mesh, axis, c[0], c[1], c[2]);
                    put(v + (na - 1) * st, wgt * pv.g_lo[axis][li], &mut f);
                }
            }
            let _ = (nz, plane);
        }
        // In-place banded Cholesky (row oriented).
        for r in 0..n {
            let r0 = r.saturating_sub(b);
            for c in r0..=r {
                let c0 = c.saturating_sub(b).max(r0);
                let (rb, cb) = (r * w + b - r, c * w + b - c);
                let s = f.l[r * w + (b - (r - c))]
                    - dot_short(&f.l[rb + c0..rb + c], &f.l[cb + c0..cb + c]);
                if c == r {
                    let d = s.max(f64::MIN_POSITIVE).sqrt();
                    f.l[r * w + b] = d;
                    f.inv_diag[r] = 1.0 / d;
                } else {
                    f.l[r * w + (b - (r - c))] = s * f.inv_diag[c];
                }
            }
        }
        f
    }

    /// `z = (L Lᵀ)⁻¹ r` (serial; the factor is small by construction).
    fn solve(&mut self, mesh: &Mesh, r: &[f64], z: &mut [f64]) {
        let n = r.len();
        let (b, w) = (self.b, self.b + 1);
        let mut y = std::mem::take(&mut self.work);
        for v in 0..n {
            let p = self.pos(mesh, v);
            y[p] = r[v];
        }
        for row in 0..n {
            let r0 = row.saturating_sub(b);
            let base = row * w + b - row;
            let s = y[row] - dot_short(&self.l[base + r0..base + row], &y[r0..row]);
            y[row] = s * self.inv_diag[row];
        }
        for row in (0..n).rev() {
            let yr = y[row] * self.inv_diag[row];
            y[row] = yr;
            let r0 = row.saturating_sub(b);
            let base = row * w + b - row;
            for k in r0..row {
                y[k] -= self.l[base + k] * yr;
            }
        }
        for v in 0..n {
            let p = self.pos(mesh, v);
            z[v] = y[p];
        }
        self.work = y;
    }
}

/// Block-Jacobi preconditioner over z lines (Thomas factors of each line's tridiagonal block).
#[derive(Debug, Clone)]
struct ZLineFactor {
    /// Sub-diagonal (coupling to the cell above), per voxel.
    sub: Vec<f64>,
    /// Modified super-diagonal `c'` of the Thomas recursion.
    cp: Vec<f64>,
    /// `1 / (d − a c'_{k−1})`.
    inv: Vec<f64>,
    key: (u64, f64, u64),
}

impl ZLineFactor {
    fn factor(
        mesh: &Mesh,
        asm: &Assembled,
        pv: &PerVoxelConductances,
        decay: &Coefficient,
        kh: f64,
        key: (u64, f64, u64),
    ) -> Self {
        let [nx, ny, nz] = mesh.n;
        let plane = nx * ny;
        let n = mesh.len();
        let mut sub = vec![0.0; n];
        let mut cp = vec![0.0; n];
        let mut inv = vec![0.0; n];
        let (wx, wy) = (&mesh.axes[0].w, &mesh.axes[1].w);
        let vf = mesh.volume_factor;
        // Columns are independent: split by rows j (each row's columns, all k).
        let mut rows: Vec<(Vec<f64>, Vec<f64>, Vec<f64>)> = (0..ny)
            .into_par_iter()
            .map(|j| {
                let mut s = vec![0.0; nx * nz];
                let mut c = vec![0.0; nx * nz];
                let mut iv = vec![0.0; nx * nz];
                for k in 0..nz {
                    for i in 0..nx {
                        let v = k * plane + j * nx + i;
                        let vol = mesh.volume(i, j, k);
                        let d = vol * (1.0 + kh * decay.at(v)) + kh * asm.diag_k[v];
                        let wz = kh * vf * wx[i] * wy[j];
                        let a = if k > 0 { -wz * pv.t[2][v] } else { 0.0 };
                        let up = if k + 1 < nz {
                            -wz * pv.t[2][v + plane]
                        } else {
                            0.0
                        };
                        let den = if k > 0 {
                            d - a * c[(k - 1) * nx + i]
                        } else {
                            d
                        };
                        let id = 1.0 / den;
                        s[k * nx + i] = a;
                        c[k * nx + i] = up * id;
                        iv[k * nx + i] = id;
                    }
                }
                (s, c, iv)
            })
            .collect();
        for (j, (s, c, iv)) in rows.drain(..).enumerate() {
            for k in 0..nz {
                let dst = k * plane + j * nx;
                sub[dst..dst + nx].copy_from_slice(&s[k * nx..(k + 1) * nx]);
                cp[dst..dst + nx].copy_from_slice(&c[k * nx..(k + 1) * nx]);
                inv[dst..dst + nx].copy_from_slice(&iv[k * nx..(k + 1) * nx]);
            }
        }
        ZLineFactor { sub, cp, inv, key }
    }

    fn solve(&self, mesh: &Mesh, r: &[f64], z: &mut [f64]) {
        let [nx, ny, nz] = mesh.n;
        let plane = nx * ny;
        // Rows j in parallel; each works on its own columns. Output written per row after.
        let rows: Vec<Vec<f64>> = (0..ny)
            .into_par_iter()
            .map(|j| {
                let mut y = vec![0.0; nx * nz];
                for k in 0..nz {
                    let v0 = k * plane + j * nx;
                    for i in 0..nx {
                        let v = v0 + i;
                        let prev = if k > 0 { y[(k - 1) * nx + i] } else { 0.0 };
                        y[k * nx + i] = (r[v] - self.sub[v] * prev) * self.inv[v];
                    }
                }
                for k in (0..nz.saturating_sub(1)).rev() {
                    let v0 = k * plane + j * nx;
                    for i in 0..nx {
                        let next = y[(k + 1) * nx + i];
                        y[k * nx + i] -= self.cp[v0 + i] * next;
                    }
                }
                y
            })
            .collect();
        for (j, y) in rows.iter().enumerate() {
            for k in 0..nz {
                let dst = k * plane + j * nx;
                z[dst..dst + nx].copy_from_slice(&y[k * nx..(k + 1) * nx]);
            }
        }
    }
}

/// Work vectors shared by the solves of all species.
#[derive(Debug, Default)]
pub(crate) struct Work {
    r: Vec<f64>,
    z: Vec<f64>,
    p: Vec<f64>,
    q: Vec<f64>,
    pub(crate) b: Vec<f64>,
    pub(crate) tmp: Vec<f64>,
}

impl Work {
    pub(crate) fn ensure(&mut self, n: usize) {
        for v in [
            &mut self.r,
            &mut self.z,
            &mut self.p,
            &mut self.q,
            &mut self.b,
            &mut self.tmp,
        ] {
            v.resize(n, 0.0);
        }
    }
}

/// The operator of one species as the unsplit solver sees it.
pub(crate) struct OperatorView<'a> {
    pub mesh: &'a Mesh,
    pub storage: &'a DiffusivityStorage,
    pub boundaries: &'a [Boundary; 6],
    pub generation: u64,
}

impl SpeciesSolver {
    fn assembled(&mut self, op: &OperatorView) -> &Assembled {
        let stale = self
            .assembled
            .as_ref()
            .is_none_or(|a| a.generation != op.generation);
        if stale {
            self.assembled = Some(Assembled::build(
                op.mesh,
                op.storage,
                op.boundaries,
                op.generation,
            ));
        }
        self.assembled.as_ref().expect("just built")
    }

    /// `y = α V x + β (K + V λ) x`.
    pub(crate) fn apply(
        &mut self,
        op: &OperatorView,
        decay: &Coefficient,
        alpha: f64,
        beta: f64,
        x: &[f64],
        y: &mut [f64],
    ) {
        self.assembled(op);
        let asm = self.assembled.as_ref().expect("built");
        apply(op.mesh, asm, asm.pv(op.storage), decay, alpha, beta, x, y);
    }

    /// `y = α V x + β (V s + boundary sources)` added to `y` (right-hand side pieces).
    pub(crate) fn add_sources(
        &mut self,
        op: &OperatorView,
        source: &Coefficient,
        beta: f64,
        y: &mut [f64],
    ) {
        self.assembled(op);
        let asm = self.assembled.as_ref().expect("built");
        let mesh = op.mesh;
        let plane = mesh.n[0] * mesh.n[1];
        y.par_chunks_mut(plane).enumerate().for_each(|(k, yp)| {
            for (o, yv) in yp.iter_mut().enumerate() {
                let v = k * plane + o;
                let s = source.at(v);
                let mut add = asm.bsrc[v];
                if s != 0.0 {
                    let c = mesh.coords(v);
                    add += mesh.volume(c[0], c[1], c[2]) * s;
                }
                *yv += beta * add;
            }
        });
    }

    fn precondition(&mut self, mesh: &Mesh, r: &[f64], z: &mut [f64]) {
        if let Some(f) = &mut self.band {
            f.solve(mesh, r, z);
        } else if let Some(f) = &self.zline {
            f.solve(mesh, r, z);
        } else {
            z.copy_from_slice(r);
        }
    }

    fn refresh_preconditioner(&mut self, op: &OperatorView, co: &Coeffs, force: bool) {
        let key = (op.generation, co.kh, co.decay_version);
        let asm = self.assembled.as_ref().expect("assembled before");
        let pv = asm.pv(op.storage);
        let current = self
            .band
            .as_ref()
            .map(|f| f.key)
            .or(self.zline.as_ref().map(|f| f.key));
        let have = current.is_some();
        let fresh = current == Some(key);
        let layout = band_layout(op.mesh, op.boundaries);
        // The z-line factor costs about one matrix product: always keep it fresh.
        let force = force || layout.is_none();
        if fresh || (have && !force && self.last_iterations <= REFACTOR_AFTER) {
            return;
        }
        self.factorisations += 1;
        if let Some((b, transposed)) = layout {
            self.band = Some(BandFactor::factor(
                op.mesh, asm, pv, co.decay, co.kh, b, transposed, key,
            ));
        } else {
            self.zline = Some(ZLineFactor::factor(op.mesh, asm, pv, co.decay, co.kh, key));
        }
    }

    #[allow(clippy::too_many_arguments)]
    /// Solves `[V (1 + κh λ) + κh K] x = b` by PCG from the initial guess in `x`, to
    /// `‖r‖_{P⁻¹} ≤ tol ‖b‖_{P⁻¹}`.
    pub(crate) fn solve(
        &mut self,
        op: &OperatorView,
        co: &Coeffs,
        b: &[f64],
        x: &mut [f64],
        work: &mut Work,
        tol: f64,
        max_iter: usize,
    ) -> SolveOutcome {
        let n = b.len();
        work.ensure(n);
        self.assembled(op);
        self.refresh_preconditioner(op, co, false);
        let mesh = op.mesh;
        let Work { r, z, p, q, .. } = work;
        let mut it = 0;
        let mut restarted = false;
        // ‖b‖ in the preconditioner's norm: b·P⁻¹b ≈ b·M⁻¹b ≈ b·x0 when the initial guess is
        // close (the previous step's field), which saves a preconditioner solve; otherwise
        // computed.
        let guess = dot(b, x);
        let mut bnorm2 = if guess > 0.0 && guess.is_finite() {
            guess
        } else {
            self.precondition(mesh, b, z);
            dot(b, z)
        };
        if bnorm2 == 0.0 {
            // b = 0: the solution is 0 (the matrix is nonsingular).
            x.fill(0.0);
            return self.finish(SolveOutcome {
                iterations: 0,
                converged: true,
                residual: 0.0,
            });
        }
        let outcome = 'outer: loop {
            self.apply(op, co.decay, 1.0, co.kh, x, q);
            r.par_chunks_mut(CHUNK)
                .zip(b.par_chunks(CHUNK))
                .zip(q.par_chunks(CHUNK))
                .for_each(|((r, b), q)| {
                    for ((r, b), q) in r.iter_mut().zip(b).zip(q) {
                        *r = b - q;
                    }
                });
            self.precondition(mesh, r, z);
            let mut rz = dot(r, z);
            if !(bnorm2 > 0.0 && rz.is_finite()) {
                break 'outer SolveOutcome {
                    iterations: it,
                    converged: false,
                    residual: f64::NAN,
                };
            }
            if rz <= tol * tol * bnorm2 {
                break 'outer SolveOutcome {
                    iterations: it,
                    converged: true,
                    residual: (rz.max(0.0) / bnorm2).sqrt(),
                };
            }
            p.copy_from_slice(z);
            loop {
                if it >= max_iter || !rz.is_finite() {
                    break 'outer SolveOutcome {
                        iterations: it,
                        converged: false,
                        residual: (rz / bnorm2).sqrt(),
                    };
                }
                // A stale factor that stopped being a good preconditioner: refactor, restart.
                if !restarted && it >= 4 * REFACTOR_AFTER {
                    let key = (op.generation, co.kh, co.decay_version);
                    let cur = self
                        .band
                        .as_ref()
                        .map(|f| f.key)
                        .or(self.zline.as_ref().map(|f| f.key));
                    if cur != Some(key) {
                        restarted = true;
                        self.refresh_preconditioner(op, co, true);
                        self.precondition(mesh, b, z);
                        bnorm2 = dot(b, z);
                        continue 'outer;
                    }
                }
                it += 1;
                self.apply(op, co.decay, 1.0, co.kh, p, q);
                let pq = dot(p, q);
                let alpha = rz / pq;
                x.par_chunks_mut(CHUNK)
                    .zip(r.par_chunks_mut(CHUNK))
                    .zip(p.par_chunks(CHUNK).zip(q.par_chunks(CHUNK)))
                    .for_each(|((x, r), (p, q))| {
                        for i in 0..x.len() {
                            x[i] += alpha * p[i];
                            r[i] -= alpha * q[i];
                        }
                    });
                self.precondition(mesh, r, z);
                let rz_new = dot(r, z);
                if rz_new <= tol * tol * bnorm2 {
                    break 'outer SolveOutcome {
                        iterations: it,
                        converged: true,
                        residual: (rz_new.max(0.0) / bnorm2).sqrt(),
                    };
                }
                let beta = rz_new / rz;
                rz = rz_new;
                p.par_chunks_mut(CHUNK)
                    .zip(z.par_chunks(CHUNK))
                    .for_each(|(p, z)| {
                        for (p, z) in p.iter_mut().zip(z) {
                            *p = z + beta * *p;
                        }
                    });
            }
        };
        if outcome.converged {
            // Global balance: the face terms of M cancel in Σ M x, so Σ M x = Σ b is the exact
            // discrete mass balance of the step. CG meets it only to its tolerance; a relative
            // rescaling of x by that much restores it to round-off (keeping signs and zeros).
            self.apply(op, co.decay, 1.0, co.kh, x, q);
            let (sb, sq) = (sum(b), sum(q));
            let beta = sb / sq - 1.0;
            if sq > 0.0 && beta.is_finite() && beta.abs() < 1e-4 {
                x.par_chunks_mut(CHUNK).for_each(|x| {
                    for v in x {
                        *v *= 1.0 + beta;
                    }
                });
            }
        }
        self.finish(outcome)
    }

    fn finish(&mut self, outcome: SolveOutcome) -> SolveOutcome {
        self.last_iterations = outcome.iterations;
        self.solves += 1;
        self.iterations += outcome.iterations as u64;
        outcome
    }
}
