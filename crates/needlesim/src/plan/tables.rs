//! The cited tables the recommendations come from: needle depth by zone and concern
//! (`literature/biology.md` §6.1), sessions and intervals (§6.2), and the manufacturer's
//! downtime-by-depth chart (§3.2). Every row names its sources and grade; rows the planner had
//! to fill in are marked [`Grade::Planner`] with the reason.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::evidence::Grade;
use super::patient::{Concern, ConcernKind};
use crate::skin::Site;

/// A depth range, mm.
pub type DepthRange = [f64; 2];

/// Where a depth range comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DepthRow {
    /// Row name as in docs/PLANNER.md.
    pub row: String,
    /// DepthRange for thin skin, mm.
    pub thin_mm: DepthRange,
    /// DepthRange for thick skin, mm.
    pub thick_mm: DepthRange,
    pub grade: Grade,
    pub sources: Vec<String>,
    /// How the planner used the row (empty if as printed).
    pub note: String,
}

fn row(
    name: &str,
    thin: DepthRange,
    thick: DepthRange,
    grade: Grade,
    sources: &[&str],
    note: &str,
) -> DepthRow {
    DepthRow {
        row: name.into(),
        thin_mm: thin,
        thick_mm: thick,
        grade,
        sources: sources.iter().map(|s| s.to_string()).collect(),
        note: note.into(),
    }
}

/// The zone row: depth by area (Dr.Pen chart, thin / thick skin).
pub fn zone_row(site: Site) -> DepthRow {
    let drpen = &["drpen-chart", "droracle"][..];
    match site {
        Site::Forehead => row("forehead", [0.25, 0.5], [0.5, 0.75], Grade::C, drpen, ""),
        Site::Periorbital => row(
            "around the eyes",
            [0.25, 0.25],
            [0.25, 0.5],
            Grade::C,
            &["drpen-chart", "under-eye"],
            "",
        ),
        Site::Nose => row(
            "nose",
            [0.25, 0.25],
            [0.5, 0.5],
            Grade::C,
            &["drpen-chart"],
            "",
        ),
        Site::Perioral => row(
            "upper lip / perioral",
            [0.25, 0.25],
            [0.25, 0.75],
            Grade::C,
            drpen,
            "the chart's upper-lip row (droracle gives 0.5-1.5 for perioral; the planner keeps the more conservative chart)",
        ),
        Site::Cheek | Site::Chin => row(
            "cheek and chin",
            [0.5, 1.0],
            [1.0, 2.0],
            Grade::C,
            drpen,
            "",
        ),
        Site::Scalp => row(
            "scalp (hair loss)",
            [0.5, 2.5],
            [0.5, 2.5],
            Grade::B,
            &["english2021"],
            "depths used across hair-loss studies",
        ),
        _ => row(
            "body (no site row)",
            [0.25, 0.5],
            [0.5, 0.5],
            Grade::Planner,
            &["cit8"],
            "no cited depth for this site and concern; the planner uses the collagen-induction roller length (0.5 mm) as the upper bound",
        ),
    }
}

/// The depth row for a concern in a zone, and how the concern narrows it.
pub fn depth_row(site: Site, c: &Concern) -> DepthRow {
    match c.kind {
        ConcernKind::AcneScars => match c.grade.unwrap_or(2) {
            1 | 2 => row(
                "facial scarring (mild, G&B 1-2)",
                [1.0, 1.25],
                [1.5, 2.0],
                Grade::C,
                &["drpen-chart", "harris2015"],
                "",
            ),
            _ => row(
                "acne scars (moderate-severe, G&B 3-4): depths used in trials",
                [1.5, 2.5],
                [1.5, 2.5],
                Grade::A,
                &["acne-trials", "harris2015"],
                "trials used 1.5-2.5 mm (median 1.5; 2.5 better in a split-face study)",
            ),
        },
        ConcernKind::StretchMarks => row(
            "stretch marks",
            [1.5, 2.0],
            [1.5, 2.0],
            Grade::C,
            &["drpen-chart", "striae-trials"],
            "",
        ),
        ConcernKind::HairThinning => zone_row(site),
        ConcernKind::Wrinkles | ConcernKind::SunDamage | ConcernKind::Laxity => zone_row(site),
        ConcernKind::FineLines
        | ConcernKind::EnlargedPores
        | ConcernKind::Hyperpigmentation
        | ConcernKind::Melasma => {
            let mut r = zone_row(site);
            let half = |x: DepthRange| [x[0], x[0] + 0.5 * (x[1] - x[0])];
            r.thin_mm = half(r.thin_mm);
            r.thick_mm = half(r.thick_mm);
            r.note = format!(
                "{}{}lower half of the zone row: the chart gives depth by area, not for {} (planner default: superficial concerns, and pigment is the side effect to avoid)",
                r.note,
                if r.note.is_empty() { "" } else { "; " },
                c.kind.label()
            );
            r
        }
    }
}

/// Sessions and interval for a concern.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SessionRow {
    pub sessions: u32,
    pub interval_days: u32,
    pub grade: Grade,
    pub sources: Vec<String>,
    pub basis: String,
}

/// Sessions and interval by concern (before skin-type adaptation).
pub fn session_row(c: &Concern) -> SessionRow {
    let s = |n: u32, d: u32, g: Grade, src: &[&str], basis: &str| SessionRow {
        sessions: n,
        interval_days: d,
        grade: g,
        sources: src.iter().map(|s| s.to_string()).collect(),
        basis: basis.into(),
    };
    match c.kind {
        ConcernKind::AcneScars => match c.grade.unwrap_or(2) {
            1 | 2 => s(
                3,
                28,
                Grade::B,
                &["harris2015", "alster2020"],
                "median 3 treatments at a median 4-week interval across acne-scar trials",
            ),
            3 => s(
                4,
                28,
                Grade::A,
                &["acne-trials", "alster2020"],
                "4 sessions (Al Chalabi: 4 sessions in G&B 3-4 scars); scars needed 1-6 monthly treatments",
            ),
            _ => s(
                5,
                28,
                Grade::A,
                &["acne-trials", "alster2020"],
                "5 monthly sessions as in Dogra 2014 and Lotfi 2013",
            ),
        },
        ConcernKind::StretchMarks => s(
            4,
            28,
            Grade::A,
            &["striae-trials"],
            "4-5 monthly sessions in the striae trials",
        ),
        ConcernKind::Wrinkles
        | ConcernKind::FineLines
        | ConcernKind::SunDamage
        | ConcernKind::Laxity => s(
            3,
            28,
            Grade::A,
            &["robati2020", "graham-blog"],
            "3 monthly sessions (Robati 2020); practice: 2-6 every 4-6 weeks",
        ),
        ConcernKind::EnlargedPores | ConcernKind::Hyperpigmentation | ConcernKind::Melasma => s(
            3,
            28,
            Grade::C,
            &["graham-blog"],
            "practice: 2-6 treatments every 4-6 weeks (no trial protocol in the notes for this concern)",
        ),
        ConcernKind::HairThinning => s(
            12,
            7,
            Grade::A,
            &["dhurat2013", "english2021"],
            "weekly for 12 weeks with twice-daily 5 % minoxidil (Dhurat 2013)",
        ),
    }
}

/// Downtime after one session at a depth setting, days (low, high), from the manufacturer
/// chart (grade C): 0.2-0.5 mm about 2-3 d, 0.8-1.5 mm 4-5 d, 2.0-3.0 mm 6-7 d. Between the
/// chart's bands the planner interpolates (0.5-0.8 mm: 3-4 d; 1.5-2.0 mm: 5-6 d) and says so.
pub fn chart_downtime_days(depth_mm: f64) -> ([f64; 2], bool) {
    if depth_mm <= 0.5 + 1e-9 {
        ([2.0, 3.0], false)
    } else if depth_mm < 0.8 - 1e-9 {
        ([3.0, 4.0], true)
    } else if depth_mm <= 1.5 + 1e-9 {
        ([4.0, 5.0], false)
    } else if depth_mm < 2.0 - 1e-9 {
        ([5.0, 6.0], true)
    } else {
        ([6.0, 7.0], false)
    }
}

/// The deepest setting whose chart downtime stays within `max_days` (upper end of the band),
/// or `None` if even the shallowest band is longer.
pub fn deepest_within_downtime(max_days: f64) -> Option<f64> {
    [(3.0, 0.5), (4.0, 0.75), (5.0, 1.5), (6.0, 1.95), (7.0, 3.0)]
        .iter()
        .rev()
        .find(|(d, _)| *d <= max_days + 1e-9)
        .map(|&(_, depth)| depth)
}
