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
        let n = self.n;
        scr.ensure(w, 0);
        let TileScratch {
            prev_a,
            prev_b,
            first,
            zeros,
            acc,
            ..
        } = scr;
        let (mut pa, mut pb) = (&mut prev_a[..w], &mut prev_b[..w]);
        let zeros = &zeros[..w];
        let first = &mut first[..w];
        let acc = &mut acc[..w];
        acc.fill(0.0);
        // SAFETY (all row helpers): rows p < n of the tile are valid by the caller's contract
        // and distinct rows never overlap because stride >= w.
        let row = |p: usize| unsafe { std::slice::from_raw_parts(data.add(p * stride), w) };
        let row_mut = |p: usize| unsafe { std::slice::from_raw_parts_mut(data.add(p * stride), w) };
        if self.cyclic.is_some() {
            first.copy_from_slice(row(0));
        }
        for p in 0..n {
            let (a, mi, s) = (self.a[p], self.minv[p], self.s[p]);
            let yprev: &[f64] = if p == 0 { zeros } else { row(p - 1) };
            let cur = row_mut(p);
            if self.explicit {
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
                for l in 0..w {
                    let c = cur[l];
                    let r = el * pv[l] + ed * c + eh * nx[l] + s;
                    pb[l] = c;
                    cur[l] = (scale * r - a * yprev[l]) * mi;
                }
                std::mem::swap(&mut pa, &mut pb);
            } else {
                for l in 0..w {
                    let r = cur[l] + s;
                    cur[l] = (scale * r - a * yprev[l]) * mi;
                }
            }
        }
        // Back substitution; the finite check rides along (it costs no extra pass).
        let check = self.cyclic.is_none();
        if check {
            let last = row(n - 1);
            for l in 0..w {
                acc[l] += last[l] * 0.0;
            }
        }
        for p in (0..n.saturating_sub(1)).rev() {
            let cp = self.cp[p];
            let nxt = row(p + 1);
            let cur = row_mut(p);
            if check {
                for l in 0..w {
                    let x = cur[l] - cp * nxt[l];
                    cur[l] = x;
                    acc[l] += x * 0.0;
                }
            } else {
                for l in 0..w {
                    cur[l] -= cp * nxt[l];
                }
            }
        }
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
                pb[l] = c;
                cur[l] = (scale * r - a * yprev[l]) * inv;
            }
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
        for l in 0..w {
            cur[l] -= cpr[l] * nxt[l];
        }
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
        let cur = row(p);
        for l in 0..w {
            acc[l] += cur[l] * 0.0;
        }
    }
    acc.iter().any(|x| *x != 0.0)
}
