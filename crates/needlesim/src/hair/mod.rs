//! Hair growth on the scalp (issue 20): follicles, their cycle, and what needling, platelet-rich
//! plasma and minoxidil do to them.
//!
//! ```text
//! skin::column(Scalp) + person + alopecia grade -> scalp::Scalp      (point 1: follicles)
//! session injury (injury::channels -> healing::lumped::InjuryInput)
//!   -> scalp::reach: structures reached, share of follicles hit     (point 2)
//!   -> drivers::signal_kernel: healing model's cytokine at the bulge -> Wnt activation
//! product -> drivers::exposure: intact + follicular + channel routes, closure law (point 4)
//! cycle: emerging/anagen/catagen/telogen/kenogen x terminal/vellus    (point 3)
//!   -> hairs/cm², terminal share, anagen share, mean shaft diameter over days
//! ```
//!
//! The model and its assumptions are in `docs/MODEL.md` ("Hair"); every constant is in the
//! registry's `hair` group (`crate::params::hair`). Only the scalp has terminal hair here: any
//! other site is refused with [`HairError::NoTerminalHair`].

pub mod drivers;
pub mod report;
pub mod scalp;

use serde::Serialize;

pub use drivers::{SignalKernel, Topical};
pub use scalp::{Alopecia, Reach, Scale, Scalp, Structure};

use crate::device::{Device, Shape, Technique, Zone};
use crate::healing::lumped::InjuryInput;
use crate::params::{HairParams, ModelParams};
use crate::skin::SkinColumn;
use crate::units::{CM, DAY, UM};
use drivers::DT_S;

/// Why the hair model cannot run.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum HairError {
    #[error("`{field}` = {value} is not allowed: {allowed}")]
    Field {
        field: String,
        value: String,
        allowed: String,
        hint: String,
    },
    #[error(
        "the {site} has no terminal hair in needlesim: there are no hair outputs there (only the scalp has them)"
    )]
    NoTerminalHair { site: String },
    #[error("{0}")]
    Model(String),
}

impl HairError {
    pub fn field(field: &str, value: String, allowed: String, hint: &str) -> HairError {
        HairError::Field {
            field: field.to_string(),
            value,
            allowed,
            hint: hint.to_string(),
        }
    }

    /// What to do about it.
    pub fn hint(&self) -> String {
        match self {
            HairError::Field { hint, .. } => hint.clone(),
            HairError::NoTerminalHair { .. } => {
                "ask for hair outputs on a zone with site = \"scalp\"".into()
            }
            HairError::Model(_) => "report this as a bug with the input file".into(),
        }
    }

    /// The input was wrong (exit status 2), not the model.
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, HairError::Model(_))
    }
}

/// Needling sessions on the scalp.
#[derive(Clone, Debug, PartialEq)]
pub struct Needling {
    /// Session days from the start.
    pub session_days: Vec<f64>,
    /// One session's injury (the same every session).
    pub injury: InjuryInput,
    /// Open channel radius, m.
    pub channel_radius_m: f64,
    /// Platelet-rich plasma injected or applied at each session.
    pub prp: bool,
}

/// What is done to the scalp.
#[derive(Clone, Debug, PartialEq)]
pub struct HairProtocol {
    pub needling: Option<Needling>,
    pub topical: Option<Topical>,
    /// Days simulated from the start.
    pub duration_days: f64,
}

/// One arm's result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HairRun {
    /// Output days (daily, from 0).
    pub days: Vec<f64>,
    /// Visible hairs (a shaft at the surface), per cm².
    pub hairs_per_cm2: Vec<f64>,
    /// Terminal share of the visible hairs.
    pub terminal_fraction: Vec<f64>,
    /// Anagen share of the visible hairs.
    pub anagen_fraction: Vec<f64>,
    /// Mean shaft diameter of the visible hairs, µm.
    pub mean_diameter_um: Vec<f64>,
    /// Wnt activation at the bulge (sum of the sessions' kernels).
    pub wnt: Vec<f64>,
    /// Minoxidil effect (0-1 of its largest).
    pub minoxidil_effect: Vec<f64>,
    /// What one session's channels reach (none without needling).
    pub reach: Option<Reach>,
    /// Absorbed fraction of each minoxidil application: (day, fraction, share through channels).
    pub applications: Vec<(f64, f64, f64)>,
    /// Day of the Wnt peak after one session.
    pub wnt_peak_day: Option<f64>,
}

impl HairRun {
    /// Value of a daily series at `day` (linear interpolation).
    pub fn at(&self, series: &[f64], day: f64) -> f64 {
        let i = day.max(0.0).floor() as usize;
        if i + 1 >= series.len() {
            return *series.last().unwrap_or(&f64::NAN);
        }
        let f = day - i as f64;
        series[i] * (1.0 - f) + series[i + 1] * f
    }

    /// Change of hairs/cm² from day 0 at `day`.
    pub fn count_change(&self, day: f64) -> f64 {
        self.at(&self.hairs_per_cm2, day) - self.hairs_per_cm2[0]
    }
}

/// Number of cycle states per class: emerging, anagen, catagen, telogen, kenogen.
const NS: usize = 5;
const E: usize = 0;
const A: usize = 1;
const C: usize = 2;
const T: usize = 3;
const K: usize = 4;

/// Size of the cycle state: two classes (terminal, vellus) of [`NS`] states.
const N2: usize = 2 * NS;

type Mat = [[f64; N2]; N2];

/// The cycle's transition generator Q (dy/dt = Q y, y per cm²) with the anagen-entry
/// multiplier `m` held fixed. Columns sum to zero: follicles are conserved.
fn generator(sc: &Scalp, m: f64) -> Mat {
    let mut q = [[0.0; N2]; N2];
    let mini = sc.miniaturisation_per_cycle;
    for (c, ph) in [(0usize, &sc.terminal), (1usize, &sc.vellus)] {
        let o = c * NS;
        let mut flow = |from: usize, to: usize, rate: f64| {
            q[to][from] += rate;
            q[from][from] -= rate;
        };
        flow(o + E, o + A, 1.0 / ph.emerging_s);
        flow(o + A, o + C, 1.0 / ph.anagen_s);
        flow(o + C, o + T, 1.0 / ph.catagen_s);
        flow(o + T, o + K, 1.0 / ph.telogen_s);
        // Induced anagen: straight from telogen, and from kenogen faster. A new terminal
        // anagen miniaturises with its per-cycle probability (it starts as vellus).
        let t_in = (m - 1.0).max(0.0) / ph.telogen_s;
        let k_in = m / ph.kenogen_s.max(DT_S);
        let share = if c == 0 { 1.0 - mini } else { 1.0 };
        flow(o + T, o + E, share * t_in);
        flow(o + K, o + E, share * k_in);
        if c == 0 {
            flow(o + T, NS + E, mini * t_in);
            flow(o + K, NS + E, mini * k_in);
        }
    }
    q
}

fn matmul(a: &Mat, b: &Mat) -> Mat {
    let mut c = [[0.0; N2]; N2];
    for i in 0..N2 {
        for k in 0..N2 {
            let aik = a[i][k];
            if aik == 0.0 {
                continue;
            }
            for j in 0..N2 {
                c[i][j] += aik * b[k][j];
            }
        }
    }
    c
}

/// exp(Q h) by scaling and squaring of a Taylor series (the norm scaled to 1/2 or less, 14
/// terms: truncation below 1e-17). Exact for drivers held over the step, so the step is
/// stable at any gain: a generator's exponential is a stochastic matrix (no negative
/// populations, follicles conserved), which an explicit Runge-Kutta step is not once h times
/// the fastest rate passes about 2.8.
fn step_matrix(q: &Mat, h: f64) -> Mat {
    let norm = (0..N2)
        .map(|j| (0..N2).map(|i| q[i][j].abs()).sum::<f64>())
        .fold(0.0, f64::max)
        * h;
    let squarings = if norm > 0.5 {
        (norm / 0.5).log2().ceil() as u32
    } else {
        0
    };
    let scale = h / f64::from(1u32 << squarings.min(31));
    let a: Mat = std::array::from_fn(|i| std::array::from_fn(|j| q[i][j] * scale));
    // Horner: I + a (I + a/2 (I + a/3 (...))).
    let mut r: Mat = std::array::from_fn(|i| std::array::from_fn(|j| f64::from(u8::from(i == j))));
    for k in (1..=14).rev() {
        let mut t = matmul(&a, &r);
        for (i, row) in t.iter_mut().enumerate() {
            for v in row.iter_mut() {
                *v /= f64::from(k);
            }
            row[i] += 1.0;
        }
        r = t;
    }
    for _ in 0..squarings.min(31) {
        r = matmul(&r, &r);
    }
    r
}

fn apply(mx: &Mat, y: &[f64; N2]) -> [f64; N2] {
    std::array::from_fn(|i| (0..N2).map(|j| mx[i][j] * y[j]).sum())
}

/// Builds the scalp's starting state: each class at its steady phase shares.
fn start(sc: &Scalp) -> [f64; N2] {
    let mut y = [0.0; N2];
    let n = sc.follicles_m2 * CM * CM;
    for (c, ph, share) in [
        (0usize, &sc.terminal, 1.0 - sc.vellus_fraction),
        (1usize, &sc.vellus, sc.vellus_fraction),
    ] {
        for (i, s) in ph.shares().iter().enumerate() {
            y[c * NS + i] = n * share * s;
        }
    }
    y
}

/// Visible hairs, terminal visible, anagen visible, mean diameter (µm).
fn observe(y: &[f64; N2], sc: &Scalp) -> (f64, f64, f64, f64) {
    let vis = |c: usize| y[c * NS + A] + y[c * NS + C] + y[c * NS + T];
    let (vt, vv) = (vis(0), vis(1));
    let total = vt + vv;
    let anagen = y[A] + y[NS + A];
    let d = if total > 0.0 {
        (vt * sc.terminal_diameter_m + vv * sc.vellus_diameter_m) / total / UM
    } else {
        0.0
    };
    (total, vt, anagen, d)
}

/// Runs one arm. `column` is the scalp column `scalp` was built on.
pub fn simulate(
    sc: &Scalp,
    column: &SkinColumn,
    protocol: &HairProtocol,
    mp: &ModelParams,
) -> Result<HairRun, HairError> {
    let p = &mp.hair;
    if !(1.0..=730.0).contains(&protocol.duration_days) {
        return Err(HairError::field(
            "hair.duration_days",
            format!("{}", protocol.duration_days),
            "1-730 days".into(),
            "simulate up to two years",
        ));
    }
    let n = (protocol.duration_days * DAY / DT_S).ceil() as usize + 1;
    let mut wnt = vec![0.0; n];
    let mut reach = None;
    let mut wnt_peak_day = None;
    let mut sessions: Vec<f64> = Vec::new();
    if let Some(nd) = &protocol.needling {
        for (i, &d) in nd.session_days.iter().enumerate() {
            if !(0.0..=protocol.duration_days).contains(&d)
                || (i > 0 && d <= nd.session_days[i - 1])
            {
                return Err(HairError::field(
                    "hair.session_days",
                    format!("{d}"),
                    format!(
                        "increasing days within 0-{} (the run's length)",
                        protocol.duration_days
                    ),
                    "list session days in order, within the run",
                ));
            }
        }
        let r = scalp::reach(
            sc,
            nd.injury.mean_depth_m,
            nd.injury.density_m2,
            nd.channel_radius_m,
            p,
        );
        let kernel = drivers::signal_kernel(sc, column, &nd.injury, &mp.healing, &mp.closure, p)?;
        wnt_peak_day = Some(kernel.wnt_peak_day());
        let amp = if nd.prp { 1.0 + p.prp_signal_gain } else { 1.0 };
        for &d in &nd.session_days {
            let i0 = (d * DAY / DT_S).round() as usize;
            for (j, w) in kernel.wnt.iter().enumerate() {
                if i0 + j < n {
                    wnt[i0 + j] += amp * w;
                }
            }
        }
        sessions = nd.session_days.iter().map(|d| d * DAY).collect();
        reach = Some(r);
    }
    let (input, applications) = match &protocol.topical {
        Some(top) => {
            let (depth, open) = protocol.needling.as_ref().map_or((0.0, 0.0), |nd| {
                (nd.injury.mean_depth_m, nd.injury.open_surface_fraction)
            });
            let e = drivers::exposure(
                top,
                sc,
                n,
                &sessions,
                depth,
                open,
                &mp.closure,
                &mp.physchem,
                p,
            );
            (e.input, e.applications)
        }
        None => (vec![0.0; n], Vec::new()),
    };
    // Minoxidil at the follicle: first order towards the input.
    let a_mx = 1.0 - (-DT_S / (p.mx_tissue_days * DAY)).exp();
    let mut x = 0.0;
    let mut effect = vec![0.0; n];
    for i in 0..n {
        x += (input[i] - x) * a_mx;
        effect[i] = x / (x + p.mx_half_effect_exposure);
    }
    // Cycling: the exact step of the linear system with the drivers held over each step;
    // bulb hits at sessions.
    let mut y = start(sc);
    let mut cached: Option<(f64, Mat)> = None;
    let per_day = (DAY / DT_S).round() as usize;
    let mut out = HairRun {
        days: Vec::new(),
        hairs_per_cm2: Vec::new(),
        terminal_fraction: Vec::new(),
        anagen_fraction: Vec::new(),
        mean_diameter_um: Vec::new(),
        wnt: Vec::new(),
        minoxidil_effect: Vec::new(),
        reach: reach.clone(),
        applications,
        wnt_peak_day,
    };
    let session_steps: Vec<usize> = sessions
        .iter()
        .map(|s| (s / DT_S).round() as usize)
        .collect();
    let bulb_hits = reach.as_ref().map(|r| {
        let f = r.hit_fraction * p.bulb_hit_catagen_fraction;
        (
            if r.structures.contains(&Structure::TerminalBulb) {
                f
            } else {
                0.0
            },
            if r.structures.contains(&Structure::VellusBulb) {
                f
            } else {
                0.0
            },
        )
    });
    for i in 0..n {
        if session_steps.contains(&i)
            && let Some((ft, fv)) = bulb_hits
        {
            for (c, f) in [(0usize, ft), (1usize, fv)] {
                let moved = y[c * NS + A] * f;
                y[c * NS + A] -= moved;
                y[c * NS + C] += moved;
            }
        }
        if i % per_day == 0 {
            let (total, vt, anagen, d) = observe(&y, sc);
            out.days.push((i / per_day) as f64);
            out.hairs_per_cm2.push(total);
            out.terminal_fraction
                .push(if total > 0.0 { vt / total } else { 0.0 });
            out.anagen_fraction
                .push(if total > 0.0 { anagen / total } else { 0.0 });
            out.mean_diameter_um.push(d);
            out.wnt.push(wnt[i]);
            out.minoxidil_effect.push(effect[i]);
        }
        if i + 1 == n {
            break;
        }
        let m = (1.0 + p.wound_anagen_gain * wnt[i]) * (1.0 + p.mx_effect_max * effect[i]);
        // Exact step of the linear system with m held over it; reused while m is unchanged.
        if cached.as_ref().is_none_or(|(mc, _)| *mc != m) {
            cached = Some((m, step_matrix(&generator(sc, m), DT_S)));
        }
        if let Some((_, mx)) = &cached {
            y = apply(mx, &y);
        }
    }
    Ok(out)
}

/// One needling session's injury on a 1 cm² patch of `column` (the study pipeline's channel
/// stage, as the planner's healing predictor builds it), and the open channel radius at half
/// depth.
pub fn session_injury(
    device: &Device,
    technique: &Technique,
    column: &SkinColumn,
    mp: &ModelParams,
    seed: u64,
) -> Result<(InjuryInput, f64), HairError> {
    let zone = Zone {
        name: "scalp patch".into(),
        site: column.site,
        shape: Shape::Rectangle {
            width_m: 0.01,
            height_m: 0.01,
        },
    };
    let (set, ch) = crate::pipeline::stages::channels(
        device,
        &zone,
        technique,
        column,
        &mp.injury,
        &mp.device,
        seed,
        &mut crate::timings::Timings::default(),
    )
    .map_err(|e| HairError::Model(format!("puncture map: {e}")))?;
    let density = set.density_m2();
    let r = ch.open_radius_at(ch.mean_depth_m, 0.5 * ch.mean_depth_m);
    Ok((InjuryInput::from_channels(&ch, density), r))
}

/// Checks that a zone's site has terminal hair before hair outputs are asked for there.
pub fn check_site(column: &SkinColumn) -> Result<(), HairError> {
    if column.site != crate::skin::Site::Scalp {
        return Err(HairError::NoTerminalHair {
            site: column.site.name().to_string(),
        });
    }
    Ok(())
}

/// The hair parameters' defaults (for callers without a registry).
pub fn default_params() -> HairParams {
    HairParams::default()
}
