//! The scalp column with follicles (issue 20, point 1) and what a needle depth reaches
//! (point 2).

use serde::Serialize;

use super::HairError;
use crate::params::HairParams;
use crate::skin::{LayerKind, Person, Sex, Site, SkinColumn};
use crate::units::{CM, DAY, MM, UM};

/// The hair-loss scale a grade is given on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    /// No androgenetic alopecia.
    None,
    /// Hamilton-Norwood, grades 1-7 (men).
    Norwood,
    /// Ludwig, grades 1-3 (women).
    Ludwig,
}

impl Scale {
    pub fn from_name(s: &str) -> Option<Scale> {
        match s {
            "none" => Some(Scale::None),
            "norwood" | "hamilton_norwood" => Some(Scale::Norwood),
            "ludwig" => Some(Scale::Ludwig),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Scale::None => "none",
            Scale::Norwood => "norwood",
            Scale::Ludwig => "ludwig",
        }
    }

    /// The grade as a report prints it: "Norwood 4", "Ludwig 2", "no hair loss graded".
    pub fn label(self, grade: u8) -> String {
        match self {
            Scale::None => "no hair loss graded".into(),
            Scale::Norwood => format!("Norwood {grade}"),
            Scale::Ludwig => format!("Ludwig {grade}"),
        }
    }

    /// Allowed grades.
    pub fn grades(self) -> (u8, u8) {
        match self {
            Scale::None => (0, 0),
            Scale::Norwood => (1, 7),
            Scale::Ludwig => (1, 3),
        }
    }
}

/// The person's androgenetic alopecia.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Alopecia {
    pub scale: Scale,
    pub grade: u8,
}

impl Alopecia {
    pub const NONE: Alopecia = Alopecia {
        scale: Scale::None,
        grade: 0,
    };

    /// Severity 0 (none) to 1 (Norwood VII, Ludwig III): Norwood (n − 1)/6 (grade I is no
    /// recession worth the name), Ludwig n/3. A linear map of the grade is an assumption: the
    /// scales are ordinal (Van Neste 2021 found unequal steps between their categories).
    pub fn severity(&self) -> Result<f64, HairError> {
        let (lo, hi) = self.scale.grades();
        if self.grade < lo || self.grade > hi {
            return Err(HairError::field(
                "hair.alopecia_grade",
                self.grade.to_string(),
                match self.scale {
                    Scale::None => "0 when the scale is \"none\"".to_string(),
                    s => format!("{lo}-{hi} on the {} scale", s.name()),
                },
                "give the grade on the scale named by hair.alopecia_scale (norwood 1-7 for men, ludwig 1-3 for women)",
            ));
        }
        Ok(match self.scale {
            Scale::None => 0.0,
            Scale::Norwood => f64::from(self.grade - 1) / 6.0,
            Scale::Ludwig => f64::from(self.grade) / 3.0,
        })
    }
}

/// Durations of the phases of one follicle class, s.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Phases {
    pub anagen_s: f64,
    pub catagen_s: f64,
    pub telogen_s: f64,
    pub kenogen_s: f64,
    /// Early anagen before the new shaft reaches the surface (bulb depth / growth rate).
    pub emerging_s: f64,
}

impl Phases {
    /// Steady shares of [emerging, anagen, catagen, telogen, kenogen].
    pub fn shares(&self) -> [f64; 5] {
        let d = [
            self.emerging_s,
            self.anagen_s,
            self.catagen_s,
            self.telogen_s,
            self.kenogen_s,
        ];
        let sum: f64 = d.iter().sum();
        d.map(|x| x / sum)
    }
}

/// Depths of the follicle's structures below the surface, m.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct FollicleDepths {
    pub isthmus_m: f64,
    pub bulge_m: f64,
    pub bulb_terminal_m: f64,
    pub bulb_vellus_m: f64,
}

/// The scalp's follicle population before treatment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scalp {
    pub person: Person,
    pub alopecia: Alopecia,
    /// Severity 0-1 ([`Alopecia::severity`]).
    pub severity: f64,
    /// Follicles (with or without a shaft), 1/m².
    pub follicles_m2: f64,
    /// Share of follicles that are vellus (miniaturised).
    pub vellus_fraction: f64,
    pub terminal: Phases,
    pub vellus: Phases,
    /// Probability per cycle that a terminal follicle miniaturises.
    pub miniaturisation_per_cycle: f64,
    pub terminal_diameter_m: f64,
    pub vellus_diameter_m: f64,
    pub depths: FollicleDepths,
    /// Layer thicknesses of the scalp column (skin tables): stratum corneum, viable epidermis,
    /// dermis, m.
    pub stratum_corneum_m: f64,
    pub epidermis_m: f64,
    pub dermis_m: f64,
}

/// Shaft growth used for the emergence time, m/s (about 1 cm a month; assumed, the usual
/// textbook value).
pub const GROWTH_M_PER_S: f64 = 0.35 * MM / DAY;

/// Builds the scalp of `person` with `alopecia` on a scalp column. `density_per_cm2`, when given,
/// replaces the age-adjusted table density (a measured value for this person, hairs/cm² of a
/// scalp without hair loss).
pub fn scalp(
    column: &SkinColumn,
    person: &Person,
    alopecia: Alopecia,
    density_per_cm2: Option<f64>,
    p: &HairParams,
) -> Result<Scalp, HairError> {
    if column.site != Site::Scalp {
        return Err(HairError::NoTerminalHair {
            site: column.site.name().to_string(),
        });
    }
    if alopecia.scale == Scale::Ludwig && person.sex == Sex::Male {
        return Err(HairError::field(
            "hair.alopecia_scale",
            "ludwig".into(),
            "norwood for men".into(),
            "grade men's pattern hair loss on the Hamilton-Norwood scale",
        ));
    }
    if alopecia.scale == Scale::Norwood && person.sex == Sex::Female {
        return Err(HairError::field(
            "hair.alopecia_scale",
            "norwood".into(),
            "ludwig for women".into(),
            "grade female pattern hair loss on the Ludwig scale",
        ));
    }
    let s = alopecia.severity()?;
    let normal_density = match density_per_cm2 {
        Some(d) => {
            if !(50.0..=400.0).contains(&d) || !d.is_finite() {
                return Err(HairError::field(
                    "hair.density_per_cm2",
                    format!("{d}"),
                    "50-400 hairs/cm²".into(),
                    "give the person's measured density of a scalp area without hair loss (adults: 150-300/cm²), or leave it out to use the age table",
                ));
            }
            d
        }
        None => {
            let decades = ((person.age_years - 30.0) / 10.0).max(0.0);
            p.density_per_cm2 * (1.0 - p.density_decline_per_decade * decades).max(0.2)
        }
    };
    let telogen = p.telogen_days * DAY;
    let catagen = p.catagen_telogen_ratio * telogen;
    let depths = FollicleDepths {
        isthmus_m: p.isthmus_depth_mm * MM,
        bulge_m: p.bulge_depth_mm * MM,
        bulb_terminal_m: p.bulb_depth_terminal_mm * MM,
        bulb_vellus_m: p.bulb_depth_vellus_mm * MM,
    };
    let vellus = Phases {
        anagen_s: p.vellus_anagen_days * DAY,
        catagen_s: catagen,
        telogen_s: telogen,
        kenogen_s: p.kenogen_days * DAY,
        emerging_s: depths.bulb_vellus_m / GROWTH_M_PER_S,
    };
    let normal_terminal = |anagen_s: f64| Phases {
        anagen_s,
        catagen_s: catagen,
        telogen_s: telogen,
        kenogen_s: p.kenogen_days * DAY,
        emerging_s: depths.bulb_terminal_m / GROWTH_M_PER_S,
    };
    let visible = |ph: &Phases| {
        let sh = ph.shares();
        sh[1] + sh[2] + sh[3]
    };
    // The published anagen share counts every hair of a normal scalp (terminal and vellus):
    // the terminal anagen duration is the one that gives it back with the vellus class
    // (bisection; the share grows with the duration).
    let v0 = p.vellus_fraction;
    let share = |ta: f64| {
        let t = normal_terminal(ta);
        ((1.0 - v0) * t.shares()[1] + v0 * vellus.shares()[1])
            / ((1.0 - v0) * visible(&t) + v0 * visible(&vellus))
    };
    let (mut lo, mut hi) = (catagen.ln(), (20.0 * 365.0 * DAY).ln());
    for _ in 0..60 {
        let m = 0.5 * (lo + hi);
        if share(m.exp()) < p.anagen_fraction {
            lo = m
        } else {
            hi = m
        }
    }
    let anagen0 = (0.5 * (lo + hi)).exp();
    // AGA lengthens kenogen in terminal and vellus cycles alike (Guarrera & Rebora 2005:
    // kenogen involved both, the longest in vellus cycles).
    let kenogen_aga = (p.kenogen_days + p.aga_kenogen_days * s) * DAY;
    let terminal = Phases {
        anagen_s: anagen0 * (1.0 - p.aga_anagen_shortening * s),
        kenogen_s: kenogen_aga,
        ..normal_terminal(anagen0)
    };
    let vellus_aga = Phases {
        kenogen_s: kenogen_aga,
        ..vellus
    };
    // The normal density counts hairs: follicles = hairs / visible share of a normal scalp.
    let normal_vis = (1.0 - v0) * visible(&normal_terminal(anagen0)) + v0 * visible(&vellus);
    let follicles_m2 = normal_density / normal_vis / (CM * CM);
    let vf = p.vellus_fraction + (p.aga_vellus_fraction_max - p.vellus_fraction).max(0.0) * s;
    let sc = column.layer(LayerKind::StratumCorneum).thickness_m;
    let ve = column.layer(LayerKind::ViableEpidermis).thickness_m;
    let dermis = column.layer(LayerKind::PapillaryDermis).thickness_m
        + column.layer(LayerKind::ReticularDermis).thickness_m;
    Ok(Scalp {
        person: person.clone(),
        alopecia,
        severity: s,
        follicles_m2,
        vellus_fraction: vf,
        terminal,
        vellus: vellus_aga,
        miniaturisation_per_cycle: p.aga_miniaturisation_per_cycle * s,
        terminal_diameter_m: p.terminal_diameter_um * UM,
        vellus_diameter_m: p.vellus_diameter_um * UM,
        depths,
        stratum_corneum_m: sc,
        epidermis_m: ve,
        dermis_m: dermis,
    })
}

impl Scalp {
    /// Share of the follicles that are empty (kenogen) before treatment: the pool that
    /// induced anagen refills.
    pub fn kenogen_fraction(&self) -> f64 {
        (1.0 - self.vellus_fraction) * self.terminal.shares()[4]
            + self.vellus_fraction * self.vellus.shares()[4]
    }
}

/// A follicle structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Structure {
    Infundibulum,
    Isthmus,
    Bulge,
    VellusBulb,
    TerminalBulb,
}

impl Structure {
    pub fn name(self) -> &'static str {
        match self {
            Structure::Infundibulum => "infundibulum",
            Structure::Isthmus => "isthmus",
            Structure::Bulge => "bulge",
            Structure::VellusBulb => "vellus bulb (papilla)",
            Structure::TerminalBulb => "terminal bulb (papilla)",
        }
    }
}

/// What a channel of mean depth `depth_m` reaches: the structures at or above that depth, and
/// the share of follicles a session's channels hit (`density_m2` punctures per m² with open
/// radius `channel_radius_m`): a follicle is hit when a channel lies within the sum of the two
/// radii (Poisson placement).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Reach {
    pub depth_m: f64,
    pub structures: Vec<Structure>,
    /// Share of follicles with a channel within reach, per session.
    pub hit_fraction: f64,
}

pub fn reach(
    scalp: &Scalp,
    depth_m: f64,
    density_m2: f64,
    channel_radius_m: f64,
    p: &HairParams,
) -> Reach {
    let d = &scalp.depths;
    let mut structures = vec![Structure::Infundibulum];
    for (z, s) in [
        (d.isthmus_m, Structure::Isthmus),
        (d.bulge_m, Structure::Bulge),
        (d.bulb_vellus_m, Structure::VellusBulb),
        (d.bulb_terminal_m, Structure::TerminalBulb),
    ] {
        if depth_m >= z {
            structures.push(s);
        }
    }
    let r = p.follicle_radius_um * UM + channel_radius_m;
    let hit_fraction = 1.0 - (-density_m2 * std::f64::consts::PI * r * r).exp();
    Reach {
        depth_m,
        structures,
        hit_fraction,
    }
}
