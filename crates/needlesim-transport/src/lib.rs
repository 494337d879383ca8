//! # needlesim-transport: the transport engine
//!
//! The transport engine of needlesim as its own crate, usable alone: it knows no skin, devices,
//! drugs or cells (needlesim re-exports it as `needlesim::transport`).
//!
//! Implicit reaction–diffusion of several species on layered, channelled media (such as
//! punctured skin), in 3-D Cartesian
//! ([`Grid3`]: uniform x/y, variable z) or axisymmetric ([`AxiGrid`]: r, z) geometry.
//! Models only state their species, coefficients, sources, reactions and boundaries
//! ([`Problem::builder`]); the [`Simulation`] does the rest:
//!
//! * finite volumes, cell centred; harmonic-mean face diffusivities (exact for layers);
//! * locally one-dimensional implicit sweeps (backward Euler, or Crank–Nicolson with alternating
//!   sweep order = second order, with Rannacher damping), tridiagonal (Thomas) solves per line,
//!   factorised once per axis when the diffusivity is uniform;
//! * or, with [`Scheme::Unsplit`], the whole implicit system of each species solved at once
//!   (backward Euler or TR-BDF2, linear decay and sources inside, preconditioned conjugate
//!   gradients with a banded Cholesky or z-line preconditioner): no splitting error, so long
//!   steps stay accurate on high-contrast layered and channelled cells;
//! * a per-voxel storage capacity `C` (partitioning into a membrane such as the stratum
//!   corneum: `C ∂u/∂t = ∇·(D∇u) − C λ u + C S`, mass matrix `diag(C V)`) on the unsplit
//!   scheme ([`Species::capacity`]), or a capacity per z level on the split schemes
//!   ([`Species::layered_capacity`]);
//! * Strang splitting with an exact exponential step for linear decay/sources and an L-stable
//!   SDIRK2 (Newton) pointwise integrator for nonlinear [`Reactions`];
//! * fixed steps or adaptive steps from a step-doubling error estimate;
//! * rayon over independent tiles of lines, bit-identical for any thread count;
//! * a [`Backend`] seam so a GPU implementation can come later.
//!
//! Units are SI (m, s; concentrations in any consistent unit). Bad input is rejected at setup
//! with a [`TransportError`] naming the field, value and allowed range; a NaN or infinity during a
//! run stops it with the step, species and voxel.
//!
//! Numerics and verification: `docs/TRANSPORT.md`. Benchmarks: `docs/BENCHMARKS.md`.
//!
//! This crate owns the transport numerics only; it knows nothing about skin, devices or drugs.
//!
//! ```
//! use needlesim_transport::*;
//! let grid = Grid3::uniform([8, 8, 8], [1e-5; 3])?;
//! let problem = Problem::builder(grid)
//!     .species(Species::new("drug", 1e-10).decay(1e-3).initial(1.0))
//!     .boundary_everywhere(Boundary::ZeroFlux)
//!     .build()?;
//! let mut sim = Simulation::new(problem, SolverSettings::fixed(1.0))?;
//! sim.advance_to(10.0, |_| {})?;
//! let m = sim.total_amount(0) / (8e-5f64).powi(3);
//! assert!((m - (-1e-2f64).exp()).abs() < 1e-12);
//! # Ok::<(), TransportError>(())
//! ```

// Numerical kernels index several arrays with one loop variable; iterator chains would hide that.
#![allow(clippy::needless_range_loop)]

pub(crate) mod backend;
mod compartment;
pub mod dense;
mod field;
mod grid;
mod kernel;
mod multigrid;
mod operator;
mod problem;
mod reaction;
mod solver;
mod unsplit;

#[doc(hidden)]
pub use backend::perf_probe;
pub use backend::{Backend, CpuBackend, DiffusionContext, SweepSpec};
pub use compartment::{Compartment, CompartmentStep};
pub use field::Fields;
pub use grid::{AxiGrid, Geometry, Grid3};
pub use operator::{DiffusionOperator, DiffusivityStorage, MAX_DRIFT_STEP, PerVoxelConductances};
pub use problem::{Boundary, Coefficient, Face, Problem, ProblemBuilder, Reactions, Species};
pub use solver::{
    LinearSolveStats, RunStats, Scheme, Simulation, SolverSettings, StepControl, StepQuadrature,
    UnsplitMethod,
};
#[doc(hidden)]
pub use unsplit::solve_probe;
pub use unsplit::{SolveOutcome, UnsplitPreconditioner, UnsplitSolve};

/// Errors of the transport engine.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TransportError {
    /// A grid that cannot be built.
    #[error("invalid grid: {what}")]
    InvalidGrid {
        /// What is wrong.
        what: String,
    },
    /// A value outside its allowed range.
    #[error("{field} = {value} is invalid: must be {allowed}")]
    InvalidValue {
        /// The field, with species and voxel where relevant.
        field: String,
        /// The offending value.
        value: f64,
        /// The allowed range.
        allowed: &'static str,
    },
    /// A per-voxel array of the wrong length.
    #[error("{field} has {got} values, expected {expected} (one per voxel)")]
    WrongLength {
        /// The field.
        field: String,
        /// Values given.
        got: usize,
        /// Voxels in the grid.
        expected: usize,
    },
    /// A (species, face) pair without a boundary condition.
    #[error(
        "boundary of species '{species}' on face {face} is not defined: set it with \
         ProblemBuilder::boundary, boundary_all or boundary_everywhere"
    )]
    UndefinedBoundary {
        /// Species name.
        species: String,
        /// The face.
        face: Face,
    },
    /// Periodic on one face of an axis but not on the other.
    #[error(
        "species '{species}': face {face} and its opposite face must both be periodic or both not"
    )]
    UnpairedPeriodic {
        /// Species name.
        species: String,
        /// The face.
        face: Face,
    },
    /// A species name that does not exist.
    #[error("unknown species {0}")]
    UnknownSpecies(String),
    /// Two species with the same name.
    #[error("duplicate species name '{0}'")]
    DuplicateSpecies(String),
    /// A problem without species.
    #[error("the problem has no species")]
    NoSpecies,
    /// A combination the engine does not support.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A time step that is not finite and positive.
    #[error("time step {dt} s is invalid: must be finite and > 0")]
    InvalidStep {
        /// The step.
        dt: f64,
    },
    /// A NaN or infinity appeared during a run.
    #[error(
        "non-finite value {value} in species '{species}' at voxel (i={i}, j={j}, k={k}) during step {step} \
         (starting at t = {time} s); the fields are no longer valid"
    )]
    NonFinite {
        /// Step number (1-based) that produced it.
        step: u64,
        /// Time at the start of that step (s).
        time: f64,
        /// Species name.
        species: String,
        /// x (r) index.
        i: usize,
        /// y index.
        j: usize,
        /// z index.
        k: usize,
        /// The value found.
        value: f64,
    },
    /// The pointwise reaction integrator did not converge, even with 64 sub-steps.
    #[error(
        "reaction integrator failed at voxel (i={i}, j={j}, k={k}) during step {step} (t = {time} s)"
    )]
    ReactionFailed {
        /// Step number (1-based).
        step: u64,
        /// Time at the start of the step (s).
        time: f64,
        /// x (r) index.
        i: usize,
        /// y index.
        j: usize,
        /// z index.
        k: usize,
    },
    /// A linear solve of the unsplit scheme did not converge.
    #[error(
        "the unsplit implicit solve of species '{species}' did not converge in {iterations} \
         iterations (relative residual {residual}) during step {step} (t = {time} s); use a \
         smaller step or a looser scheme tolerance"
    )]
    LinearSolveFailed {
        /// Step number (1-based).
        step: u64,
        /// Time at the start of the step (s).
        time: f64,
        /// Species name.
        species: String,
        /// Iterations done.
        iterations: usize,
        /// Relative residual reached.
        residual: f64,
    },
    /// Adaptive step control could not meet the tolerance.
    #[error(
        "adaptive step {dt} s fell below dt_min = {dt_min} s at t = {time} s (error estimate {error}); \
         loosen the tolerances or lower dt_min"
    )]
    StepTooSmall {
        /// The proposed step (s).
        dt: f64,
        /// The limit (s).
        dt_min: f64,
        /// Current time (s).
        time: f64,
        /// Last error estimate (relative to tolerance).
        error: f64,
    },
}
