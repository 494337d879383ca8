//! The 3-D patch: the spatial kinetics of [`super::spatial`] on a square piece of a zone, over
//! the zone's real puncture map.
//!
//! A [`Grid3`] of `n × n` uniform columns (`voxel_m`, default 25 µm) over the dermis
//! (papillary on top of reticular; z = 0 at the dermo-epidermal junction), uniform z across the
//! papillary dermis and growing geometrically with depth in the reticular dermis (coarse where
//! nothing is resolved but the needle tips). Zero flux on every face: the lateral faces are cut
//! out of a larger treated area, so zero flux is the mirror image of the patch beyond its edge
//! (exact for a periodic or symmetric map, an approximation for a random one within a
//! diffusion length of the edge). Each session's channels (position, depth, bleeding: from
//! `injury::channels` on the device's puncture map) deposit, voxel by voxel, the damaged core
//! (`damage_halo_factor` × the displaced volume) and the blood-filled lumen (recoil × needle
//! radius), as the unit cell does for its one channel. Same parameters, same kinetics, same
//! Strang splitting; the pointwise integrator is ROS2 ([`Integrator::Rosenbrock`]).

use super::lumped::InjuryInput;
use super::model::BlockInjury;
use super::params::HealingParams;
use super::spatial::{Integrator, SpatialError, SpatialModel};
use crate::injury::ChannelSet;
use crate::skin::{LayerKind, SkinColumn};
use crate::transport::Grid3;

/// Size and resolution of a patch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PatchGrid {
    /// Side of the square patch, m (rounded to a whole number of voxels).
    pub size_m: f64,
    /// Lateral voxel size, m.
    pub voxel_m: f64,
    /// Cells across the papillary dermis (uniform).
    pub nz_papillary: usize,
    /// Cells across the reticular dermis (growing with depth by `reticular_ratio`).
    pub nz_reticular: usize,
    /// Ratio of successive reticular cell heights.
    pub reticular_ratio: f64,
}

impl Default for PatchGrid {
    fn default() -> Self {
        PatchGrid {
            size_m: crate::protocol::DEFAULT_PATCH_SIZE_M,
            voxel_m: crate::protocol::DEFAULT_PATCH_VOXEL_M,
            nz_papillary: 4,
            nz_reticular: 10,
            reticular_ratio: 1.25,
        }
    }
}

/// Most voxels a patch may have (18 doubles each: 1.4 GB of fields).
pub const MAX_PATCH_VOXELS: usize = 10_000_000;

/// Lateral sub-samples per voxel side for the disc overlaps.
const SUB: usize = 6;

/// A square 3-D patch of a zone.
pub struct Patch {
    pub model: SpatialModel,
    pub grid: Grid3,
    /// Voxels per side.
    pub n: usize,
    /// Side, m.
    pub size_m: f64,
    /// Lateral voxel size, m.
    pub voxel_m: f64,
    /// Depth of the dermo-epidermal junction below the skin surface, m.
    pub dej_m: f64,
    /// Position of the patch's corner in the zone's coordinates (puncture map), m.
    pub origin_m: [f64; 2],
}

/// Faces from 0 to `len` in `n` cells growing geometrically by `ratio`.
fn graded(len: f64, n: usize, ratio: f64) -> Vec<f64> {
    let w: Vec<f64> = (0..n).map(|i| ratio.powi(i as i32)).collect();
    let tot: f64 = w.iter().sum();
    let mut f = vec![0.0];
    let mut acc = 0.0;
    for x in w {
        acc += x / tot * len;
        f.push(acc);
    }
    if let Some(last) = f.last_mut() {
        *last = len;
    }
    f
}

/// The injury of one session in a patch, kept sparse: the voxels a channel touches, and the
/// epidermal values every papillary voxel carries.
#[derive(Clone, Debug, Default)]
pub struct PatchInjury {
    /// (voxel, damaged volume fraction, blood-filled volume fraction), sorted by voxel.
    touched: Vec<(usize, f64, f64)>,
    halo: f64,
    epidermis_injured_fraction: f64,
    open_surface_fraction: f64,
    /// Channels that touched the patch.
    pub channels: usize,
}

impl PatchInjury {
    /// The injury of voxel `v` of layer `layer`.
    pub fn at(&self, v: usize, layer: usize) -> BlockInjury {
        let (damaged, blood) = match self.touched.binary_search_by_key(&v, |e| e.0) {
            Ok(q) => (self.touched[q].1, self.touched[q].2),
            Err(_) => (0.0, 0.0),
        };
        let pap = layer == 0;
        BlockInjury {
            injured_fraction: damaged / self.halo,
            blood_fraction: blood,
            epidermis_injured_fraction: if pap {
                self.epidermis_injured_fraction
            } else {
                0.0
            },
            open_surface_fraction: if pap { self.open_surface_fraction } else { 0.0 },
        }
    }

    /// Volume-weighted mean damaged (needle-displaced × halo) fraction of each layer.
    pub fn damaged_fraction(&self, patch: &Patch) -> [f64; 2] {
        let [n, _, nz] = patch.model.shape();
        let zf = patch.grid.z_faces();
        let mut acc = [0.0; 2];
        let mut vol = [0.0; 2];
        for k in 0..nz {
            let l = patch.model.layer_of(k * n * n);
            vol[l] += (zf[k + 1] - zf[k]) * (n * n) as f64;
        }
        for &(v, d, _) in &self.touched {
            let k = v / (n * n);
            acc[patch.model.layer_of(v)] += d * (zf[k + 1] - zf[k]);
        }
        [acc[0] / vol[0], acc[1] / vol[1]]
    }
}

impl Patch {
    /// Builds a patch of `g` over `column` (its corner at `origin_m` of the zone's map).
    pub fn new(
        column: &SkinColumn,
        g: &PatchGrid,
        origin_m: [f64; 2],
        age_years: f64,
        phototype: u8,
        p: &HealingParams,
    ) -> Result<Self, SpatialError> {
        if !(g.voxel_m.is_finite() && g.voxel_m > 0.0 && g.size_m.is_finite() && g.size_m > 0.0) {
            return Err(SpatialError::Setup(format!(
                "patch size {} m and voxel {} m must be finite and > 0",
                g.size_m, g.voxel_m
            )));
        }
        if g.nz_papillary < 1
            || g.nz_reticular < 1
            || !g.reticular_ratio.is_finite()
            || g.reticular_ratio < 1.0
        {
            return Err(SpatialError::Setup(format!("patch grid too small: {g:?}")));
        }
        let n = ((g.size_m / g.voxel_m).round() as usize).max(1);
        let nz = g.nz_papillary + g.nz_reticular;
        if n.saturating_mul(n).saturating_mul(nz) > MAX_PATCH_VOXELS {
            return Err(SpatialError::Setup(format!(
                "a patch of {:.2} mm at {:.1} µm has {n} × {n} × {nz} voxels, more than the \
                 limit of {MAX_PATCH_VOXELS}; use a smaller patch_size_mm or a larger \
                 patch_voxel_um",
                g.size_m * 1e3,
                g.voxel_m * 1e6
            )));
        }
        let h_pd = column.layer(LayerKind::PapillaryDermis).thickness_m;
        let h_rd = column.layer(LayerKind::ReticularDermis).thickness_m;
        let mut z_faces = graded(h_pd, g.nz_papillary, 1.0);
        for z in graded(h_rd, g.nz_reticular, g.reticular_ratio)
            .into_iter()
            .skip(1)
        {
            z_faces.push(h_pd + z);
        }
        let grid = Grid3::with_z_faces(n, n, g.voxel_m, g.voxel_m, z_faces)?;
        let model = SpatialModel::with_integrator(
            grid.clone().into(),
            column,
            age_years,
            phototype,
            p,
            Integrator::Rosenbrock,
        )?;
        Ok(Patch {
            model,
            grid,
            n,
            size_m: n as f64 * g.voxel_m,
            voxel_m: g.voxel_m,
            dej_m: column.dej_m(),
            origin_m,
        })
    }

    /// The corner that centres a patch of side `size_m` on the channels of `ch` (the middle of
    /// their bounding box), or an error when the channels do not cover the patch.
    pub fn centred_origin(ch: &ChannelSet, size_m: f64) -> Result<[f64; 2], SpatialError> {
        let mut lo = [f64::INFINITY; 2];
        let mut hi = [f64::NEG_INFINITY; 2];
        for c in &ch.channels {
            lo = [lo[0].min(c.x_m), lo[1].min(c.y_m)];
            hi = [hi[0].max(c.x_m), hi[1].max(c.y_m)];
        }
        let span = [hi[0] - lo[0], hi[1] - lo[1]];
        if !(span[0] >= size_m && span[1] >= size_m) {
            return Err(SpatialError::Setup(format!(
                "the zone's punctures span {:.2} × {:.2} mm, less than the patch \
                 (patch_size_mm = {:.2}); set protocol.patch_size_mm to at most {:.2}",
                span[0].max(0.0) * 1e3,
                span[1].max(0.0) * 1e3,
                size_m * 1e3,
                (span[0].min(span[1]).max(0.0) * 1e3 * 100.0).floor() / 100.0
            )));
        }
        Ok([
            0.5 * (lo[0] + hi[0]) - 0.5 * size_m,
            0.5 * (lo[1] + hi[1]) - 0.5 * size_m,
        ])
    }

    /// The voxels of the x-z plane through row `j` (k-major, x fastest): a cross-section.
    pub fn plane(&self, j: usize) -> Vec<usize> {
        let [n, _, nz] = self.model.shape();
        let j = j.min(n - 1);
        (0..nz)
            .flat_map(|k| (0..n).map(move |i| (k * n + j) * n + i))
            .collect()
    }

    /// The row through the channel of `ch` nearest the patch centre (the cross-section's
    /// plane), or the middle row without channels.
    pub fn row_through_channel(&self, ch: &ChannelSet) -> usize {
        let c = [
            self.origin_m[0] + 0.5 * self.size_m,
            self.origin_m[1] + 0.5 * self.size_m,
        ];
        let best = ch.channels.iter().min_by(|a, b| {
            let da = (a.x_m - c[0]).powi(2) + (a.y_m - c[1]).powi(2);
            let db = (b.x_m - c[0]).powi(2) + (b.y_m - c[1]).powi(2);
            da.total_cmp(&db)
        });
        match best {
            Some(b) => (((b.y_m - self.origin_m[1]) / self.voxel_m).floor().max(0.0) as usize)
                .min(self.n - 1),
            None => self.n / 2,
        }
    }

    /// The injury of one session's channels `ch` (zone coordinates): each channel of depth
    /// `depth_m` deposits, per voxel, the overlap of its damaged core (radius
    /// `√(halo) × needle radius at that depth`, averaged over 4 depths per cell) and, in the
    /// reticular dermis or where the channel bleeds, of its open lumen (recoil × needle radius),
    /// from `6 × 6` sub-samples per voxel; overlaps of neighbouring channels add up to at most
    /// the whole voxel. The epidermal values (not resolved laterally) are the set's per-area
    /// values in every papillary voxel.
    pub fn channel_injury(&self, ch: &ChannelSet, p: &HealingParams) -> PatchInjury {
        let [n, _, nz] = self.model.shape();
        let zf = self.grid.z_faces();
        let dx = self.voxel_m;
        let halo = p.damage_halo_factor.max(1e-12);
        let mut acc: std::collections::BTreeMap<usize, (f64, f64)> = Default::default();
        let mut count = 0;
        let rmax = halo.sqrt().max(1.0) * ch.needle_radius_m;
        for c in &ch.channels {
            let x = c.x_m - self.origin_m[0];
            let y = c.y_m - self.origin_m[1];
            if x < -rmax || y < -rmax || x > self.size_m + rmax || y > self.size_m + rmax {
                continue;
            }
            let mut touched = false;
            for k in 0..nz {
                let l = self.model.layer_of(k * n * n);
                let (mut a_needle, mut a_open) = (0.0, 0.0);
                for q in 0..4 {
                    let z = self.dej_m + zf[k] + (q as f64 + 0.5) / 4.0 * (zf[k + 1] - zf[k]);
                    let rn = ch.needle_radius_at(c.depth_m, z);
                    a_needle += 0.25 * rn * rn;
                    a_open += 0.25 * (ch.recoil * rn).powi(2);
                }
                if a_needle <= 0.0 {
                    continue;
                }
                let rd = (halo * a_needle).sqrt();
                let ro = a_open.sqrt();
                let bleeds = l == 1 || c.bleeds;
                let i0 = ((x - rd) / dx).floor().max(0.0) as usize;
                let j0 = ((y - rd) / dx).floor().max(0.0) as usize;
                let i1 = (((x + rd) / dx).floor() as i64).min(n as i64 - 1);
                let j1 = (((y + rd) / dx).floor() as i64).min(n as i64 - 1);
                if i1 < 0 || j1 < 0 {
                    continue;
                }
                for j in j0..=j1 as usize {
                    for i in i0..=i1 as usize {
                        let (mut fd, mut fo) = (0usize, 0usize);
                        for sj in 0..SUB {
                            let py = (j as f64 + (sj as f64 + 0.5) / SUB as f64) * dx - y;
                            for si in 0..SUB {
                                let px = (i as f64 + (si as f64 + 0.5) / SUB as f64) * dx - x;
                                let r2 = px * px + py * py;
                                fd += usize::from(r2 <= rd * rd);
                                fo += usize::from(r2 <= ro * ro);
                            }
                        }
                        if fd == 0 {
                            continue;
                        }
                        touched = true;
                        let inv = 1.0 / (SUB * SUB) as f64;
                        let e = acc.entry((k * n + j) * n + i).or_insert((0.0, 0.0));
                        e.0 = (e.0 + fd as f64 * inv).min(1.0);
                        if bleeds {
                            e.1 = (e.1 + fo as f64 * inv).min(1.0);
                        }
                    }
                }
            }
            count += usize::from(touched);
        }
        PatchInjury {
            touched: acc.into_iter().map(|(v, (d, b))| (v, d, b)).collect(),
            halo,
            epidermis_injured_fraction: ch.injured_volume_fraction
                [LayerKind::ViableEpidermis.index()],
            open_surface_fraction: ch.open_surface_fraction,
            channels: count,
        }
    }

    /// The layer-uniform injury of the lumped model (every voxel of a layer gets its layer's
    /// lumped impulse): the agreement test's input.
    pub fn uniform_injury(&self, inj: &InjuryInput) -> Vec<BlockInjury> {
        (0..self.model.len())
            .map(|v| {
                let kind = if self.model.layer_of(v) == 0 {
                    LayerKind::PapillaryDermis
                } else {
                    LayerKind::ReticularDermis
                };
                inj.block(kind)
            })
            .collect()
    }
}
