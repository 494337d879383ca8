//! The spatial resolutions: the lumped kinetics of [`super::model`] in every voxel of a
//! transport grid, with the diffusible species moving between voxels.
//!
//! * **Unit cell** ([`UnitCell`]): an axisymmetric (r, z) cell of radius `1/√(π·density)` around
//!   one channel of the mean depth, through the dermis (papillary on top of reticular), zero flux
//!   on every face (the outer wall is the symmetry plane between neighbouring channels).
//! * **3-D patch** ([`super::patch`]): the same [`SpatialModel`] on a Cartesian grid over a
//!   zone's puncture maps, with the [`Integrator::Rosenbrock`] pointwise integrator.
//!
//! **One parameter set.** Each voxel runs the very right-hand side and analytic Jacobian of the
//! lumped [`Block`] of its layer, through the transport engine's [`Reactions`] trait; the only
//! new parameters are the diffusivities (`*_diffusivity`, `*_motility` in
//! [`HealingParams`], documented in `docs/parameters.csv`).
//!
//! **Transported variable.** The engine stores, per voxel and state variable, the deviation
//! from the resting state of the voxel's layer, so that the layered resting state (fibroblasts,
//! collagen, TGF-β differ between papillary and reticular dermis) is exactly steady and the
//! pointwise Newton sees O(1) numbers instead of cell densities of 1e13 /m³ beside
//! concentrations of 1e-8 kg/m³. Variables that move and rest at non-zero levels in both layers
//! are stored relative to their own layer's rest and move with a layered capacity (see
//! [`Kinetics::new`]); the others as `(y − y_rest)/s` with one scale for both layers.
//!
//! **What moves.** Cytokine, PDGF and TGF-β diffuse; neutrophils, macrophages and fibroblasts
//! migrate slowly (random motility); debris, collagen, elastin, collagenase activity, blood and
//! oedema volume and the epidermal variables (carried by the papillary voxels, not resolved
//! radially) do not.
//!
//! **Time stepping.** Backward-Euler diffusion sweeps (L-stable; the sweep order does not depend
//! on the step count, so a run resumed from a checkpoint repeats the same operations) with
//! Strang-split reactions integrated by the engine's SDIRK2 (unit cell) or by ROS2 in this module
//! (patch). Steps restart at `dt_min` after each session and grow geometrically to `dt_max`;
//! step end times are a fixed function of the protocol and the output times, which is what
//! makes [`run_controlled`]'s checkpoints resume bit-identically.

// Per-species loops index several parallel arrays (rest, scale, fields) with one variable.
#![allow(clippy::needless_range_loop)]

mod sparse;

use std::time::Instant;

use super::lumped::{InjuryInput, SessionInput, Trajectory};
use super::model::{self, Block, BlockInjury, NPAP, PersonFactors};
use super::ode::System;
use super::params::{DAY, HealingParams};
use crate::injury::ChannelSet;
use crate::skin::{LayerKind, SkinColumn};
use crate::transport::dense::{lu_envelope, lu_factor, lu_solve_envelope};
use crate::transport::{
    AxiGrid, Boundary, Geometry, Problem, Reactions, Scheme, Simulation, SolverSettings, Species,
    TransportError,
};

/// Why a spatial run failed.
#[derive(Debug, thiserror::Error)]
pub enum SpatialError {
    #[error("transport engine: {0}")]
    Transport(#[from] TransportError),
    #[error("invalid spatial setup: {0}")]
    Setup(String),
    #[error("checkpoint {path}: {what}")]
    Checkpoint { path: String, what: String },
    #[error(
        "stopped on request after step {step} (day {day:.3}); the checkpoint holds the state, \
         run again to resume"
    )]
    Interrupted { step: u64, day: f64 },
    #[error(
        "pointwise reaction integrator failed at voxel {voxel} (layer {layer}) even with 64 \
         sub-steps"
    )]
    ReactionFailed { voxel: usize, layer: usize },
}

/// The per-voxel kinetics: the lumped blocks, evaluated on the transported deviations.
#[derive(Clone, Debug)]
pub struct Kinetics {
    blocks: [Block; 2],
    /// Layer of each voxel: 0 papillary dermis (with the epidermis), 1 reticular dermis.
    layer: Vec<u8>,
    rest: [[f64; NPAP]; 2],
    /// Scale of the transported deviation, per layer and variable (SI = rest + scale·u).
    scale: [[f64; NPAP]; 2],
    /// Relative storage capacity per layer and variable (1 unless the variable moves with a
    /// layered capacity, see [`Kinetics::new`]).
    capacity: [[f64; NPAP]; 2],
    /// `1 / scale` per layer (the ROS2 rates multiply by it).
    inv_scale: [[f64; NPAP]; 2],
    /// Per layer: `scale[j] / scale[i]` at row-major `i·dim + j` (raw Jacobian → Jacobian of
    /// the deviations).
    ratio: [Vec<f64>; 2],
    /// Per layer: the block-triangular LU structure of `I − γhJ` (ROS2).
    lu: [sparse::BlockLu; 2],
}

impl Kinetics {
    /// A variable that moves (`d[i] > 0`) and rests at a non-zero level in both layers is
    /// transported as its deviation relative to its own layer's rest, `u = y/y_rest(layer) − 1`,
    /// with a storage capacity proportional to that rest (`C_l = y_rest,l / max_l y_rest,l`).
    /// It then moves down the gradient of its density relative to rest, the stored amount
    /// `∫ C u dV ∝ ∫ (y − y_rest) dV` is conserved across the layer interface, the layered rest
    /// is steady, and `y ≥ 0` is preserved (u ≥ −1 by the maximum principle). Every other
    /// variable is `u = (y − y_rest)/s` with one scale `s` for both layers (its rest is the same
    /// in both, zero for the moving ones).
    fn new(pap: Block, ret: Block, layer: Vec<u8>, d: &[f64; NPAP]) -> Self {
        let mut rest = [[0.0; NPAP]; 2];
        for (l, b) in [&pap, &ret].into_iter().enumerate() {
            let r = b.rest();
            rest[l][..r.len()].copy_from_slice(&r);
        }
        let sp = pap.scales();
        let sr = ret.scales();
        let mut scale = [[1.0; NPAP]; 2];
        let mut capacity = [[1.0; NPAP]; 2];
        for i in 0..NPAP {
            let (r0, r1) = (rest[0][i], rest[1][i]);
            if d[i] > 0.0 && r0 > 0.0 && r1 > 0.0 {
                let rmax = r0.max(r1);
                for l in 0..2 {
                    scale[l][i] = rest[l][i];
                    capacity[l][i] = rest[l][i] / rmax;
                }
            } else {
                let a = sp.get(i).copied().unwrap_or(0.0);
                let b = sr.get(i).copied().unwrap_or(0.0);
                let s = a.max(b).max(f64::MIN_POSITIVE);
                for row in scale.iter_mut() {
                    row[i] = s;
                }
            }
        }
        let ratio = [0, 1].map(|l| {
            let n = [&pap, &ret][l].dim();
            let mut r = vec![0.0; n * n];
            for i in 0..n {
                let si = 1.0 / scale[l][i];
                for j in 0..n {
                    r[i * n + j] = scale[l][j] * si;
                }
            }
            r
        });
        let lu = [0, 1].map(|l| {
            let b = [&pap, &ret][l];
            probe_pattern(b, &rest[l], &scale[l])
        });
        Kinetics {
            blocks: [pap, ret],
            layer,
            rest,
            scale,
            capacity,
            inv_scale: scale.map(|row| row.map(|x| 1.0 / x)),
            ratio,
            lu,
        }
    }

    /// The layered capacity of variable `i` per z level (`layer_k[k]` is level k's layer), or
    /// `None` when it moves without one.
    fn capacity_z(&self, i: usize, layer_k: &[u8]) -> Option<Vec<f64>> {
        (self.capacity[0][i] != 1.0 || self.capacity[1][i] != 1.0).then(|| {
            layer_k
                .iter()
                .map(|&l| self.capacity[l as usize][i])
                .collect()
        })
    }

    /// SI state of a voxel of layer `l` from its transported values.
    #[inline]
    fn to_si(&self, l: usize, u: &[f64], y: &mut [f64; NPAP]) {
        for i in 0..NPAP {
            y[i] = self.rest[l][i] + u[i] * self.scale[l][i];
        }
    }

    /// Number of state variables of layer `l` (18 papillary, 15 reticular).
    #[inline]
    fn dim(&self, l: usize) -> usize {
        self.blocks[l].dim()
    }

    #[inline]
    fn deviation_of(&self, l: usize, y: &[f64; NPAP], u: &mut [f64]) {
        for i in 0..NPAP {
            u[i] = (y[i] - self.rest[l][i]) / self.scale[l][i];
        }
    }
}

/// The block LU structure of a layer's `I − γhJ` from the union of the Jacobian's non-zeros
/// at probe states: rest, and 256 states spread over deviations of both signs from 1e-3 to 30
/// typical magnitudes (every clamp and switch of the kinetics on either side). Deterministic
/// (a fixed xorshift sequence). A non-zero the probes missed is caught per voxel and sends that
/// voxel to the dense LU.
fn probe_pattern(b: &Block, rest: &[f64; NPAP], scale: &[f64; NPAP]) -> sparse::BlockLu {
    let n = b.dim();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let probes = (0..257).map(move |p| {
        let mut y = vec![0.0; n];
        for i in 0..n {
            let u = if p == 0 {
                0.0
            } else {
                let mag = 10f64.powf(-3.0 + 4.5 * next());
                let sign = if next() < 0.25 { -1.0 } else { 1.0 };
                sign * mag
            };
            y[i] = rest[i] + u * scale[i];
        }
        let mut j = vec![0.0; n * n];
        b.jacobian_into(&y, &mut j);
        j
    });
    sparse::BlockLu::from_probes(n, probes)
}

impl Kinetics {
    /// Rates of the transported deviations of a voxel of layer `l` (first `dim(l)` entries).
    #[inline]
    fn rates_l(&self, l: usize, c: &[f64], dcdt: &mut [f64]) {
        let b = &self.blocks[l];
        let n = b.dim();
        let mut y = [0.0; NPAP];
        self.to_si(l, c, &mut y);
        let mut dy = [0.0; NPAP];
        b.rhs(0.0, &y[..n], &mut dy[..n]);
        for i in 0..n {
            dcdt[i] = dy[i] * self.inv_scale[l][i];
        }
    }
}

impl Reactions for Kinetics {
    fn rates(&self, voxel: usize, c: &[f64], dcdt: &mut [f64]) {
        let l = self.layer[voxel] as usize;
        let b = &self.blocks[l];
        let n = b.dim();
        let mut y = [0.0; NPAP];
        self.to_si(l, c, &mut y);
        let mut dy = [0.0; NPAP];
        b.rhs(0.0, &y[..n], &mut dy[..n]);
        for i in 0..NPAP {
            dcdt[i] = dy[i] / self.scale[l][i];
        }
    }

    fn jacobian(&self, voxel: usize, c: &[f64], jac: &mut [f64]) {
        let l = self.layer[voxel] as usize;
        let b = &self.blocks[l];
        let n = b.dim();
        let mut y = [0.0; NPAP];
        self.to_si(l, c, &mut y);
        let mut jb = [0.0; NPAP * NPAP];
        b.jacobian_into(&y[..n], &mut jb[..n * n]);
        jac[..NPAP * NPAP].fill(0.0);
        for i in 0..n {
            for j in 0..n {
                jac[i * NPAP + j] = jb[i * n + j] * self.scale[l][j] / self.scale[l][i];
            }
        }
    }
}

/// How a spatial model integrates the per-voxel kinetics between the diffusion sweeps (both
/// Strang-split: half a step of reactions, a diffusion step, half a step of reactions).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Integrator {
    /// The transport engine's pointwise SDIRK2 (two implicit stages, simplified Newton to
    /// 1e-12, one LU per voxel and half-step). The unit cell's integrator.
    #[default]
    Sdirk2,
    /// ROS2 (Verwer, Spee, Blom & Hundsdorfer 1999, SIAM J. Sci. Comput. 20:1456): linearly
    /// implicit, L-stable, second order, one analytic Jacobian and one LU of `I − γhJ` per voxel
    /// and half-step (block lower triangular on the Jacobian's structural pattern: dense LU of
    /// the small diagonal blocks only, the full dense LU as fallback; solves of four voxels
    /// interleaved), two right-hand sides and no Newton iterations; a voxel exactly at rest
    /// (every deviation 0.0) is skipped (rest is the kinetics' fixed point). Sub-steps 2 … 64
    /// when a step gives a non-finite value. The patch's integrator.
    Rosenbrock,
}

/// Default ROS2 sub-steps per half-step ([`Stepping::ros_substeps`]), the registry's default.
pub(crate) use crate::params::groups::ROS_SUBSTEPS;

/// γ of ROS2 (1 + 1/√2: L-stable).
const ROS_GAMMA: f64 = 1.0 + std::f64::consts::FRAC_1_SQRT_2;

/// The factors of `I − γhJ` at one voxel.
struct RosFactors {
    /// The raw Jacobian, then (dense fallback) the dense factors of `I − γhJ`.
    a: [f64; NPAP * NPAP],
    piv: [usize; NPAP],
    /// Per row of the dense factors: first non-zero column of L, one past the last of U.
    env: [(usize, usize); NPAP],
    /// The block-triangular factors ([`sparse::BlockLu`]) and their block pivots.
    sp: [f64; NPAP * NPAP],
    sp_piv: [usize; NPAP],
    /// True when the dense factors in `a` are the current ones (the block LU declined).
    dense: bool,
    /// Factorisations that fell back to the dense LU (diagnostics, tests).
    fallbacks: u64,
}

impl RosFactors {
    /// Solves `(I − γhJ) x = b` in place with the current factors.
    #[inline]
    fn solve(&self, kin: &Kinetics, l: usize, n: usize, b: &mut [f64]) {
        if self.dense {
            lu_solve_envelope(&self.a, &self.piv, &self.env, n, b);
        } else {
            kin.lu[l].solve(&self.sp, &self.sp_piv, b);
        }
    }
}

struct RosWork {
    f: RosFactors,
    k1: [f64; NPAP],
    k2: [f64; NPAP],
    y: [f64; NPAP],
}

impl RosWork {
    fn new() -> Self {
        RosWork {
            f: RosFactors {
                a: [0.0; NPAP * NPAP],
                piv: [0; NPAP],
                env: [(0, 0); NPAP],
                sp: [0.0; NPAP * NPAP],
                sp_piv: [0; NPAP],
                dense: false,
                fallbacks: 0,
            },
            k1: [0.0; NPAP],
            k2: [0.0; NPAP],
            y: [0.0; NPAP],
        }
    }
}

/// Factorises `I − γhJ` with the Jacobian at `u`: the block-triangular LU on the layer's
/// pattern ([`sparse::BlockLu`]), or, when it declines (a non-zero outside the pattern, a tiny
/// block pivot), the dense LU with partial pivoting. False when singular.
fn ros2_factor(kin: &Kinetics, l: usize, n: usize, u: &[f64], h: f64, w: &mut RosWork) -> bool {
    let mut y = [0.0; NPAP];
    kin.to_si(l, u, &mut y);
    kin.blocks[l].jacobian_into(&y[..n], &mut w.f.a[..n * n]);
    factor_raw(kin, l, n, ROS_GAMMA * h, &mut w.f)
}

/// [`ros2_factor`] from the raw (SI) Jacobian already in `f.a`, with `gh = γh`.
fn factor_raw(kin: &Kinetics, l: usize, n: usize, gh: f64, f: &mut RosFactors) -> bool {
    let ratio = &kin.ratio[l];
    if kin.lu[l]
        .factor(&f.a, ratio, gh, &mut f.sp, &mut f.sp_piv)
        .is_ok()
    {
        f.dense = false;
        return true;
    }
    f.fallbacks += 1;
    // The same matrix as the block LU's, densely (scaled as `Kinetics::jacobian_l` scales).
    for k in 0..n * n {
        f.a[k] *= ratio[k];
    }
    dense_factor(n, gh, f)
}

/// The dense LU with partial pivoting of `I − γhJ` from the scaled Jacobian in `f.a`.
fn dense_factor(n: usize, gh: f64, f: &mut RosFactors) -> bool {
    f.dense = true;
    for x in f.a[..n * n].iter_mut() {
        *x *= -gh;
    }
    for i in 0..n {
        f.a[i * n + i] += 1.0;
    }
    if !lu_factor(&mut f.a, &mut f.piv, n, 0.0) {
        return false;
    }
    lu_envelope(&f.a, n, &mut f.env);
    true
}

/// One ROS2 step of `h` seconds on the first `n` deviations `u` (in place) with the factorised
/// `I − γhJ` in `w` (a W-method: second order for any `J`, so `J` may be from an earlier
/// point); false (and `u` untouched) when a value is not finite.
fn ros2_step(kin: &Kinetics, l: usize, n: usize, u: &mut [f64], h: f64, w: &mut RosWork) -> bool {
    kin.rates_l(l, u, &mut w.k1);
    w.f.solve(kin, l, n, &mut w.k1[..n]);
    for i in 0..n {
        w.y[i] = u[i] + h * w.k1[i];
    }
    kin.rates_l(l, &w.y, &mut w.k2);
    for i in 0..n {
        w.k2[i] -= 2.0 * w.k1[i];
    }
    w.f.solve(kin, l, n, &mut w.k2[..n]);
    let mut ok = true;
    for i in 0..n {
        w.y[i] = u[i] + h * (1.5 * w.k1[i] + 0.5 * w.k2[i]);
        ok &= w.y[i].is_finite();
    }
    if ok {
        u[..n].copy_from_slice(&w.y[..n]);
    }
    ok
}

/// ROS2 over `h` at one voxel in `m0` sub-steps, then 2·`m0`, 4·`m0`, … 64·`m0` when a step
/// fails.
fn ros2_voxel(
    kin: &Kinetics,
    l: usize,
    u: &mut [f64; NPAP],
    h: f64,
    m0: usize,
    w: &mut RosWork,
) -> bool {
    let n = kin.dim(l);
    let u0 = *u;
    for level in 0..7 {
        let m = m0 << level;
        *u = u0;
        let hs = h / m as f64;
        // One Jacobian and LU per half-step, reused by its sub-steps.
        if ros2_factor(kin, l, n, u, hs, w) && (0..m).all(|_| ros2_step(kin, l, n, u, hs, w)) {
            return true;
        }
    }
    *u = u0;
    false
}

/// Voxels integrated together by [`ros2_lanes`].
const LANES: usize = 4;

/// The first level of [`ros2_voxel`] (`m0` sub-steps, one block LU) for `LANES` voxels of layer
/// `l` at once, their solves interleaved ([`sparse::BlockLu::solve_lanes`]). Every voxel sees
/// exactly the operations of [`ros2_voxel`], so its result does not depend on its lane
/// mates. False (and `us` untouched) when any voxel needs more: the dense fallback, a
/// singular matrix or a non-finite value; the caller then runs [`ros2_voxel`] on each.
fn ros2_lanes(
    kin: &Kinetics,
    l: usize,
    us: &mut [[f64; NPAP]; LANES],
    h: f64,
    m0: usize,
    ws: &mut [RosWork; LANES],
) -> bool {
    let n = kin.dim(l);
    let hs = h / m0 as f64;
    for q in 0..LANES {
        if !ros2_factor(kin, l, n, &us[q], hs, &mut ws[q]) || ws[q].f.dense {
            return false;
        }
    }
    let mut v = *us;
    let mut k1 = [[0.0; NPAP]; LANES];
    let mut k2 = [[0.0; NPAP]; LANES];
    let mut y = [[0.0; NPAP]; LANES];
    let lu = &kin.lu[l];
    for _ in 0..m0 {
        let val: [&[f64]; LANES] = std::array::from_fn(|q| &ws[q].f.sp[..]);
        let piv: [&[usize]; LANES] = std::array::from_fn(|q| &ws[q].f.sp_piv[..]);
        for q in 0..LANES {
            kin.rates_l(l, &v[q], &mut k1[q]);
        }
        lu.solve_lanes(val, piv, &mut k1);
        for q in 0..LANES {
            for i in 0..n {
                y[q][i] = v[q][i] + hs * k1[q][i];
            }
            kin.rates_l(l, &y[q], &mut k2[q]);
            for i in 0..n {
                k2[q][i] -= 2.0 * k1[q][i];
            }
        }
        lu.solve_lanes(val, piv, &mut k2);
        let mut ok = true;
        for q in 0..LANES {
            for i in 0..n {
                y[q][i] = v[q][i] + hs * (1.5 * k1[q][i] + 0.5 * k2[q][i]);
                ok &= y[q][i].is_finite();
            }
        }
        if !ok {
            return false;
        }
        for q in 0..LANES {
            v[q][..n].copy_from_slice(&y[q][..n]);
        }
    }
    *us = v;
    true
}

/// Diffusivity (m²/s) of each state variable of the transported fields.
pub fn diffusivities(p: &HealingParams) -> [f64; NPAP] {
    let mut d = [0.0; NPAP];
    d[model::S] = p.cytokine_diffusivity;
    d[model::P] = p.pdgf_diffusivity;
    d[model::T] = p.tgfb_diffusivity;
    d[model::N] = p.leukocyte_motility;
    d[model::M] = p.leukocyte_motility;
    d[model::FQ] = p.fibroblast_motility;
    d[model::FA] = p.fibroblast_motility;
    d[model::FM] = p.fibroblast_motility;
    d
}

/// Time stepping of a spatial run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stepping {
    /// First step after each session, s.
    pub dt_min: f64,
    /// Largest step, s.
    pub dt_max: f64,
    /// Growth factor of successive steps.
    pub growth: f64,
    /// ROS2 sub-steps per reaction half-step ([`Integrator::Rosenbrock`] only; doubled up to
    /// six times when a step gives a non-finite value).
    pub ros_substeps: usize,
}

impl Default for Stepping {
    fn default() -> Self {
        Stepping {
            dt_min: 0.01 * DAY,
            dt_max: 1.0 * DAY,
            growth: 1.2,
            ros_substeps: ROS_SUBSTEPS,
        }
    }
}

impl Stepping {
    /// The 3-D patch's steps: as the default, but growing to 4 days in the quiet remodeling
    /// months (the patch's outputs are weekly, so they do not cap the step at a day).
    pub fn patch() -> Self {
        Stepping {
            dt_max: 4.0 * DAY,
            ..Stepping::default()
        }
    }
}

/// Step end times from 0 to `t_end`: restart at `dt_min` after each session, land exactly on
/// every session and output time.
pub fn step_times(sessions: &[f64], outputs: &[f64], t_end: f64, st: &Stepping) -> Vec<f64> {
    let mut marks: Vec<(f64, bool)> = sessions
        .iter()
        .filter(|&&t| t > 0.0 && t < t_end)
        .map(|&t| (t, true))
        .chain(
            outputs
                .iter()
                .filter(|&&t| t > 0.0 && t < t_end)
                .map(|&t| (t, false)),
        )
        .collect();
    marks.push((t_end, false));
    marks.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut out = Vec::new();
    let mut t = 0.0;
    let mut dt = st.dt_min;
    for (m, is_session) in marks {
        while t < m * (1.0 - 1e-12) {
            let mut h = dt.min(m - t);
            if m - (t + h) < 0.2 * h {
                h = m - t;
            }
            t = if (m - (t + h)).abs() <= 1e-9 * m.max(1.0) {
                m
            } else {
                t + h
            };
            out.push(t);
            dt = (dt * st.growth).min(st.dt_max);
        }
        if is_session {
            dt = st.dt_min;
        }
    }
    out
}

/// The kinetics on a transport grid, with voxel volumes and layer bookkeeping.
pub struct SpatialModel {
    sim: Simulation,
    kin: Kinetics,
    shape: [usize; 3],
    /// Cell volume per (i, k) (Cartesian volumes do not depend on i, j), m³.
    vol_ik: Vec<f64>,
    layer_volume: [f64; 2],
    /// Number of voxel columns per (i, k) entry (ny for Cartesian, 1 axisymmetric).
    columns: usize,
    integrator: Integrator,
}

impl SpatialModel {
    /// Builds the model on `geometry` whose z = 0 is the dermo-epidermal junction; voxels with
    /// their centre above `papillary_thickness_m` are papillary dermis, the rest reticular.
    pub fn new(
        geometry: Geometry,
        column: &SkinColumn,
        age_years: f64,
        phototype: u8,
        p: &HealingParams,
    ) -> Result<Self, SpatialError> {
        Self::with_integrator(
            geometry,
            column,
            age_years,
            phototype,
            p,
            Integrator::Sdirk2,
        )
    }

    /// [`Self::new`] with a chosen pointwise [`Integrator`].
    pub fn with_integrator(
        geometry: Geometry,
        column: &SkinColumn,
        age_years: f64,
        phototype: u8,
        p: &HealingParams,
        integrator: Integrator,
    ) -> Result<Self, SpatialError> {
        let pf = PersonFactors::new(age_years, phototype, p);
        let pap = Block::new(column, LayerKind::PapillaryDermis, p, &pf);
        let ret = Block::new(column, LayerKind::ReticularDermis, p, &pf);
        let h_pd = pap.base.thickness_m;
        let shape = geometry.shape();
        let [nx, ny, nz] = shape;
        let zf = geometry.z_faces().to_vec();
        let (vol_ik, columns) = match &geometry {
            Geometry::Axisymmetric(g) => {
                let mut v = vec![0.0; nx * nz];
                for k in 0..nz {
                    for i in 0..nx {
                        v[k * nx + i] = g.volume(i, k);
                    }
                }
                (v, 1)
            }
            Geometry::Cartesian(g) => {
                let mut v = vec![0.0; nx * nz];
                for k in 0..nz {
                    for i in 0..nx {
                        v[k * nx + i] = g.volume(i, 0, k);
                    }
                }
                (v, ny)
            }
        };
        let layer_k: Vec<u8> = (0..nz)
            .map(|k| u8::from(0.5 * (zf[k] + zf[k + 1]) >= h_pd))
            .collect();
        let mut layer = vec![0u8; nx * ny * nz];
        let mut layer_volume = [0.0; 2];
        for k in 0..nz {
            for j in 0..ny {
                for i in 0..nx {
                    layer[(k * ny + j) * nx + i] = layer_k[k];
                }
            }
            for i in 0..nx {
                layer_volume[layer_k[k] as usize] += vol_ik[k * nx + i] * columns as f64;
            }
        }
        if layer_volume[0] <= 0.0 || layer_volume[1] <= 0.0 {
            return Err(SpatialError::Setup(format!(
                "the grid must hold both dermal layers (papillary {:.0} um thick); got layer \
                 volumes {layer_volume:?} m3",
                h_pd * 1e6
            )));
        }
        let d = diffusivities(p);
        let kin = Kinetics::new(pap, ret, layer, &d);
        let mut b = Problem::builder(geometry);
        for (i, name) in model::NAMES.iter().enumerate() {
            let mut sp = Species::new(*name, d[i]);
            if let Some(c) = kin.capacity_z(i, &layer_k) {
                sp = sp.layered_capacity(c);
            }
            b = b.species(sp);
        }
        b = b.boundary_everywhere(Boundary::ZeroFlux);
        if integrator == Integrator::Sdirk2 {
            b = b.reactions(kin.clone());
        }
        let problem = b.build()?;
        let settings = SolverSettings::fixed(DAY).with_scheme(Scheme::BackwardEuler);
        Ok(SpatialModel {
            sim: Simulation::new(problem, settings)?,
            kin,
            shape,
            vol_ik,
            layer_volume,
            columns,
            integrator,
        })
    }

    /// The pointwise integrator.
    pub fn integrator(&self) -> Integrator {
        self.integrator
    }

    /// Grid shape `[nx, ny, nz]`.
    pub fn shape(&self) -> [usize; 3] {
        self.shape
    }

    /// Number of voxels.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True for an empty grid (never, once built).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Layer (0 papillary, 1 reticular) of voxel `v`.
    pub fn layer_of(&self, v: usize) -> usize {
        self.kin.layer[v] as usize
    }

    /// The lumped block of layer `l`.
    pub fn block(&self, l: usize) -> &Block {
        &self.kin.blocks[l]
    }

    /// The transported fields (deviations from rest / scale), species-major.
    pub fn raw_fields(&self) -> &[f64] {
        self.sim.fields().as_slice()
    }

    /// Overwrites the transported fields (checkpoint restart).
    pub fn set_raw_fields(&mut self, v: &[f64]) -> Result<(), SpatialError> {
        let f = self.sim.fields_mut().as_mut_slice();
        if f.len() != v.len() {
            return Err(SpatialError::Setup(format!(
                "field length {} does not match the grid ({})",
                v.len(),
                f.len()
            )));
        }
        f.copy_from_slice(v);
        Ok(())
    }

    /// SI value of state variable `s` at voxel `v`.
    pub fn value(&self, s: usize, v: usize) -> f64 {
        let n = self.len();
        let l = self.layer_of(v);
        self.kin.rest[l][s] + self.raw_fields()[s * n + v] * self.kin.scale[l][s]
    }

    /// Applies one session's injury: `inj(v)` is the injury of voxel `v` (as a lumped block's).
    pub fn apply_injury(&mut self, inj: impl Fn(usize) -> BlockInjury) {
        let n = self.len();
        let f = self.sim.fields_mut().as_mut_slice();
        let mut u = [0.0; NPAP];
        let mut y = [0.0; NPAP];
        for v in 0..n {
            let bi = inj(v);
            if bi == BlockInjury::default() {
                continue;
            }
            let l = self.kin.layer[v] as usize;
            for s in 0..NPAP {
                u[s] = f[s * n + v];
            }
            self.kin.to_si(l, &u, &mut y);
            let b = &self.kin.blocks[l];
            let dim = b.dim();
            b.apply_injury(&mut y[..dim], &bi);
            self.kin.deviation_of(l, &y, &mut u);
            for s in 0..NPAP {
                f[s * n + v] = u[s];
            }
        }
    }

    /// One step of `dt` seconds (the default [`Stepping::ros_substeps`]).
    pub fn step(&mut self, dt: f64) -> Result<(), SpatialError> {
        self.step_with(dt, ROS_SUBSTEPS)
    }

    /// One step of `dt` seconds, `ros_substeps` ROS2 sub-steps per reaction half-step
    /// ([`Integrator::Rosenbrock`]; at least 1).
    pub fn step_with(&mut self, dt: f64, ros_substeps: usize) -> Result<(), SpatialError> {
        match self.integrator {
            Integrator::Sdirk2 => self.sim.step(dt)?,
            Integrator::Rosenbrock => {
                let m0 = ros_substeps.max(1);
                self.react(0.5 * dt, m0)?;
                self.sim.step(dt)?;
                self.react(0.5 * dt, m0)?;
            }
        }
        Ok(())
    }

    /// Integrates the kinetics over `h` in every voxel (ROS2). Chunks of voxels run in
    /// parallel; every voxel's arithmetic is independent of the chunking, so the result is
    /// bit-identical for any thread count.
    fn react(&mut self, h: f64, m0: usize) -> Result<(), SpatialError> {
        use rayon::prelude::*;
        const CH: usize = 2048;
        let n = self.len();
        let kin = &self.kin;
        let data = self.sim.fields_mut().as_mut_slice();
        let nchunks = n.div_ceil(CH);
        let mut parts: Vec<Vec<&mut [f64]>> =
            (0..nchunks).map(|_| Vec::with_capacity(NPAP)).collect();
        for sp in data.chunks_mut(n) {
            for (ci, part) in sp.chunks_mut(CH).enumerate() {
                parts[ci].push(part);
            }
        }
        let failed = parts
            .into_par_iter()
            .enumerate()
            .map_init(
                || std::array::from_fn::<RosWork, LANES, _>(|_| RosWork::new()),
                |ws, (ci, mut sp)| {
                    let len = sp[0].len();
                    // Voxels waiting for a full set of lanes, per layer: (index in the chunk,
                    // deviations).
                    let mut pend: [Vec<(usize, [f64; NPAP])>; 2] =
                        [Vec::with_capacity(LANES), Vec::with_capacity(LANES)];
                    let mut failed: Option<usize> = None;
                    let mut fail = |v: usize| failed = Some(failed.map_or(v, |f: usize| f.min(v)));
                    let mut run = |l: usize,
                                   batch: &mut Vec<(usize, [f64; NPAP])>,
                                   sp: &mut Vec<&mut [f64]>,
                                   ws: &mut [RosWork; LANES]| {
                        let mut done = false;
                        if batch.len() == LANES {
                            let mut us: [[f64; NPAP]; LANES] = std::array::from_fn(|q| batch[q].1);
                            if ros2_lanes(kin, l, &mut us, h, m0, ws) {
                                for (q, b) in batch.iter_mut().enumerate() {
                                    b.1 = us[q];
                                }
                                done = true;
                            }
                        }
                        for (q, u) in batch.iter_mut() {
                            if !done && !ros2_voxel(kin, l, u, h, m0, &mut ws[0]) {
                                fail(ci * CH + *q);
                                continue;
                            }
                            for s in 0..kin.dim(l) {
                                sp[s][*q] = u[s];
                            }
                        }
                        batch.clear();
                    };
                    for q in 0..len {
                        let v = ci * CH + q;
                        let mut u = [0.0; NPAP];
                        let mut zero = true;
                        for s in 0..NPAP {
                            u[s] = sp[s][q];
                            zero &= u[s] == 0.0;
                        }
                        if zero {
                            continue;
                        }
                        let l = kin.layer[v] as usize;
                        pend[l].push((q, u));
                        if pend[l].len() == LANES {
                            run(l, &mut pend[l], &mut sp, ws);
                        }
                    }
                    for l in 0..2 {
                        run(l, &mut pend[l], &mut sp, ws);
                    }
                    failed
                },
            )
            .reduce(
                || None,
                |a, b| match (a, b) {
                    (Some(x), Some(y)) => Some(x.min(y)),
                    (x, None) => x,
                    (None, y) => y,
                },
            );
        match failed {
            Some(voxel) => Err(SpatialError::ReactionFailed {
                voxel,
                layer: self.kin.layer[voxel] as usize,
            }),
            None => Ok(()),
        }
    }

    /// Volume-weighted layer means of the SI state: `[papillary, reticular]`.
    pub fn layer_means(&self) -> [[f64; NPAP]; 2] {
        let [nx, ny, nz] = self.shape;
        let n = self.len();
        let f = self.raw_fields();
        let mut acc = [[0.0; NPAP]; 2];
        for k in 0..nz {
            for i in 0..nx {
                let w = self.vol_ik[k * nx + i];
                let v0 = k * ny * nx + i;
                let l = self.kin.layer[v0] as usize;
                for s in 0..NPAP {
                    let mut sum = 0.0;
                    for j in 0..ny {
                        sum += f[s * n + v0 + j * nx];
                    }
                    acc[l][s] += w * sum;
                }
            }
        }
        let _ = self.columns;
        let mut out = [[0.0; NPAP]; 2];
        for l in 0..2 {
            for s in 0..NPAP {
                out[l][s] =
                    self.kin.rest[l][s] + acc[l][s] / self.layer_volume[l] * self.kin.scale[l][s];
            }
            let dim = self.kin.blocks[l].dim();
            for v in out[l].iter_mut().skip(dim) {
                *v = 0.0;
            }
        }
        out
    }
}

/// A snapshot of the SI fields of selected voxels at one time (cross sections).
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub t_s: f64,
    /// The voxels held, in the order of `values[s]`.
    pub voxels: Vec<usize>,
    /// `values[s][q]`: state variable `s` (SI) at voxel `voxels[q]`.
    pub values: Vec<Vec<f64>>,
}

/// The result of a spatial run: per-layer means at the output times (comparable with the
/// lumped [`Trajectory`]), snapshots and work figures.
#[derive(Clone, Debug, Default)]
pub struct SpatialRun {
    pub trajectory: Trajectory,
    pub snapshots: Vec<Snapshot>,
    /// Steps of the whole run (those done before a resumed checkpoint included).
    pub steps: u64,
    /// Steps done by this call (fewer than `steps` after a resume).
    pub steps_here: u64,
    pub voxels: usize,
    /// Wall time of this call, s.
    pub wall_s: f64,
    /// Step from which this call resumed a checkpoint (0: from the start).
    pub resumed_at_step: u64,
    /// Checkpoints written by this call.
    pub checkpoints_written: u32,
    /// Remarks for the user (a checkpoint ignored and why).
    pub notices: Vec<String>,
}

/// Which voxels get what injury at a session: `(voxel, lumped injury) -> voxel injury`.
pub type InjuryMap<'a> = &'a (dyn Fn(usize, &InjuryInput) -> BlockInjury + Sync);

/// Per-session voxel injuries: `(session index, voxel, lumped injury) -> voxel injury`.
pub type SessionInjuryMap<'a> = &'a (dyn Fn(usize, usize, &InjuryInput) -> BlockInjury + Sync);

/// Progress of a spatial run, reported after every step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepProgress {
    /// Steps done (of the whole run).
    pub step: u64,
    /// Steps of the whole run.
    pub steps: u64,
    /// Simulated time reached, s.
    pub t_s: f64,
    /// Simulated time at the end, s.
    pub t_end_s: f64,
}

/// Where and how often a spatial run writes its checkpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckpointSpec {
    /// The checkpoint file (written atomically; read at the start to resume).
    pub path: std::path::PathBuf,
    /// Identifies the run (scenario, seed, version, resolution, zone): a checkpoint with
    /// another fingerprint is ignored with a notice.
    pub fingerprint: String,
    /// Simulated time between checkpoints, s (also one before every session).
    pub interval_s: f64,
}

/// Checkpoints, interruption and progress of a spatial run. `Default`: none of them.
#[derive(Default)]
pub struct RunControl<'a> {
    pub checkpoint: Option<CheckpointSpec>,
    /// Stop (with [`SpatialError::Interrupted`], after writing the checkpoint) once this many
    /// steps of the whole run are done: tests interrupt a run this way.
    pub stop_after_steps: Option<u64>,
    /// Called after every step.
    pub progress: Option<&'a mut dyn FnMut(&StepProgress)>,
}

/// Runs a protocol on a spatial model: at each session the voxel injuries from `injury`, outputs
/// (layer means) at `out_times`, snapshots of every voxel at `snap_times` (each also an output
/// time).
pub fn run(
    model: &mut SpatialModel,
    sessions: &[SessionInput],
    injury: InjuryMap<'_>,
    t_end: f64,
    out_times: &[f64],
    snap_times: &[f64],
    stepping: &Stepping,
) -> Result<SpatialRun, SpatialError> {
    let all: Vec<usize> = (0..model.len()).collect();
    run_controlled(
        model,
        sessions,
        &|_, v, i| injury(v, i),
        t_end,
        out_times,
        snap_times,
        &all,
        stepping,
        &mut RunControl::default(),
    )
}

/// Format tag of checkpoint files (03: with a trailing checksum).
const CKPT_MAGIC: &[u8; 8] = b"NSHEAL03";

/// The checkpoints' checksum: the FNV-1a step `h = (h ^ w) · p` (Fowler, Noll & Vo; 64-bit
/// offset basis and prime) over the little-endian 64-bit words of `bytes` (the last, partial
/// one zero-padded), then over their length. One multiply per 8 bytes: a 325 MB patch
/// checkpoint is summed in well under a second. Each step is a bijection of `h`, so a change
/// within one word is always detected; other changes go unnoticed with a chance of about 2⁻⁶⁴.
fn checksum(bytes: &[u8]) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let step = |h: u64, w: u64| (h ^ w).wrapping_mul(PRIME);
    let mut words = bytes.chunks_exact(8);
    let mut h = 0xcbf2_9ce4_8422_2325;
    for w in &mut words {
        h = step(h, u64::from_le_bytes(w.try_into().unwrap_or([0; 8])));
    }
    let mut last = [0u8; 8];
    last[..words.remainder().len()].copy_from_slice(words.remainder());
    h = step(h, u64::from_le_bytes(last));
    step(h, bytes.len() as u64)
}

/// What a checkpoint holds besides its numbers (JSON header; every number that must come
/// back bit-identical is stored as raw little-endian f64 after it). The file:
/// `magic (8 bytes) | header length (u64 LE) | header | numbers | checksum of all bytes
/// before it (u64 LE, [`checksum`])`.
#[derive(serde::Serialize, serde::Deserialize)]
struct CkptHeader {
    fingerprint: String,
    /// Steps done.
    step: u64,
    next_out: usize,
    next_snap: usize,
    next_sess: usize,
    fields: usize,
    snapshot_len: usize,
    needlesim_version: String,
}

struct CkptState {
    step: u64,
    next_out: usize,
    next_snap: usize,
    next_sess: usize,
}

fn ckpt_err(path: &std::path::Path, what: impl Into<String>) -> SpatialError {
    SpatialError::Checkpoint {
        path: path.display().to_string(),
        what: what.into(),
    }
}

fn write_checkpoint(
    spec: &CheckpointSpec,
    model: &SpatialModel,
    run: &SpatialRun,
    st: &CkptState,
    snap_len: usize,
) -> Result<(), SpatialError> {
    let fields = model.raw_fields();
    let h = CkptHeader {
        fingerprint: spec.fingerprint.clone(),
        step: st.step,
        next_out: st.next_out,
        next_snap: st.next_snap,
        next_sess: st.next_sess,
        fields: fields.len(),
        snapshot_len: snap_len,
        needlesim_version: env!("CARGO_PKG_VERSION").into(),
    };
    let head = serde_json::to_vec(&h).map_err(|e| ckpt_err(&spec.path, e.to_string()))?;
    let nf = 2 * st.next_out * NPAP + st.next_snap * NPAP * snap_len + fields.len();
    let mut bytes = Vec::with_capacity(24 + head.len() + 8 * nf);
    bytes.extend_from_slice(CKPT_MAGIC);
    bytes.extend_from_slice(&(head.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&head);
    let mut put = |x: f64| bytes.extend_from_slice(&x.to_le_bytes());
    for l in 0..2 {
        for y in &run.trajectory.values[l][..st.next_out] {
            y.iter().for_each(|&x| put(x));
        }
    }
    for snap in &run.snapshots[..st.next_snap] {
        for vals in &snap.values {
            vals.iter().for_each(|&x| put(x));
        }
    }
    fields.iter().for_each(|&x| put(x));
    let sum = checksum(&bytes);
    bytes.extend_from_slice(&sum.to_le_bytes());
    crate::report::write_atomic(&spec.path, &bytes)
        .map_err(|e| ckpt_err(&spec.path, format!("cannot write: {e}")))
}

/// Reads a checkpoint into `model` and `run`; `Err` (the reason, for a notice) when it is
/// damaged or does not belong to this run, with `model` and `run` then untouched.
fn read_checkpoint(
    spec: &CheckpointSpec,
    model: &mut SpatialModel,
    run: &mut SpatialRun,
    snap_times: &[f64],
    snap_voxels: &[usize],
    n_steps: usize,
) -> Result<Option<CkptState>, String> {
    let bytes = std::fs::read(&spec.path).map_err(|e| format!("cannot be read ({e})"))?;
    let bad = || "is truncated or not a needlesim healing checkpoint".to_string();
    if bytes.len() < 24 || &bytes[..8] != CKPT_MAGIC {
        return Err(if bytes.len() >= 24 && bytes[..6] == CKPT_MAGIC[..6] {
            "was written in another checkpoint format (an older needlesim)".to_string()
        } else {
            bad()
        });
    }
    // Everything before the trailing checksum must hash to it: a damaged file (a flipped or
    // overwritten byte anywhere) is refused before any number of it is used.
    let (bytes, sum) = bytes.split_at(bytes.len() - 8);
    let sum = u64::from_le_bytes(sum.try_into().map_err(|_| bad())?);
    let found = checksum(bytes);
    if found != sum {
        return Err(format!(
            "is corrupt (its checksum {found:016x} does not match the stored {sum:016x}: the \
             file was damaged or overwritten)"
        ));
    }
    let hl = u64::from_le_bytes(bytes[8..16].try_into().map_err(|_| bad())?) as usize;
    let head = bytes.get(16..16usize.saturating_add(hl)).ok_or_else(bad)?;
    let h: CkptHeader = serde_json::from_slice(head).map_err(|_| bad())?;
    if h.fingerprint != spec.fingerprint {
        return Err(format!(
            "belongs to another run (scenario, seed, resolution, zone or needlesim version \
             {} differ)",
            h.needlesim_version
        ));
    }
    let n_out = run.trajectory.times_s.len();
    if h.fields != model.raw_fields().len()
        || h.snapshot_len != snap_voxels.len()
        || h.step as usize > n_steps
        || h.next_out > n_out
        || h.next_snap > snap_times.len()
    {
        return Err("does not match this grid or step schedule".into());
    }
    let body = &bytes[16 + hl..];
    let nf = 2 * h.next_out * NPAP + h.next_snap * NPAP * h.snapshot_len + h.fields;
    if body.len() != 8 * nf {
        return Err(bad());
    }
    let mut it = body
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])));
    let mut next = || it.next().unwrap_or(f64::NAN);
    // Read everything first; `run` and `model` change only once all of it is accepted.
    let mut trajectory = [
        run.trajectory.values[0][..h.next_out].to_vec(),
        run.trajectory.values[1][..h.next_out].to_vec(),
    ];
    for values in &mut trajectory {
        for y in values.iter_mut() {
            y.iter_mut().for_each(|x| *x = next());
        }
    }
    let snapshots: Vec<Snapshot> = snap_times[..h.next_snap]
        .iter()
        .map(|&t_s| Snapshot {
            t_s,
            voxels: snap_voxels.to_vec(),
            values: (0..NPAP)
                .map(|_| (0..h.snapshot_len).map(|_| next()).collect())
                .collect(),
        })
        .collect();
    let fields: Vec<f64> = (0..h.fields).map(|_| next()).collect();
    model.set_raw_fields(&fields).map_err(|e| e.to_string())?;
    for (l, values) in trajectory.into_iter().enumerate() {
        run.trajectory.values[l][..h.next_out].copy_from_slice(&values);
    }
    run.snapshots = snapshots;
    Ok(Some(CkptState {
        step: h.step,
        next_out: h.next_out,
        next_snap: h.next_snap,
        next_sess: h.next_sess,
    }))
}

/// [`run`] with snapshots of the voxels `snap_voxels` only, and with checkpoints, interruption
/// and progress ([`RunControl`]). A checkpoint is written every `interval_s` of simulated time
/// and before each session; when the checkpoint file exists and belongs to this run (same
/// fingerprint, grid and step schedule) the run resumes from it, and the result is
/// bit-identical to an uninterrupted run (the step schedule is a fixed function of the
/// protocol, the sweeps do not depend on the step count, and the state is stored exactly).
#[allow(clippy::too_many_arguments)]
pub fn run_controlled(
    model: &mut SpatialModel,
    sessions: &[SessionInput],
    injury: SessionInjuryMap<'_>,
    t_end: f64,
    out_times: &[f64],
    snap_times: &[f64],
    snap_voxels: &[usize],
    stepping: &Stepping,
    ctl: &mut RunControl<'_>,
) -> Result<SpatialRun, SpatialError> {
    let t0 = Instant::now();
    if let Some(&v) = snap_voxels.iter().find(|&&v| v >= model.len()) {
        return Err(SpatialError::Setup(format!(
            "snapshot voxel {v} is outside the grid ({} voxels)",
            model.len()
        )));
    }
    let sess_t: Vec<f64> = sessions.iter().map(|s| s.t_s).collect();
    let mut marks: Vec<f64> = out_times.to_vec();
    marks.extend_from_slice(snap_times);
    let steps = step_times(&sess_t, &marks, t_end, stepping);
    let mut run = SpatialRun {
        trajectory: Trajectory {
            times_s: out_times.to_vec(),
            values: [
                vec![[0.0; NPAP]; out_times.len()],
                vec![[0.0; NPAP]; out_times.len()],
            ],
            ..Trajectory::default()
        },
        voxels: model.len(),
        ..SpatialRun::default()
    };
    let mut st = CkptState {
        step: 0,
        next_out: 0,
        next_snap: 0,
        next_sess: 0,
    };
    let record = |model: &SpatialModel, t: f64, st: &mut CkptState, run: &mut SpatialRun| {
        let tol = 1e-6 * DAY;
        while st.next_out < out_times.len() && out_times[st.next_out] <= t + tol {
            let m = model.layer_means();
            run.trajectory.values[0][st.next_out] = m[0];
            run.trajectory.values[1][st.next_out] = m[1];
            st.next_out += 1;
        }
        while st.next_snap < snap_times.len() && snap_times[st.next_snap] <= t + tol {
            let values = (0..NPAP)
                .map(|s| snap_voxels.iter().map(|&v| model.value(s, v)).collect())
                .collect();
            run.snapshots.push(Snapshot {
                t_s: snap_times[st.next_snap],
                voxels: snap_voxels.to_vec(),
                values,
            });
            st.next_snap += 1;
        }
    };
    let mut resumed = false;
    if let Some(spec) = &ctl.checkpoint
        && spec.path.exists()
    {
        match read_checkpoint(spec, model, &mut run, snap_times, snap_voxels, steps.len()) {
            Ok(Some(s)) => {
                st = s;
                resumed = true;
                run.resumed_at_step = st.step;
            }
            Ok(None) => {}
            Err(why) => run.notices.push(format!(
                "checkpoint `{}` {why}; ignored, starting from the beginning (it will be \
                 overwritten)",
                spec.path.display()
            )),
        }
    }
    let mut t = if st.step == 0 {
        0.0
    } else {
        steps[st.step as usize - 1]
    };
    if !resumed {
        // Outputs at t <= 0 are the resting state (before the first session).
        record(model, 0.0, &mut st, &mut run);
    }
    let interval = ctl
        .checkpoint
        .as_ref()
        .map_or(f64::INFINITY, |c| c.interval_s.max(DAY));
    let mut last_ckpt = t;
    let snap_len = snap_voxels.len();
    for &t_next in &steps[st.step as usize..] {
        while st.next_sess < sessions.len() && sessions[st.next_sess].t_s <= t + 1e-6 {
            let inj = sessions[st.next_sess].injury;
            let k = st.next_sess;
            model.apply_injury(|v| injury(k, v, &inj));
            st.next_sess += 1;
        }
        model.step_with(t_next - t, stepping.ros_substeps)?;
        t = t_next;
        st.step += 1;
        run.steps_here += 1;
        record(model, t, &mut st, &mut run);
        if let Some(cb) = ctl.progress.as_mut() {
            cb(&StepProgress {
                step: st.step,
                steps: steps.len() as u64,
                t_s: t,
                t_end_s: t_end,
            });
        }
        let stop = ctl.stop_after_steps.is_some_and(|n| st.step >= n);
        let before_session =
            st.next_sess < sessions.len() && sessions[st.next_sess].t_s <= t + 1e-6;
        let last = st.step as usize == steps.len();
        if let Some(spec) = &ctl.checkpoint
            && !last
            && (stop || before_session || t - last_ckpt >= interval * (1.0 - 1e-9))
        {
            write_checkpoint(spec, model, &run, &st, snap_len)?;
            run.checkpoints_written += 1;
            last_ckpt = t;
        }
        if stop && !last {
            return Err(SpatialError::Interrupted {
                step: st.step,
                day: t / DAY,
            });
        }
    }
    run.steps = st.step;
    run.wall_s = t0.elapsed().as_secs_f64();
    Ok(run)
}

/// Overlap of a disc of radius `rd` centred on the axis with the annulus `[r0, r1]`, as a
/// fraction of the annulus area.
fn annulus_fraction(rd: f64, r0: f64, r1: f64) -> f64 {
    let a = r1 * r1 - r0 * r0;
    if a <= 0.0 {
        return 0.0;
    }
    ((rd.min(r1).powi(2) - r0 * r0).max(0.0) / a).clamp(0.0, 1.0)
}

/// The unit cell around one channel.
pub struct UnitCell {
    pub model: SpatialModel,
    pub grid: AxiGrid,
    /// Cell radius `1/√(π·density)`, m.
    pub radius_m: f64,
    /// Depth of the dermo-epidermal junction below the skin surface, m.
    pub dej_m: f64,
    /// Channel depth used, m.
    pub channel_depth_m: f64,
}

/// Grid resolution of the unit cell.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CellGrid {
    /// Radial cells (graded: fine near the channel).
    pub nr: usize,
    /// Cells across the papillary dermis.
    pub nz_papillary: usize,
    /// Cells across the reticular dermis (graded: fine at the top).
    pub nz_reticular: usize,
}

impl Default for CellGrid {
    fn default() -> Self {
        CellGrid {
            nr: 24,
            nz_papillary: 8,
            nz_reticular: 24,
        }
    }
}

/// Faces from 0 to `len` in `n` cells growing geometrically by `ratio`.
fn graded(len: f64, n: usize, ratio: f64) -> Vec<f64> {
    let w: Vec<f64> = (0..n).map(|i| ratio.powi(i as i32)).collect();
    let tot: f64 = w.iter().sum();
    let mut f = vec![0.0];
    let mut acc = 0.0;
    for x in w {
        acc += x / tot * len;
        f.push(acc);
    }
    if let Some(last) = f.last_mut() {
        *last = len;
    }
    f
}

impl UnitCell {
    /// Builds the cell for puncture density `density_m2` (1/m²).
    pub fn new(
        column: &SkinColumn,
        density_m2: f64,
        age_years: f64,
        phototype: u8,
        p: &HealingParams,
        g: &CellGrid,
    ) -> Result<Self, SpatialError> {
        Self::with_integrator(
            column,
            density_m2,
            age_years,
            phototype,
            p,
            g,
            Integrator::Sdirk2,
        )
    }

    /// [`Self::new`] with a chosen pointwise [`Integrator`] (comparisons, benchmarks).
    pub fn with_integrator(
        column: &SkinColumn,
        density_m2: f64,
        age_years: f64,
        phototype: u8,
        p: &HealingParams,
        g: &CellGrid,
        integrator: Integrator,
    ) -> Result<Self, SpatialError> {
        if !(density_m2.is_finite() && density_m2 > 0.0) {
            return Err(SpatialError::Setup(format!(
                "puncture density {density_m2} /m2 must be finite and > 0"
            )));
        }
        if g.nr < 2 || g.nz_papillary < 1 || g.nz_reticular < 1 {
            return Err(SpatialError::Setup(format!("grid too small: {g:?}")));
        }
        let radius = 1.0 / (std::f64::consts::PI * density_m2).sqrt();
        let h_pd = column.layer(LayerKind::PapillaryDermis).thickness_m;
        let h_rd = column.layer(LayerKind::ReticularDermis).thickness_m;
        let r_faces = graded(radius, g.nr, 1.08);
        let mut z_faces = graded(h_pd, g.nz_papillary, 1.0);
        for z in graded(h_rd, g.nz_reticular, 1.06).into_iter().skip(1) {
            z_faces.push(h_pd + z);
        }
        let grid = AxiGrid::new(r_faces, z_faces)?;
        let model = SpatialModel::with_integrator(
            grid.clone().into(),
            column,
            age_years,
            phototype,
            p,
            integrator,
        )?;
        Ok(UnitCell {
            model,
            grid,
            radius_m: radius,
            dej_m: column.dej_m(),
            channel_depth_m: 0.0,
        })
    }

    /// The per-voxel injury of one channel of depth `depth_m` (below the skin surface), with
    /// the needle profile of `ch` (`ChannelSet::needle_radius_at`): the damaged core has
    /// `damage_halo_factor` times the displaced volume; the open lumen (recoil × needle radius)
    /// fills with blood in bleeding channels (papillary: weighted by the bleeding fraction).
    /// The epidermal variables of the papillary voxels get the set's per-area values.
    pub fn channel_injury(
        &self,
        ch: &ChannelSet,
        depth_m: f64,
        p: &HealingParams,
    ) -> Vec<BlockInjury> {
        let [nr, _, nz] = self.model.shape();
        let rf = self.grid.r_faces();
        let zf = self.grid.z_faces();
        let halo = p.damage_halo_factor.max(1e-12);
        let ve = ch.injured_volume_fraction[LayerKind::ViableEpidermis.index()];
        let mut out = vec![BlockInjury::default(); nr * nz];
        for k in 0..nz {
            // Mean needle cross-section over the cell's depth (4 samples).
            let (mut a_needle, mut a_open) = (0.0, 0.0);
            for q in 0..4 {
                let z = self.dej_m + zf[k] + (q as f64 + 0.5) / 4.0 * (zf[k + 1] - zf[k]);
                let rn = ch.needle_radius_at(depth_m, z);
                a_needle += 0.25 * rn * rn;
                a_open += 0.25 * (ch.recoil * rn).powi(2);
            }
            let rd = (halo * a_needle).sqrt();
            let ro = a_open.sqrt();
            for i in 0..nr {
                let v = k * nr + i;
                let l = self.model.layer_of(v);
                let damaged = annulus_fraction(rd, rf[i], rf[i + 1]);
                let lumen = annulus_fraction(ro, rf[i], rf[i + 1]);
                let bleed = if l == 0 { ch.bleeding_fraction } else { 1.0 };
                out[v] = BlockInjury {
                    injured_fraction: damaged / halo,
                    blood_fraction: lumen * bleed,
                    epidermis_injured_fraction: if l == 0 { ve } else { 0.0 },
                    open_surface_fraction: if l == 0 {
                        ch.open_surface_fraction
                    } else {
                        0.0
                    },
                };
            }
        }
        out
    }

    /// The layer-uniform injury of the lumped model (every voxel of a layer gets its layer's
    /// lumped impulse): the agreement test's input.
    pub fn uniform_injury(&self, inj: &InjuryInput) -> Vec<BlockInjury> {
        (0..self.model.len())
            .map(|v| {
                let kind = if self.model.layer_of(v) == 0 {
                    LayerKind::PapillaryDermis
                } else {
                    LayerKind::ReticularDermis
                };
                inj.block(kind)
            })
            .collect()
    }
}
