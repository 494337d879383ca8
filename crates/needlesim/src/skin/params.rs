//! The skin model's constants as a registry group (`[params.skin]`; listed by `needlesim params`).

use crate::registry::Range;
use crate::registry::ranges::LIT;

crate::registry::group! {
    /// Constants of the skin model (`crate::skin`): composition and thickness rules. The cited
    /// thickness tables stay compile-time data; these rules turn them into a column
    /// ([`crate::skin::column_with`]).
    SkinParams, "skin", SKIN_ENTRIES;
    /// Dry mass per tissue volume of dermis.
    dermis_dry_mass = crate::skin::properties::DERMIS_DRY_MASS_KG_M3, "kg/m3", Assumed,
        Range::between(250.0, 400.0, "60-77 % water at ~1100 kg/m3 tissue density"), true, "",
        "~70 % water and ~1100 kg/m3 tissue density (textbook figures, no source read)";
    /// Collagen share of dermal dry mass.
    collagen_dry_fraction = crate::skin::properties::COLLAGEN_DRY_FRACTION, "1", Literature,
        Range::between(0.7, 0.8, "the source's 70-80 %"), true, "PPP1994 (secondhand review)",
        "midpoint of 70-80 %";
    /// Elastin share of dermal dry mass.
    elastin_dry_fraction = crate::skin::properties::ELASTIN_DRY_FRACTION, "1", Literature,
        Range::between(0.01, 0.05, "2-4 % quoted; widened for a weak source"), true,
        "W-Derm101Elastic (weak)", "~3 %";
    /// Type I share of adult dermal collagen.
    collagen_i_fraction = crate::skin::properties::COLLAGEN_I_FRACTION, "1", Literature,
        Range::between(0.85, 0.9, "the source's 85-90 %"), true, "Reilly2021 (secondhand)",
        "midpoint of 85-90 %";
    /// Nucleated epidermal cells per m² of skin surface.
    keratinocytes_per_m2 = crate::skin::properties::KERATINOCYTES_PER_M2, "1/m2", Literature,
        LIT, true, "Bergstresser 1978 (back: 483 per 1e4 um2)", "";
    /// Viable-epidermis thickness the areal cell count is spread over.
    keratinocyte_spread_thickness = crate::skin::properties::KERATINOCYTE_SPREAD_THICKNESS_M,
        "m", Literature, Range::between(30e-6, 150e-6, "viable epidermis of trunk sites"), true,
        "Sandby-Moller 2003 (shoulder 70.3 um)", "";
    /// Epidermal thickness lost per decade, men (fraction of the reference value).
    epidermis_loss_per_decade_male = crate::skin::tables::EPIDERMIS_LOSS_PER_DECADE_MALE, "1",
        Literature, Range::between(0.0, 0.15, "0 (no ageing) to twice the source"), true,
        "Branchet 1990", "";
    /// Epidermal thickness lost per decade, women.
    epidermis_loss_per_decade_female = crate::skin::tables::EPIDERMIS_LOSS_PER_DECADE_FEMALE,
        "1", Literature, Range::between(0.0, 0.15, "0 (no ageing) to twice the source"), true,
        "Branchet 1990", "";
    /// Total dermal thickness lost per decade, both sexes.
    dermis_loss_per_decade = crate::skin::tables::DERMIS_LOSS_PER_DECADE, "1", Literature,
        Range::between(0.0, 0.12, "0 (no ageing) to twice the source"), true, "Branchet 1990",
        "";
    /// Fraction of the dermis taken as papillary.
    papillary_fraction = crate::skin::tables::PAPILLARY_FRACTION, "1", Assumed,
        Range::between(0.1, 0.3, "'upper one-fifth or so', +/- half"), true,
        "W-PapillaryFifth", "upper one-fifth or so";
    /// Floor of the papillary thickness.
    papillary_min = crate::skin::tables::PAPILLARY_MIN_M, "m", Assumed,
        Range::between(50e-6, 200e-6, "room for the capillary loops, factor 2"), true, "",
        "the capillary loops need room";
    /// Cap of the papillary thickness.
    papillary_max = crate::skin::tables::PAPILLARY_MAX_M, "m", Assumed,
        Range::between(200e-6, 400e-6, "papillary/reticular boundary 300-400 um deep"), true,
        "SorrellCaplan2004 (secondhand)", "";
    /// Thickness of the modelled top of the subcutis (a modelling choice).
    subcutis_slab = crate::skin::tables::SUBCUTIS_SLAB_M, "m", Assumed,
        Range::between(1e-3, 5e-3, "must hold a 2.5 mm needle below the thinnest skin"), true,
        "", "deep enough for a 2.5 mm needle on the thinnest skin";
}
