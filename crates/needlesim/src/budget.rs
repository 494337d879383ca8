//! Run-wide memory budget: the memory a run will need, estimated from the validated scenario
//! **before anything large is allocated**, and a clear refusal when it exceeds the limit.
//!
//! What is counted (each from the sizes the run will use, times a per-item cost measured on the
//! release binary's peak resident memory):
//!
//! * punctures: the expected puncture count of every zone, summed (the maps and channels of all
//!   zones are kept until the outputs are written): [`BYTES_PER_PUNCTURE`];
//! * the delivery 3-D patch: its voxels (lateral cells² × z cells): [`BYTES_PER_DELIVERY_VOXEL`];
//! * the healing 3-D patch (`simulate --resolution patch`): its voxels, one zone at a time:
//!   [`BYTES_PER_HEALING_VOXEL`];
//! * the uncertainty samples of the lumped healing model (`simulate`): samples × series ×
//!   output times.
//!
//! The limit is [`DEFAULT_LIMIT_BYTES`] (4 GiB) unless the caller passes another: a fixed number
//! rather than a share of this machine's memory, so a scenario is accepted or refused the same
//! way on every machine, and small enough for the 8 GB laptops needlesim is meant to run on
//! beside the operating system and a browser. Every example and benchmark needs well under
//! 1 GiB.

use std::fmt::Write as _;

use crate::device::expected_density_per_pass_m2;
use crate::scenario::Scenario;

/// The default limit: 4 GiB (see the module documentation for the reason).
pub const DEFAULT_LIMIT_BYTES: u64 = 4 << 30;

/// Memory of a run before any zone: the binary, libraries, thread stacks and tables (~10 MB
/// measured idle), with a margin.
pub const BASE_BYTES: f64 = 32.0 * 1024.0 * 1024.0;

/// Per expected puncture, everything `punctures` keeps and builds (the puncture, its channel,
/// the generation buffers and the zone's CSV row): 134 B measured (peak resident memory of one
/// 0.36 m² roller zone, 826 k punctures, 118 MB; 4 zones of 207 k punctures: 84 MB), with a
/// margin.
pub const BYTES_PER_PUNCTURE: f64 = 160.0;

/// Per voxel of the delivery 3-D patch (fields, per-voxel conductances, the unsplit solver's
/// vectors and the multigrid hierarchy): 230 B measured (4 mm and 8 mm patches at 40 µm,
/// 0.29 M and 1.16 M voxels: 81 MB and 276 MB), with a margin.
pub const BYTES_PER_DELIVERY_VOXEL: f64 = 280.0;

/// Per voxel of the healing 3-D patch: 18 state doubles (144 B), as many again for the
/// checkpoint image written beside it, and the engine's work (164 B measured without a
/// checkpoint on 1 mm and 2 mm patches at 25 µm).
pub const BYTES_PER_HEALING_VOXEL: f64 = 320.0;

/// One part of an estimate.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// What it is, with its size (e.g. "3-D patch: 4000 × 4000 × 29 voxels").
    pub what: String,
    /// Estimated bytes.
    pub bytes: f64,
    /// What to change to make it smaller.
    pub change: String,
}

/// The memory a run is estimated to need.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemoryEstimate {
    pub items: Vec<Item>,
}

/// A run refused because its estimate exceeds the limit.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error(
    "this run would need about {} of memory, more than the limit of {}: {}\n  hint: {}",
    gib(*.estimate_bytes),
    gib(*.limit_bytes as f64),
    .breakdown,
    .change
)]
pub struct BudgetError {
    /// The estimate, bytes.
    pub estimate_bytes: f64,
    /// The limit, bytes.
    pub limit_bytes: u64,
    /// The parts of the estimate, largest first.
    pub breakdown: String,
    /// What to change (for the largest part), and how to raise the limit.
    pub change: String,
}

fn gib(bytes: f64) -> String {
    if bytes >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} GiB", bytes / (1024.0 * 1024.0 * 1024.0))
    } else {
        format!("{:.0} MiB", bytes / (1024.0 * 1024.0))
    }
}

impl MemoryEstimate {
    /// The whole estimate, bytes.
    pub fn total_bytes(&self) -> f64 {
        BASE_BYTES + self.items.iter().map(|i| i.bytes).sum::<f64>()
    }

    /// `Ok` when the estimate is within `limit_bytes`; otherwise the refusal, naming the
    /// estimate, the limit, its largest parts and what to change. A non-finite estimate (an
    /// absurd input) is refused too.
    pub fn check(&self, limit_bytes: u64) -> Result<(), BudgetError> {
        let total = self.total_bytes();
        if total.is_finite() && total <= limit_bytes as f64 {
            return Ok(());
        }
        let mut items = self.items.clone();
        items.sort_by(|a, b| b.bytes.total_cmp(&a.bytes));
        let mut breakdown = String::new();
        for (k, i) in items.iter().filter(|i| i.bytes > 0.0).take(3).enumerate() {
            let _ = write!(
                breakdown,
                "{}{} ({})",
                if k > 0 { "; " } else { "" },
                i.what,
                gib(i.bytes)
            );
        }
        let change = items.first().map_or(String::new(), |i| i.change.clone());
        Err(BudgetError {
            estimate_bytes: total,
            limit_bytes,
            breakdown,
            change: format!(
                "{change}; or, on a machine with the memory, raise the limit \
                 (`--memory-limit-gib`; in the library `RunOptions::memory_limit_bytes`)"
            ),
        })
    }
}

/// The expected punctures of every zone: `(zone name, count)` (the count
/// `device::generate` guards with, before clipping to the shape).
pub fn zone_punctures(s: &Scenario) -> Vec<(String, f64)> {
    s.zones
        .iter()
        .map(|zp| {
            let density = expected_density_per_pass_m2(&zp.device, &s.technique);
            let n = density * f64::from(s.technique.passes) * zp.zone.shape.area_m2();
            (zp.zone.name.clone(), n)
        })
        .collect()
}

fn punctures_item(zones: &[(String, f64)]) -> Item {
    let n: f64 = zones.iter().map(|z| z.1).sum();
    Item {
        what: format!(
            "{:.3e} punctures over {} zone{}",
            n,
            zones.len(),
            if zones.len() == 1 { "" } else { "s" }
        ),
        bytes: n * BYTES_PER_PUNCTURE,
        change: "use fewer or smaller zones, or fewer passes".into(),
    }
}

/// The estimate of `punctures` (every zone's map and channels).
pub fn punctures(s: &Scenario) -> MemoryEstimate {
    MemoryEstimate {
        items: vec![punctures_item(&zone_punctures(s))],
    }
}

/// The estimate of `simulate` at `resolution`: the punctures of every zone, the lumped model's
/// uncertainty samples and, for the patch, the largest zone's 3-D patch. A scenario without a
/// protocol gives the punctures only (the run refuses it anyway).
pub fn simulate(s: &Scenario, resolution: crate::protocol::Resolution) -> MemoryEstimate {
    let mut e = punctures(s);
    let Some(p) = &s.protocol else {
        return e;
    };
    let times = crate::healing::outcomes::output_grid(p).len() as f64;
    // Per sample: the derived series (19) and the two layers' trajectories.
    let per_sample = (19 + 2 * crate::healing::model::NPAP) as f64 * 8.0 * times;
    e.items.push(Item {
        what: format!(
            "{} uncertainty samples × {times:.0} output times",
            p.samples
        ),
        bytes: f64::from(p.samples) * per_sample,
        change: "lower protocol.uncertainty_samples".into(),
    });
    if resolution == crate::protocol::Resolution::Patch {
        let g = crate::healing::patch::PatchGrid::default();
        let n = (p.patch_size_m / p.patch_voxel_m).round().max(1.0);
        let nz = (g.nz_papillary + g.nz_reticular) as f64;
        e.items.push(Item {
            what: format!(
                "healing 3-D patch: {n:.0} × {n:.0} × {nz:.0} voxels ({:.1} mm at {:.1} µm)",
                p.patch_size_m * 1e3,
                p.patch_voxel_m * 1e6
            ),
            bytes: n * n * nz * BYTES_PER_HEALING_VOXEL,
            change: "use a smaller protocol.patch_size_mm or a larger protocol.patch_voxel_um"
                .into(),
        });
    }
    e
}

/// The estimate of `deliver`: the punctures of the plan's zone and, for the patch geometry, the
/// 3-D patch (its z cells as the delivery model lays them out for a channel of the needle's
/// length).
pub fn delivery(s: &Scenario, plan: &crate::delivery::run::DeliveryPlan) -> MemoryEstimate {
    let zones: Vec<(String, f64)> = zone_punctures(s)
        .into_iter()
        .filter(|z| z.0 == plan.zone)
        .collect();
    let mut e = MemoryEstimate {
        items: vec![punctures_item(&zones)],
    };
    if let crate::delivery::run::GeometryKind::Patch { side_m } = plan.geometry
        && let Some(zp) = s.zones.iter().find(|z| z.zone.name == plan.zone)
    {
        let res = &plan.resolution;
        let (w, h) = zp.zone.shape.bbox();
        let nx = (side_m.min(w) / res.dx_patch_m).round().max(1.0);
        let ny = (side_m.min(h) / res.dx_patch_m).round().max(1.0);
        let depth = zp.device.needle().length_m;
        let nz =
            (crate::delivery::model::z_faces(&zp.column, depth, res).len() as f64 - 1.0).max(1.0);
        e.items.push(Item {
            what: format!(
                "delivery 3-D patch: {nx:.0} × {ny:.0} × {nz:.0} voxels ({:.1} × {:.1} mm at \
                 {:.1} µm)",
                side_m.min(w) * 1e3,
                side_m.min(h) * 1e3,
                res.dx_patch_m * 1e6
            ),
            bytes: nx * ny * nz * BYTES_PER_DELIVERY_VOXEL,
            change: "use a smaller delivery.patch_side_mm or a larger delivery.patch_voxel_um"
                .into(),
        });
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(bytes: f64) -> Item {
        Item {
            what: format!("part of {bytes} B"),
            bytes,
            change: "change it".into(),
        }
    }

    #[test]
    fn within_the_limit_passes_and_above_it_names_estimate_limit_and_change() {
        let e = MemoryEstimate {
            items: vec![item(1e6), item(5e9)],
        };
        assert!(e.check(8 << 30).is_ok());
        let err = e.check(DEFAULT_LIMIT_BYTES).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("4.7 GiB"), "{msg}");
        assert!(msg.contains("limit of 4.0 GiB"), "{msg}");
        assert!(msg.contains("change it"), "{msg}");
        assert!(msg.find("part of 5000000000").unwrap() < msg.find("part of 1000000").unwrap());
        let nan = MemoryEstimate {
            items: vec![item(f64::NAN)],
        };
        assert!(nan.check(u64::MAX).is_err());
    }
}
