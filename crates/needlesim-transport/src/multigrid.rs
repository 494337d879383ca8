//! Lateral-semicoarsening multigrid V-cycle: a symmetric positive definite preconditioner for the
//! conjugate-gradient solve of the unsplit scheme on wide grids (see `unsplit.rs`).
//!
//! The matrix `A = V (1 + κh λ) + κh K` of one species is a symmetric M-matrix with a 7-point
//! stencil. Each level stores it as
//!
//! ```text
//! (A x)_p = d_p x_p − Σ_q c_pq x_q,     d_p = m_p + Σ_q c_pq,   c_pq ≥ 0, m_p ≥ 0
//! ```
//!
//! (`m` = volume, decay and boundary-conductance part). The hierarchy:
//!
//! * **semicoarsening in x and y only**: z keeps full resolution on every level (it is the thin,
//!   variable-spacing, stiff direction of layered skin);
//! * **piecewise-constant aggregation** of 2 × 2 lateral cells (`P` = injection, `R = Pᵀ`) and the
//!   **Galerkin operator** `A_c = Pᵀ A P`: coarse couplings are sums of the fine couplings between
//!   the aggregates and `m_c = Σ m`, so every level is again a 7-point M-matrix built without
//!   cancellation, and the 10⁴-10⁵ coefficient jumps of channels against stratum corneum are
//!   represented exactly in the coarse conductances (no averaging of diffusivities);
//! * **z-line Gauss–Seidel smoothing**: each z line's tridiagonal block solved exactly (Thomas)
//!   with its lateral neighbours on the right-hand side, lines in a red-black (zebra) colouring
//!   of the x-y plane so that the lines of one colour are independent (parallel, deterministic).
//!   One pre-smoothing pass per colour in order, one post-smoothing pass per colour in reverse
//!   (its adjoint), so the V-cycle is a symmetric positive definite operator and a valid CG
//!   preconditioner. Work the exact cycle does not need is skipped: the first pass starts from
//!   zero without clearing or reading neighbours, the prolongation is folded into the first
//!   post-smoothing pass (a line solve never reads its own old values, so only the neighbours
//!   need the correction), and the last passes accumulate `r·z` for CG;
//! * the **coarsest level** (≤ 64 lines) is solved exactly by a banded Cholesky factor.
//!
//! Periodic lateral axes keep their wrap couplings on every level (an odd periodic axis gets
//! extra colours on its seam so that the colouring stays proper); a periodic z axis is not
//! supported (the caller falls back to z-line block Jacobi).
//!
//! Determinism: every operation is per line or per cell with a fixed order of its own terms,
//! lines of one colour do not read each other, and sums are taken over fixed blocks of rows in a
//! fixed order, so results do not depend on the thread count.

use rayon::prelude::*;

use super::grid::Mesh;
use super::operator::{PerVoxelConductances, line_index};
use super::problem::{Boundary, Coefficient};
use super::unsplit::cross;

/// Scale of the Galerkin lateral couplings on the coarse levels. With piecewise-constant
/// aggregation of 2 × 2 lateral cells, `Pᵀ A P` sums the two fine faces between neighbouring
/// aggregates but keeps the fine distance, so its lateral couplings are twice those of the same
/// operator discretised on the coarse grid (the z couplings and the volume terms are exact):
/// the coarse problem is too stiff laterally and the V-cycle's corrections are too small, more
/// so with every level (the known weakness of unsmoothed aggregation; Braess 1995, Computing 55,
/// 379-393, scales the coarse-grid correction for the same reason). Halving them restores the
/// coarse-grid scaling while keeping every level a symmetric M-matrix, so the V-cycle stays a
/// valid CG preconditioner. Measured on a 4 mm lidocaine patch (742 400 voxels, 58 steps):
/// 1.4× fewer CG iterations than the plain Galerkin couplings (docs/TRANSPORT.md).
const LATERAL_SCALE: f64 = 0.5;
/// Rows (y) per task of a smoothing pass.
const ROW_BLOCK: usize = 16;
/// Stop coarsening once a level has at most this many z lines.
const COARSEST_LINES: usize = 64;

/// A raw pointer shared by parallel tasks (`f64` fields and the `f32` couplings).
struct SyncPtr<T>(*mut T);
// Not derived: a derive would require `T: Clone`/`Copy`, which the pointer does not need.
impl<T> Clone for SyncPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for SyncPtr<T> {}
// SAFETY: every parallel task writes only the cells of its own lines, and no task reads a cell
// that another task of the same phase writes (proper colouring; documented at each use).
unsafe impl<T> Send for SyncPtr<T> {}
unsafe impl<T> Sync for SyncPtr<T> {}
impl<T> SyncPtr<T> {
    /// The pointer (a method, so closures capture the whole `Sync` wrapper).
    #[inline(always)]
    fn get(self) -> *mut T {
        self.0
    }
}

/// One level of the hierarchy: a 7-point M-matrix on `n = [nx, ny, nz]` cells.
#[derive(Debug, Clone)]
struct Level {
    n: [usize; 3],
    /// Lateral periodicity (only for axes of at least 2 cells).
    periodic: [bool; 2],
    /// Diagonal `d` (double precision: it carries the small volume term `m` next to the
    /// couplings, so that every level keeps its exact row sums `m ≥ 0`).
    diag: Vec<f64>,
    /// Coupling to the x neighbour below (at `i = 0`: the wrap coupling of a periodic axis).
    /// The couplings are stored in single precision: the V-cycle streams them from memory
    /// several times per application, and a preconditioner needs no more digits. Each is
    /// stored once for both of its cells, so every level stays exactly symmetric.
    cx: Vec<f32>,
    /// Coupling to the y neighbour below (at `j = 0`: the wrap coupling).
    cy: Vec<f32>,
    /// Coupling to the z neighbour below (0 at `k = 0`).
    cz: Vec<f32>,
    /// Thomas factor of each z line: `1 / denominator` (double precision: in single precision
    /// the V-cycle's asymmetry rose to ~4e-10 on near-singular lines; the other factor,
    /// `c' = −cz_up / denominator`, is recomputed where it is needed rather than streamed from
    /// memory).
    inv: Vec<f64>,
    /// Per colour, per row `j`: the `i` of that row's lines of the colour.
    colours: Vec<Vec<Vec<u32>>>,
    /// Aggregation factors from the finer level (1 or 2 per lateral axis; level 0: 1).
    factor: [usize; 2],
    /// Right-hand side and correction (levels ≥ 1).
    b: Vec<f64>,
    x: Vec<f64>,
}

/// The multigrid hierarchy of one operator (one species, one κh, one decay generation).
#[derive(Debug, Clone)]
pub(crate) struct Multigrid {
    levels: Vec<Level>,
    coarse: CoarseFactor,
    /// What it was built for: generation, κh, decay version.
    pub(crate) key: (u64, f64, u64),
}

fn colour_of(i: usize, j: usize, n: [usize; 3], periodic: [bool; 2]) -> usize {
    let xs = periodic[0] && n[0] % 2 == 1 && n[0] > 1 && i + 1 == n[0];
    let ys = periodic[1] && n[1] % 2 == 1 && n[1] > 1 && j + 1 == n[1];
    match (xs, ys) {
        (true, true) => 4,
        (true, false) => 2 + j % 2,
        (false, true) => 2 + i % 2,
        _ => (i + j) % 2,
    }
}

impl Level {
    fn empty(n: [usize; 3], periodic: [bool; 2], factor: [usize; 2], pool: &mut Pool) -> Self {
        let len = n[0] * n[1] * n[2];
        let mut colours: Vec<Vec<Vec<u32>>> = vec![vec![Vec::new(); n[1]]; 5];
        for j in 0..n[1] {
            for i in 0..n[0] {
                colours[colour_of(i, j, n, periodic)][j].push(i as u32);
            }
        }
        colours.retain(|c| c.iter().any(|r| !r.is_empty()));
        Level {
            n,
            periodic,
            diag: pool.take(len),
            cx: pool.take32(len),
            cy: pool.take32(len),
            cz: pool.take32(len),
            inv: pool.take(len),
            colours,
            factor,
            b: Vec::new(),
            x: Vec::new(),
        }
    }

    fn len(&self) -> usize {
        self.n[0] * self.n[1] * self.n[2]
    }

    /// The x-y rows whose values the lateral couplings of row `(j, k)` read: the row below and
    /// above in y (the wrap rows of a periodic axis at its ends), `None` where there is none.
    #[inline]
    fn neighbour_rows(&self, j: usize, k: usize) -> [Option<usize>; 2] {
        let [nx, ny, _] = self.n;
        let row = |jj: usize| (k * ny + jj) * nx;
        let lo = if j > 0 {
            Some(row(j - 1))
        } else if self.periodic[1] {
            Some(row(ny - 1))
        } else {
            None
        };
        let hi = if j + 1 < ny {
            Some(row(j + 1))
        } else if self.periodic[1] {
            Some(row(0))
        } else {
            None
        };
        [lo, hi]
    }

    /// `out[i] = init[i] + Σ_q c_pq x_q` (`init` absent: `out[i] += …`) over the lateral
    /// neighbours of every cell of row `(j, k)`, from the values `own` of that row and `lo`/`hi`
    /// of its y neighbour rows (as given by [`Level::neighbour_rows`]). Branch-free loops over
    /// contiguous slices.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn lateral_row(
        &self,
        j: usize,
        k: usize,
        own: &[f64],
        lo: Option<&[f64]>,
        hi: Option<&[f64]>,
        init: Option<&[f64]>,
        out: &mut [f64],
    ) {
        let [nx, ny, _] = self.n;
        let r0 = (k * ny + j) * nx;
        let (own, out) = (&own[..nx], &mut out[..nx]);
        let cx = &self.cx[r0..r0 + nx];
        // x faces: cx[i] couples i − 1 and i (at i = 0: the wrap coupling).
        if let Some(init) = init {
            out[0] = init[0];
            for (((o, iv), c), xv) in out[1..]
                .iter_mut()
                .zip(&init[1..nx])
                .zip(&cx[1..])
                .zip(&own[..nx - 1])
            {
                *o = iv + *c as f64 * xv;
            }
        } else {
            for ((o, c), xv) in out[1..].iter_mut().zip(&cx[1..]).zip(&own[..nx - 1]) {
                *o += *c as f64 * xv;
            }
        }
        for ((o, c), xv) in out[..nx - 1].iter_mut().zip(&cx[1..]).zip(&own[1..]) {
            *o += *c as f64 * xv;
        }
        if self.periodic[0] {
            out[0] += cx[0] as f64 * own[nx - 1];
            out[nx - 1] += cx[0] as f64 * own[0];
        }
        // y faces: cy of this row (low faces; at j = 0 the wrap coupling) and of the row
        // above (at the top row of a periodic axis: row 0's wrap coupling).
        if let Some(lo) = lo {
            let cy = &self.cy[r0..r0 + nx];
            for ((o, c), xv) in out.iter_mut().zip(cy).zip(&lo[..nx]) {
                *o += *c as f64 * xv;
            }
        }
        if let Some(hi) = hi {
            let h0 = if j + 1 < ny { r0 + nx } else { k * ny * nx };
            let cy = &self.cy[h0..h0 + nx];
            for ((o, c), xv) in out.iter_mut().zip(cy).zip(&hi[..nx]) {
                *o += *c as f64 * xv;
            }
        }
    }

    /// `out = b − A x` on row `(j, k)`.
    fn residual_row(&self, b: &[f64], x: &[f64], j: usize, k: usize, out: &mut [f64]) {
        let [nx, ny, nz] = self.n;
        let plane = nx * ny;
        let r0 = (k * ny + j) * nx;
        let out = &mut out[..nx];
        let (xr, d) = (&x[r0..r0 + nx], &self.diag[r0..r0 + nx]);
        for (((o, bv), dv), xv) in out.iter_mut().zip(&b[r0..r0 + nx]).zip(d).zip(xr) {
            *o = bv - dv * xv;
        }
        let [lo, hi] = self.neighbour_rows(j, k);
        self.lateral_row(
            j,
            k,
            xr,
            lo.map(|q| &x[q..q + nx]),
            hi.map(|q| &x[q..q + nx]),
            None,
            out,
        );
        if k > 0 {
            let cz = &self.cz[r0..r0 + nx];
            for ((o, c), xv) in out.iter_mut().zip(cz).zip(&x[r0 - plane..r0 - plane + nx]) {
                *o += *c as f64 * xv;
            }
        }
        if k + 1 < nz {
            let cz = &self.cz[r0 + plane..r0 + plane + nx];
            for ((o, c), xv) in out.iter_mut().zip(cz).zip(&x[r0 + plane..r0 + plane + nx]) {
                *o += *c as f64 * xv;
            }
        }
    }

    /// `d` from `m` and the couplings, then the Thomas factors of every z line.
    fn finish(&mut self, m: &[f64]) {
        let [nx, ny, nz] = self.n;
        let plane = nx * ny;
        let mut diag = std::mem::take(&mut self.diag);
        {
            let lv = &*self;
            diag.par_chunks_mut(plane).enumerate().for_each(|(k, dp)| {
                for j in 0..ny {
                    for i in 0..nx {
                        let o = j * nx + i;
                        let v = k * plane + o;
                        // Σ of all couplings: the lateral sum with x = 1.
                        let mut s = m[v];
                        s += lv.cx[v] as f64;
                        if i + 1 < nx {
                            s += lv.cx[v + 1] as f64;
                        } else if lv.periodic[0] {
                            s += lv.cx[v + 1 - nx] as f64;
                        }
                        s += lv.cy[v] as f64;
                        if j + 1 < ny {
                            s += lv.cy[v + nx] as f64;
                        } else if lv.periodic[1] {
                            s += lv.cy[v - (ny - 1) * nx] as f64;
                        }
                        s += lv.cz[v] as f64;
                        if k + 1 < nz {
                            s += lv.cz[v + plane] as f64;
                        }
                        dp[o] = s;
                    }
                }
            });
        }
        self.diag = diag;
        self.factor_lines();
    }

    /// Thomas factors of every z line (lines in parallel, each written only by its own task).
    fn factor_lines(&mut self) {
        let [nx, ny, nz] = self.n;
        let plane = nx * ny;
        let len = self.len();
        assert!(self.inv.len() == len, "factor length");
        let invp = SyncPtr(self.inv.as_mut_ptr());
        let (diag, cz) = (&self.diag, &self.cz);
        (0..ny).into_par_iter().for_each(|j| {
            for i in 0..nx {
                let mut prev_cp = 0.0;
                for k in 0..nz {
                    let v = k * plane + j * nx + i;
                    let den = if k > 0 {
                        diag[v] + cz[v] as f64 * prev_cp
                    } else {
                        diag[v]
                    };
                    let id = 1.0 / den;
                    let up = if k + 1 < nz {
                        -(cz[v + plane] as f64)
                    } else {
                        0.0
                    };
                    // SAFETY: cell v belongs to row j, which only this task writes.
                    unsafe {
                        *invp.get().add(v) = id;
                    }
                    prev_cp = up * id;
                }
            }
        });
    }

    /// One colour pass of z-line Gauss–Seidel on `x` for `A x = b`; returns `Σ b·x` over the
    /// lines it relaxed when `dot` is set (0 otherwise).
    ///
    /// `pass` says what the lateral neighbours read: [`Pass::Plain`] reads `x`;
    /// [`Pass::Zero`] treats `x` as zero on entry (a zero initial guess: no neighbour is read,
    /// and the pass writes every cell of `x`, the other colours' cells as 0, so `x` needs no
    /// clearing); [`Pass::Corrected`] reads `x + P e`, the prolongated coarse correction `e`
    /// (the line solve overwrites its own cells without reading them, so with at most two
    /// colours the correction never has to be added to `x` itself).
    fn relax_colour(&self, colour: usize, b: &[f64], x: &mut [f64], pass: Pass, dot: bool) -> f64 {
        let [nx, ny, nz] = self.n;
        let plane = nx * ny;
        let rows = &self.colours[colour];
        assert_eq!(x.len(), self.len(), "field length");
        assert_eq!(b.len(), self.len(), "right-hand side length");
        if let Pass::Corrected { e, cn, shift } = pass {
            assert_eq!(e.len(), cn[0] * cn[1] * nz, "correction length");
            assert!(
                (nx - 1) >> shift[0] < cn[0] && (ny - 1) >> shift[1] < cn[1],
                "correction grid"
            );
        }
        let xp = SyncPtr(x.as_mut_ptr());
        // Tasks own blocks of ROW_BLOCK rows and sweep them plane by plane (all their lines
        // advance one k at a time), so that every array is streamed in runs of a block's rows
        // rather than one row; the lateral couplings are summed over whole rows (contiguous,
        // vectorisable loops) and used at this colour's cells. A task reads the whole rows next
        // to its block, so blocks that share a boundary run in different phases (even blocks,
        // then odd ones; the last block of an odd count on a periodic y axis on its own): no
        // task reads a cell that another task is writing. Lines of one colour are independent,
        // so the phases change nothing in the result, and the block size is fixed, so the
        // partial sums of `dot` do not depend on the threads.
        let nb = ny.div_ceil(ROW_BLOCK);
        let phase_of = |blk: usize| {
            if self.periodic[1] && nb > 1 && nb % 2 == 1 && blk + 1 == nb {
                2
            } else {
                blk % 2
            }
        };
        let work = |blk: usize| -> f64 {
            let js = blk * ROW_BLOCK..((blk + 1) * ROW_BLOCK).min(ny);
            // SAFETY: all indices are in bounds (checked lengths, neighbours inside the
            // grid, correction indices inside the checked coarse grid); this task writes
            // only cells of its rows (in a zero pass all of them, otherwise the lines
            // (i, j) of this colour); the rows it reads outside its block belong to blocks
            // of other phases, which no task writes during this phase (and a zero pass
            // reads no neighbours); within its block it reads the other colour's cells,
            // and its own lines only after it wrote them.
            let get = |q: usize| unsafe { *xp.get().add(q) };
            if matches!(pass, Pass::Zero) {
                for k in 0..nz {
                    let start = k * plane + js.start * nx;
                    unsafe { std::ptr::write_bytes(xp.get().add(start), 0, js.len() * nx) };
                }
            }
            // Right-hand side of every cell of the row (b + lateral couplings; only this
            // colour's cells are used), then the forward elimination of this colour's lines.
            let mut rhs = vec![0.0; nx];
            // Neighbour rows plus their correction (a corrected pass only).
            let mut xe: [Vec<f64>; 3] = match pass {
                Pass::Corrected { .. } => std::array::from_fn(|_| vec![0.0; nx]),
                _ => Default::default(),
            };
            for k in 0..nz {
                for j in js.clone() {
                    let base = k * plane + j * nx;
                    if rows[j].is_empty() {
                        continue;
                    }
                    let brow = &b[base..base + nx];
                    // SAFETY (reads of neighbour rows): see above.
                    let row_of =
                        |q: usize| unsafe { std::slice::from_raw_parts(xp.get().add(q), nx) };
                    let [lo, hi] = self.neighbour_rows(j, k);
                    match pass {
                        Pass::Zero => {}
                        Pass::Plain => self.lateral_row(
                            j,
                            k,
                            row_of(base),
                            lo.map(row_of),
                            hi.map(row_of),
                            Some(brow),
                            &mut rhs,
                        ),
                        Pass::Corrected { e, cn, shift } => {
                            // The neighbours' values plus their prolongated correction.
                            let eb = k * cn[0] * cn[1];
                            let mut fill = |t: usize, q: usize| {
                                let jq = (q - k * plane) / nx;
                                let er = eb + (jq >> shift[1]) * cn[0];
                                for (i, (o, xv)) in xe[t].iter_mut().zip(row_of(q)).enumerate() {
                                    *o = xv + e[er + (i >> shift[0])];
                                }
                            };
                            fill(1, base);
                            if let Some(q) = lo {
                                fill(0, q);
                            }
                            if let Some(q) = hi {
                                fill(2, q);
                            }
                            let [x0, x1, x2] = &xe;
                            self.lateral_row(
                                j,
                                k,
                                x1,
                                lo.map(|_| x0.as_slice()),
                                hi.map(|_| x2.as_slice()),
                                Some(brow),
                                &mut rhs,
                            );
                        }
                    }
                    // A zero pass has no lateral terms: b itself.
                    let src: &[f64] = if matches!(pass, Pass::Zero) {
                        brow
                    } else {
                        &rhs
                    };
                    for &i in &rows[j] {
                        let v = base + i as usize;
                        let mut r = src[i as usize];
                        if k > 0 {
                            r += self.cz[v] as f64 * get(v - plane);
                        }
                        unsafe { *xp.get().add(v) = r * self.inv[v] };
                    }
                }
            }
            for k in (0..nz.saturating_sub(1)).rev() {
                for j in js.clone() {
                    let base = k * plane + j * nx;
                    for &i in &rows[j] {
                        let v = base + i as usize;
                        // x_k −= c'_k x_(k+1) with c'_k = −cz_(k+1) / den_k.
                        let up = self.cz[v + plane] as f64 * self.inv[v];
                        unsafe { *xp.get().add(v) += up * get(v + plane) };
                    }
                }
            }
            let mut s = 0.0;
            if dot {
                for k in 0..nz {
                    for j in js.clone() {
                        let base = k * plane + j * nx;
                        for &i in &rows[j] {
                            let v = base + i as usize;
                            s += b[v] * get(v);
                        }
                    }
                }
            }
            s
        };
        let mut partials = vec![0.0; nb];
        for phase in 0..3 {
            let blocks: Vec<usize> = (0..nb).filter(|b| phase_of(*b) == phase).collect();
            let sums: Vec<f64> = blocks.par_iter().map(|b| work(*b)).collect();
            for (b, v) in blocks.iter().zip(sums) {
                partials[*b] = v;
            }
        }
        partials.iter().sum()
    }

    /// Pre-smoothing from a zero initial guess: the colours in order.
    fn pre_smooth(&self, b: &[f64], x: &mut [f64]) {
        for c in 0..self.colours.len() {
            let pass = if c == 0 { Pass::Zero } else { Pass::Plain };
            self.relax_colour(c, b, x, pass, false);
        }
    }

    /// Post-smoothing after the coarse correction `e` (of `coarse`), the colours in reverse
    /// order (the adjoint of the pre-smoothing); returns `Σ b·x` when `dot` is set.
    fn post_smooth(&self, b: &[f64], x: &mut [f64], coarse: &Level, dot: bool) -> f64 {
        let nc = self.colours.len();
        let fused = nc <= 2;
        if !fused {
            prolong_add(coarse, self.n, x);
        }
        let shift = coarse.factor.map(|f| f.trailing_zeros());
        let mut s = 0.0;
        for c in (0..nc).rev() {
            let pass = if fused && c + 1 == nc {
                Pass::Corrected {
                    e: &coarse.x,
                    cn: [coarse.n[0], coarse.n[1]],
                    shift,
                }
            } else {
                Pass::Plain
            };
            s += self.relax_colour(c, b, x, pass, dot);
        }
        s
    }
}

/// What the lateral neighbours of a smoothing pass read (see [`Level::relax_colour`]).
#[derive(Clone, Copy)]
enum Pass<'a> {
    Plain,
    Zero,
    Corrected {
        e: &'a [f64],
        cn: [usize; 2],
        shift: [u32; 2],
    },
}

/// Restricts the residual `b − A x` of `fine` onto the right-hand side of `coarse`.
fn restrict_residual(fine: &Level, b: &[f64], x: &[f64], coarse: &mut Level) {
    let [nx, ny, _] = fine.n;
    let [cnx, cny, _] = coarse.n;
    let [fx, fy] = coarse.factor;
    let sx = fx.trailing_zeros();
    coarse.b.par_chunks_mut(cnx).enumerate().for_each_init(
        || vec![0.0; nx],
        |r, (row, out)| {
            let (k, cj) = (row / cny, row % cny);
            out.fill(0.0);
            for j in cj * fy..((cj + 1) * fy).min(ny) {
                fine.residual_row(b, x, j, k, r);
                for (i, rv) in r.iter().enumerate() {
                    out[i >> sx] += rv;
                }
            }
        },
    );
}

/// `x += P e` (piecewise-constant prolongation).
fn prolong_add(coarse: &Level, fine_n: [usize; 3], x: &mut [f64]) {
    let [nx, ny, _] = fine_n;
    let [cnx, cny, _] = coarse.n;
    let [fx, fy] = coarse.factor;
    let e = &coarse.x;
    x.par_chunks_mut(nx).enumerate().for_each(|(row, xr)| {
        let (k, j) = (row / ny, row % ny);
        let cbase = (k * cny + j / fy) * cnx;
        for (i, xv) in xr.iter_mut().enumerate() {
            *xv += e[cbase + i / fx];
        }
    });
}

/// Builds the Galerkin coarse level of `fine` (with its `m`), returning it and its `m`.
fn coarsen(fine: &Level, m: &[f64], pool: &mut Pool) -> (Level, Vec<f64>) {
    let [nx, ny, nz] = fine.n;
    let fx = if nx >= 4 { 2 } else { 1 };
    let fy = if ny >= 4 { 2 } else { 1 };
    let n = [nx.div_ceil(fx), ny.div_ceil(fy), nz];
    let periodic = [fine.periodic[0] && n[0] > 1, fine.periodic[1] && n[1] > 1];
    let mut c = Level::empty(n, periodic, [fx, fy], pool);
    let [cnx, cny, _] = n;
    let mut mc = pool.take(c.len());
    let (cxp, cyp, czp) = (
        SyncPtr(c.cx.as_mut_ptr()),
        SyncPtr(c.cy.as_mut_ptr()),
        SyncPtr(c.cz.as_mut_ptr()),
    );
    mc.par_chunks_mut(cnx).enumerate().for_each(|(row, mr)| {
        let (k, cj) = (row / cny, row % cny);
        let cbase = row * cnx;
        for (ci, mv) in mr.iter_mut().enumerate() {
            let (mut sm, mut sx, mut sy, mut sz) = (0.0, 0.0, 0.0, 0.0);
            for j in cj * fy..((cj + 1) * fy).min(ny) {
                for i in ci * fx..((ci + 1) * fx).min(nx) {
                    let v = (k * ny + j) * nx + i;
                    sm += m[v];
                    sz += fine.cz[v] as f64;
                    // The face at the aggregate's low x side (first member column only).
                    if i == ci * fx {
                        sx += fine.cx[v] as f64;
                    }
                    if j == cj * fy {
                        sy += fine.cy[v] as f64;
                    }
                }
            }
            *mv = sm;
            // SAFETY: coarse cell cbase + ci is written only by the task of its row.
            unsafe {
                *cxp.get().add(cbase + ci) = (LATERAL_SCALE * sx) as f32;
                *cyp.get().add(cbase + ci) = (LATERAL_SCALE * sy) as f32;
                *czp.get().add(cbase + ci) = sz as f32;
            }
        }
    });
    c.finish(&mc);
    // Fully written before they are read (restriction; the cycle zeroes `x`).
    c.b = pool.take(c.len());
    c.x = pool.take(c.len());
    (c, mc)
}

/// Buffers of a previous hierarchy, handed to the next build: rebuilding into fresh allocations
/// would page-fault ~0.3 GB in on every rebuild of a 4.6 M-voxel hierarchy. Contents are
/// arbitrary; every user overwrites the whole buffer.
#[derive(Default)]
struct Pool(Vec<Vec<f64>>, Vec<Vec<f32>>);

impl Pool {
    fn from(mg: Multigrid) -> Self {
        let (mut v, mut w) = (Vec::new(), Vec::new());
        for l in mg.levels {
            v.extend([l.diag, l.inv, l.b, l.x]);
            w.extend([l.cx, l.cy, l.cz]);
        }
        v.retain(|b| !b.is_empty());
        Pool(v, w)
    }

    /// A buffer of `len` values (recycled when one of that length is left).
    fn take(&mut self, len: usize) -> Vec<f64> {
        match self.0.iter().position(|b| b.len() == len) {
            Some(i) => self.0.swap_remove(i),
            None => vec![0.0; len],
        }
    }

    fn take32(&mut self, len: usize) -> Vec<f32> {
        match self.1.iter().position(|b| b.len() == len) {
            Some(i) => self.1.swap_remove(i),
            None => vec![0.0; len],
        }
    }
}

/// Dense banded Cholesky factor of the coarsest level (natural ordering, bandwidth nx·ny).
#[derive(Debug, Clone)]
struct CoarseFactor {
    b: usize,
    l: Vec<f64>,
    inv_diag: Vec<f64>,
}

impl CoarseFactor {
    fn new(lv: &Level) -> Self {
        let [nx, ny, nz] = lv.n;
        let plane = nx * ny;
        let n = lv.len();
        let b = plane.min(n.saturating_sub(1)).max(1);
        let w = b + 1;
        let mut l = vec![0.0; n * w];
        let mut put = |r: usize, c: usize, a: f64| {
            let (hi, lo) = if r > c { (r, c) } else { (c, r) };
            l[hi * w + (b - (hi - lo))] -= a;
        };
        for k in 0..nz {
            for j in 0..ny {
                for i in 0..nx {
                    let v = (k * ny + j) * nx + i;
                    if i > 0 {
                        put(v, v - 1, lv.cx[v] as f64);
                    } else if lv.periodic[0] {
                        put(v, v + nx - 1, lv.cx[v] as f64);
                    }
                    if j > 0 {
                        put(v, v - nx, lv.cy[v] as f64);
                    } else if lv.periodic[1] {
                        put(v, v + (ny - 1) * nx, lv.cy[v] as f64);
                    }
                    if k > 0 {
                        put(v, v - plane, lv.cz[v] as f64);
                    }
                }
            }
        }
        for v in 0..n {
            l[v * w + b] += lv.diag[v];
        }
        let mut inv_diag = vec![0.0; n];
        for r in 0..n {
            let r0 = r.saturating_sub(b);
            for c in r0..=r {
                let c0 = c.saturating_sub(b).max(r0);
                let mut s = l[r * w + (b - (r - c))];
                for t in c0..c {
                    s -= l[r * w + (b - (r - t))] * l[c * w + (b - (c - t))];
                }
                if c == r {
                    let d = s.max(f64::MIN_POSITIVE).sqrt();
                    l[r * w + b] = d;
                    inv_diag[r] = 1.0 / d;
                } else {
                    l[r * w + (b - (r - c))] = s * inv_diag[c];
                }
            }
        }
        CoarseFactor { b, l, inv_diag }
    }

    fn solve(&self, rhs: &[f64], x: &mut [f64]) {
        let n = rhs.len();
        let (b, w) = (self.b, self.b + 1);
        x.copy_from_slice(rhs);
        for r in 0..n {
            let r0 = r.saturating_sub(b);
            let mut s = x[r];
            for t in r0..r {
                s -= self.l[r * w + (b - (r - t))] * x[t];
            }
            x[r] = s * self.inv_diag[r];
        }
        for r in (0..n).rev() {
            let xr = x[r] * self.inv_diag[r];
            x[r] = xr;
            let r0 = r.saturating_sub(b);
            for t in r0..r {
                x[t] -= self.l[r * w + (b - (r - t))] * xr;
            }
        }
    }
}

/// Whether the multigrid preconditioner applies to this grid: a non-periodic z axis.
pub(crate) fn supported(bnd: &[Boundary; 6]) -> bool {
    bnd[4] != Boundary::Periodic
}

impl Multigrid {
    /// Builds the hierarchy of `A = V (1 + κh λ) + κh K` for the operator with conductances
    /// `pv` and boundaries `bnd`, reusing the buffers of `recycle` (a previous hierarchy).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn build(
        mesh: &Mesh,
        pv: &PerVoxelConductances,
        bnd: &[Boundary; 6],
        decay: &Coefficient,
        cap: Option<&[f64]>,
        kh: f64,
        key: (u64, f64, u64),
        recycle: Option<Multigrid>,
    ) -> Self {
        let mut pool = recycle.map(Pool::from).unwrap_or_default();
        let [nx, ny, _] = mesh.n;
        let plane = nx * ny;
        let periodic = [
            bnd[0] == Boundary::Periodic && nx > 1,
            bnd[2] == Boundary::Periodic && ny > 1,
        ];
        let mut l0 = Level::empty(mesh.n, periodic, [1, 1], &mut pool);
        let mut m = pool.take(mesh.len());
        let (wx, wy, wz) = (&mesh.axes[0].w, &mesh.axes[1].w, &mesh.axes[2].w);
        let vf = mesh.volume_factor;
        {
            let (cxs, cys, czs) = (&mut l0.cx, &mut l0.cy, &mut l0.cz);
            m.par_chunks_mut(plane)
                .zip(cxs.par_chunks_mut(plane))
                .zip(cys.par_chunks_mut(plane).zip(czs.par_chunks_mut(plane)))
                .enumerate()
                .for_each(|(k, ((mp, cxp), (cyp, czp)))| {
                    for j in 0..ny {
                        for i in 0..nx {
                            let o = j * nx + i;
                            let v = k * plane + o;
                            cxp[o] = (kh
                                * vf
                                * wy[j]
                                * wz[k]
                                * if i > 0 {
                                    pv.t[0][v]
                                } else if periodic[0] {
                                    pv.g_lo[0][k * ny + j]
                                } else {
                                    0.0
                                }) as f32;
                            cyp[o] = (kh
                                * vf
                                * wz[k]
                                * wx[i]
                                * if j > 0 {
                                    pv.t[1][v]
                                } else if periodic[1] {
                                    pv.g_lo[1][k * nx + i]
                                } else {
                                    0.0
                                }) as f32;
                            czp[o] = if k > 0 {
                                (kh * vf * wx[i] * wy[j] * pv.t[2][v]) as f32
                            } else {
                                0.0
                            };
                            // Volume (times the capacity), decay and Dirichlet/Robin boundary
                            // conductances.
                            let c = [i, j, k];
                            let vol = mesh.volume(i, j, k) * cap.map_or(1.0, |cp| cp[v]);
                            let mut s = vol * (1.0 + kh * decay.at(v));
                            for axis in 0..3 {
                                if bnd[2 * axis] == Boundary::Periodic {
                                    continue;
                                }
                                let na = mesh.n[axis];
                                let li = line_index(mesh, axis, i, j, k);
                                let w = kh * cross(mesh, axis, c);
                                if c[axis] == 0 {
                                    s += w * pv.g_lo[axis][li];
                                }
                                if c[axis] + 1 == na {
                                    s += w * pv.g_hi[axis][li];
                                }
                            }
                            mp[o] = s;
                        }
                    }
                });
        }
        l0.finish(&m);
        let mut levels = vec![l0];
        loop {
            let last = levels.last().expect("level 0");
            let [lx, ly, _] = last.n;
            if lx * ly <= COARSEST_LINES || (lx < 4 && ly < 4) {
                break;
            }
            let (c, mc) = coarsen(last, &m, &mut pool);
            m = mc;
            levels.push(c);
        }
        let coarse = CoarseFactor::new(levels.last().expect("level"));
        Multigrid {
            levels,
            coarse,
            key,
        }
    }

    /// Number of levels (the finest included).
    #[cfg(test)]
    pub(crate) fn depth(&self) -> usize {
        self.levels.len()
    }

    /// `z = B r`, one symmetric V-cycle from a zero initial guess; returns `r·z` (accumulated
    /// by the last smoothing passes, which write the final values).
    pub(crate) fn apply(&mut self, r: &[f64], z: &mut [f64]) -> f64 {
        if self.levels.len() == 1 {
            self.coarse.solve(r, z);
            return r.iter().zip(z.iter()).map(|(a, b)| a * b).sum();
        }
        self.cycle(0, r, z, true)
    }

    /// One V-cycle on level `l` from a zero initial guess (`x` need not be cleared); returns
    /// `b·x` when `dot` is set.
    fn cycle(&mut self, l: usize, b: &[f64], x: &mut [f64], dot: bool) -> f64 {
        let nl = self.levels.len();
        if l + 1 == nl {
            self.coarse.solve(b, x);
            return 0.0;
        }
        self.levels[l].pre_smooth(b, x);
        {
            let (fine, rest) = self.levels.split_at_mut(l + 1);
            restrict_residual(&fine[l], b, x, &mut rest[0]);
        }
        {
            let c = &mut self.levels[l + 1];
            let (cb, mut cx) = (std::mem::take(&mut c.b), std::mem::take(&mut c.x));
            self.cycle(l + 1, &cb, &mut cx, false);
            let c = &mut self.levels[l + 1];
            c.b = cb;
            c.x = cx;
        }
        let (fine, rest) = self.levels.split_at(l + 1);
        fine[l].post_smooth(b, x, &rest[0], dot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Face, Grid3, Problem, Species};

    fn lcg(seed: u64, n: usize) -> Vec<f64> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (x >> 11) as f64 / (1u64 << 53) as f64 - 0.3
            })
            .collect()
    }

    /// The V-cycle is a symmetric positive definite operator (x·By = y·Bx, x·Bx > 0) on grids
    /// with even and odd, periodic and non-periodic lateral axes and 10⁴ coefficient jumps.
    #[test]
    fn v_cycle_is_symmetric_positive_definite() {
        for (nx, ny, px, py) in [
            (19, 13, false, false),
            (17, 21, true, true),
            (16, 9, true, false),
            (10, 1, false, false),
        ] {
            let nz = 7;
            let z: Vec<f64> = (0..=nz).map(|k| 1e-6 * (k as f64).powf(1.3)).collect();
            let grid = Grid3::with_z_faces(nx, ny, 4e-6, 4e-6, z).unwrap();
            let n = grid.len();
            let d: Vec<f64> = lcg(7, n)
                .iter()
                .enumerate()
                .map(|(v, r)| (1.0 + r) * if v % 11 == 0 { 1e-9 } else { 1e-13 })
                .collect();
            let mut b = Problem::builder(grid)
                .species(Species::new("c", d.clone()))
                .boundary_everywhere(Boundary::ZeroFlux)
                .boundary_all(Face::TOP, Boundary::Dirichlet(0.0));
            if px {
                b = b
                    .boundary_all(Face::XMin, Boundary::Periodic)
                    .boundary_all(Face::XMax, Boundary::Periodic);
            }
            if py {
                b = b
                    .boundary_all(Face::YMin, Boundary::Periodic)
                    .boundary_all(Face::YMax, Boundary::Periodic);
            }
            let p = b.build().unwrap();
            let bnd = p.boundaries[0];
            let pv = PerVoxelConductances::new(&p.mesh, d, &bnd);
            let decay = Coefficient::Uniform(1e-4);
            let mut mg =
                Multigrid::build(&p.mesh, &pv, &bnd, &decay, None, 300.0, (0, 300.0, 0), None);
            assert!(
                ny == 1 || mg.depth() > 1,
                "{nx}×{ny}: {} levels",
                mg.depth()
            );
            let (x, y) = (lcg(1, n), lcg(2, n));
            let (mut bx, mut by) = (vec![0.0; n], vec![0.0; n]);
            mg.apply(&x, &mut bx);
            mg.apply(&y, &mut by);
            let xby: f64 = x.iter().zip(&by).map(|(a, b)| a * b).sum();
            let ybx: f64 = y.iter().zip(&bx).map(|(a, b)| a * b).sum();
            let xbx: f64 = x.iter().zip(&bx).map(|(a, b)| a * b).sum();
            let scale = xbx.abs().max(1e-300);
            assert!(
                (xby - ybx).abs() <= 1e-11 * scale,
                "{nx}×{ny} periodic {px}/{py}: x·By {xby} vs y·Bx {ybx}"
            );
            assert!(xbx > 0.0, "x·Bx = {xbx}");
        }
    }
}
