//! Recommendations per zone and concern: depth range from the cited table, checked against the
//! person's modelled skin; passes; sessions and interval; numbing; products; session time; and
//! the dated schedule.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::date::Date;
use super::evidence::Grade;
pub use super::numbing::{LabelNumbing, NumbingModel, NumbingPlan};
use super::patient::{Blackout, ConcernKind, DeviceChoice, Patient, PatientConcern, PatientZone};
use super::rules::{Category, Deferral, Finding};
use super::tables::{self, DepthRange, DepthRow, SessionRow};
use crate::device::{self, Device, Pen, Roller, Shape, Technique, Zone};
use crate::injury::{self, InjuryParams};
pub use crate::params::planner::STEP_MM;
use crate::params::{DeviceParams, SkinParams};
use crate::skin::{self, LayerKind, Person, Site, SkinColumn, ThicknessOverrides};
use crate::units::{CM2, MM};

/// How a setting sits in this person's skin.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DepthCheck {
    /// Device setting (pen) or needle length (roller), mm.
    pub setting_mm: f64,
    /// Mean effective depth after tenting (`injury::mean_depth`), mm.
    pub mean_depth_mm: f64,
    /// Deep end of the channels: mean + 2 per-puncture SD, mm.
    pub deep_end_mm: f64,
    /// Dermal-epidermal junction depth, mm.
    pub dej_mm: f64,
    /// Bottom of the dermis, mm.
    pub dermis_bottom_mm: f64,
    /// Layer the mean depth ends in.
    pub reaches: LayerKind,
    /// Whether the deep end stays within the dermis.
    pub within_dermis: bool,
}

/// The modelled skin of a zone, mm.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SkinSummary {
    pub epidermis_mm: f64,
    pub dermis_mm: f64,
    pub skin_mm: f64,
    /// Skin (epidermis + dermis) of a 35-year-old of the same sex at this site, mm.
    pub reference_skin_mm: f64,
    /// "thin" or "thick" (which column of the depth chart applies).
    pub chart_column: String,
}

/// A product recommendation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProductAdvice {
    /// When: "weeks before", "during and after", "after", "between sessions".
    pub when: String,
    pub what: String,
    pub grade: Grade,
    pub sources: Vec<String>,
}

/// The recommendation for one concern in one zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConcernPlan {
    pub concern: PatientConcern,
    /// The table row used.
    pub row: DepthRow,
    /// The cited range for this person's column (thin or thick skin), mm.
    pub cited_mm: DepthRange,
    /// The range after checks and adaptations, mm.
    pub range_mm: DepthRange,
    /// The suggested setting, mm.
    pub setting_mm: f64,
    /// Every change from the cited range, and why.
    pub adjustments: Vec<String>,
    pub check: DepthCheck,
    pub sessions: u32,
    pub interval_days: u32,
    pub session_basis: SessionRow,
    /// Downtime after one session from the manufacturer chart (grade C), days.
    pub chart_downtime_days: [f64; 2],
    pub products: Vec<ProductAdvice>,
}

/// Whether and when a zone is treated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ZoneStatus {
    /// Treat from the first available date.
    Treat,
    /// Treat, with precautions (rule ids).
    TreatWithPrecautions { rules: Vec<String> },
    /// Held back until a date (rule ids).
    DeferredUntil { date: Date, rules: Vec<String> },
    /// Held back until conditions are met.
    DeferredUntilCondition {
        conditions: Vec<String>,
        rules: Vec<String>,
    },
    /// Do not treat (rule ids); reconsider when the conditions are met.
    Excluded {
        reconsider: Vec<String>,
        rules: Vec<String>,
    },
}

/// The plan for one zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ZonePlan {
    pub name: String,
    pub site: Site,
    pub area_cm2: f64,
    pub area_assumed: bool,
    pub status: ZoneStatus,
    pub skin: SkinSummary,
    pub concerns: Vec<ConcernPlan>,
    /// "pen" or "roller".
    pub device: String,
    /// The zone's setting: the deepest of its concerns' settings, mm.
    pub setting_mm: f64,
    pub passes: u32,
    /// Needling time of one session (device::estimate), min; `None` if it could not be
    /// estimated.
    pub needling_min: Option<f64>,
    pub sessions: u32,
    pub interval_days: u32,
    /// Session dates (empty while the zone is held back).
    pub dates: Vec<Date>,
    /// Notes about the schedule (sessions dropped for a constraint, blackouts).
    pub schedule_notes: Vec<String>,
    /// Downtime after one session, days (chart, grade C; the deepest concern).
    pub downtime_days: [f64; 2],
}

/// The device used at a setting: the preset with the tip angle (and, for the pen, the head
/// diameter) of the device parameters `dp` (the patient's `params.device`).
pub fn device_at(choice: DeviceChoice, setting_mm: f64, dp: &DeviceParams) -> Device {
    match choice {
        DeviceChoice::Pen => {
            let mut pen = Pen::dermapen_like(setting_mm * MM);
            pen.needle.tip_angle_rad = dp.tip_angle;
            pen.head_diameter_m = dp.pen_head_diameter;
            Device::Pen(pen)
        }
        DeviceChoice::Roller => {
            let mut roller = Roller::mf8_with_length(setting_mm * MM);
            roller.needle.tip_angle_rad = dp.tip_angle;
            Device::Roller(roller)
        }
    }
}

/// The technique used (device presets; passes as given).
pub fn technique(choice: DeviceChoice, passes: u32) -> Technique {
    let mut t = match choice {
        DeviceChoice::Pen => Technique::pen_typical(),
        DeviceChoice::Roller => Technique::roller_standard(),
    };
    t.passes = passes;
    t
}

/// Default passes: the device presets (pen 3 in 3 directions, roller 15 in 4).
pub fn default_passes(choice: DeviceChoice) -> u32 {
    match choice {
        DeviceChoice::Pen => Technique::pen_typical().passes,
        DeviceChoice::Roller => Technique::roller_standard().passes,
    }
}

/// Checks a setting against a column.
pub fn check_depth(
    choice: DeviceChoice,
    setting_mm: f64,
    column: &SkinColumn,
    p: &InjuryParams,
    dp: &DeviceParams,
) -> DepthCheck {
    let dev = device_at(choice, setting_mm, dp);
    let l = setting_mm * MM;
    let mean = injury::mean_depth(&dev, l, p);
    let deep = mean + 2.0 * p.ratio_sd * l;
    let bottom = column.dermis_bottom_m();
    DepthCheck {
        setting_mm,
        mean_depth_mm: mean / MM,
        deep_end_mm: deep / MM,
        dej_mm: column.dej_m() / MM,
        dermis_bottom_mm: bottom / MM,
        reaches: column.layer_at(mean),
        within_dermis: deep <= bottom,
    }
}

/// The deepest setting on the grid of `step_mm` (the patient's `params.planner.setting_step_mm`,
/// by default [`STEP_MM`]) whose deep end stays in the dermis.
pub fn deepest_safe_setting(
    choice: DeviceChoice,
    column: &SkinColumn,
    p: &InjuryParams,
    dp: &DeviceParams,
    up_to_mm: f64,
    step_mm: f64,
) -> f64 {
    let mut s = (up_to_mm / step_mm).floor() * step_mm;
    while s > step_mm && !check_depth(choice, s, column, p, dp).within_dermis {
        s -= step_mm;
    }
    (s / step_mm).round() * step_mm
}

fn round_step(x: f64, step_mm: f64) -> f64 {
    (x / step_mm).round() * step_mm
}

/// The setting in a range: the 0.25 mm mark nearest the middle if there is one, else the
/// middle on the grid of `step_mm` (the patient's `params.planner.setting_step_mm`).
pub fn choose_setting(r: DepthRange, step_mm: f64) -> f64 {
    let mid = 0.5 * (r[0] + r[1]);
    let mut best: Option<f64> = None;
    let mut q = (r[0] / 0.25).ceil() * 0.25;
    while q <= r[1] + 1e-9 {
        if best.is_none_or(|b| (q - mid).abs() < (b - mid).abs() - 1e-12) {
            best = Some(q);
        }
        q += 0.25;
    }
    best.unwrap_or_else(|| round_step(mid, step_mm).clamp(r[0], r[1]))
}

/// Skin column of a zone for this person, and the 35-year-old reference, with the skin
/// parameters `sp` (the patient's `params.skin`).
pub fn zone_skin(
    site: Site,
    person: &Person,
    sp: &SkinParams,
) -> Result<(SkinColumn, SkinSummary), skin::SkinError> {
    zone_skin_with(site, person, &ThicknessOverrides::default(), sp)
}

/// [`zone_skin`] with layer thicknesses set by `overrides` (a cohort's virtual patient, whose
/// layers vary around the table means); the reference stays the tables' 35-year-old.
pub fn zone_skin_with(
    site: Site,
    person: &Person,
    overrides: &ThicknessOverrides,
    sp: &SkinParams,
) -> Result<(SkinColumn, SkinSummary), skin::SkinError> {
    let col = skin::column_with(site, person, overrides, sp)?;
    let reference = skin::column_with(
        site,
        &Person {
            age_years: 35.0,
            ..person.clone()
        },
        &ThicknessOverrides::default(),
        sp,
    )?;
    let skin_mm = col.skin_thickness_m() / MM;
    let ref_mm = reference.skin_thickness_m() / MM;
    let summary = SkinSummary {
        epidermis_mm: col.dej_m() / MM,
        dermis_mm: (col.dermis_bottom_m() - col.dej_m()) / MM,
        skin_mm,
        reference_skin_mm: ref_mm,
        chart_column: if skin_mm < ref_mm - 1e-9 {
            "thin"
        } else {
            "thick"
        }
        .into(),
    };
    Ok((col, summary))
}

/// Products for a concern.
fn products(c: &PatientConcern) -> Vec<ProductAdvice> {
    let p = |when: &str, what: &str, g: Grade, s: &[&str]| ProductAdvice {
        when: when.into(),
        what: what.into(),
        grade: g,
        sources: s.iter().map(|x| x.to_string()).collect(),
    };
    let mut v = vec![
        p(
            "during and after",
            "sterile hyaluronic-acid serum made for use on needled skin only; nothing else on open channels (granulomas are reported as a persistent side effect)",
            Grade::C,
            &["aftercare-clinics", "chu2021"],
        ),
        p(
            "after",
            "gentle cleanser and bland hyaluronic-acid moisturiser; mineral SPF 30+ from about 24 h",
            Grade::C,
            &["aftercare-clinics"],
        ),
    ];
    match c.kind {
        ConcernKind::HairThinning => v.push(p(
            "between sessions",
            "twice-daily 5 % minoxidil, as in the trials (microneedling was an adjunct); ask the prescriber when to resume it after a session",
            Grade::A,
            &["dhurat2013", "english2021"],
        )),
        ConcernKind::AcneScars => v.push(p(
            "between sessions (option)",
            "glycolic acid peels between sessions improved acne scars more than needling alone in one trial; discuss as an option",
            Grade::A,
            &["rana2017"],
        )),
        ConcernKind::Hyperpigmentation | ConcernKind::Melasma => v.push(p(
            "throughout",
            "daily broad-spectrum SPF 30+ and sun avoidance for the whole series: pigment is both the concern and the main side effect",
            Grade::C,
            &["aftercare-clinics", "chu2021"],
        )),
        _ => v.push(p(
            "weeks before (option)",
            "topical vitamin A and C for at least 4 weeks before the first session (Aust 2008 protocol); pause retinoids for 5-7 days after each session",
            Grade::A,
            &["aust2008", "aftercare-clinics"],
        )),
    }
    v
}

/// Recommendation for one concern.
pub fn concern_plan(
    p: &Patient,
    site: Site,
    c: &PatientConcern,
    column: &SkinColumn,
    skin: &SkinSummary,
    params: &InjuryParams,
) -> ConcernPlan {
    let choice = p.goals.device;
    let row = tables::depth_row(site, c);
    let cited = if skin.chart_column == "thin" {
        row.thin_mm
    } else {
        row.thick_mm
    };
    let mut adj = Vec::new();
    let mut r = cited;
    if skin.chart_column == "thin" && row.thin_mm != row.thick_mm {
        adj.push(format!(
            "thin-skin column of the chart: the modelled skin here ({:.2} mm) is thinner than at 35 years ({:.2} mm)",
            skin.skin_mm, skin.reference_skin_mm
        ));
    }
    // Device range.
    let (dmin, dmax) = match choice {
        DeviceChoice::Pen => (0.25, 2.5),
        DeviceChoice::Roller => (0.2, 2.5),
    };
    if r[0] < dmin || r[1] > dmax {
        r = [r[0].clamp(dmin, dmax), r[1].clamp(dmin, dmax)];
        adj.push(format!("limited to the device's range {dmin}-{dmax} mm"));
    }
    // Skin check.
    let dp = &p.params.device;
    let step_mm = p.params.planner.setting_step_mm;
    if !check_depth(choice, r[1], column, params, dp).within_dermis {
        let safe = deepest_safe_setting(choice, column, params, dp, r[1], step_mm);
        let chk = check_depth(choice, r[1], column, params, dp);
        adj.push(format!(
            "lowered from {:.2} to {:.2} mm: at {:.2} mm the deepest channels (mean + 2 SD, {:.2} mm) would pass the bottom of the dermis ({:.2} mm) of this person's modelled {} skin",
            r[1], safe, r[1], chk.deep_end_mm, chk.dermis_bottom_mm, site.name()
        ));
        r[1] = safe;
        if r[0] > r[1] {
            r[0] = r[1];
            adj.push("the whole cited range reaches beyond the dermis here; the planner keeps to the deepest setting that does not".into());
        }
    }
    // Gentler settings.
    let gentle = super::rules::gentle(p) || p.history.keloid_tendency;
    if gentle && r[1] > r[0] {
        let why = if p.person.phototype >= 4 {
            format!("phototype {}", super::rules::roman(p.person.phototype))
        } else if p.history.pih_history {
            "earlier hyperpigmentation".to_string()
        } else {
            "keloid tendency".to_string()
        };
        let hi = round_step(r[0] + 0.5 * (r[1] - r[0]), step_mm).max(r[0]);
        adj.push(format!("upper end lowered from {:.2} to {:.2} mm (lower half of the range) for {why} (planner default)", r[1], hi));
        r[1] = hi;
    }
    // Downtime constraint (chart).
    if let Some(maxd) = p.goals.max_downtime_days {
        match tables::deepest_within_downtime(maxd) {
            Some(cap) if cap < r[1] - 1e-9 => {
                adj.push(format!(
                    "upper end lowered from {:.2} to {:.2} mm to keep the chart's downtime within {maxd} days (manufacturer chart, grade C)",
                    r[1], cap
                ));
                r[1] = cap;
                if r[0] > r[1] {
                    r[0] = r[1];
                }
            }
            Some(_) => {}
            None => {
                let cap = 0.5f64.min(r[1]);
                adj.push(format!(
                    "even the shallowest band of the chart (0.2-0.5 mm) means about 2-3 days of downtime, more than the {maxd} days asked for; kept at {cap:.2} mm or less"
                ));
                r[1] = cap;
                if r[0] > r[1] {
                    r[0] = r[1];
                }
            }
        }
    }
    let setting = choose_setting(r, step_mm);
    let check = check_depth(choice, setting, column, params, dp);
    if check.reaches < LayerKind::PapillaryDermis {
        adj.push(format!(
            "at {setting:.2} mm the mean channel ({:.2} mm) ends in the epidermis (junction at {:.2} mm): mainly resurfacing and product delivery",
            check.mean_depth_mm, check.dej_mm
        ));
    }
    let mut srow = tables::session_row(c);
    let mut sessions = srow.sessions;
    let mut interval = srow.interval_days;
    if gentle
        && c.kind != ConcernKind::HairThinning
        && interval < 42
        && (p.person.phototype >= 4 || p.history.pih_history)
    {
        interval = 42;
        srow.basis.push_str("; 6-week interval for darker skin / PIH (planner default; Al Chalabi treated dark skin at 6-week intervals)");
    }
    if let Some(m) = p.goals.max_sessions
        && m < sessions
    {
        srow.basis
            .push_str(&format!("; limited to {m} by the patient's maximum"));
        sessions = m;
    }
    let (dt, _) = tables::chart_downtime_days(setting);
    ConcernPlan {
        concern: c.clone(),
        row,
        cited_mm: cited,
        range_mm: r,
        setting_mm: setting,
        adjustments: adj,
        check,
        sessions,
        interval_days: interval,
        session_basis: srow,
        chart_downtime_days: dt,
        products: products(c),
    }
}

/// Zone status from the findings.
pub fn zone_status(zone: &str, findings: &[Finding]) -> ZoneStatus {
    let applies = |f: &&Finding| f.zone.as_deref().is_none_or(|z| z == zone);
    let rel: Vec<&Finding> = findings.iter().filter(applies).collect();
    let dnt: Vec<&&Finding> = rel
        .iter()
        .filter(|f| f.category == Category::DoNotTreat)
        .collect();
    if !dnt.is_empty() {
        return ZoneStatus::Excluded {
            reconsider: dnt
                .iter()
                .filter_map(|f| match &f.defer {
                    Some(Deferral::Condition { condition }) => Some(condition.clone()),
                    Some(Deferral::Date { date }) => Some(format!("from {date}")),
                    None => None,
                })
                .collect(),
            rules: dnt.iter().map(|f| f.rule.clone()).collect(),
        };
    }
    let held: Vec<&&Finding> = rel.iter().filter(|f| f.holds_back()).collect();
    let conds: Vec<String> = held
        .iter()
        .filter_map(|f| match &f.defer {
            Some(Deferral::Condition { condition }) => Some(condition.clone()),
            _ => None,
        })
        .collect();
    if !conds.is_empty() {
        return ZoneStatus::DeferredUntilCondition {
            conditions: conds,
            rules: held.iter().map(|f| f.rule.clone()).collect(),
        };
    }
    let dates: Vec<Date> = held
        .iter()
        .filter_map(|f| match &f.defer {
            Some(Deferral::Date { date }) => Some(*date),
            _ => None,
        })
        .collect();
    if let Some(d) = dates.iter().max() {
        return ZoneStatus::DeferredUntil {
            date: *d,
            rules: held.iter().map(|f| f.rule.clone()).collect(),
        };
    }
    let prec: Vec<String> = rel
        .iter()
        .filter(|f| f.category == Category::Precaution)
        .map(|f| f.rule.clone())
        .collect();
    if prec.is_empty() {
        ZoneStatus::Treat
    } else {
        ZoneStatus::TreatWithPrecautions { rules: prec }
    }
}

/// Session dates for a zone from `ready`, with the patient's blackouts and finish date.
pub fn schedule(
    p: &Patient,
    ready: Date,
    sessions: u32,
    interval_days: u32,
    downtime_days: f64,
) -> (Vec<Date>, Vec<String>) {
    schedule_dates(
        &p.goals.blackout,
        p.goals.finish_by,
        ready,
        sessions,
        interval_days,
        downtime_days,
    )
}

/// Session dates from `ready` every `interval_days`: a session whose date or downtime
/// (`downtime_days`, rounded up) would touch a blackout moves to the day after it (the next
/// sessions follow from the moved date); sessions whose downtime would end after `finish_by`
/// are left out. Returns the dates and a note for every move or omission.
pub fn schedule_dates(
    blackout: &[Blackout],
    finish_by: Option<Date>,
    ready: Date,
    sessions: u32,
    interval_days: u32,
    downtime_days: f64,
) -> (Vec<Date>, Vec<String>) {
    let mut dates = Vec::new();
    let mut notes = Vec::new();
    let dt = downtime_days.max(0.0).ceil() as i64;
    let mut d = ready;
    for k in 0..sessions {
        // Move past blackouts that the session or its downtime would touch.
        let mut moved = true;
        let mut guard = 0;
        while moved && guard < 100 {
            moved = false;
            guard += 1;
            for b in blackout {
                if d <= b.to && d.add_days(dt) >= b.from {
                    let nd = b.to.add_days(1);
                    notes.push(format!(
                        "session {} moved from {d} to {nd}: it or its downtime (about {dt} days) would fall in the blackout {} to {}{}",
                        k + 1,
                        b.from,
                        b.to,
                        b.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
                    ));
                    d = nd;
                    moved = true;
                }
            }
        }
        if let Some(f) = finish_by
            && d.add_days(dt) > f
        {
            notes.push(format!(
                "only {k} of {sessions} sessions fit before {f} (finish_by) with their downtime; the rest are left out"
            ));
            break;
        }
        dates.push(d);
        d = d.add_days(i64::from(interval_days));
    }
    (dates, notes)
}

/// The first date a zone can be treated (None while it is held back on a condition or
/// excluded): the later of the consultation date, `goals.earliest_start` and a dated deferral.
pub fn ready_date(p: &Patient, status: &ZoneStatus) -> Option<Date> {
    let start = p.goals.earliest_start.unwrap_or(p.date).max(p.date);
    match status {
        ZoneStatus::Treat | ZoneStatus::TreatWithPrecautions { .. } => Some(start),
        ZoneStatus::DeferredUntil { date, .. } => Some(start.max(*date)),
        _ => None,
    }
}

/// Needling time of one session on a zone, min.
pub fn needling_min(
    choice: DeviceChoice,
    setting_mm: f64,
    passes: u32,
    site: Site,
    area_cm2: f64,
    dp: &DeviceParams,
) -> Option<f64> {
    let a = area_cm2 * CM2;
    let aspect: f64 = 1.5;
    let w = (a * 4.0 / std::f64::consts::PI * aspect).sqrt();
    let h = w / aspect;
    let zone = Zone {
        name: "zone".into(),
        site,
        shape: Shape::Ellipse {
            width_m: w,
            height_m: h,
        },
    };
    let est = device::estimate_with(
        &device_at(choice, setting_mm, dp),
        &zone,
        &technique(choice, passes),
        1,
        dp,
    )
    .ok()?;
    Some(est.needling_time_s / 60.0)
}

/// The full plan of one zone.
pub fn zone_plan(
    p: &Patient,
    z: &PatientZone,
    findings: &[Finding],
    params: &InjuryParams,
) -> Result<ZonePlan, skin::SkinError> {
    let (column, skin) = zone_skin(z.site, &p.person, &p.params.skin)?;
    let concerns: Vec<ConcernPlan> = z
        .concerns
        .iter()
        .map(|c| concern_plan(p, z.site, c, &column, &skin, params))
        .collect();
    let setting = concerns.iter().map(|c| c.setting_mm).fold(0.0, f64::max);
    let sessions = concerns.iter().map(|c| c.sessions).max().unwrap_or(0);
    let interval = concerns.iter().map(|c| c.interval_days).max().unwrap_or(28);
    let downtime = tables::chart_downtime_days(setting).0;
    let passes = default_passes(p.goals.device);
    let status = zone_status(&z.name, findings);
    let (dates, notes) = match ready_date(p, &status) {
        Some(ready) => schedule(p, ready, sessions, interval, downtime[1]),
        None => (Vec::new(), Vec::new()),
    };
    Ok(ZonePlan {
        name: z.name.clone(),
        site: z.site,
        area_cm2: z.area_cm2,
        area_assumed: z.area_assumed,
        status,
        skin,
        concerns,
        device: p.goals.device.name().into(),
        setting_mm: setting,
        passes,
        needling_min: needling_min(
            p.goals.device,
            setting,
            passes,
            z.site,
            z.area_cm2,
            &p.params.device,
        ),
        sessions,
        interval_days: interval,
        dates,
        schedule_notes: notes,
        downtime_days: downtime,
    })
}
