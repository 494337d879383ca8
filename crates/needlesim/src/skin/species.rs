//! Skin of the species that delivery studies are done on: human, pig, rat and hairless guinea
//! pig. A scenario picks one with `[skin] species = "rat"` (default human); the species sets
//! the default layer thicknesses of the column (a scenario's `[skin]` thicknesses still win),
//! the follicle density of the appendageal route, and how much of a needle's length ends up as
//! channel in that skin. Every number names its source or says why it is assumed
//! (`docs/TRANSPORT.md`, "Species").

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Site;

/// A species whose skin can be simulated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Species {
    #[default]
    Human,
    /// Domestic pig (ear or flank skin, the usual ex vivo model).
    Pig,
    /// Rat (Wistar / Sprague-Dawley, dorsal or abdominal skin).
    Rat,
    /// Hairless guinea pig (IAF/HA), the usual in vivo microneedle model.
    HairlessGuineaPig,
}

/// Layer thicknesses of a species' skin where a study does not give them, m.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SpeciesLayers {
    pub stratum_corneum_m: f64,
    pub viable_epidermis_m: f64,
    pub papillary_dermis_m: f64,
    pub reticular_dermis_m: f64,
}

impl Species {
    pub const ALL: [Species; 4] = [
        Species::Human,
        Species::Pig,
        Species::Rat,
        Species::HairlessGuineaPig,
    ];

    /// The snake_case name used in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            Species::Human => "human",
            Species::Pig => "pig",
            Species::Rat => "rat",
            Species::HairlessGuineaPig => "hairless_guinea_pig",
        }
    }

    pub fn from_name(s: &str) -> Option<Species> {
        Species::ALL.into_iter().find(|sp| sp.name() == s)
    }

    /// The names, for error messages.
    pub fn names() -> String {
        Species::ALL.map(Species::name).join(", ")
    }

    /// Default layers of an animal's skin (`None` for human: the site tables apply).
    ///
    /// * pig: SC 20 µm, viable epidermis 60 µm, dermis 1.5 mm (ear skin; porcine SC 10-25 µm and
    ///   epidermis 50-80 µm are the usual figures of Jacobi et al. 2007, Arch Dermatol Res 299:449,
    ///   grade S: read secondhand);
    /// * rat: SC 15 µm, viable epidermis 30 µm, dermis 0.8 mm (the VT-10 case file's assumption,
    ///   kept; rat epidermis is thinner than human, grade S);
    /// * hairless guinea pig: SC 15 µm, viable epidermis 35 µm, dermis 1.0 mm (assumed, between
    ///   rat and human; the species is used for its human-like epidermis).
    pub fn layers(self) -> Option<SpeciesLayers> {
        let l = |sc: f64, ve: f64, pd: f64, rd: f64| SpeciesLayers {
            stratum_corneum_m: sc * 1e-6,
            viable_epidermis_m: ve * 1e-6,
            papillary_dermis_m: pd * 1e-6,
            reticular_dermis_m: rd * 1e-6,
        };
        match self {
            Species::Human => None,
            Species::Pig => Some(l(20.0, 60.0, 150.0, 1350.0)),
            Species::Rat => Some(l(15.0, 30.0, 100.0, 700.0)),
            Species::HairlessGuineaPig => Some(l(15.0, 35.0, 100.0, 900.0)),
        }
    }

    /// Measured realised channel depth as a fraction of the needle length, (mean, SD), where a
    /// histology study of this species' skin gives it; `None`: the human tenting model applies
    /// (`injury::mean_depth`), no measurement having been read for the species.
    ///
    /// * rat: 0.198 ± 0.0125: a DermaRoller with 770 µm needles (base 140 µm, tip radius 4 µm)
    ///   left channels 152.5 ± 9.6 µm deep and 70.7 ± 9.9 µm wide at the surface in hairless rat
    ///   skin (Kalluri, Kolli & Banga 2011, AAPS J 13:473, PMC3160154, abstract: dye binding,
    ///   histology, confocal microscopy). The human tenting model gives 0.82 for that needle.
    ///   Taken proportional to needle length and the same for every device (assumed: one
    ///   length and one device measured; loose, thin rat skin yields under any needle).
    /// * pig, hairless guinea pig: no measurement read.
    pub fn realised_depth(self) -> Option<(f64, f64)> {
        match self {
            Species::Rat => Some((152.5 / 770.0, 9.6 / 770.0)),
            _ => None,
        }
    }

    /// Follicular orifice area of this species' skin relative to human trunk skin (the fitted
    /// reference of the appendageal route).
    ///
    /// * pig: 1 (pig ear follicle density about 20/cm², like human trunk skin; Jacobi et al.
    ///   2007, grade S);
    /// * rat: 5 (haired rat skin has several hundred follicles per cm², assumed 5 times the
    ///   human orifice area; grade A, no measured area fraction read);
    /// * hairless guinea pig: 0.5 (few, vestigial follicles; assumed).
    pub fn follicle_area_factor(self) -> f64 {
        match self {
            Species::Human => 1.0,
            Species::Pig => 1.0,
            Species::Rat => 5.0,
            Species::HairlessGuineaPig => 0.5,
        }
    }
}

/// Follicular orifice area of a human site relative to trunk skin (the reference of
/// [`crate::params::PhysChemParams::follicle_area_fraction`]).
///
/// Otberg et al. 2004 (J Invest Dermatol 122:14) measured the most orifice area on the forehead
/// (1.28 % of the surface) and the least on the forearm (0.09 %); the trunk reference is taken
/// as 0.14 %. Face sites take the forehead's ratio (9.1; the cheek, nose and chin are as densely
/// follicular as the forehead, assumed), the scalp the same, the back of the hand the forearm's
/// (0.64); neck, chest, abdomen, thigh and back 1 (trunk-like, assumed).
pub fn follicle_area_factor(site: Site) -> f64 {
    const FACE: f64 = 1.28 / 0.14;
    match site {
        Site::Forehead
        | Site::Periorbital
        | Site::Cheek
        | Site::Nose
        | Site::Perioral
        | Site::Chin
        | Site::Scalp => FACE,
        Site::DorsalHand => 0.09 / 0.14,
        Site::Neck | Site::Chest | Site::Abdomen | Site::Thigh | Site::Back => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_is_none() {
        for sp in Species::ALL {
            assert_eq!(Species::from_name(sp.name()), Some(sp));
        }
        assert_eq!(Species::from_name("mouse"), None);
        assert!(Species::names().contains("hairless_guinea_pig"));
    }

    #[test]
    fn animal_layers_are_positive_and_human_uses_site_tables() {
        assert!(Species::Human.layers().is_none());
        for sp in [Species::Pig, Species::Rat, Species::HairlessGuineaPig] {
            let l = sp.layers().expect("animal");
            for v in [
                l.stratum_corneum_m,
                l.viable_epidermis_m,
                l.papillary_dermis_m,
                l.reticular_dermis_m,
            ] {
                assert!(v > 0.0 && v < 2e-3, "{sp:?} {v}");
            }
        }
    }
}
