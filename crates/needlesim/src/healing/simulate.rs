//! The healing stages of `simulate`, one zone at a time: lumped healing over the protocol ->
//! outcomes ([`heal_zone`]), and the spatial resolutions ([`unit_cell_zone`], [`patch_zone`]).
//!
//! The zone loop, the random streams and the stage timings are the study pipeline's
//! (`crate::study::pipeline`); this module holds what one zone needs and the `outcomes.json`
//! types.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::lumped::{InjuryInput, SessionInput};
use super::outcomes::{self, ZoneOutcomes, ZoneResult, ZoneRun};
use super::params::{DAY, HealingParams};
use crate::device::PunctureSet;
use crate::injury::ChannelSet;
use crate::injury::LayerValue;
use crate::protocol::{Concern, Protocol, Scar};
use crate::scenario::Scenario;
use crate::skin::{LayerKind, Person, SkinColumn};
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
    /// Depth and width of the stretch marks, mm (when stretch_marks is a concern).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub striae_depth_mm: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub striae_width_mm: Option<f64>,
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
    /// Unit-cell runs (resolution `unit_cell`), one per zone.
    pub unit_cells: Vec<UnitCellZone>,
    /// Patch runs (resolution `patch`), one per zone.
    pub patches: Vec<PatchZone>,
}

fn scar_out(s: &Scar) -> ScarOut {
    ScarOut {
        kind: s.kind,
        share: s.share,
        depth_mm: crate::units::mm_out(s.depth_m),
        width_mm: crate::units::mm_out(s.width_m),
    }
}

/// The scenario's protocol, or the error `simulate` gives without one.
pub fn protocol_of(s: &Scenario) -> Result<Protocol, SimulateError> {
    s.protocol
        .clone()
        .ok_or_else(|| SimulateError::NoProtocol(s.title.clone()))
}

/// The sessions of a protocol, each with the same per-layer injury.
pub fn sessions_of(protocol: &Protocol, injury: InjuryInput) -> Vec<SessionInput> {
    protocol
        .session_times_s
        .iter()
        .map(|&t_s| SessionInput { t_s, injury })
        .collect()
}

/// One zone's channels as the healing stages read them.
pub struct ZoneInjury<'a> {
    pub name: &'a str,
    pub site: &'a str,
    pub set: &'a PunctureSet,
    pub channels: &'a ChannelSet,
    pub column: &'a SkinColumn,
}

/// Healing of one zone over the protocol's sessions with the lumped model (nominal parameters
/// and the protocol's parameter samples, from the stream `seed`): the zone's injury at every
/// session -> the healing cascade -> outcomes with bands. The puncture map is generated once and
/// its channel statistics are applied at every session (each session's map would differ in
/// detail, not in its per-layer averages, which are all the lumped model reads).
pub fn heal_zone(
    s: &Scenario,
    protocol: &Protocol,
    z: &ZoneInjury<'_>,
    p: &HealingParams,
    seed: u64,
) -> Result<(ZoneHealing, ZoneResult), SimulateError> {
    let (set, ch) = (z.set, z.channels);
    let density = set.density_m2();
    let inj = InjuryInput::from_channels(ch, density);
    let run = ZoneRun {
        column: z.column,
        age_years: s.person.age_years,
        phototype: s.person.phototype,
        sessions: sessions_of(protocol, inj),
        protocol,
        spacing_m: if density > 0.0 {
            1.0 / density.sqrt()
        } else {
            1.0
        },
        closure: &s.params.closure,
    };
    let res =
        outcomes::run_zone_with(&run, p, s.params.numerics.accuracy(), seed).map_err(|source| {
            SimulateError::Ode {
                zone: z.name.to_string(),
                source,
            }
        })?;
    let zone = ZoneHealing {
        name: z.name.to_string(),
        site: z.site.to_string(),
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
    };
    Ok((zone, res))
}

/// The content of `outcomes.json` (resolution `lumped`; the spatial stages rename it).
pub fn report(s: &Scenario, protocol: &Protocol, zones: Vec<ZoneHealing>) -> SimulateReport {
    let striae = protocol
        .concerns
        .contains(&crate::protocol::Concern::StretchMarks);
    let hp = &s.params.healing;
    SimulateReport {
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
            scars: protocol.scars_with(hp).iter().map(scar_out).collect(),
            wrinkle_depth_mm: crate::units::mm_out(protocol.wrinkle_depth_with(hp)),
            striae_depth_mm: striae.then(|| crate::units::mm_out(protocol.striae_depth_with(hp))),
            striae_width_mm: striae.then(|| crate::units::mm_out(protocol.striae_width_with(hp))),
        },
        zones,
        warnings: s.warnings.clone(),
    }
}

/// Output and snapshot times of the spatial resolutions.
pub struct SpatialTimes {
    pub t_end_s: f64,
    /// Daily (unit cell).
    pub daily_s: Vec<f64>,
    /// Weekly (the patch's layer means, so that its steps can grow to 4 days).
    pub weekly_s: Vec<f64>,
    /// [`CROSS_SECTION_DAYS`] within the follow-up.
    pub snapshots_s: Vec<f64>,
}

impl SpatialTimes {
    pub fn of(protocol: &Protocol) -> SpatialTimes {
        let t_end = protocol.follow_up_s;
        let days = (t_end / DAY).floor() as usize;
        SpatialTimes {
            t_end_s: t_end,
            daily_s: (0..=days).map(|d| d as f64 * DAY).collect(),
            weekly_s: (0..=days / 7).map(|w| w as f64 * 7.0 * DAY).collect(),
            snapshots_s: CROSS_SECTION_DAYS
                .iter()
                .map(|d| d * DAY)
                .filter(|&t| t <= t_end)
                .collect(),
        }
    }
}

/// The checkpoint of a zone's spatial run (`checkpoint_<zone>_<tag>.bin` in `dir`), identified
/// by the version, the resolution, the zone and the whole validated scenario.
pub fn checkpoint_spec(
    s: &Scenario,
    dir: &std::path::Path,
    zone: &str,
    resolution: Resolution,
    interval_days: f64,
) -> super::spatial::CheckpointSpec {
    let tag = match resolution {
        Resolution::Patch => "patch",
        _ => "unit_cell",
    };
    let scenario_key = fnv1a(&format!("{s:?}"));
    super::spatial::CheckpointSpec {
        path: dir.join(format!("checkpoint_{zone}_{tag}.bin")),
        fingerprint: format!(
            "needlesim {} {tag} zone {zone} scenario {scenario_key:016x}",
            env!("CARGO_PKG_VERSION")
        ),
        interval_s: if interval_days > 0.0 {
            interval_days * DAY
        } else {
            30.0 * DAY
        },
    }
}

/// The unit cell around a channel of the zone's mean depth at its density, run through the
/// protocol with the nominal parameters (sampled daily, snapshots at [`CROSS_SECTION_DAYS`]).
pub fn unit_cell_zone(
    s: &Scenario,
    protocol: &Protocol,
    z: &ZoneInjury<'_>,
    p: &HealingParams,
    times: &SpatialTimes,
    ctl: &mut super::spatial::RunControl<'_>,
) -> Result<UnitCellZone, SimulateError> {
    use super::spatial;
    let err = |source| SimulateError::Spatial {
        resolution: "unit cell",
        zone: z.name.to_string(),
        source,
    };
    let ch = z.channels;
    let density = z.set.density_m2();
    let sessions = sessions_of(protocol, InjuryInput::from_channels(ch, density));
    let mut cell = spatial::UnitCell::new(
        z.column,
        density,
        s.person.age_years,
        s.person.phototype,
        p,
        &s.params.numerics.cell_grid(),
    )
    .map_err(err)?;
    cell.channel_depth_m = ch.mean_depth_m;
    let inj = cell.channel_injury(ch, ch.mean_depth_m, p);
    let all: Vec<usize> = (0..cell.model.len()).collect();
    let r = spatial::run_controlled(
        &mut cell.model,
        &sessions,
        &|_, v, _| inj[v],
        times.t_end_s,
        &times.daily_s,
        &times.snapshots_s,
        &all,
        &s.params.numerics.cell_stepping(),
        ctl,
    )
    .map_err(err)?;
    Ok(UnitCellZone {
        name: z.name.to_string(),
        cell,
        run: r,
    })
}

/// The 3-D patch (`protocol.patch_size_mm`, `patch_voxel_um`) centred on the zone, over each
/// session's channels (`later_sessions[k - 1]` for session k > 0; session 0 is the zone's map),
/// run with the nominal parameters (layer means weekly, snapshots at [`CROSS_SECTION_DAYS`]).
pub fn patch_zone(
    s: &Scenario,
    protocol: &Protocol,
    z: &ZoneInjury<'_>,
    later_sessions: &[ChannelSet],
    p: &HealingParams,
    times: &SpatialTimes,
    ctl: &mut super::spatial::RunControl<'_>,
) -> Result<PatchZone, SimulateError> {
    use super::patch::{Patch, PatchGrid};
    use super::spatial;
    let err = |source| SimulateError::Spatial {
        resolution: "3-D patch",
        zone: z.name.to_string(),
        source,
    };
    let ch = z.channels;
    let density = z.set.density_m2();
    let sessions = sessions_of(protocol, InjuryInput::from_channels(ch, density));
    let g = PatchGrid {
        size_m: protocol.patch_size_m,
        voxel_m: protocol.patch_voxel_m,
        nz_papillary: s.params.numerics.patch_nz_papillary as usize,
        nz_reticular: s.params.numerics.patch_nz_reticular as usize,
        reticular_ratio: s.params.numerics.patch_reticular_ratio,
    };
    let origin = Patch::centred_origin(ch, g.size_m).map_err(err)?;
    let mut patch = Patch::new(
        z.column,
        &g,
        origin,
        s.person.age_years,
        s.person.phototype,
        p,
    )
    .map_err(err)?;
    let maps: Vec<_> = std::iter::once(ch)
        .chain(later_sessions)
        .take(sessions.len().max(1))
        .map(|c| patch.channel_injury(c, p))
        .collect();
    let row = patch.row_through_channel(ch);
    let plane = patch.plane(row);
    let layers: Vec<u8> = (0..patch.model.len())
        .map(|v| patch.model.layer_of(v) as u8)
        .collect();
    let r = spatial::run_controlled(
        &mut patch.model,
        &sessions,
        &|k, v, _| maps[k].at(v, layers[v] as usize),
        times.t_end_s,
        &times.weekly_s,
        &times.snapshots_s,
        &plane,
        &s.params.numerics.patch_stepping(),
        ctl,
    )
    .map_err(err)?;
    Ok(PatchZone {
        name: z.name.to_string(),
        patch,
        run: r,
        row,
        channels_per_session: maps.iter().map(|m| m.channels).collect(),
    })
}
