//! The pipeline: one function per command, calling the named stages in order.
//!
//! ```text
//! for each zone:  device::generate -> injury::channels -> summarise
//! then:           session time
//! ```
//!
//! Each stage is timed ([`Timings`]) so `--timings` can print what it cost.

use std::time::Instant;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::device::{self, Device, DeviceError, PunctureSet};
use crate::injury::{self, ChannelSet};
use crate::scenario::{Numbing, Scenario};
use crate::skin::{LayerKind, Person, SkinColumn};
use crate::units::{MINUTE, per_cm2, to_mm, to_um};

/// Wall time spent per stage, s.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Timings {
    pub stages: Vec<(String, f64)>,
}

impl Timings {
    fn add(&mut self, name: &str, t0: Instant) {
        let dt = t0.elapsed().as_secs_f64();
        match self.stages.iter_mut().find(|(n, _)| n == name) {
            Some((_, t)) => *t += dt,
            None => self.stages.push((name.to_string(), dt)),
        }
    }
}

/// One layer of the column, in output units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LayerOut {
    pub layer: LayerKind,
    pub top_um: f64,
    pub thickness_um: f64,
    pub thickness_sd_um: f64,
    pub source: String,
}

/// Depth statistics of the channels, µm.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DepthStats {
    pub nominal_um: f64,
    /// Centre of the model's depth distribution before truncation at the needle length.
    pub model_mean_um: f64,
    /// Realised mean depth / nominal depth.
    pub ratio: f64,
    /// Range of the model mean from the spread of published depth/length ratios (±2 SD).
    pub model_range_um: [f64; 2],
    pub mean_um: f64,
    pub sd_um: f64,
    pub p5_um: f64,
    pub p25_um: f64,
    pub p50_um: f64,
    pub p75_um: f64,
    pub p95_um: f64,
    pub min_um: f64,
    pub max_um: f64,
}

/// A per-layer value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LayerValue {
    pub layer: LayerKind,
    pub value: f64,
}

fn per_layer(v: &injury::PerLayer) -> Vec<LayerValue> {
    LayerKind::ALL
        .iter()
        .map(|&layer| LayerValue {
            layer,
            value: v[layer.index()],
        })
        .collect()
}

/// One point of the channel profile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProfilePoint {
    pub depth_um: f64,
    /// Needle radius at full insertion (injured tissue), µm.
    pub needle_radius_um: f64,
    /// Open channel radius right after withdrawal, µm.
    pub open_radius_um: f64,
}

/// The summary of one zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ZoneSummary {
    pub name: String,
    pub site: String,
    pub area_cm2: f64,
    pub device: String,
    pub insertion: device::InsertionMode,
    pub skin_thickness_mm: f64,
    pub layers: Vec<LayerOut>,
    pub punctures: u64,
    pub density_per_cm2: f64,
    /// Kinematic expectation for all passes, without randomness or edge losses.
    pub expected_density_per_cm2: f64,
    pub depth: DepthStats,
    /// Fraction of channels reaching into each layer.
    pub reach_fraction: Vec<LayerValue>,
    /// Fraction of channels ending in each layer.
    pub deepest_fraction: Vec<LayerValue>,
    pub bleeding_fraction: f64,
    pub injured_volume_fraction: Vec<LayerValue>,
    pub open_surface_fraction: f64,
    /// Extra surface slot length of rolling needles, µm.
    pub slot_length_um: f64,
    /// Profile of the mean channel.
    pub channel_profile: Vec<ProfilePoint>,
    pub needling_min: f64,
}

/// Session time estimate, minutes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SessionTime {
    pub preparation_min: f64,
    pub numbing: Numbing,
    pub numbing_min: f64,
    pub needling_min: f64,
    pub aftercare_min: f64,
    /// Preparation + numbing + needling + aftercare: the time a practitioner quotes.
    pub total_min: f64,
}

/// The content of `punctures.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PuncturesReport {
    pub schema_version: String,
    pub needlesim_version: String,
    pub title: String,
    pub seed: u64,
    pub person: Person,
    pub zones: Vec<ZoneSummary>,
    pub session: SessionTime,
    pub warnings: Vec<String>,
}

/// The full result of the punctures stage: the report plus the raw sets.
pub struct PuncturesRun {
    pub report: PuncturesReport,
    pub sets: Vec<(PunctureSet, ChannelSet, SkinColumn, Device)>,
    pub timings: Timings,
}

/// Runs `punctures` on a validated scenario.
pub fn run_punctures(s: &Scenario) -> Result<PuncturesRun, DeviceError> {
    run_punctures_with(s, &crate::progress::silent)
}

/// Runs `punctures`, reporting progress per zone (stage `punctures`), within the default
/// memory limit ([`crate::budget::DEFAULT_LIMIT_BYTES`]).
pub fn run_punctures_with(
    s: &Scenario,
    progress: crate::progress::Progress<'_>,
) -> Result<PuncturesRun, DeviceError> {
    run_punctures_limited(s, progress, crate::budget::DEFAULT_LIMIT_BYTES)
}

/// [`run_punctures_with`] within a memory limit of `limit_bytes`: the punctures of all zones
/// are estimated first ([`crate::budget::punctures`]) and a run above the limit is refused
/// ([`DeviceError::Budget`]) before anything is generated.
pub fn run_punctures_limited(
    s: &Scenario,
    progress: crate::progress::Progress<'_>,
    limit_bytes: u64,
) -> Result<PuncturesRun, DeviceError> {
    crate::budget::punctures(s).check(limit_bytes)?;
    let mut timings = Timings::default();
    let mut zones = Vec::new();
    let mut sets = Vec::new();
    for (zi, zp) in s.zones.iter().enumerate() {
        progress("punctures", zi, s.zones.len());
        let t0 = Instant::now();
        let seed_zone = crate::rng::derive(s.seed, &[crate::rng::tag::ZONE, zi as u64]);
        let set = device::generate(&zp.device, &zp.zone, &s.technique, seed_zone)?;
        timings.add("generate punctures", t0);
        let t0 = Instant::now();
        let ch = injury::channels(&set, &zp.column, &zp.device, &s.injury, seed_zone);
        timings.add("channels", t0);
        let t0 = Instant::now();
        zones.push(summarise(zp, &set, &ch, s.technique.passes));
        timings.add("summarise", t0);
        sets.push((set, ch, zp.column.clone(), zp.device.clone()));
    }
    progress("punctures", s.zones.len(), s.zones.len());
    let needling_s: f64 = sets.iter().map(|(p, ..)| p.needling_time_s).sum();
    let session = SessionTime {
        preparation_min: s.session.preparation_s / MINUTE,
        numbing: s.session.numbing,
        numbing_min: s.session.numbing.wait_s() / MINUTE,
        needling_min: needling_s / MINUTE,
        aftercare_min: s.session.aftercare_s / MINUTE,
        total_min: (s.session.preparation_s
            + s.session.numbing.wait_s()
            + needling_s
            + s.session.aftercare_s)
            / MINUTE,
    };
    let report = PuncturesReport {
        schema_version: crate::SCHEMA_VERSION.into(),
        needlesim_version: env!("CARGO_PKG_VERSION").into(),
        title: s.title.clone(),
        seed: s.seed,
        person: s.person.clone(),
        zones,
        session,
        warnings: s.warnings.clone(),
    };
    Ok(PuncturesRun {
        report,
        sets,
        timings,
    })
}

fn summarise(
    zp: &crate::scenario::ZonePlan,
    set: &PunctureSet,
    ch: &ChannelSet,
    passes: u32,
) -> ZoneSummary {
    let sorted = ch.sorted_depths();
    let n = sorted.len().max(1) as f64;
    // Fold from +0.0 so an empty zone reports 0, not -0.
    let mean = sorted.iter().fold(0.0, |a, d| a + d) / n;
    let sd = (sorted.iter().fold(0.0, |a, d| a + (d - mean).powi(2)) / n).sqrt();
    let pct = |p: f64| to_um(ch.depth_percentile(&sorted, p));
    let nominal = set.needle.length_m;
    let depth = DepthStats {
        nominal_um: to_um(nominal),
        model_mean_um: to_um(ch.mean_depth_m),
        ratio: mean / nominal,
        model_range_um: [
            to_um(ch.mean_depth_range_m[0]),
            to_um(ch.mean_depth_range_m[1]),
        ],
        mean_um: to_um(mean),
        sd_um: to_um(sd),
        p5_um: pct(5.0),
        p25_um: pct(25.0),
        p50_um: pct(50.0),
        p75_um: pct(75.0),
        p95_um: pct(95.0),
        min_um: sorted.first().map_or(0.0, |&d| to_um(d)),
        max_um: sorted.last().map_or(0.0, |&d| to_um(d)),
    };
    let steps = 40;
    let channel_profile = (0..=steps)
        .map(|i| {
            let z = ch.mean_depth_m * i as f64 / steps as f64;
            ProfilePoint {
                depth_um: to_um(z),
                needle_radius_um: to_um(ch.needle_radius_at(ch.mean_depth_m, z)),
                open_radius_um: to_um(ch.open_radius_at(ch.mean_depth_m, z)),
            }
        })
        .collect();
    ZoneSummary {
        name: zp.zone.name.clone(),
        site: zp.zone.site.name().into(),
        area_cm2: set.zone_area_m2 / crate::units::CM2,
        device: zp.device.kind_name().into(),
        insertion: set.insertion,
        skin_thickness_mm: to_mm(zp.column.skin_thickness_m()),
        layers: zp
            .column
            .layers
            .iter()
            .map(|l| LayerOut {
                layer: l.kind,
                top_um: to_um(l.top_m),
                thickness_um: to_um(l.thickness_m),
                thickness_sd_um: to_um(l.thickness_sd_m),
                source: l.source.clone(),
            })
            .collect(),
        punctures: set.punctures.len() as u64,
        density_per_cm2: per_cm2(set.density_m2()),
        expected_density_per_cm2: per_cm2(set.expected_density_per_pass_m2) * passes as f64,
        depth,
        reach_fraction: per_layer(&ch.reach_fraction),
        deepest_fraction: per_layer(&ch.deepest_fraction),
        bleeding_fraction: ch.bleeding_fraction,
        injured_volume_fraction: per_layer(&ch.injured_volume_fraction),
        open_surface_fraction: ch.open_surface_fraction,
        slot_length_um: to_um(ch.slot_length_m),
        channel_profile,
        needling_min: set.needling_time_s / MINUTE,
    }
}
