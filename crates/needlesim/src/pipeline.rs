//! The punctures stage's outputs: the summary of each zone's punctures and channels
//! ([`summarise`]), the session time and the content of `punctures.json`.
//!
//! The zone loop that produces them is the study pipeline's (`crate::study::pipeline`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::device::{self, Device, PunctureSet};
use crate::injury::{self, ChannelSet};
use crate::scenario::{Numbing, Scenario};
use crate::skin::{LayerKind, Person, SkinColumn};
use crate::units::{MINUTE, per_cm2, to_mm, to_um};

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
}

/// The session time estimate: preparation, numbing, the needling of every zone, aftercare.
pub fn session_time(s: &Scenario, sets: &[&PunctureSet]) -> SessionTime {
    let needling_s: f64 = sets.iter().map(|p| p.needling_time_s).sum();
    SessionTime {
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
    }
}

/// The content of `punctures.json` from the zone summaries and the session time.
pub fn report(s: &Scenario, zones: Vec<ZoneSummary>, session: SessionTime) -> PuncturesReport {
    PuncturesReport {
        schema_version: crate::SCHEMA_VERSION.into(),
        needlesim_version: env!("CARGO_PKG_VERSION").into(),
        title: s.title.clone(),
        seed: s.seed,
        person: s.person.clone(),
        zones,
        session,
        warnings: s.warnings.clone(),
    }
}

/// The summary of one zone's punctures and channels (`passes`: the technique's passes).
pub fn summarise(
    zp: &crate::scenario::ZoneSetup,
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
