//! A small adaptive stiff integrator: TR-BDF2 (Bank et al. 1985; Hosea & Shampine 1996) with a
//! dense finite-difference Jacobian and LU factorisation.
//!
//! TR-BDF2 is a one-step, L-stable, stiffly accurate ESDIRK method of order 2 with an embedded
//! order-3 estimate. Written as a Butcher tableau (γ = 2 − √2, d = γ/2, w = √2/4):
//!
//! ```text
//!  0 |  0  0  0
//!  γ |  d  d  0
//!  1 |  w  w  d
//! ---+----------
//!  b |  w  w  d
//!  b̂ | (1−w)/3  (3w+1)/3  d/3
//! ```
//!
//! Both implicit stages share the iteration matrix `M = I − h·d·J`, so one LU per step size.
//! Newton for the first implicit stage starts from the previous step's cubic Hermite
//! extrapolated to `t + γh` (Euler on a call's first step); the second from a quadratic through
//! `y` and `Y2`. The solves run on the transposed LU factors (same arithmetic, contiguous).
//! The error estimate is filtered through `M⁻¹` (Shampine's trick for stiff components).
//! The Jacobian (analytic when the system provides one, else finite differences) is kept while
//! Newton converges well and refreshed when it does not; the LU of `I − h d J` is reused while
//! the step size stays within 30 % of the one it was factored for (a slightly wrong iteration
//! matrix slows Newton but does not change the solution, since residuals use the true `h`).
//!
//! The model does not know which integrator runs it: it implements [`System`].

// Dense linear algebra over parallel arrays reads best with index loops.
#![allow(clippy::needless_range_loop)]

use crate::transport::dense::{lu_factor, lu_solve_columns, lu_transpose};

/// An ODE system `y' = f(t, y)`.
pub trait System {
    /// Number of state variables.
    fn dim(&self) -> usize;
    /// Evaluates `f(t, y)` into `dy`.
    fn rhs(&self, t: f64, y: &[f64], dy: &mut [f64]);
    /// Writes the Jacobian ∂f/∂y (row-major `dim × dim`) into `jac` and returns true; the
    /// default returns false and the integrator uses finite differences.
    fn jacobian(&self, _t: f64, _y: &[f64], _jac: &mut [f64]) -> bool {
        false
    }
}

/// Integrator settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance per variable (same length as the state).
    pub atol: Vec<f64>,
    /// First step size, s.
    pub h0: f64,
    /// Largest step size, s.
    pub h_max: f64,
    /// A proposed step growth by a factor in `[1, lu_keep_ratio]` is not taken (the step, and
    /// with it the LU, is kept). 1 disables the hold.
    pub lu_keep_ratio: f64,
    /// The LU of `I − h d J` is reused while `|h / h_LU − 1| ≤ lu_stale_tol` (Newton then runs
    /// with a slightly wrong iteration matrix; its residuals use the true `h`, so the solution
    /// is unchanged and only the convergence rate suffers, as in CVODE). 0: refactor at every
    /// step-size change.
    pub lu_stale_tol: f64,
    /// Use the system's analytic Jacobian when it has one (false: finite differences).
    pub analytic_jacobian: bool,
}

impl Options {
    /// Tolerances and step limits with the default LU policy (growth up to 25 % held, stale
    /// LU within 30 %)
    /// and the analytic Jacobian.
    pub fn new(rtol: f64, atol: Vec<f64>, h0: f64, h_max: f64) -> Self {
        Options {
            rtol,
            atol,
            h0,
            h_max,
            lu_keep_ratio: 1.25,
            lu_stale_tol: 0.3,
            analytic_jacobian: true,
        }
    }
}

/// Work counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub steps: u64,
    pub rejected: u64,
    pub rhs_evals: u64,
    pub jacobians: u64,
    pub factorisations: u64,
}

impl Stats {
    pub fn add(&mut self, o: &Stats) {
        self.steps += o.steps;
        self.rejected += o.rejected;
        self.rhs_evals += o.rhs_evals;
        self.jacobians += o.jacobians;
        self.factorisations += o.factorisations;
    }
}

/// Why an integration stopped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OdeError {
    #[error("step size fell below {h_min:e} s at t = {t} s (stiff integrator could not converge)")]
    StepTooSmall { t: f64, h_min: f64 },
    #[error("non-finite state at t = {t} s (variable {index})")]
    NonFinite { t: f64, index: usize },
    #[error("singular iteration matrix at t = {t} s")]
    Singular { t: f64 },
}

const GAMMA: f64 = 2.0 - std::f64::consts::SQRT_2;
const D: f64 = GAMMA / 2.0;
const W: f64 = std::f64::consts::SQRT_2 / 4.0;
const BH: [f64; 3] = [(1.0 - W) / 3.0, (3.0 * W + 1.0) / 3.0, D / 3.0];
const BE: [f64; 3] = [W - BH[0], W - BH[1], D - BH[2]];

/// Reusable buffers (avoid allocation in hot loops).
#[derive(Clone, Debug, Default)]
pub struct Workspace {
    n: usize,
    jac: Vec<f64>,
    lu: Vec<f64>,
    /// `lu` transposed (column-major) for the solves.
    lut: Vec<f64>,
    piv: Vec<usize>,
    /// State and derivative at the start of the previous accepted step (the predictor's data).
    yp: Vec<f64>,
    fp: Vec<f64>,
    k1: Vec<f64>,
    k2: Vec<f64>,
    k3: Vec<f64>,
    y2: Vec<f64>,
    y3: Vec<f64>,
    base: Vec<f64>,
    tmp: Vec<f64>,
    tmp2: Vec<f64>,
    wt: Vec<f64>,
    scale: Vec<f64>,
}

impl Workspace {
    pub fn new(n: usize) -> Self {
        Workspace {
            n,
            jac: vec![0.0; n * n],
            lu: vec![0.0; n * n],
            lut: vec![0.0; n * n],
            yp: vec![0.0; n],
            fp: vec![0.0; n],
            piv: vec![0; n],
            k1: vec![0.0; n],
            k2: vec![0.0; n],
            k3: vec![0.0; n],
            y2: vec![0.0; n],
            y3: vec![0.0; n],
            base: vec![0.0; n],
            tmp: vec![0.0; n],
            tmp2: vec![0.0; n],
            wt: vec![0.0; n],
            scale: vec![1.0; n],
        }
    }
}

fn wrms(v: &[f64], wt: &[f64]) -> f64 {
    let s: f64 = v.iter().zip(wt).map(|(x, w)| (x * w) * (x * w)).sum();
    (s / v.len().max(1) as f64).sqrt()
}

/// An accepted step, for dense output: cubic Hermite interpolation between `(t0, y0, f0)` and
/// `(t1, y1, f1)`.
pub struct StepView<'a> {
    pub t0: f64,
    pub y0: &'a [f64],
    pub f0: &'a [f64],
    pub t1: f64,
    pub y1: &'a [f64],
    pub f1: &'a [f64],
}

impl StepView<'_> {
    /// Interpolated state at `t` (in `[t0, t1]`) into `out`.
    pub fn interpolate(&self, t: f64, out: &mut [f64]) {
        let h = self.t1 - self.t0;
        let s = if h > 0.0 { (t - self.t0) / h } else { 1.0 };
        let h00 = 2.0 * s * s * s - 3.0 * s * s + 1.0;
        let h10 = s * s * s - 2.0 * s * s + s;
        let h01 = -2.0 * s * s * s + 3.0 * s * s;
        let h11 = s * s * s - s * s;
        for i in 0..out.len() {
            out[i] =
                h00 * self.y0[i] + h10 * h * self.f0[i] + h01 * self.y1[i] + h11 * h * self.f1[i];
        }
    }
}

/// Integrates `sys` from `t0` to `t1`, updating `y` in place. `on_step` sees every accepted step.
pub fn integrate<S: System + ?Sized>(
    sys: &S,
    t0: f64,
    t1: f64,
    y: &mut [f64],
    opts: &Options,
    ws: &mut Workspace,
    mut on_step: impl FnMut(&StepView<'_>),
) -> Result<Stats, OdeError> {
    let n = sys.dim();
    if ws.n != n {
        *ws = Workspace::new(n);
    }
    let mut st = Stats::default();
    if t1 <= t0 {
        return Ok(st);
    }
    let h_min = 1e-12 * (t1 - t0).max(1.0);
    let mut t = t0;
    let mut h = opts.h0.min(opts.h_max).min(t1 - t0);
    sys.rhs(t, y, &mut ws.k1);
    st.rhs_evals += 1;
    let mut jac_fresh = false;
    let mut have_jac = false;
    let mut h_lu = f64::NAN;
    // The previous accepted step (`yp`, `fp` in the workspace) for the predictor of the first
    // implicit stage (`Y2`).
    let mut h_prev = 0.0;

    while t < t1 {
        let last = t + h >= t1 * (1.0 - 1e-14) || t1 - (t + h) < h_min;
        if last {
            h = t1 - t;
        }
        for i in 0..n {
            ws.wt[i] = 1.0 / (opts.atol[i] + opts.rtol * y[i].abs());
        }
        if !have_jac {
            jacobian(sys, t, y, &opts.atol, opts.analytic_jacobian, ws, &mut st);
            have_jac = true;
            jac_fresh = true;
            h_lu = f64::NAN;
        }
        if !(h_lu.is_finite() && (h / h_lu - 1.0).abs() <= opts.lu_stale_tol) {
            factor(ws, n, h, t, &opts.atol, &mut st)?;
            h_lu = h;
        }

        // Stage 2: Y2 = y + h d (k1 + k2).
        for i in 0..n {
            ws.base[i] = y[i] + h * D * ws.k1[i];
            ws.y2[i] = y[i] + GAMMA * h * ws.k1[i];
        }
        if h_prev > 0.0 && GAMMA * h <= h_prev {
            // Predictor: the previous accepted step's cubic Hermite, extrapolated to t + γh
            // (closer to the stage value than the Euler step above: about 9 % fewer Newton
            // iterations on the healing benchmark). The first step of a call, and a step that
            // would extrapolate the cubic beyond twice its own interval, keep Euler.
            let s = 1.0 + GAMMA * h / h_prev;
            let h00 = 2.0 * s * s * s - 3.0 * s * s + 1.0;
            let h10 = s * s * s - 2.0 * s * s + s;
            let h01 = -2.0 * s * s * s + 3.0 * s * s;
            let h11 = s * s * s - s * s;
            for i in 0..n {
                ws.y2[i] =
                    h00 * ws.yp[i] + h10 * h_prev * ws.fp[i] + h01 * y[i] + h11 * h_prev * ws.k1[i];
            }
        }
        let ok2 = newton(sys, t + GAMMA * h, h, StageSel::Two, ws, n, &mut st);
        let mut ok = ok2.is_some();
        let mut slow = ok2.unwrap_or(true);
        if ok {
            // k2 from the stage equation: Y2 = base + h d k2.
            for i in 0..n {
                ws.k2[i] = (ws.y2[i] - ws.base[i]) / (h * D);
            }
            // Stage 3: Y3 = y + h (w k1 + w k2 + d k3).
            for i in 0..n {
                ws.base[i] = y[i] + h * W * (ws.k1[i] + ws.k2[i]);
                // Predictor: quadratic extrapolation through y, Y2.
                ws.y3[i] = y[i] + h * (W * ws.k1[i] + W * ws.k2[i] + D * ws.k2[i]);
            }
            let ok3 = newton(sys, t + h, h, StageSel::Three, ws, n, &mut st);
            ok = ok3.is_some();
            slow |= ok3.unwrap_or(true);
        }
        if !ok {
            // Newton failed: refresh the Jacobian first, then cut the step.
            st.rejected += 1;
            if !jac_fresh {
                have_jac = false;
            } else {
                h *= 0.25;
            }
            if h < h_min {
                return Err(OdeError::StepTooSmall { t, h_min });
            }
            continue;
        }
        for i in 0..n {
            ws.k3[i] = (ws.y3[i] - ws.base[i]) / (h * D);
        }
        // Error estimate, filtered by M⁻¹.
        for i in 0..n {
            ws.tmp[i] = h * (BE[0] * ws.k1[i] + BE[1] * ws.k2[i] + BE[2] * ws.k3[i]);
        }
        solve_scaled(ws, n);
        let err = wrms(&ws.tmp, &ws.wt);
        if !err.is_finite() {
            st.rejected += 1;
            h *= 0.25;
            have_jac = false;
            if h < h_min {
                return Err(OdeError::StepTooSmall { t, h_min });
            }
            continue;
        }
        let fac = (0.9 * err.max(1e-10).powf(-1.0 / 3.0)).clamp(0.2, 5.0);
        if err > 1.0 {
            st.rejected += 1;
            h *= fac.min(0.9);
            if h < h_min {
                return Err(OdeError::StepTooSmall { t, h_min });
            }
            continue;
        }
        // Accept.
        st.steps += 1;
        let t_new = t + h;
        {
            let view = StepView {
                t0: t,
                y0: y,
                f0: &ws.k1,
                t1: t_new,
                y1: &ws.y3,
                f1: &ws.k3,
            };
            on_step(&view);
        }
        ws.yp.copy_from_slice(y);
        ws.fp.copy_from_slice(&ws.k1);
        h_prev = h;
        y.copy_from_slice(&ws.y3);
        for (i, v) in y.iter().enumerate() {
            if !v.is_finite() {
                return Err(OdeError::NonFinite { t: t_new, index: i });
            }
        }
        std::mem::swap(&mut ws.k1, &mut ws.k3);
        t = t_new;
        jac_fresh = false;
        if slow {
            have_jac = false;
        }
        if last {
            break;
        }
        // Keep the step (and the LU) unless the change is worth a refactorisation.
        let h_new = if (1.0..=opts.lu_keep_ratio).contains(&fac) {
            h
        } else {
            h * fac
        };
        h = h_new.min(opts.h_max).min(t1 - t).max(h_min);
    }
    Ok(st)
}

#[derive(Clone, Copy)]
enum StageSel {
    Two,
    Three,
}

/// Simplified Newton for `Y = base + h d f(t, Y)`. Returns `Some(slow)` on convergence.
fn newton<S: System + ?Sized>(
    sys: &S,
    t: f64,
    h: f64,
    which: StageSel,
    ws: &mut Workspace,
    n: usize,
    st: &mut Stats,
) -> Option<bool> {
    let mut prev = f64::INFINITY;
    let mut slow = false;
    for iter in 0..8 {
        {
            let yst = match which {
                StageSel::Two => &ws.y2,
                StageSel::Three => &ws.y3,
            };
            sys.rhs(t, yst, &mut ws.tmp2);
            st.rhs_evals += 1;
            for i in 0..n {
                ws.tmp[i] = ws.base[i] + h * D * ws.tmp2[i] - yst[i];
            }
        }
        solve_scaled(ws, n);
        let yst = match which {
            StageSel::Two => &mut ws.y2,
            StageSel::Three => &mut ws.y3,
        };
        for i in 0..n {
            yst[i] += ws.tmp[i];
        }
        let norm = wrms(&ws.tmp, &ws.wt);
        if !norm.is_finite() {
            return None;
        }
        if norm < 1e-3 {
            return Some(slow || iter >= 4);
        }
        if iter > 0 {
            let theta = norm / prev;
            if theta > 0.9 {
                return None;
            }
            if theta > 0.3 {
                slow = true;
            }
            if theta / (1.0 - theta) * norm < 0.05 {
                return Some(slow || iter >= 4);
            }
        }
        prev = norm;
    }
    None
}

fn jacobian<S: System + ?Sized>(
    sys: &S,
    t: f64,
    y: &[f64],
    atol: &[f64],
    analytic: bool,
    ws: &mut Workspace,
    st: &mut Stats,
) {
    let n = y.len();
    if analytic && sys.jacobian(t, y, &mut ws.jac) {
        st.jacobians += 1;
        return;
    }
    // f0 must be f(y) exactly (the stage-derivative k1 is only converged to the Newton
    // tolerance, which a finite difference would amplify).
    sys.rhs(t, y, &mut ws.base);
    st.rhs_evals += 1;
    ws.tmp.copy_from_slice(y);
    for j in 0..n {
        let dj = 1e-7 * y[j].abs().max(atol[j] * 1e3);
        ws.tmp[j] = y[j] + dj;
        sys.rhs(t, &ws.tmp, &mut ws.tmp2);
        st.rhs_evals += 1;
        for i in 0..n {
            ws.jac[i * n + j] = (ws.tmp2[i] - ws.base[i]) / dj;
        }
        ws.tmp[j] = y[j];
    }
    st.jacobians += 1;
}

/// Factors `I − h d J` in the variables scaled by `atol` (`S⁻¹ M S`, `S = diag(atol)`): the
/// state mixes cell densities (~1e13 /m³) with concentrations (~1e-8 kg/m³), and unscaled
/// entries spanning 40 decades made the LU slow (subnormal products) and poorly pivoted.
fn factor(
    ws: &mut Workspace,
    n: usize,
    h: f64,
    t: f64,
    atol: &[f64],
    st: &mut Stats,
) -> Result<(), OdeError> {
    for i in 0..n {
        ws.scale[i] = if atol[i] > 0.0 && atol[i].is_finite() {
            atol[i]
        } else {
            1.0
        };
    }
    for i in 0..n {
        let si = 1.0 / ws.scale[i];
        for j in 0..n {
            ws.lu[i * n + j] = -h * D * ws.jac[i * n + j] * ws.scale[j] * si;
        }
        ws.lu[i * n + i] += 1.0;
    }
    st.factorisations += 1;
    if lu_factor(&mut ws.lu, &mut ws.piv, n, 0.0) {
        lu_transpose(&ws.lu, n, &mut ws.lut);
        Ok(())
    } else {
        Err(OdeError::Singular { t })
    }
}

/// Solves `M x = tmp` in place with the scaled factorisation.
fn solve_scaled(ws: &mut Workspace, n: usize) {
    for i in 0..n {
        ws.tmp[i] /= ws.scale[i];
    }
    lu_solve_columns(&ws.lut, &ws.piv, n, &mut ws.tmp);
    for i in 0..n {
        ws.tmp[i] *= ws.scale[i];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Linear {
        lam: Vec<f64>,
    }
    impl System for Linear {
        fn dim(&self) -> usize {
            self.lam.len()
        }
        fn rhs(&self, _t: f64, y: &[f64], dy: &mut [f64]) {
            for i in 0..y.len() {
                dy[i] = -self.lam[i] * y[i];
            }
        }
    }

    /// Robertson's stiff chemical kinetics (Hairer & Wanner II, §IV.1).
    struct Robertson;
    impl System for Robertson {
        fn dim(&self) -> usize {
            3
        }
        fn rhs(&self, _t: f64, y: &[f64], dy: &mut [f64]) {
            dy[0] = -0.04 * y[0] + 1e4 * y[1] * y[2];
            dy[1] = 0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] * y[1];
            dy[2] = 3e7 * y[1] * y[1];
        }
    }

    #[test]
    fn stiff_linear_decay_matches_exact_solution() {
        let sys = Linear {
            lam: vec![1.0, 1e3, 1e6],
        };
        // Exact iteration matrix (LU refactored at every step-size change), then the default
        // stale-LU policy, whose Newton stops at a fraction of the tolerance instead of
        // converging in one iteration on a linear problem (a little less accurate).
        for (stale, tol) in [(0.0, 1e-5), (0.3, 2e-5)] {
            let mut y = vec![1.0, 1.0, 1.0];
            let mut opts = Options::new(1e-6, vec![1e-12; 3], 1e-6, 1.0);
            opts.lu_stale_tol = stale;
            let mut ws = Workspace::new(3);
            let st = integrate(&sys, 0.0, 2.0, &mut y, &opts, &mut ws, |_| {}).unwrap();
            assert!(
                (y[0] - (-2.0f64).exp()).abs() < tol,
                "stale {stale}: {}",
                y[0]
            );
            assert!(y[1].abs() < 1e-9 && y[2].abs() < 1e-9);
            assert!(st.steps < 2000, "{st:?}");
        }
    }

    #[test]
    fn second_order_convergence() {
        // Error of a fixed-step-like run shrinks ~4x per halving of the tolerance-driven step.
        let sys = Linear { lam: vec![1.0] };
        let mut errs = Vec::new();
        for k in 0..3 {
            let h = 0.1 / 2f64.powi(k);
            let mut y = vec![1.0];
            let opts = Options::new(1.0, vec![1.0], h, h);
            let mut ws = Workspace::new(1);
            integrate(&sys, 0.0, 1.0, &mut y, &opts, &mut ws, |_| {}).unwrap();
            errs.push((y[0] - (-1.0f64).exp()).abs());
        }
        let o1 = (errs[0] / errs[1]).log2();
        let o2 = (errs[1] / errs[2]).log2();
        assert!(
            (o1 - 2.0).abs() < 0.15 && (o2 - 2.0).abs() < 0.15,
            "{errs:?}"
        );
    }

    #[test]
    fn robertson_conserves_mass_and_matches_reference() {
        let mut y = vec![1.0, 0.0, 0.0];
        let opts = Options::new(1e-6, vec![1e-8, 1e-12, 1e-8], 1e-6, 1e4);
        let mut ws = Workspace::new(3);
        integrate(&Robertson, 0.0, 40.0, &mut y, &opts, &mut ws, |_| {}).unwrap();
        // Reference at t = 40 (Hairer & Wanner): y1 = 0.7158271, y3 = 0.2841566.
        assert!((y[0] - 0.715_827_1).abs() < 2e-4, "{y:?}");
        assert!((y[2] - 0.284_156_6).abs() < 2e-4, "{y:?}");
        assert!((y.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn hermite_output_is_continuous() {
        let sys = Linear { lam: vec![0.5] };
        let mut y = vec![1.0];
        let opts = Options::new(1e-6, vec![1e-10], 1e-3, 0.5);
        let mut ws = Workspace::new(1);
        let mut worst: f64 = 0.0;
        integrate(&sys, 0.0, 3.0, &mut y, &opts, &mut ws, |s| {
            let mut o = [0.0];
            let tm = 0.5 * (s.t0 + s.t1);
            s.interpolate(tm, &mut o);
            worst = worst.max((o[0] - (-0.5 * tm).exp()).abs());
        })
        .unwrap();
        assert!(worst < 5e-5, "{worst}");
    }
}
