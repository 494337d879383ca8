//! Numbing: which product, and how long before needling to apply it, per zone.
//!
//! [`ModelNumbing`] (the default) asks the delivery model ([`crate::delivery::numbing`]) for the
//! onset on each treated zone's own skin: lidocaine uptake through intact skin into the viable
//! epidermis and papillary dermis, with the effect threshold calibrated once per product on its
//! label onset at the back of the hand. The plan applies the **longer** of the model's onset and
//! the label time: labels give minimum application times ("at least 1 h" for EMLA), and the site
//! difference is a model prediction that no measured onset in the project's literature checks,
//! so a shorter model time is shown but not used. [`LabelNumbing`] gives the label times only.

use std::collections::HashMap;
use std::sync::Mutex;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::evidence::Grade;
use super::patient::NumbingChoice;
use crate::delivery::closure::Occlusion;
use crate::delivery::numbing::{self as dn, Calibration, NumbingParams, NumbingProduct};
use crate::params::ModelParams;
use crate::skin::{self, Person, Site, ThicknessOverrides};

/// Numbing of one zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ZoneNumbing {
    pub zone: String,
    pub site: Site,
    /// Stratum corneum of the zone's modelled skin, µm (None without the model).
    pub stratum_corneum_um: Option<f64>,
    /// Onset predicted by the delivery model, min (None: label only, or not reached within the
    /// model's 4 h window).
    pub model_onset_min: Option<f64>,
    /// Label time, min.
    pub label_min: f64,
    /// Apply this long before needling the zone, min.
    pub apply_before_min: f64,
    /// Where `apply_before_min` comes from.
    pub basis: String,
}

/// How the model was calibrated (plan.json; only with the delivery model).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NumbingCalibration {
    /// Site where the label time is taken to hold.
    pub reference_site: Site,
    /// Person of the calibration column.
    pub reference_person: String,
    /// Stratum corneum of the reference column, µm.
    pub reference_stratum_corneum_um: f64,
    pub label_onset_min: f64,
    /// Occlusion the product's label prescribes (used at every site).
    pub occlusion: String,
    /// Effect threshold: the lidocaine concentration that blocks half of the small sensory
    /// axons (conduction-block EC50, literature: `data/compounds.toml`), reached at the nerve
    /// endings (viable epidermis + papillary dermis, 90 % of the area) after the block's
    /// development (half-time `block_half_time_s`), µg/mL.
    pub threshold_ug_ml: f64,
    /// Half-time of the block's development at the nerve endings, s (assumed).
    #[serde(default)]
    pub block_half_time_s: f64,
    /// Factor on the intact stratum corneum's permeability of lidocaine that the product's
    /// vehicle brings. Calibrated: the reference site numbs at the label time.
    #[serde(default)]
    pub vehicle_kp_factor: f64,
    /// Whether the label time is kept as the minimum (always true in this version).
    pub label_is_floor: bool,
    /// What the model is and assumes, in one paragraph.
    pub method: String,
}

/// Numbing: what to apply and how long before.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NumbingPlan {
    pub product: NumbingChoice,
    /// Apply this long before needling, min: the longest of the zones' times (each visit uses
    /// the longest of its own zones).
    pub apply_before_min: f64,
    pub how: String,
    /// Where the time comes from.
    pub basis: String,
    pub grade: Grade,
    pub sources: Vec<String>,
    /// Per zone.
    #[serde(default)]
    pub zones: Vec<ZoneNumbing>,
    /// The delivery model's calibration (None: label times only, or no numbing).
    #[serde(default)]
    pub calibration: Option<NumbingCalibration>,
}

impl NumbingPlan {
    /// Apply time for a zone (the plan-wide time when the zone is not listed).
    pub fn zone_min(&self, zone: &str) -> f64 {
        self.zones
            .iter()
            .find(|z| z.zone == zone)
            .map_or(self.apply_before_min, |z| z.apply_before_min)
    }
}

/// Supplies the numbing onset for the zones of a plan.
pub trait NumbingModel {
    /// `zones`: (zone name, site) of every zone of the plan.
    fn onset(
        &self,
        product: NumbingChoice,
        person: &Person,
        zones: &[(String, Site)],
        deepest_setting_mm: f64,
    ) -> NumbingPlan;
}

/// The label product behind a choice (None for no numbing).
pub fn label_product(choice: NumbingChoice) -> Option<NumbingProduct> {
    match choice {
        NumbingChoice::Lidocaine4Liposomal => Some(dn::LMX4),
        NumbingChoice::EmlaOccluded => Some(dn::EMLA),
        NumbingChoice::None => None,
    }
}

fn optional_note(deepest_setting_mm: f64) -> &'static str {
    if deepest_setting_mm <= 0.25 + 1e-9 {
        " At 0.25 mm and less numbing is often optional (planner note)."
    } else {
        ""
    }
}

fn how(choice: NumbingChoice, minutes: f64, deepest_setting_mm: f64) -> String {
    let optional = optional_note(deepest_setting_mm);
    match choice {
        NumbingChoice::Lidocaine4Liposomal => format!(
            "4 % liposomal lidocaine (LMX-4) on clean skin, no occlusion, {minutes:.0} min before needling; wipe off completely before needling.{optional}"
        ),
        NumbingChoice::EmlaOccluded => format!(
            "EMLA cream under an occlusive dressing at least {minutes:.0} min before needling (label: 2.5 g per 20-25 cm²); wipe off completely before needling.{optional}"
        ),
        NumbingChoice::None => "no topical anaesthetic (patient's choice).".into(),
    }
}

fn no_numbing(zones: &[(String, Site)]) -> NumbingPlan {
    NumbingPlan {
        product: NumbingChoice::None,
        apply_before_min: 0.0,
        how: how(NumbingChoice::None, 0.0, 1.0),
        basis: "goals.numbing = \"none\"".into(),
        grade: Grade::Planner,
        sources: vec![],
        zones: zones
            .iter()
            .map(|(z, s)| ZoneNumbing {
                zone: z.clone(),
                site: *s,
                stratum_corneum_um: None,
                model_onset_min: None,
                label_min: 0.0,
                apply_before_min: 0.0,
                basis: "no numbing".into(),
            })
            .collect(),
        calibration: None,
    }
}

fn label_grade(choice: NumbingChoice) -> Grade {
    match choice {
        NumbingChoice::EmlaOccluded => Grade::A,
        _ => Grade::B,
    }
}

/// The labelled application times only: LMX-4 30 min without occlusion, EMLA at least 60 min
/// under occlusion (`literature/transport.md` §5b). Used when the delivery model is not wanted
/// and as the fallback when it fails.
pub struct LabelNumbing;

impl NumbingModel for LabelNumbing {
    fn onset(
        &self,
        product: NumbingChoice,
        _person: &Person,
        zones: &[(String, Site)],
        deepest_setting_mm: f64,
    ) -> NumbingPlan {
        let Some(lp) = label_product(product) else {
            return no_numbing(zones);
        };
        NumbingPlan {
            product,
            apply_before_min: lp.label_onset_min,
            how: how(product, lp.label_onset_min, deepest_setting_mm),
            basis: format!("label: {} (not a model result).", lp.label_text),
            grade: label_grade(product),
            sources: vec![lp.label_source.into()],
            zones: zones
                .iter()
                .map(|(z, s)| ZoneNumbing {
                    zone: z.clone(),
                    site: *s,
                    stratum_corneum_um: None,
                    model_onset_min: None,
                    label_min: lp.label_onset_min,
                    apply_before_min: lp.label_onset_min,
                    basis: "label".into(),
                })
                .collect(),
            calibration: None,
        }
    }
}

/// Cache key of an onset: product, site, age (bits), sex.
type OnsetKey = (&'static str, Site, u64, u8);
/// A cached onset: (onset min or None, stratum corneum µm), or the model's error.
type OnsetResult = Result<(Option<f64>, f64), String>;

/// The delivery model's numbing onset per zone (see the module documentation). Calibrations
/// and onsets are cached per product and per (site, age, sex), so that repeated plans and zones
/// on the same site cost one run each. `default()` runs the published model;
/// [`ModelNumbing::new`] a patient's `params` (physico-chemistry, skin, output spacing).
#[derive(Default)]
pub struct ModelNumbing {
    params: NumbingParams,
    calibrations: Mutex<HashMap<&'static str, Result<Calibration, String>>>,
    onsets: Mutex<HashMap<OnsetKey, OnsetResult>>,
}

impl ModelNumbing {
    /// The numbing model with a patient's model parameters (`Patient::params`): the calibration
    /// and every onset use its `physchem`, `skin` and `numerics.numbing_dt_out_s`.
    pub fn new(m: &ModelParams) -> Self {
        ModelNumbing {
            params: NumbingParams {
                physchem: m.physchem.clone(),
                skin: m.skin.clone(),
                dt_out_s: m.numerics.numbing_dt_out_s,
            },
            ..ModelNumbing::default()
        }
    }

    fn calibration(&self, p: &NumbingProduct) -> Result<Calibration, String> {
        if let Some(c) = self
            .calibrations
            .lock()
            .ok()
            .and_then(|m| m.get(p.library_product).cloned())
        {
            return c;
        }
        let c = dn::calibrate_with(p, &self.params).map_err(|e| e.to_string());
        if let Ok(mut m) = self.calibrations.lock() {
            m.insert(p.library_product, c.clone());
        }
        c
    }

    /// (onset min or None, SC µm) of a product on a site of a person.
    fn site_onset(&self, cal: &Calibration, site: Site, person: &Person) -> OnsetResult {
        let key = (
            cal.product.library_product,
            site,
            person.age_years.to_bits(),
            person.sex as u8,
        );
        if let Some(v) = self.onsets.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return v;
        }
        let v = skin::column_with(
            site,
            person,
            &ThicknessOverrides::default(),
            &self.params.skin,
        )
        .map_err(|e| e.to_string())
        .and_then(|col| {
            let o = cal.onset(&col).map_err(|e| e.to_string())?;
            Ok((o.onset_min, o.sc_m * 1e6))
        });
        if let Ok(mut m) = self.onsets.lock() {
            m.insert(key, v.clone());
        }
        v
    }
}

impl NumbingModel for ModelNumbing {
    fn onset(
        &self,
        product: NumbingChoice,
        person: &Person,
        zones: &[(String, Site)],
        deepest_setting_mm: f64,
    ) -> NumbingPlan {
        let Some(lp) = label_product(product) else {
            return no_numbing(zones);
        };
        let cal = match self.calibration(&lp) {
            Ok(c) => c,
            Err(e) => {
                let mut plan = LabelNumbing.onset(product, person, zones, deepest_setting_mm);
                plan.basis = format!(
                    "label: {}. The delivery model could not be calibrated ({e}), so this is the label time.",
                    lp.label_text
                );
                return plan;
            }
        };
        let label = lp.label_onset_min;
        let mut out = Vec::new();
        for (z, site) in zones {
            let zn = match self.site_onset(&cal, *site, person) {
                Ok((Some(t), sc)) => {
                    // Half a minute of tolerance: the reference site itself reproduces the
                    // label to within the output spacing.
                    let (apply, basis) = if t > label + 0.5 {
                        (
                            t.ceil(),
                            format!(
                                "model: {t:.0} min on this skin (stratum corneum {sc:.1} µm), longer than the label's {label:.0} min"
                            ),
                        )
                    } else {
                        (
                            label,
                            format!(
                                "label {label:.0} min kept as the minimum; the model predicts {t:.0} min on this skin (stratum corneum {sc:.1} µm)"
                            ),
                        )
                    };
                    ZoneNumbing {
                        zone: z.clone(),
                        site: *site,
                        stratum_corneum_um: Some(sc),
                        model_onset_min: Some(t),
                        label_min: label,
                        apply_before_min: apply,
                        basis,
                    }
                }
                Ok((None, sc)) => ZoneNumbing {
                    zone: z.clone(),
                    site: *site,
                    stratum_corneum_um: Some(sc),
                    model_onset_min: None,
                    label_min: label,
                    apply_before_min: label,
                    basis: format!(
                        "the model does not block the nerve endings within {:.0} min on this skin (stratum corneum {sc:.1} µm); label time used - check the numbing before needling",
                        dn::MAX_ONSET_MIN
                    ),
                },
                Err(e) => ZoneNumbing {
                    zone: z.clone(),
                    site: *site,
                    stratum_corneum_um: None,
                    model_onset_min: None,
                    label_min: label,
                    apply_before_min: label,
                    basis: format!("label time (the model failed here: {e})"),
                },
            };
            out.push(zn);
        }
        let apply = out.iter().map(|z| z.apply_before_min).fold(label, f64::max);
        let ref_sc = cal.reference_sc_m * 1e6;
        let predicted: Vec<String> = out
            .iter()
            .filter_map(|z| z.model_onset_min.map(|t| format!("{} {t:.0} min", z.zone)))
            .collect();
        let basis = format!(
            "delivery model (lidocaine through intact skin to the nerve endings in the viable epidermis and papillary dermis until it blocks them at its published EC50; the vehicle's effect on the stratum corneum calibrated on the label's {label:.0} min at the back of the hand, stratum corneum {ref_sc:.1} µm, of a 35-year-old woman){}. {}",
            if predicted.is_empty() {
                String::new()
            } else {
                format!(": predicted onset {}", predicted.join(", "))
            },
            if apply > label {
                format!(
                    "The model's onset is longer than the label's on some zone, so the plan uses {apply:.0} min."
                )
            } else {
                format!(
                    "The plan keeps the label's {label:.0} min as the minimum: labels give minimum application times, and the faster onset on thinner stratum corneum is a model prediction not checked against measured onsets."
                )
            }
        );
        NumbingPlan {
            product,
            apply_before_min: apply,
            how: how(product, apply, deepest_setting_mm),
            basis,
            grade: label_grade(product),
            sources: vec![lp.label_source.into()],
            zones: out,
            calibration: Some(NumbingCalibration {
                reference_site: lp.reference_site,
                reference_person: "35-year-old woman (the skin tables' reference adult)".into(),
                reference_stratum_corneum_um: ref_sc,
                label_onset_min: label,
                occlusion: match lp.occlusion {
                    Occlusion::None => "none",
                    Occlusion::Serum => "cream film",
                    Occlusion::Patch => "occlusive dressing",
                }
                .into(),
                threshold_ug_ml: cal.threshold_kg_m3 * 1e3,
                block_half_time_s: cal.params.physchem.nerve_block_t_half_s,
                vehicle_kp_factor: cal.kp_factor,
                label_is_floor: true,
                method: "needlesim delivery model (delivery::numbing, delivery::nerve) on intact skin: permeability of lidocaine (log D 7.4; parallel routes) scaled by reference/site stratum corneum thickness (Fick, same SC diffusivity everywhere: assumed) and by the vehicle's factor, diffusion into viable epidermis and dermis, capillary clearance; onset = the nerve block: the concentration at the nerve endings (viable epidermis + papillary dermis), followed with the block's first-order development, reaching lidocaine's conduction-block EC50 of C fibres (228 uM, Anesthesiology 1996;84:1455). The vehicle's factor on the stratum corneum is calibrated per product on its label (site assumed: the back of the hand, where these creams are labelled for venipuncture); it carries the vehicle, the occlusion and for EMLA the prilocaine. See docs/PLANNER.md (Numbing).".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(age: f64, sex: crate::skin::Sex) -> Person {
        Person {
            age_years: age,
            sex,
            phototype: 3,
        }
    }

    #[test]
    fn label_is_the_floor_and_a_longer_model_onset_lengthens_the_wait() {
        use crate::skin::Sex::{Female, Male};
        let m = ModelNumbing::default();
        let zones = [
            ("hand".to_string(), Site::DorsalHand),
            ("cheek".to_string(), Site::Cheek),
        ];
        for (age, sex) in [(35.0, Female), (20.0, Male), (70.0, Male)] {
            let pl = m.onset(NumbingChoice::EmlaOccluded, &person(age, sex), &zones, 1.0);
            let cal = pl.calibration.as_ref().expect("model used");
            assert!(cal.label_is_floor && cal.threshold_ug_ml > 0.0);
            for z in &pl.zones {
                let t = z.model_onset_min.expect("onset");
                assert_eq!(z.label_min, 60.0);
                if t > 60.5 {
                    assert_eq!(z.apply_before_min, t.ceil(), "{z:?}");
                } else {
                    assert_eq!(z.apply_before_min, 60.0, "{z:?}");
                }
            }
            let hand = &pl.zones[0];
            let cheek = &pl.zones[1];
            assert!(cheek.model_onset_min < hand.model_onset_min);
            if age == 35.0 && sex == Female {
                // The calibration person at the reference site reproduces the label.
                assert!((hand.model_onset_min.unwrap() - 60.0).abs() < 0.5);
            }
            if age != 35.0 {
                // The onset moves with the person's skin: an older man's hand is slower than
                // the calibration person's, a younger man's faster (with the stratum corneum's
                // storage (K_SC ≈ 14 for lidocaine) the SC's lag dominates the onset and these
                // differences shrink: 70-year-old man 62.7 -> 60.1 min, 20-year-old man 57.4 ->
                // 59.9 min against 60 at the reference; docs/TRANSPORT.md).
                let t = hand.model_onset_min.unwrap();
                if age == 70.0 {
                    assert!(t > 60.0, "{hand:?}");
                } else {
                    assert!(t < 60.0, "{hand:?}");
                }
            }
            // The plan waits longer than the label exactly when a zone's onset exceeds it.
            let longer = pl.zones.iter().any(|z| z.apply_before_min > 60.0);
            assert_eq!(
                pl.basis.contains("longer than the label"),
                longer,
                "{}",
                pl.basis
            );
            if longer {
                assert_eq!(pl.apply_before_min, hand.apply_before_min);
            }
        }
        // Cached: a second call gives the same plan.
        let a = m.onset(
            NumbingChoice::Lidocaine4Liposomal,
            &person(35.0, Female),
            &zones,
            1.0,
        );
        let b = m.onset(
            NumbingChoice::Lidocaine4Liposomal,
            &person(35.0, Female),
            &zones,
            1.0,
        );
        assert_eq!(a, b);
        assert!(a.how.contains("30 min"));
        // No numbing: nothing applied, no model.
        let n = m.onset(NumbingChoice::None, &person(35.0, Female), &zones, 1.0);
        assert_eq!(n.apply_before_min, 0.0);
        assert!(n.calibration.is_none());
    }
}
