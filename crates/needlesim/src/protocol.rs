//! Treatment protocols: the session schedule, follow-up, concerns and scars, in SI units.
//!
//! A [`Protocol`] is made by the input layer from the `[protocol]` section of a scenario file
//! (`input::protocol`, which sits above the models).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Default side of the 3-D patch, m (1 cm²).
pub const DEFAULT_PATCH_SIZE_M: f64 = 10e-3;
/// Default lateral voxel size of the 3-D patch, m.
pub const DEFAULT_PATCH_VOXEL_M: f64 = 25e-6;

/// Model resolution of `simulate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// Per-layer compartments only.
    #[default]
    Lumped,
    /// The lumped outcomes plus the unit cell around one channel of each zone (nominal
    /// parameters): per-layer means and cross-sections.
    UnitCell,
    /// The lumped outcomes plus a 3-D patch of each zone over its puncture maps (nominal
    /// parameters): per-layer means and cross-sections.
    Patch,
}

impl Resolution {
    pub const ALL: [Resolution; 3] = [Resolution::Lumped, Resolution::UnitCell, Resolution::Patch];
    /// The name in scenario files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Resolution::Lumped => "lumped",
            Resolution::UnitCell => "unit-cell",
            Resolution::Patch => "patch",
        }
    }
    pub fn from_name(s: &str) -> Option<Resolution> {
        Resolution::ALL.into_iter().find(|r| r.name() == s)
    }
}

/// What is treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Concern {
    AcneScars,
    Wrinkles,
    FineLines,
    Laxity,
    Texture,
    StretchMarks,
    Rejuvenation,
}

impl Concern {
    pub const ALL: [Concern; 7] = [
        Concern::AcneScars,
        Concern::Wrinkles,
        Concern::FineLines,
        Concern::Laxity,
        Concern::Texture,
        Concern::StretchMarks,
        Concern::Rejuvenation,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Concern::AcneScars => "acne_scars",
            Concern::Wrinkles => "wrinkles",
            Concern::FineLines => "fine_lines",
            Concern::Laxity => "laxity",
            Concern::Texture => "texture",
            Concern::StretchMarks => "stretch_marks",
            Concern::Rejuvenation => "rejuvenation",
        }
    }
    pub fn from_name(s: &str) -> Option<Concern> {
        Concern::ALL.into_iter().find(|c| c.name() == s)
    }
}

/// Atrophic scar types (Jacob 2001 classification).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScarKind {
    Icepick,
    Boxcar,
    Rolling,
}

impl ScarKind {
    pub fn name(self) -> &'static str {
        match self {
            ScarKind::Icepick => "icepick",
            ScarKind::Boxcar => "boxcar",
            ScarKind::Rolling => "rolling",
        }
    }
}

/// One scar type, SI.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Scar {
    pub kind: ScarKind,
    /// Normalised share.
    pub share: f64,
    pub depth_m: f64,
    pub width_m: f64,
}

impl Protocol {
    /// The scars treated: the file's, or the default mix of `p` (the parameters of this run or
    /// band draw).
    pub fn scars_with(&self, p: &crate::params::HealingParams) -> Vec<Scar> {
        if let Some(s) = &self.scars {
            return s.clone();
        }
        let mut mix = default_scars(p);
        if let Some(kinds) = self.scar_kinds.as_ref().filter(|k| !k.is_empty()) {
            // The kinds a patient has: their share of the default mix, renormalised.
            mix.retain(|s| kinds.contains(&s.kind));
            normalise_shares(&mut mix);
        }
        mix
    }

    /// Depth of the wrinkles treated, m: the file's, or `p.wrinkle_depth`.
    pub fn wrinkle_depth_with(&self, p: &crate::params::HealingParams) -> f64 {
        self.wrinkle_depth_m.unwrap_or(p.wrinkle_depth)
    }

    /// Dermal deficit of the stretch marks treated, m: the file's, or `p.striae_depth`.
    pub fn striae_depth_with(&self, p: &crate::params::HealingParams) -> f64 {
        self.striae_depth_m.unwrap_or(p.striae_depth)
    }

    /// Width of the stretch marks treated, m: the file's, or `p.striae_width`.
    pub fn striae_width_with(&self, p: &crate::params::HealingParams) -> f64 {
        self.striae_width_m.unwrap_or(p.striae_width)
    }
}

/// Scales the scars' shares to sum to 1 (left as they are when they sum to 0).
pub fn normalise_shares(scars: &mut [Scar]) {
    let total: f64 = scars.iter().map(|s| s.share).sum();
    if total > 0.0 {
        for s in scars {
            s.share /= total;
        }
    }
}

/// The default scar mix from the parameters.
pub fn default_scars(p: &crate::params::HealingParams) -> Vec<Scar> {
    let total = p.icepick_share + p.boxcar_share + p.rolling_share;
    vec![
        Scar {
            kind: ScarKind::Icepick,
            share: p.icepick_share / total,
            depth_m: p.icepick_depth,
            width_m: p.icepick_width,
        },
        Scar {
            kind: ScarKind::Boxcar,
            share: p.boxcar_share / total,
            depth_m: p.boxcar_depth,
            width_m: p.boxcar_width,
        },
        Scar {
            kind: ScarKind::Rolling,
            share: p.rolling_share / total,
            depth_m: p.rolling_depth,
            width_m: p.rolling_width,
        },
    ]
}

/// A validated protocol (SI).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Protocol {
    /// Session times from the first session, s.
    pub session_times_s: Vec<f64>,
    pub follow_up_s: f64,
    pub concerns: Vec<Concern>,
    /// Atrophic scars of the treated area; `None`: the parameters' default mix
    /// (`icepick_share`, `icepick_depth`, ...), read at run time like every model parameter, so a
    /// batch or a band draw varies it.
    pub scars: Option<Vec<Scar>>,
    /// With `scars` `None`: only these kinds of the default mix (the planner's scar types of a
    /// patient), their shares renormalised and their geometry read at run time like the mix's;
    /// an empty list is the whole mix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scar_kinds: Option<Vec<ScarKind>>,
    /// Depth of the wrinkles treated, m; `None`: the parameters' `wrinkle_depth`, read at run
    /// time.
    pub wrinkle_depth_m: Option<f64>,
    /// Dermal deficit (depth) of the stretch marks treated, m (for stretch_marks); `None`: the
    /// parameters' `striae_depth`, read at run time, so a batch or a band draw can vary it.
    pub striae_depth_m: Option<f64>,
    /// Width of the stretch marks treated, m; `None`: the parameters' `striae_width`.
    pub striae_width_m: Option<f64>,
    pub report_times_s: Vec<f64>,
    pub samples: u32,
    /// The scenario's resolution (`None`: not given; `simulate` then uses lumped).
    pub resolution: Option<Resolution>,
    /// Side of the 3-D patch, m.
    pub patch_size_m: f64,
    /// Lateral voxel size of the 3-D patch, m.
    pub patch_voxel_m: f64,
}
