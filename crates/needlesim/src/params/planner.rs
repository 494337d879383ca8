//! The planner's default constants (`crate::plan` reads them from here; the `planner` group of
//! the registry, [`super::PlannerParams`], makes the settable ones overridable).

/// Preparation (cleansing, photographs) per visit, min (the scenario default; assumed).
pub const PREPARATION_MIN: f64 = 10.0;

/// Clean-up and post-treatment serum per visit, min (the scenario default; assumed).
pub const AFTERCARE_MIN: f64 = 5.0;

/// Depth settings are chosen on this grid, mm.
pub const STEP_MM: f64 = 0.05;

/// Upper band of PIH risk accepted for phototypes IV-VI or earlier PIH, unless the patient
/// file sets `goals.max_pih_risk_pct`. **Planner assumption**: no source gives an acceptable
/// PIH risk. It sits just above the one PIH incidence after microneedling alone in phototypes
/// IV-V in the project's literature (Dogra 2014: 5 of 30 patients, 17 %, 5 monthly roller
/// sessions for acne scars; `validation/cases.json` V02), so that the planner accepts a series no
/// riskier than that trial's, by the model's upper band.
pub const MAX_PIH_RISK_GENTLE: f64 = 0.2;

/// Follow-up after the last session at which the result is read, days.
pub const FOLLOW_UP_DAYS: f64 = 90.0;

/// Parameter samples for the bands of reported protocols.
pub const BAND_SAMPLES: u32 = 16;

/// Most depth settings the optimiser tries per zone and concern.
pub const MAX_SETTINGS: usize = 4;

/// Dermis left below the deepest channel (mean + 2 per-puncture SD), mm. **Planner
/// assumption** (no source gives a margin): the deep vascular plexus and cutaneous nerves lie at
/// the dermis-subcutis border, and one person's dermis can differ from the modelled mean by a
/// few tenths of a millimetre, so the planner keeps 0.2 mm of dermis below the deepest channel.
pub const MIN_DERMIS_BELOW_MM: f64 = 0.2;

/// A zone's session may wait up to this many days to share a visit with another zone
/// (**planner assumption**: a week keeps intervals within the published 4-8 weeks).
pub const VISIT_PACK_DAYS: f64 = 7.0;
