//! A well-mixed compartment on the low z face (a film of product on the skin), coupled
//! implicitly to the unsplit steps.
//!
//! The face is a Dirichlet boundary whose concentration `c` is the compartment's own, and the
//! compartment loses what flows in through the face: `dA/dt = −F`, `F = Σ gᵥ (c − uᵥ)` over the
//! face's cells (`gᵥ` their boundary conductances), `c = min(A/V, S)`. Held fixed over a step
//! (explicitly), a compartment that empties within a few steps over- or under-delivers unless
//! every step takes in only a small part of it; solved with the step, it needs no such limit.
//!
//! Because the face's concentration enters each implicit stage linearly, the stage's solution is
//! `u = u_g + (c − c_g) w`: `u_g` solved with a guessed concentration `c_g`, and `w` the stage's
//! response to a unit concentration, `M w = κh g` (the same matrix and right-hand side for both
//! TR-BDF2 stages, so one extra solve per step, none when the step, the operator and the decay
//! are those of the last step). The compartment's balance over the stage, discretised by the
//! same rule as the field (`A¹ = P − κh F(c¹, u¹)`, `P` from the earlier stages), is then one
//! scalar equation for `c¹`, piecewise linear (saturated or not), solved exactly by
//! [`stage_balance`]. Field and compartment together conserve mass to the solver's round-off.

use super::TransportError;

/// A well-mixed compartment coupled to the low z face of one species
/// ([`Simulation::set_compartment`](super::Simulation::set_compartment)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Compartment {
    /// Volume, in the mesh's volume measure (m³; for an axisymmetric mesh the measure its
    /// cells' volumes use).
    pub volume: f64,
    /// Amount held, dissolved or not (concentration × volume).
    pub amount: f64,
    /// Highest dissolved concentration (a solubility; `f64::INFINITY` for none): above it the
    /// face stays at this concentration while the excess dissolves.
    pub saturation: f64,
}

impl Compartment {
    /// Concentration at the face: `min(A/V, S)`, never negative.
    pub fn concentration(&self) -> f64 {
        (self.amount.max(0.0) / self.volume).min(self.saturation)
    }

    pub(crate) fn validate(&self, species: &str) -> Result<(), TransportError> {
        let field = |w: &str| format!("species '{species}' compartment {w}");
        if !(self.volume.is_finite() && self.volume > 0.0) {
            return Err(TransportError::InvalidValue {
                field: field("volume"),
                value: self.volume,
                allowed: "finite and > 0",
            });
        }
        if !(self.amount.is_finite() && self.amount >= 0.0) {
            return Err(TransportError::InvalidValue {
                field: field("amount"),
                value: self.amount,
                allowed: "finite and >= 0",
            });
        }
        if self.saturation.is_nan() || self.saturation <= 0.0 {
            return Err(TransportError::InvalidValue {
                field: field("saturation"),
                value: self.saturation,
                allowed: "> 0 (infinity for none)",
            });
        }
        Ok(())
    }
}

/// The face concentrations of the last step's compartment: at its start, at the inner stage
/// (TR-BDF2; the end for backward Euler) and at its end. With the step's quadrature
/// ([`StepQuadrature`](super::StepQuadrature)) they give the amount that crossed the face.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompartmentStep {
    pub start: f64,
    pub stage: f64,
    pub end: f64,
}

/// One stage's balance `A = P − q (c α − β)` with `c = min(A/V, S)` and `c ≥ 0`, for the
/// stage's face concentration `c` and amount `A`: `α = Σ g − Σ g w > 0` is how the face's
/// inflow grows with `c` once the field responds, `β` the inflow's part that does not depend on
/// `c` (`Σ g u_g − c_g Σ g w`), `q` the stage's weight (κh). Returns `(c, A)`.
pub(crate) fn stage_balance(p: f64, q: f64, alpha: f64, beta: f64, v: f64, s: f64) -> (f64, f64) {
    // Dissolved: c V = P + qβ − qα c.
    let c = (p + q * beta) / (v + q * alpha);
    if c > s {
        // Saturated: the face stays at S and the excess stays undissolved (A ≥ S V follows
        // from c > S since the balance is monotone in c).
        (s, p + q * beta - q * alpha * s)
    } else if c < 0.0 {
        // An empty compartment (a stage rule overshooting zero): the face at 0, the field
        // giving back what it will.
        (0.0, (p + q * beta).max(0.0))
    } else {
        (c, c * v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_balance_solves_both_branches() {
        // Dissolved: residual of A = P − q(cα − β) with A = cV.
        let (p, q, a, b, v) = (3.0, 0.5, 2.0, 0.4, 1.5);
        let (c, am) = stage_balance(p, q, a, b, v, f64::INFINITY);
        assert!((am - (p - q * (c * a - b))).abs() < 1e-12);
        assert!((am - c * v).abs() < 1e-12);
        // Saturated: the face at S, the amount above S V.
        let (c, am) = stage_balance(p, q, a, b, v, 0.5);
        assert_eq!(c, 0.5);
        assert!((am - (p - q * (c * a - b))).abs() < 1e-12);
        assert!(am > 0.5 * v);
        // Overshoot below zero: face at 0.
        let (c, am) = stage_balance(-1.0, q, a, b, v, f64::INFINITY);
        assert_eq!(c, 0.0);
        assert_eq!(am, 0.0);
    }

    #[test]
    fn invalid_compartments_are_named() {
        let c = Compartment {
            volume: 0.0,
            amount: 1.0,
            saturation: f64::INFINITY,
        };
        let e = c.validate("x").unwrap_err().to_string();
        assert!(e.contains("compartment volume"), "{e}");
        let c = Compartment {
            volume: 1.0,
            amount: -1.0,
            saturation: 1.0,
        };
        assert!(c.validate("x").is_err());
        let c = Compartment {
            volume: 1.0,
            amount: 1.0,
            saturation: f64::NAN,
        };
        assert!(c.validate("x").is_err());
    }
}
