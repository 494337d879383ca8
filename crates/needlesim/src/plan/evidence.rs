//! Evidence levels and the sources the planner's rules and tables cite.
//!
//! Grades follow `literature/biology.md`: **A** a primary peer-reviewed study (number read in its
//! own abstract or record), **B** secondary (peer-reviewed review, consensus, or a paper quoting
//! another), **C** non-peer-reviewed (clinic, manufacturer, blog). Planner choices that no source
//! gives (for example "use the lower half of the range for darker skin") are marked
//! [`Grade::Planner`] and say so in the text.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How strong the evidence behind a rule or table row is.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum Grade {
    /// Primary peer-reviewed study.
    A,
    /// Peer-reviewed review, consensus, or a paper quoting another.
    B,
    /// Clinic, manufacturer or other non-peer-reviewed page.
    C,
    /// A default chosen by the planner where no source gives a number; stated as such.
    Planner,
}

impl Grade {
    /// Short label for tables.
    pub fn label(self) -> &'static str {
        match self {
            Grade::A => "A",
            Grade::B => "B",
            Grade::C => "C",
            Grade::Planner => "planner default",
        }
    }
}

/// One cited source.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
pub struct Source {
    /// Short key used in rules and tables.
    pub key: &'static str,
    /// Citation as read.
    pub citation: &'static str,
    /// Where it was read (URL or literature note section).
    pub url: &'static str,
    pub grade: Grade,
}

/// A source as written into a plan (owned, so plans can be read back).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CitedSource {
    pub key: String,
    pub citation: String,
    pub url: String,
    pub grade: Grade,
}

impl From<&Source> for CitedSource {
    fn from(s: &Source) -> Self {
        CitedSource {
            key: s.key.into(),
            citation: s.citation.into(),
            url: s.url.into(),
            grade: s.grade,
        }
    }
}

/// Every source the planner cites. Keys are stable (they appear in plan.json).
pub const SOURCES: &[Source] = &[
    Source {
        key: "chu2021",
        citation: "Chu S, Foulad DP, Atanaskova Mesinkovska N. Safety profile for microneedling: a systematic review. Dermatol Surg 2021;47(9):1249-54 (transient adverse events up to 7 days; risk factors active infection, darker skin, metal allergy; persistent PIH, tram-track scarring, granulomas)",
        url: "https://ouci.dntb.gov.ua/en/works/7X1Z3mr4 (literature/biology.md §3.2, §6.3)",
        grade: Grade::B,
    },
    Source {
        key: "soc-chapter",
        citation: "Applications and safety in skin of color (book chapter): keloid predisposition and active infection as the only relative contraindications in skin of color",
        url: "https://plasticsurgerykey.com/applications-and-safety-in-skin-of-color/ (literature/biology.md §6.3)",
        grade: Grade::B,
    },
    Source {
        key: "clinic-contra",
        citation: "Clinic contraindication lists (active acne, herpes simplex, eczema, psoriasis, rosacea, actinic keratoses, warts/moles in the field; bleeding disorders and anticoagulants; uncontrolled diabetes, immunosuppression, chemo/radiotherapy, malignancy in the field; pregnancy and breastfeeding; isotretinoin 'currently taking')",
        url: "https://balancedayspa.com/pages/microneedling-contraindications (literature/biology.md §6.3)",
        grade: Grade::C,
    },
    Source {
        key: "commonly-listed",
        citation: "needlesim SCIENCE.md §5: open wounds and sunburn are commonly listed contraindications (the project's summary of clinic protocols; no specific page was read for them)",
        url: "SCIENCE.md §5",
        grade: Grade::C,
    },
    Source {
        key: "clinic-intervals",
        citation: "Clinic pages on waiting after other procedures: 3-12 months after fillers or surgery, 3 months after botulinum toxin, 30 days after a deep peel; isotretinoin 'within 3 months'",
        url: "https://beautyandthebroworlando.com/before-your-microneedling-appointment/ and others (literature/biology.md §6.3)",
        grade: Grade::C,
    },
    Source {
        key: "waldman2017",
        citation: "Waldman A, Bolotin D, Arndt KA, et al. ASDS Guidelines Task Force: consensus recommendations regarding the safety of lasers, dermabrasion, chemical peels, energy devices, and skin surgery during and after isotretinoin use. Dermatol Surg 2017;43(10):1249-62 (the package insert advises stopping isotretinoin 6 months before cosmetic procedures; the task force found insufficient evidence to justify delaying superficial chemical peels and non-ablative lasers; microneedling is not named in the abstract read)",
        url: "https://insights.ovid.com/pubmed?pmid=28498204",
        grade: Grade::B,
    },
    Source {
        key: "pmid23216209",
        citation: "Percutaneous collagen induction for acne scars in phototypes I-VI (PMID 23216209): 60 patients, 3 monthly sessions, no short- or long-term dyschromia in any phototype group",
        url: "https://europepmc.org/article/MED/23216209 (literature/biology.md §3.3)",
        grade: Grade::A,
    },
    Source {
        key: "jaad2016-soc",
        citation: "Microneedling in skin of color: a review of uses and efficacy. J Am Acad Dermatol 2016;74(2):348-55 (may have a more favourable safety profile than resurfacing in phototypes IV-VI)",
        url: "http://pubmed.ncbi.nlm.nih.gov/26549251/",
        grade: Grade::B,
    },
    Source {
        key: "harris2015",
        citation: "Harris AG, Naidoo C, Murrell DF. Skin needling as a treatment for acne scarring: an up-to-date review. Int J Women's Dermatol 2015;1:77-81 (median 3 treatments, median 4-week interval, median needle length 1.5 mm)",
        url: "literature/biology.md §4.1, §6.1, §6.2",
        grade: Grade::B,
    },
    Source {
        key: "acne-trials",
        citation: "Acne-scar trials: Lotfi 2013 (1.5 mm roller, 5 monthly; rolling/boxcar good-excellent, ice-pick slight), Dogra 2014 (5 monthly, FST IV-V), Al Chalabi (pen, 4 sessions at 6 weeks, dark skin, G&B 3-4), split-face 1.5 vs 2.5 mm (2.5 better)",
        url: "literature/biology.md §4.1, §6.1",
        grade: Grade::A,
    },
    Source {
        key: "alster2020",
        citation: "Alster TS, Li MKY. Microneedling of scars: a large prospective study with long-term follow-up. Plast Reconstr Surg 2020;145(2):358-364 (1-6 monthly treatments, mean 2.5 to reach >= 50 % improvement, FST I-VI)",
        url: "https://www.pubmed.ncbi.nlm.nih.gov/31985622/",
        grade: Grade::A,
    },
    Source {
        key: "drpen-chart",
        citation: "Dr.Pen needle depth guide (manufacturer): depth by area for thin/thick skin (forehead 0.25-0.5/0.5-0.75, around the eyes 0.25/0.25-0.5, nose 0.25/0.5, cheek and chin 0.5-1.0/1.0-2.0, upper lip 0.25/0.25-0.75, facial scarring 1.0-1.25/1.5-2.0, stretch marks 1.5-2.0); downtime 0.2-0.5 mm about 2-3 days, 0.8-1.5 mm 4-5 days, 2.0-3.0 mm 6-7 days",
        url: "https://drpen.net/blogs/how-it-works/needle-depth-guide",
        grade: Grade::C,
    },
    Source {
        key: "droracle",
        citation: "droracle.ai guidance page (AI-generated): forehead/periorbital 0.25-0.5 mm, cheeks/perioral/chin 0.5-1.5 mm, facial scarring 1.5-2.5 mm; 3 treatments a month apart",
        url: "https://www.droracle.ai/articles/354570/",
        grade: Grade::C,
    },
    Source {
        key: "under-eye",
        citation: "Clinic blog: under-eye 0.2-0.3 mm",
        url: "https://microneedlingbeforeafter.com/es/blog (literature/biology.md §6.1)",
        grade: Grade::C,
    },
    Source {
        key: "cit8",
        citation: "Roller product lines: 0.13-0.2 mm for delivery (C-8), 0.5 mm for collagen induction (CIT-8), 1.5 mm (MF-8)",
        url: "literature/biology.md §1.3, §6.1",
        grade: Grade::C,
    },
    Source {
        key: "english2021",
        citation: "English RS Jr, Ruiz S, DoAmaral P. Microneedling and its use in hair loss disorders: a systematic review. Dermatol Ther 2022;12(1):41-60 (22 studies; as an adjunct to minoxidil, growth factors or PRP; depths 0.50-2.50 mm; once weekly to monthly)",
        url: "https://pmc.ncbi.nlm.nih.gov/articles/PMC8776974",
        grade: Grade::B,
    },
    Source {
        key: "dhurat2013",
        citation: "Dhurat R, Sukesh MS, Avhad G, et al. A randomized evaluator blinded study of effect of microneedling in androgenetic alopecia. Int J Trichol 2013;5(1):6-11 (weekly microneedling with twice-daily 5 % minoxidil, 12 weeks; hair count +91.4 vs +22.2)",
        url: "https://pmc.ncbi.nlm.nih.gov/articles/PMC3746236/",
        grade: Grade::A,
    },
    Source {
        key: "striae-trials",
        citation: "Striae trials: AJCD RCT NCT03390439 (5 monthly sessions, FST III-IV, adverse events 3 days, SE 0.37); Dermatol Ther 2022;35:e15212 (4 monthly sessions, striae alba)",
        url: "literature/biology.md §4.3, §3.2",
        grade: Grade::A,
    },
    Source {
        key: "robati2020",
        citation: "Robati RM et al. J Cosmet Dermatol 2020;19(6):1333-40 (3 monthly sessions for facial rejuvenation, equal to fractional Er:YAG, shorter downtime)",
        url: "literature/biology.md §4.2",
        grade: Grade::A,
    },
    Source {
        key: "graham-blog",
        citation: "Graham PM practice blog 2016 (co-author of Alster & Graham 2018): every 4-6 weeks, 2-6 treatments, maintenance every 6-12 months; redness and swelling usually resolve within 24 h",
        url: "https://drpmg.com/2016/06/21/microneedling-whats-the-buzz/",
        grade: Grade::C,
    },
    Source {
        key: "aftercare-clinics",
        citation: "Clinic aftercare pages: no makeup 24-48 h; mineral SPF 30+ from about 24 h and strict sun avoidance about 1 week; no retinoids, AHA/BHA, vitamin C or exfoliants for 5-7 days; no sweating, sauna or swimming for 24-72 h; gentle cleanser and bland hyaluronic-acid moisturiser",
        url: "https://www.fifthelementesthetics.com/pages/microneedling-aftercare, https://www.drpenskincare.com/blog/what-are-the-post-care-instructions-for-microneedling, https://faciallyconscious.com/blog/how-to-care-for-your-skin-after-microneedling",
        grade: Grade::C,
    },
    Source {
        key: "aust2008",
        citation: "Aust MC et al. 2008 (percutaneous collagen induction): topical vitamin A and C for at least 4 weeks before treatment",
        url: "literature/biology.md §6.4",
        grade: Grade::A,
    },
    Source {
        key: "lmx4-label",
        citation: "Pesaturo KA, Matthews M. US Pharmacist 2009;34(3): 4 % liposomal lidocaine (LMX-4) gives anaesthesia within 30 min without occlusion",
        url: "literature/transport.md §5b",
        grade: Grade::B,
    },
    Source {
        key: "emla-label",
        citation: "EMLA US prescribing information: minor procedures, 2.5 g over 20-25 cm² under occlusion for at least 1 h",
        url: "literature/transport.md §5b",
        grade: Grade::A,
    },
    Source {
        key: "rana2017",
        citation: "Rana S et al. J Cosmet Dermatol 2017;16(4):454-9 (acne scars: microneedling plus 70 % glycolic acid peel improved more than microneedling alone)",
        url: "https://pubmed.ncbi.nlm.nih.gov/29072375/",
        grade: Grade::A,
    },
];

/// The source with this key.
///
/// # Panics
/// Never for keys used in this module's tables (a unit test checks every key).
pub fn source(key: &str) -> &'static Source {
    SOURCES
        .iter()
        .find(|s| s.key == key)
        .unwrap_or_else(|| panic!("unknown source key {key}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique() {
        for (i, a) in SOURCES.iter().enumerate() {
            for b in &SOURCES[i + 1..] {
                assert_ne!(a.key, b.key);
            }
        }
    }
}
