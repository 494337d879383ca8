//! Problem definition: species, coefficients, sources, reactions and boundaries, validated once.
//!
//! A model states *what* diffuses and reacts; the [`super::Simulation`] decides *how*.

use std::fmt;
use std::sync::Arc;

use super::TransportError;
use super::grid::{Geometry, Mesh};

/// A face of the grid. z grows into the skin, so [`Face::ZMin`] is the surface and
/// [`Face::ZMax`] the deepest face. On an axisymmetric grid x is r: [`Face::XMin`] is the axis
/// (always zero flux, set automatically), [`Face::XMax`] the outer radius, and the y faces do not
/// exist (set automatically).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Face {
    /// x = 0 (axisymmetric: the axis r = 0).
    XMin,
    /// x = Lx (axisymmetric: the outer radius).
    XMax,
    /// y = 0.
    YMin,
    /// y = Ly.
    YMax,
    /// z = 0, the skin surface.
    ZMin,
    /// The deepest face.
    ZMax,
}

impl Face {
    /// All six faces in index order.
    pub const ALL: [Face; 6] = [
        Face::XMin,
        Face::XMax,
        Face::YMin,
        Face::YMax,
        Face::ZMin,
        Face::ZMax,
    ];
    /// The skin surface (alias of `ZMin`).
    pub const TOP: Face = Face::ZMin;
    /// The deepest face (alias of `ZMax`).
    pub const BOTTOM: Face = Face::ZMax;
    /// The outer radius of an axisymmetric grid (alias of `XMax`).
    pub const R_OUTER: Face = Face::XMax;

    /// Axis (0 = x/r, 1 = y, 2 = z) the face is normal to.
    pub fn axis(self) -> usize {
        self.index() / 2
    }

    /// True for the high-coordinate face of its axis.
    pub fn is_high(self) -> bool {
        self.index() % 2 == 1
    }

    /// Position in [`Face::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The opposite face on the same axis.
    pub fn opposite(self) -> Face {
        Face::ALL[self.index() ^ 1]
    }
}

impl fmt::Display for Face {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

/// Boundary condition of one species on one face. Fluxes are counted positive *into* the domain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Boundary {
    /// No flux (closed wall or symmetry plane).
    ZeroFlux,
    /// Fixed concentration on the face (a reservoir on the surface; 0 is a perfect sink).
    Dirichlet(f64),
    /// Prescribed inward flux density (concentration·m/s, e.g. mol/(m²·s)); negative = outflow.
    Flux(f64),
    /// Mass transfer / partitioning: inward flux density `h (c_ext − c_face)`, `h` in m/s.
    Robin {
        /// Mass-transfer coefficient (m/s), ≥ 0.
        h: f64,
        /// External concentration (already multiplied by any partition coefficient).
        c_ext: f64,
    },
    /// Periodic: the face is glued to the opposite face (which must also be periodic).
    Periodic,
}

impl Boundary {
    /// True when the boundary adds no source term (so a uniform decay commutes with diffusion).
    pub(crate) fn is_homogeneous(&self) -> bool {
        match *self {
            Boundary::ZeroFlux | Boundary::Periodic => true,
            Boundary::Dirichlet(c) => c == 0.0,
            Boundary::Flux(q) => q == 0.0,
            Boundary::Robin { h, c_ext } => h == 0.0 || c_ext == 0.0,
        }
    }

    pub(crate) fn validate(&self, species: &str, face: Face) -> Result<(), TransportError> {
        let field = |what: &str| format!("species '{species}' boundary {face} {what}");
        match *self {
            Boundary::Dirichlet(c) if !(c.is_finite() && c >= 0.0) => {
                Err(TransportError::InvalidValue {
                    field: field("Dirichlet concentration"),
                    value: c,
                    allowed: "finite and >= 0",
                })
            }
            Boundary::Flux(q) if !q.is_finite() => Err(TransportError::InvalidValue {
                field: field("flux"),
                value: q,
                allowed: "finite",
            }),
            Boundary::Robin { h, c_ext } => {
                if !(h.is_finite() && h >= 0.0) {
                    return Err(TransportError::InvalidValue {
                        field: field("Robin h (m/s)"),
                        value: h,
                        allowed: "finite and >= 0",
                    });
                }
                if !(c_ext.is_finite() && c_ext >= 0.0) {
                    return Err(TransportError::InvalidValue {
                        field: field("Robin c_ext"),
                        value: c_ext,
                        allowed: "finite and >= 0",
                    });
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// A coefficient that is either one value everywhere (fast path) or one value per voxel
/// (index order of [`super::Fields`]: `(k * ny + j) * nx + i`).
#[derive(Debug, Clone, PartialEq)]
pub enum Coefficient {
    /// The same value in every voxel.
    Uniform(f64),
    /// One value per voxel.
    PerVoxel(Vec<f64>),
}

impl From<f64> for Coefficient {
    fn from(v: f64) -> Self {
        Coefficient::Uniform(v)
    }
}

impl From<Vec<f64>> for Coefficient {
    fn from(v: Vec<f64>) -> Self {
        Coefficient::PerVoxel(v)
    }
}

impl Coefficient {
    /// Value at voxel `v`.
    pub fn at(&self, v: usize) -> f64 {
        match self {
            Coefficient::Uniform(x) => *x,
            Coefficient::PerVoxel(xs) => xs[v],
        }
    }

    /// True if uniform and equal to zero.
    pub fn is_zero(&self) -> bool {
        matches!(self, Coefficient::Uniform(x) if *x == 0.0)
    }

    pub(crate) fn validate(
        &self,
        field: &str,
        n: usize,
        nonnegative: bool,
    ) -> Result<(), TransportError> {
        let allowed = if nonnegative {
            "finite and >= 0"
        } else {
            "finite"
        };
        let ok = |x: f64| x.is_finite() && (!nonnegative || x >= 0.0);
        match self {
            Coefficient::Uniform(x) => {
                if !ok(*x) {
                    return Err(TransportError::InvalidValue {
                        field: field.to_string(),
                        value: *x,
                        allowed,
                    });
                }
            }
            Coefficient::PerVoxel(xs) => {
                if xs.len() != n {
                    return Err(TransportError::WrongLength {
                        field: field.to_string(),
                        got: xs.len(),
                        expected: n,
                    });
                }
                if let Some((v, x)) = xs.iter().enumerate().find(|(_, x)| !ok(**x)) {
                    return Err(TransportError::InvalidValue {
                        field: format!("{field} at voxel {v}"),
                        value: *x,
                        allowed,
                    });
                }
            }
        }
        Ok(())
    }
}

/// One diffusing species: its name, diffusivity (m²/s), first-order decay or uptake rate (1/s),
/// zero-order source (concentration/s) and initial field.
#[derive(Debug, Clone, PartialEq)]
pub struct Species {
    /// Unique name.
    pub name: String,
    /// Diffusivity D (m²/s), ≥ 0.
    pub diffusivity: Coefficient,
    /// First-order loss rate λ (1/s), ≥ 0: decay, capillary clearance, uptake.
    pub decay: Coefficient,
    /// Zero-order source S (concentration/s), any finite value.
    pub source: Coefficient,
    /// Initial concentration, finite.
    pub initial: Coefficient,
    /// Storage capacity per z level (dimensionless, > 0), or `None` for 1 everywhere: see
    /// [`Species::layered_capacity`].
    pub capacity_z: Option<Vec<f64>>,
    /// Storage capacity per voxel (dimensionless, > 0) for the unsplit scheme, or `None` for 1
    /// everywhere: see [`Species::capacity`].
    pub capacity: Option<Coefficient>,
}

impl Species {
    /// A species with diffusivity `d` (m²/s), no decay, no source, zero initial field.
    pub fn new(name: impl Into<String>, d: impl Into<Coefficient>) -> Self {
        Species {
            name: name.into(),
            diffusivity: d.into(),
            decay: Coefficient::Uniform(0.0),
            source: Coefficient::Uniform(0.0),
            initial: Coefficient::Uniform(0.0),
            capacity_z: None,
            capacity: None,
        }
    }

    /// Gives the species a storage capacity `C_k` per z level (dimensionless, finite, > 0;
    /// one value per z cell), so that the engine solves
    ///
    /// ```text
    /// C ∂c/∂t = ∇·(D C ∇c) − C λ c + C S
    /// ```
    ///
    /// The conserved amount is `∫ C c dV` and the field `c` is continuous across a jump of `C`
    /// (a partition equilibrium `c_a/c_b = 1` in `c`, i.e. stored amounts in the ratio
    /// `C_a/C_b`). Within a z level `C` is constant, so it only acts on the z axis: the faces
    /// between levels get the harmonic mean of `D C`, and each level's rows are divided by its
    /// `C`. Zero-order sources and decay stay per unit of `c`. Supported with a uniform
    /// diffusivity on the split schemes (backward Euler, Crank–Nicolson); combining it with a
    /// per-voxel diffusivity or the unsplit scheme is an error at set-up.
    pub fn layered_capacity(mut self, capacity_z: Vec<f64>) -> Self {
        self.capacity_z = Some(capacity_z);
        self
    }

    /// Gives the species a storage capacity `C` per voxel (dimensionless, finite, > 0; uniform or
    /// one value per voxel), so that the unsplit scheme solves
    ///
    /// ```text
    /// C ∂u/∂t = ∇·(D ∇u) − C λ u + C S
    /// ```
    ///
    /// with the mass matrix `diag(C V)` in every stage. Here `u` is the continuous potential
    /// (e.g. the aqueous-equivalent concentration), the stored concentration is `C u` and the
    /// conserved amount `∫ C u dV`; `D` is the conductance of `u` as given (for a membrane of
    /// partition coefficient `K` and diffusivity `D_m`: `C = K`, `D = K D_m`, so that its
    /// steady flux is `K D_m Δu / L` and its lag time `L² / (6 D_m)`). Unlike
    /// [`Species::layered_capacity`], the diffusivity is not multiplied by `C`, so any
    /// per-voxel diffusivity works unchanged. Decay and sources act per unit of stored amount.
    /// Needs [`super::Scheme::Unsplit`]; [`super::Simulation::update_capacity`] changes it
    /// during a run. Combining it with a layered capacity is an error at set-up.
    pub fn capacity(mut self, c: impl Into<Coefficient>) -> Self {
        self.capacity = Some(c.into());
        self
    }

    /// Sets the first-order decay/uptake rate λ (1/s).
    pub fn decay(mut self, lambda: impl Into<Coefficient>) -> Self {
        self.decay = lambda.into();
        self
    }

    /// Sets the zero-order source S (concentration/s).
    pub fn source(mut self, s: impl Into<Coefficient>) -> Self {
        self.source = s.into();
        self
    }

    /// Sets the initial field.
    pub fn initial(mut self, c0: impl Into<Coefficient>) -> Self {
        self.initial = c0.into();
        self
    }
}

/// Pointwise (voxel-local) nonlinear reactions, integrated by the engine's stiff pointwise
/// integrator (SDIRK2 with Newton). Linear decay and sources of each [`Species`] are added by the
/// engine; `rates` holds only the extra terms.
pub trait Reactions: Send + Sync {
    /// Writes dc/dt from reactions at voxel `voxel` with local concentrations `c`
    /// (one per species, in the problem's species order) into `dcdt`.
    fn rates(&self, voxel: usize, c: &[f64], dcdt: &mut [f64]);

    /// Writes the Jacobian ∂(dc/dt)/∂c, row-major `n × n`, into `jac`. The default uses
    /// forward finite differences; override it for speed or robustness.
    fn jacobian(&self, voxel: usize, c: &[f64], jac: &mut [f64]) {
        let n = c.len();
        let mut f0 = vec![0.0; n];
        let mut f1 = vec![0.0; n];
        let mut cp = c.to_vec();
        self.rates(voxel, c, &mut f0);
        for j in 0..n {
            let eps = 1e-7 * c[j].abs().max(1e-7);
            cp[j] = c[j] + eps;
            self.rates(voxel, &cp, &mut f1);
            cp[j] = c[j];
            for i in 0..n {
                jac[i * n + j] = (f1[i] - f0[i]) / eps;
            }
        }
    }
}

/// A validated transport problem: geometry, species and boundaries. Build it with
/// [`Problem::builder`].
#[derive(Clone)]
pub struct Problem {
    pub(crate) geometry: Geometry,
    pub(crate) mesh: Mesh,
    pub(crate) species: Vec<Species>,
    pub(crate) boundaries: Vec<[Boundary; 6]>,
    pub(crate) reactions: Option<Arc<dyn Reactions>>,
}

impl fmt::Debug for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Problem")
            .field("shape", &self.mesh.n)
            .field(
                "species",
                &self.species.iter().map(|s| &s.name).collect::<Vec<_>>(),
            )
            .field("boundaries", &self.boundaries)
            .field("reactions", &self.reactions.is_some())
            .finish()
    }
}

impl Problem {
    /// Starts a problem on `geometry`.
    pub fn builder(geometry: impl Into<Geometry>) -> ProblemBuilder {
        ProblemBuilder {
            geometry: geometry.into(),
            species: Vec::new(),
            rules: Vec::new(),
            reactions: None,
        }
    }

    /// The geometry.
    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    /// The species, in index order.
    pub fn species(&self) -> &[Species] {
        &self.species
    }

    /// Boundary of species `s` on `face`.
    pub fn boundary(&self, s: usize, face: Face) -> Boundary {
        self.boundaries[s][face.index()]
    }

    /// Index of the species called `name`.
    pub fn species_index(&self, name: &str) -> Option<usize> {
        self.species.iter().position(|s| s.name == name)
    }
}

/// Builder for [`Problem`]. Every (species, face) pair must get a boundary — there is no silent
/// default — except the axis and the y faces of an axisymmetric grid, which are set for you.
pub struct ProblemBuilder {
    geometry: Geometry,
    species: Vec<Species>,
    rules: Vec<(Option<String>, Face, Boundary)>,
    reactions: Option<Arc<dyn Reactions>>,
}

impl ProblemBuilder {
    /// Adds a species.
    pub fn species(mut self, s: Species) -> Self {
        self.species.push(s);
        self
    }

    /// Sets the boundary of species `name` on `face` (overrides [`Self::boundary_all`]).
    pub fn boundary(mut self, name: &str, face: Face, b: Boundary) -> Self {
        self.rules.push((Some(name.to_string()), face, b));
        self
    }

    /// Sets the boundary of every species on `face`.
    pub fn boundary_all(mut self, face: Face, b: Boundary) -> Self {
        self.rules.push((None, face, b));
        self
    }

    /// Sets the boundary of every species on every face (then override single faces).
    pub fn boundary_everywhere(mut self, b: Boundary) -> Self {
        for f in Face::ALL {
            self.rules.push((None, f, b));
        }
        self
    }

    /// Adds nonlinear pointwise reactions.
    pub fn reactions(mut self, r: impl Reactions + 'static) -> Self {
        self.reactions = Some(Arc::new(r));
        self
    }

    /// Validates everything and builds the problem.
    pub fn build(self) -> Result<Problem, TransportError> {
        let mesh = self.geometry.mesh();
        let n = mesh.len();
        if self.species.is_empty() {
            return Err(TransportError::NoSpecies);
        }
        for (a, s) in self.species.iter().enumerate() {
            if self.species[..a].iter().any(|o| o.name == s.name) {
                return Err(TransportError::DuplicateSpecies(s.name.clone()));
            }
            s.diffusivity
                .validate(&format!("species '{}' diffusivity (m²/s)", s.name), n, true)?;
            s.decay
                .validate(&format!("species '{}' decay rate (1/s)", s.name), n, true)?;
            s.source
                .validate(&format!("species '{}' source (conc/s)", s.name), n, false)?;
            s.initial.validate(
                &format!("species '{}' initial concentration", s.name),
                n,
                false,
            )?;
            if let Some(cap) = &s.capacity {
                validate_voxel_capacity(&s.name, cap, n)?;
                if s.capacity_z.is_some() {
                    return Err(TransportError::Unsupported(format!(
                        "species '{}' has both a layered capacity and a per-voxel capacity; give \
                         one of them",
                        s.name
                    )));
                }
            }
            if let Some(cap) = &s.capacity_z {
                validate_capacity(&s.name, cap, mesh.n[2])?;
                if matches!(s.diffusivity, Coefficient::PerVoxel(_)) {
                    return Err(TransportError::Unsupported(format!(
                        "species '{}': a layered capacity needs a uniform diffusivity (per-voxel \
                         diffusivities with capacities are not implemented); fold the capacity \
                         into the model's variables or use one diffusivity",
                        s.name
                    )));
                }
            }
        }
        let mut slots: Vec<[Option<Boundary>; 6]> = vec![[None; 6]; self.species.len()];
        // Rules for all species first, then per-species rules override.
        for pass in 0..2 {
            for (name, face, b) in &self.rules {
                match (pass, name) {
                    (0, None) => {
                        for sl in slots.iter_mut() {
                            sl[face.index()] = Some(*b);
                        }
                    }
                    (1, Some(name)) => {
                        let s = self
                            .species
                            .iter()
                            .position(|s| &s.name == name)
                            .ok_or_else(|| TransportError::UnknownSpecies(name.clone()))?;
                        slots[s][face.index()] = Some(*b);
                    }
                    _ => {}
                }
            }
        }
        let mut boundaries = Vec::with_capacity(slots.len());
        for (s, sl) in slots.iter_mut().enumerate() {
            let name = &self.species[s].name;
            if mesh.axisymmetric {
                for f in [Face::XMin, Face::YMin, Face::YMax] {
                    match sl[f.index()] {
                        None | Some(Boundary::ZeroFlux) => sl[f.index()] = Some(Boundary::ZeroFlux),
                        Some(b) => {
                            return Err(TransportError::Unsupported(format!(
                                "species '{name}': face {f} of an axisymmetric grid is the axis or \
                                 the azimuthal direction and is always zero flux, got {b:?}"
                            )));
                        }
                    }
                }
            }
            let mut out = [Boundary::ZeroFlux; 6];
            for f in Face::ALL {
                let b = sl[f.index()].ok_or_else(|| TransportError::UndefinedBoundary {
                    species: name.clone(),
                    face: f,
                })?;
                b.validate(name, f)?;
                out[f.index()] = b;
            }
            check_periodic(name, &out, &mesh)?;
            if self.species[s].capacity_z.is_some() {
                for f in [Face::XMin, Face::XMax, Face::YMin, Face::YMax] {
                    let b = out[f.index()];
                    if !matches!(b, Boundary::ZeroFlux | Boundary::Periodic) {
                        return Err(TransportError::Unsupported(format!(
                            "species '{name}' has a layered capacity: its lateral face {f} must \
                             be zero flux or periodic (got {b:?}); boundary conditions of any \
                             kind are supported on the top and bottom faces"
                        )));
                    }
                }
            }
            boundaries.push(out);
        }
        Ok(Problem {
            geometry: self.geometry,
            mesh,
            species: self.species,
            boundaries,
            reactions: self.reactions,
        })
    }
}

/// Checks a layered capacity: one finite, positive value per z level.
pub(crate) fn validate_capacity(name: &str, cap: &[f64], nz: usize) -> Result<(), TransportError> {
    let field = format!("species '{name}' layered capacity");
    if cap.len() != nz {
        return Err(TransportError::WrongLength {
            field,
            got: cap.len(),
            expected: nz,
        });
    }
    if let Some((k, x)) = cap
        .iter()
        .enumerate()
        .find(|(_, x)| !(x.is_finite() && **x > 0.0))
    {
        return Err(TransportError::InvalidValue {
            field: format!("{field} at z level {k}"),
            value: *x,
            allowed: "finite and > 0",
        });
    }
    Ok(())
}

/// Checks a per-voxel capacity: finite and > 0 everywhere, one value per voxel if per voxel.
pub(crate) fn validate_voxel_capacity(
    name: &str,
    cap: &Coefficient,
    n: usize,
) -> Result<(), TransportError> {
    let field = format!("species '{name}' capacity");
    let bad = |x: f64| !(x.is_finite() && x > 0.0);
    match cap {
        Coefficient::Uniform(x) if bad(*x) => Err(TransportError::InvalidValue {
            field,
            value: *x,
            allowed: "finite and > 0",
        }),
        Coefficient::Uniform(_) => Ok(()),
        Coefficient::PerVoxel(xs) => {
            if xs.len() != n {
                return Err(TransportError::WrongLength {
                    field,
                    got: xs.len(),
                    expected: n,
                });
            }
            match xs.iter().enumerate().find(|(_, x)| bad(**x)) {
                Some((v, x)) => Err(TransportError::InvalidValue {
                    field: format!("{field} at voxel {v}"),
                    value: *x,
                    allowed: "finite and > 0",
                }),
                None => Ok(()),
            }
        }
    }
}

pub(crate) fn check_periodic(
    name: &str,
    b: &[Boundary; 6],
    mesh: &Mesh,
) -> Result<(), TransportError> {
    for axis in 0..3 {
        let lo = b[2 * axis] == Boundary::Periodic;
        let hi = b[2 * axis + 1] == Boundary::Periodic;
        if lo != hi {
            return Err(TransportError::UnpairedPeriodic {
                species: name.to_string(),
                face: Face::ALL[2 * axis],
            });
        }
        if lo && mesh.axisymmetric && axis != 2 {
            return Err(TransportError::Unsupported(format!(
                "species '{name}': periodic boundaries on the r axis of an axisymmetric grid"
            )));
        }
        if lo && mesh.n[axis] < 3 {
            return Err(TransportError::Unsupported(format!(
                "species '{name}': periodic axis {axis} needs at least 3 cells, has {}",
                mesh.n[axis]
            )));
        }
    }
    Ok(())
}
