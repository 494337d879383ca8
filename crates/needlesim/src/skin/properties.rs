//! Baseline biological properties of each layer (blood volume, collagen, elastin, resident cells).
//!
//! One provenance table, [`PROPERTIES`]: every value with its unit, its kind (literature, derived,
//! assumed, not applicable), its source key (resolved in [`super::tables::SOURCES`]) and how it
//! was obtained. [`layer_properties`] reads it. Nothing here depends on site, sex or age: the
//! sources read give no site-specific concentrations, and the age evidence (see below) points at
//! thinner dermis rather than lower concentrations, which [`super::tables`] already models.
//!
//! Age: collagen fibre density per dermal area did not change with age in the upper-inner-arm
//! morphometry (CollagenMorph), which ascribes the loss of collagen to the ~6 %/decade loss of
//! dermal mass; superficial elastic fibres showed no age or sex variation (ElasticMorph1990). So
//! concentrations are held constant and the content per area falls with dermal thickness. A
//! secondhand "percent collagen score" falling ~25 % over four decades (Sibilla via Reilly 2021,
//! literature/biology.md 5) and direction-only reports of falling dermal cellularity with age are
//! not applied (no usable rate).

use super::params::SkinParams;
use super::{LayerKind, LayerProperties};

/// What kind of evidence a value rests on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A number read in a source (grade in [`super::tables::SOURCES`]).
    Literature,
    /// Arithmetic on documented numbers (and, where said, an assumed factor).
    Derived,
    /// No number found; a reasoned assumption.
    Assumed,
    /// The quantity does not exist in this layer (e.g. blood in the avascular epidermis).
    NotApplicable,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Literature => "literature",
            Kind::Derived => "derived",
            Kind::Assumed => "assumed",
            Kind::NotApplicable => "n/a (absent)",
        }
    }
}

/// The quantities of [`LayerProperties`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantity {
    VascularFraction,
    Collagen,
    CollagenIFraction,
    Elastin,
    CellDensity,
}

impl Quantity {
    pub const ALL: [Quantity; 5] = [
        Quantity::VascularFraction,
        Quantity::Collagen,
        Quantity::CollagenIFraction,
        Quantity::Elastin,
        Quantity::CellDensity,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Quantity::VascularFraction => "vascular_fraction",
            Quantity::Collagen => "collagen_kg_m3",
            Quantity::CollagenIFraction => "collagen_i_fraction",
            Quantity::Elastin => "elastin_kg_m3",
            Quantity::CellDensity => "cell_density_per_m3",
        }
    }
}

/// One entry of the provenance table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PropertyRow {
    pub layer: LayerKind,
    pub quantity: Quantity,
    pub value: f64,
    pub unit: &'static str,
    pub kind: Kind,
    /// Citation key(s), "; "-separated, or "" for not-applicable / pure assumptions.
    pub source: &'static str,
    pub note: &'static str,
}

/// Dry mass per tissue volume of dermis, kg/m³ (assumed: ~70 % water and ~1100 kg/m³ tissue
/// density are common textbook figures, but no source for them was read).
pub const DERMIS_DRY_MASS_KG_M3: f64 = 330.0;
/// Collagen share of dermal dry mass: midpoint of 70-80 % (PPP1994, secondhand review).
pub const COLLAGEN_DRY_FRACTION: f64 = 0.75;
/// Elastin share of dermal dry mass: ~3 % (W-Derm101Elastic, weak).
pub const ELASTIN_DRY_FRACTION: f64 = 0.03;
/// Type I share of adult dermal collagen: midpoint of 85-90 % (Reilly2021, secondhand).
pub const COLLAGEN_I_FRACTION: f64 = 0.875;
/// Nucleated epidermal cells per m² of skin surface on the back (Bergstresser 1978: 483 per 10⁴ µm²).
pub const KERATINOCYTES_PER_M2: f64 = 483.0 / 1e-8;
/// Viable epidermis thickness that areal count is spread over: Sandby-Møller's shoulder, 70.3 µm.
pub const KERATINOCYTE_SPREAD_THICKNESS_M: f64 = 70.3e-6;

const DERMAL_COLLAGEN: f64 = DERMIS_DRY_MASS_KG_M3 * COLLAGEN_DRY_FRACTION;
const DERMAL_ELASTIN: f64 = DERMIS_DRY_MASS_KG_M3 * ELASTIN_DRY_FRACTION;
const KERATINOCYTE_DENSITY: f64 = KERATINOCYTES_PER_M2 / KERATINOCYTE_SPREAD_THICKNESS_M;

use Kind::{Assumed, Derived, Literature, NotApplicable};
use LayerKind::{PapillaryDermis, ReticularDermis, StratumCorneum, Subcutis, ViableEpidermis};
use Quantity::{CellDensity, Collagen, CollagenIFraction, Elastin, VascularFraction};

const fn p(
    layer: LayerKind,
    quantity: Quantity,
    value: f64,
    unit: &'static str,
    kind: Kind,
    source: &'static str,
    note: &'static str,
) -> PropertyRow {
    PropertyRow {
        layer,
        quantity,
        value,
        unit,
        kind,
        source,
        note,
    }
}

/// The provenance table: five quantities for each of the five layers.
pub const PROPERTIES: [PropertyRow; 25] = [
    // --- stratum corneum -------------------------------------------------------------------------
    p(
        StratumCorneum,
        VascularFraction,
        0.0,
        "1",
        NotApplicable,
        "TF-Epidermis",
        "epidermis is avascular",
    ),
    p(
        StratumCorneum,
        Collagen,
        0.0,
        "kg/m³",
        NotApplicable,
        "",
        "no dermal matrix in the epidermis",
    ),
    p(
        StratumCorneum,
        CollagenIFraction,
        0.0,
        "1",
        NotApplicable,
        "",
        "no collagen",
    ),
    p(
        StratumCorneum,
        Elastin,
        0.0,
        "kg/m³",
        NotApplicable,
        "",
        "no elastin",
    ),
    p(
        StratumCorneum,
        CellDensity,
        0.0,
        "1/m³",
        NotApplicable,
        "",
        "corneocytes are dead; no resident living cells",
    ),
    // --- viable epidermis ----------------------------------------------------------------------
    p(
        ViableEpidermis,
        VascularFraction,
        0.0,
        "1",
        NotApplicable,
        "TF-Epidermis",
        "epidermis is avascular",
    ),
    p(
        ViableEpidermis,
        Collagen,
        0.0,
        "kg/m³",
        NotApplicable,
        "",
        "basement-membrane collagens (IV, VII) neglected",
    ),
    p(
        ViableEpidermis,
        CollagenIFraction,
        0.0,
        "1",
        NotApplicable,
        "",
        "no fibrillar collagen",
    ),
    p(
        ViableEpidermis,
        Elastin,
        0.0,
        "kg/m³",
        NotApplicable,
        "",
        "no elastin",
    ),
    p(
        ViableEpidermis,
        CellDensity,
        KERATINOCYTE_DENSITY,
        "1/m³",
        Derived,
        "Bergstresser1978; SandbyMoller2003; Hoath2003",
        "483 nucleated cells per 10^4 µm² (back, Bergstresser 1978) / 70.3 µm (shoulder VE, Sandby-Møller 2003) \
         = 6.9e14 /m³ (~1460 µm³ per cell). Cross-check: Hoath 2003's 75,346 cells/mm² over ~100 µm gives 7.5e14.",
    ),
    // --- papillary dermis ----------------------------------------------------------------------
    p(
        PapillaryDermis,
        VascularFraction,
        0.002,
        "1",
        Assumed,
        "JBO2008-LDF; Baumann2009",
        "The capillary loops and subpapillary plexus sit here (Baumann 2009: higher vascular density than \
         reticular). Set at 2.5x the whole-dermis resting forearm average 0.08 % (JBO2008-LDF), inside the \
         0.08-1.2 % span that study measured (forearm rest to finger pulp). No layer-resolved number was read.",
    ),
    p(
        PapillaryDermis,
        Collagen,
        DERMAL_COLLAGEN,
        "kg/m³",
        Derived,
        "PPP1994; CollagenMorph",
        "0.75 (collagen 70-80 % of skin dry weight, PPP1994) x 330 kg/m³ assumed dermal dry mass = 248 kg/m³. \
         Same as reticular: collagen area fraction is 93 % superficial vs 89 % reticular (CollagenMorph).",
    ),
    p(
        PapillaryDermis,
        CollagenIFraction,
        COLLAGEN_I_FRACTION,
        "1",
        Literature,
        "Reilly2021",
        "adult dermis 85-90 % type I, 8-11 % type III (secondhand); no papillary-specific split read",
    ),
    p(
        PapillaryDermis,
        Elastin,
        DERMAL_ELASTIN,
        "kg/m³",
        Derived,
        "W-Derm101Elastic",
        "0.03 (elastic fibres ~3 % of dermal dry weight, weak source) x 330 kg/m³ assumed dry mass = 9.9 kg/m³",
    ),
    p(
        PapillaryDermis,
        CellDensity,
        4e13,
        "1/m³",
        Assumed,
        "Baumann2009",
        "fibroblasts; no count read. Order-of-magnitude estimate from histology appearance (~1-2.5e4 nuclei/mm³ \
         in reticular dermis), set ~2.7x reticular because the papillary dermis is more cellular (Baumann 2009).",
    ),
    // --- reticular dermis ----------------------------------------------------------------------
    p(
        ReticularDermis,
        VascularFraction,
        0.0008,
        "1",
        Literature,
        "JBO2008-LDF",
        "average dermal blood concentration at rest, volar forearm (0.63 % when heated to 44 °C; 1.2 % finger \
         pulp); the whole-dermis average is applied to the reticular layer, ~80 % of the dermis",
    ),
    p(
        ReticularDermis,
        Collagen,
        DERMAL_COLLAGEN,
        "kg/m³",
        Derived,
        "PPP1994; CollagenMorph",
        "as papillary dermis; not lowered with age (CollagenMorph: density per dermal area unchanged)",
    ),
    p(
        ReticularDermis,
        CollagenIFraction,
        COLLAGEN_I_FRACTION,
        "1",
        Literature,
        "Reilly2021",
        "as papillary dermis",
    ),
    p(
        ReticularDermis,
        Elastin,
        DERMAL_ELASTIN,
        "kg/m³",
        Derived,
        "W-Derm101Elastic; ElasticMorph1990",
        "as papillary dermis; not age-adjusted (ElasticMorph1990: superficial fibres unchanged with age; the mature fibres' relative area rises after the sixth decade, not applied)",
    ),
    p(
        ReticularDermis,
        CellDensity,
        1.5e13,
        "1/m³",
        Assumed,
        "",
        "fibroblasts; assumed: ~200 nuclei per mm² of a 5 µm H&E section over an effective ~13 µm slab \
         (section + nucleus) = ~1.5e4 /mm³. No count read.",
    ),
    // --- subcutis ------------------------------------------------------------------------------
    p(
        Subcutis,
        VascularFraction,
        0.0008,
        "1",
        Assumed,
        "JBO2008-LDF",
        "no number read; the resting dermal average is reused",
    ),
    p(
        Subcutis,
        Collagen,
        25.0,
        "kg/m³",
        Assumed,
        "",
        "fibrous septa only; assumed ~1/10 of dermal collagen",
    ),
    p(
        Subcutis,
        CollagenIFraction,
        COLLAGEN_I_FRACTION,
        "1",
        Assumed,
        "Reilly2021",
        "dermal value reused",
    ),
    p(
        Subcutis,
        Elastin,
        1.0,
        "kg/m³",
        Assumed,
        "",
        "assumed ~1/10 of dermal elastin",
    ),
    p(
        Subcutis,
        CellDensity,
        1.9e12,
        "1/m³",
        Assumed,
        "",
        "adipocytes; assumed ~100 µm diameter cells packed space-filling: 1 / (π/6 x (100 µm)³) = 1.9e12 /m³",
    ),
];

/// The value of one quantity for one layer (0 if the table lacked it; a unit test forbids that).
pub fn value(layer: LayerKind, quantity: Quantity) -> f64 {
    PROPERTIES
        .iter()
        .find(|r| r.layer == layer && r.quantity == quantity)
        .map_or(0.0, |r| r.value)
}

/// The value of a quantity that [`PROPERTIES`] derives from the composition constants, from the
/// registry's skin parameters instead (so a `[params.skin]` override reaches it); `None` for
/// the rows that are not derived from them.
pub fn derived(layer: LayerKind, quantity: Quantity, p: &SkinParams) -> Option<f64> {
    match (layer, quantity) {
        (ViableEpidermis, CellDensity) => {
            Some(p.keratinocytes_per_m2 / p.keratinocyte_spread_thickness)
        }
        (PapillaryDermis | ReticularDermis, Collagen) => {
            Some(p.dermis_dry_mass * p.collagen_dry_fraction)
        }
        (PapillaryDermis | ReticularDermis, Elastin) => {
            Some(p.dermis_dry_mass * p.elastin_dry_fraction)
        }
        (PapillaryDermis | ReticularDermis | Subcutis, CollagenIFraction) => {
            Some(p.collagen_i_fraction)
        }
        _ => None,
    }
}

/// The value of one quantity for one layer with the skin parameters `p`.
pub fn value_with(layer: LayerKind, quantity: Quantity, p: &SkinParams) -> f64 {
    derived(layer, quantity, p).unwrap_or_else(|| value(layer, quantity))
}

/// Baseline properties of a layer (the published skin parameters).
pub fn layer_properties(layer: LayerKind) -> LayerProperties {
    layer_properties_with(layer, &SkinParams::default())
}

/// Baseline properties of a layer with the skin parameters `p`.
pub fn layer_properties_with(layer: LayerKind, p: &SkinParams) -> LayerProperties {
    LayerProperties {
        vascular_fraction: value_with(layer, Quantity::VascularFraction, p),
        collagen_kg_m3: value_with(layer, Quantity::Collagen, p),
        collagen_i_fraction: value_with(layer, Quantity::CollagenIFraction, p),
        elastin_kg_m3: value_with(layer, Quantity::Elastin, p),
        cell_density_per_m3: value_with(layer, Quantity::CellDensity, p),
    }
}

/// The provenance table as Markdown, for `docs/MODEL.md (Skin)`.
pub fn markdown_table() -> String {
    let mut s = String::from(
        "| Layer | Quantity | Value | Unit | Kind | Source | How |\n|---|---|---|---|---|---|---|\n",
    );
    for r in &PROPERTIES {
        s.push_str(&format!(
            "| {} | {} | {:.3e} | {} | {} | {} | {} |\n",
            r.layer.name(),
            r.quantity.name(),
            r.value,
            r.unit,
            r.kind.name(),
            if r.source.is_empty() { "-" } else { r.source },
            r.note
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skin::tables::SOURCES;

    #[test]
    fn table_is_complete_and_unique() {
        for layer in LayerKind::ALL {
            for q in Quantity::ALL {
                let n = PROPERTIES
                    .iter()
                    .filter(|r| r.layer == layer && r.quantity == q)
                    .count();
                assert_eq!(n, 1, "{} {}", layer.name(), q.name());
            }
        }
    }

    #[test]
    fn sources_resolve_and_literature_rows_have_one() {
        for r in &PROPERTIES {
            for key in r.source.split("; ").filter(|k| !k.is_empty()) {
                assert!(SOURCES.iter().any(|s| s.key == key), "unknown key {key}");
            }
            if r.kind == Kind::Literature || r.kind == Kind::Derived {
                assert!(
                    !r.source.is_empty(),
                    "{} {} needs a source",
                    r.layer.name(),
                    r.quantity.name()
                );
            }
            assert!(r.value.is_finite() && r.value >= 0.0);
        }
    }

    #[test]
    fn derived_values_match_their_arithmetic() {
        assert!((DERMAL_COLLAGEN - 247.5).abs() < 1e-9);
        assert!((DERMAL_ELASTIN - 9.9).abs() < 1e-9);
        assert!((KERATINOCYTE_DENSITY - 6.870e14).abs() / 6.870e14 < 1e-3);
    }

    /// The rows derived from the composition constants are exactly those [`derived`] recomputes
    /// from the registry, and with the defaults it gives the table's values bit for bit.
    #[test]
    fn derived_rows_follow_the_skin_parameters() {
        let d = SkinParams::default();
        let derived_consts = [
            DERMAL_COLLAGEN,
            DERMAL_ELASTIN,
            COLLAGEN_I_FRACTION,
            KERATINOCYTE_DENSITY,
        ];
        for r in &PROPERTIES {
            match derived(r.layer, r.quantity, &d) {
                Some(v) => assert_eq!(v.to_bits(), r.value.to_bits(), "{:?}", r),
                None => assert!(
                    !derived_consts.contains(&r.value) || r.value == 0.0,
                    "{} {} is derived but not recomputed",
                    r.layer.name(),
                    r.quantity.name()
                ),
            }
        }
        let p = SkinParams {
            dermis_dry_mass: 300.0,
            keratinocyte_spread_thickness: 100e-6,
            ..SkinParams::default()
        };
        let pap = layer_properties_with(LayerKind::PapillaryDermis, &p);
        assert_eq!(pap.collagen_kg_m3, 300.0 * 0.75);
        assert_eq!(pap.elastin_kg_m3, 300.0 * 0.03);
        let ve = layer_properties_with(LayerKind::ViableEpidermis, &p);
        assert_eq!(ve.cell_density_per_m3, p.keratinocytes_per_m2 / 100e-6);
    }

    #[test]
    fn papillary_dermis_is_the_vascular_layer() {
        let pap = layer_properties(LayerKind::PapillaryDermis);
        let ret = layer_properties(LayerKind::ReticularDermis);
        assert!(pap.vascular_fraction > ret.vascular_fraction);
        assert_eq!(
            layer_properties(LayerKind::ViableEpidermis).vascular_fraction,
            0.0
        );
        assert!(pap.cell_density_per_m3 > ret.cell_density_per_m3);
    }
}
