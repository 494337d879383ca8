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
#[cfg(target_arch = "x86_64")]
use super::kernel::has_avx2;
use super::kernel::{
    LineEnd, TileScratch, UniformLine, VarParams, X_BLOCK, solve_tile_variable, transpose_in,
    transpose_out,
};
use super::operator::{
    DiffusionOperator, DiffusivityStorage, boundary_conductance, face_conductance,
};
use super::problem::{Boundary, Coefficient};
use super::unsplit::{SolveOutcome, UnsplitSolve};

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

    // --- Unsplit scheme seam (docs/TRANSPORT.md, "Backend seam") ---

    /// One species' implicit unsplit solve `[V (1 + κh λ) + κh K] x = b` ([`UnsplitSolve`]),
    /// from the initial guess in `x` (the extrapolated previous fields). The default is the CPU
    /// solver (preconditioned conjugate gradients), which [`CpuBackend`] uses; another backend
    /// may solve the same system its own way (reading the operator through the accessors of
    /// [`UnsplitSolve`]) as long as it meets the tolerance, keeps `x ≥ 0` for `b ≥ 0` and the
    /// discrete mass balance `Σ A x = Σ b`.
    fn unsplit_solve(
        &mut self,
        system: UnsplitSolve<'_>,
        b: &[f64],
        x: &mut [f64],
    ) -> SolveOutcome {
        system.solve_on_cpu(b, x)
    }
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

type CacheKey = (usize, usize, u64, u64);

/// The multi-threaded CPU backend (rayon). Use [`rayon::ThreadPool::install`] to choose the
/// number of threads; results do not depend on it.
#[derive(Debug, Default)]
pub struct CpuBackend {
    cache: HashMap<CacheKey, (u64, Arc<UniformLine>)>,
}

/// Doubles per tile (about 256 KiB), so a tile's forward and backward passes stay in L2.
const TILE_DOUBLES: usize = 32 * 1024;

/// Largest xy plane (doubles) swept as a single y tile (~384 KiB).
const PLANE_IN_L2: usize = 48 * 1024;

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
        // A layered capacity C_k only acts along z (it is constant within a z level, where it
        // cancels): rows divided by C_k, faces with the harmonic mean of D·C.
        let cap = |p: usize| match (&ctx.op.capacity_z, sw.axis) {
            (Some(c), 2) => c[p],
            _ => 1.0,
        };
        let inv_w: Vec<f64> =
            ax.w.iter()
                .enumerate()
                .map(|(p, w)| 1.0 / (w * cap(p)))
                .collect();
        let t_face: Vec<f64> = (0..n.saturating_sub(1))
            .map(|p| {
                face_conductance(
                    ax.area[p + 1],
                    ax.half[p],
                    d * cap(p),
                    ax.half[p + 1],
                    d * cap(p + 1),
                )
            })
            .collect();
        let (blo, bhi) = (
            ctx.op.boundaries[2 * sw.axis],
            ctx.op.boundaries[2 * sw.axis + 1],
        );
        let wrap = (blo == Boundary::Periodic).then(|| {
            face_conductance(
                ax.area[0],
                ax.half[n - 1],
                d * cap(n - 1),
                ax.half[0],
                d * cap(0),
            )
        });
        let end = |b: Boundary, area: f64, half: f64, c: f64| LineEnd {
            g: boundary_conductance(b, area, half, d * c),
            cb: boundary_value(b),
            aq: area * boundary_flux_density(b),
        };
        let line = Arc::new(UniformLine::new(
            &inv_w,
            &t_face,
            end(blo, ax.area[0], ax.half[0], cap(0)),
            end(bhi, ax.area[n], ax.half[n - 1], cap(n - 1)),
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
    /// Distance between rows in the field (for x jobs: between lines).
    stride: usize,
    w: usize,
    /// Index of the tile's first line (for per-line boundary arrays).
    line0: usize,
    /// True for x sweeps: the lines are contiguous and are transposed into a scratch tile.
    transpose: bool,
}

/// The jobs of one sweep along `axis` restricted to the xy plane `k` (x and y sweeps only).
fn plane_jobs(mesh: &Mesh, axis: usize, k: usize, out: &mut Vec<Job>) {
    let [nx, ny, _] = mesh.n;
    let plane = nx * ny;
    match axis {
        0 => {
            // All ny lines of the plane in one job; the kernel blocks them by X_BLOCK.
            out.push(Job {
                offset: k * plane,
                stride: nx,
                w: ny,
                line0: k * ny,
                transpose: true,
            });
        }
        _ => {
            // The plane is in cache (just swept in x, or about to be): one full-width tile when
            // it fits in L2, so every row is one contiguous run.
            let tw = if plane <= PLANE_IN_L2 {
                nx
            } else {
                tile_width(ny, nx)
            };
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
}

fn jobs(mesh: &Mesh, axis: usize) -> Vec<Job> {
    let [nx, ny, nz] = mesh.n;
    let plane = nx * ny;
    let mut out = Vec::new();
    match axis {
        0 | 1 => {
            for k in 0..nz {
                if axis == 0 {
                    // Split planes into blocks of lines so that small-nz grids still spread.
                    let mut j0 = 0;
                    while j0 < ny {
                        let w = (4 * X_BLOCK).min(ny - j0);
                        out.push(Job {
                            offset: k * plane + j0 * nx,
                            stride: nx,
                            w,
                            line0: k * ny + j0,
                            transpose: true,
                        });
                        j0 += w;
                    }
                } else {
                    plane_jobs(mesh, axis, k, &mut out);
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
    /// Scratch of the y sweep when it is interleaved with the x sweep of the same plane.
    scr_y: TileScratch,
    tile: Vec<f64>,
    tile_t: Vec<f64>,
    jobs: Vec<Job>,
}

/// How one sweep is executed on a job (a tile of lines).
enum Exec<'a> {
    /// Skipped axis (one cell, closed): only the right-hand side scale applies.
    Scale(f64),
    Uniform {
        line: Arc<UniformLine>,
        scale: f64,
    },
    PerVoxel {
        prm: VarParams<'a>,
        t: &'a [f64],
        glo: &'a [f64],
        ghi: &'a [f64],
    },
}

impl Exec<'_> {
    /// Runs the sweep on one job.
    ///
    /// # Safety
    /// `base` is the field; the job's lines must be exclusively owned by this call.
    unsafe fn run(&self, base: *mut f64, n: usize, job: &Job, wk: &mut Work) -> bool {
        // SAFETY: the job addresses valid, exclusively owned lines of the field (caller).
        unsafe {
            let data = base.add(job.offset);
            match self {
                Exec::Scale(_) => unreachable!("scale-only sweeps are handled by the callers"),
                Exec::Uniform { line, scale } => {
                    if job.transpose {
                        let Work { scr, tile, .. } = wk;
                        line.solve_x_lines(data, job.stride, job.w, *scale, scr, tile)
                    } else {
                        line.solve_tile(data, job.stride, job.w, *scale, &mut wk.scr)
                    }
                }
                Exec::PerVoxel { prm, t, glo, ghi } => {
                    let tp = t.as_ptr().add(job.offset);
                    if job.transpose {
                        let Work {
                            scr, tile, tile_t, ..
                        } = wk;
                        let mut bad = false;
                        let mut l0 = 0;
                        let avx = has_avx();
                        while l0 < job.w {
                            let w = X_BLOCK.min(job.w - l0);
                            let (d, tt) = (data.add(l0 * job.stride), tp.add(l0 * job.stride));
                            tile.resize(n * w, 0.0);
                            tile_t.resize(n * w, 0.0);
                            transpose_in_any(avx, d, job.stride, n, w, tile.as_mut_ptr());
                            transpose_in_any(avx, tt, job.stride, n, w, tile_t.as_mut_ptr());
                            let r = job.line0 + l0..job.line0 + l0 + w;
                            bad |= solve_tile_variable(
                                tile.as_mut_ptr(),
                                tile_t.as_ptr(),
                                w,
                                n,
                                w,
                                &glo[r.clone()],
                                &ghi[r],
                                prm,
                                scr,
                            );
                            transpose_out_any(avx, d, job.stride, n, w, tile.as_ptr());
                            l0 += w;
                        }
                        bad
                    } else {
                        let r = job.line0..job.line0 + job.w;
                        solve_tile_variable(
                            data,
                            tp,
                            job.stride,
                            n,
                            job.w,
                            &glo[r.clone()],
                            &ghi[r],
                            prm,
                            &mut wk.scr,
                        )
                    }
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn has_avx() -> bool {
    has_avx2()
}
#[cfg(not(target_arch = "x86_64"))]
fn has_avx() -> bool {
    false
}

/// # Safety
/// See [`transpose_in`].
unsafe fn transpose_in_any(
    avx: bool,
    src: *const f64,
    stride: usize,
    n: usize,
    w: usize,
    dst: *mut f64,
) {
    // SAFETY: forwarded; the AVX variant only when the CPU has it.
    unsafe {
        if avx {
            transpose_in::<true>(src, stride, n, w, dst)
        } else {
            transpose_in::<false>(src, stride, n, w, dst)
        }
    }
}

/// # Safety
/// See [`transpose_out`].
unsafe fn transpose_out_any(
    avx: bool,
    dst: *mut f64,
    stride: usize,
    n: usize,
    w: usize,
    src: *const f64,
) {
    // SAFETY: forwarded; the AVX variant only when the CPU has it.
    unsafe {
        if avx {
            transpose_out::<true>(dst, stride, n, w, src)
        } else {
            transpose_out::<false>(dst, stride, n, w, src)
        }
    }
}

/// Runs one sweep over the whole field, tiles in parallel.
fn run_sweep(field: &mut [f64], mesh: &Mesh, axis: usize, exec: &Exec<'_>) -> bool {
    if let Exec::Scale(s) = exec {
        return scale_field(field, *s);
    }
    let n = mesh.n[axis];
    let jobs = jobs(mesh, axis);
    debug_assert_eq!(field.len(), mesh.len());
    let base = SyncPtr(field.as_mut_ptr());
    jobs.par_iter()
        .map_init(Work::default, |wk, job| {
            // SAFETY: jobs partition the field into disjoint sets of lines: x jobs own distinct
            // rows, y jobs distinct column ranges of one plane, z jobs distinct column ranges of
            // the xy plane; so each element is written by exactly one job.
            unsafe { exec.run(base.get(), n, job, wk) }
        })
        .reduce(|| false, |a, b| a | b)
}

/// Runs two consecutive in-plane sweeps (x then y, or y then x) plane by plane: each xy plane
/// gets both sweeps while it is in cache, which saves one pass over memory. Every line sees the
/// same operations as with two separate sweeps (the sweeps of one plane never touch another),
/// so results are bit-identical.
fn run_plane_pair(field: &mut [f64], mesh: &Mesh, pair: [(usize, &Exec<'_>); 2]) -> bool {
    let nz = mesh.n[2];
    let plane = mesh.n[0] * mesh.n[1];
    let base = SyncPtr(field.as_mut_ptr());
    // Constant coefficients on both axes (y not periodic): one interleaved kernel per plane.
    let interleaved = match pair {
        [
            (
                ax,
                Exec::Uniform {
                    line: la,
                    scale: sa,
                },
            ),
            (
                _,
                Exec::Uniform {
                    line: lb,
                    scale: sb,
                },
            ),
        ] => {
            let ((lx, sx), (ly, sy)) = if ax == 0 {
                ((la, *sa), (lb, *sb))
            } else {
                ((lb, *sb), (la, *sa))
            };
            (!ly.is_cyclic()).then_some((lx.clone(), ly.clone(), sx, sy, ax == 0))
        }
        _ => None,
    };
    if let Some((lx, ly, sx, sy, x_first)) = interleaved {
        return (0..nz)
            .into_par_iter()
            .map_init(Work::default, |wk, k| {
                let Work {
                    scr, scr_y, tile, ..
                } = wk;
                // SAFETY: plane k is owned by this task.
                unsafe {
                    lx.solve_xy_plane(
                        &ly,
                        x_first,
                        base.get().add(k * plane),
                        sx,
                        sy,
                        scr,
                        scr_y,
                        tile,
                    )
                }
            })
            .reduce(|| false, |a, b| a | b);
    }
    (0..nz)
        .into_par_iter()
        .map_init(Work::default, |wk, k| {
            let mut bad = false;
            for (axis, exec) in pair {
                // SAFETY: plane k is owned by this task; its jobs partition it.
                unsafe {
                    if let Exec::Scale(s) = exec {
                        let p = std::slice::from_raw_parts_mut(base.get().add(k * plane), plane);
                        bad |= scale_slice(p, *s);
                        continue;
                    }
                    let mut js = std::mem::take(&mut wk.jobs);
                    js.clear();
                    plane_jobs(mesh, axis, k, &mut js);
                    for job in &js {
                        bad |= exec.run(base.get(), mesh.n[axis], job, wk);
                    }
                    wk.jobs = js;
                }
            }
            bad
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
        // Per-axis inverse cell measures for the per-voxel path (borrowed by the executors).
        let inv_w: [Vec<f64>; 3] =
            std::array::from_fn(|a| mesh.axes[a].w.iter().map(|w| 1.0 / w).collect());
        let execs: Vec<Exec<'_>> = sweeps
            .iter()
            .map(|sw| {
                let axis = sw.axis;
                let (blo, bhi) = (ctx.op.boundaries[2 * axis], ctx.op.boundaries[2 * axis + 1]);
                if mesh.n[axis] == 1 && blo == Boundary::ZeroFlux && bhi == Boundary::ZeroFlux {
                    return Exec::Scale(sw.scale);
                }
                match &ctx.op.diffusivity {
                    DiffusivityStorage::Uniform(d) => Exec::Uniform {
                        line: self.uniform_line(ctx, *d, sw),
                        scale: sw.scale,
                    },
                    DiffusivityStorage::PerVoxel(pv) => {
                        let ax = &mesh.axes[axis];
                        Exec::PerVoxel {
                            prm: VarParams {
                                theta: sw.theta,
                                h: sw.h,
                                inv_w: &inv_w[axis],
                                lo_cb: boundary_value(blo),
                                lo_aq: ax.area[0] * boundary_flux_density(blo),
                                hi_cb: boundary_value(bhi),
                                hi_aq: ax.area[ax.n] * boundary_flux_density(bhi),
                                periodic: blo == Boundary::Periodic,
                                scale: sw.scale,
                            },
                            t: &pv.t[axis],
                            glo: &pv.g_lo[axis],
                            ghi: &pv.g_hi[axis],
                        }
                    }
                }
            })
            .collect();
        // Fuse an x sweep and a y sweep that follow each other when there are enough planes to
        // keep every thread busy (fusion never changes results, only the memory traffic).
        let fuse = mesh.n[2] >= 4 * rayon::current_num_threads();
        let mut bad = false;
        let mut i = 0;
        while i < sweeps.len() {
            let a = sweeps[i].axis;
            if fuse && i + 1 < sweeps.len() && a < 2 && sweeps[i + 1].axis == 1 - a {
                bad |= run_plane_pair(
                    field,
                    mesh,
                    [(a, &execs[i]), (sweeps[i + 1].axis, &execs[i + 1])],
                );
                i += 2;
            } else {
                bad |= run_sweep(field, mesh, a, &execs[i]);
                i += 1;
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

fn scale_slice(x: &mut [f64], s: f64) -> bool {
    let mut acc = 0.0;
    for v in x.iter_mut() {
        *v *= s;
        acc += *v * 0.0;
    }
    acc != 0.0
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

/// Per-axis sweep timings for `cargo bench -p needlesim-transport --bench transport -- axes`; a
/// measuring tool, not part of the API.
#[doc(hidden)]
pub mod perf_probe {
    use super::*;
    use crate::grid::{Geometry, Grid3};

    /// CPU time of all threads of this process (ns), from /proc (robust on a loaded machine).
    fn cpu_ns() -> u64 {
        let mut t = 0;
        if let Ok(rd) = std::fs::read_dir("/proc/self/task") {
            for e in rd.flatten() {
                if let Ok(s) = std::fs::read_to_string(e.path().join("schedstat")) {
                    t += s
                        .split_whitespace()
                        .next()
                        .and_then(|x| x.parse::<u64>().ok())
                        .unwrap_or(0);
                }
            }
        }
        t
    }

    /// Times each sweep axis alone and the fused x+y pass with `threads` threads on grids of
    /// side `ns`. GB/s counts one read and one write of the field per sweep (16 B/voxel), also
    /// for the fused pair (2 sweeps).
    pub fn sweep_axis_timing(threads: usize, ns: &[usize]) {
        let ns = ns.to_vec();
        let Ok(pool) = rayon::ThreadPoolBuilder::new().num_threads(threads).build() else {
            eprintln!("cannot build a thread pool of {threads}");
            return;
        };
        pool.install(|| {
            for n in ns {
                let g: Geometry = Grid3::uniform([n; 3], [1e-5; 3]).unwrap().into();
                let mesh = g.mesh();
                let op = DiffusionOperator {
                    diffusivity: DiffusivityStorage::Uniform(1e-9),
                    boundaries: [Boundary::ZeroFlux; 6],
                    generation: 0,
                    drift: 0.0,
                    capacity_z: None,
                    capacity: None,
                };
                let ctx = DiffusionContext { mesh: &mesh, species: 0, op: &op };
                let mut f = vec![1.0; mesh.len()];
                let mut be = CpuBackend::new();
                for theta in [1.0, 0.5] {
                    let cases: [&[usize]; 4] = [&[0], &[1], &[2], &[0, 1]];
                    for axes in cases {
                        let sw: Vec<SweepSpec> = axes
                            .iter()
                            .map(|&axis| SweepSpec { axis, theta, h: 0.1, scale: 1.0 })
                            .collect();
                        be.diffuse(&ctx, &mut f, &sw);
                        let reps = (20_000_000 / mesh.len()).max(10);
                        let (c0, t0) = (cpu_ns(), std::time::Instant::now());
                        for _ in 0..reps {
                            be.diffuse(&ctx, &mut f, &sw);
                        }
                        let t = t0.elapsed().as_secs_f64() / reps as f64;
                        let c = (cpu_ns() - c0) as f64 * 1e-9 / reps as f64;
                        let bytes = 16.0 * mesh.len() as f64 * axes.len() as f64;
                        println!(
                            "n={n} threads={threads} theta={theta} axes {axes:?}: wall {:.2} ms ({:.1} GB/s)  cpu {:.2} ms ({:.1} GB/s per core-s)",
                            t * 1e3,
                            bytes / t / 1e9,
                            c * 1e3,
                            bytes / c / 1e9
                        );
                    }
                }
            }
        });
    }
}
