//! What drives the follicles: the wound signal around them (point 2, from the healing model's
//! cytokine) and minoxidil at the follicle (point 4, through intact skin, the follicular route
//! and the channels, with the one closure law).

use serde::Serialize;

use super::HairError;
use super::scalp::Scalp;
use crate::delivery::compounds::{Compound, Product};
use crate::delivery::physchem::{self, PermeabilityModel};
use crate::healing::HealingParams;
use crate::healing::lumped::{self, Accuracy, InjuryInput, LumpedModel, SessionInput};
use crate::healing::model::S;
use crate::params::closure::{Closure, Occlusion};
use crate::params::{ClosureParams, HairParams, PhysChemParams};
use crate::skin::{LayerKind, Site, SkinColumn};
use crate::units::{CM, DAY, HOUR, UM};

/// Time step of the driver grids and of the cycling model, s.
pub const DT_S: f64 = 0.25 * DAY;
/// Length of one session's wound-signal kernel, s.
const KERNEL_S: f64 = 60.0 * DAY;

/// One session's wound signal at the bulge on the [`DT_S`] grid: the healing model's
/// cytokine (IL-1/TNF-like) in the block that holds the bulge, as its Hill activation above
/// rest, attenuated with the distance from the channel tips to the bulge, then passed through
/// two first-order stages (Wnt/β-catenin activation) of time constant `wnt_delay_days`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SignalKernel {
    /// Cytokine activation (0-1 above rest) at the bulge, per step.
    pub cytokine: Vec<f64>,
    /// Wnt activation per step (dimensionless).
    pub wnt: Vec<f64>,
    /// Attenuation for the distance from the channel tips to the bulge (1 when reached).
    pub reach_factor: f64,
}

impl SignalKernel {
    /// Day of the Wnt peak after the session: the largest sample refined by the parabola
    /// through it and its two neighbours (so the day moves continuously with the delay, which
    /// a fit needs; the grid alone gives it in quarter days).
    pub fn wnt_peak_day(&self) -> f64 {
        let (i, _) = self
            .wnt
            .iter()
            .enumerate()
            .fold((0, f64::MIN), |a, (i, &v)| if v > a.1 { (i, v) } else { a });
        let mut x = i as f64;
        if i > 0 && i + 1 < self.wnt.len() {
            let (a, b, c) = (self.wnt[i - 1], self.wnt[i], self.wnt[i + 1]);
            let den = a - 2.0 * b + c;
            if den < 0.0 {
                x += (0.5 * (a - c) / den).clamp(-0.5, 0.5);
            }
        }
        x * DT_S / DAY
    }

    /// Day of the cytokine peak after the session.
    pub fn cytokine_peak_day(&self) -> f64 {
        let (i, _) = self
            .cytokine
            .iter()
            .enumerate()
            .fold((0, f64::MIN), |a, (i, &v)| if v > a.1 { (i, v) } else { a });
        i as f64 * DT_S / DAY
    }
}

/// Runs the lumped healing model for one session of `injury` on `column` and returns the
/// signal kernel at the bulge.
pub fn signal_kernel(
    scalp: &Scalp,
    column: &SkinColumn,
    injury: &InjuryInput,
    healing: &HealingParams,
    closure: &ClosureParams,
    p: &HairParams,
) -> Result<SignalKernel, HairError> {
    let n = (KERNEL_S / DT_S) as usize + 1;
    // The healing model's cytokine is fast (hours): sample it finely and average onto the grid.
    let sub = 8usize;
    let times: Vec<f64> = (0..n * sub).map(|i| i as f64 * DT_S / sub as f64).collect();
    let k_reseal = closure.reseal_rate_per_s(
        injury.mean_depth_m,
        scalp.person.age_years,
        scalp.person.phototype,
        Site::Scalp,
    );
    let model = LumpedModel::new(
        column,
        scalp.person.age_years,
        scalp.person.phototype,
        healing,
    )
    .with_reseal_rate(k_reseal);
    let sessions = [SessionInput {
        t_s: 1e-6,
        injury: *injury,
    }];
    let tr = lumped::simulate(
        &model,
        &sessions,
        KERNEL_S + DT_S,
        &times,
        Accuracy::planning(),
    )
    .map_err(|e| HairError::Model(format!("healing model (wound signal): {e}")))?;
    let bulge = scalp.depths.bulge_m;
    let block = match column.layer_at(bulge) {
        LayerKind::StratumCorneum | LayerKind::ViableEpidermis | LayerKind::PapillaryDermis => 0,
        _ => 1,
    };
    let k = healing.cytokine_half_effect;
    let hill = |x: f64| x.max(0.0) / (x.max(0.0) + k);
    let rest = hill(tr.values[block][0][S]);
    let lambda = p.signal_length_mm * 1e-3;
    let reach_factor = (-(bulge - injury.mean_depth_m).max(0.0) / lambda).exp();
    let mut cytokine = Vec::with_capacity(n);
    for i in 0..n {
        let mean: f64 = (0..sub)
            .map(|j| (hill(tr.values[block][i * sub + j][S]) - rest).max(0.0))
            .sum::<f64>()
            / sub as f64;
        cytokine.push(reach_factor * mean);
    }
    // Two first-order stages, integrated in sub-steps (exponential Euler).
    let tau = p.wnt_delay_days * DAY;
    let h = DT_S / sub as f64;
    let a = 1.0 - (-h / tau).exp();
    let (mut w1, mut w2) = (0.0f64, 0.0f64);
    let mut wnt = Vec::with_capacity(n);
    for &u in &cytokine {
        wnt.push(w2);
        for _ in 0..sub {
            w1 += (u - w1) * a;
            w2 += (w1 - w2) * a;
        }
    }
    // Normalise so that the kernel's integral over days equals the cytokine's (the stages
    // delay the signal, they do not add to it).
    let si: f64 = cytokine.iter().sum();
    let wi: f64 = wnt.iter().sum();
    if wi > 0.0 {
        for w in &mut wnt {
            *w *= si / wi;
        }
    }
    Ok(SignalKernel {
        cytokine,
        wnt,
        reach_factor,
    })
}

/// Compounds that are meant for the scalp (a product of another compound is refused).
pub const SCALP_COMPOUNDS: [&str; 1] = ["minoxidil"];

/// A scalp product and how it is used.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Topical {
    pub product: String,
    pub compound: String,
    /// Active mass fraction of the product, kg/kg.
    pub mass_fraction: f64,
    /// Product per application, kg/m².
    pub dose_kg_m2: f64,
    pub applications_per_day: u32,
    /// Hours after a needling session before the next application (the trials withheld it for
    /// a day; 0 applies it onto open channels).
    pub delay_after_needling_h: f64,
    /// log P and MW of the active (for the intact-skin permeability).
    pub log_p: f64,
    pub mw_g_mol: f64,
    /// Free diffusivity of the active in channel fluid, m²/s.
    pub free_diffusivity_m2_s: f64,
}

impl Topical {
    /// The product from the library; refused if its active is not meant for the scalp.
    pub fn new(
        product: &Product,
        compound: &Compound,
        applications_per_day: u32,
        delay_after_needling_h: f64,
        physchem: &PhysChemParams,
    ) -> Result<Topical, HairError> {
        if !SCALP_COMPOUNDS.contains(&compound.name.as_str()) {
            return Err(HairError::field(
                "hair.product",
                product.name.clone(),
                format!(
                    "a scalp product (active: {}); \"{}\" carries {}",
                    SCALP_COMPOUNDS.join(", "),
                    product.name,
                    compound.name
                ),
                "name a minoxidil product (e.g. minoxidil_5_solution), or leave the product out for needling alone",
            ));
        }
        if !(1..=4).contains(&applications_per_day) {
            return Err(HairError::field(
                "hair.applications_per_day",
                applications_per_day.to_string(),
                "1-4".into(),
                "minoxidil is applied once or twice a day",
            ));
        }
        if !(0.0..=168.0).contains(&delay_after_needling_h) {
            return Err(HairError::field(
                "hair.delay_after_needling_h",
                format!("{delay_after_needling_h}"),
                "0-168 h".into(),
                "hours between a needling session and the next application",
            ));
        }
        let (r, _) = physchem::stokes_radius(compound, physchem);
        Ok(Topical {
            product: product.name.clone(),
            compound: compound.name.clone(),
            mass_fraction: product.mass_fraction,
            dose_kg_m2: product.default_dose_kg_m2,
            applications_per_day,
            delay_after_needling_h,
            log_p: compound.log_p,
            mw_g_mol: compound.mw_g_mol,
            free_diffusivity_m2_s: physchem::stokes_einstein(r, physchem),
        })
    }

    /// Intact stratum-corneum permeability (Potts-Guy 1992), m/s.
    pub fn kp_m_s(&self) -> f64 {
        10f64.powf(PermeabilityModel::PottsGuy1992.log_kp_cm_h(self.log_p, self.mw_g_mol)) * CM
            / HOUR
    }
}

/// The routes' share of one application.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Absorbed {
    /// Fraction of the applied active absorbed.
    pub fraction: f64,
    /// Shares of the absorbed amount by route: intact, follicular, channels.
    pub routes: [f64; 3],
}

/// One application: the film (dose / 1000 kg/m³ thick) permeates for the effective contact
/// time through three parallel routes: intact stratum corneum (Potts-Guy), follicle openings
/// (`follicular_kp_factor` × kp over `follicles × π r²`) and open channels (free diffusion
/// through channel fluid down to the channel depth, over the open surface fraction left by the
/// closure law at the time of application).
pub fn application(
    top: &Topical,
    scalp: &Scalp,
    channel_open_fraction: f64,
    channel_depth_m: f64,
    physchem: &PhysChemParams,
    p: &HairParams,
) -> Absorbed {
    let h = top.dose_kg_m2 / 1000.0;
    let kp = top.kp_m_s();
    let r = p.orifice_radius_um * UM;
    let f_o = (scalp.follicles_m2 * std::f64::consts::PI * r * r).min(0.5);
    let k_intact = kp * (1.0 - f_o - channel_open_fraction).max(0.0);
    let k_fol = kp * p.follicular_kp_factor * f_o;
    let k_ch = if channel_open_fraction > 0.0 && channel_depth_m > 0.0 {
        top.free_diffusivity_m2_s * physchem.dermis_factor / channel_depth_m * channel_open_fraction
    } else {
        0.0
    };
    let k = k_intact + k_fol + k_ch;
    let t = p.mx_contact_h * HOUR;
    let fraction = 1.0 - (-k * t / h).exp();
    Absorbed {
        fraction,
        routes: if k > 0.0 {
            [k_intact / k, k_fol / k, k_ch / k]
        } else {
            [0.0; 3]
        },
    }
}

/// Relative minoxidil input at the follicles per [`DT_S`] step (1 = the mean daily amount
/// that twice-daily application of the same product delivers through intact scalp), and the
/// absorbed fraction of each application.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Exposure {
    pub input: Vec<f64>,
    /// Per application: (day, absorbed fraction, share through channels).
    pub applications: Vec<(f64, f64, f64)>,
}

/// Minoxidil input over `n` steps with needling sessions at `session_s` (channels `depth_m`
/// deep opening `open_surface` of the surface; none when empty).
#[allow(clippy::too_many_arguments)]
pub fn exposure(
    top: &Topical,
    scalp: &Scalp,
    n: usize,
    session_s: &[f64],
    depth_m: f64,
    open_surface: f64,
    closure: &ClosureParams,
    physchem: &PhysChemParams,
    p: &HairParams,
) -> Exposure {
    let reference = application(top, scalp, 0.0, 0.0, physchem, p).fraction * 2.0;
    let period = DAY / f64::from(top.applications_per_day);
    let end = n as f64 * DT_S;
    let law = Closure::new(
        closure,
        depth_m.max(1e-6),
        &scalp.person,
        Site::Scalp,
        &[(0.0, Occlusion::None)],
    );
    let delay = top.delay_after_needling_h * HOUR;
    let mut times: Vec<f64> = Vec::new();
    let mut t = 0.0;
    while t < end {
        times.push(t);
        t += period;
    }
    // Applications within the delay after a session move to its end.
    for &s in session_s {
        times.retain(|&a| !(a >= s && a < s + delay));
        if s + delay < end {
            times.push(s + delay);
        }
    }
    times.sort_by(f64::total_cmp);
    times.dedup_by(|a, b| (*a - *b).abs() < 60.0);
    let mut out = Exposure {
        input: vec![0.0; n],
        applications: Vec::new(),
    };
    for &a in &times {
        let since = session_s
            .iter()
            .filter(|&&s| s <= a)
            .map(|&s| a - s)
            .fold(f64::INFINITY, f64::min);
        let open = if since.is_finite() {
            open_surface * law.open_area(since)
        } else {
            0.0
        };
        let ab = application(top, scalp, open, depth_m, physchem, p);
        let i = ((a / DT_S) as usize).min(n - 1);
        // Spread over a day (the follicle sees a daily mean; DT_S steps per day).
        let per_day = (DAY / DT_S) as usize;
        for j in i..(i + per_day).min(n) {
            out.input[j] += ab.fraction / reference;
        }
        out.applications.push((a / DAY, ab.fraction, ab.routes[2]));
    }
    out
}
