//! The backend seam: where the numerical heavy lifting happens.
//!
//! Model code talks to [`super::Simulation`]; the simulation asks a [`Backend`] to run the
//! implicit 1-D diffusion sweeps of each species and the pointwise linear decay/source step. The
//! CPU implementation ([`CpuBackend`]) uses rayon over independent tiles of lines; a GPU backend
//! can implement the same trait later (it receives the same [`DiffusionContext`] with all
//! coefficients and boundaries) without any change to models.
//!
//! Determinism: every line is solved by the same sequence of floating-point operations no matter
//! which thread runs it or how tiles are scheduled, and no reduction depends on scheduling, so
//! results are bit-identical for any thread count.

use std::collections::HashMap;
use std::sync::Arc;

use rayon::prelude::*;

use super::grid::Mesh;
use super::kernel::{LineEnd, TileScratch, UniformLine, VarParams, solve_tile_variable};
use super::operator::{
    DiffusionOperator, DiffusivityStorage, boundary_conductance, face_conductance,
};
use super::problem::{Boundary, Coefficient};

/// One implicit 1-D sub-step: `(I − θ h L_axis) c' = (I + (1 − θ) h L_axis) c`, with the
/// right-hand side multiplied by `scale` (used to fold an exact uniform decay factor in).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SweepSpec {
    /// 0 = x (or r), 1 = y, 2 = z.
    pub axis: usize,
    /// 1 = backward Euler, ½ = Crank–Nicolson.
    pub theta: f64,
    /// Sub-step length (s).
    pub h: f64,
    /// Factor applied to the right-hand side.
    pub scale: f64,
}

/// Everything a backend needs to sweep one species.
pub struct DiffusionContext<'a> {
    pub(crate) mesh: &'a Mesh,
    /// Species index.
    pub species: usize,
    /// The species' discrete operator.
    pub op: &'a DiffusionOperator,
}

impl DiffusionContext<'_> {
    /// Cells per axis `[nx, ny, nz]`.
    pub fn shape(&self) -> [usize; 3] {
        self.mesh.n
    }
    /// 1-D cell measures `w_p` of `axis` (see `docs/TRANSPORT.md`).
    pub fn cell_measure(&self, axis: usize) -> &[f64] {
        &self.mesh.axes[axis].w
    }
    /// 1-D face area factors of `axis` (`n + 1` values).
    pub fn face_area(&self, axis: usize) -> &[f64] {
        &self.mesh.axes[axis].area
    }
    /// Centre-to-face distances of `axis`.
    pub fn half_width(&self, axis: usize) -> &[f64] {
        &self.mesh.axes[axis].half
    }
}

/// A compute backend for the transport engine.
pub trait Backend: Send {
    /// Short name for reports.
    fn name(&self) -> &'static str;

    /// Runs the given implicit sweeps, in order, on `field` (the values of one species, index
    /// order `(k * ny + j) * nx + i`). Returns `true` if a non-finite value was produced.
    fn diffuse(
        &mut self,
        ctx: &DiffusionContext<'_>,
        field: &mut [f64],
        sweeps: &[SweepSpec],
    ) -> bool;

    /// Exact pointwise step of `dc/dt = S − λ c` over `h` for one species. Returns `true` if a
    /// non-finite value was produced.
    fn decay_source(
        &mut self,
        field: &mut [f64],
        decay: &Coefficient,
        source: &Coefficient,
        h: f64,
    ) -> bool;
}

#[derive(Clone, Copy)]
struct SyncPtr(*mut f64);
// SAFETY: tasks only touch disjoint parts of the pointee (documented at each use).
unsafe impl Send for SyncPtr {}
unsafe impl Sync for SyncPtr {}
impl SyncPtr {
    fn get(self) -> *mut f64 {
        self.0
    }
}

#[derive(Clone, Copy)]
struct SyncConstPtr(*const f64);
// SAFETY: read-only sharing.
unsafe impl Send for SyncConstPtr {}
unsafe impl Sync for SyncConstPtr {}
impl SyncConstPtr {
    fn get(self) -> *const f64 {
        self.0
    }
}

type CacheKey = (usize, usize, u64, u64);

/// The multi-threaded CPU backend (rayon). Use [`rayon::ThreadPool::install`] to choose the
/// number of threads; results do not depend on it.
#[derive(Debug, Default)]
pub struct CpuBackend {
    cache: HashMap<CacheKey, (u64, Arc<UniformLine>)>,
}

/// Doubles per tile (about 256 KiB), so a tile's forward and backward passes stay in L2.
const TILE_DOUBLES: usize = 32 * 1024;
/// x-lines solved together after transposition.
const X_BLOCK: usize = 16;

fn tile_width(n_line: usize, max: usize) -> usize {
    let w = (TILE_DOUBLES / n_line.max(1)).clamp(16, 1024);
    let w = (w / 8).max(2) * 8;
    w.min(max).max(1)
}

impl CpuBackend {
    /// A new backend with empty caches.
    pub fn new() -> Self {
        CpuBackend::default()
    }

    fn uniform_line(
        &mut self,
        ctx: &DiffusionContext<'_>,
        d: f64,
        sw: &SweepSpec,
    ) -> Arc<UniformLine> {
        let key = (ctx.species, sw.axis, sw.theta.to_bits(), sw.h.to_bits());
        if let Some((g, l)) = self.cache.get(&key)
            && *g == ctx.op.generation
        {
            return l.clone();
        }
        if self.cache.len() > 256 {
            self.cache.clear();
        }
        let ax = &ctx.mesh.axes[sw.axis];
        let n = ax.n;
        let inv_w: Vec<f64> = ax.w.iter().map(|w| 1.0 / w).collect();
        let t_face: Vec<f64> = (0..n.saturating_sub(1))
            .map(|p| face_conductance(ax.area[p + 1], ax.half[p], d, ax.half[p + 1], d))
            .collect();
        let (blo, bhi) = (
            ctx.op.boundaries[2 * sw.axis],
            ctx.op.boundaries[2 * sw.axis + 1],
        );
        let wrap = (blo == Boundary::Periodic)
            .then(|| face_conductance(ax.area[0], ax.half[n - 1], d, ax.half[0], d));
        let end = |b: Boundary, area: f64, half: f64| LineEnd {
            g: boundary_conductance(b, area, half, d),
            cb: boundary_value(b),
            aq: area * boundary_flux_density(b),
        };
        let line = Arc::new(UniformLine::new(
            &inv_w,
            &t_face,
            end(blo, ax.area[0], ax.half[0]),
            end(bhi, ax.area[n], ax.half[n - 1]),
            wrap,
            sw.theta,
            sw.h,
        ));
        self.cache.insert(key, (ctx.op.generation, line.clone()));
        line
    }
}

pub(crate) fn boundary_value(b: Boundary) -> f64 {
    match b {
        Boundary::Dirichlet(c) => c,
        Boundary::Robin { c_ext, .. } => c_ext,
        _ => 0.0,
    }
}

pub(crate) fn boundary_flux_density(b: Boundary) -> f64 {
    match b {
        Boundary::Flux(q) => q,
        _ => 0.0,
    }
}

/// A unit of parallel work: a tile of `w` lines.
#[derive(Clone, Copy)]
struct Job {
    /// Offset of the tile's first element (row 0, line 0) in the field.
    offset: usize,
    /// Distance between rows in the field.
    stride: usize,
    w: usize,
    /// Index of the tile's first line (for per-line boundary arrays).
    line0: usize,
    /// True for x sweeps: the tile is transposed into scratch first.
    transpose: bool,
}

fn jobs(mesh: &Mesh, axis: usize) -> Vec<Job> {
    let [nx, ny, nz] = mesh.n;
    let plane = nx * ny;
    let mut out = Vec::new();
    match axis {
        0 => {
            for k in 0..nz {
                let mut j0 = 0;
                while j0 < ny {
                    let w = X_BLOCK.min(ny - j0);
                    out.push(Job {
                        offset: k * plane + j0 * nx,
                        stride: nx,
                        w,
                        line0: k * ny + j0,
                        transpose: true,
                    });
                    j0 += w;
                }
            }
        }
        1 => {
            let tw = tile_width(ny, nx);
            for k in 0..nz {
                let mut i0 = 0;
                while i0 < nx {
                    let w = tw.min(nx - i0);
                    out.push(Job {
                        offset: k * plane + i0,
                        stride: nx,
                        w,
                        line0: k * nx + i0,
                        transpose: false,
                    });
                    i0 += w;
                }
            }
        }
        _ => {
            let tw = tile_width(nz, plane);
            let mut x0 = 0;
            while x0 < plane {
                let w = tw.min(plane - x0);
                out.push(Job {
                    offset: x0,
                    stride: plane,
                    w,
                    line0: x0,
                    transpose: false,
                });
                x0 += w;
            }
        }
    }
    out
}

#[derive(Default)]
struct Work {
    scr: TileScratch,
    tile: Vec<f64>,
    tile_t: Vec<f64>,
}

/// Transposes `w` contiguous lines of length `n` (line `l` at `src + l * stride`) into
/// `dst[p * w + l]`.
///
/// # Safety
/// The source lines must be valid for reads.
unsafe fn gather(src: *const f64, stride: usize, n: usize, w: usize, dst: &mut Vec<f64>) {
    dst.resize(n * w, 0.0);
    for l in 0..w {
        // SAFETY: caller contract.
        let line = unsafe { std::slice::from_raw_parts(src.add(l * stride), n) };
        for (p, x) in line.iter().enumerate() {
            dst[p * w + l] = *x;
        }
    }
}

/// Inverse of [`gather`].
///
/// # Safety
/// The destination lines must be valid for writes and exclusively owned.
unsafe fn scatter(dst: *mut f64, stride: usize, n: usize, w: usize, src: &[f64]) {
    for l in 0..w {
        // SAFETY: caller contract.
        let line = unsafe { std::slice::from_raw_parts_mut(dst.add(l * stride), n) };
        for (p, x) in line.iter_mut().enumerate() {
            *x = src[p * w + l];
        }
    }
}

fn run_jobs<F>(
    field: &mut [f64],
    t_field: Option<&[f64]>,
    mesh: &Mesh,
    axis: usize,
    solve: F,
) -> bool
where
    F: Fn(*mut f64, *const f64, usize, &Job, &mut TileScratch) -> bool + Sync,
{
    let n = mesh.n[axis];
    let jobs = jobs(mesh, axis);
    debug_assert_eq!(field.len(), mesh.len());
    let base = SyncPtr(field.as_mut_ptr());
    let tbase = SyncConstPtr(t_field.map_or(std::ptr::null(), |t| t.as_ptr()));
    jobs.par_iter()
        .map_init(Work::default, |wk, job| {
            // SAFETY: jobs partition the field into disjoint sets of lines: x jobs own distinct
            // rows, y jobs distinct column ranges of one plane, z jobs distinct column ranges of
            // the xy plane; so each element is written by exactly one job.
            unsafe {
                let data = base.get().add(job.offset);
                let t = if tbase.get().is_null() {
                    tbase.get()
                } else {
                    tbase.get().add(job.offset)
                };
                if job.transpose {
                    let Work { scr, tile, tile_t } = wk;
                    gather(data, job.stride, n, job.w, tile);
                    let tp = if t.is_null() {
                        t
                    } else {
                        gather(t, job.stride, n, job.w, tile_t);
                        tile_t.as_ptr()
                    };
                    let bad = solve(tile.as_mut_ptr(), tp, job.w, job, scr);
                    scatter(data, job.stride, n, job.w, tile);
                    bad
                } else {
                    solve(data, t, job.stride, job, &mut wk.scr)
                }
            }
        })
        .reduce(|| false, |a, b| a | b)
}

impl Backend for CpuBackend {
    fn name(&self) -> &'static str {
        "cpu-rayon"
    }

    fn diffuse(
        &mut self,
        ctx: &DiffusionContext<'_>,
        field: &mut [f64],
        sweeps: &[SweepSpec],
    ) -> bool {
        let mesh = ctx.mesh;
        let mut bad = false;
        for sw in sweeps {
            let axis = sw.axis;
            let (blo, bhi) = (ctx.op.boundaries[2 * axis], ctx.op.boundaries[2 * axis + 1]);
            if mesh.n[axis] == 1 && blo == Boundary::ZeroFlux && bhi == Boundary::ZeroFlux {
                if sw.scale != 1.0 {
                    bad |= scale_field(field, sw.scale);
                }
                continue;
            }
            match &ctx.op.diffusivity {
                DiffusivityStorage::Uniform(d) => {
                    let line = self.uniform_line(ctx, *d, sw);
                    let scale = sw.scale;
                    bad |= run_jobs(field, None, mesh, axis, |data, _t, stride, job, scr| {
                        // SAFETY: run_jobs hands each call an exclusive tile.
                        unsafe { line.solve_tile(data, stride, job.w, scale, scr) }
                    });
                }
                DiffusivityStorage::PerVoxel(pv) => {
                    let ax = &mesh.axes[axis];
                    let inv_w: Vec<f64> = ax.w.iter().map(|w| 1.0 / w).collect();
                    let prm = VarParams {
                        theta: sw.theta,
                        h: sw.h,
                        inv_w: &inv_w,
                        lo_cb: boundary_value(blo),
                        lo_aq: ax.area[0] * boundary_flux_density(blo),
                        hi_cb: boundary_value(bhi),
                        hi_aq: ax.area[ax.n] * boundary_flux_density(bhi),
                        periodic: blo == Boundary::Periodic,
                        scale: sw.scale,
                    };
                    let (glo, ghi) = (&pv.g_lo[axis], &pv.g_hi[axis]);
                    let n = ax.n;
                    bad |= run_jobs(
                        field,
                        Some(&pv.t[axis]),
                        mesh,
                        axis,
                        |data, t, stride, job, scr| {
                            let r = job.line0..job.line0 + job.w;
                            // SAFETY: run_jobs hands each call an exclusive tile and matching T rows.
                            unsafe {
                                solve_tile_variable(
                                    data,
                                    t,
                                    stride,
                                    n,
                                    job.w,
                                    &glo[r.clone()],
                                    &ghi[r],
                                    &prm,
                                    scr,
                                )
                            }
                        },
                    );
                }
            }
        }
        bad
    }

    fn decay_source(
        &mut self,
        field: &mut [f64],
        decay: &Coefficient,
        source: &Coefficient,
        h: f64,
    ) -> bool {
        decay_source_cpu(field, decay, source, h)
    }
}

fn scale_field(field: &mut [f64], s: f64) -> bool {
    field
        .par_chunks_mut(1 << 14)
        .map(|ch| {
            let mut acc = 0.0;
            for x in ch.iter_mut() {
                *x *= s;
                acc += *x * 0.0;
            }
            acc != 0.0
        })
        .reduce(|| false, |a, b| a | b)
}

/// Exact solution of `c' = S − λ c` over `h`: `c e^{−λh} + S (1 − e^{−λh}) / λ`.
#[inline]
pub(crate) fn exp_factors(lambda: f64, h: f64) -> (f64, f64) {
    let x = lambda * h;
    let e = (-x).exp();
    // (1 − e^{−x})/λ = h · (1 − e^{−x})/x, with a series for small x (no cancellation).
    let phi = if x < 1e-5 {
        h * (1.0 - 0.5 * x + x * x / 6.0)
    } else {
        -(-x).exp_m1() / lambda
    };
    (e, phi)
}

pub(crate) fn decay_source_cpu(
    field: &mut [f64],
    decay: &Coefficient,
    source: &Coefficient,
    h: f64,
) -> bool {
    const CH: usize = 1 << 14;
    field
        .par_chunks_mut(CH)
        .enumerate()
        .map(|(ci, ch)| {
            let v0 = ci * CH;
            let mut acc = 0.0;
            // One-entry memo: layered coefficients repeat, so exp() is rarely evaluated.
            let mut memo = (f64::NAN, 1.0, 0.0);
            for (o, x) in ch.iter_mut().enumerate() {
                let lam = decay.at(v0 + o);
                if lam.to_bits() != memo.0.to_bits() {
                    let (e, phi) = exp_factors(lam, h);
                    memo = (lam, e, phi);
                }
                *x = *x * memo.1 + source.at(v0 + o) * memo.2;
                acc += *x * 0.0;
            }
            acc != 0.0
        })
        .reduce(|| false, |a, b| a | b)
}

#[cfg(test)]
mod perf_probe {
    use super::*;
    use crate::transport::grid::{Geometry, Grid3};

    /// Times each sweep axis alone (run with `--ignored --nocapture` in release).
    #[test]
    #[ignore]
    fn sweep_axis_timing() {
        for n in [100usize, 128] {
            let g: Geometry = Grid3::uniform([n; 3], [1e-5; 3]).unwrap().into();
            let mesh = g.mesh();
            let op = DiffusionOperator {
                diffusivity: DiffusivityStorage::Uniform(1e-9),
                boundaries: [Boundary::ZeroFlux; 6],
                generation: 0,
            };
            let ctx = DiffusionContext {
                mesh: &mesh,
                species: 0,
                op: &op,
            };
            let mut f = vec![1.0; mesh.len()];
            let mut be = CpuBackend::new();
            for theta in [1.0, 0.5] {
                for axis in 0..3 {
                    let sw = [SweepSpec {
                        axis,
                        theta,
                        h: 0.1,
                        scale: 1.0,
                    }];
                    be.diffuse(&ctx, &mut f, &sw);
                    let t0 = std::time::Instant::now();
                    for _ in 0..10 {
                        be.diffuse(&ctx, &mut f, &sw);
                    }
                    let t = t0.elapsed().as_secs_f64() / 10.0;
                    println!(
                        "n={n} theta={theta} axis {axis}: {:.2} ms  {:.1} GB/s",
                        t * 1e3,
                        16.0 * mesh.len() as f64 / t / 1e9
                    );
                }
            }
        }
    }
}
