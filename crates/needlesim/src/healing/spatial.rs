//! The spatial resolutions: the lumped kinetics of [`super::model`] in every voxel of a
//! transport grid, with the diffusible species moving between voxels.
//!
//! * **Unit cell** ([`UnitCell`]): an axisymmetric (r, z) cell of radius `1/√(π·density)` around
//!   one channel of the mean depth, through the dermis (papillary on top of reticular), zero flux
//!   on every face (the outer wall is the symmetry plane between neighbouring channels).
//!
//! **One parameter set.** Each voxel runs the very right-hand side and analytic Jacobian of the
//! lumped [`Block`] of its layer, through the transport engine's [`Reactions`] trait; the only
//! new parameters are the diffusivities (`*_diffusivity`, `*_motility` in
//! [`HealingParams`], documented in `docs/parameters.csv`).
//!
//! **Transported variable.** The engine stores, per voxel and state variable,
//! `u = (y − y_rest(layer)) / s`: the deviation from the resting state of the voxel's layer,
//! divided by a typical magnitude `s` common to both layers (SI value = rest + s·u). The
//! layered resting state (fibroblasts, collagen, TGF-β differ between papillary and reticular
//! dermis) is then exactly steady, and the pointwise Newton sees O(1) numbers instead of cell
//! densities of 1e13 /m³ beside concentrations of 1e-8 kg/m³. Diffusing the deviation rather than
//! the concentration means the resting gradient at the layer interface is held by local
//! turnover, which the model does not resolve.
//!
//! **What moves.** Cytokine, PDGF and TGF-β diffuse; neutrophils, macrophages and fibroblasts
//! migrate slowly (random motility); debris, collagen, elastin, collagenase activity, blood and
//! oedema volume and the epidermal variables (carried by the papillary voxels, not resolved
//! radially) do not.
//!
//! **Time stepping.** Backward-Euler diffusion sweeps (L-stable; the sweep order does not depend
//! on the step count, so a run resumed from a checkpoint repeats the same operations) with
//! Strang-split reactions integrated by the engine's SDIRK2. Steps restart at `dt_min` after each
//! session and grow geometrically to `dt_max`; step end times are a fixed function of the
//! protocol and the output times.

// Per-species loops index several parallel arrays (rest, scale, fields) with one variable.
#![allow(clippy::needless_range_loop)]

use std::time::Instant;

use super::lumped::{InjuryInput, SessionInput, Trajectory};
use super::model::{self, Block, BlockInjury, NPAP, PersonFactors};
use super::ode::System;
use super::params::{DAY, HealingParams};
use crate::injury::ChannelSet;
use crate::skin::{LayerKind, SkinColumn};
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
}

/// The per-voxel kinetics: the lumped blocks, evaluated on the transported deviations.
#[derive(Clone, Debug)]
pub struct Kinetics {
    blocks: [Block; 2],
    /// Layer of each voxel: 0 papillary dermis (with the epidermis), 1 reticular dermis.
    layer: Vec<u8>,
    rest: [[f64; NPAP]; 2],
    scale: [f64; NPAP],
}

impl Kinetics {
    fn new(pap: Block, ret: Block, layer: Vec<u8>) -> Self {
        let mut rest = [[0.0; NPAP]; 2];
        for (l, b) in [&pap, &ret].into_iter().enumerate() {
            let r = b.rest();
            rest[l][..r.len()].copy_from_slice(&r);
        }
        let mut scale = [1.0; NPAP];
        let sp = pap.scales();
        let sr = ret.scales();
        for i in 0..NPAP {
            let a = sp.get(i).copied().unwrap_or(0.0);
            let b = sr.get(i).copied().unwrap_or(0.0);
            scale[i] = a.max(b).max(f64::MIN_POSITIVE);
        }
        Kinetics {
            blocks: [pap, ret],
            layer,
            rest,
            scale,
        }
    }

    /// SI state of a voxel of layer `l` from its transported values.
    #[inline]
    fn to_si(&self, l: usize, u: &[f64], y: &mut [f64; NPAP]) {
        for i in 0..NPAP {
            y[i] = self.rest[l][i] + u[i] * self.scale[i];
        }
    }

    #[inline]
    fn deviation_of(&self, l: usize, y: &[f64; NPAP], u: &mut [f64]) {
        for i in 0..NPAP {
            u[i] = (y[i] - self.rest[l][i]) / self.scale[i];
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
            dcdt[i] = dy[i] / self.scale[i];
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
                jac[i * NPAP + j] = jb[i * n + j] * self.scale[j] / self.scale[i];
            }
        }
    }
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
}

impl Default for Stepping {
    fn default() -> Self {
        Stepping {
            dt_min: 0.01 * DAY,
            dt_max: 1.0 * DAY,
            growth: 1.2,
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
        let kin = Kinetics::new(pap, ret, layer);
        let d = diffusivities(p);
        let mut b = Problem::builder(geometry);
        for (i, name) in model::NAMES.iter().enumerate() {
            b = b.species(Species::new(*name, d[i]));
        }
        let problem = b
            .boundary_everywhere(Boundary::ZeroFlux)
            .reactions(kin.clone())
            .build()?;
        let settings = SolverSettings::fixed(DAY).with_scheme(Scheme::BackwardEuler);
        Ok(SpatialModel {
            sim: Simulation::new(problem, settings)?,
            kin,
            shape,
            vol_ik,
            layer_volume,
            columns,
        })
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
        self.kin.rest[l][s] + self.raw_fields()[s * n + v] * self.kin.scale[s]
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

    /// One step of `dt` seconds.
    pub fn step(&mut self, dt: f64) -> Result<(), SpatialError> {
        self.sim.step(dt)?;
        Ok(())
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
                    self.kin.rest[l][s] + acc[l][s] / self.layer_volume[l] * self.kin.scale[s];
            }
            let dim = self.kin.blocks[l].dim();
            for v in out[l].iter_mut().skip(dim) {
                *v = 0.0;
            }
        }
        out
    }
}

/// A snapshot of selected SI fields at one time (cross sections).
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub t_s: f64,
    /// `values[s][voxel]` for every state variable (SI).
    pub values: Vec<Vec<f64>>,
}

/// The result of a spatial run: per-layer means at the output times (comparable with the
/// lumped [`Trajectory`]), snapshots and work figures.
#[derive(Clone, Debug, Default)]
pub struct SpatialRun {
    pub trajectory: Trajectory,
    pub snapshots: Vec<Snapshot>,
    pub steps: u64,
    pub voxels: usize,
    pub wall_s: f64,
}

/// Which voxels get what injury at a session.
pub type InjuryMap<'a> = &'a (dyn Fn(usize, &InjuryInput) -> BlockInjury + Sync);

/// Runs a protocol on a spatial model: at each session the voxel injuries from `injury`, outputs
/// (layer means) at `out_times`, full snapshots at `snap_times` (each also an output time).
pub fn run(
    model: &mut SpatialModel,
    sessions: &[SessionInput],
    injury: InjuryMap<'_>,
    t_end: f64,
    out_times: &[f64],
    snap_times: &[f64],
    stepping: &Stepping,
) -> Result<SpatialRun, SpatialError> {
    let t0 = Instant::now();
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
    let mut next_out = 0;
    let mut next_snap = 0;
    let mut next_sess = 0;
    let mut t = 0.0;
    let record = |model: &SpatialModel,
                  t: f64,
                  next_out: &mut usize,
                  next_snap: &mut usize,
                  run: &mut SpatialRun| {
        let tol = 1e-6 * DAY;
        while *next_out < out_times.len() && out_times[*next_out] <= t + tol {
            let m = model.layer_means();
            run.trajectory.values[0][*next_out] = m[0];
            run.trajectory.values[1][*next_out] = m[1];
            *next_out += 1;
        }
        while *next_snap < snap_times.len() && snap_times[*next_snap] <= t + tol {
            let n = model.len();
            let values = (0..NPAP)
                .map(|s| (0..n).map(|v| model.value(s, v)).collect())
                .collect();
            run.snapshots.push(Snapshot {
                t_s: snap_times[*next_snap],
                values,
            });
            *next_snap += 1;
        }
    };
    // Outputs at t <= 0 are the resting state (before the first session).
    record(model, 0.0, &mut next_out, &mut next_snap, &mut run);
    for &t_next in &steps {
        while next_sess < sessions.len() && sessions[next_sess].t_s <= t + 1e-6 {
            let inj = sessions[next_sess].injury;
            model.apply_injury(|v| injury(v, &inj));
            next_sess += 1;
        }
        model.step(t_next - t)?;
        t = t_next;
        run.steps += 1;
        record(model, t, &mut next_out, &mut next_snap, &mut run);
    }
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
        let model = SpatialModel::new(grid.clone().into(), column, age_years, phototype, p)?;
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
