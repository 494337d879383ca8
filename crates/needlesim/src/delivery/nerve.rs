//! Nerve block: when a local anaesthetic that reaches the nerve endings blocks them (issue 18
//! point 6).
//!
//! The delivery model gives the anaesthetic's level in the nerve-bearing layers (viable
//! epidermis + papillary dermis: the free nerve endings and the superficial nerve plexus;
//! `model::Sample::nerve_kg_m3`, reached over 90 % of the area). Two steps turn it into an
//! onset:
//!
//! * **Block kinetics.** The level at the blocking site (inside the axons, at their sodium
//!   channels) follows the tissue level with first-order kinetics,
//!   `dC_e/dt = k (C(t) − C_e)`, `k = ln 2 / t½` (an effect compartment;
//!   `physchem.nerve_block_t_half_s`, assumed 1 min, bracketed in `params::physchem`).
//! * **Blocking concentration.** The area counts as numb once `C_e` reaches the compound's
//!   conduction-block EC50 of small sensory axons (lidocaine: 228 µM = 53 µg/mL, rat dorsal
//!   root C fibres in vitro; `data/compounds.toml`, `nerve_block_ec50_um`). A literature value,
//!   not calibrated: what the numbing runs calibrate instead is the vehicle's effect on the
//!   intact stratum corneum ([`calibrate_kp_factor`]).
//!
//! `C(t)` is known at output times; between them it is taken linear, and `C_e` is integrated
//! exactly over each piece.

/// A nerve block criterion.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NerveBlock {
    /// Blocking concentration (EC50 of conduction block), kg/m³.
    pub ec50_kg_m3: f64,
    /// Half-time of the block's development, s (0: the block follows the tissue level at once).
    pub t_half_s: f64,
}

impl NerveBlock {
    fn k(&self) -> f64 {
        if self.t_half_s > 0.0 {
            std::f64::consts::LN_2 / self.t_half_s
        } else {
            f64::INFINITY
        }
    }

    /// The level at the blocking site at the times of `curve` (`(t s, tissue level kg/m³)`),
    /// starting from 0 at the first time.
    pub fn effect_site(&self, curve: &[(f64, f64)]) -> Vec<(f64, f64)> {
        let k = self.k();
        let mut out = Vec::with_capacity(curve.len());
        let mut ce = 0.0;
        for (i, &(t, c)) in curve.iter().enumerate() {
            if i > 0 {
                let (t0, c0) = curve[i - 1];
                ce = step(ce, c0, c, t - t0, k, t - t0);
            } else if !k.is_finite() {
                ce = c;
            }
            out.push((t, ce));
        }
        out
    }

    /// First time (s) the level at the blocking site reaches the EC50; None if never within
    /// the curve.
    pub fn onset(&self, curve: &[(f64, f64)]) -> Option<f64> {
        let k = self.k();
        let th = self.ec50_kg_m3;
        let first = curve.first()?;
        let mut ce = if k.is_finite() { 0.0 } else { first.1 };
        if ce >= th {
            return Some(first.0);
        }
        for w in curve.windows(2) {
            let ((t0, c0), (t1, c1)) = (w[0], w[1]);
            let h = t1 - t0;
            let end = step(ce, c0, c1, h, k, h);
            if h > 0.0 && end >= th {
                // The first crossing inside the piece: sub-sample, then bisect the bracket.
                const SUB: usize = 32;
                let mut lo = 0.0;
                for j in 1..=SUB {
                    let tau = h * j as f64 / SUB as f64;
                    if step(ce, c0, c1, h, k, tau) >= th {
                        let mut hi = tau;
                        for _ in 0..50 {
                            let mid = 0.5 * (lo + hi);
                            if step(ce, c0, c1, h, k, mid) >= th {
                                hi = mid;
                            } else {
                                lo = mid;
                            }
                        }
                        return Some(t0 + hi);
                    }
                    lo = tau;
                }
                return Some(t1);
            }
            ce = end;
        }
        None
    }
}

/// `C_e` at `tau` into a piece of length `h` over which the tissue level goes linearly from
/// `c0` to `c1`, starting from `ce0`: `C_e = C(τ) − s/k + (C_e0 − c0 + s/k) e^(−kτ)`.
fn step(ce0: f64, c0: f64, c1: f64, h: f64, k: f64, tau: f64) -> f64 {
    let s = if h > 0.0 { (c1 - c0) / h } else { 0.0 };
    let c = c0 + s * tau;
    if !k.is_finite() {
        return c;
    }
    c - s / k + (ce0 - c0 + s / k) * (-k * tau).exp()
}

/// Relative width of the bracket at which [`calibrate_kp_factor`] stops.
pub const RELATIVE_TOLERANCE: f64 = 1e-4;

/// Bounds of the vehicle's kp factor searched by [`calibrate_kp_factor`].
pub const KP_FACTOR_RANGE: (f64, f64) = (1e-3, 1e4);

/// The factor on the intact stratum corneum's permeability at which a numbing onset on intact
/// skin equals `target_s`: `onset(f)` gives the onset (s, None if not reached by `target_s`)
/// with the permeability times `f`; it shortens as `f` grows. Bisection in log f within
/// [`KP_FACTOR_RANGE`]; None when even the upper bound does not numb by `target_s` or the
/// lower bound numbs before it.
pub fn calibrate_kp_factor<E>(
    target_s: f64,
    mut onset: impl FnMut(f64) -> Result<Option<f64>, E>,
) -> Result<Option<f64>, E> {
    let reached = |t: Option<f64>| t.is_some_and(|t| t <= target_s);
    let (mut lo, mut hi) = (KP_FACTOR_RANGE.0.ln(), KP_FACTOR_RANGE.1.ln());
    if !reached(onset(hi.exp())?) || reached(onset(lo.exp())?) {
        return Ok(None);
    }
    // Halvings until the bracket is 1e-4 wide in relative terms (18 of them over ln(1e7) ≈ 16):
    // the onset the factor gives then moves by about 0.01 %, far below the sampling of the
    // curves it is read from (`numerics.numbing_dt_out_s`). Each halving is a whole column
    // run, so a finer bracket would cost plan time without changing the onset.
    while hi - lo > (1.0 + RELATIVE_TOLERANCE).ln() {
        let mid = 0.5 * (lo + hi);
        if reached(onset(mid.exp())?) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(Some(hi.exp()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_to_a_constant_level_blocks_at_the_analytic_time() {
        // C = c from t = 0 on: C_e = c (1 − e^(−kt)), so C_e = EC50 at t = −ln(1 − EC50/c)/k.
        let nb = NerveBlock {
            ec50_kg_m3: 0.05,
            t_half_s: 60.0,
        };
        let c = 0.2;
        let curve: Vec<(f64, f64)> = (0..=40).map(|i| (i as f64 * 30.0, c)).collect();
        let want = -(1.0 - 0.05 / c).ln() * 60.0 / std::f64::consts::LN_2;
        let got = nb.onset(&curve).expect("reached");
        assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        // Same on a coarse curve (the pieces are integrated exactly).
        let coarse = [(0.0, c), (600.0, c)];
        assert!((nb.onset(&coarse).expect("reached") - want).abs() < 1e-6);
        // The effect site approaches the level; a level below the EC50 never blocks.
        let es = nb.effect_site(&curve);
        assert!((es.last().unwrap().1 - c).abs() < 1e-5);
        let low: Vec<(f64, f64)> = curve.iter().map(|&(t, _)| (t, 0.049)).collect();
        assert_eq!(nb.onset(&low), None);
    }

    #[test]
    fn a_ramp_lags_by_one_time_constant() {
        // C = a t: C_e = a (t − (1 − e^(−kt))/k) → a (t − 1/k) late; the onset of a slow ramp is
        // the tissue level's crossing plus about 1/k.
        let nb = NerveBlock {
            ec50_kg_m3: 1.0,
            t_half_s: 30.0,
        };
        let a = 1.0 / 3600.0;
        let curve: Vec<(f64, f64)> = (0..=100)
            .map(|i| (i as f64 * 60.0, a * i as f64 * 60.0))
            .collect();
        let k = std::f64::consts::LN_2 / 30.0;
        let got = nb.onset(&curve).expect("reached");
        let f = |t: f64| a * (t - (1.0 - (-k * t).exp()) / k) - 1.0;
        assert!(f(got).abs() < 1e-9, "{got}: {}", f(got));
        assert!((got - (3600.0 + 1.0 / k)).abs() < 1.0, "{got}");
        // Without kinetics: the tissue crossing itself.
        let instant = NerveBlock {
            t_half_s: 0.0,
            ..nb
        };
        assert!((instant.onset(&curve).expect("reached") - 3600.0).abs() < 1e-6);
    }

    #[test]
    fn the_kp_factor_is_found_by_bisection() {
        // A model whose onset is 600 s / f: the factor for 300 s is 2.
        let f = calibrate_kp_factor::<()>(300.0, |f| {
            let t = 600.0 / f;
            Ok((t <= 300.0).then_some(t))
        })
        .unwrap()
        .expect("bracketed");
        assert!((f / 2.0 - 1.0).abs() <= RELATIVE_TOLERANCE, "{f}");
        // Not reachable within the range.
        let none = calibrate_kp_factor::<()>(1e-9, |f| {
            let t = 600.0 / f;
            Ok((t <= 1e-9).then_some(t))
        })
        .unwrap();
        assert_eq!(none, None);
    }
}
