//! Numbing onset of a topical anaesthetic cream on intact skin (the planner's numbing time).
//!
//! Numbing goes on *intact* skin before needling, so no channel is involved: the skin is
//! laterally uniform and the intact arm of the delivery model (one radial cell of the unit cell,
//! [`model::Arm::unit_cell`] without a channel) solves it exactly per area. For a product on a
//! person's [`SkinColumn`] this module computes the mean concentration of the active in the
//! viable epidermis and papillary dermis (the layers that hold the free nerve endings and the
//! superficial nerve plexus) over time, and the onset: the first time that concentration reaches
//! the product's effect threshold.
//!
//! The threshold cannot be derived (it lumps the nerve response, the vehicle and, for EMLA, the
//! prilocaine the library does not carry), so it is **calibrated once per product**: it is the
//! concentration the model gives at the label's onset time on the label's reference site (the
//! back of the hand, where these creams are applied for venipuncture and cannulation; assumed,
//! the labels read do not name a site) of a 35-year-old woman (the skin tables' reference
//! adult). Other sites then differ through their own layers: stratum corneum thickness (the
//! permeability scales as `h_ref / h_SC`, Fick's law with the same SC diffusivity and partition
//! at every site, assumed), viable epidermis and papillary dermis thickness (the person's age and
//! sex change them, `skin::column`). Occlusion is the product's prescribed one; the model has no
//! occlusion effect on intact stratum corneum, so it is carried by the calibration. Equations and
//! limits: `docs/MODEL.md (Delivery: numbing onset)`.

use super::DeliveryError;
use super::closure::Occlusion;
use super::compounds::Library;
use super::dosing::{Application, Dose, Schedule};
use super::model::{self, Arm, DeliveryNumerics, Setup};
use super::nerve::{self, NerveBlock};
use super::physchem::{self, PermeabilityModel, PhysChemParams};
use crate::skin::SkinParams;
use crate::skin::{self, LayerKind, Person, Sex, Site, SkinColumn, ThicknessOverrides};
use crate::units::{DAY, MINUTE};

/// A numbing cream as applied before needling.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NumbingProduct {
    /// Product key in `data/compounds.toml`.
    pub library_product: &'static str,
    /// Name shown in plans.
    pub label_name: &'static str,
    /// Product applied, mg/cm².
    pub dose_mg_cm2: f64,
    /// Occlusion the label prescribes.
    pub occlusion: Occlusion,
    /// Labelled onset on intact skin, min.
    pub label_onset_min: f64,
    /// What the label says, and its source key (`plan::evidence`).
    pub label_text: &'static str,
    pub label_source: &'static str,
    /// Site of the calibration (where the labelled onset is taken to hold).
    pub reference_site: Site,
}

/// 4 % liposomal lidocaine (LMX-4): anaesthesia within 30 min without occlusion (Pesaturo &
/// Matthews 2009, `literature/transport.md` §5b). Dose: a thick layer, as the library product.
pub const LMX4: NumbingProduct = NumbingProduct {
    library_product: "lidocaine_4_cream",
    label_name: "4 % liposomal lidocaine (LMX-4)",
    dose_mg_cm2: 100.0,
    occlusion: Occlusion::None,
    label_onset_min: 30.0,
    label_text: "anaesthesia within 30 min without occlusion",
    label_source: "lmx4-label",
    reference_site: Site::DorsalHand,
};

/// EMLA (lidocaine 2.5 % + prilocaine 2.5 %): at least 1 h under occlusion for minor procedures,
/// 2.5 g per 20-25 cm² (US prescribing information, `literature/transport.md` §5b).
pub const EMLA: NumbingProduct = NumbingProduct {
    library_product: "emla_cream",
    label_name: "EMLA (lidocaine 2.5 % + prilocaine 2.5 %)",
    dose_mg_cm2: 100.0,
    occlusion: Occlusion::Patch,
    label_onset_min: 60.0,
    label_text: "at least 1 h under occlusion for minor procedures",
    label_source: "emla-label",
    reference_site: Site::DorsalHand,
};

/// The reference adult of the calibration: 35 years, female (the skin tables' reference age and
/// the default person).
pub fn reference_person() -> Person {
    Person {
        age_years: 35.0,
        sex: Sex::Female,
        phototype: 3,
    }
}

/// Longest time searched for an onset, min.
pub const MAX_ONSET_MIN: f64 = 240.0;
/// Output spacing (and longest step) of the uptake curve, s. Converged: on the cheek the onset
/// moves by < 1 % between 30 s and 2 s (LMX-4 10.71 vs 10.79 min, EMLA 18.73 vs 18.69 min).
pub(crate) use crate::params::groups::NUMBING_DT_OUT_S as DT_OUT_S;

/// The model parameters the numbing onset reads: the physico-chemistry (permeability,
/// diffusivities, clearance), the skin parameters of the reference column and the output
/// spacing. The closure parameters do not enter: the cream goes on intact skin, before any
/// channel is made.
#[derive(Clone, Debug, PartialEq)]
pub struct NumbingParams {
    pub physchem: PhysChemParams,
    /// Skin parameters of the calibration's reference column.
    pub skin: SkinParams,
    /// Output spacing (and longest step) of the uptake curve, s (`numerics.numbing_dt_out_s`).
    pub dt_out_s: f64,
}

impl Default for NumbingParams {
    /// The published values (the registry's defaults; `plan::numbing::ModelNumbing::new` builds
    /// them from a patient's `params`).
    fn default() -> Self {
        NumbingParams {
            physchem: PhysChemParams::default(),
            skin: SkinParams::default(),
            dt_out_s: DT_OUT_S,
        }
    }
}

/// Uptake of a product into one column: `(t s after application, mean concentration in viable
/// epidermis + papillary dermis kg/m³)`, every 30 s to `t_end_s`, with the published
/// physico-chemistry.
pub fn uptake(
    product: &NumbingProduct,
    column: &SkinColumn,
    reference_sc_m: f64,
    t_end_s: f64,
) -> Result<Vec<(f64, f64)>, DeliveryError> {
    uptake_with(
        product,
        column,
        reference_sc_m,
        t_end_s,
        &NumbingParams::default(),
    )
}

/// [`uptake`] with the model parameters `np`.
pub fn uptake_with(
    product: &NumbingProduct,
    column: &SkinColumn,
    reference_sc_m: f64,
    t_end_s: f64,
    np: &NumbingParams,
) -> Result<Vec<(f64, f64)>, DeliveryError> {
    uptake_factor(product, column, reference_sc_m, t_end_s, np, 1.0)
}

/// [`uptake_with`] with the stratum corneum's permeability times `kp_factor` (the vehicle's
/// effect, [`Calibration::kp_factor`]).
pub fn uptake_factor(
    product: &NumbingProduct,
    column: &SkinColumn,
    reference_sc_m: f64,
    t_end_s: f64,
    np: &NumbingParams,
    kp_factor: f64,
) -> Result<Vec<(f64, f64)>, DeliveryError> {
    uptake_dt(
        product,
        column,
        reference_sc_m,
        t_end_s,
        np.dt_out_s,
        &np.physchem,
        kp_factor,
    )
}

fn uptake_dt(
    product: &NumbingProduct,
    column: &SkinColumn,
    reference_sc_m: f64,
    t_end_s: f64,
    dt_out_s: f64,
    physchem: &PhysChemParams,
    kp_factor: f64,
) -> Result<Vec<(f64, f64)>, DeliveryError> {
    check_product(product)?;
    if !(t_end_s.is_finite() && t_end_s > 0.0 && t_end_s <= DAY) {
        return Err(DeliveryError::Invalid(format!(
            "numbing: duration {t_end_s} s must be within 0-86400 s (exclusive of 0)"
        )));
    }
    let h_sc = column.layer(LayerKind::StratumCorneum).thickness_m;
    if !(reference_sc_m.is_finite() && reference_sc_m > 0.0 && h_sc > 0.0) {
        return Err(DeliveryError::Invalid(format!(
            "numbing: stratum corneum thickness {h_sc} m and reference {reference_sc_m} m must be positive"
        )));
    }
    let lib = Library::builtin();
    let prod = lib.product(product.library_product)?;
    let compound = lib.compound(&prod.compound)?;
    let mut co = physchem::coefficients(compound, PermeabilityModel::default(), physchem);
    // Fick: kp = K D / h. Potts-Guy's kp is taken at the reference site's SC; the same SC
    // diffusivity and partition elsewhere (the engine uses D_SC = kp · h_SC).
    co.kp_m_s *= reference_sc_m / h_sc * kp_factor;
    // One radial cell (a 1-D column, as the deliver command's intact arm), on the unit cell's
    // default unsplit scheme; steps and outputs every `dt_out_s` (30 s).
    let res = DeliveryNumerics {
        dt_first_s: 0.5,
        dt_growth: 1.25,
        dt_max_s: dt_out_s,
        ..DeliveryNumerics::default()
    };
    let mut arm = Arm::unit_cell(column, None, 1e-3, &co, Setup::InVivo, &res)?;
    let schedule = Schedule::new(vec![Application {
        t_apply_s: 0.0,
        dose: Dose::Finite {
            product_kg_m2: product.dose_mg_cm2 * 1e-2,
            mass_fraction: prod.mass_fraction,
        },
        wipe_s: None,
        occlusion: product.occlusion,
    }])?;
    let n = (t_end_s / dt_out_s).ceil() as usize;
    let times: Vec<f64> = (0..=n)
        .map(|i| (i as f64 * dt_out_s).min(t_end_s))
        .collect();
    let mut run = || {
        model::run_arm(
            &mut arm,
            &schedule,
            None,
            compound.solubility_kg_m3,
            t_end_s,
            &times,
            &[],
            &res,
        )
    };
    // A column of about 60 cells: on one thread the engine's per-step parallel sections run
    // inline instead of paying a fork-join per step (same numbers either way).
    let r = match rayon::ThreadPoolBuilder::new().num_threads(1).build() {
        Ok(pool) => pool.install(run),
        Err(_) => run(),
    }?;
    // The numbing criterion of the delivery model (`Sample::nerve_kg_m3`, the level in viable
    // epidermis + papillary dermis over `NERVE_AREA_FRACTION` of the area): on this laterally
    // uniform column it is their mean concentration, and the same criterion gives the onset
    // after needling in `deliver`.
    Ok(r.samples.iter().map(|s| (s.t_s, s.nerve_kg_m3)).collect())
}

/// First time (s) the curve reaches `threshold`, linearly interpolated; None if never.
pub fn crossing(curve: &[(f64, f64)], threshold: f64) -> Option<f64> {
    let mut prev: Option<(f64, f64)> = None;
    for &(t, c) in curve {
        if c >= threshold {
            return Some(match prev {
                Some((t0, c0)) if c > c0 => t0 + (threshold - c0) / (c - c0) * (t - t0),
                _ => t,
            });
        }
        prev = Some((t, c));
    }
    None
}

fn check_product(p: &NumbingProduct) -> Result<(), DeliveryError> {
    let mut problems = Vec::new();
    if !(p.dose_mg_cm2.is_finite() && p.dose_mg_cm2 > 0.0 && p.dose_mg_cm2 <= 1000.0) {
        problems.push(format!(
            "dose_mg_cm2 = {} must be within 0-1000 mg/cm² (exclusive of 0); a thick layer of cream is about 100",
            p.dose_mg_cm2
        ));
    }
    if !(p.label_onset_min.is_finite()
        && p.label_onset_min > 0.0
        && p.label_onset_min < MAX_ONSET_MIN)
    {
        problems.push(format!(
            "label_onset_min = {} must be within 0-{MAX_ONSET_MIN} min (exclusive); give the label's application time",
            p.label_onset_min
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(DeliveryError::Invalid(format!(
            "numbing product {:?}: {}",
            p.label_name,
            problems.join("; ")
        )))
    }
}

/// A product's calibration on its label.
#[derive(Clone, Debug, PartialEq)]
pub struct Calibration {
    pub product: NumbingProduct,
    /// Effect threshold: the blocking concentration at the nerve endings, kg/m³ (= mg/mL):
    /// the compound's conduction-block EC50 (literature, `data/compounds.toml`), reached at the
    /// blocking site over 90 % of the area ([`super::nerve`]).
    pub threshold_kg_m3: f64,
    /// Factor on the intact stratum corneum's permeability that the product's vehicle brings
    /// (liposomes, EMLA's eutectic, occlusion: none of them is in the model). **Calibrated**: the
    /// factor at which the reference site numbs at the label time.
    pub kp_factor: f64,
    /// Stratum corneum of the reference column, m.
    pub reference_sc_m: f64,
    /// The model parameters it was calibrated with (and predicts onsets with).
    pub params: NumbingParams,
}

impl Calibration {
    /// The block criterion (EC50 and the block's half-time).
    pub fn block(&self) -> NerveBlock {
        NerveBlock {
            ec50_kg_m3: self.threshold_kg_m3,
            t_half_s: self.params.physchem.nerve_block_t_half_s,
        }
    }
}

/// Calibrates a product on its label onset at its reference site, with the published model
/// parameters.
pub fn calibrate(product: &NumbingProduct) -> Result<Calibration, DeliveryError> {
    calibrate_with(product, &NumbingParams::default())
}

/// [`calibrate`] with the model parameters `np` (a patient's physico-chemistry and skin
/// parameters). The blocking concentration is the compound's literature EC50; what is
/// calibrated is the vehicle's factor on the stratum corneum's permeability, the one at which
/// *this* model numbs the reference site at the label time, so the reference site still
/// reproduces the label while other sites move with the parameters.
pub fn calibrate_with(
    product: &NumbingProduct,
    np: &NumbingParams,
) -> Result<Calibration, DeliveryError> {
    check_product(product)?;
    let lib = Library::builtin();
    let compound = lib.compound(&lib.product(product.library_product)?.compound)?;
    let Some(ec50) = compound.nerve_block_ec50_kg_m3 else {
        return Err(DeliveryError::Invalid(format!(
            "numbing product {:?}: compound {:?} has no nerve_block_ec50_um in the library; a numbing onset needs the concentration that blocks the nerve endings",
            product.label_name, compound.name
        )));
    };
    let col = skin::column_with(
        product.reference_site,
        &reference_person(),
        &ThicknessOverrides::default(),
        &np.skin,
    )
    .map_err(|e| DeliveryError::Invalid(format!("numbing reference column: {e}")))?;
    let h_ref = col.layer(LayerKind::StratumCorneum).thickness_m;
    let t_label = product.label_onset_min * MINUTE;
    let block = NerveBlock {
        ec50_kg_m3: ec50,
        t_half_s: np.physchem.nerve_block_t_half_s,
    };
    let factor = nerve::calibrate_kp_factor(t_label, |f| {
        Ok::<_, DeliveryError>(block.onset(&uptake_factor(product, &col, h_ref, t_label, np, f)?))
    })?
    .ok_or_else(|| {
        DeliveryError::Invalid(format!(
            "numbing product {:?}: no permeability factor within {:?} numbs the reference site at the label time ({} min); it cannot be calibrated",
            product.label_name,
            nerve::KP_FACTOR_RANGE,
            product.label_onset_min
        ))
    })?;
    Ok(Calibration {
        product: *product,
        threshold_kg_m3: ec50,
        kp_factor: factor,
        reference_sc_m: h_ref,
        params: np.clone(),
    })
}

/// The predicted onset on one column.
#[derive(Clone, Debug, PartialEq)]
pub struct Onset {
    /// Minutes after application until the threshold is reached; None if not within
    /// [`MAX_ONSET_MIN`].
    pub onset_min: Option<f64>,
    /// Stratum corneum, viable epidermis and papillary dermis of the column, m.
    pub sc_m: f64,
    pub ve_m: f64,
    pub pd_m: f64,
}

impl Calibration {
    /// The level at the nerve endings on a column, `(t s, kg/m³)`, every `dt_out_s` to `t_end_s`.
    pub fn uptake(
        &self,
        column: &SkinColumn,
        t_end_s: f64,
    ) -> Result<Vec<(f64, f64)>, DeliveryError> {
        uptake_factor(
            &self.product,
            column,
            self.reference_sc_m,
            t_end_s,
            &self.params,
            self.kp_factor,
        )
    }

    /// Predicted onset on a column (the person's skin at a treated site). Runs to twice the
    /// label time first and only to [`MAX_ONSET_MIN`] when the block is not reached by then.
    pub fn onset(&self, column: &SkinColumn) -> Result<Onset, DeliveryError> {
        let first = (2.0 * self.product.label_onset_min).min(MAX_ONSET_MIN) * MINUTE;
        let block = self.block();
        let mut t = block.onset(&self.uptake(column, first)?);
        if t.is_none() && first < MAX_ONSET_MIN * MINUTE {
            t = block.onset(&self.uptake(column, MAX_ONSET_MIN * MINUTE)?);
        }
        Ok(Onset {
            onset_min: t.map(|t| t / MINUTE),
            sc_m: column.layer(LayerKind::StratumCorneum).thickness_m,
            ve_m: column.layer(LayerKind::ViableEpidermis).thickness_m,
            pd_m: column.layer(LayerKind::PapillaryDermis).thickness_m,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(site: Site, p: &Person, sc_um: Option<f64>) -> SkinColumn {
        let o = ThicknessOverrides {
            stratum_corneum_m: sc_um.map(|x| x * 1e-6),
            ..ThicknessOverrides::default()
        };
        skin::column(site, p, &o).expect("column")
    }

    #[test]
    fn the_reference_site_reproduces_the_label_time() {
        for prod in [LMX4, EMLA] {
            let cal = calibrate(&prod).expect("calibration");
            assert!(cal.threshold_kg_m3 > 0.0);
            let o = cal
                .onset(&col(prod.reference_site, &reference_person(), None))
                .expect("onset");
            let t = o.onset_min.expect("reached");
            assert!(
                (t - prod.label_onset_min).abs() < 0.5,
                "{}: {t} min vs label {}",
                prod.label_name,
                prod.label_onset_min
            );
        }
    }

    #[test]
    fn onset_is_longer_for_a_thicker_stratum_corneum() {
        let cal = calibrate(&LMX4).expect("calibration");
        let mut last = 0.0;
        for sc in [8.0, 12.0, 16.8, 22.0, 29.3, 40.0] {
            let t = cal
                .onset(&col(Site::Cheek, &reference_person(), Some(sc)))
                .expect("onset")
                .onset_min
                .expect("reached");
            assert!(t > last, "SC {sc} µm: {t} min after {last}");
            last = t;
        }
        // The face (SC 16.8 µm) numbs faster than the back of the hand (29.3 µm).
        let face = cal
            .onset(&col(Site::Cheek, &reference_person(), None))
            .expect("onset")
            .onset_min
            .expect("reached");
        assert!(face < LMX4.label_onset_min, "{face}");
        // A very thick stratum corneum is not reached within the search window.
        let palm_like = cal
            .onset(&col(Site::DorsalHand, &reference_person(), Some(170.0)))
            .expect("onset");
        assert!(
            palm_like
                .onset_min
                .is_none_or(|t| t > 2.0 * LMX4.label_onset_min)
        );
    }

    #[test]
    fn bad_products_and_durations_give_clear_errors() {
        let bad = NumbingProduct {
            dose_mg_cm2: -1.0,
            label_onset_min: f64::NAN,
            ..LMX4
        };
        let e = calibrate(&bad).expect_err("bad product").to_string();
        assert!(e.contains("dose_mg_cm2 = -1"), "{e}");
        assert!(e.contains("label_onset_min = NaN"), "{e}");
        let unknown = NumbingProduct {
            library_product: "lidocaine_40_cream",
            ..LMX4
        };
        let e = calibrate(&unknown).expect_err("unknown").to_string();
        assert!(e.contains("lidocaine_40_cream"), "{e}");
        let c = col(Site::Cheek, &reference_person(), None);
        let e = uptake(&LMX4, &c, 29.3e-6, -5.0)
            .expect_err("duration")
            .to_string();
        assert!(e.contains("duration -5 s"), "{e}");
        let e = uptake(&LMX4, &c, 0.0, 60.0)
            .expect_err("reference")
            .to_string();
        assert!(e.contains("reference 0 m"), "{e}");
    }

    #[test]
    fn crossing_interpolates_and_reports_never() {
        let curve = [(0.0, 0.0), (60.0, 1.0), (120.0, 3.0)];
        assert_eq!(crossing(&curve, 2.0), Some(90.0));
        assert_eq!(crossing(&curve, 0.0), Some(0.0));
        assert_eq!(crossing(&curve, 4.0), None);
    }
}
