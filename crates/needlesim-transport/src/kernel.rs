//! Tridiagonal line solvers for one implicit (θ-method) 1-D diffusion sub-step.
//!
//! Every solver works on a *tile*: `w` independent lines solved in lockstep. Row `p` of the tile
//! (position `p` along the lines) is the `w` contiguous values starting at `data + p * stride`.
//! For y and z sweeps the rows are contiguous runs of the field along x, so the inner loops are
//! plain loops over contiguous memory that the compiler vectorises; for x sweeps the caller
//! transposes a block of x-lines into a scratch tile first.
//!
//! For cell `p` of a line the finite-volume θ-scheme reads
//!
//! ```text
//! c'_p − θ h/w_p [T₋(c'_{p−1} − c'_p) + T₊(c'_{p+1} − c'_p) − G c'_p]
//!     = c_p + (1−θ) h/w_p [T₋(c_{p−1} − c_p) + T₊(c_{p+1} − c_p) − G c_p] + h/w_p (G c_b + a q)
//! ```
//!
//! with face conductances `T` (area / resistance), boundary conductance `G` (Dirichlet, Robin)
//! and prescribed flux `q`. θ = 1 is backward Euler, θ = ½ Crank–Nicolson. Periodic lines are
//! cyclic tridiagonal systems, solved with the Sherman–Morrison correction.
//!
//! The elimination is the Thomas algorithm without pivoting; the matrices are strictly
//! diagonally dominant M-matrices, so it is stable, and for θ = 1 every intermediate quantity
//! keeps its sign, which makes the result exactly non-negative for non-negative data.
//!
//! Each solver returns `true` if it wrote a non-finite value (checked cheaply with `x * 0`).

/// x-lines solved together (one transposed tile).
pub(crate) const X_BLOCK: usize = 16;

/// Whether the running CPU has AVX2 (the kernels are compiled twice: for AVX2 and for the
/// baseline target; both perform the same IEEE operations in the same order, so results are
/// bit-identical, only the vector width differs).
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn has_avx2() -> bool {
    std::is_x86_feature_detected!("avx2")
}

/// `dst[p * w + l] = src[l * stride + p]` for `p < n`, `l < w` (w ≤ X_BLOCK lines of
/// contiguous cells into a row-major tile).
///
/// # Safety
/// Source lines valid for reads, `dst` valid for `n * w` writes, no overlap.
#[inline(always)]
pub(crate) unsafe fn transpose_in<const AVX: bool>(
    src: *const f64,
    stride: usize,
    n: usize,
    w: usize,
    dst: *mut f64,
) {
    #[cfg(target_arch = "x86_64")]
    if AVX {
        // SAFETY: AVX is enabled by the (inlining) caller; bounds by contract.
        unsafe { transpose_in_avx(src, stride, n, w, dst) };
        return;
    }
    for l in 0..w {
        for p in 0..n {
            // SAFETY: contract.
            unsafe { *dst.add(p * w + l) = *src.add(l * stride + p) };
        }
    }
}

/// Inverse of [`transpose_in`]: `dst[l * stride + p] = src[p * w + l]`.
///
/// # Safety
/// Destination lines valid for writes and exclusively owned, `src` valid for `n * w` reads.
#[inline(always)]
pub(crate) unsafe fn transpose_out<const AVX: bool>(
    dst: *mut f64,
    stride: usize,
    n: usize,
    w: usize,
    src: *const f64,
) {
    #[cfg(target_arch = "x86_64")]
    if AVX {
        // SAFETY: as above.
        unsafe { transpose_out_avx(dst, stride, n, w, src) };
        return;
    }
    for l in 0..w {
        for p in 0..n {
            // SAFETY: contract.
            unsafe { *dst.add(l * stride + p) = *src.add(p * w + l) };
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn transpose_in_avx(src: *const f64, stride: usize, n: usize, w: usize, dst: *mut f64) {
    // SAFETY: forwarded.
    unsafe { transpose_in_avx_pf(src, stride, n, w, dst, 0) }
}

/// [`transpose_in_avx`] that also prefetches the same positions `pf` values further on (the
/// next block of lines), so the short line streams do not wait on memory; `pf = 0`: none.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn transpose_in_avx_pf(
    src: *const f64,
    stride: usize,
    n: usize,
    w: usize,
    dst: *mut f64,
    pf: usize,
) {
    use std::arch::x86_64::*;
    let (n4, w4) = (n & !3, w & !3);
    // SAFETY (whole body): indices stay within the caller's bounds (p < n, l < w).
    unsafe {
        let mut g = 0;
        while g < w4 {
            let s0 = src.add(g * stride);
            let s1 = s0.add(stride);
            let s2 = s1.add(stride);
            let s3 = s2.add(stride);
            let mut p = 0;
            while p < n4 {
                if pf != 0 && p % 8 == 0 {
                    // A hint only: never faults, so the address may lie past the field.
                    for q in 0..4 {
                        let a = s0.wrapping_add(q * stride + pf + p);
                        _mm_prefetch::<_MM_HINT_T0>(a as *const i8);
                    }
                }
                let r0 = _mm256_loadu_pd(s0.add(p));
                let r1 = _mm256_loadu_pd(s1.add(p));
                let r2 = _mm256_loadu_pd(s2.add(p));
                let r3 = _mm256_loadu_pd(s3.add(p));
                let t0 = _mm256_unpacklo_pd(r0, r1);
                let t1 = _mm256_unpackhi_pd(r0, r1);
                let t2 = _mm256_unpacklo_pd(r2, r3);
                let t3 = _mm256_unpackhi_pd(r2, r3);
                let d = dst.add(p * w + g);
                _mm256_storeu_pd(d, _mm256_permute2f128_pd(t0, t2, 0x20));
                _mm256_storeu_pd(d.add(w), _mm256_permute2f128_pd(t1, t3, 0x20));
                _mm256_storeu_pd(d.add(2 * w), _mm256_permute2f128_pd(t0, t2, 0x31));
                _mm256_storeu_pd(d.add(3 * w), _mm256_permute2f128_pd(t1, t3, 0x31));
                p += 4;
            }
            for p in n4..n {
                for q in 0..4 {
                    *dst.add(p * w + g + q) = *src.add((g + q) * stride + p);
                }
            }
            g += 4;
        }
        for l in w4..w {
            for p in 0..n {
                *dst.add(p * w + l) = *src.add(l * stride + p);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn transpose_out_avx(dst: *mut f64, stride: usize, n: usize, w: usize, src: *const f64) {
    use std::arch::x86_64::*;
    let (n4, w4) = (n & !3, w & !3);
    // SAFETY (whole body): indices stay within the caller's bounds (p < n, l < w).
    unsafe {
        let mut g = 0;
        while g < w4 {
            let d0 = dst.add(g * stride);
            let d1 = d0.add(stride);
            let d2 = d1.add(stride);
            let d3 = d2.add(stride);
            let mut p = 0;
            while p < n4 {
                let s = src.add(p * w + g);
                let r0 = _mm256_loadu_pd(s);
                let r1 = _mm256_loadu_pd(s.add(w));
                let r2 = _mm256_loadu_pd(s.add(2 * w));
                let r3 = _mm256_loadu_pd(s.add(3 * w));
                let t0 = _mm256_unpacklo_pd(r0, r1);
                let t1 = _mm256_unpackhi_pd(r0, r1);
                let t2 = _mm256_unpacklo_pd(r2, r3);
                let t3 = _mm256_unpackhi_pd(r2, r3);
                _mm256_storeu_pd(d0.add(p), _mm256_permute2f128_pd(t0, t2, 0x20));
                _mm256_storeu_pd(d1.add(p), _mm256_permute2f128_pd(t1, t3, 0x20));
                _mm256_storeu_pd(d2.add(p), _mm256_permute2f128_pd(t0, t2, 0x31));
                _mm256_storeu_pd(d3.add(p), _mm256_permute2f128_pd(t1, t3, 0x31));
                p += 4;
            }
            for p in n4..n {
                for q in 0..4 {
                    *dst.add((g + q) * stride + p) = *src.add(p * w + g + q);
                }
            }
            g += 4;
        }
        for l in w4..w {
            for p in 0..n {
                *dst.add(l * stride + p) = *src.add(p * w + l);
            }
        }
    }
}

/// A pre-factorised line operator for the constant-coefficient case: the matrix is the same for
/// every line of an axis, so it is factorised once and reused.
#[derive(Debug, Clone)]
pub(crate) struct UniformLine {
    pub n: usize,
    a: Vec<f64>,
    minv: Vec<f64>,
    cp: Vec<f64>,
    el: Vec<f64>,
    ed: Vec<f64>,
    eh: Vec<f64>,
    s: Vec<f64>,
    explicit: bool,
    cyclic: Option<Cyclic>,
}

#[derive(Debug, Clone)]
struct Cyclic {
    z: Vec<f64>,
    beta_over_gamma: f64,
    inv_den: f64,
}

/// Boundary description of one end of a line (uniform case).
#[derive(Debug, Clone, Copy)]
pub(crate) struct LineEnd {
    /// Boundary conductance G (0 for zero flux / flux).
    pub g: f64,
    /// Boundary concentration c_b (Dirichlet value or Robin c_ext).
    pub cb: f64,
    /// Area × prescribed flux density.
    pub aq: f64,
}

impl UniformLine {
    /// Builds and factorises the operator for one axis. `t_face[p]` is the conductance of the
    /// face between cells `p` and `p+1` (`n − 1` values); `wrap` is the conductance of the face
    /// joining the two ends for a periodic axis.
    pub fn new(
        inv_w: &[f64],
        t_face: &[f64],
        lo: LineEnd,
        hi: LineEnd,
        wrap: Option<f64>,
        theta: f64,
        h: f64,
    ) -> Self {
        let n = inv_w.len();
        let mut a = vec![0.0; n];
        let mut b = vec![0.0; n];
        let mut c = vec![0.0; n];
        let mut el = vec![0.0; n];
        let mut ed = vec![0.0; n];
        let mut eh = vec![0.0; n];
        let mut s = vec![0.0; n];
        for p in 0..n {
            let tl = if p > 0 {
                t_face[p - 1]
            } else {
                wrap.unwrap_or(0.0)
            };
            let tu = if p + 1 < n {
                t_face[p]
            } else {
                wrap.unwrap_or(0.0)
            };
            let mut gb = 0.0;
            let mut src = 0.0;
            if wrap.is_none() {
                if p == 0 {
                    gb += lo.g;
                    src += lo.g * lo.cb + lo.aq;
                }
                if p + 1 == n {
                    gb += hi.g;
                    src += hi.g * hi.cb + hi.aq;
                }
            }
            let ti = theta * h * inv_w[p];
            let ei = (1.0 - theta) * h * inv_w[p];
            a[p] = -ti * tl;
            c[p] = -ti * tu;
            b[p] = 1.0 + ti * (tl + tu + gb);
            el[p] = ei * tl;
            eh[p] = ei * tu;
            ed[p] = 1.0 - ei * (tl + tu + gb);
            s[p] = h * inv_w[p] * src;
        }
        let explicit = theta != 1.0;
        let mut cyclic = None;
        if wrap.is_some() {
            let gamma = -b[0];
            let beta = a[0];
            let alpha = c[n - 1];
            b[0] -= gamma;
            b[n - 1] -= alpha * beta / gamma;
            let (cp, minv) = factorise(&a, &b, &c);
            let mut z = vec![0.0; n];
            z[0] = gamma * minv[0];
            for p in 1..n {
                let u = if p + 1 == n { alpha } else { 0.0 };
                z[p] = (u - a[p] * z[p - 1]) * minv[p];
            }
            for p in (0..n - 1).rev() {
                z[p] -= cp[p] * z[p + 1];
            }
            let bog = beta / gamma;
            let inv_den = 1.0 / (1.0 + z[0] + bog * z[n - 1]);
            cyclic = Some(Cyclic {
                z,
                beta_over_gamma: bog,
                inv_den,
            });
            return UniformLine {
                n,
                a,
                minv,
                cp,
                el,
                ed,
                eh,
                s,
                explicit,
                cyclic,
            };
        }
        let (cp, minv) = factorise(&a, &b, &c);
        UniformLine {
            n,
            a,
            minv,
            cp,
            el,
            ed,
            eh,
            s,
            explicit,
            cyclic,
        }
    }

    /// Solves a tile of `w` lines in place, multiplying the right-hand side by `scale`.
    ///
    /// # Safety
    /// `data + p * stride + l` for `p < n`, `l < w` must be valid, exclusively owned memory.
    pub unsafe fn solve_tile(
        &self,
        data: *mut f64,
        stride: usize,
        w: usize,
        scale: f64,
        scr: &mut TileScratch,
    ) -> bool {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: AVX2 is available; the caller's contract is forwarded.
            return unsafe { self.solve_tile_avx2(data, stride, w, scale, scr) };
        }
        // SAFETY: forwarded.
        unsafe { self.solve_tile_impl(data, stride, w, scale, scr) }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn solve_tile_avx2(
        &self,
        data: *mut f64,
        stride: usize,
        w: usize,
        scale: f64,
        scr: &mut TileScratch,
    ) -> bool {
        // SAFETY: forwarded.
        unsafe { self.solve_tile_impl(data, stride, w, scale, scr) }
    }

    /// Solves `nlines` contiguous lines along x (line `l` starts at `data + l * line_stride`, its
    /// cells are contiguous) in place: blocks of [`X_BLOCK`] lines are transposed into `tile`
    /// (in-register 4×4 transposes with AVX2), solved in lockstep as a tile and transposed back.
    /// Every line goes through exactly the same floating-point operations as in
    /// [`Self::solve_tile`].
    ///
    /// # Safety
    /// `data + l * line_stride + p` for `l < nlines`, `p < n` must be valid, exclusively owned.
    pub unsafe fn solve_x_lines(
        &self,
        data: *mut f64,
        line_stride: usize,
        nlines: usize,
        scale: f64,
        scr: &mut TileScratch,
        tile: &mut Vec<f64>,
    ) -> bool {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: AVX2 is available; the caller's contract is forwarded.
            return unsafe { self.solve_x_lines_avx2(data, line_stride, nlines, scale, scr, tile) };
        }
        // SAFETY: forwarded.
        unsafe { self.solve_x_lines_impl::<false>(data, line_stride, nlines, scale, scr, tile) }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn solve_x_lines_avx2(
        &self,
        data: *mut f64,
        line_stride: usize,
        nlines: usize,
        scale: f64,
        scr: &mut TileScratch,
        tile: &mut Vec<f64>,
    ) -> bool {
        // SAFETY: forwarded.
        unsafe { self.solve_x_lines_impl::<true>(data, line_stride, nlines, scale, scr, tile) }
    }

    #[inline(always)]
    unsafe fn solve_x_lines_impl<const AVX: bool>(
        &self,
        data: *mut f64,
        line_stride: usize,
        nlines: usize,
        scale: f64,
        scr: &mut TileScratch,
        tile: &mut Vec<f64>,
    ) -> bool {
        let n = self.n;
        if tile.len() < n * X_BLOCK {
            tile.resize(n * X_BLOCK, 0.0);
        }
        let tp = tile.as_mut_ptr();
        let mut bad = false;
        let mut l0 = 0;
        while l0 < nlines {
            let w = X_BLOCK.min(nlines - l0);
            #[cfg(target_arch = "x86_64")]
            if AVX && w == X_BLOCK && self.cyclic.is_none() {
                // SAFETY: AVX2 is enabled in the (inlining) caller; lines as below.
                bad |= unsafe {
                    let d = data.add(l0 * line_stride);
                    if scale == 1.0 {
                        self.x_block_avx2::<false>(d, line_stride, scale, tp)
                    } else {
                        self.x_block_avx2::<true>(d, line_stride, scale, tp)
                    }
                };
                l0 += w;
                continue;
            }
            // SAFETY: lines l0..l0 + w are valid by the caller's contract; the tile holds n·w.
            unsafe {
                let src = data.add(l0 * line_stride);
                transpose_in::<AVX>(src, line_stride, n, w, tp);
                bad |= if w == X_BLOCK {
                    self.solve_tile_impl(tp, X_BLOCK, X_BLOCK, scale, scr)
                } else {
                    self.solve_tile_impl(tp, w, w, scale, scr)
                };
                transpose_out::<AVX>(src, line_stride, n, w, tp);
            }
            l0 += w;
        }
        bad
    }

    /// One block of [`X_BLOCK`] = 16 non-cyclic x-lines with AVX2: transpose in, forward
    /// elimination with the previous/current/next original values and the previous result kept
    /// in registers (4 groups of 4 lanes = 4 independent recurrences), back substitution in
    /// registers, transpose out. The per-lane operations are exactly those of
    /// [`Self::solve_tile_impl`] (same operands, same order, no FMA), so results are bit-identical.
    ///
    /// # Safety
    /// AVX2 must be available; `data + l * line_stride + p` (`l < 16`, `p < n`) valid and
    /// exclusively owned; `tile` valid for `16 n` values.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn x_block_avx2<const SCALED: bool>(
        &self,
        data: *mut f64,
        line_stride: usize,
        scale: f64,
        tile: *mut f64,
    ) -> bool {
        use std::arch::x86_64::*;
        const W: usize = X_BLOCK;
        const G: usize = X_BLOCK / 4;
        let n = self.n;
        let (av, miv, sv, cpv) = (&self.a[..n], &self.minv[..n], &self.s[..n], &self.cp[..n]);
        let (elv, edv, ehv) = (&self.el[..n], &self.ed[..n], &self.eh[..n]);
        // SAFETY (whole body): tile rows p < n hold W values; the field lines by contract.
        unsafe {
            transpose_in_avx_pf(data, line_stride, n, W, tile, X_PF_BLOCKS * W * line_stride);
            let zero = _mm256_setzero_pd();
            let vscale = _mm256_set1_pd(scale);
            let mut yprev = [zero; G];
            if self.explicit {
                let mut cprev = [zero; G];
                let mut ccur = [zero; G];
                for (g, c) in ccur.iter_mut().enumerate() {
                    *c = _mm256_loadu_pd(tile.add(4 * g));
                }
                for p in 0..n {
                    let a = _mm256_set1_pd(av[p]);
                    let mi = _mm256_set1_pd(miv[p]);
                    let s = _mm256_set1_pd(sv[p]);
                    let el = _mm256_set1_pd(elv[p]);
                    let ed = _mm256_set1_pd(edv[p]);
                    let eh = _mm256_set1_pd(ehv[p]);
                    let row = tile.add(p * W);
                    for g in 0..G {
                        let nx = if p + 1 < n {
                            _mm256_loadu_pd(row.add(W + 4 * g))
                        } else {
                            zero
                        };
                        let c = ccur[g];
                        // r = el·c₋ + ed·c + eh·c₊ + s, evaluated left to right.
                        let r = _mm256_add_pd(
                            _mm256_add_pd(
                                _mm256_add_pd(_mm256_mul_pd(el, cprev[g]), _mm256_mul_pd(ed, c)),
                                _mm256_mul_pd(eh, nx),
                            ),
                            s,
                        );
                        let y = _mm256_mul_pd(
                            _mm256_sub_pd(scaled::<SCALED>(vscale, r), _mm256_mul_pd(a, yprev[g])),
                            mi,
                        );
                        _mm256_storeu_pd(row.add(4 * g), y);
                        yprev[g] = y;
                        cprev[g] = c;
                        ccur[g] = nx;
                    }
                }
            } else {
                for p in 0..n {
                    let a = _mm256_set1_pd(av[p]);
                    let mi = _mm256_set1_pd(miv[p]);
                    let s = _mm256_set1_pd(sv[p]);
                    let row = tile.add(p * W);
                    for (g, yp) in yprev.iter_mut().enumerate() {
                        let r = _mm256_add_pd(_mm256_loadu_pd(row.add(4 * g)), s);
                        let y = _mm256_mul_pd(
                            _mm256_sub_pd(scaled::<SCALED>(vscale, r), _mm256_mul_pd(a, *yp)),
                            mi,
                        );
                        _mm256_storeu_pd(row.add(4 * g), y);
                        *yp = y;
                    }
                }
            }
            // Back substitution with the finite check (acc += x · 0).
            let mut acc = [zero; G];
            let mut xn = [zero; G];
            let last = tile.add((n - 1) * W);
            for g in 0..G {
                xn[g] = _mm256_loadu_pd(last.add(4 * g));
                acc[g] = _mm256_add_pd(acc[g], _mm256_mul_pd(xn[g], zero));
            }
            for p in (0..n - 1).rev() {
                let cp = _mm256_set1_pd(cpv[p]);
                let row = tile.add(p * W);
                for g in 0..G {
                    let x =
                        _mm256_sub_pd(_mm256_loadu_pd(row.add(4 * g)), _mm256_mul_pd(cp, xn[g]));
                    _mm256_storeu_pd(row.add(4 * g), x);
                    acc[g] = _mm256_add_pd(acc[g], _mm256_mul_pd(x, zero));
                    xn[g] = x;
                }
            }
            transpose_out_avx(data, line_stride, n, W, tile);
            let mut bad = 0;
            for a in acc {
                bad |= _mm256_movemask_pd(_mm256_cmp_pd::<_CMP_NEQ_UQ>(a, zero));
            }
            bad != 0
        }
    }

    #[inline(always)]
    unsafe fn solve_tile_impl(
        &self,
        data: *mut f64,
        stride: usize,
        w: usize,
        scale: f64,
        scr: &mut TileScratch,
    ) -> bool {
        let n = self.n;
        scr.ensure(w, 0);
        // SAFETY (all parts): the caller's contract, forwarded.
        unsafe {
            if self.cyclic.is_some() {
                let r0 = std::slice::from_raw_parts(data, w);
                scr.first[..w].copy_from_slice(r0);
            }
            self.fwd_rows(data, stride, w, 0, n, scale, scr);
            self.back_start(data, stride, w, scr);
            self.back_rows(data, stride, w, 0, n.saturating_sub(1), scr);
            self.back_finish(data, stride, w, scr)
        }
    }

    /// Forward elimination of rows `p0..p1` of a tile (part of [`Self::solve_tile`]; calls for
    /// consecutive ranges `0..p1, p1..p2, …, ..n` do exactly what one call for `0..n` does).
    /// Row `p` of the Crank–Nicolson right-hand side reads the original row `p + 1`, so rows up
    /// to `p1` (inclusive, when `p1 < n`) must hold their input values. `scr` must have been
    /// `ensure`d for `w` and, for a periodic line, `first` must hold the original row 0.
    ///
    /// # Safety
    /// As [`Self::solve_tile`] for rows `p0..=min(p1, n − 1)` (and row 0 … for periodic lines).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    unsafe fn fwd_rows(
        &self,
        data: *mut f64,
        stride: usize,
        w: usize,
        p0: usize,
        p1: usize,
        scale: f64,
        scr: &mut TileScratch,
    ) {
        let n = self.n;
        let TileScratch {
            prev_a,
            prev_b,
            first,
            zeros,
            ..
        } = scr;
        let zeros = &zeros[..w];
        let first = &first[..w];
        // SAFETY (all row helpers): rows p < n of the tile are valid by the caller's contract
        // and distinct rows never overlap because stride >= w.
        let row = |p: usize| unsafe { std::slice::from_raw_parts(data.add(p * stride), w) };
        let row_mut = |p: usize| unsafe { std::slice::from_raw_parts_mut(data.add(p * stride), w) };
        // Rows far apart in memory (y, z sweeps on the field) are short streams: prefetch a few
        // rows ahead of the forward pass.
        let prefetch = stride > w;
        for p in p0..p1 {
            if prefetch && p + PF_ROWS < n {
                // SAFETY: row p + PF_ROWS < n lies inside the tile.
                unsafe { prefetch_row(data.add((p + PF_ROWS) * stride), w) };
            }
            let (a, mi, s) = (self.a[p], self.minv[p], self.s[p]);
            let yprev: &[f64] = if p == 0 { zeros } else { row(p - 1) };
            let cur = row_mut(p);
            if self.explicit {
                // Row p saves its original values in one buffer and reads row p − 1's from the
                // other (alternating with p).
                let (pa, pb): (&[f64], &mut [f64]) = if p % 2 == 0 {
                    (&prev_a[..w], &mut prev_b[..w])
                } else {
                    (&prev_b[..w], &mut prev_a[..w])
                };
                let (el, ed, eh) = (self.el[p], self.ed[p], self.eh[p]);
                let pv: &[f64] = if p == 0 {
                    if self.cyclic.is_some() {
                        row(n - 1)
                    } else {
                        zeros
                    }
                } else {
                    pa
                };
                let nx: &[f64] = if p + 1 == n {
                    if self.cyclic.is_some() { first } else { zeros }
                } else {
                    row(p + 1)
                };
                let k = [el, ed, eh, s, scale, a, mi];
                if scale == 1.0 {
                    fwd_explicit::<false>(cur, pb, pv, nx, yprev, k);
                } else {
                    fwd_explicit::<true>(cur, pb, pv, nx, yprev, k);
                }
            } else {
                if scale == 1.0 {
                    fwd_implicit::<false>(cur, yprev, [s, scale, a, mi]);
                } else {
                    fwd_implicit::<true>(cur, yprev, [s, scale, a, mi]);
                }
            }
        }
    }

    /// Starts the back substitution of a tile (after all forward rows): resets the finite check
    /// and checks the last row.
    ///
    /// # Safety
    /// As [`Self::solve_tile`].
    #[inline(always)]
    unsafe fn back_start(&self, data: *mut f64, stride: usize, w: usize, scr: &mut TileScratch) {
        let acc = &mut scr.acc[..w];
        acc.fill(0.0);
        if self.cyclic.is_none() {
            // SAFETY: row n − 1 is valid by the caller's contract.
            let last = unsafe { std::slice::from_raw_parts(data.add((self.n - 1) * stride), w) };
            for l in 0..w {
                acc[l] += last[l] * 0.0;
            }
        }
    }

    /// Back substitution of rows `p1 − 1` down to `p0` (`p1 ≤ n − 1`); calls for descending
    /// consecutive ranges do exactly what one call for `0..n − 1` does.
    ///
    /// # Safety
    /// As [`Self::solve_tile`] for rows `p0..=p1`.
    #[inline(always)]
    unsafe fn back_rows(
        &self,
        data: *mut f64,
        stride: usize,
        w: usize,
        p0: usize,
        p1: usize,
        scr: &mut TileScratch,
    ) {
        let acc = &mut scr.acc[..w];
        // SAFETY: as in `fwd_rows`.
        let row = |p: usize| unsafe { std::slice::from_raw_parts(data.add(p * stride), w) };
        let row_mut = |p: usize| unsafe { std::slice::from_raw_parts_mut(data.add(p * stride), w) };
        // The finite check rides along (it costs no extra pass).
        let check = self.cyclic.is_none();
        for p in (p0..p1).rev() {
            let cp = self.cp[p];
            let nxt = row(p + 1);
            let cur = row_mut(p);
            if check {
                back_check(cur, nxt, acc, cp);
            } else {
                back(cur, nxt, cp);
            }
        }
    }

    /// Ends the back substitution (the periodic correction) and returns whether a non-finite
    /// value was produced.
    ///
    /// # Safety
    /// As [`Self::solve_tile`].
    #[inline(always)]
    unsafe fn back_finish(
        &self,
        data: *mut f64,
        stride: usize,
        w: usize,
        scr: &mut TileScratch,
    ) -> bool {
        let n = self.n;
        let acc = &mut scr.acc[..w];
        // SAFETY: as in `fwd_rows`.
        let row = |p: usize| unsafe { std::slice::from_raw_parts(data.add(p * stride), w) };
        let row_mut = |p: usize| unsafe { std::slice::from_raw_parts_mut(data.add(p * stride), w) };
        if let Some(cy) = &self.cyclic {
            let y0 = row(0).to_vec();
            let yn = row(n - 1);
            let fact: Vec<f64> = (0..w)
                .map(|l| (y0[l] + cy.beta_over_gamma * yn[l]) * cy.inv_den)
                .collect();
            for p in 0..n {
                let z = cy.z[p];
                let cur = row_mut(p);
                for l in 0..w {
                    cur[l] -= fact[l] * z;
                    acc[l] += cur[l] * 0.0;
                }
            }
        }
        acc.iter().any(|x| *x != 0.0)
    }

    /// Both in-plane sweeps of one xy plane (`nx × ny` values at `data`, rows contiguous), `self`
    /// along x and `yl` along y, in the order given by `x_first`, interleaved so that the y
    /// sweep works on rows while the x sweep has them in L1: x first: after each block of
    /// [`X_BLOCK`] x lines, the y forward elimination advances over the rows that are ready;
    /// y first: the y back substitution descends in blocks and each block of x lines is solved
    /// as soon as no y row still needs it. Every line goes through exactly the operations of
    /// [`Self::solve_x_lines`] followed by (or after) [`Self::solve_tile`] on the full-width
    /// plane, so results are bit-identical to the separate sweeps. `yl` must not be periodic.
    ///
    /// # Safety
    /// `data + p` for `p < nx · ny` must be valid and exclusively owned.
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn solve_xy_plane(
        &self,
        yl: &UniformLine,
        x_first: bool,
        data: *mut f64,
        scale_x: f64,
        scale_y: f64,
        scr: &mut TileScratch,
        scr_y: &mut TileScratch,
        tile: &mut Vec<f64>,
    ) -> bool {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: AVX2 is available; the caller's contract is forwarded.
            return unsafe {
                self.solve_xy_plane_avx2(yl, x_first, data, scale_x, scale_y, scr, scr_y, tile)
            };
        }
        // SAFETY: forwarded.
        unsafe {
            self.solve_xy_plane_impl::<false>(yl, x_first, data, scale_x, scale_y, scr, scr_y, tile)
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn solve_xy_plane_avx2(
        &self,
        yl: &UniformLine,
        x_first: bool,
        data: *mut f64,
        scale_x: f64,
        scale_y: f64,
        scr: &mut TileScratch,
        scr_y: &mut TileScratch,
        tile: &mut Vec<f64>,
    ) -> bool {
        // SAFETY: forwarded.
        unsafe {
            self.solve_xy_plane_impl::<true>(yl, x_first, data, scale_x, scale_y, scr, scr_y, tile)
        }
    }

    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    unsafe fn solve_xy_plane_impl<const AVX: bool>(
        &self,
        yl: &UniformLine,
        x_first: bool,
        data: *mut f64,
        scale_x: f64,
        scale_y: f64,
        scr: &mut TileScratch,
        scr_y: &mut TileScratch,
        tile: &mut Vec<f64>,
    ) -> bool {
        debug_assert!(yl.cyclic.is_none());
        let (nx, ny) = (self.n, yl.n);
        scr_y.ensure(nx, 0);
        let mut bad = false;
        // SAFETY (whole body): the plane is valid and exclusively owned (caller); x blocks and
        // y row ranges stay inside it.
        unsafe {
            if x_first {
                let mut done = 0;
                let mut l0 = 0;
                while l0 < ny {
                    let w = X_BLOCK.min(ny - l0);
                    bad |= self.solve_x_lines_impl::<AVX>(
                        data.add(l0 * nx),
                        nx,
                        w,
                        scale_x,
                        scr,
                        tile,
                    );
                    l0 += w;
                    // y row p needs x-swept rows p and p + 1.
                    let upto = if l0 == ny { ny } else { l0 - 1 };
                    yl.fwd_rows(data, nx, nx, done, upto, scale_y, scr_y);
                    done = upto;
                }
                yl.back_start(data, nx, nx, scr_y);
                yl.back_rows(data, nx, nx, 0, ny - 1, scr_y);
                bad |= yl.back_finish(data, nx, nx, scr_y);
            } else {
                yl.fwd_rows(data, nx, nx, 0, ny, scale_y, scr_y);
                yl.back_start(data, nx, nx, scr_y);
                // Blocks of x lines from the top; block [l0, l1) may be solved once y row
                // l0 − 1 (which reads row l0) is final.
                let nb = ny.div_ceil(X_BLOCK);
                let mut top = ny - 1;
                for b in (0..nb).rev() {
                    let l0 = b * X_BLOCK;
                    let w = X_BLOCK.min(ny - l0);
                    let lo = l0.saturating_sub(1);
                    if lo < top {
                        yl.back_rows(data, nx, nx, lo, top, scr_y);
                        top = lo;
                    }
                    bad |= self.solve_x_lines_impl::<AVX>(
                        data.add(l0 * nx),
                        nx,
                        w,
                        scale_x,
                        scr,
                        tile,
                    );
                }
                bad |= yl.back_finish(data, nx, nx, scr_y);
            }
        }
        bad
    }

    /// Whether the line is periodic.
    pub fn is_cyclic(&self) -> bool {
        self.cyclic.is_some()
    }
}

/// `s · r`, or `r` itself when the scale is known to be 1 (`1.0 · r == r` exactly, so either
/// gives the same bits).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn scaled<const SCALED: bool>(
    s: std::arch::x86_64::__m256d,
    r: std::arch::x86_64::__m256d,
) -> std::arch::x86_64::__m256d {
    // SAFETY: only reached from AVX2-enabled callers.
    if SCALED {
        unsafe { std::arch::x86_64::_mm256_mul_pd(s, r) }
    } else {
        r
    }
}

/// Blocks of x lines prefetched ahead by the x kernel.
const X_PF_BLOCKS: usize = 2;

/// Rows prefetched ahead in the forward pass of field tiles.
const PF_ROWS: usize = 6;

/// Prefetch hint for `w` values starting at `p` (one per cache line).
#[inline(always)]
fn prefetch_row(p: *const f64, w: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let mut o = 0;
        while o < w {
            // SAFETY: a prefetch is a hint and never faults; the address is inside the row.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(o) as *const i8) };
            o += 8;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, w);
}

// Row kernels. They take the rows as separate slice arguments so that the compiler knows they do
// not alias (rows made from raw pointers inside one function would not be vectorised without
// run-time overlap checks), and they are inlined into the AVX2 or baseline callers.

/// Forward elimination of one row with the explicit (Crank–Nicolson) right-hand side;
/// `k = [el, ed, eh, s, scale, a, 1/m]`. Saves the old row in `save`.
#[inline(always)]
fn fwd_explicit<const SCALED: bool>(
    cur: &mut [f64],
    save: &mut [f64],
    pv: &[f64],
    nx: &[f64],
    yprev: &[f64],
    k: [f64; 7],
) {
    let [el, ed, eh, s, scale, a, mi] = k;
    let w = cur.len();
    let (save, pv, nx, yprev) = (&mut save[..w], &pv[..w], &nx[..w], &yprev[..w]);
    for l in 0..w {
        let c = cur[l];
        let r = el * pv[l] + ed * c + eh * nx[l] + s;
        save[l] = c;
        // `1.0 * r` is exactly `r`, so skipping it when the scale is 1 changes no bit.
        let sr = if SCALED { scale * r } else { r };
        cur[l] = (sr - a * yprev[l]) * mi;
    }
}

/// Forward elimination of one row, implicit only; `k = [s, scale, a, 1/m]`.
#[inline(always)]
fn fwd_implicit<const SCALED: bool>(cur: &mut [f64], yprev: &[f64], k: [f64; 4]) {
    let [s, scale, a, mi] = k;
    let w = cur.len();
    let yprev = &yprev[..w];
    for l in 0..w {
        let r = cur[l] + s;
        let sr = if SCALED { scale * r } else { r };
        cur[l] = (sr - a * yprev[l]) * mi;
    }
}

/// Back substitution of one row with the finite check.
#[inline(always)]
fn back_check(cur: &mut [f64], nxt: &[f64], acc: &mut [f64], cp: f64) {
    let w = cur.len();
    let (nxt, acc) = (&nxt[..w], &mut acc[..w]);
    for l in 0..w {
        let x = cur[l] - cp * nxt[l];
        cur[l] = x;
        acc[l] += x * 0.0;
    }
}

/// Back substitution of one row.
#[inline(always)]
fn back(cur: &mut [f64], nxt: &[f64], cp: f64) {
    let w = cur.len();
    let nxt = &nxt[..w];
    for l in 0..w {
        cur[l] -= cp * nxt[l];
    }
}

fn factorise(a: &[f64], b: &[f64], c: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let n = b.len();
    let mut cp = vec![0.0; n];
    let mut minv = vec![0.0; n];
    for p in 0..n {
        let m = if p == 0 {
            b[0]
        } else {
            b[p] - a[p] * cp[p - 1]
        };
        minv[p] = 1.0 / m;
        cp[p] = c[p] * minv[p];
    }
    (cp, minv)
}

/// Reusable scratch for tile solves (one per worker).
#[derive(Debug, Default)]
pub(crate) struct TileScratch {
    prev_a: Vec<f64>,
    prev_b: Vec<f64>,
    first: Vec<f64>,
    zeros: Vec<f64>,
    acc: Vec<f64>,
    gam: Vec<f64>,
    beta: Vec<f64>,
    alpha: Vec<f64>,
    cp: Vec<f64>,
    asub: Vec<f64>,
    minv: Vec<f64>,
    z: Vec<f64>,
}

impl TileScratch {
    fn ensure(&mut self, w: usize, nw: usize) {
        for v in [
            &mut self.prev_a,
            &mut self.prev_b,
            &mut self.first,
            &mut self.zeros,
            &mut self.acc,
            &mut self.gam,
            &mut self.beta,
            &mut self.alpha,
        ] {
            if v.len() < w {
                v.resize(w, 0.0);
            }
        }
        for v in [&mut self.cp, &mut self.asub, &mut self.minv, &mut self.z] {
            if v.len() < nw {
                v.resize(nw, 0.0);
            }
        }
    }
}

/// Parameters of a variable-coefficient tile solve.
#[derive(Debug, Clone, Copy)]
pub(crate) struct VarParams<'a> {
    pub theta: f64,
    pub h: f64,
    /// 1 / w_p along the axis (len n).
    pub inv_w: &'a [f64],
    pub lo_cb: f64,
    pub lo_aq: f64,
    pub hi_cb: f64,
    pub hi_aq: f64,
    pub periodic: bool,
    pub scale: f64,
}

/// Solves a tile of `w` lines with per-voxel face conductances. Row `p` of `t` holds the
/// conductance of the face between cells `p − 1` and `p` (row 0 unused); `g_lo`/`g_hi` hold the
/// boundary conductances of each line (or the wrap-face conductance for periodic lines).
///
/// # Safety
/// `data + p * stride + l` (mutable) and `t + p * stride + l` (read) for `p < n`, `l < w`
/// must be valid; the `data` tile must be exclusively owned by this call.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn solve_tile_variable(
    data: *mut f64,
    t: *const f64,
    stride: usize,
    n: usize,
    w: usize,
    g_lo: &[f64],
    g_hi: &[f64],
    prm: &VarParams<'_>,
    scr: &mut TileScratch,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: AVX2 is available; the caller's contract is forwarded.
        return unsafe { solve_tile_variable_avx2(data, t, stride, n, w, g_lo, g_hi, prm, scr) };
    }
    // SAFETY: forwarded.
    unsafe { solve_tile_variable_impl(data, t, stride, n, w, g_lo, g_hi, prm, scr) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn solve_tile_variable_avx2(
    data: *mut f64,
    t: *const f64,
    stride: usize,
    n: usize,
    w: usize,
    g_lo: &[f64],
    g_hi: &[f64],
    prm: &VarParams<'_>,
    scr: &mut TileScratch,
) -> bool {
    // SAFETY: forwarded.
    unsafe { solve_tile_variable_impl(data, t, stride, n, w, g_lo, g_hi, prm, scr) }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn solve_tile_variable_impl(
    data: *mut f64,
    t: *const f64,
    stride: usize,
    n: usize,
    w: usize,
    g_lo: &[f64],
    g_hi: &[f64],
    prm: &VarParams<'_>,
    scr: &mut TileScratch,
) -> bool {
    scr.ensure(w, n * w);
    let periodic = prm.periodic;
    let TileScratch {
        prev_a,
        prev_b,
        first,
        zeros,
        acc,
        gam,
        beta,
        alpha,
        cp,
        asub,
        minv,
        z,
        ..
    } = scr;
    let (mut pa, mut pb) = (&mut prev_a[..w], &mut prev_b[..w]);
    let zeros = &zeros[..w];
    let first = &mut first[..w];
    let acc = &mut acc[..w];
    let (gam, beta, alpha) = (&mut gam[..w], &mut beta[..w], &mut alpha[..w]);
    let (g_lo, g_hi) = (&g_lo[..w], &g_hi[..w]);
    acc.fill(0.0);
    // SAFETY: see the function contract; distinct rows do not overlap because stride >= w.
    let row = |p: usize| unsafe { std::slice::from_raw_parts(data.add(p * stride), w) };
    let row_mut = |p: usize| unsafe { std::slice::from_raw_parts_mut(data.add(p * stride), w) };
    let trow = |p: usize| unsafe { std::slice::from_raw_parts(t.add(p * stride), w) };
    if periodic {
        first.copy_from_slice(row(0));
    }
    let (theta, h, scale) = (prm.theta, prm.h, prm.scale);
    for p in 0..n {
        let iw = prm.inv_w[p];
        let ti = theta * h * iw;
        let ei = (1.0 - theta) * h * iw;
        let hi_ = h * iw;
        let first_row = p == 0;
        let last_row = p + 1 == n;
        let tl: &[f64] = if first_row {
            if periodic { g_lo } else { zeros }
        } else {
            trow(p)
        };
        let tu: &[f64] = if last_row {
            if periodic { g_hi } else { zeros }
        } else {
            trow(p + 1)
        };
        let gl: &[f64] = if first_row && !periodic { g_lo } else { zeros };
        let gh: &[f64] = if last_row && !periodic { g_hi } else { zeros };
        let sq = if periodic {
            0.0
        } else {
            hi_ * (if first_row { prm.lo_aq } else { 0.0 } + if last_row { prm.hi_aq } else { 0.0 })
        };
        let (lo_cb, hi_cb) = (hi_ * prm.lo_cb, hi_ * prm.hi_cb);
        let pv: &[f64] = if first_row {
            if periodic { row(n - 1) } else { zeros }
        } else {
            pa
        };
        let nx: &[f64] = if last_row {
            if periodic { first } else { zeros }
        } else {
            row(p + 1)
        };
        let yprev: &[f64] = if first_row { zeros } else { row(p - 1) };
        let cur = row_mut(p);
        // Rows p − 1 (read) and p (written) of the modified upper diagonal.
        let (cp_lo, cp_hi) = cp.split_at_mut(p * w);
        let cp_cur = &mut cp_hi[..w];
        let cpp: &[f64] = if first_row {
            zeros
        } else {
            &cp_lo[(p - 1) * w..]
        };
        let special = periodic && (first_row || last_row);
        if !special {
            var_fwd_row(
                VarRow {
                    cur,
                    save: pb,
                    cp_cur,
                    tl,
                    tu,
                    gl,
                    gh,
                    pv,
                    nx,
                    yprev,
                    cpp,
                },
                [ei, ti, lo_cb, hi_cb, sq, scale],
            );
            if periodic {
                for l in 0..w {
                    asub[p * w + l] = -ti * tl[l];
                    let m = 1.0 + ti * (tl[l] + tu[l]) - asub[p * w + l] * cpp[l];
                    minv[p * w + l] = 1.0 / m;
                }
            }
        } else {
            for l in 0..w {
                let (tlv, tuv) = (tl[l], tu[l]);
                let c = cur[l];
                let r = c + ei * (tlv * (pv[l] - c) + tuv * (nx[l] - c));
                let a = -ti * tlv;
                let cc = -ti * tuv;
                let b = 1.0 + ti * (tlv + tuv);
                let m = if first_row {
                    gam[l] = -b;
                    beta[l] = a;
                    2.0 * b
                } else {
                    alpha[l] = cc;
                    b - alpha[l] * beta[l] / gam[l] - a * cpp[l]
                };
                let inv = 1.0 / m;
                let a_eff = if first_row { 0.0 } else { a };
                cp_cur[l] = cc * inv;
                asub[p * w + l] = a_eff;
                minv[p * w + l] = inv;
                pb[l] = c;
                cur[l] = (scale * r - a_eff * yprev[l]) * inv;
            }
        }
        std::mem::swap(&mut pa, &mut pb);
    }
    for p in (0..n.saturating_sub(1)).rev() {
        let cpr = &cp[p * w..(p + 1) * w];
        let nxt = row(p + 1);
        let cur = row_mut(p);
        var_back_row(cur, nxt, cpr);
    }
    if periodic {
        // Second right-hand side u = (γ, 0, …, 0, α) with the same factorisation.
        let z = &mut z[..n * w];
        for p in 0..n {
            for l in 0..w {
                let u = if p == 0 {
                    gam[l]
                } else if p + 1 == n {
                    alpha[l]
                } else {
                    0.0
                };
                let zprev = if p == 0 { 0.0 } else { z[(p - 1) * w + l] };
                z[p * w + l] = (u - asub[p * w + l] * zprev) * minv[p * w + l];
            }
        }
        for p in (0..n - 1).rev() {
            for l in 0..w {
                z[p * w + l] -= cp[p * w + l] * z[(p + 1) * w + l];
            }
        }
        let y0 = row(0).to_vec();
        let yn = row(n - 1).to_vec();
        let fact: Vec<f64> = (0..w)
            .map(|l| {
                let bog = beta[l] / gam[l];
                (y0[l] + bog * yn[l]) / (1.0 + z[l] + bog * z[(n - 1) * w + l])
            })
            .collect();
        for p in 0..n {
            let cur = row_mut(p);
            for l in 0..w {
                cur[l] -= fact[l] * z[p * w + l];
            }
        }
    }
    for p in 0..n {
        acc_row(acc, row(p));
    }
    acc.iter().any(|x| *x != 0.0)
}

/// The rows one forward step of the variable-coefficient kernel reads and writes.
struct VarRow<'r> {
    cur: &'r mut [f64],
    save: &'r mut [f64],
    cp_cur: &'r mut [f64],
    tl: &'r [f64],
    tu: &'r [f64],
    gl: &'r [f64],
    gh: &'r [f64],
    pv: &'r [f64],
    nx: &'r [f64],
    yprev: &'r [f64],
    cpp: &'r [f64],
}

/// Forward step of one row with per-lane conductances (factorisation on the fly);
/// `k = [ei, ti, h lo_cb / w, h hi_cb / w, boundary flux term, scale]`.
#[inline(always)]
fn var_fwd_row(r: VarRow<'_>, k: [f64; 6]) {
    let [ei, ti, lo_cb, hi_cb, sq, scale] = k;
    let VarRow {
        cur,
        save,
        cp_cur,
        tl,
        tu,
        gl,
        gh,
        pv,
        nx,
        yprev,
        cpp,
    } = r;
    let w = cur.len();
    let (save, cp_cur) = (&mut save[..w], &mut cp_cur[..w]);
    let (tl, tu, gl, gh) = (&tl[..w], &tu[..w], &gl[..w], &gh[..w]);
    let (pv, nx, yprev, cpp) = (&pv[..w], &nx[..w], &yprev[..w], &cpp[..w]);
    for l in 0..w {
        let (tlv, tuv) = (tl[l], tu[l]);
        let gb = gl[l] + gh[l];
        let c = cur[l];
        let r = c
            + ei * (tlv * (pv[l] - c) + tuv * (nx[l] - c) - gb * c)
            + gl[l] * lo_cb
            + gh[l] * hi_cb
            + sq;
        let a = -ti * tlv;
        let cc = -ti * tuv;
        let b = 1.0 + ti * (tlv + tuv + gb);
        let m = b - a * cpp[l];
        let inv = 1.0 / m;
        cp_cur[l] = cc * inv;
        save[l] = c;
        cur[l] = (scale * r - a * yprev[l]) * inv;
    }
}

#[inline(always)]
fn var_back_row(cur: &mut [f64], nxt: &[f64], cpr: &[f64]) {
    let w = cur.len();
    let (nxt, cpr) = (&nxt[..w], &cpr[..w]);
    for l in 0..w {
        cur[l] -= cpr[l] * nxt[l];
    }
}

#[inline(always)]
fn acc_row(acc: &mut [f64], x: &[f64]) {
    let w = acc.len();
    let x = &x[..w];
    for l in 0..w {
        acc[l] += x[l] * 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: usize, seed: usize, periodic: bool, theta: f64) -> UniformLine {
        let v = |i: usize, a: f64| 1.0 + a * ((((i + seed) * 2654435761) % 1000) as f64 / 1000.0);
        let inv_w: Vec<f64> = (0..n).map(|i| 0.8 * v(i, 0.5)).collect();
        let t_face: Vec<f64> = (0..n - 1).map(|i| 0.3 * v(i + 11, 2.0)).collect();
        let lo = LineEnd {
            g: 0.7,
            cb: 0.2,
            aq: 0.0,
        };
        let hi = LineEnd {
            g: 0.0,
            cb: 0.0,
            aq: 0.05,
        };
        UniformLine::new(&inv_w, &t_face, lo, hi, periodic.then_some(0.4), theta, 1.3)
    }

    /// The interleaved x/y plane kernel gives the same bits as the two separate sweeps, in both
    /// orders, for CN and BE, odd sizes (partial x blocks), periodic x, and scale 1 or not.
    #[test]
    fn xy_plane_kernel_matches_separate_sweeps_bit_for_bit() {
        for (nx, ny) in [(37, 23), (16, 40), (50, 7), (5, 33)] {
            for theta in [0.5, 1.0] {
                for x_periodic in [false, true] {
                    for (sx, sy) in [(1.0, 1.0), (0.97, 1.0), (1.0, 0.93)] {
                        let lx = line(nx, 1, x_periodic, theta);
                        let ly = line(ny, 5, false, theta);
                        let init: Vec<f64> = (0..nx * ny)
                            .map(|v| 1.0 + ((v * 7919) % 101) as f64 / 50.0)
                            .collect();
                        let (mut scr, mut scr_y, mut tile) =
                            (TileScratch::default(), TileScratch::default(), Vec::new());
                        for x_first in [true, false] {
                            let mut reference = init.clone();
                            let mut fused = init.clone();
                            // SAFETY: both planes hold nx · ny values owned here.
                            unsafe {
                                let r = reference.as_mut_ptr();
                                let bx = |scr: &mut TileScratch, tile: &mut Vec<f64>| {
                                    lx.solve_x_lines(r, nx, ny, sx, scr, tile)
                                };
                                if x_first {
                                    bx(&mut scr, &mut tile);
                                    ly.solve_tile(r, nx, nx, sy, &mut scr);
                                } else {
                                    ly.solve_tile(r, nx, nx, sy, &mut scr);
                                    bx(&mut scr, &mut tile);
                                }
                                let bad = lx.solve_xy_plane(
                                    &ly,
                                    x_first,
                                    fused.as_mut_ptr(),
                                    sx,
                                    sy,
                                    &mut scr,
                                    &mut scr_y,
                                    &mut tile,
                                );
                                assert!(!bad);
                            }
                            assert_ne!(reference, init);
                            for (a, b) in reference.iter().zip(&fused) {
                                assert_eq!(
                                    a.to_bits(),
                                    b.to_bits(),
                                    "nx {nx} ny {ny} theta {theta} periodic x {x_periodic} \
                                     scales {sx} {sy} x first {x_first}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}
