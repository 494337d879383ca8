//! The delivery simulation: a product on needled skin, solved on the transport engine.
//!
//! ## Geometry
//!
//! * **Unit cell** (default): an axisymmetric (r, z) cylinder of radius `R = 1/√(π n)` around one
//!   channel (`n`: puncture density), so that the cells of all channels tile the treated area.
//!   The channel is the mean channel of the [`crate::injury::ChannelSet`]: depth `d`, open radius
//!   `r₀(z) = recoil · min(a, (d − z) tan β)` (at the surface widened to the equivalent radius of
//!   a roller's slot), shrinking in time by the closure factor `√a(t)` ([`super::closure`]).
//! * **Patch**: a 3-D Cartesian block under a real puncture map, every channel with its own depth.
//!
//! Both are layered in z with faces on the layer interfaces: stratum corneum (SC), viable
//! epidermis (VE), papillary dermis (PD), reticular dermis (RD).
//!
//! ## Equations
//!
//! One species, the aqueous-equivalent concentration `u` of the active (kg/m³), with
//! `C ∂u/∂t = ∇·(D ∇u) − k u` (the engine's per-voxel capacity `C`, 1 outside the SC):
//!
//! * SC: conductance `D = kp · h_SC` (a SC slab of thickness `h_SC` passes exactly the
//!   intact-skin flux `kp Δu`) and capacity `C = K_SC`, its SC/water partition coefficient
//!   ([`super::physchem::sc_partition`]): the SC holds `K_SC u`, its own diffusivity is
//!   `kp h_SC / K_SC`, and its lag time `K_SC h_SC / (6 kp)`, K_SC times that of a water-like
//!   slab. SC voxels partly over a channel take the volume-weighted capacity of channel fluid (1)
//!   and SC, updated as the channel closes (keeping the amount each holds). The split sweeps
//!   (`DeliveryNumerics::unsplit = false`, kept for comparisons) have no per-voxel capacity:
//!   there the SC stores like water (`C` = 1);
//! * VE, PD, RD: `D = f_layer · D_free`; channel fluid: `D_free · H(r_h / r_c)` (Renkin);
//!   a voxel partly filled by a channel gets the volume-weighted mean;
//! * clearance `k` in PD and RD (in vivo only);
//! * surface: the donor's aqueous concentration (Dirichlet; a finite film at its predicted
//!   mean over the step) while a product is on, zero flux after a wipe or once a film is spent
//!   (0.1 % of its dose left); bottom: a perfect sink (subcutaneous blood flow in vivo, the
//!   receptor in a Franz cell).
//!
//! Tissue/water partition coefficients of VE and dermis are taken as 1 (assumption). Every
//! number is accounted: what entered = what is in the skin + cleared + passed the bottom; the
//! finite donor is depleted by what entered.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::DeliveryError;
use super::closure::Closure;
use super::dosing::{Donor, Schedule};
use super::physchem::{TransportCoefficients, renkin};
use crate::skin::{LayerKind, SkinColumn};
use crate::transport::{
    AxiGrid, Boundary, Coefficient, Compartment, Face, Grid3, Problem, Scheme, Simulation,
    SolverSettings, Species, TransportError, UnsplitMethod, UnsplitPreconditioner,
};

/// In vivo (capillary clearance, sink under the dermis) or a Franz diffusion cell (no clearance,
/// receptor under the skin, no closure of the channels: excised skin does not heal).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Setup {
    InVivo,
    FranzCell,
}

/// The numerics of a delivery run: grid resolution and time-stepping scheme. (Not to be
/// confused with [`crate::protocol::Resolution`], the model resolution of `simulate`.)
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DeliveryNumerics {
    /// Stratum corneum cells.
    pub sc_cells: usize,
    /// Target cell height in the viable epidermis and papillary dermis, m.
    pub dz_epidermis_m: f64,
    /// Target cell height in the dermis around the channel, m.
    pub dz_dermis_m: f64,
    /// Largest cell height deep in the dermis, m.
    pub dz_max_m: f64,
    /// Radial cells across the open channel (unit cell).
    pub r_cells_channel: usize,
    /// Largest radial cell, m (unit cell).
    pub dr_max_m: f64,
    /// Lateral voxel size, m (patch; 25 µm here, 40 µm in [`DeliveryNumerics::patch`], the setting a
    /// patch scenario starts from).
    pub dx_patch_m: f64,
    /// First step after each event, s, and the growth factor of later steps.
    pub dt_first_s: f64,
    pub dt_growth: f64,
    /// Largest step, s.
    pub dt_max_s: f64,
    /// Closure resolution while the channels close: `dt ≤ f · t½ / ln 2`, i.e. the open area
    /// changes by at most `1 − e^(−f) ≈ f` within one step (the channels are applied at
    /// mid-step; clamped to [0.001, 0.9]).
    pub closure_step_fraction: f64,
    /// Finite doses: the largest fraction of the product left on the skin that one step may
    /// exchange with the skin, in or back out, predicted from the previous step's rate
    /// (clamped to [0.001, 1]). The unsplit steps solve the film with the field (a
    /// compartment on the surface), so this only resolves how fast the film empties; the split
    /// sweeps hold it at its predicted mean concentration over each step and use at most
    /// [`DeliveryNumerics::explicit_film_fraction`].
    pub depletion_step_fraction: f64,
    /// The largest `depletion_step_fraction` of the split sweeps, which hold the film
    /// explicitly over each step (default [`EXPLICIT_FILM_FRACTION`]). Set from the scenario's
    /// `[params.numerics] delivery_explicit_film_fraction`; not part of the `[delivery]` table.
    #[serde(skip, default = "default_explicit_film_fraction")]
    #[schemars(skip)]
    pub explicit_film_fraction: f64,
    /// Fraction of the applied active below which a finite film counts as spent: the surface
    /// becomes zero-flux (default [`SPENT_FILM`]). Set from the scenario's
    /// `[params.numerics] delivery_spent_film`; not part of the `[delivery]` table.
    #[serde(skip, default = "default_spent_film")]
    #[schemars(skip)]
    pub spent_film: f64,
    /// Unsplit implicit steps (the engine's `Scheme::Unsplit` backward Euler, clearance inside
    /// the solve): no splitting error, so long steps stay accurate. `false` selects the split
    /// (locally one-dimensional) backward-Euler sweeps with clearance applied after each step,
    /// kept for comparison (`cargo bench -p needlesim --bench delivery -- compare`).
    pub unsplit: bool,
    /// Unsplit scheme only: TR-BDF2 steps (second order, L-stable; two solves per step; the
    /// default) instead of backward Euler. Backward Euler's first-order error shows where the
    /// amount in the skin decays after the product is wiped or used up (clearance): with 6-min
    /// steps it keeps ~30 % too much in the viable layers 2 h later, TR-BDF2 with the same steps
    /// within 1 % (docs/BENCHMARKS.md, "Step settings").
    pub tr_bdf2: bool,
    /// Relative tolerance of the unsplit solves (the mass balance of each step is restored to
    /// round-off after the solve whatever the tolerance).
    pub solver_tolerance: f64,
    /// Preconditioner of the unsplit solves (default `auto`; `zline` and `multigrid` for
    /// comparisons, `cargo bench -p needlesim --bench delivery -- patch pc=...`). The result
    /// does not depend on it beyond `solver_tolerance`; the cost does. Not part of any file.
    #[serde(skip)]
    #[schemars(skip)]
    pub preconditioner: UnsplitPreconditioner,
}

impl Default for DeliveryNumerics {
    fn default() -> Self {
        DeliveryNumerics {
            sc_cells: 3,
            dz_epidermis_m: 8e-6,
            dz_dermis_m: 20e-6,
            dz_max_m: 100e-6,
            r_cells_channel: 6,
            dr_max_m: 20e-6,
            dx_patch_m: 25e-6,
            // Unsplit TR-BDF2 steps: second order and L-stable, with the boundary fluxes and the
            // clearance integrated by the scheme's own quadrature. 5 s after each event,
            // growing 3× per step up to 1 h, the closure resolved at 40 % of its e-folding
            // time: within 0.4 % of a reference with ~10× shorter steps at every output for the
            // lidocaine cream (3 h) and the vitamin C serum (24 h), where backward Euler with
            // 0.05 s steps growing 1.1× up to 5 min kept 5.8 % and 11 % too much in the viable
            // layers after the wipe or depletion (docs/BENCHMARKS.md, "Step settings"). Growth
            // 3× instead of 2× and 1 h instead of 30 min steps changed no deviation from that
            // reference by more than 0.1 points and save 11 % (lidocaine) and 18 % (vitamin
            // C) of the patch's steps; a first step of 20 s did not hold (1.9 % early on the
            // vitamin C unit cell).
            dt_first_s: 5.0,
            dt_growth: 3.0,
            dt_max_s: 3600.0,
            closure_step_fraction: 0.4,
            // The film solved with each step: 30 % per step kept the 2 mm vitamin C patch within
            // 0.06 % (reached dermis) and 0.6 % (viable layers) of the short-step reference in
            // 56 steps, where the film held explicitly at 10 % per step took 104 (0.22 %,
            // 0.40 %); without a limit, 35 steps and 6 % (docs/BENCHMARKS.md, "Film solved
            // with the step").
            depletion_step_fraction: 0.3,
            explicit_film_fraction: EXPLICIT_FILM_FRACTION,
            spent_film: SPENT_FILM,
            unsplit: true,
            tr_bdf2: true,
            // Keeps the step's mass balance far below the reported digits.
            solver_tolerance: 1e-8,
            preconditioner: UnsplitPreconditioner::Auto,
        }
    }
}

impl DeliveryNumerics {
    /// A coarser setting for large 3-D patches: coarser z cells, 40 µm lateral voxels and a
    /// solver tolerance of 1e-5 (the steps are the default's). On a 2 mm lidocaine patch these
    /// steps stay within 0.9 % of a reference with 10× shorter steps at every output from
    /// 15 min to 3 h (docs/BENCHMARKS.md, "Step settings").
    ///
    /// Lateral voxel: with the channels filled compactly at their exact areas (see
    /// [`Arm::patch`]), 40 µm voxels stay within 1.1 % (amount reached the dermis) and 2.6 %
    /// (viable layers; in the last minutes of closure, when the channels are narrower than a
    /// voxel) of 12.5 µm voxels on a 4 mm patch of the lidocaine pen example, and within 0.3 %
    /// and 0.4 % on the vitamin C roller's until its film is spent; 25 µm within 0.5 %. A 1 cm²
    /// patch at 40 µm runs in under a minute on two cores (docs/BENCHMARKS.md, "Lateral voxel
    /// of the patch"). `delivery.patch_voxel_um` sets it.
    pub fn patch() -> Self {
        DeliveryNumerics {
            sc_cells: 2,
            dz_epidermis_m: 15e-6,
            dz_dermis_m: 60e-6,
            dz_max_m: 300e-6,
            dx_patch_m: 40e-6,
            solver_tolerance: 1e-5,
            ..DeliveryNumerics::default()
        }
    }
}

/// The mean channel (unit cell) or one channel of a patch.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChannelShape {
    /// Depth, m.
    pub depth_m: f64,
    /// Needle shaft radius, m, tip half-angle, rad, and open/needle radius ratio.
    pub needle_radius_m: f64,
    pub tip_half_angle_rad: f64,
    pub recoil: f64,
    /// Open radius at the surface including a roller's slot (equal area), m.
    pub surface_radius_m: f64,
}

impl ChannelShape {
    /// Open radius at depth `z` right after needling, m.
    pub fn open_radius_at(&self, z: f64) -> f64 {
        if z < 0.0 || z >= self.depth_m {
            return 0.0;
        }
        self.recoil
            * self
                .needle_radius_m
                .min((self.depth_m - z) * self.tip_half_angle_rad.tan())
    }
}

/// Layer depths `[0, SC bottom, DEJ, PD bottom, RD bottom]`, m.
pub fn layer_depths(column: &SkinColumn) -> [f64; 5] {
    [
        0.0,
        column.layer(LayerKind::StratumCorneum).bottom_m(),
        column.layer(LayerKind::ViableEpidermis).bottom_m(),
        column.layer(LayerKind::PapillaryDermis).bottom_m(),
        column.layer(LayerKind::ReticularDermis).bottom_m(),
    ]
}

/// z faces aligned with the layers, fine around the channel tip, coarser below it.
pub fn z_faces(column: &SkinColumn, channel_depth_m: f64, res: &DeliveryNumerics) -> Vec<f64> {
    let d = layer_depths(column);
    let mut faces = vec![0.0];
    let push_seg = |a: f64, b: f64, h: f64, faces: &mut Vec<f64>| {
        if b <= a {
            return;
        }
        let n = ((b - a) / h).ceil().max(1.0) as usize;
        for i in 1..=n {
            faces.push(a + (b - a) * i as f64 / n as f64);
        }
    };
    push_seg(d[0], d[1], (d[1] - d[0]) / res.sc_cells as f64, &mut faces);
    push_seg(d[1], d[2], res.dz_epidermis_m, &mut faces);
    push_seg(
        d[2],
        d[3],
        res.dz_epidermis_m.max(0.5 * res.dz_dermis_m),
        &mut faces,
    );
    // Reticular dermis: fine down to 100 µm below the channel tip (and the tip itself on a
    // face), then cells growing by 1.2 up to dz_max.
    let fine_end = (channel_depth_m + 100e-6).clamp(d[3], d[4]);
    if channel_depth_m > d[3] && channel_depth_m < fine_end {
        push_seg(d[3], channel_depth_m, res.dz_dermis_m, &mut faces);
        push_seg(channel_depth_m, fine_end, res.dz_dermis_m, &mut faces);
    } else {
        push_seg(d[3], fine_end, res.dz_dermis_m, &mut faces);
    }
    let mut z = fine_end;
    let mut h = res.dz_dermis_m;
    while z < d[4] - 1e-12 {
        h = (h * 1.2).min(res.dz_max_m);
        let next = if d[4] - (z + h) < 0.5 * h {
            d[4]
        } else {
            z + h
        };
        faces.push(next);
        z = next;
    }
    faces
}

/// r faces of the unit cell: uniform across the open channel, growing outside to `R`.
pub fn r_faces(r_open_m: f64, radius_m: f64, res: &DeliveryNumerics) -> Vec<f64> {
    let mut faces = vec![0.0];
    let r0 = r_open_m.min(0.8 * radius_m).max(1e-6);
    let dr0 = r0 / res.r_cells_channel as f64;
    for i in 1..=res.r_cells_channel {
        faces.push(dr0 * i as f64);
    }
    let mut r = r0;
    let mut h = dr0;
    while r < radius_m - 1e-12 {
        h = (h * 1.25).min(res.dr_max_m);
        let next = if radius_m - (r + h) < 0.5 * h {
            radius_m
        } else {
            r + h
        };
        faces.push(next);
        r = next;
    }
    faces
}

/// Area of the disc of radius `r` centred at `(cx, cy)` inside the rectangle `xs × ys`, m²
/// (exact: the disc's chord length below a line `y = t`, integrated across the rectangle's x
/// range in closed form).
pub fn disc_rect_area(cx: f64, cy: f64, r: f64, xs: [f64; 2], ys: [f64; 2]) -> f64 {
    if r.is_nan() || r <= 0.0 {
        return 0.0;
    }
    let (u0, u1) = ((xs[0] - cx).max(-r), (xs[1] - cx).min(r));
    if u1 <= u0 {
        return 0.0;
    }
    // ∫ √(r² − u²) du from 0 to u.
    let prim = |u: f64| {
        let s = (u / r).clamp(-1.0, 1.0);
        0.5 * (u * (r * r - u * u).max(0.0).sqrt() + r * r * s.asin())
    };
    // ∫ clamp(t, −h(u), h(u)) du over [u0, u1], h = √(r² − u²): the disc's part below y = t
    // minus its lower half. |t| ≥ h where |u| ≥ w.
    let below = |t: f64| {
        let w = (r * r - t * t).max(0.0).sqrt();
        let (i0, i1) = (u0.max(-w), u1.min(w));
        let (inner, inner_h) = if i1 > i0 {
            (i1 - i0, prim(i1) - prim(i0))
        } else {
            (0.0, 0.0)
        };
        let outer_h = prim(u1) - prim(u0) - inner_h;
        (if t < 0.0 { -outer_h } else { outer_h }) + t * inner
    };
    (below(ys[1] - cy) - below(ys[0] - cy)).max(0.0)
}

/// How a voxel holds channel fluid.
#[derive(Clone, Copy, Debug)]
enum Fill {
    /// Unit-cell ring `[r_in, r_out)` around the channel axis: fraction from the open radius.
    Ring { r_in: f64, r_out: f64 },
    /// Patch voxel, the `rank`-th nearest to the axis of one channel in one plane: the
    /// channel's open area there (`area0` cells right after needling, `g² area0` at radius
    /// factor `g`) fills its nearest cells whole, one after the other, so this voxel holds
    /// `clamp(g² area0 − rank, 0, 1)` (see [`Arm::patch`]).
    Cells { area0: f64, rank: f64 },
}

impl Fill {
    /// Channel fluid fraction of the voxel (before patency) at radius factor `g`.
    fn fraction(self, g: f64, r0: f64) -> f64 {
        match self {
            Fill::Ring { r_in, r_out } => {
                let rc = g * r0;
                ((rc * rc - r_in * r_in) / (r_out * r_out - r_in * r_in)).clamp(0.0, 1.0)
            }
            Fill::Cells { area0, rank } => (g * g * area0 - rank).clamp(0.0, 1.0),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct ChannelVoxel {
    v: usize,
    /// Open radius right after needling at this voxel's depth, m.
    r0: f64,
    fill: Fill,
}

/// One arm of a run (needled or intact) on the engine, with its accounting.
pub struct Arm {
    sim: Simulation,
    base_d: Vec<f64>,
    /// Current diffusivity per voxel (base with the channels at the applied closure).
    d_now: Vec<f64>,
    /// Storage capacity per voxel without channels (`K_SC` in the stratum corneum, 1 below)
    /// and with the channels at the applied closure; both empty when it is 1 everywhere (the
    /// split sweeps, or `K_SC` = 1).
    base_cap: Vec<f64>,
    cap_now: Vec<f64>,
    chan: Vec<ChannelVoxel>,
    /// Clearance rate per z layer, 1/s.
    decay_k: Vec<f64>,
    /// Cross-section of each column (x-y cell, or r ring), m², and cell heights, m.
    col_area: Vec<f64>,
    dz: Vec<f64>,
    /// Top area, m².
    area_m2: f64,
    z_faces: Vec<f64>,
    layer_depths: [f64; 5],
    d_free: f64,
    r_h: f64,
    patency: f64,
    applied_factor: f64,
    /// Unsplit scheme: clearance is inside the engine's solve (see [`DeliveryNumerics::unsplit`]).
    unsplit: bool,
}

/// Surface inflow, bottom outflow and clearance: rates (amount/s) or amounts over a step.
#[derive(Clone, Copy, Debug, Default)]
struct Rates {
    top: f64,
    bottom: f64,
    cleared: f64,
}

impl Rates {
    fn scaled(self, w: f64) -> Rates {
        Rates {
            top: w * self.top,
            bottom: w * self.bottom,
            cleared: w * self.cleared,
        }
    }

    fn plus(self, o: Rates) -> Rates {
        Rates {
            top: self.top + o.top,
            bottom: self.bottom + o.bottom,
            cleared: self.cleared + o.cleared,
        }
    }
}

fn tr(e: TransportError) -> DeliveryError {
    match e {
        TransportError::NonFinite { .. } => DeliveryError::NonFinite {
            what: e.to_string(),
            t_s: f64::NAN,
            hint: "check the compound's parameters and the grid resolution".into(),
        },
        other => DeliveryError::Transport(other.to_string()),
    }
}

/// Per-layer base diffusivity and clearance for a voxel at depth `z`.
fn layer_props(z: f64, depths: &[f64; 5], co: &TransportCoefficients, setup: Setup) -> (f64, f64) {
    let in_vivo = setup == Setup::InVivo;
    if z < depths[1] {
        (co.kp_m_s * (depths[1] - depths[0]), 0.0)
    } else if z < depths[2] {
        (co.d_ve_m2_s, 0.0)
    } else if z < depths[3] {
        (
            co.d_dermis_m2_s,
            if in_vivo {
                co.clearance_papillary_per_s
            } else {
                0.0
            },
        )
    } else {
        (
            co.d_dermis_m2_s,
            if in_vivo {
                co.clearance_reticular_per_s
            } else {
                0.0
            },
        )
    }
}

/// Fraction of the applied active below which a finite film counts as spent (zero-flux
/// surface; see `run_arm`); the registry's default.
pub(crate) use crate::params::groups::SPENT_FILM;

fn default_spent_film() -> f64 {
    SPENT_FILM
}

fn default_explicit_film_fraction() -> f64 {
    EXPLICIT_FILM_FRACTION
}

/// The largest [`DeliveryNumerics::depletion_step_fraction`] of the split sweeps, which hold the film
/// explicitly at its predicted mean concentration: on a 2 mm vitamin C patch 20, 30 and 50 % per
/// step moved the viable layers' amounts by up to 1.4, 2.4 and 4.9 % from a short-step
/// reference, 10 % by 0.4 % (docs/BENCHMARKS.md, "Step growth and longest step"); the
/// registry's default.
pub use crate::params::groups::EXPLICIT_FILM_FRACTION;

fn settings(res: &DeliveryNumerics) -> SolverSettings {
    // TR-BDF2 by default (second order, L-stable: no ringing at the sharp start of a reservoir
    // on empty skin or across the 10¹⁰ contrast between channel fluid and stratum corneum);
    // backward Euler (first order, positivity preserving) on request: see
    // `DeliveryNumerics::tr_bdf2`. Unsplit (the whole system solved at once) unless asked otherwise:
    // the split sweeps carry a large splitting error on these cells at long steps.
    SolverSettings::fixed(1.0)
        .with_preconditioner(res.preconditioner)
        .with_scheme(if res.unsplit {
            Scheme::Unsplit {
                method: if res.tr_bdf2 {
                    UnsplitMethod::TrBdf2
                } else {
                    UnsplitMethod::BackwardEuler
                },
                tolerance: res.solver_tolerance,
            }
        } else {
            Scheme::BackwardEuler
        })
}

impl Arm {
    /// A unit cell of radius `radius_m`; `channel` None gives the intact-skin control.
    pub fn unit_cell(
        column: &SkinColumn,
        channel: Option<&ChannelShape>,
        radius_m: f64,
        co: &TransportCoefficients,
        setup: Setup,
        res: &DeliveryNumerics,
    ) -> Result<Arm, DeliveryError> {
        let depth = channel.map_or(0.0, |c| c.depth_m);
        let zf = z_faces(column, depth, res);
        // The intact control is laterally uniform: one radial cell carries it exactly.
        let rf = match channel {
            Some(c) => r_faces(c.surface_radius_m.max(c.open_radius_at(0.0)), radius_m, res),
            None => vec![0.0, radius_m],
        };
        let grid = AxiGrid::new(rf.clone(), zf.clone()).map_err(tr)?;
        let (nr, nz) = (rf.len() - 1, zf.len() - 1);
        let depths = layer_depths(column);
        let mut base_d = vec![0.0; nr * nz];
        let mut decay = vec![0.0; nr * nz];
        let mut chan = Vec::new();
        for k in 0..nz {
            let zc = 0.5 * (zf[k] + zf[k + 1]);
            let (d, lam) = layer_props(zc, &depths, co, setup);
            for i in 0..nr {
                let v = k * nr + i;
                base_d[v] = d;
                decay[v] = lam;
                if let Some(c) = channel {
                    let mut r0 = c.open_radius_at(zc);
                    if zc < depths[1] {
                        r0 = r0.max(c.surface_radius_m);
                    }
                    if r0 > rf[i] {
                        chan.push(ChannelVoxel {
                            v,
                            r0,
                            fill: Fill::Ring {
                                r_in: rf[i],
                                r_out: rf[i + 1],
                            },
                        });
                    }
                }
            }
        }
        let area = std::f64::consts::PI * radius_m * radius_m;
        let col_area = (0..nr)
            .map(|i| std::f64::consts::PI * (rf[i + 1] * rf[i + 1] - rf[i] * rf[i]))
            .collect();
        Arm::build(
            grid.into(),
            base_d,
            chan,
            decay,
            col_area,
            area,
            zf,
            depths,
            co,
            res,
        )
    }

    /// A 3-D patch `nx × ny` voxels of `dx` under the given channels (`(x, y, shape)`, m),
    /// lateral faces zero-flux.
    pub fn patch(
        column: &SkinColumn,
        channels: &[(f64, f64, ChannelShape)],
        size_m: (f64, f64),
        co: &TransportCoefficients,
        setup: Setup,
        res: &DeliveryNumerics,
    ) -> Result<Arm, DeliveryError> {
        let dx = res.dx_patch_m;
        let nx = (size_m.0 / dx).round().max(1.0) as usize;
        let ny = (size_m.1 / dx).round().max(1.0) as usize;
        let mean_depth = if channels.is_empty() {
            0.0
        } else {
            channels.iter().map(|c| c.2.depth_m).sum::<f64>() / channels.len() as f64
        };
        let zf = z_faces(column, mean_depth, res);
        let nz = zf.len() - 1;
        let grid = Grid3::with_z_faces(nx, ny, dx, dx, zf.clone()).map_err(tr)?;
        let depths = layer_depths(column);
        let n = nx * ny * nz;
        let mut base_d = vec![0.0; n];
        let mut decay = vec![0.0; n];
        for k in 0..nz {
            let zc = 0.5 * (zf[k] + zf[k + 1]);
            let (d, lam) = layer_props(zc, &depths, co, setup);
            base_d[k * nx * ny..(k + 1) * nx * ny].fill(d);
            decay[k * nx * ny..(k + 1) * nx * ny].fill(lam);
        }
        // Channel fill: in each plane, the channel's open disc covers the cells it crosses
        // (exact areas; the patch edge clips it), and that area, `area0` cells, goes to the
        // cells nearest the axis, whole cells first: the voxelised channel keeps the disc's area
        // and stays as compact as the grid allows, and it closes towards its axis (see
        // `Fill::Cells`), as the unit cell's rings fill from the axis out. Spread instead over
        // every cell it crosses (rim cells partly filled, their fraction shrinking with the open
        // area as the channel closes), the channel reached into more tissue at once than the
        // disc does and kept its full footprint while closing: on a 1.2 mm lidocaine patch
        // that delivered +3.3 / +5.9 / +7.9 / +11 % more in 1 h than this fill (at 6.25 µm)
        // at 3.125 / 12.5 / 25 / 40 µm voxels, and the patch / unit-cell ratio on a regular
        // pattern was 1.05-1.08 (now 0.98). This fill stays within 0.4 % of 6.25 µm voxels
        // from 12.5 to 40 µm there (docs/BENCHMARKS.md, "Lateral voxel of the patch").
        let mut chan = Vec::new();
        let mut cells: Vec<(f64, usize, f64)> = Vec::new();
        for (x, y, c) in channels {
            for k in 0..nz {
                let zc = 0.5 * (zf[k] + zf[k + 1]);
                let mut r0 = c.open_radius_at(zc);
                if zc < depths[1] {
                    r0 = r0.max(c.surface_radius_m);
                }
                if r0 <= 0.0 {
                    continue;
                }
                let i0 = ((x - r0) / dx).floor().max(0.0) as usize;
                let i1 = (((x + r0) / dx).floor() as usize).min(nx - 1);
                let j0 = ((y - r0) / dx).floor().max(0.0) as usize;
                let j1 = (((y + r0) / dx).floor() as usize).min(ny - 1);
                cells.clear();
                for j in j0..=j1 {
                    for i in i0..=i1 {
                        let (xa, ya) = (i as f64 * dx, j as f64 * dx);
                        let frac =
                            disc_rect_area(*x, *y, r0, [xa, xa + dx], [ya, ya + dx]) / (dx * dx);
                        if frac > 1e-12 {
                            let (cx, cy) = ((i as f64 + 0.5) * dx - x, (j as f64 + 0.5) * dx - y);
                            cells.push((cx * cx + cy * cy, (k * ny + j) * nx + i, frac.min(1.0)));
                        }
                    }
                }
                let area0: f64 = cells.iter().map(|c| c.2).sum();
                // Nearest cell centres first (ties: lower index), as many as the area needs.
                cells.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                for (rank, &(_, v, _)) in cells.iter().enumerate() {
                    if rank as f64 >= area0 {
                        break;
                    }
                    chan.push(ChannelVoxel {
                        v,
                        r0,
                        fill: Fill::Cells {
                            area0,
                            rank: rank as f64,
                        },
                    });
                }
            }
        }
        // Grouped by voxel (channels that overlap add up there, capped at full).
        chan.sort_by_key(|c: &ChannelVoxel| c.v);
        Arm::build(
            grid.into(),
            base_d,
            chan,
            decay,
            vec![dx * dx; nx * ny],
            (nx as f64 * dx) * (ny as f64 * dx),
            zf,
            depths,
            co,
            res,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn build(
        geometry: crate::transport::Geometry,
        base_d: Vec<f64>,
        chan: Vec<ChannelVoxel>,
        decay: Vec<f64>,
        col_area: Vec<f64>,
        area_m2: f64,
        z_faces: Vec<f64>,
        layer_depths: [f64; 5],
        co: &TransportCoefficients,
        res: &DeliveryNumerics,
    ) -> Result<Arm, DeliveryError> {
        let unsplit = res.unsplit;
        let ncol = col_area.len();
        let nz = z_faces.len() - 1;
        // Clearance depends on the layer only.
        let decay_k: Vec<f64> = (0..nz).map(|k| decay[k * ncol]).collect();
        let dz: Vec<f64> = (0..nz).map(|k| z_faces[k + 1] - z_faces[k]).collect();
        let mut arm_d = base_d.clone();
        // Stratum corneum partitioning (unsplit scheme): capacity K_SC in the SC cells.
        let base_cap: Vec<f64> = if unsplit && co.sc_partition != 1.0 {
            (0..nz)
                .flat_map(|k| {
                    let zc = 0.5 * (z_faces[k] + z_faces[k + 1]);
                    let c = if zc < layer_depths[1] {
                        co.sc_partition
                    } else {
                        1.0
                    };
                    std::iter::repeat_n(c, ncol)
                })
                .collect()
        } else {
            Vec::new()
        };
        let mut arm = Arm {
            sim: {
                // Unsplit: clearance is a decay term inside the implicit solve, and the cleared
                // amount is h Σ λ V c at the end of the step (the backward-Euler balance).
                // Split: clearance is applied exactly after each diffusion step (Lie splitting).
                let species = Species::new("active", Coefficient::PerVoxel(base_d.clone()));
                let species = if unsplit {
                    species.decay(Coefficient::PerVoxel(decay.clone()))
                } else {
                    species
                };
                let species = if base_cap.is_empty() {
                    species
                } else {
                    species.capacity(Coefficient::PerVoxel(base_cap.clone()))
                };
                let problem = Problem::builder(geometry)
                    .species(species)
                    .boundary_all(Face::XMax, Boundary::ZeroFlux)
                    .boundary_all(Face::XMin, Boundary::ZeroFlux)
                    .boundary_all(Face::YMin, Boundary::ZeroFlux)
                    .boundary_all(Face::YMax, Boundary::ZeroFlux)
                    .boundary_all(Face::ZMin, Boundary::ZeroFlux)
                    .boundary_all(Face::ZMax, Boundary::Dirichlet(0.0))
                    .build()
                    .map_err(tr)?;
                Simulation::new(problem, settings(res)).map_err(tr)?
            },
            d_now: base_d.clone(),
            base_d,
            cap_now: base_cap.clone(),
            base_cap,
            chan,
            decay_k,
            col_area,
            dz,
            area_m2,
            z_faces,
            layer_depths,
            d_free: co.d_free_m2_s,
            r_h: co.r_h_m,
            patency: co.channel_patency,
            applied_factor: f64::NAN,
            unsplit,
        };
        arm.apply_channels(1.0, &mut arm_d)?;
        Ok(arm)
    }

    /// Sets the voxel diffusivities for the radius factor `g` (open radius = g · r₀).
    fn apply_channels(&mut self, g: f64, scratch: &mut [f64]) -> Result<(), DeliveryError> {
        if self.chan.is_empty() {
            self.applied_factor = g;
            return Ok(());
        }
        let _ = scratch;
        // Entries of one voxel are adjacent (several where channels overlap).
        let mut updates = Vec::with_capacity(self.chan.len());
        // Capacities of the stratum corneum voxels over a channel: the volume-weighted mean of
        // channel fluid (1) and stratum corneum (K_SC).
        let mut cap_updates = Vec::new();
        for group in self.chan.chunk_by(|a, b| a.v == b.v) {
            let phi: f64 = group.iter().map(|cv| cv.fill.fraction(g, cv.r0)).sum();
            let r0 = group.iter().map(|cv| cv.r0).fold(0.0, f64::max);
            let phi = phi.min(1.0) * self.patency;
            let d_ch = self.d_free * renkin(self.r_h, g * r0);
            let v = group[0].v;
            updates.push((v, phi * d_ch + (1.0 - phi) * self.base_d[v]));
            if let Some(&c0) = self.base_cap.get(v)
                && c0 != 1.0
            {
                let c = phi + (1.0 - phi) * c0;
                if c != self.cap_now[v] {
                    cap_updates.push((v, c));
                }
            }
        }
        for &(v, d) in &updates {
            self.d_now[v] = d;
        }
        self.sim.update_diffusivity(0, &updates).map_err(tr)?;
        if !cap_updates.is_empty() {
            for &(v, c) in &cap_updates {
                self.cap_now[v] = c;
            }
            self.sim.update_capacity(0, &cap_updates).map_err(tr)?;
        }
        self.applied_factor = g;
        Ok(())
    }

    /// Amount per top area in `[SC, VE, PD, RD]`, kg/m².
    pub fn layer_amounts(&self) -> [f64; 4] {
        let mut d = self.layer_depths;
        d[4] += 1e-9;
        let a = self.sim.layer_amounts(0, &d);
        [
            a[0] / self.area_m2,
            a[1] / self.area_m2,
            a[2] / self.area_m2,
            a[3] / self.area_m2,
        ]
    }

    /// The concentration in the nerve-bearing layers (viable epidermis + papillary dermis:
    /// free nerve endings and the superficial plexus) that a fraction `frac` of the skin's area
    /// reaches or exceeds, kg/m³: each column's mean over those layers, columns sorted by it and
    /// weighted by their area. Intact skin is laterally uniform, so this is its mean; over
    /// channels it is the level between them, which the drug reaches by lateral diffusion.
    pub fn nerve_level(&self, frac: f64) -> f64 {
        let ncol = self.col_area.len();
        let (top, bottom) = (self.layer_depths[1], self.layer_depths[3]);
        let f = self.sim.fields().species(0);
        let mut cols: Vec<(f64, f64)> = (0..ncol)
            .map(|i| {
                let (mut m, mut h) = (0.0, 0.0);
                for (k, dz) in self.dz.iter().enumerate() {
                    let zc = 0.5 * (self.z_faces[k] + self.z_faces[k + 1]);
                    if zc >= top && zc < bottom {
                        m += f[k * ncol + i] * dz;
                        h += dz;
                    }
                }
                (if h > 0.0 { m / h } else { 0.0 }, self.col_area[i])
            })
            .collect();
        // Highest first: walk down until `frac` of the area is covered.
        cols.sort_by(|a, b| b.0.total_cmp(&a.0));
        let total: f64 = self.col_area.iter().sum();
        let mut acc = 0.0;
        for (c, a) in &cols {
            acc += a;
            if acc >= frac * total * (1.0 - 1e-12) {
                return *c;
            }
        }
        cols.last().map_or(0.0, |c| c.0)
    }

    /// Laterally averaged concentration per z cell: `(depth of centre m, kg/m³)`.
    pub fn depth_profile(&self) -> Vec<(f64, f64)> {
        let zf = &self.z_faces;
        let amounts = self.sim.layer_amounts(0, zf);
        amounts
            .iter()
            .enumerate()
            .map(|(k, m)| {
                (
                    0.5 * (zf[k] + zf[k + 1]),
                    m / (self.area_m2 * (zf[k + 1] - zf[k])),
                )
            })
            .collect()
    }

    /// Applies first-order clearance exactly over `h` (c ← c·e^(−λh)) and returns the amount
    /// removed and the amount left in the domain, in one pass (planes in parallel, summed in
    /// plane order: deterministic).
    /// Amounts moved over the step just taken (surface inflow, bottom outflow, clearance) and
    /// the amount left in the skin. Split scheme: clearance is applied here, exactly, after the
    /// diffusion step, and the fluxes are the end-of-step ones (backward Euler). Unsplit: the
    /// engine's step quadrature over the rates at the start (`start`, needed when its weight is
    /// not zero), the inner stage and the end of the step.
    fn step_amounts(
        &mut self,
        h: f64,
        start: Option<Rates>,
    ) -> Result<(Rates, f64), DeliveryError> {
        if !self.unsplit {
            let (top, bottom) = self.plane_fluxes(self.sim.fields().species(0), None);
            let (cleared, m1) = self.clear_split(h);
            let moved = Rates {
                top: top * h,
                bottom: bottom * h,
                cleared,
            };
            return Ok((moved, m1));
        }
        // A film solved with the step: the face's concentration at the stage and the end.
        let film = self.sim.last_compartment_step(0);
        let (end, m1) = self.rates(self.sim.fields().species(0), film.map(|f| f.end));
        let q = self.sim.last_step_quadrature().ok_or_else(|| {
            DeliveryError::Transport("the unsplit step reported no quadrature".into())
        })?;
        let [w0, w1, w2] = q.weights;
        let mut moved = end.scaled(w2);
        if w0 != 0.0 {
            let s = start.ok_or_else(|| {
                DeliveryError::Transport("the rates at the start of the step are missing".into())
            })?;
            moved = moved.plus(s.scaled(w0));
        }
        if let Some(stage) = q.stage {
            let nv = self.col_area.len() * self.dz.len();
            moved = moved.plus(self.rates(&stage[..nv], film.map(|f| f.stage)).0.scaled(w1));
        }
        Ok((moved, m1))
    }

    /// Split scheme: applies the clearance of a step of `h` exactly (`c ← c e^(−λh)`); returns
    /// the amount removed and the amount left.
    fn clear_split(&mut self, h: f64) -> (f64, f64) {
        use rayon::prelude::*;
        let ncol = self.col_area.len();
        let (col_area, dz, decay_k) = (&self.col_area, &self.dz, &self.decay_k);
        let f = self.sim.fields_mut().species_mut(0);
        let sums: Vec<(f64, f64)> = f
            .par_chunks_mut(ncol)
            .enumerate()
            .map(|(k, plane)| {
                let e = (-decay_k[k] * h).exp();
                let mut before = 0.0;
                for (c, a) in plane.iter_mut().zip(col_area) {
                    before += *c * a;
                    if e < 1.0 {
                        *c *= e;
                    }
                }
                (before * (1.0 - e) * dz[k], before * e * dz[k])
            })
            .collect();
        sums.iter().fold((0.0, 0.0), |a, s| (a.0 + s.0, a.1 + s.1))
    }

    /// Per-plane amounts of a field (stored: `∫ C u dV` where the SC has a capacity), amount.
    fn plane_amounts(&self, f: &[f64]) -> Vec<f64> {
        use rayon::prelude::*;
        let ncol = self.col_area.len();
        let (col_area, dz, cap) = (&self.col_area, &self.dz, &self.cap_now);
        f.par_chunks(ncol)
            .enumerate()
            .map(|(k, plane)| {
                let s = if cap.is_empty() {
                    plane.iter().zip(col_area).map(|(c, a)| c * a).sum::<f64>()
                } else {
                    let cp = &cap[k * ncol..(k + 1) * ncol];
                    plane
                        .iter()
                        .zip(col_area)
                        .zip(cp)
                        .map(|((c, a), k)| c * a * k)
                        .sum::<f64>()
                };
                s * dz[k]
            })
            .collect()
    }

    /// Rates of the field `f` (amount/s): surface inflow and bottom outflow under the current
    /// boundaries, and clearance `Σ λ V c` (the unsplit scheme's decay term); and the amount
    /// the field holds (from the same pass over it).
    fn rates(&self, f: &[f64], surface: Option<f64>) -> (Rates, f64) {
        let (top, bottom) = self.plane_fluxes(f, surface);
        let planes = self.plane_amounts(f);
        let cleared = planes.iter().zip(&self.decay_k).map(|(m, l)| m * l).sum();
        let rates = Rates {
            top,
            bottom,
            cleared,
        };
        (rates, planes.iter().sum())
    }

    /// Flux into the domain through the surface (Dirichlet `c_s`, or 0 when zero flux; a film
    /// solved with the step: its concentration `surface`) and out through the bottom sink,
    /// amount/s: sums over the boundary planes only (the engine's `boundary_flux` scans the
    /// whole grid; a unit test checks they agree).
    fn plane_fluxes(&self, f: &[f64], surface: Option<f64>) -> (f64, f64) {
        let ncol = self.col_area.len();
        let nz = self.dz.len();
        let face = match (surface, self.sim.problem().boundary(0, Face::ZMin)) {
            (Some(cs), _) | (None, Boundary::Dirichlet(cs)) => Some(cs),
            _ => None,
        };
        let top = match face {
            Some(cs) => (0..ncol)
                .map(|v| self.col_area[v] * self.d_now[v] * (cs - f[v]) / (0.5 * self.dz[0]))
                .sum(),
            None => 0.0,
        };
        let base = (nz - 1) * ncol;
        let bottom = (0..ncol)
            .map(|i| {
                let v = base + i;
                self.col_area[i] * self.d_now[v] * f[v] / (0.5 * self.dz[nz - 1])
            })
            .sum();
        (top, bottom)
    }

    /// Linear-solve counters of the unsplit scheme (zero for the split one).
    pub fn linear_solve_stats(&self) -> crate::transport::LinearSolveStats {
        self.sim.linear_solve_stats()
    }

    /// Number of voxels.
    pub fn voxels(&self) -> usize {
        self.base_d.len()
    }
}

/// Fraction of the skin's area whose nerve-bearing layers must hold the effect concentration
/// for the skin to count as numb (assumed: numbness is reported when the whole treated area is
/// numb, taken as 90 % of it; docs/MODEL.md, "Numbing onset"). Between channels the drug
/// arrives by lateral diffusion, so this sets the onset after needling; on intact skin every
/// fraction gives the same onset.
pub const NERVE_AREA_FRACTION: f64 = 0.9;

/// Output sample of one arm at one time (per area, kg/m²; fluxes kg/(m²·s)).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Sample {
    pub t_s: f64,
    /// Amount in [SC, VE, PD, RD].
    pub layers_kg_m2: [f64; 4],
    /// Cumulative amount that entered the skin.
    pub entered_kg_m2: f64,
    /// Cumulative amount cleared by capillaries.
    pub cleared_kg_m2: f64,
    /// Cumulative amount that left through the bottom (subcutis / receptor).
    pub bottom_kg_m2: f64,
    /// Active left in the donor film (NaN for a reservoir).
    pub donor_kg_m2: f64,
    /// Flux into the skin and into blood + receptor over the last step.
    pub flux_in_kg_m2_s: f64,
    pub flux_out_kg_m2_s: f64,
    /// Open-area fraction of the channels.
    pub open_area: f64,
    /// Concentration at the skin surface (donor aqueous phase), kg/m³.
    pub surface_kg_m3: f64,
    /// Concentration in the nerve-bearing layers (viable epidermis + papillary dermis) that
    /// [`NERVE_AREA_FRACTION`] of the area reaches or exceeds, kg/m³ (the numbing criterion;
    /// the mean for laterally uniform intact skin).
    pub nerve_kg_m3: f64,
}

impl Sample {
    /// Cumulative amount that reached the dermis: in the dermis now + cleared + passed below.
    pub fn reached_dermis_kg_m2(&self) -> f64 {
        self.layers_kg_m2[2] + self.layers_kg_m2[3] + self.cleared_kg_m2 + self.bottom_kg_m2
    }

    /// Cumulative amount in blood and receptor.
    pub fn receptor_blood_kg_m2(&self) -> f64 {
        self.cleared_kg_m2 + self.bottom_kg_m2
    }

    /// Amount held in viable epidermis + dermis.
    pub fn viable_kg_m2(&self) -> f64 {
        self.layers_kg_m2[1] + self.layers_kg_m2[2] + self.layers_kg_m2[3]
    }
}

/// The result of running one arm.
#[derive(Clone, Debug, PartialEq)]
pub struct ArmResult {
    pub samples: Vec<Sample>,
    /// `(t s, profile)` at the requested profile times.
    pub profiles: Vec<(f64, Vec<(f64, f64)>)>,
    /// Entry from the surface boundary flux integrated in time (trapezoid), kg/m²: an
    /// independent check of the mass balance.
    pub entered_by_flux_kg_m2: f64,
    pub steps: u64,
    pub voxels: usize,
}

/// Runs one arm from the first application to `t_end_s` (times after needling).
#[allow(clippy::too_many_arguments)]
pub fn run_arm(
    arm: &mut Arm,
    schedule: &Schedule,
    closure: Option<&Closure>,
    solubility_kg_m3: f64,
    t_end_s: f64,
    output_times: &[f64],
    profile_times: &[f64],
    res: &DeliveryNumerics,
) -> Result<ArmResult, DeliveryError> {
    let t0 = schedule.applications.first().map_or(0.0, |a| a.t_apply_s);
    let mut stops: Vec<f64> = schedule
        .events()
        .into_iter()
        .chain(output_times.iter().copied())
        .chain(profile_times.iter().copied())
        .filter(|t| *t >= t0 && *t <= t_end_s)
        .chain(std::iter::once(t_end_s))
        .collect();
    stops.sort_by(f64::total_cmp);
    stops.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
    let events = schedule.events();

    let mut donor = Donor::default();
    let mut t = t0;
    let mut entered = 0.0;
    let mut cleared = 0.0;
    let mut bottom = 0.0;
    let mut by_flux = 0.0;
    let mut samples = Vec::new();
    let mut profiles = Vec::new();
    let mut dt = res.dt_first_s;
    let mut surface = f64::NAN;
    let mut last_flux_in = 0.0;
    let mut last_flux_out = 0.0;
    let area = arm.area_m2;
    let mut scratch = Vec::new();
    let mut m_prev = 0.0;

    let record = |t: f64,
                  arm: &Arm,
                  donor: &Donor,
                  entered: f64,
                  cleared: f64,
                  bottom: f64,
                  fi: f64,
                  fo: f64,
                  surface: f64|
     -> Sample {
        Sample {
            t_s: t,
            layers_kg_m2: arm.layer_amounts(),
            entered_kg_m2: entered,
            cleared_kg_m2: cleared,
            bottom_kg_m2: bottom,
            donor_kg_m2: if donor.reservoir_kg_m3.is_some() {
                f64::NAN
            } else {
                donor.active_kg_m2
            },
            flux_in_kg_m2_s: fi,
            flux_out_kg_m2_s: fo,
            open_area: closure.map_or(0.0, |c| c.open_area(t)),
            surface_kg_m3: surface,
            nerve_kg_m3: arm.nerve_level(NERVE_AREA_FRACTION),
        }
    };

    // Output times before the first application: nothing on or in the skin yet.
    for &to in output_times.iter().filter(|&&to| to < t0) {
        samples.push(Sample {
            t_s: to,
            layers_kg_m2: [0.0; 4],
            entered_kg_m2: 0.0,
            cleared_kg_m2: 0.0,
            bottom_kg_m2: 0.0,
            donor_kg_m2: 0.0,
            flux_in_kg_m2_s: 0.0,
            flux_out_kg_m2_s: 0.0,
            open_area: closure.map_or(0.0, |c| c.open_area(to)),
            surface_kg_m3: 0.0,
            nerve_kg_m3: 0.0,
        });
    }

    let mut next_stop = 0;
    loop {
        // Events at t: apply / wipe.
        if events.iter().any(|e| (e - t).abs() < 1e-9) {
            donor.update(
                schedule,
                *events.iter().find(|e| (*e - t).abs() < 1e-9).unwrap_or(&t),
            );
            dt = res.dt_first_s;
        }
        // Outputs at t.
        while next_stop < stops.len() && stops[next_stop] <= t + 1e-9 {
            let ts = stops[next_stop];
            if output_times.iter().any(|o| (o - ts).abs() < 1e-9) {
                samples.push(record(
                    ts,
                    arm,
                    &donor,
                    entered / area,
                    cleared / area,
                    bottom / area,
                    last_flux_in,
                    last_flux_out,
                    if surface.is_nan() { 0.0 } else { surface },
                ));
            }
            if profile_times.iter().any(|o| (o - ts).abs() < 1e-9) {
                profiles.push((ts, arm.depth_profile()));
            }
            next_stop += 1;
        }
        if t >= t_end_s - 1e-9 || next_stop >= stops.len() {
            break;
        }
        // Steps of equal length up to the next stop rather than a sliver before it.
        let gap = stops[next_stop] - t;
        let h = if dt >= gap {
            gap
        } else {
            gap / (gap / dt).ceil()
        };
        // Geometry at mid-step.
        if let Some(c) = closure {
            let g = c.radius_factor(t + 0.5 * h);
            let ga = arm.applied_factor;
            if !(ga.is_finite()) || (g - ga).abs() > 0.01 * ga.max(1e-12) {
                let g = if g < 1e-4 { 0.0 } else { g };
                if g != ga {
                    arm.apply_channels(g, &mut scratch)?;
                }
            }
        }
        // A finite donor (a film) is solved with each unsplit step: the engine couples it to
        // the surface as a well-mixed compartment, so its concentration follows its depletion
        // within the step, and the step limit below (`depletion_step_fraction` of what is left
        // exchanged per step, in or back out) only resolves how fast it empties. The split
        // sweeps hold it over each step instead, at its predicted mean, and need the tighter
        // `res.explicit_film_fraction`. A film down to `res.spent_film` of what was
        // applied is spent: the surface becomes zero-flux. (Held explicitly over a long step, a
        // near-empty film would act as a perfect sink and pull back far more than its own
        // volume can hold; what a residue can take back is at most its volume times the
        // surface concentration.)
        let finite = donor.present() && donor.reservoir_kg_m3.is_none();
        let spent = finite && donor.active_kg_m2 <= res.spent_film * donor.applied_kg_m2;
        let coupled = arm.unsplit && finite && !spent;
        let mut h = h;
        let mut depletion_limited = false;
        if finite && !spent && last_flux_in != 0.0 {
            let f = if coupled {
                res.depletion_step_fraction
            } else {
                res.depletion_step_fraction.min(res.explicit_film_fraction)
            }
            .clamp(1e-3, 1.0);
            let h_dep = f * donor.active_kg_m2 / last_flux_in.abs();
            if h_dep < h {
                h = h_dep.max(1e-3);
                depletion_limited = true;
            }
        }
        // Surface boundary.
        let on_skin = donor.present() && !spent;
        let c_s = if coupled {
            donor.surface_concentration(solubility_kg_m3)
        } else if on_skin {
            // The film's mean concentration over the step (depletion predicted from the
            // previous step's uptake rate; the amount actually taken in is what depletes it).
            donor.mean_surface_concentration(solubility_kg_m3, last_flux_in, h)
        } else {
            0.0
        };
        if coupled {
            let film = Compartment {
                volume: donor.film_m * area,
                amount: donor.active_kg_m2 * area,
                saturation: solubility_kg_m3,
            };
            arm.sim.set_compartment(0, Some(film)).map_err(tr)?;
        } else {
            if arm.sim.compartment(0).is_some() {
                arm.sim.set_compartment(0, None).map_err(tr)?;
            }
            let want = if on_skin {
                Boundary::Dirichlet(c_s)
            } else {
                Boundary::ZeroFlux
            };
            if arm.sim.problem().boundary(0, Face::ZMin) != want {
                arm.sim.set_boundary(0, Face::ZMin, want).map_err(tr)?;
            }
        }
        surface = c_s;
        // Second-order unsplit steps integrate the boundary fluxes and the clearance with the
        // scheme's own quadrature, which needs them at the start of the step as well.
        let start = (arm.unsplit && res.tr_bdf2).then(|| {
            arm.rates(arm.sim.fields().species(0), coupled.then_some(c_s))
                .0
        });
        arm.sim.step(h).map_err(|e| match e {
            TransportError::NonFinite { .. } => DeliveryError::NonFinite {
                what: e.to_string(),
                t_s: t + h,
                hint: "a NaN or infinity appeared in the concentration field; check the compound's parameters (MW, log P, radius) and the dose".into(),
            },
            other => tr(other),
        })?;
        // Amounts moved over the step: the surface inflow, the bottom outflow and the
        // clearance, integrated as the scheme integrates them (backward Euler: the end-of-step
        // rates times h; TR-BDF2: its three-point rule), so that they balance the change of the
        // amount in the skin.
        let (moved, m1) = arm.step_amounts(h, start)?;
        if let Some(f) = arm.sim.last_compartment_step(0).filter(|_| coupled) {
            surface = f.end;
        }
        let (f1, b1, k1) = (moved.top / h, moved.bottom / h, moved.cleared / h);
        if !(m1.is_finite() && k1.is_finite() && b1.is_finite() && f1.is_finite()) {
            return Err(DeliveryError::NonFinite {
                what: "amount in the skin".into(),
                t_s: t + h,
                hint: "check the compound's parameters and the dose".into(),
            });
        }
        let (dk, db) = (k1 * h, b1 * h);
        let step_in = (m1 - m_prev) + dk + db;
        m_prev = m1;
        by_flux += f1 * h;
        cleared += dk;
        bottom += db;
        entered += step_in;
        donor.deplete(step_in / area);
        last_flux_in = step_in / area / h;
        last_flux_out = (dk + db) / area / h;
        t += h;
        let base = if depletion_limited { h } else { dt };
        dt = (base * res.dt_growth).clamp(1e-3, res.dt_max_s);
        if let Some(c) = closure {
            // Resolve the closure: at most `closure_step_fraction` change of open area per step.
            let a = c.open_area(t);
            if a > 1e-3 {
                let f = res.closure_step_fraction.clamp(1e-3, 0.9);
                dt = dt.min((f * c.change_time_s(t)).max(res.dt_first_s));
            }
        }
    }
    Ok(ArmResult {
        samples,
        profiles,
        entered_by_flux_kg_m2: by_flux / area,
        steps: arm.sim.steps(),
        voxels: arm.voxels(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::compounds::Library;
    use crate::delivery::physchem::{PermeabilityModel, PhysChemParams, coefficients};
    use crate::skin::{Person, Site, ThicknessOverrides};

    #[test]
    fn disc_rect_area_is_exact() {
        use std::f64::consts::PI;
        let r = 3.0;
        // Whole disc, a quarter (centre on a corner), half (centre on an edge), nothing.
        let whole = disc_rect_area(0.0, 0.0, r, [-5.0, 5.0], [-4.0, 3.5]);
        assert!((whole - PI * r * r).abs() < 1e-12, "{whole}");
        let quarter = disc_rect_area(0.0, 0.0, r, [0.0, 9.0], [0.0, 9.0]);
        assert!((quarter - PI * r * r / 4.0).abs() < 1e-12, "{quarter}");
        let half = disc_rect_area(0.0, 0.0, r, [-9.0, 9.0], [-9.0, 0.0]);
        assert!((half - PI * r * r / 2.0).abs() < 1e-12, "{half}");
        assert_eq!(disc_rect_area(0.0, 0.0, r, [3.5, 9.0], [-9.0, 9.0]), 0.0);
        assert_eq!(disc_rect_area(0.0, 0.0, 0.0, [-1.0, 1.0], [-1.0, 1.0]), 0.0);
        // Cells of a grid add up to the disc, each against a fine midpoint count.
        let (cx, cy, r) = (0.37, -0.81, 1.73);
        let mut sum = 0.0;
        for i in -3..3 {
            for j in -3..3 {
                let (xs, ys) = ([i as f64, i as f64 + 1.0], [j as f64, j as f64 + 1.0]);
                let a = disc_rect_area(cx, cy, r, xs, ys);
                let n = 1000;
                let mut hits = 0usize;
                for p in 0..n {
                    for q in 0..n {
                        let x = xs[0] + (p as f64 + 0.5) / n as f64;
                        let y = ys[0] + (q as f64 + 0.5) / n as f64;
                        if (x - cx).powi(2) + (y - cy).powi(2) < r * r {
                            hits += 1;
                        }
                    }
                }
                let b = hits as f64 / (n * n) as f64;
                assert!((a - b).abs() < 2e-3, "cell ({i}, {j}): {a} vs sampled {b}");
                sum += a;
            }
        }
        assert!((sum - PI * r * r).abs() < 1e-12, "{sum}");
    }

    #[test]
    fn plane_fluxes_match_the_engines_boundary_flux() {
        let col = crate::skin::column(
            Site::Cheek,
            &Person::default(),
            &ThicknessOverrides::default(),
        )
        .expect("column");
        let co = coefficients(
            Library::builtin().compound("caffeine").expect("c"),
            PermeabilityModel::default(),
            &PhysChemParams::default(),
        );
        let ch = ChannelShape {
            depth_m: 400e-6,
            needle_radius_m: 100e-6,
            tip_half_angle_rad: 0.2,
            recoil: 0.5,
            surface_radius_m: 60e-6,
        };
        let res = DeliveryNumerics::default();
        let mut arms = vec![
            Arm::unit_cell(&col, Some(&ch), 300e-6, &co, Setup::InVivo, &res).expect("cell"),
            Arm::patch(
                &col,
                &[(150e-6, 150e-6, ch)],
                (300e-6, 300e-6),
                &co,
                Setup::InVivo,
                &res,
            )
            .expect("patch"),
        ];
        for arm in &mut arms {
            arm.apply_channels(0.7, &mut []).expect("channels");
            arm.sim
                .set_boundary(0, Face::ZMin, Boundary::Dirichlet(3.0))
                .expect("bc");
            for _ in 0..5 {
                arm.sim.step(20.0).expect("step");
            }
            let (top, bottom) = arm.plane_fluxes(arm.sim.fields().species(0), None);
            let et = arm.sim.boundary_flux(0, Face::ZMin);
            let eb = -arm.sim.boundary_flux(0, Face::ZMax);
            assert!((top - et).abs() <= 1e-9 * et.abs(), "{top} vs {et}");
            assert!(
                (bottom - eb).abs() <= 1e-9 * eb.abs().max(1e-300),
                "{bottom} vs {eb}"
            );
            let m = arm.sim.total_amount(0);
            let m2 = arm.rates(arm.sim.fields().species(0), None).1;
            assert!((m - m2).abs() <= 1e-12 * m, "{m} vs {m2}");
        }
    }
}
