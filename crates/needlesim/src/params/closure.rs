//! Channel closure: how fast the open cross-section of a microchannel shrinks after needling.
//! **The one closure law of the program**: the delivery model ([`crate::delivery`]), the
//! healing model's barrier resealing ([`crate::healing`], rate `ln 2 / t½`) and through both
//! the planner (numbing, downtime, healing predictor) call [`ClosureParams::half_life_s`] /
//! [`Closure`]; no other module holds closure constants.
//!
//! ## Law
//!
//! The open area of a channel, relative to its area right after withdrawal, decays with a
//! half-life that depends on the current occlusion state, so for piecewise-constant occlusion
//!
//! ```text
//! a(t) = 2^(−∫₀ᵗ ds / t½(s))       radius factor = √a(t)
//! t½ = t½,occ · (d / d_ref)^β · f_age(age) · f_photo(phototype) · f_site(site)    in vivo
//! t½ = ∞                                                                        ex vivo
//! ```
//!
//! The barrier counts as *recovered* when `a` falls below [`ClosureParams::recovered_fraction`]
//! (10 %: an impedance or TEWL reading within the noise of baseline), i.e. after
//! `t½ · log2(10) = 3.32 t½` for constant occlusion.
//!
//! ## Parameters and sources
//!
//! * Unoccluded: **calibrated** on VT-05 (Gupta et al. 2011, J Control Release 152:148: without
//!   occlusion all microneedle sites recovered barrier within 2 h, human volunteers). With
//!   t½ = 0.25 h at 500 µm depth and age 25, recovery takes 0.83 h at 500 µm and ≤ 2 h for any
//!   channel up to 1.5 mm deep at ages up to 35 in light skin (Bal et al. 2008: irritation < 2 h,
//!   deeper 200 → 400 µm needles raised TEWL more).
//! * Occlusive patch: **calibrated** on the human micropore-lifetime study PMC8259462
//!   (n = 35, occluded sites, impedance over 3 days): measured closure times 58.3 ± 16.8 h
//!   (volar forearm), 60.3 ± 14.7 h (upper arm), 63.1 ± 13.1 h (abdomen), mean 60.6 h. With the
//!   10 % criterion (3.32 half-lives) at age 30 this gives t½ = 16 h at age 25. (The study's own
//!   model predicted half-lives of 20-26 h; its closure criterion is evidently looser than ours,
//!   so the measured closure time, not the model half-life, is the calibration target: VT-05b.)
//!   Then a(48 h) = 0.16 under a patch, consistent with MN-enhanced naltrexone delivery
//!   sustained ≥ 48 h under a patch (VT-09, Wermeling 2008) and with hydrogel-MN micropores
//!   still open at 24 h (PMC4119956).
//! * Serum film (partial occlusion): **assumed** geometric mean of the two, t½ = 2.0 h. No
//!   direct measurement was found.
//! * Depth exponent β = 0.55: **derived** from Kalluri et al. 2011 (AAPS J 13:473, PMC3160154,
//!   Dermaroller on hairless rat): pores closed by 12 h for 370 µm and by 18 h for 770 µm
//!   needles, ln(18/12)/ln(770/370) = 0.55.
//! * Age: **derived** from Ghadially et al. 1995 (J Clin Invest 95:2281, PMC295841): after tape
//!   stripping the barrier recovered 50 % at 24 h in young (20-30 y) vs 15 % in aged (> 80 y)
//!   subjects. As first-order recovery, time constants 34.6 h vs 148 h, a ratio of 4.27 between
//!   25 and 85 years, interpolated log-linearly: f_age = 4.27^((age − 25)/60), 1 below 25. The
//!   direction is confirmed for micropores themselves by Kelchen et al. 2016 (J Control Release
//!   225:294, 16 subjects 77 ± 7 y vs 12 subjects 26 ± 3 y, 500/750 µm MN: closure significantly
//!   slower in the elderly, occluded and unoccluded; no ratio in the abstract) and by the
//!   Donnelly group's older-people study (PMC5830461: slower TEWL recovery after > 65 y).
//! * Phototype: **derived** from the micropore-lifetime literature, which is what this law
//!   describes (channels through the viable epidermis, not stratum-corneum lipid repair).
//!   Ogunjimi et al. 2020 (Sci Rep 10:18963, PMC7609754, n = 111, upper arm, occluded,
//!   impedance over 4 days): lifetime 66.5 ± 19.5 h in Black vs 50.2 ± 2.6 h in White subjects
//!   (ratio 1.32, significant), Latino 61.1 ± 16.1 h (1.22), and longer lifetime with darker
//!   skin by colorimetry (L*). PMC8259462 (n = 35) saw the same direction at the abdomen (not
//!   significant). So darker skin closes **slower**: f_photo = 1 for I-III, 1.22 for IV (the
//!   Latino/White ratio as a proxy: self-identified ethnicity, not phototype), 1.32 for V-VI.
//!   The earlier factor from Reed et al. 1995 (tape stripping: types V/VI re-formed their
//!   stratum-corneum lipid barrier *faster*) describes a different mechanism and is no longer
//!   used for channels (round2.md F: "a single healing-speed knob cannot reproduce both").
//! * Site: **derived** from PMC8259462 (occluded closure times by site, differences not
//!   significant): abdomen 63.1 h against the mean of the three sites 60.6 h, f_site = 1.04;
//!   every other site 1 (**assumed**: no micropore lifetime measured on the face, neck, hands,
//!   thigh, back or scalp; forearm and upper arm, which were measured, are not sites here).
//! * Ex vivo (Franz cell): no healing, so no closure clock (t½ = ∞). Excised skin does shrink
//!   pores elastically: TEWL of dermatomed human skin after polymer microneedles drops sharply
//!   and then recovers slowly and **incompletely** (Gomaa et al. 2010, Toxicol In Vitro
//!   24:1971: channel contraction by tissue elasticity; within minutes to hours, no numbers
//!   read). The open area then relaxes to a residual fraction,
//!   `a(t) = a_res + (1 − a_res) exp(−t / τ_el)`, with **assumed** `a_res` = 0.3 ("incomplete")
//!   and `τ_el` = 0.5 h ("minutes to hours").

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::skin::{Person, Site};
use crate::units::HOUR;

/// What covers the treated skin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Occlusion {
    /// Open to the air.
    None,
    /// A film of serum / gel / cream (partial occlusion).
    Serum,
    /// An occlusive patch or dressing.
    Patch,
}

impl Occlusion {
    pub fn name(self) -> &'static str {
        match self {
            Occlusion::None => "none",
            Occlusion::Serum => "serum",
            Occlusion::Patch => "patch",
        }
    }

    pub fn from_name(s: &str) -> Option<Occlusion> {
        match s {
            "none" => Some(Occlusion::None),
            "serum" => Some(Occlusion::Serum),
            "patch" => Some(Occlusion::Patch),
            _ => None,
        }
    }
}

/// Where the channels are: living skin heals them, excised skin (a Franz cell) does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Setting {
    InVivo,
    ExVivo,
}

impl ClosureParams {
    /// Open-area half-life for an occlusion state, channel depth, person and site in living
    /// skin, s.
    pub fn half_life_s(&self, occ: Occlusion, depth_m: f64, person: &Person, site: Site) -> f64 {
        self.half_life_for_s(occ, depth_m, person.age_years, person.phototype, site)
    }

    /// [`Self::half_life_s`] from age and phototype (sex plays no part).
    pub fn half_life_for_s(
        &self,
        occ: Occlusion,
        depth_m: f64,
        age_years: f64,
        phototype: u8,
        site: Site,
    ) -> f64 {
        let base = match occ {
            Occlusion::None => self.half_life_none_s,
            Occlusion::Serum => self.half_life_serum_s,
            Occlusion::Patch => self.half_life_patch_s,
        };
        base * self.depth_factor(depth_m)
            * self.age_factor(age_years)
            * self.phototype_factor(phototype)
            * self.site_factor(site)
    }

    /// Half-life in a setting: in vivo as [`Self::half_life_s`]; ex vivo no healing (∞).
    pub fn half_life_in_s(
        &self,
        setting: Setting,
        occ: Occlusion,
        depth_m: f64,
        person: &Person,
        site: Site,
    ) -> f64 {
        match setting {
            Setting::InVivo => self.half_life_s(occ, depth_m, person, site),
            Setting::ExVivo => f64::INFINITY,
        }
    }

    /// Barrier resealing rate of unoccluded channels `depth_m` deep, 1/s (`ln 2 / t½`): what the
    /// healing model's open-surface variable decays with.
    pub fn reseal_rate_per_s(
        &self,
        depth_m: f64,
        age_years: f64,
        phototype: u8,
        site: Site,
    ) -> f64 {
        std::f64::consts::LN_2
            / self.half_life_for_s(Occlusion::None, depth_m, age_years, phototype, site)
    }

    pub fn site_factor(&self, site: Site) -> f64 {
        match site {
            Site::Abdomen => self.site_factor_abdomen,
            _ => 1.0,
        }
    }

    pub fn depth_factor(&self, depth_m: f64) -> f64 {
        (depth_m.max(1e-6) / self.ref_depth_m).powf(self.depth_exponent)
    }

    pub fn age_factor(&self, age: f64) -> f64 {
        let x = ((age - self.ref_age_years) / 60.0).max(0.0);
        self.age_factor_60y.powf(x)
    }

    pub fn phototype_factor(&self, phototype: u8) -> f64 {
        match phototype {
            0..=3 => 1.0,
            4 => self.phototype_factor_iv,
            _ => self.phototype_factor_v_vi,
        }
    }
}

/// The closure of one channel population: occlusion segments in time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Closure {
    /// `(start time s, occlusion, half-life s)`, sorted by start, first at 0.
    pub segments: Vec<(f64, Occlusion, f64)>,
    pub recovered_fraction: f64,
    /// Elastic contraction of excised skin's channels: (residual open fraction, time constant
    /// s); `None` in living skin (the healing clock of `segments` applies).
    #[serde(default)]
    pub elastic: Option<(f64, f64)>,
}

impl Closure {
    /// Builds the closure for channels `depth_m` deep in `person`, with the occlusion
    /// changing at the given times (`(t, occlusion)`, any order; state before the first is
    /// unoccluded).
    pub fn new(
        params: &ClosureParams,
        depth_m: f64,
        person: &Person,
        site: Site,
        changes: &[(f64, Occlusion)],
    ) -> Closure {
        let mut ch: Vec<(f64, Occlusion)> = changes.to_vec();
        ch.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut segments = vec![(
            0.0,
            Occlusion::None,
            params.half_life_s(Occlusion::None, depth_m, person, site),
        )];
        for (t, o) in ch {
            let hl = params.half_life_s(o, depth_m, person, site);
            if t <= 0.0 {
                segments[0] = (0.0, o, hl);
            } else {
                segments.retain(|s| s.0 < t);
                segments.push((t, o, hl));
            }
        }
        Closure {
            segments,
            recovered_fraction: params.recovered_fraction,
            elastic: None,
        }
    }

    /// Channels in excised skin: no healing; the open area contracts elastically to a residual
    /// fraction (see the module notes).
    pub fn ex_vivo(params: &ClosureParams) -> Closure {
        Closure {
            segments: vec![(0.0, Occlusion::None, f64::INFINITY)],
            recovered_fraction: params.recovered_fraction,
            elastic: Some((
                params.ex_vivo_residual_open_fraction,
                params.ex_vivo_collapse_time_s,
            )),
        }
    }

    /// Open-area fraction at time `t` s after needling (1 at t = 0).
    pub fn open_area(&self, t: f64) -> f64 {
        if t <= 0.0 {
            return 1.0;
        }
        if let Some((residual, tau)) = self.elastic {
            return residual + (1.0 - residual) * (-t / tau).exp();
        }
        let mut halvings = 0.0;
        for (i, &(t0, _, hl)) in self.segments.iter().enumerate() {
            if t0 >= t {
                break;
            }
            let t1 = self.segments.get(i + 1).map_or(t, |s| s.0.min(t));
            halvings += (t1 - t0) / hl;
        }
        (-halvings * std::f64::consts::LN_2).exp()
    }

    /// Time scale on which the open area changes at `t`, s: the e-folding time of the current
    /// healing segment, or of the elastic contraction while it lasts (∞ once it is over).
    pub fn change_time_s(&self, t: f64) -> f64 {
        if let Some((_, tau)) = self.elastic {
            return if t < 10.0 * tau { tau } else { f64::INFINITY };
        }
        let hl = self
            .segments
            .iter()
            .rev()
            .find(|s| s.0 <= t)
            .map_or(f64::INFINITY, |s| s.2);
        hl / std::f64::consts::LN_2
    }

    /// Radius factor √a(t).
    pub fn radius_factor(&self, t: f64) -> f64 {
        self.open_area(t).sqrt()
    }

    /// First time the barrier counts as recovered, s (bisection on the monotone a(t)).
    pub fn recovery_time_s(&self) -> f64 {
        let target = self.recovered_fraction;
        if self.elastic.is_some_and(|(residual, _)| residual >= target) {
            return f64::INFINITY;
        }
        let mut hi = 3600.0;
        while self.open_area(hi) > target && hi < 1e9 {
            hi *= 2.0;
        }
        let mut lo = 0.0;
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            if self.open_area(mid) > target {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        hi
    }
}

/// Parameters of the closure law (see the module documentation for sources).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClosureParams {
    /// Open-area half-life without occlusion at the reference depth and age, s (0.25 h).
    pub half_life_none_s: f64,
    /// ... under a serum film, s (2.0 h, assumed).
    pub half_life_serum_s: f64,
    /// ... under an occlusive patch, s (16 h).
    pub half_life_patch_s: f64,
    /// Reference channel depth, m (500 µm).
    pub ref_depth_m: f64,
    /// Depth exponent β (0.55).
    pub depth_exponent: f64,
    /// Age below which the age factor is 1, years (25).
    pub ref_age_years: f64,
    /// Age factor at ref_age + 60 years (4.27).
    pub age_factor_60y: f64,
    /// Half-life factor for phototype IV (1.22, Ogunjimi 2020 Latino/White lifetime).
    pub phototype_factor_iv: f64,
    /// Half-life factor for phototypes V-VI (1.32, Ogunjimi 2020 Black/White lifetime).
    pub phototype_factor_v_vi: f64,
    /// Half-life factor for the abdomen (1.04, PMC8259462); other sites 1.
    pub site_factor_abdomen: f64,
    /// Open-area fraction below which the barrier counts as recovered (0.1).
    pub recovered_fraction: f64,
    /// Ex vivo: open-area fraction the channels relax to by elastic contraction (0.3, assumed).
    pub ex_vivo_residual_open_fraction: f64,
    /// Ex vivo: time constant of that contraction, s (0.5 h, assumed).
    pub ex_vivo_collapse_time_s: f64,
}

impl Default for ClosureParams {
    fn default() -> Self {
        ClosureParams {
            half_life_none_s: 0.25 * HOUR,
            half_life_serum_s: 2.0 * HOUR,
            half_life_patch_s: 16.0 * HOUR,
            ref_depth_m: 500e-6,
            depth_exponent: 0.55,
            ref_age_years: 25.0,
            age_factor_60y: 4.27,
            phototype_factor_iv: 1.22,
            phototype_factor_v_vi: 1.32,
            site_factor_abdomen: 1.04,
            recovered_fraction: 0.1,
            ex_vivo_residual_open_fraction: 0.3,
            ex_vivo_collapse_time_s: 0.5 * HOUR,
        }
    }
}
