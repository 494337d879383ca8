//! Drawing one virtual patient from the cohort's distributions.
//!
//! Patient `i` draws from the stream `rng::stream(cohort seed, [tag::COHORT_PATIENT, i])`, in a
//! fixed order (age, sex, phototype, concern, grade, scar types, history items, thickness
//! z-scores), so a patient is the same whichever shard or worker draws it and whatever the
//! cohort's size.

use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};

use super::spec::{AgeDist, CohortSpec};
use crate::params::ModelParams;
use crate::plan::Patient;
use crate::plan::patient::{
    ConcernKind, DeviceChoice, Goals, History, Medication, MedicationClass, NumbingChoice,
    PatientConcern, PatientZone, ScarType, SkinState, default_area_cm2,
};
use crate::rng;
use crate::skin::{Person, Sex, Site};

/// The tag of the virtual patients' streams under the cohort seed.
pub const COHORT_PATIENT: u64 = 0xC0_4087;
/// The tag of the parameter draws' streams under the draws' seed.
pub const COHORT_DRAW: u64 = 0xC0_D4A3;

/// The screened history items drawn for a patient.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Flags {
    pub pih_history: bool,
    pub keloid_tendency: bool,
    pub isotretinoin: bool,
    pub topical_retinoid: bool,
    pub anticoagulant: bool,
    pub inflamed_acne: bool,
    pub pregnant: bool,
}

/// A virtual patient.
#[derive(Clone, Debug, PartialEq)]
pub struct VirtualPatient {
    pub index: usize,
    /// `rng::derive(cohort seed, [COHORT_PATIENT, index])`: the seed of this patient's
    /// predictions.
    pub seed: u64,
    pub person: Person,
    pub concern: PatientConcern,
    pub sites: Vec<Site>,
    pub flags: Flags,
    /// Thickness z-scores (stratum corneum, viable epidermis, dermis), already scaled by
    /// `skin.sd_scale` and cut at `skin.truncate_sd`; shared by all the patient's sites
    /// (assumed: a person with thick skin has it everywhere).
    pub z: [f64; 3],
}

fn pick(rng: &mut impl rand::Rng, shares: &[f64]) -> usize {
    let u: f64 = rng.random();
    let mut acc = 0.0;
    for (i, &p) in shares.iter().enumerate() {
        acc += p;
        if u < acc {
            return i;
        }
    }
    // Rounding: the last category with a non-zero share.
    shares.iter().rposition(|&p| p > 0.0).unwrap_or(0)
}

fn chance(rng: &mut impl rand::Rng, p: f64) -> bool {
    let u: f64 = rng.random();
    u < p
}

fn normal(rng: &mut impl rand::Rng) -> f64 {
    StandardNormal.sample(rng)
}

/// Draws patient `index` of the cohort.
pub fn draw(spec: &CohortSpec, index: usize) -> VirtualPatient {
    let path = [COHORT_PATIENT, index as u64];
    let seed = rng::derive(spec.seed, &path);
    let mut r = rng::stream(spec.seed, &path);

    let age_years = match spec.age {
        AgeDist::Uniform {
            min_years,
            max_years,
        } => {
            let u: f64 = r.random();
            min_years + u * (max_years - min_years)
        }
        AgeDist::Normal {
            min_years,
            max_years,
            mean_years,
            sd_years,
        } => {
            // Rejection from the cut normal (the mean is inside the range, so at least about
            // a third of the draws are kept); a fixed cap keeps it bounded.
            let mut a = mean_years;
            for _ in 0..10_000 {
                let x = mean_years + sd_years * normal(&mut r);
                if (min_years..=max_years).contains(&x) {
                    a = x;
                    break;
                }
            }
            a
        }
    };
    // Ages are kept to 0.1 year (as a person would be described).
    let age_years = (age_years * 10.0).round() / 10.0;
    let sex = if chance(&mut r, spec.female) {
        Sex::Female
    } else {
        Sex::Male
    };
    let phototype = pick(&mut r, &spec.phototype) as u8 + 1;
    let shares: Vec<f64> = spec.concerns.iter().map(|c| c.probability).collect();
    let mix = &spec.concerns[pick(&mut r, &shares)];
    let grade = mix.grades.map(|g| pick(&mut r, &g) as u8 + 1);
    let scar_types = match mix.scar_types {
        Some(p) => {
            let mut v: Vec<ScarType> = ScarType::ALL
                .iter()
                .zip(p)
                .filter_map(|(t, p)| chance(&mut r, p).then_some(*t))
                .collect();
            if v.is_empty() {
                v = ScarType::ALL.to_vec();
            }
            v
        }
        None => Vec::new(),
    };
    let h = &spec.history;
    let mut flags = Flags {
        pih_history: chance(&mut r, h.pih_history),
        keloid_tendency: chance(&mut r, h.keloid_tendency),
        isotretinoin: chance(&mut r, h.isotretinoin),
        topical_retinoid: chance(&mut r, h.topical_retinoid),
        anticoagulant: chance(&mut r, h.anticoagulant),
        inflamed_acne: chance(&mut r, h.inflamed_acne),
        pregnant: chance(&mut r, h.pregnant),
    };
    flags.pregnant &= sex == Sex::Female && age_years < 50.0;
    let cut = spec.truncate_sd;
    let mut z = [0.0; 3];
    for v in &mut z {
        *v = spec.sd_scale * normal(&mut r).clamp(-cut, cut);
    }
    VirtualPatient {
        index,
        seed,
        person: Person {
            age_years,
            sex,
            phototype,
        },
        concern: PatientConcern {
            kind: mix.kind,
            grade: if mix.kind == ConcernKind::AcneScars {
                grade
            } else {
                None
            },
            scar_types,
        },
        sites: mix.sites.clone(),
        flags,
        z,
    }
}

impl VirtualPatient {
    /// The zone name of a site (one zone per site).
    pub fn zone_name(site: Site) -> &'static str {
        site.name()
    }

    /// The patient as the planner takes it: the consultation on the cohort's date, one zone
    /// per site with the concern, the drawn history, and the model parameters `params`.
    pub fn planner_patient(
        &self,
        spec: &CohortSpec,
        device: DeviceChoice,
        params: &ModelParams,
    ) -> Patient {
        let f = &self.flags;
        let mut medications = Vec::new();
        let started = Some(spec.date.add_months(-3));
        let mut med = |on: bool, name: &str, class: MedicationClass| {
            if on {
                medications.push(Medication {
                    name: name.into(),
                    class,
                    started,
                    stopped: None,
                });
            }
        };
        med(
            f.isotretinoin,
            "isotretinoin",
            MedicationClass::Isotretinoin,
        );
        med(
            f.topical_retinoid,
            "topical retinoid",
            MedicationClass::TopicalRetinoid,
        );
        med(
            f.anticoagulant,
            "anticoagulant",
            MedicationClass::Anticoagulant,
        );
        Patient {
            title: format!("virtual patient {}", self.index),
            date: spec.date,
            person: self.person.clone(),
            history: History {
                pregnant: f.pregnant,
                keloid_tendency: f.keloid_tendency,
                pih_history: f.pih_history,
                ..History::default()
            },
            medications,
            procedures: Vec::new(),
            skin_state: if f.inflamed_acne {
                vec![SkinState::InflamedAcne]
            } else {
                Vec::new()
            },
            zones: self
                .sites
                .iter()
                .map(|&site| PatientZone {
                    name: Self::zone_name(site).into(),
                    site,
                    area_cm2: default_area_cm2(site),
                    area_assumed: true,
                    concerns: vec![self.concern.clone()],
                    skin_state: Vec::new(),
                })
                .collect(),
            goals: Goals {
                max_downtime_days: None,
                max_sessions: None,
                max_pih_risk_pct: None,
                earliest_start: None,
                finish_by: None,
                blackout: Vec::new(),
                numbing: NumbingChoice::Lidocaine4Liposomal,
                device,
                notes: None,
            },
            waive: Vec::new(),
            params: params.clone(),
        }
    }
}
