//! Every constant of the healing model, in one table, in SI units.
//!
//! The [`params!`] table below generates the [`HealingParams`] struct (read by the model), its
//! `Default` (the values in the table), and the provenance rows exported to
//! `docs/parameters.csv` ([`rows`]). Each row: value, unit, kind (literature / calibrated /
//! assumed), log-normal spread used for the uncertainty bands (σ of ln value; 0 = held fixed),
//! source (citation with evidence grade, or the calibration case) and a note.
//!
//! Evidence grades follow `literature/biology.md`: A primary paper read, B secondary
//! (review/compiled table), C non-peer-reviewed (used only as a default, never as a target).

use crate::registry::ranges::{ASSUMED, FRACTION, LIT};
use crate::registry::{Entry, Group, ParamKind, Range};

/// Range reason of the calibrated entries.
const CAL: &str = "the search interval of scripts/calibrate_healing.sh";

/// The time units, defined once in [`crate::units`].
pub use crate::units::{DAY, HOUR, YEAR};
/// 1 ng/mL in kg/m³.
pub const NG_ML: f64 = 1e-6;
/// 1 pg/mL in kg/m³.
pub const PG_ML: f64 = 1e-9;
/// 1 pg in kg.
pub const PG: f64 = 1e-15;
const LN2: f64 = std::f64::consts::LN_2;

/// One row of metadata.
#[derive(Clone, Copy, Debug)]
pub struct ParamInfo {
    pub name: &'static str,
    pub value: f64,
    pub unit: &'static str,
    pub kind: ParamKind,
    /// σ of ln(value) when sampling for uncertainty bands; 0 = fixed.
    pub spread: f64,
    /// Plausible range (checked on overrides).
    pub range: Range,
    pub source: &'static str,
    pub note: &'static str,
}

macro_rules! params {
    ($( $(#[$doc:meta])* $field:ident = $value:expr, $unit:literal, $kind:ident, $spread:expr, $range:expr, $source:literal, $note:literal; )*) => {
        /// The healing model's parameters (SI). Defaults and provenance: [`TABLE`].
        #[derive(Clone, Debug, PartialEq)]
        pub struct HealingParams {
            $( $(#[$doc])* pub $field: f64, )*
        }
        impl Default for HealingParams {
            fn default() -> Self {
                HealingParams { $( $field: $value, )* }
            }
        }
        /// Provenance of every parameter, in table order.
        pub const TABLE: &[ParamInfo] = &[
            $( ParamInfo {
                name: stringify!($field),
                value: $value,
                unit: $unit,
                kind: ParamKind::$kind,
                spread: $spread,
                range: $range,
                source: $source,
                note: $note,
            }, )*
        ];
        /// The registry entries of the `healing` group, in table order.
        pub const ENTRIES: &[Entry] = &[
            $( Entry {
                name: stringify!($field),
                unit: $unit,
                kind: ParamKind::$kind,
                spread: $spread,
                range: $range,
                source: $source,
                note: $note,
                settable: true,
            }, )*
        ];
        impl HealingParams {
            /// Mutable access by name (for calibration and sampling).
            pub fn get_mut(&mut self, name: &str) -> Option<&mut f64> {
                match name {
                    $( stringify!($field) => Some(&mut self.$field), )*
                    _ => None,
                }
            }
            /// Value by name.
            pub fn get(&self, name: &str) -> Option<f64> {
                match name {
                    $( stringify!($field) => Some(self.$field), )*
                    _ => None,
                }
            }
        }
    };
}

params! {
    // --- injury -> biology coupling --------------------------------------------------------
    /// Damaged (necrotic + crushed) tissue volume per needle-displaced volume.
    damage_halo_factor = 2.0, "1", Assumed, 0.4, ASSUMED, "",
        "cells in a rim around the needle track die too; rim assumed ~0.4 needle radii thick (volume x2)";
    /// PDGF released per unit volume of clotting blood in a channel.
    pdgf_per_blood = 15.0 * NG_ML, "kg/m3", Assumed, 0.5, ASSUMED, "",
        "order of magnitude of serum (clotted-blood) PDGF; no source read";
    /// TGF-beta1 released per unit volume of clotting blood.
    tgfb_per_blood = 40.0 * NG_ML, "kg/m3", Assumed, 0.5, ASSUMED, "",
        "order of magnitude of serum TGF-beta1; no source read";

    // --- inflammation ------------------------------------------------------------------------
    /// Half-life of the pro-inflammatory cytokine signal (IL-1/TNF-like) in tissue.
    cytokine_half_life = 1.0 * HOUR, "s", Literature, 0.5, Range::between(10.0 * 60.0, 4.0 * HOUR, "in vivo half-lives of TNF-alpha and IL-1beta: about 20 min in blood, 0.5-2.4 h after an infusion, 1.6 h from a subcutaneous site"), "J Clin Oncol 1987;5:1942 (PMID 3681377, grade A, abstract): human recombinant TNF, half-life in blood 20 min; Cancer Res 1990;50:5751 (grade A, abstract): rat IL-1beta, 19 min i.v., 1.59 h after s.c. injection",
        "between clearance from blood (about 20 min) and residence at a subcutaneous site (1.6 h, absorption-limited); no half-life in skin itself was found; sets how fast redness follows the signal";
    /// Cytokine release per unit damaged volume fraction (alarmins such as IL-1alpha).
    cytokine_from_damage = 8e-10, "kg/m3/s", Assumed, 0.5, ASSUMED, "",
        "scaled so that 5 % damaged tissue sustains ~200 pg/mL, the order of wound-fluid IL-1beta";
    /// Cytokine output of one tissue neutrophil.
    cytokine_per_neutrophil = 5e-25, "kg/s", Literature, 0.3, Range::between(2e-25, 2e-24, "160-190 pg/mL in 24 h (Dubravec 1990) at 1-10 million cells/mL, the usual culture densities (the study's density was not in the abstract)"), "Dubravec et al. 1990 PNAS 87:6758 (PMID 1697688, grade B: abstract, per-cell rate derived): LPS-stimulated human blood neutrophils secreted 160-190 pg/mL TNF-alpha in 24 h",
        "4e-25 kg/s per cell at an assumed 5 million cells/mL; 1e13 neutrophils/m3 sustain ~25 pg/mL; must keep the leukocyte-cytokine loop gain below 1 or inflammation never resolves";
    /// Cytokine output of one debris-activated (M1-like) macrophage.
    cytokine_per_macrophage = 5e-25, "kg/s", Assumed, 0.3, ASSUMED, "",
        "as neutrophils";
    /// Excess TGF-beta that halves M1 cytokine output (anti-inflammatory switch).
    tgfb_antiinflammatory_k = 10.0 * NG_ML, "kg/m3", Assumed, 0.5, ASSUMED, "",
        "same scale as the fibroblast half-activation";
    /// Cytokine level of half-maximal leukocyte recruitment and vasodilation.
    cytokine_half_effect = 50.0 * PG_ML, "kg/m3", Assumed, 0.5, ASSUMED, "",
        "effective lumped constant; no half-maximal TNF/IL-1 level of endothelial activation was read: neutrophil adhesion to TNF-treated endothelium under flow rose up to 5 U/mL and little above (roughly 20-500 pg/mL at 1e7-5e7 U/mg, specific activity not given), and TNF-alpha's half-maximal IL-1 release from endothelium was at 80 pM, about 1.4 ng/mL (J Immunol 1987;139:1891), so 50 pg/mL lies inside that bracket";
    /// Neutrophil influx per unit blood volume fraction at maximal signal.
    neutrophil_influx = 2e10, "1/(m3 s)", Assumed, 0.5, ASSUMED, "",
        "per unit perfused blood volume fraction, so vascular layers recruit more; scaled to ~1e13/m3 peaks; not sourced: at full signal and full vasodilation the papillary dermis recruits 2e10 x 0.002 x 7.9 = 3e8 per m3 per s, while a human suction-blister chamber collected 7.4e7 leucocytes per cm2 in 24 h (Wandall 1980 Acta Pathol Microbiol Scand C 88:255), 0.9-3e10 per m3 per s over an assumed 0.3-1 mm of supplying dermis: 30-100x more under a maximal stimulus; the model's layer-averaged peak after needling, ~1e4 per mm3, is of the order of mouse excisional-wound densities (Kim et al. 2008 J Invest Dermatol 128:1812: 5e6 cells in a 28 mm2 wound) times an injured volume fraction of a few %";
    /// Neutrophil density of half-maximal monocyte/macrophage recruitment.
    neutrophil_half_macrophage_recruit = 5e12, "1/m3", Assumed, 0.5, ASSUMED, "",
        "neutrophil-derived chemoattractants recruit monocytes; makes the macrophage wave follow the neutrophil wave (neutrophils 24-48 h, macrophages day 3-5: biology.md 2, grade C)";
    /// Mean survival of a neutrophil in tissue.
    neutrophil_lifetime = 1.5 * DAY, "s", Literature, 0.3, Range::between(0.5 * DAY, 4.0 * DAY, "tissue neutrophils survive about 1-2 days; widened for grade C"), "Neutrophil (Wikipedia via liquisearch, grade C): survive 1-2 days in tissue",
        "grade C used as default only; sets the 1-2 day neutrophil peak";
    /// Macrophage (monocyte) influx per unit blood volume fraction at maximal signal.
    macrophage_influx = 2e10, "1/(m3 s)", Assumed, 0.5, ASSUMED, "",
        "scaled so macrophages reach a few times resident numbers";
    /// Macrophage removal (emigration) rate.
    macrophage_removal_rate = 0.6 / DAY, "1/s", Literature, 0.3, LIT, "Jin et al. 2011 BMC Syst Biol 5:60 Table 4 (compiled, grade B)",
        "0.6 per day";
    /// Resident macrophages per resident fibroblast.
    resident_macrophage_ratio = 0.1, "1", Assumed, 0.5, ASSUMED, "",
        "dermal macrophages are a minority of dermal cells; no count read";
    /// Debris volume cleared per macrophage per second.
    debris_clearance_macrophage = 6e-19, "m3/s", Assumed, 0.5, ASSUMED, "",
        "~2000 um3 per hour per cell; clears a few % damaged volume in days";
    /// Debris volume cleared per neutrophil per second.
    debris_clearance_neutrophil = 1.2e-19, "m3/s", Assumed, 0.5, ASSUMED, "",
        "neutrophils phagocytose less than macrophages (assumed 1/5)";
    /// Damaged fraction at which macrophages are half debris-activated (M1) rather than reparative (M2).
    debris_half_activation = 0.005, "1", Assumed, 0.5, ASSUMED, "",
        "sets when the M1->M2 switch happens as debris is cleared";

    // --- growth factors ----------------------------------------------------------------------
    /// Half-life of PDGF-like platelet/macrophage growth factor in tissue.
    pdgf_half_life = 2.0 * HOUR, "s", Assumed, 0.5, ASSUMED, "",
        "growth factors are cleared within hours; no tissue value read";
    /// PDGF output of one debris-activated macrophage.
    pdgf_per_macrophage = 2e-24, "kg/s", Assumed, 0.5, ASSUMED, "",
        "scaled so activated macrophages sustain ~0.2 ng/mL layer-average";
    /// PDGF level of half-maximal fibroblast activation.
    pdgf_half_effect = 0.2 * NG_ML, "kg/m3", Assumed, 0.5, ASSUMED, "",
        "effective constant for layer-averaged concentrations (local levels near channels are far higher)";
    /// TGF-beta output of one reparative macrophage.
    tgfb_per_macrophage = 0.07 * PG / DAY, "kg/s", Literature, 0.3, LIT, "Jin et al. 2011 Table 4 (grade B)",
        "0.07 pg/cell/day";
    /// TGF-beta output of one fibroblast.
    tgfb_per_fibroblast = 0.004 * PG / DAY, "kg/s", Literature, 0.3, LIT, "Jin et al. 2011 Table 4 (grade B)",
        "0.004 pg/cell/day";
    /// TGF-beta half-life.
    tgfb_half_life = LN2 / (15.0 / DAY), "s", Literature, 0.3, LIT, "Jin et al. 2011 Table 4 (grade B)",
        "decay 15 per day";
    /// Excess TGF-beta of half-maximal fibroblast activation / differentiation.
    tgfb_half_effect = 1.0 * NG_ML, "kg/m3", Literature, 0.4, Range::between(0.25 * NG_ML, 3.0 * NG_ML, "active half-maximum 0.1-0.5 ng/mL over an active share of 38 % (1 h) to 17 % (day 5) of wound TGF-beta: 0.26-2.9 ng/mL of total TGF-beta"), "human embryonic lung fibroblasts (Fine & Goldstein 1987 J Biol Chem 262:3897; grade B: abstract, half-maximum derived): collagen production raised selectively at 0.1 ng/mL of TGF-beta and maximally (2-3-fold) at 1.0 ng/mL; Yang et al. 1999 Am J Pathol 154:105 (grade A, rat wounds, abstract): active TGF-beta 38 % of the total 1 h after wounding and 17 % at day 5",
        "the model's TGF-beta is total (latent + active), so the active half-maximum (about 0.1-0.5 ng/mL, between the first selective effect and the maximum) is divided by the active share in wounds: about 1 ng/mL of excess total TGF-beta; culture potency transferred to tissue (assumption: binding to matrix may raise it); 10 ng/mL assumed until session 16";

    // --- fibroblasts -------------------------------------------------------------------------
    /// Maximal activation rate of quiescent fibroblasts.
    fibroblast_activation_rate = 1.0 / DAY, "1/s", Assumed, 0.4, ASSUMED, "",
        "fibroblasts enter the wound ~2-3 days after wounding (ARS 2008 legend, grade B) ";
    /// Doubling time of activated fibroblasts at maximal drive.
    fibroblast_doubling_time = LN2 / (0.924 / DAY), "s", Literature, 0.3, LIT, "Jin et al. 2011 Table 4 (grade B)",
        "growth rate 0.924 per day";
    /// Maximal fibroblast density relative to the resting density.
    fibroblast_max_ratio = 3.0, "1", Assumed, 0.3, Range::between(2.0, 30.0, "a measured lower bound: parts of hypertrophic-scar dermis hold more than twice the fibroblast density of the near-normal parts (Exp Dermatol 2003;12:403, n = 2); a cap at or below the resting density (ratio 1) would forbid any proliferation; an order of magnitude above the assumed value"), "range only: Exp Dermatol 2003;12:403 (doi:10.1034/j.1600-0625.2003.00023.x, abstract): young normal mid-dermis 2100-4100 fibroblasts per mm3, hypertrophic scars more than twice that in parts",
        "granulation tissue is hypercellular; contact inhibition above this; the value (3) is not measured: no peak density of granulation tissue against dermis was found";
    /// Maximal TGF-beta-driven differentiation rate into matrix-synthesising (myo)fibroblasts.
    myofibroblast_rate = 0.231 / DAY, "1/s", Literature, 0.3, Range::between(0.172 / DAY, 1.0 / DAY, "0.17/d (70 % converted at day 7) to 1/d (mouse wounds: first myofibroblasts at day 5, peak at day 7, Fan et al. 2011 J Forensic Med 27:246, conversion within 1-3 days)"), "Masur et al. 1996 PNAS 93:4219 (grade B: abstract, rate derived): fibroblasts plated at low density became 70-80 % alpha-SMA-positive myofibroblasts 5-7 days after seeding",
        "first-order conversion from none: k = ln 4 / 6 d = 0.23 per day (half-time 3 d); the culture was induced by the loss of cell contact in TGF-beta-rich media (added TGF-beta: a non-significant trend), transferred to the model's TGF-beta-gated term at full signal (assumption); sets the delay between fibroblast proliferation and collagen I deposition (0.5/d assumed until session 16)";
    /// Reversion rate of activated fibroblasts to quiescence without signals.
    fibroblast_reversion_rate = 0.1 / DAY, "1/s", Assumed, 0.4, ASSUMED, "",
        "proliferative phase lasts weeks";
    /// Apoptosis rate of excess fibroblasts.
    fibroblast_apoptosis_rate = 0.12 / DAY, "1/s", Literature, 0.3, LIT, "Jin et al. 2011 Table 4 (grade B)",
        "0.12 per day, times the excess share (F - F0)/F, for cells of every state (quiescent included since session 15: scars lose their cellularity by apoptosis, Desmouliere et al. 1995 Am J Pathol 146:56)";

    // --- matrix ------------------------------------------------------------------------------
    /// Half-life of mature dermal collagen at rest (young adult).
    collagen_half_life = 15.0 * YEAR, "s", Literature, 0.3, Range::between(7.5 * YEAR, 30.0 * YEAR, "a factor 2 either way: one method (racemization), no interval published"), "Verzijl et al. 2000 J Biol Chem 275:39027 (grade A, abstract): skin collagen half-life 15 years from the age-related rise of D-aspartate",
        "human skin, aspartic-acid racemization (cartilage 117 y by the same method); a mean over the mature pool: newly made collagen turns over far faster (rat skin: Mays et al. 1991 Biochem J 276:307)";
    /// Collagen output of an activated fibroblast relative to a quiescent one.
    collagen_output_activated = 1.936705e+01, "1", Calibrated, 0.25, Range::between(1.0, 500.0, CAL), "joint calibration, posterior median (docs/CALIBRATION.md; cases R2-C10a, V01-LAX, V01-TEX, V01, V02, V02-PIH, V08-epi, V08, V14)",
        "fitted jointly with the other calibrated entries by python/calibrate.py (before issue 19: scripts/calibrate_healing.sh on one case)";
    /// Type III share of collagen made by proliferating (early) fibroblasts.
    collagen3_share_early = 0.2, "1", Literature, 0.3, Range::between(0.15, 0.34, "type III share of skin collagen, adult 15 % to wounded fetal skin 33.8 % (Hallock et al. 1988 Ann Plast Surg 21:310, rat)"), "Clore, Cohen & Diegelmann 1979 Proc Soc Exp Biol Med 161:337 (grade A, rat, abstract): type III 20 % of newly made collagen in open wounds from 24 h to day 12",
        "rat wounds, [3H]proline-labelled new collagen: III raised only at 10 h, then at the normal skin value of 20 % through day 12; transferred to human skin (assumption), where the resting content share is 12.5 %";
    /// Half-life of excess (immature) collagen III before it is remodelled into collagen I.
    collagen3_remodel_half_life = 120.0 * DAY, "s", Literature, 0.4, Range::between(60.0 * DAY, 730.0 * DAY, "the same decay from a peak share 4x (60 d) to 1.8x (730 d) the baseline"), "J Invest Dermatol 2003 (PMID 12880417, grade B: abstract, half-life derived): in human excisional wounds the type III share of collagen rose for 6 weeks and was still 70 % above baseline at 6 months",
        "half-life of the excess III share between 6 weeks and 6 months if it peaked at 2.5x the baseline share (early wounds about 30 % type III against 12 %): 140 d x ln 2 / ln(1.5/0.7) = 127 d, rounded to 120 d; large excisional wounds transferred to needle channels (assumption); III replaced by I";
    /// Type III share of collagen that remodelling (collagenase activity above rest) drives the
    /// matrix towards: excess III is converted into I while MMP activity is raised.
    collagen3_share_remodelled = 0.095, "1", Assumed, 0.2, Range::between(0.05, 0.125, "adult type III 8-11 % of collagen (Reilly 2021), at most the resting share"), "value: Reilly et al. Plast Aesthet Res 2021;8:2 (grade B): adult skin type III 8-11 % of total collagen (midpoint)",
        "assumed mechanism: remodelling replaces new III-rich matrix with I until the III share is the adult one; the resting share (12.5 %, from the 85-90 % type I of the same review) is slightly higher, so the new matrix ends with less III than the resting one; the resting matrix keeps its share, so III content rises during a series and falls back towards rest after it, never below it while the matrix is above rest (Zeitter 2014, rat: III mRNA down at 10 weeks, not reached; El-Domyati 2015 and Kenkel 2021: III up)";
    /// Half-life of collagenase (MMP) activity.
    mmp_half_life = LN2 / (0.875 / DAY), "s", Literature, 0.3, LIT, "Jin et al. 2011 Table 4 (MMP-9 decay, grade B)",
        "0.875 per day";
    /// Maximal induction of collagenase activity by the inflammatory signal (fold over rest).
    mmp_induction_cytokine = 4.0, "1", Assumed, 0.5, ASSUMED, "",
        "IL-1/TNF induce MMP-1 in fibroblasts and keratinocytes; no fold change read";
    /// Collagenase activity added per activated fibroblast (per resting fibroblast density).
    mmp_induction_fibroblast = 1.5, "1", Literature, 0.4, Range::between(0.5, 4.5, "a factor 3 around a single literature value"), "Bauer et al. 1985 PNAS 82:4132 (grade B: abstract, in vitro, derived): PDGF raised collagenase synthesis of normal human skin fibroblasts 2.5-fold (total protein +20 %, DNA synthesis unchanged)",
        "collagenase is 1 + k f_act/F0 relative to rest, so a culture of fibroblasts all activated by PDGF (the model's activation signal) at 2.5x gives k = 1.5; granulation-tissue fibroblasts up-regulate MMP-1 mRNA strongly at days 3 and 14 (Petri et al. 1997 Exp Dermatol 6:133, no fold in the abstract); 1 assumed until session 16";
    /// Mean residence time of elastin.
    elastin_residence_time = 74.0 * YEAR, "s", Literature, 0.3, Range::between(40.0 * YEAR, 174.0 * YEAR, "the source's 95 % CI"), "Shapiro et al. 1991 J Clin Invest 87:1828 (grade A, lung parenchyma)",
        "74 y (95 % CI 40-174); transferred from lung to skin elastin (assumption)";
    /// Elastin (tropoelastin) output of an activated fibroblast relative to a quiescent one.
    elastin_output_activated = 10.0, "1", Literature, 0.5, Range::between(2.0, 10.0, "2-fold (TGF-beta, rat lung fibroblasts in vitro, McGowan 1990) to about 10-fold (in vivo)"), "Biochem Biophys Res Commun 1994;203:485 (doi 10.1006/bbrc.1994.2208; grade A, abstract): human elastin promoter activity in transgenic mouse skin up to about 10-fold after one TGF-beta1 injection",
        "the in vivo skin value (IL-1beta gave about 10-fold in the same model, PMID 8575260); tropoelastin rises after needling (El-Domyati 2015) while total elastin protein was unchanged 3 months after 4 monthly sessions (Kenkel et al. 2021, Aesthet Surg J, PMID 33656167)";
    /// Elastin degradation rate per tissue neutrophil (neutrophil elastase).
    elastase_per_neutrophil = 6e-22, "m3/s", Assumed, 0.5, ASSUMED, "",
        "about 0.3 % of elastin per 1.5 mm session at the modelled neutrophil burden: elastase acts only while neutrophils are in the tissue (1-2 days), so it is kept below the tropoelastin made by activated fibroblasts over weeks; elastic fibres rose after series (Aust 2008 grade A, 6 months; striae RCT NCT03390439 grade A, after 3 and 5 sessions); El-Domyati 2015 (abstract only) saw total elastin fall at the end of 6 bi-weekly sessions: not reproduced (docs/MODEL.md)";
    /// Fraction of the dermal volume that scales with its matrix content.
    matrix_volume_coupling = 0.25, "1", Assumed, 0.3, FRACTION, "",
        "most new matrix densifies the dermis rather than thickening it: Lotfi 2013 measured papillary collagen fibre content (a density) +53 %, which a proportional volume gain would hide, and RF microneedling thickened the dermis not significantly at 6 months (biology.md); a quarter of the relative matrix gain assumed to become volume";

    // --- vascular response -------------------------------------------------------------------
    /// Maximal blood volume relative to rest (full vasodilation).
    vasodilation_max = 7.9, "1", Literature, 0.3, Range::between(2.0, 15.0, "dermal blood fraction at full vasodilation over rest; the source's 7.9 with a factor 2 for site and method"), "JBO2008-LDF (skin module source): forearm dermal blood 0.08 % at rest vs 0.63 % heated to 44 C",
        "maximal vasodilatory capacity";
    /// Time constant of vasodilation following the signal.
    vascular_time_constant = 0.25 * HOUR, "s", Assumed, 0.5, ASSUMED, "",
        "redness appears within minutes of needling";
    /// Oedema (excess interstitial water volume fraction) at maximal signal.
    oedema_max = 0.1, "1", Assumed, 0.5, Range::between(0.01, 0.5, "interstitial water fraction: 1-50 % swelling"), "",
        "10 % tissue swelling at full inflammation";
    /// Half-life of oedema fluid (lymphatic clearance).
    oedema_half_life = 12.0 * HOUR, "s", Assumed, 0.5, ASSUMED, "",
        "swelling after needling resolves within about a day or two (biology.md 3.2)";
    /// e-folding time of visible post-needling erythema/oedema (the downtime clock).
    erythema_decay_time = 1.0 * DAY, "s", Assumed, 0.35, Range::between(0.25 * DAY, 3.0 * DAY, "visible redness after needling resolves within hours to days"), "",
        "order of the measured bounds: red-blood-cell content raised up to 24 h after 0.3-0.75 mm arrays (Hackethal 2021, P), minor erythema resolved within 48 h after ~300 um arrays (PMC4119956, A); no time constant was measured (round2.md B)";
    /// Downtime of the reference session (the erythema clock's anchor).
    erythema_reference_downtime = 2.550140e+05, "s", Calibrated, 0.12, Range::between(1.0 * DAY, 7.0 * DAY, "adverse-event durations reported after microneedling"), "joint calibration, posterior median (docs/CALIBRATION.md; cases R2-C10a, V01-LAX, V01-TEX, V01, V02, V02-PIH, V08-epi, V08, V14)",
        "bands draw it from the joint posterior (docs/CALIBRATION.md), which the trial's SE informs; the spread (SE/mean) serves only a study that overrides the value";
    /// Injury dose of the reference session (V14's set-up: 1.5 mm roller, 15 passes, abdomen).
    erythema_reference_dose = 1.906e-4, "m", Calibrated, 0.0, Range::between(1e-6, 1e-3, "needle-displaced plus bleeding volume per skin area"), "V14 set-up (computed by the injury model for the case's assumed 1.5 mm roller, 15 passes, abdomen)",
        "dose = sum over dermal layers of thickness x (needle-displaced fraction + bleeding fraction x displaced fraction); a derived constant, not a free parameter";

    // --- epidermis ---------------------------------------------------------------------------
    // (Resealing of the opened surface is the closure law's: `crate::params::closure`.)
    /// Time for 95 % repair of injured viable epidermis.
    epidermal_repair_time_95 = 5.0 * DAY, "s", Literature, 0.3, LIT, "Schmitt et al. 2018 PLoS One 13:e0204318 (grade A, 3D human skin model)",
        "epidermis almost completely recovered 5 days after needling";
    /// Epidermal turnover time (relaxation of epidermal thickness).
    epidermal_turnover_time = 28.0 * DAY, "s", Literature, 0.3, Range::between(14.0 * DAY, 60.0 * DAY, "reported transit times 28-56 days, widened for grade C"), "epidermal transit 28 days (lecture notes and clinic pages, grade C; biologyinsights: 40-56 d)",
        "grade C default";
    /// Epidermal thickening per activated fibroblast density (KGF/FGF7 paracrine drive).
    epidermis_fibroblast_drive = 0.3, "1", Assumed, 0.5, ASSUMED, "",
        "activated fibroblasts release KGF (Aust 2011 rat: FGF7 up, direction only)";
    /// Epidermal thickening per relative gain of papillary matrix (dermal support of rete ridges).
    epidermis_matrix_coupling = 4.931585e-01, "1", Calibrated, 0.3, Range::between(0.01, 10.0, CAL), "joint calibration, posterior median (docs/CALIBRATION.md; cases R2-C10a, V01-LAX, V01-TEX, V01, V02, V02-PIH, V08-epi, V08, V14)",
        "fitted jointly with the other calibrated entries by python/calibrate.py (before issue 19: scripts/calibrate_healing.sh on one case)";

    // --- spatial resolutions (unit cell, 3D patch): transport --------------------------------
    /// Effective diffusivity of the inflammatory cytokine (IL-1/TNF-like, ~17-25 kDa) in dermis.
    cytokine_diffusivity = 1.0e-11, "m2/s", Assumed, 0.0, ASSUMED, "",
        "Stokes-Einstein in water at 37 C for a ~2 nm protein gives 1.6e-10; reduced 16x for ECM tortuosity and binding (assumed)";
    /// Effective diffusivity of PDGF-like growth factor (~30 kDa, heparin/ECM binding) in dermis.
    pdgf_diffusivity = 5.0e-12, "m2/s", Assumed, 0.0, ASSUMED, "",
        "as the cytokine, halved for stronger matrix binding (assumed)";
    /// Effective diffusivity of active TGF-beta1 (25 kDa dimer, binds decorin/ECM) in dermis.
    tgfb_diffusivity = 5.0e-12, "m2/s", Assumed, 0.0, ASSUMED, "",
        "as PDGF (assumed)";
    /// Random-motility coefficient of neutrophils and macrophages in dermis.
    leukocyte_motility = 1.0e-13, "m2/s", Assumed, 0.0, ASSUMED, "",
        "leukocyte random motility is of order 1e-13-1e-12 m2/s in gels (order of magnitude, no source read)";
    /// Random-motility coefficient of fibroblasts in dermis.
    fibroblast_motility = 1.0e-14, "m2/s", Assumed, 0.0, ASSUMED, "",
        "an order below leukocytes (assumed); matrix, debris, collagenase, blood and oedema do not move";

    // --- person ------------------------------------------------------------------------------
    /// Type I procollagen output of old (80+ y) relative to young (18-29 y) fibroblasts.
    age_output_ratio = 0.68, "1", Literature, 0.1, Range::between(0.4, 1.0, "Varani 2006 group means +/- 2 SD; old fibroblasts do not make more"), "Varani et al. 2006 Am J Pathol (grade A): 56 +/- 8 vs 82 +/- 16 ng/mL",
        "V15; applied to collagen and elastin output, linear in age between the group midpoints";
    /// Representative age of the young group.
    age_young = 24.0, "year", Literature, 0.0, Range::between(18.0, 29.0, "the young group spans 18-29 y"), "Varani et al. 2006 (grade A): 18-29 y",
        "midpoint";
    /// Representative age of the old group.
    age_old = 85.0, "year", Literature, 0.0, Range::between(80.0, 100.0, "the old group is 80+ y"), "Varani et al. 2006 (grade A): 80+ y",
        "assumed midpoint of an open-ended group";

    // --- outcome mappings --------------------------------------------------------------------
    /// Scar-score gain per unit of visible fill relative to the scar depth (times coverage).
    scar_score_gain = 5.938490e+00, "1", Calibrated, 0.25, Range::between(0.01, 50.0, CAL), "joint calibration, posterior median (docs/CALIBRATION.md; cases R2-C10a, V01-LAX, V01-TEX, V01, V02, V02-PIH, V08-epi, V08, V14)",
        "fitted jointly with the other calibrated entries by python/calibrate.py (before issue 19: scripts/calibrate_healing.sh on V02 alone): each scar type's residual depth falls as exp(-gain x visible fill x coverage / depth)";
    /// Wrinkle-grade gain per unit of visible fill relative to the wrinkle depth: the relative
    /// reduction of a wrinkle grade (Lemperle) is 1 - exp(-gain x visible fill / wrinkle depth).
    wrinkle_score_gain = 2.306190e+00, "1", Calibrated, 0.25, Range::between(0.01, 50.0, CAL), "joint calibration, posterior median (docs/CALIBRATION.md; cases R2-C10a, V01-LAX, V01-TEX, V01, V02, V02-PIH, V08-epi, V08, V14)",
        "fitted jointly with the other calibrated entries on V01 (Ablon 2018: Lemperle global wrinkle score -1.23 grades at day 150 after 4 monthly sessions, on an assumed baseline grade of 3); the scar mapping's form with the wrinkle depth in place of a scar's, without coverage (a wrinkle is a line the channels cross)";
    /// Laxity-grade gain per unit relative change of the reticular dermis's collagen I + elastin:
    /// the relative reduction of a laxity grade (Alexiades-Armenakas) is 1 - exp(-gain x change).
    laxity_score_gain = 1.894285e+00, "1", Calibrated, 0.25, Range::between(0.01, 100.0, CAL), "joint calibration, posterior median (docs/CALIBRATION.md; cases R2-C10a, V01-LAX, V01-TEX, V01, V02, V02-PIH, V08-epi, V08, V14)",
        "fitted jointly with the other calibrated entries on V01-LAX (Ablon 2018: modified Alexiades-Armenakas laxity grade -1.09 at day 150 after 4 monthly sessions, on an assumed baseline grade of 2.5); laxity is read as a property of the deep, load-bearing dermis (coarse collagen I bundles and elastic fibres of the reticular dermis; assumed)";
    /// Texture-grade gain per unit relative change of the papillary dermis's collagen
    /// concentration: the relative reduction of a texture grade is 1 - exp(-gain x change).
    texture_score_gain = 2.848225e+00, "1", Calibrated, 0.25, Range::between(0.01, 100.0, CAL), "joint calibration, posterior median (docs/CALIBRATION.md; cases R2-C10a, V01-LAX, V01-TEX, V01, V02, V02-PIH, V08-epi, V08, V14)",
        "fitted jointly with the other calibrated entries on V01-TEX (Ablon 2018: modified Alexiades-Armenakas texture grade -1.54 at day 150 after 4 monthly sessions, on an assumed baseline grade of 2.5); texture (fine surface irregularity) is read as a property of the surface's support, the papillary dermis (assumed)";
    /// PIH hazard per session at the reference injury dose, at Fitzpatrick type 4.5.
    pih_hazard = 1.048375e-02, "1", Calibrated, 0.5, Range::between(1e-4, 1.0, CAL), "joint calibration, posterior median (docs/CALIBRATION.md; cases R2-C10a, V01-LAX, V01-TEX, V01, V02, V02-PIH, V08-epi, V08, V14)",
        "the joint calibration's binomial likelihoods of both cohorts, with pih_ratio_per_phototype (before: maximum likelihood, scripts/fit_pih.py); the other published cohorts (0/25, 0/30, 0/32) are kept out as predictions";
    /// PIH hazard ratio per Fitzpatrick type step.
    pih_ratio_per_phototype = 8.716800e+00, "1", Calibrated, 0.4, Range::between(2.000000e-01, 2.000000e+01, "the joint calibration's prior: the registry's plausible range before calibration"), "joint calibration, posterior median (docs/CALIBRATION.md; cases R2-C10a, V01-LAX, V01-TEX, V01, V02, V02-PIH, V08-epi, V08, V14)",
        "darker skin carries higher PIH risk (Chu 2021 review, grade B, direction only); the value is informed only by the two calibration cohorts' phototypes (V vs IV) and rests on its prior's upper bound";
    /// Depth of an icepick scar.
    icepick_depth = 1.0e-3, "m", Assumed, 0.3, Range::between(0.3e-3, 3.0e-3, "deep dermis to subcutis"), "Fabbrocini 2010 Dermatol Res Pract (Table 1 after Jacob 2001, grade B)",
        "'extend to the deep dermis or subcutis': 1 mm assumed";
    /// Width of an icepick scar.
    icepick_width = 1.0e-3, "m", Literature, 0.3, Range::between(0.2e-3, 2.0e-3, "Fabbrocini 2010: < 2 mm"), "Fabbrocini 2010 (grade B): < 2 mm", "midpoint";
    /// Depth of a boxcar scar.
    boxcar_depth = 0.3e-3, "m", Literature, 0.3, Range::between(0.1e-3, 0.5e-3, "Fabbrocini 2010: 0.1-0.5 mm"), "Fabbrocini 2010 (grade B): shallow 0.1-0.5 mm", "midpoint";
    /// Width of a boxcar scar.
    boxcar_width = 2.75e-3, "m", Literature, 0.3, Range::between(1.5e-3, 4.0e-3, "Fabbrocini 2010: 1.5-4.0 mm"), "Fabbrocini 2010 (grade B): 1.5-4.0 mm", "midpoint";
    /// Depth of a rolling scar.
    rolling_depth = 0.5e-3, "m", Assumed, 0.3, ASSUMED, "",
        "rolling scars are tethered shallow depressions; no depth read";
    /// Width of a rolling scar.
    rolling_width = 5.0e-3, "m", Literature, 0.3, Range::between(4.0e-3, 10.0e-3, "Fabbrocini 2010: wider than 4-5 mm"), "Fabbrocini 2010 (grade B): wider than 4-5 mm", "lower bound";
    /// Default share of icepick scars among atrophic acne scars.
    icepick_share = 0.6, "1", Literature, 0.0, FRACTION, "clinic page quoting Jacob 2001 (grade C): icepick 60-75 %, boxcar 20-30 %, rolling 15-25 %",
        "default scar mix only; override with [[protocol.scars]]";
    /// Default share of boxcar scars.
    boxcar_share = 0.25, "1", Literature, 0.0, FRACTION, "as icepick_share (grade C)", "default scar mix only";
    /// Default share of rolling scars.
    rolling_share = 0.15, "1", Literature, 0.0, FRACTION, "as icepick_share (grade C)", "default scar mix only";
    /// Depth of a facial wrinkle (fine line) treated by default.
    wrinkle_depth = 0.2e-3, "m", Assumed, 0.4, ASSUMED, "",
        "no wrinkle depth by grade was read; wrinkle_score_gain is calibrated with this depth (V01), so a protocol's wrinkle_depth_mm scales the fill relative to it";
    /// Depth of the dermal deficit of a stretch mark (stria) treated by default: how much thinner
    /// the dermis is under the stria than beside it, the depth the new matrix has to fill.
    striae_depth = 0.52e-3, "m", Literature, 0.3, Range::between(0.1e-3, 1.3e-3, "the dermal deficits the ultrasound ranges allow (normal 1.07-1.65 mm, striae 0.35-1.33 mm)"), "high-resolution ultrasound of striae, Skin Res Technol 2020;26(4):465-475, doi:10.1111/srt.12832 (n = 10, 20/30 MHz; abstract read)",
        "dermis 1.07-1.65 mm thick in normal skin and 0.35-1.33 mm within striae (ranges over subjects, no paired values in the abstract): the difference of the midpoints, 1.36 - 0.84 mm = 0.52 mm";
    /// Width of a stretch mark treated by default.
    striae_width = 3.0e-3, "m", Assumed, 0.3, Range::between(1.0e-3, 10.0e-3, "linear bands of about 1 mm to 1 cm (assumed)"), "",
        "no stria width in mm was read (Dermatol Ther 2022 e15212 measured the largest stria's cross-section; its numbers are not in the abstract); with channels about 0.6 mm apart the coverage w/(w + s) is 0.83 at 3 mm and 0.63-0.94 over 1-10 mm";
}

impl Group for HealingParams {
    const NAME: &'static str = "healing";
    fn entries() -> &'static [Entry] {
        ENTRIES
    }
    fn get(&self, name: &str) -> Option<f64> {
        HealingParams::get(self, name)
    }
    fn get_mut(&mut self, name: &str) -> Option<&mut f64> {
        HealingParams::get_mut(self, name)
    }
}

/// Looks up the metadata of a parameter.
pub fn info(name: &str) -> Option<&'static ParamInfo> {
    TABLE.iter().find(|p| p.name == name)
}

impl HealingParams {
    /// A sample of the uncertain parameters, for one uncertainty-band draw:
    ///
    /// * every entry with spread σ is multiplied by `exp(σ·z)`, z standard normal, drawn in
    ///   table order from `rng` (the log-normal perturbation of the registry's spreads);
    /// * then the entries of the joint calibration's posterior ([`super::posterior::bundled`])
    ///   take one posterior draw, chosen uniformly by the next number of `rng`, unless this set
    ///   overrides them (a value other than the registry's): an overridden entry keeps the
    ///   perturbation around its own value.
    ///
    /// The posterior-predictive bands therefore vary the calibrated entries jointly, as the
    /// data allow, and perturb only the others. If the bundled posterior does not match the
    /// registry (a build defect that the test suite catches), every entry is perturbed.
    pub fn sample(&self, rng: &mut impl rand::Rng) -> HealingParams {
        use rand::RngExt;
        use rand_distr::{Distribution, StandardNormal};
        let mut out = self.clone();
        for p in TABLE {
            let z: f64 = StandardNormal.sample(rng);
            if p.spread > 0.0
                && let Some(v) = out.get_mut(p.name)
            {
                *v *= (p.spread * z).exp();
            }
        }
        if let Ok(post) = super::posterior::bundled() {
            let row = &post.draws[rng.random_range(0..post.draws.len())];
            for (name, &value) in post.parameters.iter().zip(row) {
                let short = &name["healing.".len()..];
                if let (Some(info), Some(own)) = (info(short), self.get(short))
                    && own == info.value
                    && let Some(v) = out.get_mut(short)
                {
                    *v = value;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_unique_and_values_finite() {
        let mut names = std::collections::BTreeSet::new();
        for p in TABLE {
            assert!(names.insert(p.name), "duplicate {}", p.name);
            assert!(p.value.is_finite() && p.value > 0.0, "{}", p.name);
            if p.kind != ParamKind::Assumed {
                assert!(!p.source.is_empty(), "{} needs a source", p.name);
            }
        }
        let d = HealingParams::default();
        for p in TABLE {
            assert_eq!(d.get(p.name), Some(p.value));
        }
    }
}
