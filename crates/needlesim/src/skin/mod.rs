//! Skin anatomy: the layered column under a treatment site.
//!
//! Owns the cited thickness tables ([`tables`]), the person's modifiers (age, sex, Fitzpatrick
//! type) and the [`SkinColumn`] that every later model reads. It does no I/O and knows nothing
//! about devices.

pub mod params;
pub mod properties;
pub mod species;
pub mod tables;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Anatomical treatment sites with thickness presets.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Site {
    Forehead,
    Periorbital,
    Cheek,
    Nose,
    Perioral,
    Chin,
    Neck,
    Chest,
    DorsalHand,
    Abdomen,
    Thigh,
    Back,
    Scalp,
}

impl Site {
    /// All sites, in table order.
    pub const ALL: [Site; 13] = [
        Site::Forehead,
        Site::Periorbital,
        Site::Cheek,
        Site::Nose,
        Site::Perioral,
        Site::Chin,
        Site::Neck,
        Site::Chest,
        Site::DorsalHand,
        Site::Abdomen,
        Site::Thigh,
        Site::Back,
        Site::Scalp,
    ];

    /// The snake_case name used in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            Site::Forehead => "forehead",
            Site::Periorbital => "periorbital",
            Site::Cheek => "cheek",
            Site::Nose => "nose",
            Site::Perioral => "perioral",
            Site::Chin => "chin",
            Site::Neck => "neck",
            Site::Chest => "chest",
            Site::DorsalHand => "dorsal_hand",
            Site::Abdomen => "abdomen",
            Site::Thigh => "thigh",
            Site::Back => "back",
            Site::Scalp => "scalp",
        }
    }

    /// Parses a scenario-file name (`"cheek"`, `"dorsal_hand"`, ...).
    pub fn from_name(s: &str) -> Option<Site> {
        Site::ALL.into_iter().find(|site| site.name() == s)
    }
}

/// Biological sex, as far as skin thickness tables distinguish it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Female,
    Male,
}

/// The person whose skin is modelled.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Person {
    /// Age in years (18-100 accepted by the scenario layer).
    pub age_years: f64,
    pub sex: Sex,
    /// Fitzpatrick phototype 1-6. Carried along for pigment risk and resealing; it does not change
    /// layer thickness (Sandby-Møller 2003 found no correlation of epidermal thickness with skin type).
    pub phototype: u8,
}

impl Default for Person {
    fn default() -> Self {
        Person {
            age_years: 35.0,
            sex: Sex::Female,
            phototype: 3,
        }
    }
}

/// The layers of the column, from the surface down.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum LayerKind {
    StratumCorneum,
    ViableEpidermis,
    PapillaryDermis,
    ReticularDermis,
    Subcutis,
}

impl LayerKind {
    /// All layers, surface first.
    pub const ALL: [LayerKind; 5] = [
        LayerKind::StratumCorneum,
        LayerKind::ViableEpidermis,
        LayerKind::PapillaryDermis,
        LayerKind::ReticularDermis,
        LayerKind::Subcutis,
    ];

    /// Index of the layer in [`LayerKind::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Short snake_case name, as used in files.
    pub fn name(self) -> &'static str {
        match self {
            LayerKind::StratumCorneum => "stratum_corneum",
            LayerKind::ViableEpidermis => "viable_epidermis",
            LayerKind::PapillaryDermis => "papillary_dermis",
            LayerKind::ReticularDermis => "reticular_dermis",
            LayerKind::Subcutis => "subcutis",
        }
    }
}

/// Biological properties a layer carries for the transport and healing models.
///
/// Each field's default value and source live in [`tables`]; fields that are assumptions are
/// marked so there and in `docs/MODEL.md`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LayerProperties {
    /// Blood (capillary) volume fraction of the layer, dimensionless.
    pub vascular_fraction: f64,
    /// Baseline collagen mass concentration, kg/m³ (dry collagen per tissue volume).
    pub collagen_kg_m3: f64,
    /// Fraction of that collagen that is type I (the rest is mostly type III).
    pub collagen_i_fraction: f64,
    /// Baseline elastin mass concentration, kg/m³.
    pub elastin_kg_m3: f64,
    /// Baseline resident cell density (keratinocytes in the epidermis, fibroblasts in the
    /// dermis, adipocytes in the subcutis), cells/m³.
    pub cell_density_per_m3: f64,
}

/// One layer of a column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Layer {
    pub kind: LayerKind,
    /// Depth of the layer's top below the skin surface, m.
    pub top_m: f64,
    /// Thickness, m.
    pub thickness_m: f64,
    /// Between-person standard deviation of the thickness, m (from the source's SD, scaled).
    pub thickness_sd_m: f64,
    pub properties: LayerProperties,
    /// Where the thickness came from (citation key, see `docs/MODEL.md`), or "user override".
    pub source: String,
}

impl Layer {
    /// Depth of the layer's bottom, m.
    pub fn bottom_m(&self) -> f64 {
        self.top_m + self.thickness_m
    }
}

/// The layered skin under one site of one person, surface first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SkinColumn {
    pub site: Site,
    pub person: Person,
    /// Exactly five layers in [`LayerKind::ALL`] order. The subcutis entry is only the top of the
    /// subcutis that the models resolve.
    pub layers: Vec<Layer>,
}

impl SkinColumn {
    /// The layer of a kind.
    pub fn layer(&self, kind: LayerKind) -> &Layer {
        &self.layers[kind.index()]
    }

    /// The layer at a depth below the surface (m). Depths past the modelled subcutis map to
    /// [`LayerKind::Subcutis`]; negative depths to the stratum corneum.
    pub fn layer_at(&self, depth_m: f64) -> LayerKind {
        for l in &self.layers {
            if depth_m < l.bottom_m() {
                return l.kind;
            }
        }
        LayerKind::Subcutis
    }

    /// Epidermis + dermis thickness (what ultrasound calls "skin thickness"), m.
    pub fn skin_thickness_m(&self) -> f64 {
        self.layer(LayerKind::ReticularDermis).bottom_m()
    }

    /// Depth of the dermis/subcutis boundary, m.
    pub fn dermis_bottom_m(&self) -> f64 {
        self.skin_thickness_m()
    }

    /// Depth of the dermal-epidermal junction (top of the papillary dermis), m.
    pub fn dej_m(&self) -> f64 {
        self.layer(LayerKind::PapillaryDermis).top_m
    }

    /// Total modelled depth including the top of the subcutis, m.
    pub fn total_m(&self) -> f64 {
        self.layers.last().map_or(0.0, Layer::bottom_m)
    }
}

/// User overrides of layer thicknesses, in metres (converted from the scenario's `_um`/`_mm`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ThicknessOverrides {
    pub stratum_corneum_m: Option<f64>,
    pub viable_epidermis_m: Option<f64>,
    pub papillary_dermis_m: Option<f64>,
    pub reticular_dermis_m: Option<f64>,
    pub subcutis_m: Option<f64>,
}

impl ThicknessOverrides {
    /// The override for a layer, if any.
    pub fn get(&self, kind: LayerKind) -> Option<f64> {
        match kind {
            LayerKind::StratumCorneum => self.stratum_corneum_m,
            LayerKind::ViableEpidermis => self.viable_epidermis_m,
            LayerKind::PapillaryDermis => self.papillary_dermis_m,
            LayerKind::ReticularDermis => self.reticular_dermis_m,
            LayerKind::Subcutis => self.subcutis_m,
        }
    }
}

/// Errors building a skin column.
#[derive(Debug, Error, PartialEq)]
pub enum SkinError {
    #[error("age {age_years} years is outside the range the thickness tables support (18-100)")]
    AgeOutOfRange { age_years: f64 },
    #[error("Fitzpatrick phototype {0} is not one of 1-6")]
    Phototype(u8),
    #[error(
        "thickness override for {layer} is {value_m} m; it must be finite and within {min_m}-{max_m} m"
    )]
    Override {
        layer: &'static str,
        value_m: f64,
        min_m: f64,
        max_m: f64,
    },
}

pub use params::SkinParams;
pub use species::{Species, follicle_area_factor};
pub use tables::{column, column_with};
