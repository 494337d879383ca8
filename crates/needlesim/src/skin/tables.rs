//! Cited skin-thickness tables, and the construction of a [`SkinColumn`] from them.
//!
//! This module owns every number that fixes the geometry of the column: one row per [`Site`] in
//! [`SITE_TABLE`] (stratum corneum, viable epidermis and total skin thickness, each with its SD,
//! reference age and sex, measurement method, evidence grade and citation key), the raw 50 MHz
//! facial ultrasound table the sex ratio is derived from, the ageing rates, the papillary/reticular
//! split and the user-override limits. Citation keys resolve in [`SOURCES`]. The biological
//! properties of each layer live in [`super::properties`].
//!
//! It may not read files or know about devices; it only turns (site, person, overrides) into a
//! column, and explains in `docs/MODEL.md (Skin)` how.
//!
//! ## How a column is built
//! 1. Pick the site's row. Stratum corneum (SC) is used as tabulated: Sandby-Møller 2003 found it
//!    unrelated to age and skin type, so neither modifies it.
//! 2. Viable epidermis (VE) and total skin (epidermis + dermis, what ultrasound measures) are
//!    converted to the person's sex: directly where the source gives both sexes, otherwise with
//!    the derived male/female ratios [`epidermis_sex_ratio`] and [`total_skin_sex_ratio`].
//! 3. The dermis at the total's reference age is total − VE − SC (both epidermal layers taken at
//!    that same age and sex), so the tabulated total is reproduced exactly at its reference.
//! 4. Age: VE and dermis change linearly in decades from each number's own reference age at
//!    Branchet 1990's rates ([`EPIDERMIS_LOSS_PER_DECADE_FEMALE`], [`..._MALE`](EPIDERMIS_LOSS_PER_DECADE_MALE),
//!    [`DERMIS_LOSS_PER_DECADE`]).
//! 5. The dermis is split into papillary and reticular parts by the assumed rule in
//!    [`papillary_thickness_m`]; the subcutis is a fixed [`SUBCUTIS_SLAB_M`] slab.
//! 6. User overrides replace single layers (validated against [`OVERRIDE_LIMITS`]); the other
//!    layers keep their tabulated thickness.

use super::params::SkinParams;
use super::properties::layer_properties_with;
use super::*;

// ---------------------------------------------------------------------------------------------
// Provenance vocabulary
// ---------------------------------------------------------------------------------------------

/// How a thickness was measured. Methods disagree (histology shrinks and may drop or keep the SC;
/// ultrasound "skin thickness" is epidermis + dermis), so every number carries its method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// In vivo high-frequency ultrasound (20-50 MHz facial, 7-12 MHz and unspecified body probes).
    Ultrasound,
    /// Biopsy or archive histology (living subjects' specimens).
    Histology,
    /// Cadaver histology.
    CadaverHistology,
    /// In vivo confocal Raman (SC thickness from the water profile).
    Raman,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Ultrasound => "ultrasound",
            Method::Histology => "histology",
            Method::CadaverHistology => "cadaver histology",
            Method::Raman => "confocal Raman",
        }
    }
}

/// Evidence grade of a table entry, as the row uses it (not only as the source reports it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provenance {
    /// Primary number for this very site, read in the source's own abstract/text.
    P,
    /// Derived here by stated arithmetic from documented numbers of other sites or studies.
    D,
    /// An assumption: no number for it was found; the reasoning is in the row's note.
    Assumed,
}

impl Provenance {
    pub fn name(self) -> &'static str {
        match self {
            Provenance::P => "P",
            Provenance::D => "D",
            Provenance::Assumed => "assumed",
        }
    }
}

/// The sex a tabulated number refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefSex {
    Female,
    Male,
    /// A mixed-sex cohort; treated as half women, half men (the split was not in the text read).
    Pooled,
}

impl RefSex {
    pub fn name(self) -> &'static str {
        match self {
            RefSex::Female => "F",
            RefSex::Male => "M",
            RefSex::Pooled => "F+M",
        }
    }
}

/// One tabulated thickness with everything needed to trust or distrust it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measure {
    /// Mean thickness, µm.
    pub mean_um: f64,
    /// Between-person SD, µm, where the source gives one; `None` means a derived coefficient of
    /// variation is used (see [`cv_sc`], [`cv_viable_epidermis`], [`cv_total_face`], [`cv_total_body`]).
    pub sd_um: Option<f64>,
    /// Age the number refers to (the centre of the cohort's age range), years.
    pub ref_age_years: f64,
    pub ref_sex: RefSex,
    pub method: Method,
    pub grade: Provenance,
    /// Citation key(s) in [`SOURCES`], separated by "; ".
    pub source: &'static str,
}

const fn ms(
    mean_um: f64,
    sd_um: Option<f64>,
    ref_age_years: f64,
    ref_sex: RefSex,
    method: Method,
    grade: Provenance,
    source: &'static str,
) -> Measure {
    Measure {
        mean_um,
        sd_um,
        ref_age_years,
        ref_sex,
        method,
        grade,
        source,
    }
}

/// One row of the site table. Separate male entries exist only where the source measured men and
/// women separately at the same site.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SiteRow {
    pub site: Site,
    /// Stratum corneum thickness.
    pub sc: Measure,
    /// Viable (cellular) epidermis, SC excluded (histology "epidermis" is used as VE: see `docs/MODEL.md (Skin)` §1).
    pub viable_epidermis: Measure,
    pub viable_epidermis_male: Option<Measure>,
    /// Total skin = epidermis (SC included) + dermis.
    pub total: Measure,
    pub total_male: Option<Measure>,
    /// How derived entries were derived, and caveats.
    pub note: &'static str,
}

/// A citation behind a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Source {
    pub key: &'static str,
    pub citation: &'static str,
    /// How it was read: P = primary abstract/text, S = secondhand, W = weak (web page).
    pub grade: &'static str,
}

/// Every citation key used by the tables here and in [`super::properties`].
///
/// Author lists are given only where the text read showed them; otherwise the record says so.
pub const SOURCES: &[Source] = &[
    Source {
        key: "US50-2019",
        citation: "'Research value of 50 MHz high-frequency ultrasound on sonography of normal facial skin in adult' (200 volunteers, SW China, 2019 cohort; journal/authors not retrieved), https://discovery.researcher.life/article/research-value-of-50-mhz-high-frequency-ultrasound-on-sonography-of-normal-facial-skin-in-adult/e26a5fe6454a367382765a62af9845f5 (via literature/transport.md 1d)",
        grade: "P",
    },
    Source {
        key: "Egawa2007",
        citation: "Egawa M, Hirao T, Takahashi M (authors as usually cited; not shown in text read) 2007, Acta Derm Venereol 87(1):4-8, 'In vivo estimation of stratum corneum thickness from water concentration profiles obtained with Raman spectroscopy' (via literature/transport.md 1a)",
        grade: "P",
    },
    Source {
        key: "SandbyMoller2003",
        citation: "Sandby-Møller J, Poulsen T, Wulf HC 2003, Acta Derm Venereol 83:410-413, 'Epidermal thickness at different body sites: relationship to age, gender, pigmentation, blood content, skin type and smoking habits', doi:10.1080/00015550310015419",
        grade: "P",
    },
    Source {
        key: "Gibney2010",
        citation: "Gibney MA, Arce CH, Byron KJ, Hirsch LJ 2010, Curr Med Res Opin 26(6):1519-1530, 'Skin and subcutaneous adipose layer thickness in adults with diabetes at sites used for insulin injections: implications for needle length recommendations', PMID 20429833 (388 US adults, age 18-85 y)",
        grade: "P",
    },
    Source {
        key: "Sim2014",
        citation: "Sim KH, Hwang MS, Kim SY, Lee HM, Chang JY, Lee MK 2014, Diabetes Metab J 38(2):120-133, doi:10.4093/dmj.2014.38.2.120, PMC4021299",
        grade: "P",
    },
    Source {
        key: "LeeHwang2002",
        citation: "Lee Y, Hwang K 2002, Surg Radiol Anat 24:183-189, 'Skin thickness of Korean adults', doi:10.1007/s00276-002-0034-5 (452 biopsies, 16-50 y, H&E histology)",
        grade: "P",
    },
    Source {
        key: "Oltulu2018",
        citation: "Oltulu P, Ince B, Kokbudak N, Findik S, Kilinc F 2018, Turk J Plast Surg 26(2):56-61, 'Measurement of epidermis, dermis, and total skin thicknesses from six different body regions with a new ethical histometric technique', doi:10.4103/tjps.TJPS_2_17",
        grade: "P",
    },
    Source {
        key: "OltuluFace",
        citation: "Oltulu P et al. (author list not shown in text read), Selcuk Med J, 'Measurement of epidermis, dermis and total skin thicknesses from six different face regions' (90 F + 90 M, 30-80 y, histology) (via literature/transport.md 1d)",
        grade: "P",
    },
    Source {
        key: "Chopra2015",
        citation: "Chopra K, Calva D, Sosin M, et al. 2015, Aesthet Surg J 35(8):1007-1013, 'A comprehensive examination of topographic thickness of skin in the human face', doi:10.1093/asj/sjv079",
        grade: "P",
    },
    Source {
        key: "Ha2005",
        citation: "Ha RY, Nojima K, Adams WP, Brown SA 2005, Plast Reconstr Surg 115(6):1769-1773 (15 facial sites, 3 cadavers; nasal tip 3.30x, brow/forehead 2.8x upper eyelid) (via literature/transport.md 1d)",
        grade: "P",
    },
    Source {
        key: "Branchet1990",
        citation: "Branchet MC, Boisnic S, Frances C, Robert AM (authors as usually cited; not shown in text read) 1990, Gerontology 36(1):28-35, 'Skin thickness changes in normal aging skin' (upper inner arm biopsies)",
        grade: "P",
    },
    Source {
        key: "US22Sites",
        citation: "'High-frequency ultrasound characterization of normal skin. Skin thickness and echographic density of 22 anatomical sites' (20 MHz Dermascan C, 18 volunteers 24-41 y; authors/journal not shown in text read), https://www.scilit.net/publications/8ea725394ad9b3da077348e1ae52dfcb: extremity skin thinner than truncal skin; female skin thinner than male",
        grade: "P",
    },
    Source {
        key: "SorrellCaplan2004",
        citation: "Sorrell JM, Caplan AI 2004, J Cell Sci 117:667-675, 'Fibroblast heterogeneity: more than skin deep', doi:10.1242/jcs.01005. The sentence 'the papillary dermis is approximately 300-400 µm deep' was read on a web page reproducing the paper's introduction (https://bombshellaesthetics.com/2013/12/03/papillary-and-reticular-dermal-fibroblasts/), not in the paper itself",
        grade: "S",
    },
    Source {
        key: "W-PapillaryFifth",
        citation: "'The upper one-fifth or so of the wedge of tissue, the papillary layer ...', https://www.pharmacologicalsciences.us/elderly-patients/dermis.html (book-chapter text reproduced on a web page; book not identified)",
        grade: "W",
    },
    Source {
        key: "JBO2008-LDF",
        citation: "'Optical microcirculatory skin model: assessed by Monte Carlo simulations paired with in vivo laser Doppler flowmetry', J Biomed Opt 13(1):014015, 2008, doi:10.1117/1.2854691 (authors not shown in text read): average dermal blood concentration 0.08 % at rest and 0.63 % with heating (44 °C), volar forearm; 1.2 % finger pulp",
        grade: "P",
    },
    Source {
        key: "Baumann2009",
        citation: "Baumann L, Saghari S 2009, 'Basic Science of the Dermis', in Cosmetic Dermatology: Principles and Practice 2e, McGraw-Hill (chapter abstract: papillary dermis has smaller collagen bundles, greater cellularity and a higher density of vascular elements than the reticular dermis; fibroblasts are the primary dermal cell type)",
        grade: "P",
    },
    Source {
        key: "TF-Epidermis",
        citation: "Book chapter doi:10.1201/b22344-6 (Taylor & Francis; title/authors not shown in text read), abstract: 'there are no blood vessels in the epidermis'",
        grade: "P",
    },
    Source {
        key: "Bergstresser1978",
        citation: "Bergstresser PR, Pariser RJ, Taylor JR 1978, J Invest Dermatol 70(5):280-284, 'Counting and sizing of epidermal cells in normal human skin' (6 men; nucleated cells per 10^4 µm² surface: forearm 452, back 483, thigh 487)",
        grade: "P",
    },
    Source {
        key: "Hoath2003",
        citation: "Hoath SB, Leahy DG 2003, J Invest Dermatol 121(6):1440-1446, 'The organization of human epidermis: functional epidermal units and phi proportionality' (literature estimate: 75,346 nucleated epidermal cells per mm²)",
        grade: "P",
    },
    Source {
        key: "Reilly2021",
        citation: "Reilly et al. 2021, Plast Aesthet Res 8:2 (review): adult dermal collagen ~85-90 % type I, ~8-11 % type III (via literature/biology.md 5)",
        grade: "S",
    },
    Source {
        key: "PPP1994",
        citation: "'Aging of the skin connective tissue: how to measure the biochemical and mechanical properties of aging dermis', Photodermatol Photoimmunol Photomed 1994;10(2):47-52, PMID 8043384 (review; authors not shown in text read): collagen makes up 70-80 % of the dry weight of the skin",
        grade: "S",
    },
    Source {
        key: "W-Derm101Elastic",
        citation: "derm101.com, 'Elastic fibers' (dermatopathology text web page): normal elastic fibres constitute only about 3 % of the dry weight of the dermis, http://www.derm101.com/inflammatory/embryologic-histologic-and-anatomic-aspects/elastic-fibers/",
        grade: "W",
    },
    Source {
        key: "CollagenMorph",
        citation: "'Morphometric analysis of dermal collagen fibers in normal human skin as a function of age' (upper inner arm, 33 F + 38 M; authors/journal not shown in text read), https://discovery.researcher.life/article/morphometric-analysis-of-dermal-collagen-fibers-in-normal-human-skin-as-a-function-of-age/16cef8ad9aec347eab93e0e5c89a4aff: collagen area fraction 93.35 % superficial, 89.2 % reticular dermis; collagen fibre density per dermal area did not change with age",
        grade: "P",
    },
    Source {
        key: "ElasticMorph1990",
        citation: "'Elastic fibers in normal human skin. Variations with age: a morphometric analysis', Arch Gerontol Geriatr 1990;10(1):57-67 (authors not shown in text read): superficial elastic fibres showed no age or sex variation; mature reticular fibres' relative area rose after the sixth decade",
        grade: "P",
    },
];

// ---------------------------------------------------------------------------------------------
// Reference ages (centres of the cohorts' age ranges)
// ---------------------------------------------------------------------------------------------

/// 50 MHz facial study, 20-29 y group: centre 24.5 y.
pub const REF_AGE_US50_20_29: f64 = 24.5;
/// Oltulu facial histology, 30-80 y: centre 55 y (the mean was not in the text read).
pub const REF_AGE_OLTULU_FACE: f64 = 55.0;
/// Lee & Hwang 2002, 16-50 y: centre 33 y.
pub const REF_AGE_LEE_HWANG: f64 = 33.0;
/// Gibney 2010, 18-85 y: centre 51.5 y (the mean was not in the text read).
pub const REF_AGE_GIBNEY: f64 = 51.5;
/// Cohorts whose age range was not in the text read (Sandby-Møller 2003, Oltulu 2018, Egawa
/// 2007): assumed mid-adult, 40 y. Only VE depends on it (SC is not age-adjusted).
pub const REF_AGE_UNKNOWN_ADULT: f64 = 40.0;

// ---------------------------------------------------------------------------------------------
// Raw data tables the derived constants are computed from
// ---------------------------------------------------------------------------------------------

/// One sex × decade cell of the 50 MHz facial study: (mean, SD) in mm per region.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FacialUsCell {
    pub age_band: (u8, u8),
    pub sex: Sex,
    pub forehead_mm: (f64, f64),
    pub canthus_mm: (f64, f64),
    pub eyelid_mm: (f64, f64),
    /// Men 40-49 y: truncated in the text read.
    pub cheek_mm: Option<(f64, f64)>,
}

/// Full-thickness facial skin by 50 MHz ultrasound, key US50-2019 (literature/transport.md 1d).
/// The 50-70 y groups were not readable.
pub const FACE_50MHZ: [FacialUsCell; 6] = [
    FacialUsCell {
        age_band: (20, 29),
        sex: Sex::Female,
        forehead_mm: (1.86, 0.26),
        canthus_mm: (1.36, 0.11),
        eyelid_mm: (1.24, 0.25),
        cheek_mm: Some((1.90, 0.21)),
    },
    FacialUsCell {
        age_band: (20, 29),
        sex: Sex::Male,
        forehead_mm: (2.45, 0.37),
        canthus_mm: (1.64, 0.19),
        eyelid_mm: (1.44, 0.16),
        cheek_mm: Some((2.53, 0.26)),
    },
    FacialUsCell {
        age_band: (30, 39),
        sex: Sex::Female,
        forehead_mm: (1.98, 0.24),
        canthus_mm: (1.43, 0.13),
        eyelid_mm: (1.15, 0.15),
        cheek_mm: Some((2.12, 0.13)),
    },
    FacialUsCell {
        age_band: (30, 39),
        sex: Sex::Male,
        forehead_mm: (2.34, 0.27),
        canthus_mm: (1.63, 0.27),
        eyelid_mm: (1.50, 0.38),
        cheek_mm: Some((2.43, 0.40)),
    },
    FacialUsCell {
        age_band: (40, 49),
        sex: Sex::Female,
        forehead_mm: (1.90, 0.21),
        canthus_mm: (1.43, 0.18),
        eyelid_mm: (1.24, 0.27),
        cheek_mm: Some((1.98, 0.12)),
    },
    FacialUsCell {
        age_band: (40, 49),
        sex: Sex::Male,
        forehead_mm: (2.14, 0.24),
        canthus_mm: (1.54, 0.25),
        eyelid_mm: (1.28, 0.14),
        cheek_mm: None,
    },
];

/// Sandby-Møller 2003 (71 volunteers): (site, SC mean, SC SD, cellular epidermis mean, SD), µm.
pub const SANDBY_MOLLER_2003: [(&str, f64, f64, f64, f64); 3] = [
    ("dorsal forearm", 18.3, 4.9, 56.6, 11.5),
    ("shoulder", 11.0, 2.2, 70.3, 13.6),
    ("buttock", 14.9, 3.4, 81.5, 15.7),
];

/// Sim 2014 ultrasound skin thickness (mean, SD) in mm: abdomen, upper arm.
pub const SIM_2014: [(f64, f64); 2] = [(2.29, 0.37), (2.00, 0.34)];

/// Oltulu facial histology, epidermis ranges (µm): (lowest mean, highest mean) by sex.
/// Women: 65.91 (scalp) to 120.91 (upper lip); men: 79.08 (cheek) to 122.75 (upper lip).
pub const OLTULU_FACE_EPIDERMIS_RANGE_F: (f64, f64) = (65.91, 120.91);
pub const OLTULU_FACE_EPIDERMIS_RANGE_M: (f64, f64) = (79.08, 122.75);
/// Oltulu facial histology, total-skin range in women (µm).
pub const OLTULU_FACE_TOTAL_RANGE_F: (f64, f64) = (1234.83, 1599.33);

/// Midpoint of the Oltulu facial epidermis range, women (µm): 93.41.
pub const OLTULU_FACE_VE_MID_F: f64 =
    (OLTULU_FACE_EPIDERMIS_RANGE_F.0 + OLTULU_FACE_EPIDERMIS_RANGE_F.1) / 2.0;
/// Midpoint of the Oltulu facial epidermis range, men (µm): 100.915.
pub const OLTULU_FACE_VE_MID_M: f64 =
    (OLTULU_FACE_EPIDERMIS_RANGE_M.0 + OLTULU_FACE_EPIDERMIS_RANGE_M.1) / 2.0;
/// Lee & Hwang 2002 thin-epidermis group (eyelid, supraclavicular, ...), midpoint of 31-71 µm.
pub const LEE_HWANG_THIN_EPIDERMIS_MID: f64 = (31.0 + 71.0) / 2.0;
/// Lee & Hwang 2002 dermis group containing anterior neck and chest, midpoint of 1318-1586 µm.
pub const LEE_HWANG_NECK_CHEST_DERMIS_MID: f64 = (1318.0 + 1586.0) / 2.0;
/// Ha 2005: nasal tip / brow(forehead) thickness ratio, both relative to the upper eyelid.
pub const HA_NOSE_OVER_FOREHEAD: f64 = 3.30 / 2.8;

// ---------------------------------------------------------------------------------------------
// The site table
// ---------------------------------------------------------------------------------------------

use Method::{Histology, Raman, Ultrasound};
use Provenance::{D, P};
use RefSex::{Female, Male, Pooled};

/// SC of facial and neck sites without their own number: the cheek Raman value (Egawa 2007).
const SC_FROM_CHEEK: Measure = ms(
    16.8,
    None,
    REF_AGE_UNKNOWN_ADULT,
    Pooled,
    Raman,
    D,
    "Egawa2007",
);
/// SC of trunk sites near the shoulder: Sandby-Møller's shoulder value.
const SC_FROM_SHOULDER: Measure = ms(
    11.0,
    Some(2.2),
    REF_AGE_UNKNOWN_ADULT,
    Pooled,
    Histology,
    D,
    "SandbyMoller2003",
);
/// SC of lower trunk and thigh: Sandby-Møller's buttock value.
const SC_FROM_BUTTOCK: Measure = ms(
    14.9,
    Some(3.4),
    REF_AGE_UNKNOWN_ADULT,
    Pooled,
    Histology,
    D,
    "SandbyMoller2003",
);
/// VE of lower trunk, thigh and dorsal hand: Sandby-Møller's buttock value.
const VE_FROM_BUTTOCK: Measure = ms(
    81.5,
    Some(15.7),
    REF_AGE_UNKNOWN_ADULT,
    Pooled,
    Histology,
    D,
    "SandbyMoller2003",
);
/// VE of facial sites measured by Oltulu but not readable per site: range midpoints by sex.
const VE_FACE_MID_F: Measure = ms(
    OLTULU_FACE_VE_MID_F,
    None,
    REF_AGE_OLTULU_FACE,
    Female,
    Histology,
    D,
    "OltuluFace",
);
const VE_FACE_MID_M: Measure = ms(
    OLTULU_FACE_VE_MID_M,
    None,
    REF_AGE_OLTULU_FACE,
    Male,
    Histology,
    D,
    "OltuluFace",
);
/// VE of thin-skinned sites (eyelid, supraclavicular region): Lee & Hwang's thin group midpoint.
const VE_THIN_LEE_HWANG: Measure = ms(
    LEE_HWANG_THIN_EPIDERMIS_MID,
    None,
    REF_AGE_LEE_HWANG,
    Pooled,
    Histology,
    D,
    "LeeHwang2002",
);
/// 50 MHz cheek, women and men 20-29 y.
const CHEEK_F: Measure = ms(
    1900.0,
    Some(210.0),
    REF_AGE_US50_20_29,
    Female,
    Ultrasound,
    P,
    "US50-2019",
);
const CHEEK_M: Measure = ms(
    2530.0,
    Some(260.0),
    REF_AGE_US50_20_29,
    Male,
    Ultrasound,
    P,
    "US50-2019",
);
const CHEEK_F_AS_D: Measure = Measure {
    grade: D,
    ..CHEEK_F
};
const CHEEK_M_AS_D: Measure = Measure {
    grade: D,
    ..CHEEK_M
};

/// The per-site table, in [`Site::ALL`] order (checked by a unit test; [`row`] indexes it).
///
/// Every number is a [`Measure`] with its citation key; grade D rows say in `note` how they were
/// derived. Thicknesses in µm.
pub const SITE_TABLE: [SiteRow; 13] = [
    SiteRow {
        site: Site::Forehead,
        sc: SC_FROM_CHEEK,
        viable_epidermis: VE_FACE_MID_F,
        viable_epidermis_male: Some(VE_FACE_MID_M),
        total: ms(
            1860.0,
            Some(260.0),
            REF_AGE_US50_20_29,
            Female,
            Ultrasound,
            P,
            "US50-2019",
        ),
        total_male: Some(ms(
            2450.0,
            Some(370.0),
            REF_AGE_US50_20_29,
            Male,
            Ultrasound,
            P,
            "US50-2019",
        )),
        note: "SC: no forehead value; cheek Raman value (Egawa 2007), the nearest measured facial site. \
               VE: the forehead is one of Oltulu's six facial regions but its own value was not readable; \
               midpoint of the reported range by sex (F (65.91+120.91)/2 = 93.41, M (79.08+122.75)/2 = 100.92 µm).",
    },
    SiteRow {
        site: Site::Periorbital,
        sc: SC_FROM_CHEEK,
        viable_epidermis: VE_THIN_LEE_HWANG,
        viable_epidermis_male: None,
        total: ms(
            1240.0,
            Some(250.0),
            REF_AGE_US50_20_29,
            Female,
            Ultrasound,
            P,
            "US50-2019",
        ),
        total_male: Some(ms(
            1440.0,
            Some(160.0),
            REF_AGE_US50_20_29,
            Male,
            Ultrasound,
            P,
            "US50-2019",
        )),
        note: "Total: the study's 'eyelid' site (the lateral canthus reads 1.36 F / 1.64 M mm). SC: cheek Raman \
               value. VE: Lee & Hwang put the eyelid in their thinnest epidermis group (31-71 µm): midpoint 51 µm. \
               Histology reads eyelid skin far thinner (Lee & Hwang total 521-626 µm; Chopra upper medial eyelid \
               dermis 758.9 µm) than this ultrasound value.",
    },
    SiteRow {
        site: Site::Cheek,
        sc: ms(
            16.8,
            None,
            REF_AGE_UNKNOWN_ADULT,
            Pooled,
            Raman,
            P,
            "Egawa2007",
        ),
        viable_epidermis: ms(
            79.08,
            Some(13.88),
            REF_AGE_OLTULU_FACE,
            Male,
            Histology,
            P,
            "OltuluFace",
        ),
        viable_epidermis_male: None,
        total: CHEEK_F,
        total_male: Some(CHEEK_M),
        note: "All three numbers measured at the cheek. VE: Oltulu reports the men's cheek (thinnest male facial \
               epidermis); women's VE is derived with the epidermal sex ratio.",
    },
    SiteRow {
        site: Site::Nose,
        sc: SC_FROM_CHEEK,
        viable_epidermis: VE_FACE_MID_F,
        viable_epidermis_male: Some(VE_FACE_MID_M),
        total: ms(
            1860.0 * HA_NOSE_OVER_FOREHEAD,
            Some(260.0 * HA_NOSE_OVER_FOREHEAD),
            REF_AGE_US50_20_29,
            Female,
            Ultrasound,
            D,
            "US50-2019; Ha2005",
        ),
        total_male: Some(ms(
            2450.0 * HA_NOSE_OVER_FOREHEAD,
            Some(370.0 * HA_NOSE_OVER_FOREHEAD),
            REF_AGE_US50_20_29,
            Male,
            Ultrasound,
            D,
            "US50-2019; Ha2005",
        )),
        note: "Total: 50 MHz forehead x Ha 2005's nasal-tip/brow ratio (3.30/2.8 = 1.179): F 2.19, M 2.89 mm. \
               Consistent in size with Chopra 2015's thickest facial dermis (lower nasal sidewall 1969 µm, cadaver). \
               SC: cheek Raman value. VE: Oltulu facial range midpoints (nose per-site value not readable).",
    },
    SiteRow {
        site: Site::Perioral,
        sc: SC_FROM_CHEEK,
        viable_epidermis: ms(
            120.91,
            Some(44.74),
            REF_AGE_OLTULU_FACE,
            Female,
            Histology,
            P,
            "OltuluFace",
        ),
        viable_epidermis_male: Some(ms(
            122.75,
            Some(32.5),
            REF_AGE_OLTULU_FACE,
            Male,
            Histology,
            P,
            "OltuluFace",
        )),
        total: CHEEK_F_AS_D,
        total_male: Some(CHEEK_M_AS_D),
        note: "VE: upper lip, the thickest facial epidermis in both sexes (Oltulu; Chopra 2015 also finds the upper \
               lip thickest, 62.6 µm, in cadavers). Total: no perioral ultrasound number; the adjacent 50 MHz cheek \
               value (Pellacani 1999 found the lower face thicker than the upper, without readable numbers).",
    },
    SiteRow {
        site: Site::Chin,
        sc: SC_FROM_CHEEK,
        viable_epidermis: VE_FACE_MID_F,
        viable_epidermis_male: Some(VE_FACE_MID_M),
        total: CHEEK_F_AS_D,
        total_male: Some(CHEEK_M_AS_D),
        note: "No chin number in the files. Total: 50 MHz cheek (nearest lower-face site). SC: cheek Raman value. \
               VE: Oltulu facial range midpoints.",
    },
    SiteRow {
        site: Site::Neck,
        sc: SC_FROM_CHEEK,
        viable_epidermis: VE_THIN_LEE_HWANG,
        viable_epidermis_male: None,
        total: ms(
            LEE_HWANG_NECK_CHEST_DERMIS_MID + LEE_HWANG_THIN_EPIDERMIS_MID,
            None,
            REF_AGE_LEE_HWANG,
            Pooled,
            Histology,
            D,
            "LeeHwang2002",
        ),
        total_male: None,
        note: "Total: Lee & Hwang's dermis group with the anterior neck (1318-1586 µm, midpoint 1452) + the thin \
               epidermis group with the adjacent supraclavicular skin (midpoint 51) = 1503 µm, histology. SC: cheek \
               Raman value (head and neck, sun-exposed). Meng 2022 found neck dermis not thicker in men (no numbers); \
               the general sex ratio is still applied.",
    },
    SiteRow {
        site: Site::Chest,
        sc: SC_FROM_SHOULDER,
        viable_epidermis: ms(
            76.9,
            Some(26.2),
            REF_AGE_UNKNOWN_ADULT,
            Female,
            Histology,
            D,
            "Oltulu2018",
        ),
        viable_epidermis_male: None,
        total: ms(
            LEE_HWANG_NECK_CHEST_DERMIS_MID + 76.9,
            None,
            REF_AGE_LEE_HWANG,
            Pooled,
            Histology,
            D,
            "LeeHwang2002; Oltulu2018",
        ),
        total_male: None,
        note: "VE: Oltulu 2018's breast (women) 76.9 +/- 26.2 µm taken for the chest. Total: Lee & Hwang's dermis \
               group containing the chest (midpoint 1452 µm) + that VE = 1529 µm, histology. SC: Sandby-Møller's \
               shoulder (nearest trunk site).",
    },
    SiteRow {
        site: Site::DorsalHand,
        sc: ms(
            29.3,
            None,
            REF_AGE_UNKNOWN_ADULT,
            Pooled,
            Raman,
            P,
            "Egawa2007",
        ),
        viable_epidermis: VE_FROM_BUTTOCK,
        viable_epidermis_male: None,
        total: ms(
            1900.0,
            None,
            REF_AGE_GIBNEY,
            Pooled,
            Ultrasound,
            D,
            "Gibney2010; Oltulu2018; US22Sites",
        ),
        total_male: None,
        note: "SC: back of hand, Egawa 2007 (Raman). VE: Lee & Hwang group the dorsum of the hand with the buttock \
               (138-189 µm, histology that reads thicker than Sandby-Møller's); Sandby-Møller's buttock value is \
               used. Total: no in vivo number read. Oltulu 2018 (archive histology) has the dorsum of the hand as the \
               thinnest of its six body sites (women's dermis 2115 +/- 946 µm, a method that reads dermis 2-6 mm), and \
               a 20 MHz map of 22 sites found extremity skin thinner than truncal skin (US22Sites, no numbers read); \
               the thinnest in vivo body value in the files, Gibney's thigh 1.9 mm, is used. Probably an \
               overestimate: override where a measured value is available.",
    },
    SiteRow {
        site: Site::Abdomen,
        sc: SC_FROM_BUTTOCK,
        viable_epidermis: VE_FROM_BUTTOCK,
        viable_epidermis_male: None,
        total: ms(
            2200.0,
            None,
            REF_AGE_GIBNEY,
            Pooled,
            Ultrasound,
            P,
            "Gibney2010",
        ),
        total_male: None,
        note: "Total: Gibney 2010 (95 % CI 2.1-2.2 mm; Sim 2014 reads 2.29 +/- 0.37 mm in Korean adults). Gibney found \
               sex effects significant but small. SC and VE: Sandby-Møller's buttock (nearest measured non-exposed \
               trunk site).",
    },
    SiteRow {
        site: Site::Thigh,
        sc: SC_FROM_BUTTOCK,
        viable_epidermis: VE_FROM_BUTTOCK,
        viable_epidermis_male: None,
        total: ms(
            1900.0,
            None,
            REF_AGE_GIBNEY,
            Pooled,
            Ultrasound,
            P,
            "Gibney2010",
        ),
        total_male: None,
        note: "Total: Gibney 2010 anterior thigh (95 % CI 1.8-1.9 mm), the thinnest of its four sites. SC and VE: \
               Sandby-Møller's buttock.",
    },
    SiteRow {
        site: Site::Back,
        sc: SC_FROM_SHOULDER,
        viable_epidermis: ms(
            70.3,
            Some(13.6),
            REF_AGE_UNKNOWN_ADULT,
            Pooled,
            Histology,
            D,
            "SandbyMoller2003",
        ),
        viable_epidermis_male: None,
        total: ms(
            1977.0,
            None,
            REF_AGE_LEE_HWANG,
            Pooled,
            Histology,
            P,
            "LeeHwang2002",
        ),
        total_male: None,
        note: "Total: Lee & Hwang's back, their thickest site (histology). SC and VE: Sandby-Møller's shoulder.",
    },
    SiteRow {
        site: Site::Scalp,
        sc: SC_FROM_CHEEK,
        viable_epidermis: ms(
            65.91,
            Some(14.44),
            REF_AGE_OLTULU_FACE,
            Female,
            Histology,
            P,
            "OltuluFace",
        ),
        viable_epidermis_male: None,
        total: ms(
            (OLTULU_FACE_TOTAL_RANGE_F.0 + OLTULU_FACE_TOTAL_RANGE_F.1) / 2.0,
            None,
            REF_AGE_OLTULU_FACE,
            Female,
            Histology,
            D,
            "OltuluFace",
        ),
        total_male: None,
        note: "VE: women's scalp, the thinnest female facial-region epidermis in Oltulu. Total: the scalp's own value \
               was not readable; midpoint of Oltulu's women's facial total range (1234.83-1599.33 -> 1417 µm). \
               SC: cheek Raman value (no scalp SC found).",
    },
];

/// The table row of a site.
pub fn row(site: Site) -> &'static SiteRow {
    &SITE_TABLE[site as usize]
}

// ---------------------------------------------------------------------------------------------
// Derived constants: sex ratios and coefficients of variation
// ---------------------------------------------------------------------------------------------

/// Male/female ratio of total skin thickness where a site has no sex-specific number.
///
/// Derived (grade D) from the 50 MHz facial study: the mean of the 11 men/women ratios available
/// at the same region and decade (forehead, canthus, eyelid, cheek; 20-29, 30-39, 40-49 y; men's
/// 40-49 y cheek truncated) = 1.184. The ratio falls with age in those data (1.25 at 20-29 y, 1.08
/// at 40-49 y); one mean is used for all ages. Gibney 2010 called sex effects on body-site skin
/// thickness "small", so on body sites this may overstate the difference.
pub fn total_skin_sex_ratio() -> f64 {
    let mut sum = 0.0;
    let mut n = 0.0;
    for f in FACE_50MHZ.iter().filter(|c| c.sex == Sex::Female) {
        let Some(m) = FACE_50MHZ
            .iter()
            .find(|c| c.sex == Sex::Male && c.age_band == f.age_band)
        else {
            continue;
        };
        let pairs = [
            (Some(f.forehead_mm), Some(m.forehead_mm)),
            (Some(f.canthus_mm), Some(m.canthus_mm)),
            (Some(f.eyelid_mm), Some(m.eyelid_mm)),
            (f.cheek_mm, m.cheek_mm),
        ];
        for (fv, mv) in pairs {
            if let (Some(fv), Some(mv)) = (fv, mv) {
                sum += mv.0 / fv.0;
                n += 1.0;
            }
        }
    }
    if n > 0.0 { sum / n } else { 1.0 }
}

/// Male/female ratio of viable epidermis where a site has no sex-specific number.
///
/// Derived (grade D) from Oltulu's facial histology: ratio of the midpoints of the men's and
/// women's epidermis ranges, 100.915 / 93.41 = 1.080. Sandby-Møller 2003 confirms men's cellular
/// epidermis is thicker (p < 0.0001) without a readable magnitude; the only same-site pair in the
/// files (upper lip, 122.75 / 120.91 = 1.015) suggests the difference may be smaller.
pub fn epidermis_sex_ratio() -> f64 {
    OLTULU_FACE_VE_MID_M / OLTULU_FACE_VE_MID_F
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = xs.fold((0.0, 0.0), |(s, n), x| (s + x, n + 1.0));
    if n > 0.0 { s / n } else { 0.0 }
}

/// Coefficient of variation of SC thickness where the source gives no SD: mean of Sandby-Møller's
/// three SD/mean ratios (0.268, 0.200, 0.228) = 0.232. Derived.
pub fn cv_sc() -> f64 {
    mean(SANDBY_MOLLER_2003.iter().map(|r| r.2 / r.1))
}

/// Coefficient of variation of viable epidermis: mean of Sandby-Møller's three ratios = 0.196.
pub fn cv_viable_epidermis() -> f64 {
    mean(SANDBY_MOLLER_2003.iter().map(|r| r.4 / r.3))
}

/// Coefficient of variation of total skin for facial/histology rows without SD: mean SD/mean of
/// the eight 20-29 y cells of the 50 MHz study = 0.127.
pub fn cv_total_face() -> f64 {
    let young = FACE_50MHZ.iter().filter(|c| c.age_band == (20, 29));
    let mut v = Vec::with_capacity(8);
    for c in young {
        for x in [
            Some(c.forehead_mm),
            Some(c.canthus_mm),
            Some(c.eyelid_mm),
            c.cheek_mm,
        ]
        .into_iter()
        .flatten()
        {
            v.push(x.1 / x.0);
        }
    }
    mean(v.into_iter())
}

/// Coefficient of variation of body-site ultrasound total skin: Sim 2014 (abdomen 0.37/2.29,
/// upper arm 0.34/2.00) = 0.166. Gibney 2010 gives only 95 % CIs rounded to 0.1 mm.
pub fn cv_total_body() -> f64 {
    mean(SIM_2014.iter().map(|r| r.1 / r.0))
}

// ---------------------------------------------------------------------------------------------
// Ageing (Branchet 1990)
// ---------------------------------------------------------------------------------------------

/// Epidermal thickness lost per decade, men, as a fraction of the reference value (Branchet 1990).
pub const EPIDERMIS_LOSS_PER_DECADE_MALE: f64 = 0.072;
/// Epidermal thickness lost per decade, women (Branchet 1990).
pub const EPIDERMIS_LOSS_PER_DECADE_FEMALE: f64 = 0.057;
/// Total dermal thickness lost per decade, both sexes (Branchet 1990).
pub const DERMIS_LOSS_PER_DECADE: f64 = 0.06;

/// Linear-in-decades factor from a number's reference age to `age` (> 1 when younger).
///
/// Branchet reports loss "of the original per decade"; applied linearly from each number's own
/// reference age. Over 18-100 y with reference ages 24.5-55 y the factor stays within 0.46-1.27.
pub fn age_factor(loss_per_decade: f64, age_years: f64, ref_age_years: f64) -> f64 {
    1.0 - loss_per_decade * (age_years - ref_age_years) / 10.0
}

fn epidermis_loss(sex: Sex, p: &SkinParams) -> f64 {
    match sex {
        Sex::Female => p.epidermis_loss_per_decade_female,
        Sex::Male => p.epidermis_loss_per_decade_male,
    }
}

/// Converts a tabulated value to `sex` with a male/female `ratio`. A pooled cohort is taken as half
/// women, half men: pooled = (F + M)/2 = F (1 + ratio)/2.
pub fn for_sex(value: f64, ref_sex: RefSex, sex: Sex, ratio: f64) -> f64 {
    match (ref_sex, sex) {
        (RefSex::Female, Sex::Female) | (RefSex::Male, Sex::Male) => value,
        (RefSex::Female, Sex::Male) => value * ratio,
        (RefSex::Male, Sex::Female) => value / ratio,
        (RefSex::Pooled, Sex::Female) => 2.0 * value / (1.0 + ratio),
        (RefSex::Pooled, Sex::Male) => 2.0 * value * ratio / (1.0 + ratio),
    }
}

// ---------------------------------------------------------------------------------------------
// Papillary split, subcutis, overrides
// ---------------------------------------------------------------------------------------------

/// Fraction of the dermis taken as papillary (assumed; W-PapillaryFifth: "upper one-fifth or so").
pub const PAPILLARY_FRACTION: f64 = 0.2;
/// Floor of the papillary thickness, m (assumed; the capillary loops need room).
pub const PAPILLARY_MIN_M: f64 = 100e-6;
/// Cap of the papillary thickness, m (assumed): keeps the papillary/reticular boundary within
/// about 300-400 µm of the surface, as SorrellCaplan2004 (secondhand) describe its depth.
pub const PAPILLARY_MAX_M: f64 = 300e-6;

/// Papillary dermis thickness for a dermis thickness (m): 0.2 × dermis, kept within 100-300 µm
/// and never more than half the dermis. An assumption; see `docs/MODEL.md (Skin)`.
pub fn papillary_thickness_m(dermis_m: f64) -> f64 {
    papillary_thickness_with(dermis_m, &SkinParams::default())
}

/// [`papillary_thickness_m`] with the skin parameters `p` (`papillary_fraction`,
/// `papillary_min`, `papillary_max`; their ranges keep min <= max).
pub fn papillary_thickness_with(dermis_m: f64, p: &SkinParams) -> f64 {
    (p.papillary_fraction * dermis_m)
        .clamp(p.papillary_min, p.papillary_max)
        .min(0.5 * dermis_m)
}

/// Thickness of the modelled top of the subcutis, m. A modelling choice, not anatomy: deep enough
/// that a 2.5 mm needle on the thinnest skin (old eyelid, ~0.7 mm) still ends inside the column.
pub const SUBCUTIS_SLAB_M: f64 = 2.0e-3;

/// Accepted range of a user thickness override per layer, m (min, max), [`LayerKind::ALL`] order.
///
/// Chosen to reject unit slips (µm typed as mm) while admitting any plausible anatomy: SC up to
/// palm-like 500 µm (Egawa palm 173 µm, hydration doubles it); VE 10-1000 µm (Lee & Hwang 31-637 µm);
/// papillary 20-1000 µm; reticular 0.1-6 mm (Oltulu 2018 histology dermis up to 5.9 mm);
/// subcutis slab 0.1-20 mm (Gibney mean subcutis 10-15 mm).
pub const OVERRIDE_LIMITS: [(f64, f64); 5] = [
    (1e-6, 500e-6),
    (10e-6, 1000e-6),
    (20e-6, 1000e-6),
    (100e-6, 6e-3),
    (0.1e-3, 20e-3),
];

/// The accepted age range, years.
pub const AGE_RANGE_YEARS: (f64, f64) = (18.0, 100.0);

// ---------------------------------------------------------------------------------------------
// Building the column
// ---------------------------------------------------------------------------------------------

/// Thicknesses (m), SDs (m) and sources of the five layers before overrides.
struct Baseline {
    thickness_m: [f64; 5],
    sd_m: [f64; 5],
    source: [String; 5],
}

fn sd_or_cv(m: &Measure, cv: f64) -> f64 {
    m.sd_um.unwrap_or(cv * m.mean_um)
}

fn baseline(site: Site, sex: Sex, age: f64, p: &SkinParams) -> Baseline {
    let r = row(site);
    let r_epi = epidermis_sex_ratio();
    let r_tot = total_skin_sex_ratio();

    // Stratum corneum: as tabulated (no sex, age or phototype effect; Sandby-Møller 2003).
    let sc_um = r.sc.mean_um;
    let sc_sd_um = sd_or_cv(&r.sc, cv_sc());

    // Viable epidermis for this sex at its own reference age.
    let ve = match (sex, r.viable_epidermis_male) {
        (Sex::Male, Some(m)) => m,
        _ => r.viable_epidermis,
    };
    let ve_ref_um = for_sex(ve.mean_um, ve.ref_sex, sex, r_epi);
    let ve_sd_ref_um = for_sex(sd_or_cv(&ve, cv_viable_epidermis()), ve.ref_sex, sex, r_epi);
    let epi_loss = epidermis_loss(sex, p);
    let ve_factor = age_factor(epi_loss, age, ve.ref_age_years);

    // Total skin for this sex at its reference age; dermis = total - VE - SC at that age.
    let total = match (sex, r.total_male) {
        (Sex::Male, Some(m)) => m,
        _ => r.total,
    };
    // Rows without SD: body-site ultrasound takes Sim 2014's spread, the rest the 50 MHz facial one.
    let cv_total = if total.method == Method::Ultrasound && !total.source.contains("US50") {
        cv_total_body()
    } else {
        cv_total_face()
    };
    let total_ref_um = for_sex(total.mean_um, total.ref_sex, sex, r_tot);
    let total_sd_ref_um = for_sex(sd_or_cv(&total, cv_total), total.ref_sex, sex, r_tot);
    let ve_at_total_ref_um =
        ve_ref_um * age_factor(epi_loss, total.ref_age_years, ve.ref_age_years);
    let dermis_ref_um = total_ref_um - ve_at_total_ref_um - sc_um;
    let dermis_factor = age_factor(p.dermis_loss_per_decade, age, total.ref_age_years);
    let dermis_m = dermis_ref_um * dermis_factor * 1e-6;
    // The between-person spread of total skin is almost all dermis; it shrinks with the dermis.
    let dermis_sd_m = total_sd_ref_um * dermis_factor * 1e-6;

    let papillary_m = papillary_thickness_with(dermis_m, p);
    let reticular_m = dermis_m - papillary_m;

    let total_src = total.source.to_string();
    Baseline {
        thickness_m: [
            sc_um * 1e-6,
            ve_ref_um * ve_factor * 1e-6,
            papillary_m,
            reticular_m,
            p.subcutis_slab,
        ],
        sd_m: [
            sc_sd_um * 1e-6,
            ve_sd_ref_um * ve_factor * 1e-6,
            dermis_sd_m * papillary_m / dermis_m,
            dermis_sd_m * reticular_m / dermis_m,
            0.0,
        ],
        source: [
            format!(
                "{} ({}, grade {})",
                r.sc.source,
                r.sc.method.name(),
                r.sc.grade.name()
            ),
            format!(
                "{} ({}, grade {}); age: Branchet1990",
                ve.source,
                ve.method.name(),
                ve.grade.name()
            ),
            format!(
                "assumed split (W-PapillaryFifth; SorrellCaplan2004) of dermis from {total_src}"
            ),
            format!(
                "{total_src} ({}, grade {}) minus epidermis and papillary dermis; age: Branchet1990",
                total.method.name(),
                total.grade.name()
            ),
            format!(
                "modelling choice: top {} mm of the subcutis",
                crate::registry::format_sig(p.subcutis_slab * 1e3)
            ),
        ],
    }
}

fn validate_person(person: &Person) -> Result<(), SkinError> {
    let age = person.age_years;
    if !(AGE_RANGE_YEARS.0..=AGE_RANGE_YEARS.1).contains(&age) {
        return Err(SkinError::AgeOutOfRange { age_years: age });
    }
    if !(1..=6).contains(&person.phototype) {
        return Err(SkinError::Phototype(person.phototype));
    }
    Ok(())
}

/// Checks one override against [`OVERRIDE_LIMITS`].
pub fn validate_override(kind: LayerKind, value_m: f64) -> Result<f64, SkinError> {
    let (min_m, max_m) = OVERRIDE_LIMITS[kind.index()];
    if value_m.is_finite() && (min_m..=max_m).contains(&value_m) {
        Ok(value_m)
    } else {
        Err(SkinError::Override {
            layer: kind.name(),
            value_m,
            min_m,
            max_m,
        })
    }
}

/// Builds the column for a site and person, applying user overrides, with the published skin
/// parameters (`SkinParams::default()`). A run that reads a file's `[params.skin]` builds its
/// columns with [`column_with`].
///
/// Errors: age outside 18-100 years (or not a number), phototype outside 1-6, an override that is
/// not finite or outside [`OVERRIDE_LIMITS`]. Never panics.
pub fn column(
    site: Site,
    person: &Person,
    overrides: &ThicknessOverrides,
) -> Result<SkinColumn, SkinError> {
    column_with(site, person, overrides, &SkinParams::default())
}

/// [`column`] with the skin parameters `p` (composition, ageing, papillary split, subcutis
/// slab): the registry's `skin` group, e.g. a scenario's or patient's `params.skin`. The values
/// must be within the registry's ranges (`ModelParams::set` checks them).
pub fn column_with(
    site: Site,
    person: &Person,
    overrides: &ThicknessOverrides,
    p: &SkinParams,
) -> Result<SkinColumn, SkinError> {
    validate_person(person)?;
    let mut overridden = [None; 5];
    for kind in LayerKind::ALL {
        if let Some(v) = overrides.get(kind) {
            overridden[kind.index()] = Some(validate_override(kind, v)?);
        }
    }

    let base = baseline(site, person.sex, person.age_years, p);
    let mut top = 0.0;
    let mut layers = Vec::with_capacity(5);
    for (kind, ((thickness, sd), source)) in LayerKind::ALL
        .into_iter()
        .zip(base.thickness_m.into_iter().zip(base.sd_m).zip(base.source))
    {
        let (thickness_m, thickness_sd_m, source) = match overridden[kind.index()] {
            Some(v) => (v, 0.0, "user override".to_string()),
            None => (thickness, sd, source),
        };
        layers.push(Layer {
            kind,
            top_m: top,
            thickness_m,
            thickness_sd_m,
            properties: layer_properties_with(kind, p),
            source,
        });
        top += thickness_m;
    }
    Ok(SkinColumn {
        site,
        person: person.clone(),
        layers,
    })
}

// ---------------------------------------------------------------------------------------------
// Documentation tables
// ---------------------------------------------------------------------------------------------

fn fmt_measure(m: &Measure) -> String {
    let sd = match m.sd_um {
        Some(sd) => format!(" ± {sd:.1}"),
        None => String::new(),
    };
    format!(
        "{:.1}{sd} ({}, {:.1} y, {}, {}, {})",
        m.mean_um,
        m.ref_sex.name(),
        m.ref_age_years,
        m.method.name(),
        m.grade.name(),
        m.source
    )
}

/// The site table as Markdown (the input numbers, µm), for `docs/MODEL.md (Skin)`.
pub fn markdown_site_table() -> String {
    let mut s = String::from(
        "| Site | SC µm | Viable epidermis µm | Total skin (epidermis + dermis) µm |\n|---|---|---|---|\n",
    );
    for r in &SITE_TABLE {
        let ve = match &r.viable_epidermis_male {
            Some(m) => format!("{}; {}", fmt_measure(&r.viable_epidermis), fmt_measure(m)),
            None => fmt_measure(&r.viable_epidermis),
        };
        let total = match &r.total_male {
            Some(m) => format!("{}; {}", fmt_measure(&r.total), fmt_measure(m)),
            None => fmt_measure(&r.total),
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            r.site.name(),
            fmt_measure(&r.sc),
            ve,
            total
        ));
    }
    s
}

/// Resulting layer thicknesses (µm) for each site at the given ages, both sexes, as Markdown.
pub fn markdown_column_table(ages: &[f64]) -> String {
    let mut s = String::from(
        "| Site | Sex | Age | SC | VE | Papillary | Reticular | Total skin |\n|---|---|---|---|---|---|---|---|\n",
    );
    for site in Site::ALL {
        for sex in [Sex::Female, Sex::Male] {
            for &age in ages {
                let p = Person {
                    age_years: age,
                    sex,
                    phototype: 3,
                };
                let Ok(c) = column(site, &p, &ThicknessOverrides::default()) else {
                    continue;
                };
                let um = |k: LayerKind| c.layer(k).thickness_m * 1e6;
                s.push_str(&format!(
                    "| {} | {} | {:.0} | {:.1} | {:.1} | {:.0} | {:.0} | {:.0} |\n",
                    site.name(),
                    if sex == Sex::Female { "F" } else { "M" },
                    age,
                    um(LayerKind::StratumCorneum),
                    um(LayerKind::ViableEpidermis),
                    um(LayerKind::PapillaryDermis),
                    um(LayerKind::ReticularDermis),
                    c.skin_thickness_m() * 1e6
                ));
            }
        }
    }
    s
}

/// The [`SOURCES`] table as Markdown.
pub fn markdown_sources() -> String {
    let mut s = String::from("| Key | Grade | Citation |\n|---|---|---|\n");
    for src in SOURCES {
        s.push_str(&format!(
            "| {} | {} | {} |\n",
            src.key, src.grade, src.citation
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approx(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn table_is_in_site_order() {
        for (i, site) in Site::ALL.into_iter().enumerate() {
            assert_eq!(SITE_TABLE[i].site, site);
            assert_eq!(row(site).site, site);
        }
    }

    #[test]
    fn every_source_key_resolves() {
        let keys: Vec<&str> = SOURCES.iter().map(|s| s.key).collect();
        for r in &SITE_TABLE {
            let ms = [
                Some(r.sc),
                Some(r.viable_epidermis),
                r.viable_epidermis_male,
                Some(r.total),
                r.total_male,
            ];
            for m in ms.into_iter().flatten() {
                for key in m.source.split("; ") {
                    assert!(
                        keys.contains(&key),
                        "{}: unknown source key {key}",
                        r.site.name()
                    );
                }
            }
        }
    }

    #[test]
    fn derived_constants_match_the_documented_arithmetic() {
        assert!(
            approx(total_skin_sex_ratio(), 1.184, 0.001),
            "{}",
            total_skin_sex_ratio()
        );
        assert!(approx(epidermis_sex_ratio(), 1.080, 0.001));
        assert!(approx(cv_sc(), 0.232, 0.001));
        assert!(approx(cv_viable_epidermis(), 0.196, 0.001));
        assert!(approx(cv_total_face(), 0.127, 0.001));
        assert!(approx(cv_total_body(), 0.166, 0.001));
        assert!(approx(HA_NOSE_OVER_FOREHEAD, 1.179, 0.001));
    }

    #[test]
    fn rows_agree_with_the_raw_50mhz_table() {
        let f = &FACE_50MHZ[0];
        let m = &FACE_50MHZ[1];
        let check = |site: Site, fv: (f64, f64), mv: (f64, f64)| {
            let r = row(site);
            assert!(approx(r.total.mean_um, fv.0 * 1e3, 1e-9));
            assert_eq!(r.total.sd_um, Some(fv.1 * 1e3));
            let rm = r.total_male.expect("male row");
            assert!(approx(rm.mean_um, mv.0 * 1e3, 1e-9));
        };
        check(Site::Forehead, f.forehead_mm, m.forehead_mm);
        check(Site::Periorbital, f.eyelid_mm, m.eyelid_mm);
        check(
            Site::Cheek,
            f.cheek_mm.unwrap_or_default(),
            m.cheek_mm.unwrap_or_default(),
        );
    }

    #[test]
    fn reference_total_is_reproduced_at_reference_age_and_sex() {
        for r in &SITE_TABLE {
            let sex = match r.total.ref_sex {
                RefSex::Male => Sex::Male,
                _ => Sex::Female,
            };
            let p = Person {
                age_years: r.total.ref_age_years,
                sex,
                phototype: 2,
            };
            let c = column(r.site, &p, &ThicknessOverrides::default()).expect("column");
            let expected = for_sex(
                r.total.mean_um,
                r.total.ref_sex,
                sex,
                total_skin_sex_ratio(),
            );
            assert!(
                approx(c.skin_thickness_m() * 1e6, expected, 1e-6),
                "{}",
                r.site.name()
            );
        }
    }

    #[test]
    fn papillary_rule() {
        assert!(approx(papillary_thickness_m(1.0e-3), 200e-6, 1e-12));
        assert!(approx(papillary_thickness_m(3.0e-3), 300e-6, 1e-12));
        assert!(approx(papillary_thickness_m(0.3e-3), 100e-6, 1e-12));
        assert!(approx(papillary_thickness_m(0.1e-3), 50e-6, 1e-12));
    }

    #[test]
    fn pooled_conversion_averages_back() {
        let r = 1.2;
        let f = for_sex(2.0, RefSex::Pooled, Sex::Female, r);
        let m = for_sex(2.0, RefSex::Pooled, Sex::Male, r);
        assert!(approx((f + m) / 2.0, 2.0, 1e-12));
        assert!(approx(m / f, r, 1e-12));
    }

    #[test]
    fn markdown_tables_render() {
        assert!(markdown_site_table().lines().count() == 15);
        assert!(markdown_sources().contains("Branchet1990"));
        assert!(markdown_column_table(&[25.0]).contains("| cheek | F | 25 |"));
    }
}
