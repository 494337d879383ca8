//! The lumped resolution: per-layer compartments (papillary dermis + epidermis, reticular
//! dermis), integrated through a protocol of sessions.
//!
//! The two blocks do not exchange matter (layer averages; vertical exchange is what the spatial
//! resolutions add), so each is integrated on its own with its own adaptive steps. A session is
//! an impulse on the state: the state at the end of one session's healing is the start of the
//! next.

use super::model::{Block, BlockInjury, NPAP, PersonFactors};
use super::ode::{self, Options, Stats, Workspace};
use super::params::HealingParams;
use crate::injury::ChannelSet;
use crate::skin::{LayerKind, SkinColumn};

/// The per-session injury, summarised from a channel set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InjuryInput {
    /// Needle-displaced volume fraction per layer ([`LayerKind::ALL`] order).
    pub injured_volume_fraction: [f64; 5],
    /// Fraction of channels that bleed.
    pub bleeding_fraction: f64,
    /// Open/needle radius ratio after withdrawal.
    pub recoil: f64,
    /// Surface fraction opened.
    pub open_surface_fraction: f64,
    /// Puncture density, 1/m².
    pub density_m2: f64,
    /// Mean effective depth, m.
    pub mean_depth_m: f64,
}

impl InjuryInput {
    pub fn from_channels(ch: &ChannelSet, density_m2: f64) -> Self {
        InjuryInput {
            injured_volume_fraction: ch.injured_volume_fraction,
            bleeding_fraction: ch.bleeding_fraction,
            recoil: ch.recoil,
            open_surface_fraction: ch.open_surface_fraction,
            density_m2,
            mean_depth_m: ch.mean_depth_m,
        }
    }

    /// The impulse on one block. Blood fills the open lumen of bleeding channels: in the
    /// papillary dermis a `bleeding_fraction` of channels bleed; every channel that reaches the
    /// reticular dermis has crossed the subpapillary plexus and bleeds.
    pub fn block(&self, kind: LayerKind) -> BlockInjury {
        let ivf = self.injured_volume_fraction[kind.index()];
        let lumen = self.recoil * self.recoil * ivf;
        match kind {
            LayerKind::PapillaryDermis => BlockInjury {
                injured_fraction: ivf,
                blood_fraction: self.bleeding_fraction * lumen,
                epidermis_injured_fraction: self.injured_volume_fraction
                    [LayerKind::ViableEpidermis.index()],
                open_surface_fraction: self.open_surface_fraction,
            },
            _ => BlockInjury {
                injured_fraction: ivf,
                blood_fraction: lumen,
                ..BlockInjury::default()
            },
        }
    }
}

/// One session: when, and what it does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SessionInput {
    /// Time from the first session, s.
    pub t_s: f64,
    pub injury: InjuryInput,
}

/// The two compartments of a column.
#[derive(Clone, Debug)]
pub struct LumpedModel {
    pub papillary: Block,
    pub reticular: Block,
}

impl LumpedModel {
    pub fn new(column: &SkinColumn, age_years: f64, phototype: u8, p: &HealingParams) -> Self {
        let pf = PersonFactors::new(age_years, phototype, p);
        LumpedModel {
            papillary: Block::new(column, LayerKind::PapillaryDermis, p, &pf),
            reticular: Block::new(column, LayerKind::ReticularDermis, p, &pf),
        }
    }

    /// The model with the opened surface resealing at `k_per_s` (1/s), the closure law's rate
    /// for the run's channels ([`crate::params::ClosureParams::reseal_rate_per_s`]).
    pub fn with_reseal_rate(mut self, k_per_s: f64) -> Self {
        self.papillary.set_reseal_rate(k_per_s);
        self.reticular.set_reseal_rate(k_per_s);
        self
    }

    pub fn blocks(&self) -> [&Block; 2] {
        [&self.papillary, &self.reticular]
    }
}

/// Sampled trajectories: `values[block][time][variable]` (the reticular block has fewer
/// variables; its rows are padded with zeros to [`NPAP`]).
#[derive(Clone, Debug, Default)]
pub struct Trajectory {
    pub times_s: Vec<f64>,
    pub values: [Vec<[f64; NPAP]>; 2],
    pub stats: Stats,
}

/// Integrator accuracy and linear-algebra policy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Accuracy {
    pub rtol: f64,
    /// Absolute tolerance as a fraction of each variable's typical magnitude.
    pub atol_frac: f64,
    /// Analytic Jacobian (true) or finite differences.
    pub analytic_jacobian: bool,
    /// See [`ode::Options::lu_keep_ratio`].
    pub lu_keep_ratio: f64,
    /// See [`ode::Options::lu_stale_tol`].
    pub lu_stale_tol: f64,
}

impl Default for Accuracy {
    fn default() -> Self {
        Accuracy {
            rtol: 1e-3,
            atol_frac: 1e-3,
            analytic_jacobian: true,
            lu_keep_ratio: 1.25,
            lu_stale_tol: 0.3,
        }
    }
}

impl Accuracy {
    /// Tolerances `rtol` and `atol_frac` with the default linear algebra.
    pub fn tol(rtol: f64, atol_frac: f64) -> Self {
        Accuracy {
            rtol,
            atol_frac,
            ..Accuracy::default()
        }
    }

    /// The planner's accuracy: rtol = atol fraction = 3e-3. On the 4-session, 6-month
    /// benchmark protocol the matrix content change at day 182 is within ~1 % of a rtol 1e-7
    /// reference (0.4 % at the default 1e-3), far inside the parameter uncertainty bands
    /// (tens of %), at ~70 % of the cost (`cargo bench --bench healing`).
    pub fn planning() -> Self {
        Accuracy::tol(3e-3, 3e-3)
    }

    /// The integrator as first merged (finite-difference Jacobian, LU refactored at every
    /// step-size change, growth up to 25 % held): the benchmark's reference.
    pub fn legacy() -> Self {
        Accuracy {
            rtol: 1e-3,
            atol_frac: 1e-3,
            analytic_jacobian: false,
            lu_keep_ratio: 1.25,
            lu_stale_tol: 0.0,
        }
    }
}

/// Runs the protocol and samples the state at `out_times_s` (sorted, within `[0, t_end_s]`).
/// An output time equal to a session time reports the state just before that session.
pub fn simulate(
    model: &LumpedModel,
    sessions: &[SessionInput],
    t_end_s: f64,
    out_times_s: &[f64],
    acc: Accuracy,
) -> Result<Trajectory, ode::OdeError> {
    let mut tr = Trajectory {
        times_s: out_times_s.to_vec(),
        values: [
            vec![[0.0; NPAP]; out_times_s.len()],
            vec![[0.0; NPAP]; out_times_s.len()],
        ],
        stats: Stats::default(),
    };
    for (bi, block) in model.blocks().into_iter().enumerate() {
        let st = run_block(
            block,
            sessions,
            t_end_s,
            out_times_s,
            acc,
            &mut tr.values[bi],
        )?;
        tr.stats.add(&st);
    }
    Ok(tr)
}

fn run_block(
    block: &Block,
    sessions: &[SessionInput],
    t_end: f64,
    out_times: &[f64],
    acc: Accuracy,
    out: &mut [[f64; NPAP]],
) -> Result<Stats, ode::OdeError> {
    use super::ode::System;
    let n = block.dim();
    let mut y = block.rest();
    let scales = block.scales();
    let opts = Options {
        lu_keep_ratio: acc.lu_keep_ratio,
        lu_stale_tol: acc.lu_stale_tol,
        analytic_jacobian: acc.analytic_jacobian,
        ..Options::new(
            acc.rtol,
            scales.iter().map(|s| s * acc.atol_frac).collect(),
            60.0,
            30.0 * super::params::DAY,
        )
    };
    let mut ws = Workspace::new(n);
    let mut stats = Stats::default();
    let mut next = 0usize;
    let mut t = 0.0;
    let kind = block.base.kind;
    let mut buf = vec![0.0; n];
    // Outputs at t = 0 (before the first session) are the resting state.
    while next < out_times.len() && out_times[next] <= 0.0 {
        out[next][..n].copy_from_slice(&y);
        next += 1;
    }
    let mut marks: Vec<(f64, Option<&SessionInput>)> =
        sessions.iter().map(|s| (s.t_s, Some(s))).collect();
    marks.push((t_end, None));
    for (t_mark, sess) in marks {
        if t_mark > t {
            let st = ode::integrate(block, t, t_mark, &mut y, &opts, &mut ws, |v| {
                while next < out_times.len() && out_times[next] <= v.t1 {
                    v.interpolate(out_times[next], &mut buf);
                    out[next][..n].copy_from_slice(&buf);
                    next += 1;
                }
            })?;
            stats.add(&st);
            t = t_mark;
        }
        if let Some(s) = sess {
            block.apply_injury(&mut y, &s.injury.block(kind));
        }
    }
    while next < out_times.len() {
        out[next][..n].copy_from_slice(&y);
        next += 1;
    }
    Ok(stats)
}

/// The final state only (no sampling): the fast path used by planners and the benchmark.
pub fn final_state(
    model: &LumpedModel,
    sessions: &[SessionInput],
    t_end_s: f64,
    acc: Accuracy,
) -> Result<Trajectory, ode::OdeError> {
    simulate(model, sessions, t_end_s, &[t_end_s], acc)
}
