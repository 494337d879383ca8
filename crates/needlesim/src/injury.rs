//! Punctures + skin -> channels.
//!
//! Owns the needle-skin interaction: how deep a needle really goes (skin tents before it gives
//! way), the channel left behind (radius along depth), which layers it reaches, whether it
//! bleeds, and the injured volume and opened surface per layer. It reads a [`PunctureSet`] and a
//! [`SkinColumn`]; it does not move devices or model healing.
//!
//! ## Penetration (tenting) model
//!
//! A needle pressed on skin first indents it; the surface tents down by a loss `δ` before and
//! while the tip cuts, so the channel is shorter than the needle. We write
//!
//! ```text
//! δ = δ_ref · g_tip · g_mode / s          d_mean = max(L − δ, ρ_min · L)
//! g_tip = tan(β) / tan(β_ref)             (β: tip half-angle)
//! ```
//!
//! with `s` the relative skin stiffness. `δ_ref` is calibrated on the one in-vivo human
//! measurement (VT-04: a 600 µm needle hand-pressed into forearm skin reached ≈ 460 µm by OCT,
//! Donnelly et al. 2011, PMC3016610). Insertion force grows linearly with the tip's interfacial
//! area (Davis et al. 2004, J Biomech 37:1155), hence blunter tips tent more (`g_tip`). Fast,
//! motor-driven pens tent much less: their factor is calibrated on Sasaki 2019 (Aesthet Surg J
//! Open Forum, doi 10.1093/asjof/ojz017), where pen channel depths "closely approximated" the
//! 0.5 and 1.5 mm settings, read as a depth/length ratio of at least 0.9 at 0.5 mm. Individual
//! punctures scatter around the mean with a spread derived from the 0.64-0.90 range of
//! depth/length ratios in Cordeiro et al. 2020 (Pharm Res 37:174), taken as ±2 SD.
//!
//! ## Channel geometry
//!
//! At full insertion the needle occupies radius `r_n(z) = min(a, (d − z)·tan β)` at depth `z`
//! (`a`: shaft radius). That volume is the injured tissue. After withdrawal the tissue recoils
//! and the channel stays open with radius `recoil · r_n(z)`. Rolling needles enter obliquely
//! along the drum's arc and drag the surface opening into a slot (see [`rolling_slot_m`]).
//!
//! Volume and area fractions use the Boolean (Poisson) union `1 − exp(−n·ā)`, with `n` the
//! puncture density and `ā` the mean single-channel cross-section at that depth.

use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::device::{Device, InsertionMode, PunctureSet};
use crate::skin::{LayerKind, SkinColumn};

/// Parameters of the needle-skin interaction. Defaults carry their sources.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InjuryParams {
    /// Tenting loss of the reference needle hand-pressed into reference skin, m.
    /// **Calibrated** against VT-04 (600 µm → 460 µm, Donnelly et al. 2011): 140 µm.
    pub tenting_ref_m: f64,
    /// Tip half-angle of the reference needle, rad. **Assumed**: the pyramidal polymer needles
    /// of that study are about twice as tall as their base is wide, half-angle atan(0.25) ≈ 14°.
    pub tip_half_angle_ref_rad: f64,
    /// Tenting factor of fast pen stamping relative to hand pressing. **Calibrated** against
    /// Sasaki 2019 (channel depth ≈ setting at 0.5 and 1.5 mm; ratio ≥ 0.9 at 0.5 mm): 0.4.
    pub pen_mode_factor: f64,
    /// Tenting factor of rolling relative to hand pressing. **Assumed** 1.0: a hand-rolled drum
    /// presses each needle by hand force, like the reference insertion.
    pub rolling_mode_factor: f64,
    /// Relative skin stiffness (1 = reference forearm skin). Scenario `skin.relative_stiffness`.
    pub relative_stiffness: f64,
    /// Floor of the depth/length ratio. **Assumed** 0.5: below it a needle would not be
    /// described as penetrating at all; the smallest measured ratio is 0.64 (Cordeiro 2020).
    pub min_ratio: f64,
    /// Per-puncture SD of the depth/length ratio. **Derived**: the 0.64-0.90 range of
    /// Cordeiro et al. 2020 taken as ±2 SD gives 0.065.
    pub ratio_sd: f64,
    /// Open channel radius after withdrawal as a fraction of the needle radius. **Assumed** 0.5,
    /// so that 0.2-0.25 mm needles leave channels "tens of µm wide" (SCIENCE.md §2) and in line
    /// with 63-100 µm micropores measured after hydrogel microneedles (Tissue Eng Part C
    /// 2022;28:545).
    pub recoil: f64,
    /// Fraction of the geometric tip sweep of a rolling needle that tears the surface into a
    /// slot. **Assumed** 0.2 (skin largely moves with the needle).
    pub rolling_tear_fraction: f64,
    /// Areal density of papillary capillary loops, 1/m². **Assumed** 50 /mm²: one loop per dermal
    /// papilla (Braverman & Yen 1977, J Invest Dermatol 68:44), papillae about 150 µm apart.
    pub capillary_loops_per_m2: f64,
    /// Depth of the capillary loop apices below the dermal-epidermal junction, m. **Assumed**
    /// 30 µm (the loops run up into the papillae to just under the epidermis).
    pub capillary_apex_below_dej_m: f64,
    /// Radius of a capillary loop, m. **Assumed** 5 µm (capillary diameter about 10 µm).
    pub capillary_radius_m: f64,
    /// Measured realised depth/length ratio of the skin's species, replacing the tenting model
    /// (0: human skin, the tenting model). Set from [`crate::skin::Species::realised_depth`] by
    /// the scenario's `skin.species`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub species_depth_ratio: f64,
    /// Per-puncture SD of that ratio.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub species_depth_ratio_sd: f64,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

impl Default for InjuryParams {
    fn default() -> Self {
        InjuryParams {
            tenting_ref_m: 140e-6,
            tip_half_angle_ref_rad: 0.25f64.atan(),
            pen_mode_factor: 0.4,
            rolling_mode_factor: 1.0,
            relative_stiffness: 1.0,
            min_ratio: 0.5,
            ratio_sd: 0.065,
            recoil: 0.5,
            rolling_tear_fraction: 0.2,
            capillary_loops_per_m2: 50e6,
            species_depth_ratio: 0.0,
            species_depth_ratio_sd: 0.0,
            capillary_apex_below_dej_m: 30e-6,
            capillary_radius_m: 5e-6,
        }
    }
}

/// Insertion-mode tenting factor.
fn mode_factor(mode: InsertionMode, p: &InjuryParams) -> f64 {
    match mode {
        InsertionMode::PenStamping => p.pen_mode_factor,
        InsertionMode::HandStamping => 1.0,
        InsertionMode::Rolling => p.rolling_mode_factor,
    }
}

/// Mean effective penetration depth of a needle of nominal length `length_m` on `device`, m.
pub fn mean_depth(device: &Device, length_m: f64, p: &InjuryParams) -> f64 {
    if p.species_depth_ratio > 0.0 {
        return p.species_depth_ratio * length_m;
    }
    let needle = device.needle();
    let g_tip = (needle.tip_angle_rad / 2.0).tan() / p.tip_half_angle_ref_rad.tan();
    let delta =
        p.tenting_ref_m * g_tip * mode_factor(device.insertion_mode(), p) / p.relative_stiffness;
    (length_m - delta).max(p.min_ratio * length_m)
}

/// Surface slot length added by an obliquely entering roller needle, m.
///
/// A needle of length `L` on a drum of radius `R` touches the skin when its angle from the
/// vertical is `α₀ = acos(R / (R + L))`; while it is in the skin the drum rolls without slipping
/// and the tip sweeps `2·((R + L)·sin α₀ − R·α₀)` horizontally. Only the tear fraction of that
/// sweep opens the surface.
pub fn rolling_slot_m(drum_diameter_m: f64, length_m: f64, p: &InjuryParams) -> f64 {
    let r = drum_diameter_m / 2.0;
    let a0 = (r / (r + length_m)).acos();
    2.0 * ((r + length_m) * a0.sin() - r * a0) * p.rolling_tear_fraction
}

/// One channel.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Channel {
    pub x_m: f64,
    pub y_m: f64,
    pub t_s: f64,
    pub pass: u32,
    /// Effective penetration depth, m.
    pub depth_m: f64,
    /// Deepest layer the channel reaches.
    pub deepest: LayerKind,
    /// Whether the channel crosses a papillary capillary loop (pinpoint bleeding).
    pub bleeds: bool,
}

/// Per-layer numbers, in [`LayerKind::ALL`] order.
pub type PerLayer = [f64; 5];

// As written to the output files (`punctures.json`, `outcomes.json`); the doc line below is
// the JSON schema's description.
/// A per-layer value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LayerValue {
    pub layer: LayerKind,
    pub value: f64,
}

/// The channels of one puncture set in one skin column, with their summary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChannelSet {
    pub channels: Vec<Channel>,
    /// Needle shaft radius, m.
    pub needle_radius_m: f64,
    /// Needle tip half-angle, rad.
    pub tip_half_angle_rad: f64,
    /// Open/needle radius ratio after withdrawal.
    pub recoil: f64,
    /// Extra surface slot length of rolling needles, m (0 for pens and stamps).
    pub slot_length_m: f64,
    /// Model mean depth and its per-puncture SD, m.
    pub mean_depth_m: f64,
    pub depth_sd_m: f64,
    /// Depth range of the systematic model uncertainty (ratio ± 2 SD), m.
    pub mean_depth_range_m: [f64; 2],
    /// Fraction of channels reaching *into* each layer.
    pub reach_fraction: PerLayer,
    /// Fraction of channels whose deepest layer is each layer.
    pub deepest_fraction: PerLayer,
    pub bleeding_fraction: f64,
    /// Fraction of each layer's volume displaced by needles at full insertion.
    pub injured_volume_fraction: PerLayer,
    /// Fraction of the skin surface left open right after needling.
    pub open_surface_fraction: f64,
}

impl ChannelSet {
    /// Needle radius at depth `z` of a channel `depth` deep (at full insertion), m.
    pub fn needle_radius_at(&self, depth_m: f64, z_m: f64) -> f64 {
        if z_m > depth_m || z_m < 0.0 {
            0.0
        } else {
            self.needle_radius_m
                .min((depth_m - z_m) * self.tip_half_angle_rad.tan())
        }
    }

    /// Open channel radius at depth `z` right after withdrawal, m.
    pub fn open_radius_at(&self, depth_m: f64, z_m: f64) -> f64 {
        self.recoil * self.needle_radius_at(depth_m, z_m)
    }

    /// Depth percentiles (0-100) of the channels, m.
    pub fn depth_percentile(&self, sorted_depths: &[f64], pct: f64) -> f64 {
        if sorted_depths.is_empty() {
            return 0.0;
        }
        let pos = pct / 100.0 * (sorted_depths.len() - 1) as f64;
        let (i, f) = (pos.floor() as usize, pos.fract());
        let j = (i + 1).min(sorted_depths.len() - 1);
        sorted_depths[i] * (1.0 - f) + sorted_depths[j] * f
    }

    /// Channel depths, sorted.
    pub fn sorted_depths(&self) -> Vec<f64> {
        let mut d: Vec<f64> = self.channels.iter().map(|c| c.depth_m).collect();
        d.sort_by(f64::total_cmp);
        d
    }
}

/// Channels are computed in fixed-size chunks, each with its own random stream, so the result
/// is identical for any thread count.
const CHUNK: usize = 4096;

/// Turns punctures into channels in a skin column.
pub fn channels(
    set: &PunctureSet,
    column: &SkinColumn,
    device: &Device,
    p: &InjuryParams,
    seed: u64,
) -> ChannelSet {
    let needle = &set.needle;
    let length = needle.length_m;
    let mean = mean_depth(device, length, p);
    let (sd, lo) = if p.species_depth_ratio > 0.0 {
        (
            p.species_depth_ratio_sd * length,
            (p.species_depth_ratio - 4.0 * p.species_depth_ratio_sd).max(0.02) * length,
        )
    } else {
        (p.ratio_sd * length, p.min_ratio * length)
    };
    let beta = needle.tip_angle_rad / 2.0;
    let a = needle.diameter_m / 2.0;
    let slot = match device {
        Device::Roller(r) => rolling_slot_m(r.drum_diameter_m, length, p),
        _ => 0.0,
    };
    let dej = column.dej_m();
    let apex = dej + p.capillary_apex_below_dej_m;
    let plexus = column.layer(LayerKind::PapillaryDermis).bottom_m();

    let chans: Vec<Channel> = set
        .punctures
        .par_chunks(CHUNK)
        .enumerate()
        .flat_map_iter(|(ci, chunk)| {
            let mut rng = crate::rng::stream(seed, &[crate::rng::tag::CHANNEL_CHUNK, ci as u64]);
            chunk
                .iter()
                .map(|pu| {
                    // Truncated normal on [ρ_min L, L] by rejection (clamping would pile
                    // channels up at exactly the needle length).
                    let mut depth = mean;
                    for _ in 0..64 {
                        let z: f64 = StandardNormal.sample(&mut rng);
                        let d = mean + sd * z;
                        if (lo..=length).contains(&d) {
                            depth = d;
                            break;
                        }
                    }
                    // Bleeding: a channel reaching the subpapillary plexus always bleeds; one
                    // reaching past the loop apices bleeds if it crosses a loop (Poisson).
                    let bleeds = if depth >= plexus {
                        true
                    } else if depth > apex {
                        let r = a.min((depth - apex) * beta.tan()) + p.capillary_radius_m;
                        let prob =
                            1.0 - (-p.capillary_loops_per_m2 * std::f64::consts::PI * r * r).exp();
                        rng.random::<f64>() < prob
                    } else {
                        false
                    };
                    Channel {
                        x_m: pu.x_m,
                        y_m: pu.y_m,
                        t_s: pu.t_s,
                        pass: pu.pass,
                        depth_m: depth,
                        deepest: column.layer_at(depth),
                        bleeds,
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect();

    let n = chans.len().max(1) as f64;
    let mut reach = [0.0; 5];
    let mut deepest = [0.0; 5];
    for c in &chans {
        deepest[c.deepest.index()] += 1.0 / n;
        for r in reach.iter_mut().take(c.deepest.index() + 1) {
            *r += 1.0 / n;
        }
    }
    let bleeding = chans.iter().filter(|c| c.bleeds).count() as f64 / n;

    let mut out = ChannelSet {
        channels: chans,
        needle_radius_m: a,
        tip_half_angle_rad: beta,
        recoil: p.recoil,
        slot_length_m: slot,
        mean_depth_m: mean,
        depth_sd_m: sd,
        mean_depth_range_m: [(mean - 2.0 * sd).max(lo), (mean + 2.0 * sd).min(length)],
        reach_fraction: reach,
        deepest_fraction: deepest,
        bleeding_fraction: if set.punctures.is_empty() {
            0.0
        } else {
            bleeding
        },
        injured_volume_fraction: [0.0; 5],
        open_surface_fraction: 0.0,
    };
    let density = set.density_m2();
    out.injured_volume_fraction = injured_fractions(&out, column, density);
    // Opened surface: recoiled needle cross-section plus the rolling slot (a rectangle of the
    // open width and the slot length).
    let r0 = out.recoil * a.min(mean * beta.tan());
    let area = std::f64::consts::PI * r0 * r0 + 2.0 * r0 * slot;
    out.open_surface_fraction = 1.0 - (-density * area).exp();
    out
}

/// Volume fractions per layer from the depth histogram: at each depth slice the mean needle
/// cross-section over all channels, combined as a Boolean union, averaged over the layer.
fn injured_fractions(set: &ChannelSet, column: &SkinColumn, density: f64) -> PerLayer {
    let mut out = [0.0; 5];
    if set.channels.is_empty() {
        return out;
    }
    // Histogram of depths at 1 µm resolution.
    let dz = 1e-6;
    let max_depth = set.channels.iter().map(|c| c.depth_m).fold(0.0, f64::max);
    let nb = (max_depth / dz).ceil() as usize + 1;
    let mut hist = vec![0.0f64; nb];
    let w = 1.0 / set.channels.len() as f64;
    for c in &set.channels {
        hist[((c.depth_m / dz) as usize).min(nb - 1)] += w;
    }
    let bin_depth: Vec<f64> = (0..nb).map(|b| (b as f64 + 0.5) * dz).collect();
    // `needle_radius_at` with the tangent taken once (the same value: this loop runs about a
    // million times per channel set, and the tangent was a fifth of a cohort's run time).
    let tan_beta = set.tip_half_angle_rad.tan();
    let radius_at = |depth_m: f64, z_m: f64| {
        if z_m > depth_m || z_m < 0.0 {
            0.0
        } else {
            set.needle_radius_m.min((depth_m - z_m) * tan_beta)
        }
    };
    for layer in &column.layers {
        let (top, bottom) = (layer.top_m, layer.bottom_m().min(max_depth));
        if bottom <= top {
            continue;
        }
        let slices = ((bottom - top) / dz).ceil().max(1.0) as usize;
        let h = (bottom - top) / slices as f64;
        let mut acc = 0.0;
        for s in 0..slices {
            let z = top + (s as f64 + 0.5) * h;
            let first = (z / dz) as usize;
            let mean_area: f64 = (first..nb)
                .map(|b| {
                    let r = radius_at(bin_depth[b], z);
                    hist[b] * std::f64::consts::PI * r * r
                })
                .sum();
            acc += (1.0 - (-density * mean_area).exp()) * h;
        }
        out[layer.kind.index()] = acc / layer.thickness_m;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::{Needle, Pen, Stamp};

    fn stamp(length_m: f64, tip_deg: f64) -> Device {
        Device::Stamp(Stamp {
            rows: 1,
            cols: 1,
            pitch_m: 1e-3,
            needle: Needle {
                length_m,
                diameter_m: 2e-4,
                tip_angle_rad: tip_deg.to_radians(),
            },
        })
    }

    #[test]
    fn reference_needle_reproduces_calibration_case_vt04() {
        // Calibration check, not validation: a 600 µm needle with the reference tip, hand-pressed.
        let p = InjuryParams::default();
        let tip = 2.0 * p.tip_half_angle_ref_rad.to_degrees();
        let d = mean_depth(&stamp(600e-6, tip), 600e-6, &p);
        assert!((d - 460e-6).abs() < 1e-9, "{d}");
    }

    #[test]
    fn pen_penetrates_nearly_fully_and_blunter_tips_tent_more() {
        let p = InjuryParams::default();
        let pen = |l: f64| {
            Device::Pen(Pen {
                needle_count: 12,
                layout: crate::device::CartridgeLayout::Round,
                head_diameter_m: 7e-3,
                stroke_rate_hz: 100.0,
                min_depth_m: 0.0,
                max_depth_m: 2.5e-3,
                needle: Needle {
                    length_m: l,
                    diameter_m: 2e-4,
                    tip_angle_rad: 20f64.to_radians(),
                },
            })
        };
        for l in [0.5e-3, 1.5e-3] {
            assert!(mean_depth(&pen(l), l, &p) / l >= 0.9);
        }
        assert!(
            mean_depth(&stamp(1e-3, 40.0), 1e-3, &p) < mean_depth(&stamp(1e-3, 20.0), 1e-3, &p)
        );
        let stiff = InjuryParams {
            relative_stiffness: 2.0,
            ..p.clone()
        };
        assert!(
            mean_depth(&stamp(1e-3, 20.0), 1e-3, &stiff) > mean_depth(&stamp(1e-3, 20.0), 1e-3, &p)
        );
    }

    #[test]
    fn rolling_slot_grows_with_needle_length() {
        let p = InjuryParams::default();
        let s1 = rolling_slot_m(0.02, 0.5e-3, &p);
        let s2 = rolling_slot_m(0.02, 1.5e-3, &p);
        assert!(s1 > 0.0 && s2 > s1, "{s1} {s2}");
    }
}
