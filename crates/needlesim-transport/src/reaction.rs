//! Pointwise stiff integrator for nonlinear reactions: 2-stage, L-stable, stiffly accurate
//! SDIRK (Alexander 1977, γ = 1 − 1/√2, order 2) with simplified Newton iterations and a dense
//! LU of `I − hγJ` per voxel. When Newton fails the voxel's step is split into 2, 4, … 64
//! sub-steps. Linear decay and sources of the species are part of the local right-hand side.

use rayon::prelude::*;

use super::dense::{lu_factor, lu_solve_columns, lu_transpose};
use super::problem::{Coefficient, Reactions};

/// The local ODE at one voxel: `dc/dt = R(c) + S − λ c`.
pub(crate) struct LocalOde<'a> {
    pub reactions: &'a dyn Reactions,
    pub decay: Vec<&'a Coefficient>,
    pub source: Vec<&'a Coefficient>,
}

impl LocalOde<'_> {
    fn rhs(&self, v: usize, c: &[f64], out: &mut [f64]) {
        self.reactions.rates(v, c, out);
        for s in 0..c.len() {
            out[s] += self.source[s].at(v) - self.decay[s].at(v) * c[s];
        }
    }

    fn jac(&self, v: usize, c: &[f64], j: &mut [f64]) {
        let n = c.len();
        self.reactions.jacobian(v, c, j);
        for s in 0..n {
            j[s * n + s] -= self.decay[s].at(v);
        }
    }
}

struct Work {
    n: usize,
    jac: Vec<f64>,
    lu: Vec<f64>,
    /// `lu` transposed for the solves ([`lu_solve_columns`]).
    lut: Vec<f64>,
    piv: Vec<usize>,
    f: Vec<f64>,
    y: Vec<f64>,
    k1: Vec<f64>,
    res: Vec<f64>,
    /// Set when a rate evaluation returned a non-finite value: (species, value).
    nonfinite: Option<(usize, f64)>,
}

impl Work {
    fn new(n: usize) -> Self {
        Work {
            n,
            jac: vec![0.0; n * n],
            lu: vec![0.0; n * n],
            lut: vec![0.0; n * n],
            piv: vec![0; n],
            f: vec![0.0; n],
            y: vec![0.0; n],
            k1: vec![0.0; n],
            res: vec![0.0; n],
            nonfinite: None,
        }
    }
}

const GAMMA: f64 = 1.0 - std::f64::consts::FRAC_1_SQRT_2;

/// One SDIRK2 step of length `h` from `c` (in place). Returns false if Newton failed.
fn sdirk2_step(ode: &LocalOde<'_>, v: usize, c: &mut [f64], h: f64, w: &mut Work) -> bool {
    let n = w.n;
    let gh = GAMMA * h;
    ode.jac(v, c, &mut w.jac);
    for i in 0..n * n {
        w.lu[i] = -gh * w.jac[i];
    }
    for i in 0..n {
        w.lu[i * n + i] += 1.0;
    }
    if !lu_factor(&mut w.lu, &mut w.piv, n, 0.0) {
        return false;
    }
    lu_transpose(&w.lu, n, &mut w.lut);
    w.y.copy_from_slice(c);
    // Stage 1: Y = c + γh f(Y); stage 2: Y = c + (1−γ)h k1 + γh f(Y).
    for stage in 0..2 {
        // base = c (+ (1−γ) h k1 for stage 2); initial guess: previous stage value.
        let mut converged = false;
        for _ in 0..12 {
            ode.rhs(v, &w.y, &mut w.f);
            if let Some(sp) = w.f.iter().position(|x| !x.is_finite()) {
                w.nonfinite = Some((sp, w.f[sp]));
                return false;
            }
            let mut norm = 0.0f64;
            let mut scale = 0.0f64;
            for i in 0..n {
                let base = c[i]
                    + if stage == 1 {
                        (1.0 - GAMMA) * h * w.k1[i]
                    } else {
                        0.0
                    };
                w.res[i] = -(w.y[i] - base - gh * w.f[i]);
            }
            lu_solve_columns(&w.lut, &w.piv, n, &mut w.res);
            let mut finite = true;
            for i in 0..n {
                w.y[i] += w.res[i];
                finite &= w.y[i].is_finite();
                norm = norm.max(w.res[i].abs());
                scale = scale.max(w.y[i].abs());
            }
            if !finite {
                return false;
            }
            if norm <= 1e-12 * (1.0 + scale) {
                converged = true;
                break;
            }
        }
        if !converged {
            return false;
        }
        if stage == 0 {
            for i in 0..n {
                w.k1[i] = (w.y[i] - c[i]) / gh;
            }
        }
    }
    c.copy_from_slice(&w.y);
    true
}

/// Integrates the local ODE over `h` at one voxel, sub-stepping on Newton failure. On failure
/// `c` is left at its initial value.
fn integrate_voxel(ode: &LocalOde<'_>, v: usize, c: &mut [f64], h: f64, w: &mut Work) -> bool {
    let c0 = c.to_vec();
    for level in 0..7 {
        let m = 1usize << level;
        c.copy_from_slice(&c0);
        let hs = h / m as f64;
        if (0..m).all(|_| sdirk2_step(ode, v, c, hs, w)) {
            return true;
        }
        if w.nonfinite.is_some() {
            // Non-finite rates are not cured by smaller steps.
            break;
        }
    }
    c.copy_from_slice(&c0);
    false
}

#[derive(Clone, Copy)]
struct SyncPtr(*mut f64);
// SAFETY: each task writes a disjoint range of voxels of every species.
unsafe impl Send for SyncPtr {}
unsafe impl Sync for SyncPtr {}
impl SyncPtr {
    fn get(self) -> *mut f64 {
        self.0
    }
}

/// Outcome of a reaction pass.
pub(crate) enum ReactOutcome {
    Ok {
        nonfinite: bool,
    },
    Failed {
        voxel: usize,
        /// Species with a non-finite rate there, and the rate, if that is the cause.
        nonfinite: Option<(usize, f64)>,
    },
}

/// Integrates reactions over `h` at every voxel. `data` is species-major with `nv` voxels.
pub(crate) fn react_all(ode: &LocalOde<'_>, data: &mut [f64], nv: usize, h: f64) -> ReactOutcome {
    let ns = ode.decay.len();
    const CH: usize = 1024;
    let base = SyncPtr(data.as_mut_ptr());
    let nchunks = nv.div_ceil(CH);
    let (bad, failed) = (0..nchunks)
        .into_par_iter()
        .map_init(
            || (Work::new(ns), vec![0.0; ns]),
            |(w, c), ci| {
                let mut bad = false;
                let mut failed = (usize::MAX, None);
                for v in ci * CH..((ci + 1) * CH).min(nv) {
                    // SAFETY: voxel v (all species) belongs to this chunk only.
                    unsafe {
                        for s in 0..ns {
                            c[s] = *base.get().add(s * nv + v);
                        }
                        w.nonfinite = None;
                        if !integrate_voxel(ode, v, c, h, w) && failed.0 == usize::MAX {
                            failed = (v, w.nonfinite);
                        }
                        for s in 0..ns {
                            bad |= !c[s].is_finite();
                            *base.get().add(s * nv + v) = c[s];
                        }
                    }
                }
                (bad, failed)
            },
        )
        .reduce(
            || (false, (usize::MAX, None)),
            |a, b| (a.0 | b.0, if b.1.0 < a.1.0 { b.1 } else { a.1 }),
        );
    if failed.0 != usize::MAX {
        ReactOutcome::Failed {
            voxel: failed.0,
            nonfinite: failed.1,
        }
    } else {
        ReactOutcome::Ok { nonfinite: bad }
    }
}
