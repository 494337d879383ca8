//! The `hair` group: the scalp's follicles, their cycle, the wound signal and minoxidil
//! (`crate::hair`, issue 20). Sources: `../shared/literature/round2.md` section A (ids A1-A4
//! below) and the validation cases under `validation/hair/`.
//!
//! Grades in the sources: P primary, S secondhand, D derived here, W weak (never a target).
//! Every entry is literature (with its source), calibrated (with the case it was fitted to) or
//! assumed (with the reason); `docs/MODEL.md` ("Hair") lists what is still assumed and why.

use super::Range;
use crate::registry::group;

group! {
    /// Hair model constants (`crate::hair`).
    HairParams, "hair", HAIR_ENTRIES;
    /// Scalp hair density of adults without hair loss at 30 years, hairs/cm².
    density_per_cm2 = 223.0, "1/cm2", Literature,
        Range::between(150.0, 300.0, "Barman's range 175-300/cm2; Thai punch biopsies ~163/cm2 (A4.2, D)"), true,
        "Barman JM, Astore I, Pecoraro V. J Invest Dermatol 1965;44:233-6 via BioNumbers 116431 (A4.1, S): 223 +/- 4 (SE) hairs/cm2", "";
    /// Fractional fall of follicle density per decade of age above 30 years.
    density_decline_per_decade = 0.06, "1", Assumed,
        Range::between(0.0, 0.12, "no decline to twice the weak source's slope"), true,
        "",
        "direction P (Leerunyakul & Suchonwanit 2020, A4.6: density falls from the 20s to the 60s, values not in abstract); size from a weak source (A4.8, W: 615 -> 435/cm2 from the 3rd to the 8th decade, about 6 %/decade); no sex effect (A4.2, A4.5)";
    /// Anagen share of the hairs of a normal scalp.
    anagen_fraction = 0.919, "1", Literature,
        Range::between(0.85, 0.95, "trichogram and biopsy series 88-95 %"), true,
        "Visessiri et al. (A4.2, P, n = 90): anagen:telogen 91.9:7.9; Pattanaprichakul 2023 (A4.3, P): 91.9:8.1; white cadaver series 92.2 % (A4.4, S)", "";
    /// Catagen/telogen duration ratio (the share of follicles in each phase is proportional to
    /// its duration in a steady population).
    catagen_telogen_ratio = 0.258, "1", Literature,
        Range::between(0.1, 0.5, "catagen 1-3 weeks against telogen 2-4 months"), true,
        "A4.4 (S): anagen 92.2 %, catagen 1.6 %, telogen 6.2 % -> 1.6/6.2 (D)", "";
    /// Telogen duration, days.
    telogen_days = 90.0, "day", Assumed,
        Range::between(60.0, 120.0, "2-4 months"), true, "",
        "the classic trichogram value of about 3 months (Kligman 1959, J Invest Dermatol 33:307; not re-read for this project); anagen duration then follows from the anagen fraction (about 3.2 years)";
    /// Kenogen (empty follicle between shedding and regrowth) of a normal scalp, days.
    kenogen_days = 14.0, "day", Assumed,
        Range::between(0.0, 60.0, "none to two months"), true, "",
        "a short latency in normal scalp; Courtois 1994 (A4.7, P, qualitative) found it longer in AGA";
    /// Vellus share of the follicles of a normal scalp.
    vellus_fraction = 0.10, "1", Literature,
        Range::between(0.05, 0.15, "T:V 7-15 in normal-scalp biopsies"), true,
        "Visessiri et al. (A4.2, P): T:V 8.9:1 -> 1/9.9 (D); A4.3 11.1, A4.4 15:1", "";
    /// Anagen duration of a vellus (miniaturised) follicle, days.
    vellus_anagen_days = 90.0, "day", Assumed,
        Range::between(30.0, 240.0, "one to eight months"), true, "",
        "miniaturised follicles cycle in months, not years (AGA shortens anagen: Courtois 1994, A4.7)";
    /// Shaft diameter of a terminal scalp hair, µm.
    terminal_diameter_um = 70.0, "um", Assumed,
        Range::between(50.0, 100.0, "scalp terminal hairs"), true, "",
        "no diameter value in the literature pack (A4.6 found it unchanged by age and sex); a mid value of the usual 50-100 um";
    /// Shaft diameter of a vellus hair, µm.
    vellus_diameter_um = 25.0, "um", Assumed,
        Range::between(10.0, 30.0, "vellus hairs are 30 um or thinner by definition"), true, "",
        "below the usual 30 um vellus threshold";
    /// Vellus share of follicles at the most severe grade (Norwood VII, Ludwig III).
    aga_vellus_fraction_max = 0.6, "1", Assumed,
        Range::between(0.2, 0.9, "from a T:V of 4 to mostly vellus"), true, "",
        "balding scalp has T:V below 4:1; mostly miniaturised at the top grades";
    /// Fractional shortening of terminal anagen at the most severe grade.
    aga_anagen_shortening = 0.7, "1", Assumed,
        Range::between(0.0, 0.95, "none to a twentieth of normal"), true, "",
        "AGA shortens anagen in a growing fraction of hairs (Courtois 1994, A4.7, qualitative)";
    /// Extra kenogen of terminal follicles at the most severe grade, days.
    aga_kenogen_days = 240.0, "day", Assumed,
        Range::between(30.0, 720.0, "one month to two years"), true, "",
        "AGA lengthens the latency between shedding and regrowth (Courtois 1994, A4.7) in terminal and vellus cycles (Guarrera & Rebora, Dermatology 2005;210:18-20); sized so that kenogen runs from about 3 months at Norwood III to 8 months at VII, as the 4 to 7 months of kenogen in balding men followed for 14 years (Rebora & Guarrera, Dermatology 2002;205:108-110; grades not given, so the grade mapping is assumed); the share of empty follicles it gives at Ludwig II (24 %) is checked against the 16-22 % of those papers (case R2-C06, a prediction); drug regrowth re-activates these dormant follicles (Van Neste, Plast Aesthet Res 2021;8:16; Sinclair, Exp Dermatol 2016;25:424)";
    /// Probability per cycle that a terminal follicle miniaturises, at the most severe grade.
    aga_miniaturisation_per_cycle = 0.1, "1", Assumed,
        Range::between(0.0, 0.5, "slow progression over cycles"), true, "",
        "AGA progresses over years of cycles; sets the slow loss of an untreated scalp";
    /// Depth of the isthmus (sebaceous duct level) below the surface, mm.
    isthmus_depth_mm = 0.5, "mm", Assumed,
        Range::between(0.3, 1.0, "upper dermis"), true, "",
        "the sebaceous duct opens into the upper third of the follicle";
    /// Depth of the bulge (arrector pili insertion; telogen germ) below the surface, mm.
    bulge_depth_mm = 1.0, "mm", Assumed,
        Range::between(0.5, 1.5, "mid dermis"), true, "",
        "the bulge sits at the arrector pili insertion below the sebaceous gland, in the mid dermis; telogen follicles end near it";
    /// Depth of a terminal anagen bulb (dermal papilla) below the surface, mm.
    bulb_depth_terminal_mm = 4.0, "mm", Assumed,
        Range::between(2.5, 6.0, "in the subcutis"), true, "",
        "terminal anagen bulbs lie in the subcutaneous fat; scalp follicles about 4 mm long (weak sources); scalp biopsies are taken 0.8-1 cm deep to include them";
    /// Depth of a vellus anagen bulb below the surface, mm.
    bulb_depth_vellus_mm = 1.2, "mm", Assumed,
        Range::between(0.6, 2.0, "mid to deep dermis"), true, "",
        "vellus follicles reach only the dermis";
    /// Outer radius of a follicle (outer root sheath), µm: a channel closer than this plus its
    /// own radius hits the follicle.
    follicle_radius_um = 50.0, "um", Assumed,
        Range::between(20.0, 100.0, "vellus to terminal"), true, "",
        "terminal follicles about 0.1 mm across";
    /// Share of anagen follicles whose bulb a channel transects that are pushed into catagen.
    bulb_hit_catagen_fraction = 0.5, "1", Assumed,
        Range::between(0.0, 1.0, "a fraction"), true, "",
        "transected bulbs stop growing (dystrophic catagen); no measurement of the share";
    /// Decay length of the wound signal beyond the channel tips, mm.
    signal_length_mm = 0.5, "mm", Assumed,
        Range::between(0.1, 1.5, "diffusion length of a cytokine with a half-life of about an hour"), true, "",
        "sqrt(D t) for D ~ 1e-10 m2/s and t ~ 1 h gives about 0.6 mm";
    /// Time constant of each of the two stages from the healing model's cytokine to the
    /// follicle's Wnt/beta-catenin activation, days.
    wnt_delay_days = 1.44, "day", Calibrated,
        Range::between(1.0, 12.0, "the peak within days 3-9"), true,
        "R2-C05 (Jin GR et al. Skin Pharmacol Physiol 2023;36:27-37, mice: TNF-alpha, Wnt and VEGF peak on day 6 after microneedling): fitted jointly with the other hair gains by tools/fit_hair.py (crates/needlesim/data/hair_fit.json); the peak comes back on day 6.0", "";
    /// Telogen/kenogen -> anagen rate gain per unit of Wnt activation.
    wound_anagen_gain = 3.808, "1", Calibrated,
        Range::between(0.0, 100.0, "none to strong"), true,
        "R2-C01a (Aggarwal K et al. Int J Trichology 2020;12:156-163: +10.8 hairs/cm2 three months after 4 monthly sessions of microneedling alone; 1.5 mm roller, Norwood IV, 35 y assumed): fitted jointly by tools/fit_hair.py (crates/needlesim/data/hair_fit.json)", "";
    /// Extra wound signal of platelet-rich plasma, fraction of the needling signal.
    prp_signal_gain = 0.5745, "1", Calibrated,
        Range::between(0.0, 5.0, "none to five times"), true,
        "R2-C01b (Aggarwal 2020: +14.6 hairs/cm2 on the needling + PRP half, n.s. against +10.8): fitted jointly by tools/fit_hair.py (crates/needlesim/data/hair_fit.json)", "";
    /// Largest telogen/kenogen -> anagen rate gain of minoxidil at saturating exposure.
    mx_effect_max = 9.573, "1", Calibrated,
        Range::between(0.0, 100.0, "none to strong"), true,
        "R2-C02a (Hoffmann R. Dermatology 2005;211:54-62: +21.3 hairs/cm2 after 3 months of twice-daily 5 % minoxidil alone; Norwood III, 35 y assumed): fitted jointly by tools/fit_hair.py (crates/needlesim/data/hair_fit.json)", "";
    /// Follicle exposure at half the largest effect, in units of the exposure of twice-daily 5 %
    /// solution on intact scalp.
    mx_half_effect_exposure = 1.0, "1", Assumed,
        Range::between(0.1, 10.0, "a factor 10 either way"), true, "",
        "5 % acts sooner than 2 % (A2.7, S): the standard dose does not saturate the effect";
    /// Time constant of the follicle's minoxidil exposure, days.
    mx_tissue_days = 1.3, "day", Literature,
        Range::between(0.3, 4.0, "hours to days"), true,
        "minoxidil label text (A2.3, S): about 95 % of absorbed drug eliminated within 4 days -> half-life about 0.9 d, time constant 1.3 d (D)", "";
    /// Effective contact time of one application of a scalp solution, h (the vehicle
    /// evaporates; after it the drug no longer permeates).
    mx_contact_h = 0.162, "h", Calibrated,
        Range::between(0.01, 12.0, "minutes to half a day"), true,
        "R2-C03 (Franz 1985: 1.6-3.9 % of applied 5 % minoxidil in urine through intact scalp): 2.75 %, the midpoint, through the intact and follicular routes (1 - exp(-k tc / h)); fitted jointly by tools/fit_hair.py (crates/needlesim/data/hair_fit.json)", "";
    /// Radius of a follicle's opening (infundibulum), µm: the follicular route's area.
    orifice_radius_um = 35.0, "um", Assumed,
        Range::between(10.0, 80.0, "vellus to terminal openings"), true, "",
        "a terminal hair (70 um) with a thin gap around it";
    /// Permeability of the follicular route over the openings, relative to the intact stratum
    /// corneum.
    follicular_kp_factor = 10.0, "1", Assumed,
        Range::between(1.0, 100.0, "no gain to a hundred"), true, "",
        "follicular deposition of minoxidil 7-10 times control with carriers (A2.4, A2.5; not microneedling); none measured for a plain solution";
}
