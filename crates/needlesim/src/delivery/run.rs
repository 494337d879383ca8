//! The delivery stage of a study: one zone's channels -> both arms (needled and intact) ->
//! report.
//!
//! ```text
//! (study pipeline: device::generate -> injury::channels) -> mean channel / real map
//!   -> physchem::coefficients -> closure -> model::run_arm (needled) + model::run_arm (intact)
//!   -> DeliverReport
//! ```

use std::time::Instant;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::DeliveryError;
use super::closure::{Closure, ClosureParams, Occlusion};
use super::compounds::Compound;
use super::dosing::{Dose, Schedule};
use super::experiment::{self, EndpointOut, Experiment, PermeationOut};
use super::model::{self, Arm, ArmResult, ChannelShape, DeliveryNumerics, Sample, Setup};
use super::nerve::NerveBlock;
use super::physchem::{self, PermeabilityModel, PhysChemParams, TransportCoefficients};
use crate::device::PunctureSet;
use crate::injury::ChannelSet;
use crate::scenario::Scenario;
use crate::timings::Timings;
use crate::units::{HOUR, MINUTE};

/// Geometry of the run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GeometryKind {
    /// Axisymmetric cell around the mean channel.
    UnitCell,
    /// 3-D block of `side_m` × `side_m` at the zone centre over the real puncture map.
    Patch { side_m: f64 },
}

/// How the time-to-effect threshold is set.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EffectThreshold {
    /// A fixed amount in viable epidermis + dermis, kg/m².
    Amount { kg_m2: f64 },
    /// The amount the intact-skin arm holds at this time (s after application): calibrates the
    /// threshold on a labelled onset on intact skin (e.g. 30 min for LMX-4).
    IntactOnset { t_s: f64 },
}

/// What to deliver and how: the validated `[delivery]` section in SI.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryPlan {
    /// Zone of the scenario to treat.
    pub zone: String,
    pub product_name: String,
    pub vehicle: String,
    pub compound: Compound,
    pub schedule: Schedule,
    pub permeability: PermeabilityModel,
    pub setup: Setup,
    /// What the study measured (endpoint, sampling times, steady window, plasma kinetics).
    pub experiment: Experiment,
    pub geometry: GeometryKind,
    pub duration_s: f64,
    pub profile_times_s: Vec<f64>,
    pub effect: Option<EffectThreshold>,
    pub physchem: PhysChemParams,
    pub closure: ClosureParams,
    pub resolution: DeliveryNumerics,
    pub warnings: Vec<String>,
}

/// One arm at one time, output units (µg/cm², µg/(cm²·h)).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ArmPoint {
    pub stratum_corneum_ug_cm2: f64,
    pub viable_epidermis_ug_cm2: f64,
    pub papillary_dermis_ug_cm2: f64,
    pub reticular_dermis_ug_cm2: f64,
    /// Cumulative amount that entered the skin.
    pub entered_ug_cm2: f64,
    /// Cumulative amount that reached the dermis (held there + cleared + passed below).
    pub reached_dermis_ug_cm2: f64,
    /// Cumulative amount in blood (capillary clearance) and receptor / subcutis.
    pub receptor_blood_ug_cm2: f64,
    /// Flux into the skin and out to blood + receptor, averaged over the last step.
    pub flux_in_ug_cm2_h: f64,
    pub flux_out_ug_cm2_h: f64,
    /// Active left in a finite donor film (null for a reservoir).
    pub donor_ug_cm2: Option<f64>,
}

/// Amounts per area: kg/m² -> µg/cm².
pub const UG_CM2: f64 = 1e5;

fn point(s: &Sample) -> ArmPoint {
    ArmPoint {
        stratum_corneum_ug_cm2: s.layers_kg_m2[0] * UG_CM2,
        viable_epidermis_ug_cm2: s.layers_kg_m2[1] * UG_CM2,
        papillary_dermis_ug_cm2: s.layers_kg_m2[2] * UG_CM2,
        reticular_dermis_ug_cm2: s.layers_kg_m2[3] * UG_CM2,
        entered_ug_cm2: s.entered_kg_m2 * UG_CM2,
        reached_dermis_ug_cm2: s.reached_dermis_kg_m2() * UG_CM2,
        receptor_blood_ug_cm2: s.receptor_blood_kg_m2() * UG_CM2,
        flux_in_ug_cm2_h: s.flux_in_kg_m2_s * UG_CM2 * HOUR,
        flux_out_ug_cm2_h: s.flux_out_kg_m2_s * UG_CM2 * HOUR,
        donor_ug_cm2: if s.donor_kg_m2.is_nan() {
            None
        } else {
            Some(s.donor_kg_m2 * UG_CM2)
        },
    }
}

/// One row of the time series.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SeriesPoint {
    /// Time after the end of needling, h.
    pub t_h: f64,
    /// Open-area fraction of the channels (1 right after needling).
    pub open_area_fraction: f64,
    /// Aqueous concentration of the active at the skin surface, mg/mL.
    pub surface_mg_ml: f64,
    pub needled: ArmPoint,
    pub intact: ArmPoint,
    /// Needled / intact cumulative amount in blood + receptor (null when intact is zero).
    pub enhancement_receptor_blood: Option<f64>,
    /// Needled / intact cumulative amount that reached the dermis.
    pub enhancement_reached_dermis: Option<f64>,
}

/// Summary of one arm.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ArmSummary {
    pub entered_ug_cm2: f64,
    pub reached_dermis_ug_cm2: f64,
    pub receptor_blood_ug_cm2: f64,
    pub held_in_skin_ug_cm2: f64,
    pub peak_flux_out_ug_cm2_h: f64,
    pub t_peak_flux_out_h: f64,
    /// Apparent lag time: x-intercept of the tangent to the cumulative blood + receptor curve
    /// at its steepest point, h (null if nothing arrives).
    pub lag_time_h: Option<f64>,
    /// Time after application when viable epidermis + dermis first holds the effect threshold,
    /// min (null if never, or no threshold).
    pub time_to_effect_min: Option<f64>,
}

/// Amounts per layer and depth profile at one time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProfileOut {
    pub t_h: f64,
    /// Depth of cell centres, µm, and laterally averaged concentration, µg/mL.
    pub needled_depth_um: Vec<f64>,
    pub needled_ug_ml: Vec<f64>,
    pub intact_depth_um: Vec<f64>,
    pub intact_ug_ml: Vec<f64>,
    pub needled: ArmPoint,
    pub intact: ArmPoint,
}

/// Transport coefficients in output units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CoefficientsOut {
    pub r_h_nm: f64,
    pub r_h_source: physchem::RadiusSource,
    pub d_free_um2_s: f64,
    pub d_viable_epidermis_um2_s: f64,
    pub d_dermis_um2_s: f64,
    pub permeability_model: PermeabilityModel,
    pub log_k_used: f64,
    /// Stratum corneum/water partition coefficient (the SC's storage relative to water).
    pub sc_partition: f64,
    /// log10 kp (cm/h); null when the stratum corneum is treated as impermeable.
    pub log_kp_cm_h: Option<f64>,
    pub kp_cm_h: f64,
    /// The parallel routes of `kp_cm_h`: lipid (Potts-Guy), polar (aqueous pores), follicular.
    pub kp_lipid_cm_h: f64,
    pub kp_polar_cm_h: f64,
    pub kp_appendageal_cm_h: f64,
    /// Whose skin the run is on.
    pub species: crate::skin::Species,
    pub clearance_papillary_per_h: f64,
    pub clearance_reticular_per_h: f64,
}

/// Channels as the delivery model sees them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChannelsOut {
    pub punctures: u64,
    pub density_per_cm2: f64,
    pub mean_depth_um: f64,
    /// Open radius at the surface right after needling (roller slot included), µm.
    pub surface_open_radius_um: f64,
    /// Radius of the unit cell, µm.
    pub unit_cell_radius_um: f64,
    /// Punctures inside the 3-D patch (patch geometry only).
    pub patch_channels: Option<u64>,
}

/// Closure as applied.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClosureOut {
    /// (start h, occlusion, open-area half-life h).
    pub segments: Vec<(f64, Occlusion, f64)>,
    /// Time for the open area to fall below the recovered fraction, h (null: never, Franz cell).
    pub barrier_recovery_h: Option<f64>,
}

/// One application in output units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ApplicationOut {
    pub apply_h: f64,
    pub wipe_h: Option<f64>,
    pub occlusion: Occlusion,
    /// "infinite" or "finite".
    pub dose: String,
    /// Active applied, µg/cm² (null for a reservoir).
    pub active_ug_cm2: Option<f64>,
    /// Vehicle concentration, mg/mL.
    pub concentration_mg_ml: f64,
}

/// Mass balance check: entry by balance vs entry by the surface boundary flux.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MassBalance {
    pub entered_balance_ug_cm2: f64,
    pub entered_flux_ug_cm2: f64,
    pub relative_difference: f64,
}

/// Numerics of the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NumericsOut {
    pub geometry: GeometryKind,
    /// Lateral voxel of the 3-D patch, µm (null for the unit cell).
    pub patch_voxel_um: Option<f64>,
    pub voxels_needled: u64,
    pub voxels_intact: u64,
    pub steps_needled: u64,
    pub steps_intact: u64,
}

/// The content of `delivery.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DeliverReport {
    pub schema_version: String,
    pub needlesim_version: String,
    pub title: String,
    pub seed: u64,
    pub zone: String,
    pub site: String,
    pub device: String,
    pub setup: Setup,
    pub product: String,
    pub vehicle: String,
    pub compound: Compound,
    pub coefficients: CoefficientsOut,
    pub channels: ChannelsOut,
    pub closure: ClosureOut,
    pub applications: Vec<ApplicationOut>,
    /// Effect threshold in viable epidermis + dermis, µg/cm², and how it was set.
    pub effect_threshold_ug_cm2: Option<f64>,
    /// Calibrated thresholds: the concentration in viable epidermis + papillary dermis that
    /// `NERVE_AREA_FRACTION` of the area must reach, µg/mL (null for a given amount).
    pub effect_threshold_nerve_ug_ml: Option<f64>,
    pub effect_threshold_basis: Option<String>,
    pub needled: ArmSummary,
    pub intact: ArmSummary,
    /// Enhancement at the end of the run (null when the intact arm delivers nothing).
    pub enhancement_receptor_blood: Option<f64>,
    pub enhancement_reached_dermis: Option<f64>,
    /// The endpoint the study measured, needled vs intact in the same run (issue 18 point 4).
    pub experiment: EndpointOut,
    /// Per-arm permeation report in the style of OECD TG 428 (issue 18 point 5).
    pub permeation: PermeationOut,
    pub series: Vec<SeriesPoint>,
    pub profiles: Vec<ProfileOut>,
    pub mass_balance: MassBalance,
    pub numerics: NumericsOut,
    pub warnings: Vec<String>,
}

/// The result of `deliver`: the report and the channels it used.
pub struct DeliveryRun {
    pub report: DeliverReport,
    pub punctures: PunctureSet,
    pub channels: ChannelSet,
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    if b > 0.0 && b.is_finite() && a.is_finite() && a > 1e-12 * b.max(1e-300) {
        Some(a / b)
    } else if b > 0.0 && a == 0.0 {
        Some(0.0)
    } else {
        None
    }
}

/// Output times: every 2 min for the first 2 h after the first application, then about 200
/// points to the end, plus every event.
pub fn output_times(t0: f64, t_end: f64, schedule: &Schedule, coarse: bool) -> Vec<f64> {
    let mut v = Vec::new();
    let (fine_dt, n) = if coarse {
        (15.0 * MINUTE, 24)
    } else {
        (2.0 * MINUTE, 200)
    };
    let mut t = 0.0;
    while t <= (t0 + 2.0 * HOUR).min(t_end) + 1e-9 {
        v.push(t);
        t += fine_dt;
    }
    let step = (t_end / n as f64).max(fine_dt);
    let mut t = 0.0;
    while t <= t_end + 1e-9 {
        v.push(t);
        t += step;
    }
    v.push(t_end);
    v.extend(schedule.events().into_iter().filter(|e| *e <= t_end));
    v.sort_by(f64::total_cmp);
    v.dedup_by(|a, b| (*a - *b).abs() < 1e-6);
    v
}

/// Output spacing of the nerve level while a numbing onset is sought, s.
const NERVE_DT_S: f64 = 30.0;

/// `(t s, level at the nerve endings kg/m³)` of an arm.
fn nerve_curve(r: &ArmResult) -> Vec<(f64, f64)> {
    r.samples.iter().map(|s| (s.t_s, s.nerve_kg_m3)).collect()
}

/// `threshold`: the effect level and the quantity of a sample it is compared with.
fn summarise(r: &ArmResult, threshold: Option<(f64, fn(&Sample) -> f64)>, t0: f64) -> ArmSummary {
    let last = r.samples.last();
    let (mut peak, mut tpeak, mut q_at) = (0.0, 0.0, 0.0);
    for s in &r.samples {
        if s.flux_out_kg_m2_s > peak {
            peak = s.flux_out_kg_m2_s;
            tpeak = s.t_s;
            q_at = s.receptor_blood_kg_m2();
        }
    }
    let lag = (peak > 0.0).then(|| ((tpeak - q_at / peak - t0) / HOUR).max(0.0));
    let tte = threshold.and_then(|(th, q)| {
        let mut prev: Option<&Sample> = None;
        for s in &r.samples {
            let v = q(s);
            if v >= th {
                let t = match prev {
                    Some(p) if v > q(p) => {
                        let f = (th - q(p)) / (v - q(p));
                        p.t_s + f * (s.t_s - p.t_s)
                    }
                    _ => s.t_s,
                };
                return Some(((t - t0) / MINUTE).max(0.0));
            }
            prev = Some(s);
        }
        None
    });
    ArmSummary {
        entered_ug_cm2: last.map_or(0.0, |s| s.entered_kg_m2 * UG_CM2),
        reached_dermis_ug_cm2: last.map_or(0.0, |s| s.reached_dermis_kg_m2() * UG_CM2),
        receptor_blood_ug_cm2: last.map_or(0.0, |s| s.receptor_blood_kg_m2() * UG_CM2),
        held_in_skin_ug_cm2: last.map_or(0.0, |s| s.layers_kg_m2.iter().sum::<f64>() * UG_CM2),
        peak_flux_out_ug_cm2_h: peak * UG_CM2 * HOUR,
        t_peak_flux_out_h: tpeak / HOUR,
        lag_time_h: lag,
        time_to_effect_min: tte,
    }
}

/// The channel shape of the mean channel of a set.
pub fn mean_shape(ch: &ChannelSet) -> ChannelShape {
    let n = ch.channels.len();
    let depth = if n == 0 {
        ch.mean_depth_m
    } else {
        ch.channels.iter().map(|c| c.depth_m).sum::<f64>() / n as f64
    };
    shape_at_depth(ch, depth)
}

fn shape_at_depth(ch: &ChannelSet, depth: f64) -> ChannelShape {
    let r0 = ch.open_radius_at(depth, 0.0);
    let area = std::f64::consts::PI * r0 * r0 + 2.0 * r0 * ch.slot_length_m;
    ChannelShape {
        depth_m: depth,
        needle_radius_m: ch.needle_radius_m,
        tip_half_angle_rad: ch.tip_half_angle_rad,
        recoil: ch.recoil,
        surface_radius_m: (area / std::f64::consts::PI).sqrt(),
    }
}

/// The index of the scenario zone a plan treats.
pub fn plan_zone(scenario: &Scenario, plan: &DeliveryPlan) -> Result<usize, DeliveryError> {
    scenario
        .zones
        .iter()
        .position(|z| z.zone.name == plan.zone)
        .ok_or_else(|| {
            DeliveryError::Invalid(format!("zone {:?} is not in the scenario", plan.zone))
        })
}

/// Delivery through the channels of zone `zi` (punctures and channels from the study
/// pipeline): both arms (needled and intact) -> report. Progress per stage (stage `delivery`:
/// needled arm, intact arm); each arm is timed into `timings`.
pub fn deliver(
    scenario: &Scenario,
    plan: &DeliveryPlan,
    zi: usize,
    set: PunctureSet,
    ch: ChannelSet,
    progress: crate::progress::Progress<'_>,
    timings: &mut Timings,
) -> Result<DeliveryRun, DeliveryError> {
    let mut warnings = plan.warnings.clone();
    let zp = &scenario.zones[zi];
    if ch.channels.is_empty() {
        return Err(DeliveryError::Invalid(
            "the zone received no punctures; nothing to deliver through".into(),
        ));
    }

    let follicle_factor = match scenario.species {
        crate::skin::Species::Human => crate::skin::follicle_area_factor(zp.zone.site),
        animal => animal.follicle_area_factor(),
    };
    let mut co = physchem::coefficients_at(
        &plan.compound,
        plan.permeability,
        &plan.physchem,
        follicle_factor,
    );
    // The input check already gave some of these (physchem::mw_domain_warning): once each.
    for w in &co.warnings {
        if !warnings.contains(w) {
            warnings.push(w.clone());
        }
    }
    let t0 = plan
        .schedule
        .applications
        .first()
        .map_or(0.0, |a| a.t_apply_s);
    // Numbing of a local anaesthetic (a compound with a nerve-block EC50) calibrated on a
    // labelled onset on intact skin: the criterion is the nerve block at the compound's EC50
    // (`delivery::nerve`), and what the intact onset calibrates is the vehicle's factor on the
    // stratum corneum's permeability, used by both arms (the SC between the channels is the
    // same SC under the same vehicle).
    let mut nerve_block: Option<(NerveBlock, f64, f64)> = None;
    if let (Some(EffectThreshold::IntactOnset { t_s }), Some(ec50)) =
        (plan.effect, plan.compound.nerve_block_ec50_kg_m3)
    {
        let block = NerveBlock {
            ec50_kg_m3: ec50,
            t_half_s: plan.physchem.nerve_block_t_half_s,
        };
        let res_cal = DeliveryNumerics {
            dt_first_s: 0.5,
            dt_growth: 1.25,
            dt_max_s: NERVE_DT_S,
            ..plan.resolution.clone()
        };
        let t_cal = (t0 + t_s).min(plan.duration_s);
        let n = (t_cal / NERVE_DT_S).ceil() as usize;
        let cal_times: Vec<f64> = (0..=n)
            .map(|i| (i as f64 * NERVE_DT_S).min(t_cal))
            .collect();
        let r_cal = 1.0 / (std::f64::consts::PI * set.density_m2()).sqrt();
        let factor = super::nerve::calibrate_kp_factor(t_cal - t0, |f| {
            let mut c = co.clone();
            c.kp_m_s *= f;
            let mut arm = Arm::unit_cell(&zp.column, None, r_cal, &c, plan.setup, &res_cal)?;
            let r = model::run_arm(
                &mut arm,
                &plan.schedule,
                None,
                plan.compound.solubility_kg_m3,
                t_cal,
                &cal_times,
                &[],
                &res_cal,
            )?;
            Ok::<_, DeliveryError>(block.onset(&nerve_curve(&r)).map(|t| t - t0))
        })?;
        match factor {
            Some(f) => {
                co.kp_m_s *= f;
                nerve_block = Some((block, f, t_s));
            }
            None => warnings.push(format!(
                "no factor within {:?} on the stratum corneum's permeability numbs intact skin at {:.0} min; time to effect is not reported",
                super::nerve::KP_FACTOR_RANGE,
                t_s / MINUTE
            )),
        }
    }
    let shape = mean_shape(&ch);
    let density = set.density_m2();
    let radius = 1.0 / (std::f64::consts::PI * density).sqrt();
    let r_open = shape.surface_radius_m.max(shape.open_radius_at(0.0));
    if co.r_h_m >= r_open {
        warnings.push(format!(
            "{}: hydrodynamic radius {:.0} nm does not fit the open channel ({:.1} µm): no transport through the channels",
            plan.compound.name,
            co.r_h_m * 1e9,
            r_open * 1e6
        ));
    } else if co.r_h_m >= 0.1 * r_open {
        warnings.push(format!(
            "{}: hydrodynamic radius {:.0} nm is more than a tenth of the open channel radius; channel diffusion is strongly hindered",
            plan.compound.name,
            co.r_h_m * 1e9
        ));
    }

    let closure = match plan.setup {
        Setup::InVivo => Closure::new(
            &plan.closure,
            shape.depth_m,
            &scenario.person,
            zp.zone.site,
            &plan.schedule.occlusion_changes(),
        ),
        Setup::FranzCell => Closure::ex_vivo(&plan.closure),
    };
    let t_end = plan.duration_s;
    let coarse = matches!(plan.geometry, GeometryKind::Patch { .. });
    let mut times = output_times(t0, t_end, &plan.schedule, coarse);
    if nerve_block.is_some() && !coarse {
        // The onset of a block within minutes needs the nerve level at short intervals.
        let until = (t0 + 2.0 * HOUR).min(t_end);
        let mut t = t0;
        while t < until {
            times.push(t);
            t += NERVE_DT_S;
        }
        times.sort_by(f64::total_cmp);
        times.dedup_by(|a, b| (*a - *b).abs() < 1e-6);
    }
    let mut profile_times: Vec<f64> = plan.profile_times_s.clone();
    profile_times.retain(|t| *t <= t_end);

    let sol = plan.compound.solubility_kg_m3;
    let t = Instant::now();
    let (mut mn_arm, patch_channels) = match plan.geometry {
        GeometryKind::UnitCell => (
            Arm::unit_cell(
                &zp.column,
                Some(&shape),
                radius,
                &co,
                plan.setup,
                &plan.resolution,
            )?,
            None,
        ),
        GeometryKind::Patch { side_m } => {
            let (w, h) = zp.zone.shape.bbox();
            let (sx, sy) = (side_m.min(w), side_m.min(h));
            let (x0, y0) = ((w - sx) / 2.0, (h - sy) / 2.0);
            let chans: Vec<(f64, f64, ChannelShape)> = ch
                .channels
                .iter()
                .filter(|c| c.x_m >= x0 && c.x_m < x0 + sx && c.y_m >= y0 && c.y_m < y0 + sy)
                .map(|c| (c.x_m - x0, c.y_m - y0, shape_at_depth(&ch, c.depth_m)))
                .collect();
            if chans.is_empty() {
                warnings.push("the 3-D patch holds no punctures".into());
            }
            let n = chans.len() as u64;
            (
                Arm::patch(
                    &zp.column,
                    &chans,
                    (sx, sy),
                    &co,
                    plan.setup,
                    &plan.resolution,
                )?,
                Some(n),
            )
        }
    };
    progress("delivery: needled arm", 1, 3);
    let mn = model::run_arm(
        &mut mn_arm,
        &plan.schedule,
        Some(&closure),
        sol,
        t_end,
        &times,
        &profile_times,
        &plan.resolution,
    )?;
    timings.add("needled arm", t);
    let t = Instant::now();
    // The intact control: always a unit cell (laterally uniform, so any radius gives the same
    // result per area).
    // One radial cell: a 1-D column, cheap enough for short steps throughout.
    let res_intact = DeliveryNumerics {
        dt_first_s: 0.5,
        dt_growth: 1.25,
        dt_max_s: 300.0,
        ..plan.resolution.clone()
    };
    let mut it_arm = Arm::unit_cell(&zp.column, None, radius, &co, plan.setup, &res_intact)?;
    progress("delivery: intact arm", 2, 3);
    let it = model::run_arm(
        &mut it_arm,
        &plan.schedule,
        None,
        sol,
        t_end,
        &times,
        &profile_times,
        &res_intact,
    )?;
    timings.add("intact arm", t);
    progress("delivery: intact arm", 3, 3);

    // The effect threshold. Calibrated on a labelled onset on intact skin: the concentration
    // the intact arm's nerve-bearing layers (viable epidermis + papillary dermis) hold at that
    // time, and an arm is numb once that level is reached over `NERVE_AREA_FRACTION` of its
    // area (between the channels the drug arrives by lateral diffusion). Given as an amount:
    // the amount in viable epidermis + dermis (per area), as before.
    let threshold: Option<(f64, f64, fn(&Sample) -> f64, String)> = if let Some((nb, f, t_s)) =
        nerve_block
    {
        let amount = super::experiment::value_at(&it.samples, t0 + t_s, Sample::viable_kg_m2);
        Some((
            nb.ec50_kg_m3,
            amount,
            (|s: &Sample| s.nerve_kg_m3) as fn(&Sample) -> f64,
            format!(
                "nerve block: {} at the nerve endings (viable epidermis + papillary dermis, over {:.0} % of the area) reaching its conduction-block EC50 of {:.1} µg/mL after the block's development (half-time {:.0} s); the intact arm's onset ({:.0} min, labelled) calibrates the vehicle's factor on the stratum corneum's permeability: {:.3}",
                plan.compound.name,
                model::NERVE_AREA_FRACTION * 100.0,
                nb.ec50_kg_m3 * 1e3,
                nb.t_half_s,
                t_s / MINUTE,
                f
            ),
        ))
    } else {
        plan.effect.map(|e| match e {
        EffectThreshold::Amount { kg_m2 } => (
            kg_m2,
            kg_m2,
            Sample::viable_kg_m2 as fn(&Sample) -> f64,
            "given in the scenario (amount in viable epidermis + dermis)".to_string(),
        ),
        EffectThreshold::IntactOnset { t_s } => {
            let target = t0 + t_s;
            let nerve = super::experiment::value_at(&it.samples, target, |s| s.nerve_kg_m3);
            let amount = super::experiment::value_at(&it.samples, target, Sample::viable_kg_m2);
            (
                nerve,
                amount,
                (|s: &Sample| s.nerve_kg_m3) as fn(&Sample) -> f64,
                format!(
                    "concentration the intact-skin arm holds in viable epidermis + papillary dermis {:.0} min after application (labelled onset on intact skin), reached over {:.0} % of the area",
                    t_s / MINUTE,
                    model::NERVE_AREA_FRACTION * 100.0
                ),
            )
        }
    })
    };
    if let Some((th, ..)) = &threshold
        && (th.is_nan() || *th <= 0.0)
    {
        warnings.push(
            "the effect threshold is zero (the intact arm holds nothing at the onset time); time to effect is not reported"
                .into(),
        );
    }
    let crit = threshold
        .as_ref()
        .and_then(|(v, _, q, _)| (*v > 0.0).then_some((*v, *q)));
    let th = threshold
        .as_ref()
        .and_then(|(v, a, _, _)| (*v > 0.0).then_some(*a));
    let th_nerve = threshold
        .as_ref()
        .and_then(|(v, _, _, b)| (*v > 0.0 && !b.starts_with("given")).then_some(*v * 1e3));
    let mut needled = summarise(&mn, crit, t0);
    let mut intact = summarise(&it, crit, t0);
    if let Some((nb, ..)) = nerve_block {
        let onset = |r: &ArmResult| {
            nb.onset(&nerve_curve(r))
                .map(|t| ((t - t0) / MINUTE).max(0.0))
        };
        needled.time_to_effect_min = onset(&mn);
        intact.time_to_effect_min = onset(&it);
    }

    let series: Vec<SeriesPoint> = mn
        .samples
        .iter()
        .zip(&it.samples)
        .map(|(a, b)| SeriesPoint {
            t_h: a.t_s / HOUR,
            open_area_fraction: a.open_area,
            surface_mg_ml: a.surface_kg_m3,
            needled: point(a),
            intact: point(b),
            enhancement_receptor_blood: ratio(a.receptor_blood_kg_m2(), b.receptor_blood_kg_m2()),
            enhancement_reached_dermis: ratio(a.reached_dermis_kg_m2(), b.reached_dermis_kg_m2()),
        })
        .collect();
    let profiles = mn
        .profiles
        .iter()
        .zip(&it.profiles)
        .map(|((t, pa), (_, pb))| ProfileOut {
            t_h: t / HOUR,
            needled_depth_um: pa.iter().map(|p| p.0 * 1e6).collect(),
            needled_ug_ml: pa.iter().map(|p| p.1 * 1e3).collect(),
            intact_depth_um: pb.iter().map(|p| p.0 * 1e6).collect(),
            intact_ug_ml: pb.iter().map(|p| p.1 * 1e3).collect(),
            needled: point(&sample_at(&mn.samples, *t)),
            intact: point(&sample_at(&it.samples, *t)),
        })
        .collect();
    let last_mn = mn.samples.last();
    let eb = last_mn.map_or(0.0, |s| s.entered_kg_m2) * UG_CM2;
    let ef = mn.entered_by_flux_kg_m2 * UG_CM2;
    let end_rb = ratio(needled.receptor_blood_ug_cm2, intact.receptor_blood_ug_cm2);
    let end_rd = ratio(needled.reached_dermis_ug_cm2, intact.reached_dermis_ug_cm2);
    if intact.reached_dermis_ug_cm2 <= 0.0 {
        warnings.push(format!(
            "{}: nothing crosses intact skin in this model, so the enhancement ratio is undefined (infinite)",
            plan.compound.name
        ));
    }
    // The experiment as done: the endpoint the study measured and the TG 428 report, both
    // arms over the same times and the same steady window.
    let mut exp = plan.experiment.clone();
    if let Some(pk) = &mut exp.plasma
        && pk.area_m2.is_nan()
    {
        pk.area_m2 = zp.zone.shape.area_m2();
    }
    let endpoint_out = experiment::endpoint(&exp, &mn.samples, &it.samples, t0, t_end);
    let window = exp.window(t0, t_end);
    let applied: f64 = plan
        .schedule
        .applications
        .iter()
        .map(|a| a.dose.active_kg_m2())
        .sum();
    let donor = match plan.schedule.applications.as_slice() {
        [a] => match a.dose {
            Dose::Infinite {
                concentration_kg_m3,
            } => Some(concentration_kg_m3),
            Dose::Finite { .. } => None,
        },
        _ => None,
    };
    let permeation = PermeationOut {
        window_h: [window.0 / HOUR, window.1 / HOUR],
        donor_mg_ml: donor,
        needled: experiment::permeation_arm(
            &mn.samples,
            plan.setup,
            window,
            t0,
            applied,
            mn.entered_by_flux_kg_m2,
            donor,
        ),
        intact: experiment::permeation_arm(
            &it.samples,
            plan.setup,
            window,
            t0,
            applied,
            it.entered_by_flux_kg_m2,
            donor,
        ),
    };
    let barrier = match plan.setup {
        Setup::InVivo => Some(closure.recovery_time_s() / HOUR),
        Setup::FranzCell => None,
    };
    let report = DeliverReport {
        schema_version: crate::SCHEMA_VERSION.into(),
        needlesim_version: env!("CARGO_PKG_VERSION").into(),
        title: scenario.title.clone(),
        seed: scenario.seed,
        zone: zp.zone.name.clone(),
        site: zp.zone.site.name().into(),
        device: zp.device.kind_name().into(),
        setup: plan.setup,
        product: plan.product_name.clone(),
        vehicle: plan.vehicle.clone(),
        compound: plan.compound.clone(),
        coefficients: coefficients_out(&co, scenario.species),
        channels: ChannelsOut {
            punctures: ch.channels.len() as u64,
            density_per_cm2: density * 1e-4,
            mean_depth_um: shape.depth_m * 1e6,
            surface_open_radius_um: r_open * 1e6,
            unit_cell_radius_um: radius * 1e6,
            patch_channels,
        },
        closure: ClosureOut {
            segments: closure
                .segments
                .iter()
                .map(|s| (s.0 / HOUR, s.1, s.2 / HOUR))
                .collect(),
            barrier_recovery_h: barrier,
        },
        applications: plan
            .schedule
            .applications
            .iter()
            .map(|a| ApplicationOut {
                apply_h: a.t_apply_s / HOUR,
                wipe_h: a.wipe_s.map(|w| w / HOUR),
                occlusion: a.occlusion,
                dose: match a.dose {
                    Dose::Infinite { .. } => "infinite".into(),
                    Dose::Finite { .. } => "finite".into(),
                },
                active_ug_cm2: a
                    .dose
                    .active_kg_m2()
                    .is_finite()
                    .then(|| a.dose.active_kg_m2() * UG_CM2),
                concentration_mg_ml: match a.dose {
                    Dose::Infinite {
                        concentration_kg_m3,
                    } => concentration_kg_m3,
                    Dose::Finite { mass_fraction, .. } => {
                        mass_fraction * super::dosing::VEHICLE_DENSITY_KG_M3
                    }
                },
            })
            .collect(),
        effect_threshold_ug_cm2: th.map(|v| v * UG_CM2),
        effect_threshold_nerve_ug_ml: th_nerve,
        effect_threshold_basis: threshold.map(|t| t.3),
        needled,
        intact,
        enhancement_receptor_blood: end_rb,
        enhancement_reached_dermis: end_rd,
        experiment: endpoint_out,
        permeation,
        series,
        profiles,
        mass_balance: MassBalance {
            entered_balance_ug_cm2: eb,
            entered_flux_ug_cm2: ef,
            relative_difference: if eb > 0.0 { (ef - eb).abs() / eb } else { 0.0 },
        },
        numerics: NumericsOut {
            geometry: plan.geometry,
            patch_voxel_um: matches!(plan.geometry, GeometryKind::Patch { .. })
                .then_some(plan.resolution.dx_patch_m * 1e6),
            voxels_needled: mn.voxels as u64,
            voxels_intact: it.voxels as u64,
            steps_needled: mn.steps,
            steps_intact: it.steps,
        },
        warnings,
    };
    Ok(DeliveryRun {
        report,
        punctures: set,
        channels: ch,
    })
}

fn coefficients_out(co: &TransportCoefficients, species: crate::skin::Species) -> CoefficientsOut {
    CoefficientsOut {
        r_h_nm: co.r_h_m * 1e9,
        r_h_source: co.r_h_source,
        d_free_um2_s: co.d_free_m2_s * 1e12,
        d_viable_epidermis_um2_s: co.d_ve_m2_s * 1e12,
        d_dermis_um2_s: co.d_dermis_m2_s * 1e12,
        permeability_model: co.permeability_model,
        log_k_used: co.log_k_used,
        sc_partition: co.sc_partition,
        log_kp_cm_h: co.log_kp_cm_h.is_finite().then_some(co.log_kp_cm_h),
        kp_cm_h: co.kp_m_s / physchem::CM_PER_H,
        kp_lipid_cm_h: co.routes.lipid_m_s / physchem::CM_PER_H,
        kp_polar_cm_h: co.routes.polar_m_s / physchem::CM_PER_H,
        kp_appendageal_cm_h: co.routes.appendageal_m_s / physchem::CM_PER_H,
        species,
        clearance_papillary_per_h: co.clearance_papillary_per_s * HOUR,
        clearance_reticular_per_h: co.clearance_reticular_per_s * HOUR,
    }
}

fn sample_at(samples: &[Sample], t: f64) -> Sample {
    samples
        .iter()
        .min_by(|a, b| (a.t_s - t).abs().total_cmp(&(b.t_s - t).abs()))
        .cloned()
        .unwrap_or(Sample {
            t_s: t,
            layers_kg_m2: [0.0; 4],
            entered_kg_m2: 0.0,
            cleared_kg_m2: 0.0,
            bottom_kg_m2: 0.0,
            donor_kg_m2: 0.0,
            flux_in_kg_m2_s: 0.0,
            flux_out_kg_m2_s: 0.0,
            open_area: 0.0,
            surface_kg_m3: 0.0,
            nerve_kg_m3: 0.0,
        })
}
