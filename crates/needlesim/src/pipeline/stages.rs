//! The pipeline's stages: the zone loop and the random streams, written once.
//!
//! [`crate::study::pipeline::run`] puts them together into the whole flow of a command; the
//! planner's predictor ([`channels`]) and the validation metrics ([`punctures`], [`deliver`],
//! [`heal`]) call them directly. They return the models' errors; only `run`, on top, returns
//! `crate::Error`. Every stage is timed into one [`Timings`].

use std::path::PathBuf;
use std::time::Instant;

use super::{self as punct, PuncturesRun};
use crate::delivery::DeliveryError;
use crate::delivery::run::{self as delivery, DeliveryPlan, DeliveryRun};
use crate::device::{Device, DeviceError, PunctureSet, Technique, Zone};
use crate::healing::HealingParams;
use crate::healing::simulate::{self, Resolution, SimulateError, SimulateRun, ZoneInjury};
use crate::injury::{self, ChannelSet, InjuryParams};
use crate::progress::Progress;
use crate::scenario::Scenario;
use crate::skin::SkinColumn;
use crate::timings::Timings;

/// The seed of zone `zi`'s puncture map and channels.
pub fn zone_seed(seed: u64, zi: usize) -> u64 {
    crate::rng::derive(seed, &[crate::rng::tag::ZONE, zi as u64])
}

/// Which part of the flow a run goes through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stages {
    /// Per zone: punctures -> channels (`needlesim punctures`).
    Punctures,
    /// The delivery plan's zone: punctures -> channels -> delivery (`needlesim deliver`).
    Delivery,
    /// Per zone: punctures -> channels; per session: healing -> outcomes, at a resolution
    /// (`needlesim simulate`).
    Healing(Resolution),
}

/// Progress, checkpoints and interruption of a pipeline run. `Default`: silent, no checkpoints.
pub struct Control<'a> {
    /// Coarse progress `(stage, done, total)`: zones, arms, spatial steps.
    pub progress: Progress<'a>,
    /// Folder of the spatial runs' checkpoints (`checkpoint_<zone>_<resolution>.bin`); `None`:
    /// none. A checkpoint of the same run is resumed; one of another run is ignored with a
    /// notice; a zone's checkpoint is removed once the zone is done.
    pub checkpoint_dir: Option<PathBuf>,
    /// Simulated days between checkpoints (besides one before every session); 0 means 30.
    pub checkpoint_interval_days: f64,
    /// Stop each zone's spatial run after this many steps (tests).
    pub stop_after_steps: Option<u64>,
    /// Memory limit of the run, bytes ([`crate::budget`]); `None`:
    /// [`crate::budget::DEFAULT_LIMIT_BYTES`].
    pub memory_limit_bytes: Option<u64>,
}

impl Default for Control<'_> {
    fn default() -> Self {
        Control {
            progress: &crate::progress::silent,
            checkpoint_dir: None,
            checkpoint_interval_days: 0.0,
            stop_after_steps: None,
            memory_limit_bytes: None,
        }
    }
}

/// What the flow produced (the parts the stages asked for).
#[derive(Default)]
pub struct Flow {
    pub punctures: Option<PuncturesRun>,
    pub delivery: Option<DeliveryRun>,
    pub healing: Option<SimulateRun>,
}

/// Stage 1 for one map: punctures -> channels, both from the stream `seed`. `device_params`
/// holds the hand-placement jitters (`[params.device]`).
#[allow(clippy::too_many_arguments)]
pub fn channels(
    device: &Device,
    zone: &Zone,
    technique: &Technique,
    column: &SkinColumn,
    injury: &InjuryParams,
    device_params: &crate::params::DeviceParams,
    seed: u64,
    t: &mut Timings,
) -> Result<(PunctureSet, ChannelSet), DeviceError> {
    let t0 = Instant::now();
    let set = crate::device::generate_with(device, zone, technique, seed, device_params)?;
    t.add("generate punctures", t0);
    let t0 = Instant::now();
    let ch = injury::channels(&set, column, device, injury, seed);
    t.add("channels", t0);
    Ok((set, ch))
}

/// Stage 1 for zone `zi` of a scenario, from the zone's stream.
pub fn zone_channels(
    s: &Scenario,
    zi: usize,
    t: &mut Timings,
) -> Result<(PunctureSet, ChannelSet), DeviceError> {
    let zp = &s.zones[zi];
    channels(
        &zp.device,
        &zp.zone,
        &s.technique,
        &zp.column,
        &s.injury,
        &s.params.device,
        zone_seed(s.seed, zi),
        t,
    )
}

/// Stage 1 for every zone, with the zone summaries and the session time (`punctures.json`).
/// Progress per zone (stage `punctures`).
pub fn punctures(
    s: &Scenario,
    progress: Progress<'_>,
    t: &mut Timings,
) -> Result<PuncturesRun, DeviceError> {
    let mut zones = Vec::new();
    let mut sets = Vec::new();
    for (zi, zp) in s.zones.iter().enumerate() {
        progress("punctures", zi, s.zones.len());
        let (set, ch) = zone_channels(s, zi, t)?;
        let t0 = Instant::now();
        zones.push(punct::summarise(zp, &set, &ch, s.technique.passes));
        t.add("summarise", t0);
        sets.push((set, ch, zp.column.clone(), zp.device.clone()));
    }
    progress("punctures", s.zones.len(), s.zones.len());
    let session = punct::session_time(s, &sets.iter().map(|x| &x.0).collect::<Vec<_>>());
    Ok(PuncturesRun {
        report: punct::report(s, zones, session),
        sets,
    })
}

/// Delivery: the plan's zone (stage 1 from the zone's stream), then both arms.
pub fn deliver(
    s: &Scenario,
    plan: &DeliveryPlan,
    progress: Progress<'_>,
    t: &mut Timings,
) -> Result<DeliveryRun, DeliveryError> {
    progress("delivery: punctures", 0, 3);
    let zi = delivery::plan_zone(s, plan)?;
    let (set, ch) = zone_channels(s, zi, t).map_err(|e| DeliveryError::Invalid(e.to_string()))?;
    delivery::deliver(s, plan, zi, set, ch, progress, t)
}

/// Per session: healing -> outcomes with the lumped model, every zone (progress per zone,
/// stage `healing`).
pub fn heal(
    s: &Scenario,
    zones: &PuncturesRun,
    p: &HealingParams,
    progress: Progress<'_>,
    t: &mut Timings,
) -> Result<SimulateRun, SimulateError> {
    let protocol = simulate::protocol_of(s)?;
    let n = zones.sets.len();
    let mut healed = Vec::new();
    let mut results = Vec::new();
    for (zi, ((set, ch, column, _), summary)) in
        zones.sets.iter().zip(&zones.report.zones).enumerate()
    {
        progress("healing", zi, n);
        let t0 = Instant::now();
        let z = ZoneInjury {
            name: &summary.name,
            site: &summary.site,
            set,
            channels: ch,
            column,
        };
        let seed = crate::rng::derive(s.seed, &[crate::rng::tag::OUTCOMES, zi as u64]);
        let (zone, res) = simulate::heal_zone(s, &protocol, &z, p, seed)?;
        t.add("healing", t0);
        healed.push(zone);
        results.push(res);
    }
    progress("healing", n, n);
    Ok(SimulateRun {
        report: simulate::report(s, &protocol, healed),
        zones: results,
        protocol,
        unit_cells: Vec::new(),
        patches: Vec::new(),
    })
}

/// The spatial resolution of every zone: the unit cell around one channel, or the 3-D patch
/// over each session's puncture map (session 1: the zone's map; later sessions: a new map of
/// the same device and technique). Nominal parameters; outcomes and bands stay the lumped
/// model's. Progress per step (stage `<resolution> `<zone>`: day d of D`).
pub fn spatial(
    s: &Scenario,
    zones: &PuncturesRun,
    run: &mut SimulateRun,
    resolution: Resolution,
    p: &HealingParams,
    ctl: &Control<'_>,
    t: &mut Timings,
) -> Result<(), SimulateError> {
    use crate::healing::params::DAY;
    use crate::healing::spatial::{RunControl, StepProgress as Step};
    let t0 = Instant::now();
    let times = simulate::SpatialTimes::of(&run.protocol);
    for (zi, ((set, ch, column, _), summary)) in
        zones.sets.iter().zip(&zones.report.zones).enumerate()
    {
        let z = ZoneInjury {
            name: &summary.name,
            site: &summary.site,
            set,
            channels: ch,
            column,
        };
        let ckpt = ctl.checkpoint_dir.as_ref().map(|d| {
            simulate::checkpoint_spec(
                s,
                d,
                &summary.name,
                resolution,
                ctl.checkpoint_interval_days,
            )
        });
        let mut step = |pr: &Step| {
            (ctl.progress)(
                &format!(
                    "{} `{}`: day {:.0} of {:.0}",
                    resolution.name(),
                    summary.name,
                    pr.t_s / DAY,
                    pr.t_end_s / DAY
                ),
                pr.step as usize,
                pr.steps as usize,
            );
        };
        let mut rc = RunControl {
            checkpoint: ckpt.clone(),
            stop_after_steps: ctl.stop_after_steps,
            progress: Some(&mut step),
        };
        if resolution == Resolution::UnitCell {
            let cell = simulate::unit_cell_zone(s, &run.protocol, &z, p, &times, &mut rc)?;
            run.unit_cells.push(cell);
        } else {
            // Each later session's puncture map, from its own stream.
            let zp = &s.zones[zi];
            let mut later = Vec::new();
            for k in 1..run.protocol.session_times_s.len() {
                let seed =
                    crate::rng::derive(s.seed, &[crate::rng::tag::SESSION, zi as u64, k as u64]);
                let mut scratch = Timings::default();
                let (_, ch_k) = channels(
                    &zp.device,
                    &zp.zone,
                    &s.technique,
                    &zp.column,
                    &s.injury,
                    &s.params.device,
                    seed,
                    &mut scratch,
                )?;
                later.push(ch_k);
            }
            let patch = simulate::patch_zone(s, &run.protocol, &z, &later, p, &times, &mut rc)?;
            run.patches.push(patch);
        }
        if let Some(c) = &ckpt {
            // The zone is done: its checkpoint is no longer needed.
            let _ = std::fs::remove_file(&c.path);
        }
    }
    match resolution {
        Resolution::Patch => {
            t.add("healing 3-D patch", t0);
            run.report.resolution = "patch".into();
        }
        _ => {
            t.add("healing unit cell", t0);
            run.report.resolution = "unit_cell".into();
        }
    }
    Ok(())
}
