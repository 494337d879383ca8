//! Dosing: what is put on the skin, when, and when it is wiped off.
//!
//! A schedule is a list of applications. Each one starts at a time after needling (≥ 0: products
//! go on the open channels; pre-needling application is not modelled), is either an *infinite*
//! dose (a reservoir whose concentration does not change) or a *finite* dose (an amount of
//! product per area, whose active depletes as it enters the skin), may be wiped off at a later
//! time, and may be occluded while on the skin. Several applications may follow each other;
//! while two overlap their drug adds up in one donor film.
//!
//! The donor drives the skin through the concentration of its aqueous phase: the active's
//! concentration in the vehicle, capped at its aqueous solubility (a saturated vehicle keeps
//! undissolved drug in reserve). The vehicle/water partition coefficient is taken as 1 and the
//! vehicle density as 1000 kg/m³ (assumptions, `docs/MODEL.md (Delivery)`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::DeliveryError;
use super::closure::Occlusion;

/// Vehicle density, kg/m³ (assumed 1 g/cm³).
pub const VEHICLE_DENSITY_KG_M3: f64 = 1000.0;

/// The amount applied.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Dose {
    /// Reservoir: constant vehicle concentration (kg/m³ of active).
    Infinite { concentration_kg_m3: f64 },
    /// A film of product: `product_kg_m2` of product per area, of which `mass_fraction` is the
    /// active.
    Finite {
        product_kg_m2: f64,
        mass_fraction: f64,
    },
}

impl Dose {
    /// Active per skin area, kg/m² (infinite for a reservoir).
    pub fn active_kg_m2(&self) -> f64 {
        match *self {
            Dose::Infinite { .. } => f64::INFINITY,
            Dose::Finite {
                product_kg_m2,
                mass_fraction,
            } => product_kg_m2 * mass_fraction,
        }
    }

    /// Film thickness of a finite dose, m.
    pub fn film_m(&self) -> f64 {
        match *self {
            Dose::Infinite { .. } => f64::INFINITY,
            Dose::Finite { product_kg_m2, .. } => product_kg_m2 / VEHICLE_DENSITY_KG_M3,
        }
    }
}

/// One application.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Application {
    /// Time after the end of needling, s.
    pub t_apply_s: f64,
    pub dose: Dose,
    /// Wipe-off time after needling, s (None: stays on).
    pub wipe_s: Option<f64>,
    /// Occlusion while the product is on the skin.
    pub occlusion: Occlusion,
}

/// A validated dosing schedule, sorted by application time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Schedule {
    pub applications: Vec<Application>,
}

/// Largest finite dose accepted, kg/m² of product (1000 mg/cm², a 1 cm thick layer).
pub const MAX_PRODUCT_KG_M2: f64 = 10.0;

impl Schedule {
    /// Checks the applications; problems are returned as `(index, field, value, message)`.
    pub fn new(mut applications: Vec<Application>) -> Result<Schedule, DeliveryError> {
        let mut problems = Vec::new();
        if applications.is_empty() {
            problems.push("the schedule has no application".to_string());
        }
        for (i, a) in applications.iter().enumerate() {
            if !(a.t_apply_s.is_finite()) || a.t_apply_s < 0.0 {
                problems.push(format!(
                    "application {i}: applied at {} s, before needling ended; products are applied at t ≥ 0 after needling",
                    a.t_apply_s
                ));
            }
            if let Some(w) = a.wipe_s
                && !(w.is_finite() && w > a.t_apply_s)
            {
                problems.push(format!(
                    "application {i}: wiped off at {w} s, not after it was applied ({} s)",
                    a.t_apply_s
                ));
            }
            match a.dose {
                Dose::Infinite {
                    concentration_kg_m3: c,
                } => {
                    if !(c.is_finite() && c > 0.0 && c <= 1000.0) {
                        problems.push(format!(
                            "application {i}: concentration {c} kg/m³ must be within 0-1000 (exclusive of 0)"
                        ));
                    }
                }
                Dose::Finite {
                    product_kg_m2,
                    mass_fraction,
                } => {
                    if !(product_kg_m2.is_finite()
                        && product_kg_m2 > 0.0
                        && product_kg_m2 <= MAX_PRODUCT_KG_M2)
                    {
                        problems.push(format!(
                            "application {i}: dose {product_kg_m2} kg/m² must be within 0-{MAX_PRODUCT_KG_M2} (0-1000 mg/cm²)"
                        ));
                    }
                    if !(mass_fraction.is_finite() && mass_fraction > 0.0 && mass_fraction <= 1.0) {
                        problems.push(format!(
                            "application {i}: active mass fraction {mass_fraction} must be within 0-1"
                        ));
                    }
                }
            }
        }
        if !problems.is_empty() {
            return Err(DeliveryError::Dosing(problems));
        }
        applications.sort_by(|a, b| a.t_apply_s.total_cmp(&b.t_apply_s));
        Ok(Schedule { applications })
    }

    /// Times at which the donor changes (applications and wipes), sorted, unique.
    pub fn events(&self) -> Vec<f64> {
        let mut t: Vec<f64> = self
            .applications
            .iter()
            .flat_map(|a| std::iter::once(a.t_apply_s).chain(a.wipe_s))
            .collect();
        t.sort_by(f64::total_cmp);
        t.dedup();
        t
    }

    /// Occlusion changes over time: each application's occlusion from its application to its
    /// wipe, the strongest one where they overlap, none otherwise.
    pub fn occlusion_changes(&self) -> Vec<(f64, Occlusion)> {
        let mut out = Vec::new();
        let mut events = self.events();
        events.insert(0, 0.0);
        events.dedup();
        for &t in &events {
            out.push((t, self.occlusion_at(t)));
        }
        out.dedup_by(|b, a| a.1 == b.1);
        out
    }

    /// True if some application is wiped off in `(t0, t]` (a wipe removes the whole film).
    pub fn wiped_between(&self, t0: f64, t: f64) -> bool {
        self.applications
            .iter()
            .filter_map(|a| a.wipe_s)
            .any(|w| w > t0 && w <= t)
    }

    /// The occlusion in force at time `t`.
    pub fn occlusion_at(&self, t: f64) -> Occlusion {
        let rank = |o: Occlusion| match o {
            Occlusion::None => 0,
            Occlusion::Serum => 1,
            Occlusion::Patch => 2,
        };
        self.applications
            .iter()
            .filter(|a| a.t_apply_s <= t && !self.wiped_between(a.t_apply_s, t))
            .map(|a| a.occlusion)
            .max_by_key(|o| rank(*o))
            .unwrap_or(Occlusion::None)
    }
}

/// The donor film on the skin during a run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Donor {
    /// Active in the film per skin area, kg/m² (finite part).
    pub active_kg_m2: f64,
    /// Film thickness, m.
    pub film_m: f64,
    /// Reservoir concentration, kg/m³, when an infinite dose is on.
    pub reservoir_kg_m3: Option<f64>,
    /// Total active ever applied (finite part), kg/m².
    pub applied_kg_m2: f64,
    /// Total active wiped off, kg/m².
    pub wiped_kg_m2: f64,
}

impl Donor {
    /// Applies or wipes according to the events at time `t` of `schedule`.
    pub fn update(&mut self, schedule: &Schedule, t: f64) {
        for a in &schedule.applications {
            if a.wipe_s == Some(t) {
                self.wiped_kg_m2 += self.active_kg_m2;
                *self = Donor {
                    applied_kg_m2: self.applied_kg_m2,
                    wiped_kg_m2: self.wiped_kg_m2,
                    ..Donor::default()
                };
            }
        }
        for a in &schedule.applications {
            if a.t_apply_s == t {
                match a.dose {
                    Dose::Infinite {
                        concentration_kg_m3,
                    } => self.reservoir_kg_m3 = Some(concentration_kg_m3),
                    Dose::Finite { .. } => {
                        self.active_kg_m2 += a.dose.active_kg_m2();
                        self.applied_kg_m2 += a.dose.active_kg_m2();
                        self.film_m += a.dose.film_m();
                    }
                }
            }
        }
    }

    /// True if anything is on the skin.
    pub fn present(&self) -> bool {
        self.reservoir_kg_m3.is_some() || self.film_m > 0.0
    }

    /// Concentration of the active in the donor's aqueous phase, kg/m³, capped at solubility.
    pub fn surface_concentration(&self, solubility_kg_m3: f64) -> f64 {
        let film = if self.film_m > 0.0 {
            self.active_kg_m2.max(0.0) / self.film_m
        } else {
            0.0
        };
        let c = self.reservoir_kg_m3.unwrap_or(0.0).max(film);
        c.min(solubility_kg_m3)
    }

    /// Mean donor concentration over the next `h` seconds, kg/m³, for a finite film taken up
    /// at `uptake_kg_m2_s` now (the previous step's rate): the uptake is taken as
    /// proportional to the donor concentration (the skin side stays far more dilute), so a
    /// saturated film loses active at a constant rate until it falls to solubility and then
    /// decays exponentially, `c(t) = c₀ e^(−λt)` with `λ = uptake / amount`. Holding this mean
    /// over a step, instead of the concentration at its start, makes the depletion second-order
    /// accurate in the step (the start value over-delivers by about half the fraction taken in
    /// per step). A reservoir, an empty film or no uptake: the current concentration.
    pub fn mean_surface_concentration(
        &self,
        solubility_kg_m3: f64,
        uptake_kg_m2_s: f64,
        h: f64,
    ) -> f64 {
        let c0 = self.surface_concentration(solubility_kg_m3);
        let m0 = self.active_kg_m2;
        if self.reservoir_kg_m3.is_some()
            || self.film_m <= 0.0
            || m0 <= 0.0
            || !(uptake_kg_m2_s > 0.0 && h > 0.0 && c0 > 0.0)
        {
            return c0;
        }
        // Saturated phase: constant uptake until the film is down to solubility.
        let m_sat = solubility_kg_m3 * self.film_m;
        let t1 = ((m0 - m_sat) / uptake_kg_m2_s).max(0.0);
        if t1 >= h {
            return c0;
        }
        // Then exponential decay from c₁ = min(c₀, S) with λ = uptake / amount at c₁.
        let (c1, m1) = if m0 > m_sat {
            (solubility_kg_m3, m_sat)
        } else {
            (c0, m0)
        };
        let lambda = uptake_kg_m2_s / m1;
        let tau = h - t1;
        let x = lambda * tau;
        // (1 − e^(−x)) / x, accurate for small x.
        let mean_factor = if x < 1e-8 {
            1.0 - 0.5 * x
        } else {
            -(-x).exp_m1() / x
        };
        (c0 * t1 + c1 * tau * mean_factor) / h
    }

    /// Removes `kg_m2` of active that entered the skin (finite part only).
    pub fn deplete(&mut self, kg_m2: f64) {
        if self.reservoir_kg_m3.is_none() && self.film_m > 0.0 {
            self.active_kg_m2 = (self.active_kg_m2 - kg_m2).max(0.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finite(t: f64, wipe: Option<f64>) -> Application {
        Application {
            t_apply_s: t,
            dose: Dose::Finite {
                product_kg_m2: 0.02,
                mass_fraction: 0.1,
            },
            wipe_s: wipe,
            occlusion: Occlusion::Serum,
        }
    }

    /// The step-mean donor concentration against a fine explicit integration of the film
    /// model it assumes (uptake ∝ concentration, capped at solubility), from a saturated and
    /// from a dilute film; a reservoir and a film without uptake keep their concentration.
    #[test]
    fn mean_surface_concentration_matches_the_integrated_film() {
        let film = Donor {
            active_kg_m2: 1e-3,
            applied_kg_m2: 1e-3,
            film_m: 20e-6,
            ..Donor::default()
        };
        // 1e-3 kg/m² in 20 µm: 50 kg/m³.
        for (sol, uptake, h) in [(1e3, 2e-6, 60.0), (30.0, 2e-6, 600.0), (30.0, 1e-7, 60.0)] {
            let c0 = film.surface_concentration(sol);
            let n = 200_000;
            let dt = h / n as f64;
            let (mut m, mut int) = (film.active_kg_m2, 0.0);
            for _ in 0..n {
                // Midpoint rule on dm/dt = −uptake · c(m) / c0.
                let c = |m: f64| (m / film.film_m).min(sol);
                let mid = m - 0.5 * dt * uptake * c(m) / c0;
                int += c(mid) * dt;
                m -= dt * uptake * c(mid) / c0;
            }
            let want = int / h;
            let got = film.mean_surface_concentration(sol, uptake, h);
            assert!(
                (got - want).abs() < 1e-6 * want,
                "S {sol}, uptake {uptake}, h {h}: {got} vs {want}"
            );
            assert!(got <= c0);
        }
        assert_eq!(film.mean_surface_concentration(1e3, 0.0, 60.0), 50.0);
        assert_eq!(film.mean_surface_concentration(1e3, -1e-6, 60.0), 50.0);
        let res = Donor {
            reservoir_kg_m3: Some(40.0),
            ..Donor::default()
        };
        assert_eq!(res.mean_surface_concentration(1e3, 1e-5, 600.0), 40.0);
    }

    #[test]
    fn rejects_application_before_needling_and_absurd_doses() {
        assert!(Schedule::new(vec![finite(-60.0, None)]).is_err());
        assert!(Schedule::new(vec![finite(0.0, Some(0.0))]).is_err());
        let mut a = finite(0.0, None);
        a.dose = Dose::Finite {
            product_kg_m2: -1.0,
            mass_fraction: 0.1,
        };
        let e = Schedule::new(vec![a]).expect_err("negative dose");
        assert!(e.to_string().contains("dose -1"), "{e}");
        a.dose = Dose::Finite {
            product_kg_m2: 50.0,
            mass_fraction: 0.1,
        };
        assert!(Schedule::new(vec![a]).is_err());
        assert!(Schedule::new(vec![]).is_err());
    }

    #[test]
    fn donor_applies_depletes_caps_at_solubility_and_wipes() {
        let s = Schedule::new(vec![finite(0.0, Some(3600.0)), finite(1800.0, None)]).expect("ok");
        let mut d = Donor::default();
        d.update(&s, 0.0);
        // 0.02 kg/m² of product, 10 % active, film 20 µm -> 100 kg/m³.
        assert!((d.surface_concentration(1e3) - 100.0).abs() < 1e-9);
        assert_eq!(d.surface_concentration(5.0), 5.0);
        d.deplete(0.001);
        assert!((d.active_kg_m2 - 0.001).abs() < 1e-12);
        d.update(&s, 1800.0);
        assert!((d.applied_kg_m2 - 0.004).abs() < 1e-12);
        d.update(&s, 3600.0);
        assert!(!d.present());
        assert!((d.wiped_kg_m2 - 0.003).abs() < 1e-12);
        assert_eq!(s.occlusion_at(100.0), Occlusion::Serum);
        assert_eq!(s.occlusion_at(4000.0), Occlusion::None);
    }
}
