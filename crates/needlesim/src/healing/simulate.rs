//! The `simulate` pipeline: punctures → channels → healing over the protocol → outcomes.
//!
//! ```text
//! for each zone: device::generate -> injury::channels -> lumped healing (nominal + samples)
//! ```
//!
//! The puncture map of a zone is generated once and its channel statistics are applied at every
//! session (each session's map would differ in detail, not in its per-layer averages, which are
//! all the lumped model reads).

use std::time::Instant;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::lumped::{InjuryInput, SessionInput};
use super::outcomes::{self, ZoneOutcomes, ZoneResult, ZoneRun};
use super::params::{DAY, HealingParams};
use crate::pipeline::{self, LayerValue, Timings};
use crate::protocol::{Concern, Protocol, Scar};
use crate::scenario::Scenario;
use crate::skin::{LayerKind, Person};
use crate::units::{per_cm2, to_um};

/// Why `simulate` could not run.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    #[error(
        "scenario `{0}` has no [protocol] section; `simulate` needs one\n  hint: add e.g.\n    [protocol]\n    sessions = 4\n    interval_days = 30\n    follow_up_days = 180\n    concerns = [\"acne_scars\"]"
    )]
    NoProtocol(String),
    #[error("generating punctures: {0}")]
    Device(#[from] crate::device::DeviceError),
    #[error("{resolution} of zone `{zone}`: {source}")]
    Spatial {
        resolution: &'static str,
        zone: String,
        #[source]
        source: super::spatial::SpatialError,
    },
    #[error("healing model of zone `{zone}`: {source}")]
    Ode {
        zone: String,
        #[source]
        source: super::ode::OdeError,
    },
}

/// The protocol as reported.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProtocolOut {
    pub session_days: Vec<f64>,
    pub follow_up_days: f64,
    pub concerns: Vec<Concern>,
    pub scars: Vec<ScarOut>,
    pub wrinkle_depth_mm: f64,
}

/// A scar type as reported.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScarOut {
    pub kind: crate::protocol::ScarKind,
    pub share: f64,
    pub depth_mm: f64,
    pub width_mm: f64,
}

/// The injury of one session, as the healing model reads it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InjuryOut {
    pub mean_depth_um: f64,
    pub density_per_cm2: f64,
    pub bleeding_fraction: f64,
    pub injured_volume_fraction: Vec<LayerValue>,
    pub open_surface_fraction: f64,
}

/// One zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ZoneHealing {
    pub name: String,
    pub site: String,
    pub injury: InjuryOut,
    pub outcomes: ZoneOutcomes,
}

/// The content of `outcomes.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SimulateReport {
    pub schema_version: String,
    pub needlesim_version: String,
    pub title: String,
    pub seed: u64,
    /// Model resolution used ("lumped": per-layer compartments; "unit_cell": outcomes from the
    /// lumped model plus the unit cell around one channel per zone for the cross-sections).
    pub resolution: String,
    pub person: Person,
    pub protocol: ProtocolOut,
    pub zones: Vec<ZoneHealing>,
    pub warnings: Vec<String>,
}

pub use crate::protocol::Resolution;

/// Days (from the first session) of the cross-sections.
pub const CROSS_SECTION_DAYS: [f64; 4] = [1.0, 7.0, 28.0, 180.0];

/// The 3-D patch run of one zone.
pub struct PatchZone {
    pub name: String,
    pub patch: super::patch::Patch,
    pub run: super::spatial::SpatialRun,
    /// Row (y index) of the cross-sections: through the channel nearest the patch centre.
    pub row: usize,
    /// Channels that touched the patch, per session.
    pub channels_per_session: Vec<usize>,
}

/// A progress callback: the zone's name and the spatial run's progress.
pub type ZoneProgress<'a> = dyn FnMut(&str, &super::spatial::StepProgress) + 'a;

/// Checkpoints, interruption and progress of the spatial resolutions. `Default`: none.
#[derive(Default)]
pub struct SpatialOptions<'a> {
    /// Folder of the checkpoints (`checkpoint_<zone>_<resolution>.bin`); `None`: no
    /// checkpoints. A checkpoint of the same run is resumed; one of another run is ignored
    /// with a notice; a zone's checkpoint is removed once the zone is done.
    pub checkpoint_dir: Option<std::path::PathBuf>,
    /// Simulated days between checkpoints (besides one before every session); 0 means 30.
    pub checkpoint_interval_days: f64,
    /// Stop each zone's spatial run after this many steps (tests).
    pub stop_after_steps: Option<u64>,
    /// Called after every step of a spatial run with the zone's name.
    pub progress: Option<&'a mut ZoneProgress<'a>>,
    /// Coarse progress of the stages (`punctures`, `healing` per zone); `None`: silent.
    pub stages: Option<crate::progress::Progress<'a>>,
}

/// FNV-1a 64 of a string (checkpoint fingerprints).
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The unit-cell run of one zone.
pub struct UnitCellZone {
    pub name: String,
    pub cell: super::spatial::UnitCell,
    pub run: super::spatial::SpatialRun,
}

/// The result of `simulate`: the report plus the per-zone series for CSV and plots.
pub struct SimulateRun {
    pub report: SimulateReport,
    pub zones: Vec<ZoneResult>,
    pub protocol: Protocol,
    pub timings: Timings,
    /// Unit-cell runs (resolution `unit_cell`), one per zone.
    pub unit_cells: Vec<UnitCellZone>,
    /// Patch runs (resolution `patch`), one per zone.
    pub patches: Vec<PatchZone>,
}

fn scar_out(s: &Scar) -> ScarOut {
    ScarOut {
        kind: s.kind,
        share: s.share,
        depth_mm: s.depth_m * 1e3,
        width_mm: s.width_m * 1e3,
    }
}

/// Runs `simulate` on a validated scenario with the default parameters.
pub fn run(s: &Scenario) -> Result<SimulateRun, SimulateError> {
    run_with(s, &HealingParams::default())
}

/// Runs `simulate` with given parameters (calibration, validation).
pub fn run_with(s: &Scenario, p: &HealingParams) -> Result<SimulateRun, SimulateError> {
    let punct = pipeline::run_punctures(s)?;
    run_prepared(s, &punct, p)
}

/// Runs `simulate` at a resolution with the default parameters, without checkpoints.
pub fn run_resolution(s: &Scenario, resolution: Resolution) -> Result<SimulateRun, SimulateError> {
    run_resolution_with(s, resolution, &mut SpatialOptions::default())
}

/// Runs `simulate` at a resolution with the default parameters. `unit_cell` adds, per zone,
/// the unit cell around a channel of the mean depth at the zone's density; `patch` adds, per
/// zone, the 3-D patch (`protocol.patch_size_mm`, `patch_voxel_um`) centred on the zone over
/// each session's puncture map (session 1: the zone's map; later sessions: a new map of the
/// same device and technique from a derived seed). Both use the nominal parameters (outcomes
/// and bands still come from the lumped model), are sampled daily and keep snapshots at
/// [`CROSS_SECTION_DAYS`] (those within the follow-up).
pub fn run_resolution_with(
    s: &Scenario,
    resolution: Resolution,
    opts: &mut SpatialOptions<'_>,
) -> Result<SimulateRun, SimulateError> {
    use super::spatial::{self, CheckpointSpec, RunControl, StepProgress};
    let p = HealingParams::default();
    let stages: crate::progress::Progress<'_> = opts.stages.unwrap_or(&crate::progress::silent);
    let punct = pipeline::run_punctures_with(s, stages)?;
    let mut run = run_prepared_with(s, &punct, &p, stages)?;
    if resolution == Resolution::Lumped {
        return Ok(run);
    }
    let t0 = Instant::now();
    let t_end = run.protocol.follow_up_s;
    let days = (t_end / DAY).floor() as usize;
    let out: Vec<f64> = (0..=days).map(|d| d as f64 * DAY).collect();
    let snaps: Vec<f64> = CROSS_SECTION_DAYS
        .iter()
        .map(|d| d * DAY)
        .filter(|&t| t <= t_end)
        .collect();
    // The patch's layer means are weekly, so that its steps can grow to 4 days.
    let weekly: Vec<f64> = (0..=days / 7).map(|w| w as f64 * 7.0 * DAY).collect();
    let scenario_key = fnv1a(&format!("{s:?}"));
    let interval_s = if opts.checkpoint_interval_days > 0.0 {
        opts.checkpoint_interval_days * DAY
    } else {
        30.0 * DAY
    };
    for (zi, ((set, ch, column, _), summary)) in
        punct.sets.iter().zip(&punct.report.zones).enumerate()
    {
        let zone = summary.name.clone();
        let label = if resolution == Resolution::Patch {
            "3-D patch"
        } else {
            "unit cell"
        };
        let err = |source| SimulateError::Spatial {
            resolution: label,
            zone: zone.clone(),
            source,
        };
        let density = set.density_m2();
        let lumped_inj = InjuryInput::from_channels(ch, density);
        let sessions: Vec<SessionInput> = run
            .protocol
            .session_times_s
            .iter()
            .map(|&t_s| SessionInput {
                t_s,
                injury: lumped_inj,
            })
            .collect();
        let tag = match resolution {
            Resolution::Patch => "patch",
            _ => "unit_cell",
        };
        let ckpt = opts.checkpoint_dir.as_ref().map(|d| CheckpointSpec {
            path: d.join(format!("checkpoint_{zone}_{tag}.bin")),
            fingerprint: format!(
                "needlesim {} {tag} zone {zone} scenario {scenario_key:016x}",
                env!("CARGO_PKG_VERSION")
            ),
            interval_s,
        });
        let mut cb = |pr: &StepProgress| {
            if let Some(f) = opts.progress.as_mut() {
                f(&zone, pr);
            }
        };
        let mut ctl = RunControl {
            checkpoint: ckpt.clone(),
            stop_after_steps: opts.stop_after_steps,
            progress: Some(&mut cb),
        };
        if resolution == Resolution::UnitCell {
            let mut cell = spatial::UnitCell::new(
                column,
                density,
                s.person.age_years,
                s.person.phototype,
                &p,
                &spatial::CellGrid::default(),
            )
            .map_err(err)?;
            cell.channel_depth_m = ch.mean_depth_m;
            let inj = cell.channel_injury(ch, ch.mean_depth_m, &p);
            let all: Vec<usize> = (0..cell.model.len()).collect();
            let r = spatial::run_controlled(
                &mut cell.model,
                &sessions,
                &|_, v, _| inj[v],
                t_end,
                &out,
                &snaps,
                &all,
                &spatial::Stepping::default(),
                &mut ctl,
            )
            .map_err(err)?;
            run.unit_cells.push(UnitCellZone {
                name: zone.clone(),
                cell,
                run: r,
            });
        } else {
            let pr = &run.protocol;
            let g = super::patch::PatchGrid {
                size_m: pr.patch_size_m,
                voxel_m: pr.patch_voxel_m,
                ..super::patch::PatchGrid::default()
            };
            let origin = super::patch::Patch::centred_origin(ch, g.size_m).map_err(err)?;
            let patch = super::patch::Patch::new(
                column,
                &g,
                origin,
                s.person.age_years,
                s.person.phototype,
                &p,
            )
            .map_err(err)?;
            // Each session's puncture map: the zone's for the first, new ones after.
            let zp = &s.zones[zi];
            let mut maps = vec![patch.channel_injury(ch, &p)];
            for k in 1..sessions.len() {
                let seed = crate::rng::derive(s.seed, &[8, zi as u64, k as u64]);
                let set_k = crate::device::generate(&zp.device, &zp.zone, &s.technique, seed)?;
                let ch_k = crate::injury::channels(&set_k, &zp.column, &zp.device, &s.injury, seed);
                maps.push(patch.channel_injury(&ch_k, &p));
            }
            let row = patch.row_through_channel(ch);
            let plane = patch.plane(row);
            let mut patch = patch;
            let layers: Vec<u8> = (0..patch.model.len())
                .map(|v| patch.model.layer_of(v) as u8)
                .collect();
            let r = spatial::run_controlled(
                &mut patch.model,
                &sessions,
                &|k, v, _| maps[k].at(v, layers[v] as usize),
                t_end,
                &weekly,
                &snaps,
                &plane,
                &spatial::Stepping::patch(),
                &mut ctl,
            )
            .map_err(err)?;
            run.patches.push(PatchZone {
                name: zone.clone(),
                patch,
                run: r,
                row,
                channels_per_session: maps.iter().map(|m| m.channels).collect(),
            });
        }
        if let Some(c) = &ckpt {
            // The zone is done: its checkpoint is no longer needed.
            let _ = std::fs::remove_file(&c.path);
        }
    }
    match resolution {
        Resolution::Patch => {
            timings_add(&mut run.timings, "healing 3-D patch", t0);
            run.report.resolution = "patch".into();
        }
        _ => {
            timings_add(&mut run.timings, "healing unit cell", t0);
            run.report.resolution = "unit_cell".into();
        }
    }
    Ok(run)
}

/// Runs the healing stage on already generated punctures (calibration reuses them).
pub fn run_prepared(
    s: &Scenario,
    punct: &pipeline::PuncturesRun,
    p: &HealingParams,
) -> Result<SimulateRun, SimulateError> {
    run_prepared_with(s, punct, p, &crate::progress::silent)
}

/// [`run_prepared`], reporting progress per zone (stage `healing`).
pub fn run_prepared_with(
    s: &Scenario,
    punct: &pipeline::PuncturesRun,
    p: &HealingParams,
    progress: crate::progress::Progress<'_>,
) -> Result<SimulateRun, SimulateError> {
    let protocol = s
        .protocol
        .clone()
        .ok_or_else(|| SimulateError::NoProtocol(s.title.clone()))?;
    let mut timings = punct.timings.clone();
    let mut zones = Vec::new();
    let mut results = Vec::new();
    for (zi, ((set, ch, column, _), summary)) in
        punct.sets.iter().zip(&punct.report.zones).enumerate()
    {
        progress("healing", zi, punct.sets.len());
        let t0 = Instant::now();
        let density = set.density_m2();
        let inj = InjuryInput::from_channels(ch, density);
        let sessions: Vec<SessionInput> = protocol
            .session_times_s
            .iter()
            .map(|&t_s| SessionInput { t_s, injury: inj })
            .collect();
        let run = ZoneRun {
            column,
            age_years: s.person.age_years,
            phototype: s.person.phototype,
            sessions,
            protocol: &protocol,
            spacing_m: if density > 0.0 {
                1.0 / density.sqrt()
            } else {
                1.0
            },
        };
        let seed = crate::rng::derive(s.seed, &[5, zi as u64]);
        let res = outcomes::run_zone(&run, p, seed).map_err(|source| SimulateError::Ode {
            zone: summary.name.clone(),
            source,
        })?;
        timings_add(&mut timings, "healing", t0);
        zones.push(ZoneHealing {
            name: summary.name.clone(),
            site: summary.site.clone(),
            injury: InjuryOut {
                mean_depth_um: to_um(ch.mean_depth_m),
                density_per_cm2: per_cm2(density),
                bleeding_fraction: ch.bleeding_fraction,
                injured_volume_fraction: LayerKind::ALL
                    .iter()
                    .map(|&layer| LayerValue {
                        layer,
                        value: ch.injured_volume_fraction[layer.index()],
                    })
                    .collect(),
                open_surface_fraction: ch.open_surface_fraction,
            },
            outcomes: res.outcomes.clone(),
        });
        results.push(res);
    }
    progress("healing", punct.sets.len(), punct.sets.len());
    let report = SimulateReport {
        schema_version: crate::SCHEMA_VERSION.into(),
        needlesim_version: env!("CARGO_PKG_VERSION").into(),
        title: s.title.clone(),
        seed: s.seed,
        resolution: "lumped".into(),
        person: s.person.clone(),
        protocol: ProtocolOut {
            session_days: protocol.session_times_s.iter().map(|t| t / DAY).collect(),
            follow_up_days: protocol.follow_up_s / DAY,
            concerns: protocol.concerns.clone(),
            scars: protocol.scars.iter().map(scar_out).collect(),
            wrinkle_depth_mm: protocol.wrinkle_depth_m * 1e3,
        },
        zones,
        warnings: s.warnings.clone(),
    };
    Ok(SimulateRun {
        report,
        zones: results,
        protocol,
        timings,
        unit_cells: Vec::new(),
        patches: Vec::new(),
    })
}

fn timings_add(t: &mut Timings, name: &str, t0: Instant) {
    let dt = t0.elapsed().as_secs_f64();
    match t.stages.iter_mut().find(|(n, _)| n == name) {
        Some((_, v)) => *v += dt,
        None => t.stages.push((name.to_string(), dt)),
    }
}
