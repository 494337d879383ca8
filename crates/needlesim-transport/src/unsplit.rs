//! Unsplit implicit diffusion: the whole finite-volume system of one species (all axes, linear
//! decay and sources included) solved at once, so that no splitting error appears at any step.
//!
//! The system of a backward-Euler step (and of both stages of TR-BDF2) is
//!
//! ```text
//! [V (1 + κh λ) + κh K] c = b,     (K c)_p = Σ_f K_f (c_p − c_q) + G_p c_p
//! ```
//!
//! with `V` the cell volumes (times the species' storage capacity `C` where it has one,
//! [`super::Species::capacity`]: the mass matrix is then `diag(C V)`), `K_f` the 3-D face
//! conductances (face area × harmonic-mean diffusivity / distance, the same numbers the split
//! sweeps use) and `G_p` the Dirichlet/Robin boundary conductances. The matrix is symmetric positive definite, so it is solved by
//! preconditioned conjugate gradients with one of two symmetric preconditioners:
//!
//! * a **banded Cholesky factor** of the matrix (bandwidth `nx·ny`, or `min(nr, nz)` on an
//!   axisymmetric grid) when it is small enough: an exact solve in one iteration when fresh; when
//!   the step or the coefficients change it is kept as a (very good) preconditioner and refactored
//!   only once it costs more than a few iterations;
//! * otherwise a **multigrid V-cycle** (`multigrid.rs`: lateral semicoarsening, Galerkin
//!   coarse operators, z-line Gauss–Seidel smoothing in red-black order), whose iteration count
//!   hardly grows with the step or the grid;
//! * or **z-line block Jacobi**: each z line's tridiagonal block (the stiff direction in thin
//!   layers) solved exactly, the lateral coupling left to CG (a periodic z axis, or on request:
//!   [`UnsplitPreconditioner`]).
//!
//! All reductions are sums over fixed chunks combined in chunk order, and every other operation
//! is elementwise or per line, so results are bit-identical for any number of threads.

use rayon::prelude::*;

use super::backend::{boundary_flux_density, boundary_value};
use super::grid::Mesh;
use super::multigrid::{self, Multigrid};
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
/// A multigrid hierarchy built for another step or other coefficients is kept while the last
/// solve took at most this many iterations more than the first solve after its build, and the
/// step is within a factor [`MG_KEEP_KH`] of its own: an extra V-cycle costs less than a
/// rebuild (~0.1 s against ~0.3 s on 4.6 M voxels, docs/BENCHMARKS.md).
const MG_KEEP_EXTRA: usize = 1;
const MG_KEEP_KH: f64 = 2.0;
/// ... and while no voxel's diffusivity moved by more than the factor `e^MG_KEEP_DRIFT` since
/// (the operator's drift, an upper bound): the iteration count of the last solve does not
/// foresee a jump. A channel of the 3-D delivery patch that closes onto fewer voxels empties a
/// voxel of channel fluid, whose diffusivity then falls up to 10⁴-fold; the stale hierarchy
/// kept for it took 24 CG iterations before the solver gave up on it and rebuilt it, against
/// 4 with a fresh one (docs/BENCHMARKS.md, "Lateral voxel of the patch").
const MG_KEEP_DRIFT: f64 = std::f64::consts::LN_2;

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

/// Preconditioner of the unsplit scheme's conjugate-gradient solves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UnsplitPreconditioner {
    /// Banded Cholesky where the band is small (axisymmetric and narrow grids), otherwise the
    /// multigrid V-cycle (z-line block Jacobi for a periodic z axis).
    #[default]
    Auto,
    /// The previous choice, for comparisons: banded Cholesky where the band is small, z-line
    /// block Jacobi otherwise.
    ZLine,
    /// The multigrid V-cycle on any grid without a periodic z axis (z-line block Jacobi else).
    Multigrid,
}

impl UnsplitPreconditioner {
    /// Name as accepted by [`UnsplitPreconditioner::parse`].
    pub fn name(self) -> &'static str {
        match self {
            UnsplitPreconditioner::Auto => "auto",
            UnsplitPreconditioner::ZLine => "zline",
            UnsplitPreconditioner::Multigrid => "multigrid",
        }
    }

    /// `auto`, `zline` or `multigrid`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Some(UnsplitPreconditioner::Auto),
            "zline" | "z-line" => Some(UnsplitPreconditioner::ZLine),
            "multigrid" | "mg" => Some(UnsplitPreconditioner::Multigrid),
            _ => None,
        }
    }
}

/// Linear-solver state of one species (preconditioner and statistics).
#[derive(Debug, Clone)]
pub(crate) struct SpeciesSolver {
    assembled: Option<Assembled>,
    band: Option<BandFactor>,
    zline: Option<ZLineFactor>,
    mg: Option<Multigrid>,
    /// Clamp the negatives of a converged solve with `b ≥ 0` (always on; off only in tests
    /// that show what it removes).
    pub clamp_negatives: bool,
    /// Which preconditioner to use.
    pub choice: UnsplitPreconditioner,
    last_iterations: usize,
    /// Iterations of the first solve after the current preconditioner was built.
    fresh_iterations: usize,
    /// Whether the current preconditioner was built during the current solve.
    built_now: bool,
    /// The operator's drift when the multigrid hierarchy was built.
    mg_drift: f64,
    /// Totals over the run: solves, CG iterations, factorisations.
    pub solves: u64,
    pub iterations: u64,
    pub factorisations: u64,
}

impl Default for SpeciesSolver {
    fn default() -> Self {
        SpeciesSolver {
            assembled: None,
            band: None,
            zline: None,
            mg: None,
            clamp_negatives: true,
            choice: UnsplitPreconditioner::Auto,
            last_iterations: 0,
            fresh_iterations: 0,
            built_now: false,
            mg_drift: 0.0,
            solves: 0,
            iterations: 0,
            factorisations: 0,
        }
    }
}

/// The coefficients of one solve: `M = α V (1 + κh λ)`-style combination, see [`apply`].
#[derive(Clone, Copy)]
pub(crate) struct Coeffs<'a> {
    pub kh: f64,
    pub decay: &'a Coefficient,
    pub decay_version: u64,
}

/// What one unsplit linear solve reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SolveOutcome {
    /// Iterations taken.
    pub iterations: usize,
    /// Whether the tolerance was met.
    pub converged: bool,
    /// Relative residual reached (in the preconditioner's norm for the CPU solver).
    pub residual: f64,
}

/// One species' implicit unsplit system `[V (1 + κh λ) + κh K] x = b` as handed to
/// [`Backend::unsplit_solve`](super::Backend::unsplit_solve): the operator (mesh, face
/// conductances, boundaries), the coefficients (κh, decay) and the CPU solver state of the
/// species (preconditioner, counters). A backend that solves elsewhere reads the operator through
/// the accessors; the CPU backend calls [`UnsplitSolve::solve_on_cpu`].
pub struct UnsplitSolve<'a> {
    pub(crate) solver: &'a mut SpeciesSolver,
    pub(crate) op: OperatorView<'a>,
    pub(crate) co: Coeffs<'a>,
    pub(crate) work: &'a mut Work,
    pub(crate) tolerance: f64,
    pub(crate) max_iterations: usize,
}

impl UnsplitSolve<'_> {
    /// Grid shape `[nx, ny, nz]` (index order `(k·ny + j)·nx + i`).
    pub fn shape(&self) -> [usize; 3] {
        self.op.mesh.n
    }
    /// `κh`: the step (or stage) length multiplying `K` and `λ`, s.
    pub fn kh(&self) -> f64 {
        self.co.kh
    }
    /// Linear decay rate `λ` per voxel, 1/s.
    pub fn decay(&self) -> &Coefficient {
        self.co.decay
    }
    /// Storage capacity per voxel (`None`: 1 everywhere): the mass matrix is `diag(C V)` and
    /// the decay term `C V λ` ([`super::Species::capacity`]).
    pub fn capacity(&self) -> Option<&[f64]> {
        self.op.capacity
    }
    /// Diffusivity storage (face conductances for per-voxel diffusivities).
    pub fn diffusivity(&self) -> &DiffusivityStorage {
        self.op.storage
    }
    /// Boundary conditions of the six faces.
    pub fn boundaries(&self) -> &[Boundary; 6] {
        self.op.boundaries
    }
    /// Operator generation (bumped when diffusivities change): keys cached factorisations.
    pub fn generation(&self) -> u64 {
        self.op.generation
    }
    /// Relative residual to reach.
    pub fn tolerance(&self) -> f64 {
        self.tolerance
    }
    /// Iteration limit.
    pub fn max_iterations(&self) -> usize {
        self.max_iterations
    }
    /// The CPU solver: preconditioned CG from the initial guess in `x` (banded Cholesky,
    /// multigrid or z-line preconditioner), negatives clamped for `b ≥ 0`, mass balance restored.
    pub fn solve_on_cpu(self, b: &[f64], x: &mut [f64]) -> SolveOutcome {
        self.solver.solve(
            &self.op,
            &self.co,
            b,
            x,
            self.work,
            self.tolerance,
            self.max_iterations,
        )
    }
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
pub(crate) fn cross(mesh: &Mesh, axis: usize, c: [usize; 3]) -> f64 {
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
///
/// Each row is built in a few passes over its cells (centre, x faces, then each y and z
/// neighbour row that exists), every pass a branch-free loop over contiguous slices.
#[allow(clippy::too_many_arguments)]
fn apply(
    mesh: &Mesh,
    asm: &Assembled,
    pv: &PerVoxelConductances,
    decay: &Coefficient,
    cap: Option<&[f64]>,
    alpha: f64,
    beta: f64,
    x: &[f64],
    y: &mut [f64],
) {
    let [nx, ny, nz] = mesh.n;
    let plane = nx * ny;
    assert!(x.len() == plane * nz && y.len() == x.len(), "field length");
    let [wx, wy, wz] = [&mesh.axes[0].w, &mesh.axes[1].w, &mesh.axes[2].w];
    let vf = mesh.volume_factor;
    let per = asm.periodic;
    let [t0, t1, t2] = [&pv.t[0], &pv.t[1], &pv.t[2]];
    y.par_chunks_mut(plane).enumerate().for_each(|(k, yp)| {
        for j in 0..ny {
            let r0 = (k * ny + j) * nx;
            let yr = &mut yp[j * nx..(j + 1) * nx];
            let xr = &x[r0..r0 + nx];
            let vol_jk = vf * wy[j] * wz[k];
            // Centre: α V + β (V λ + diag_k), V times the capacity where there is one.
            let dk = &asm.diag_k[r0..r0 + nx];
            match (decay, cap) {
                (Coefficient::Uniform(lam), Some(cap)) => {
                    let cr = &cap[r0..r0 + nx];
                    for ((((yv, xv), w), d), c) in
                        yr.iter_mut().zip(xr).zip(&wx[..nx]).zip(dk).zip(cr)
                    {
                        let vol = vol_jk * w * c;
                        *yv = (alpha * vol + beta * (vol * lam + d)) * xv;
                    }
                }
                (Coefficient::PerVoxel(l), Some(cap)) => {
                    let (lr, cr) = (&l[r0..r0 + nx], &cap[r0..r0 + nx]);
                    for (((((yv, xv), w), d), lam), c) in
                        yr.iter_mut().zip(xr).zip(&wx[..nx]).zip(dk).zip(lr).zip(cr)
                    {
                        let vol = vol_jk * w * c;
                        *yv = (alpha * vol + beta * (vol * lam + d)) * xv;
                    }
                }
                (Coefficient::Uniform(lam), None) => {
                    for (((yv, xv), w), d) in yr.iter_mut().zip(xr).zip(&wx[..nx]).zip(dk) {
                        let vol = vol_jk * w;
                        *yv = (alpha * vol + beta * (vol * lam + d)) * xv;
                    }
                }
                (Coefficient::PerVoxel(l), None) => {
                    let lr = &l[r0..r0 + nx];
                    for ((((yv, xv), w), d), lam) in
                        yr.iter_mut().zip(xr).zip(&wx[..nx]).zip(dk).zip(lr)
                    {
                        let vol = vol_jk * w;
                        *yv = (alpha * vol + beta * (vol * lam + d)) * xv;
                    }
                }
            }
            // x faces: t0[v] couples v − 1 and v (0 at i = 0).
            let kx_w = beta * vol_jk;
            if nx > 1 {
                let tr = &t0[r0 + 1..r0 + nx];
                for ((yv, t), xv) in yr[1..].iter_mut().zip(tr).zip(&xr[..nx - 1]) {
                    *yv -= kx_w * t * xv;
                }
                for ((yv, t), xv) in yr[..nx - 1].iter_mut().zip(tr).zip(&xr[1..]) {
                    *yv -= kx_w * t * xv;
                }
                if per[0] {
                    let g = kx_w * pv.g_lo[0][k * ny + j];
                    yr[0] -= g * xr[nx - 1];
                    yr[nx - 1] -= g * xr[0];
                }
            }
            // y and z neighbour rows: (offset, face conductances of this row's low faces or of
            // the neighbour row's, weight per cell).
            let ky_w = beta * vf * wz[k];
            let kz_w = beta * vf * wy[j];
            let mut couple = |q0: usize, t: &[f64], w: f64| {
                let (xq, tq) = (&x[q0..q0 + nx], &t[..nx]);
                for (((yv, xv), tv), wv) in yr.iter_mut().zip(xq).zip(tq).zip(&wx[..nx]) {
                    *yv -= w * wv * tv * xv;
                }
            };
            // Per axis (y, z): this row's position, cells and stride along it, face
            // conductances, wrap conductances of its lines, weight, periodicity.
            for (p, n, st, t, g, w, wrap) in [
                (j, ny, nx, t1, &pv.g_lo[1][k * nx..], ky_w, per[1]),
                (k, nz, plane, t2, &pv.g_lo[2][j * nx..], kz_w, per[2]),
            ] {
                if n < 2 {
                    continue;
                }
                if p > 0 {
                    couple(r0 - st, &t[r0..], w);
                }
                if p + 1 < n {
                    couple(r0 + st, &t[r0 + st..], w);
                }
                if wrap && (p == 0 || p + 1 == n) {
                    let q0 = if p == 0 {
                        r0 + (n - 1) * st
                    } else {
                        r0 - (n - 1) * st
                    };
                    couple(q0, g, w);
                }
            }
        }
    });
}

/// Which preconditioner a solve uses.
enum Kind {
    Band((usize, bool)),
    Multigrid,
    ZLine,
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
        cap: Option<&[f64]>,
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
            let vol = mesh.volume(c[0], c[1], c[2]) * cap.map_or(1.0, |cp| cp[v]);
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
        cap: Option<&[f64]>,
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
                        let vol = mesh.volume(i, j, k) * cap.map_or(1.0, |cp| cp[v]);
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
#[derive(Clone, Copy)]
pub(crate) struct OperatorView<'a> {
    pub mesh: &'a Mesh,
    pub storage: &'a DiffusivityStorage,
    pub boundaries: &'a [Boundary; 6],
    pub generation: u64,
    /// [`super::operator::DiffusionOperator::drift`].
    pub drift: f64,
    /// Storage capacity per voxel (`None`: 1): the mass matrix is `diag(C V)`.
    pub capacity: Option<&'a [f64]>,
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
        apply(
            op.mesh,
            asm,
            asm.pv(op.storage),
            decay,
            op.capacity,
            alpha,
            beta,
            x,
            y,
        );
    }

    /// The boundary conductances `g` of the low z face's cells (the first plane, in index
    /// order): a Dirichlet value `c` there adds `g c` to the boundary sources.
    pub(crate) fn low_z_conductances(&mut self, op: &OperatorView) -> Vec<f64> {
        self.assembled(op);
        let asm = self.assembled.as_ref().expect("built");
        let pv = asm.pv(op.storage);
        let mesh = op.mesh;
        let [nx, ny, _] = mesh.n;
        (0..nx * ny)
            .map(|v| {
                let (i, j) = (v % nx, v / nx);
                cross(mesh, 2, [i, j, 0]) * pv.g_lo[2][line_index(mesh, 2, i, j, 0)]
            })
            .collect()
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
                    add += mesh.volume(c[0], c[1], c[2]) * op.capacity.map_or(1.0, |cp| cp[v]) * s;
                }
                *yv += beta * add;
            }
        });
    }

    /// `z = P⁻¹ r`; returns `r·z`.
    fn precondition(&mut self, mesh: &Mesh, r: &[f64], z: &mut [f64]) -> f64 {
        let _t = solve_probe::Timer::new(&solve_probe::PRECONDITION_NS);
        if let Some(f) = &mut self.mg {
            // The V-cycle accumulates r·z in its last smoothing passes.
            return f.apply(r, z);
        }
        if let Some(f) = &mut self.band {
            f.solve(mesh, r, z);
        } else if let Some(f) = &self.zline {
            f.solve(mesh, r, z);
        } else {
            z.copy_from_slice(r);
        }
        dot(r, z)
    }

    fn current_key(&self) -> Option<(u64, f64, u64)> {
        self.band
            .as_ref()
            .map(|f| f.key)
            .or(self.mg.as_ref().map(|f| f.key))
            .or(self.zline.as_ref().map(|f| f.key))
    }

    fn refresh_preconditioner(&mut self, op: &OperatorView, co: &Coeffs, force: bool) {
        let key = (op.generation, co.kh, co.decay_version);
        let asm = self.assembled.as_ref().expect("assembled before");
        let pv = asm.pv(op.storage);
        let fresh = self.current_key() == Some(key);
        let mg_ok = multigrid::supported(op.boundaries);
        let kind = match (self.choice, band_layout(op.mesh, op.boundaries)) {
            (UnsplitPreconditioner::Multigrid, _) if mg_ok => Kind::Multigrid,
            (UnsplitPreconditioner::Auto | UnsplitPreconditioner::ZLine, Some(l)) => Kind::Band(l),
            (UnsplitPreconditioner::ZLine, None) => Kind::ZLine,
            (UnsplitPreconditioner::Auto, None) if mg_ok => Kind::Multigrid,
            _ => Kind::ZLine,
        };
        // A stale banded factor is kept while it costs few iterations, a stale hierarchy while
        // it costs at most one more than when it was fresh (and the step is close to its own);
        // the z-line factor costs about one matrix product: always kept fresh.
        let keep = match kind {
            Kind::Band(_) => self.band.is_some() && self.last_iterations <= REFACTOR_AFTER,
            Kind::Multigrid => self.mg.as_ref().is_some_and(|m| {
                let r = co.kh / m.key.1;
                (1.0 / MG_KEEP_KH..=MG_KEEP_KH).contains(&r)
                    && self.last_iterations <= self.fresh_iterations + MG_KEEP_EXTRA
                    && op.drift - self.mg_drift <= MG_KEEP_DRIFT
            }),
            Kind::ZLine => false,
        };
        if fresh || (!force && keep) {
            return;
        }
        self.factorisations += 1;
        self.built_now = true;
        let _t = solve_probe::Timer::new(&solve_probe::SETUP_NS);
        self.band = None;
        self.zline = None;
        let recycle = self.mg.take();
        match kind {
            Kind::Band((b, transposed)) => {
                self.band = Some(BandFactor::factor(
                    op.mesh,
                    asm,
                    pv,
                    co.decay,
                    op.capacity,
                    co.kh,
                    b,
                    transposed,
                    key,
                ));
            }
            Kind::Multigrid => {
                self.mg_drift = op.drift;
                self.mg = Some(Multigrid::build(
                    op.mesh,
                    pv,
                    op.boundaries,
                    co.decay,
                    op.capacity,
                    co.kh,
                    key,
                    recycle,
                ));
            }
            Kind::ZLine => {
                self.zline = Some(ZLineFactor::factor(
                    op.mesh,
                    asm,
                    pv,
                    co.decay,
                    op.capacity,
                    co.kh,
                    key,
                ));
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    /// Solves `[V (1 + κh λ) + κh K] x = b` by PCG from the initial guess in `x`, to
    /// `‖r‖_{P⁻¹} ≤ tol ‖b‖_{P⁻¹}`.
    ///
    /// The system is linear, so it is solved for `x·2^-e` with `b·2^-e`, where `2^e` is the
    /// power of two nearest `max |b|`, whenever `max |b|` lies outside `[2^-200, 2^200]`. CG's dot
    /// products are products of two field-sized numbers: a field that has decayed to ~1e-150
    /// (e.g. days after the product was wiped off and the skin cleared it) makes them underflow
    /// to subnormals and zero, `p·Ap = 0`, and the step `α = r·z / p·Ap` becomes infinite.
    /// Scaling by a power of two is exact for normal numbers, so a solve that never leaves the
    /// normal range gives bit-identical results either way.
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
        let bmax = b
            .par_chunks(CHUNK)
            .map(|c| c.iter().fold(0.0f64, |m, v| m.max(v.abs())))
            .reduce(|| 0.0, f64::max);
        let (lo, hi) = (2f64.powi(-SCALE_WINDOW_EXP), 2f64.powi(SCALE_WINDOW_EXP));
        if bmax > 0.0 && bmax.is_finite() && !(lo..=hi).contains(&bmax) {
            let e = (bmax.log2().round() as i32).clamp(-1000, 1000);
            let (down, up) = (pow2(-e), pow2(e));
            let bs: Vec<f64> = b.par_iter().map(|v| v * down).collect();
            x.par_chunks_mut(CHUNK).for_each(|x| {
                for v in x {
                    *v *= down;
                }
            });
            let out = self.solve_in_range(op, co, &bs, x, work, tol, max_iter);
            x.par_chunks_mut(CHUNK).for_each(|x| {
                for v in x {
                    *v *= up;
                }
            });
            return out;
        }
        self.solve_in_range(op, co, b, x, work, tol, max_iter)
    }

    #[allow(clippy::too_many_arguments)]
    /// [`Self::solve`] for a right-hand side whose magnitude keeps CG's dot products normal.
    fn solve_in_range(
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
            self.precondition(mesh, b, z)
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
            let mut rz = self.precondition(mesh, r, z);
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
                    if self.current_key() != Some(key) {
                        restarted = true;
                        self.refresh_preconditioner(op, co, true);
                        bnorm2 = self.precondition(mesh, b, z);
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
                let rz_new = self.precondition(mesh, r, z);
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
        if outcome.converged && self.clamp_negatives {
            // Positivity: M is a nonsingular M-matrix (M⁻¹ ≥ 0), so for b ≥ 0 the exact solution
            // is ≥ 0; CG's negatives (of the order of the tolerance) are clamped to zero, and the
            // rescaling below restores the mass balance. (A TR-BDF2 stage can have b < 0 and a
            // legitimately negative solution: no clamping then.)
            let b_nonneg = b
                .par_chunks(CHUNK)
                .map(|c| c.iter().all(|v| *v >= 0.0))
                .collect::<Vec<bool>>()
                .iter()
                .all(|ok| *ok);
            if b_nonneg {
                x.par_chunks_mut(CHUNK).for_each(|x| {
                    for v in x {
                        if *v < 0.0 {
                            *v = 0.0;
                        }
                    }
                });
            }
        }
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
        solve_probe::record(outcome.iterations as u64);
        self.last_iterations = outcome.iterations;
        if std::mem::take(&mut self.built_now) {
            self.fresh_iterations = outcome.iterations;
        }
        self.solves += 1;
        self.iterations += outcome.iterations as u64;
        outcome
    }
}

/// `max |b|` outside `[2^-SCALE_WINDOW_EXP, 2^SCALE_WINDOW_EXP]` is rescaled before CG (see
/// [`SpeciesSolver::solve`]): squares and products of numbers inside the window (and of the
/// solution, about `b / V`) stay far from both ends of the double range.
const SCALE_WINDOW_EXP: i32 = 200;

/// `2^e` exactly, for `|e| ≤ 1000` (as a product of two normal powers of two).
fn pow2(e: i32) -> f64 {
    let h = e / 2;
    2f64.powi(h) * 2f64.powi(e - h)
}

/// Process-wide counters of the unsplit solves (CG iterations, solves, time in preconditioner
/// set-up and application) for benchmarks that run the engine through higher-level models; a
/// measuring tool, not part of the API. Integer counters only: they never influence results.
#[doc(hidden)]
pub mod solve_probe {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Instant;

    static SOLVES: AtomicU64 = AtomicU64::new(0);
    static ITERATIONS: AtomicU64 = AtomicU64::new(0);
    pub(crate) static SETUP_NS: AtomicU64 = AtomicU64::new(0);
    pub(crate) static PRECONDITION_NS: AtomicU64 = AtomicU64::new(0);

    pub(crate) fn record(iterations: u64) {
        SOLVES.fetch_add(1, Ordering::Relaxed);
        ITERATIONS.fetch_add(iterations, Ordering::Relaxed);
    }

    pub(crate) struct Timer<'a>(&'a AtomicU64, Instant);
    impl<'a> Timer<'a> {
        pub(crate) fn new(c: &'a AtomicU64) -> Self {
            Timer(c, Instant::now())
        }
    }
    impl Drop for Timer<'_> {
        fn drop(&mut self) {
            self.0
                .fetch_add(self.1.elapsed().as_nanos() as u64, Ordering::Relaxed);
        }
    }

    /// Counters since the last reset.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct Snapshot {
        /// Linear solves.
        pub solves: u64,
        /// CG iterations.
        pub iterations: u64,
        /// Wall time building preconditioners (s).
        pub setup_s: f64,
        /// Wall time applying preconditioners (s).
        pub precondition_s: f64,
    }

    /// Reads and resets the counters.
    pub fn take() -> Snapshot {
        Snapshot {
            solves: SOLVES.swap(0, Ordering::Relaxed),
            iterations: ITERATIONS.swap(0, Ordering::Relaxed),
            setup_s: SETUP_NS.swap(0, Ordering::Relaxed) as f64 * 1e-9,
            precondition_s: PRECONDITION_NS.swap(0, Ordering::Relaxed) as f64 * 1e-9,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{
        Boundary, Grid3, Problem, Scheme, Simulation, SolverSettings, Species, UnsplitMethod,
        UnsplitPreconditioner,
    };

    /// A concentration step (1 | 0) across a long thin grid with a high-contrast channel, one
    /// short backward-Euler step at tolerance 1e-3: the exact solution far ahead of the front is
    /// ~1e-20, CG's error there is ~1e-9 of either sign. Unclamped, negatives appear; clamped,
    /// none, and the mass stays conserved to round-off.
    #[test]
    fn unsplit_clamps_negatives_and_keeps_mass() {
        let (nx, ny, nz) = (64, 4, 10);
        let z: Vec<f64> = (0..=nz).map(|k| 2e-6 * (k as f64).powf(1.3)).collect();
        let grid = Grid3::with_z_faces(nx, ny, 10e-6, 10e-6, z).unwrap();
        let n = grid.len();
        let mut d = vec![1e-10; n];
        let mut c0 = vec![0.0; n];
        for k in 0..3 {
            for j in 0..ny {
                for i in 0..nx {
                    let ch = (6..9).contains(&i) && j < 2;
                    d[(k * ny + j) * nx + i] = if ch { 7e-10 } else { 1e-14 };
                }
            }
        }
        // A step: 1 in the left half (x < 1/2), 0 in the right half.
        for (v, c) in c0.iter_mut().enumerate() {
            if v % nx < nx / 2 {
                *c = 1.0;
            }
        }
        let h = 1.0;
        let mut out = Vec::new();
        for clamp in [false, true] {
            let problem = Problem::builder(grid.clone())
                .species(Species::new("c", d.clone()).initial(c0.clone()))
                .boundary_everywhere(Boundary::ZeroFlux)
                .build()
                .unwrap();
            let scheme = Scheme::Unsplit {
                method: UnsplitMethod::BackwardEuler,
                tolerance: 1e-3,
            };
            let mut sim =
                Simulation::new(problem, SolverSettings::fixed(h).with_scheme(scheme)).unwrap();
            sim.set_unsplit_preconditioner(UnsplitPreconditioner::Multigrid);
            sim.set_unsplit_clamp(clamp);
            let m0 = sim.total_amount(0);
            sim.step(h).unwrap();
            let min = sim
                .fields()
                .as_slice()
                .iter()
                .fold(f64::MAX, |m, x| m.min(*x));
            let drift = ((sim.total_amount(0) - m0) / m0).abs();
            out.push((min, drift));
        }
        let ((min_off, _), (min_on, drift_on)) = (out[0], out[1]);
        println!("h {h}: min unclamped {min_off:e}, clamped {min_on:e}, drift {drift_on:e}");
        assert!(
            min_off < 0.0,
            "the unclamped solve had no negatives ({min_off})"
        );
        assert!(min_on >= 0.0, "negatives left: {min_on}");
        assert!(drift_on < 1e-12, "mass drift {drift_on}");
    }
}
