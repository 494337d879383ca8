//! The `[protocol]` section of a scenario file (human units, days and mm) and its validation
//! into [`Protocol`] (SI).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::FieldError;
use crate::healing::params::{DAY, HealingParams};
use crate::protocol::{
    Concern, DEFAULT_PATCH_SIZE_M, DEFAULT_PATCH_VOXEL_M, Protocol, Resolution, Scar, ScarKind,
};
use crate::units::MM;

/// `[protocol]`: how many sessions, when, and what is being treated.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProtocolFile {
    /// Number of sessions, 1-20 (with `interval_days`).
    pub sessions: Option<i64>,
    /// Days between sessions (> 0; with `sessions`).
    pub interval_days: Option<f64>,
    /// Alternative to sessions/interval: the day of each session from the first (first = 0),
    /// strictly increasing, at least one day apart.
    pub session_days: Option<Vec<f64>>,
    /// Follow-up from the first session, days (after the last session; at most 730).
    pub follow_up_days: f64,
    /// Concerns treated: acne_scars, wrinkles, fine_lines, laxity, texture, stretch_marks,
    /// rejuvenation. Default: rejuvenation.
    pub concerns: Option<Vec<String>>,
    /// Atrophic scars (for acne_scars); default mix icepick/boxcar/rolling from the parameters.
    pub scars: Option<Vec<ScarFile>>,
    /// Depth of the wrinkles treated, mm (0.02-2; default from the parameters).
    pub wrinkle_depth_mm: Option<f64>,
    /// Depth of the stretch marks' dermal depression, mm (0.02-2; default from the parameters).
    pub striae_depth_mm: Option<f64>,
    /// Width of the stretch marks, mm (0.2-20; default from the parameters).
    pub striae_width_mm: Option<f64>,
    /// Extra days (from the first session) at which outcomes are reported.
    pub report_days: Option<Vec<f64>>,
    /// Parameter samples for the uncertainty bands (0-1000, default 32; 0 = nominal only).
    pub uncertainty_samples: Option<i64>,
    /// Model resolution of `simulate`: "lumped" (default), "unit-cell" or "patch" (the
    /// `--resolution` flag overrides it).
    pub resolution: Option<String>,
    /// Side of the square 3-D patch (resolution "patch"), mm (0.1-10; default 10, i.e. 1 cm²).
    pub patch_size_mm: Option<f64>,
    /// Lateral voxel size of the patch, µm (5-100; default 25).
    pub patch_voxel_um: Option<f64>,
}

/// One scar type of the treated area.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScarFile {
    /// "icepick", "boxcar" or "rolling".
    pub kind: String,
    /// Share of the scars of this kind (0-1; shares are normalised).
    pub share: f64,
    /// Depth, mm (0.05-3; default per kind).
    pub depth_mm: Option<f64>,
    /// Width, mm (0.2-10; default per kind).
    pub width_mm: Option<f64>,
}

pub use crate::protocol::default_scars;

fn err(
    errors: &mut Vec<FieldError>,
    path: &str,
    value: impl std::fmt::Display,
    msg: &str,
    hint: &str,
) {
    errors.push(FieldError::new(path, value, msg, hint));
}

/// Validates `[protocol]` with the default healing parameters.
pub fn validate(raw: &ProtocolFile, errors: &mut Vec<FieldError>) -> Option<Protocol> {
    validate_with(raw, errors, &HealingParams::default())
}

/// Validates `[protocol]`, appending problems to `errors`; default scars and wrinkle depth come
/// from `p` (the scenario's `[params.healing]`). Returns `None` if any were found.
pub fn validate_with(
    raw: &ProtocolFile,
    errors: &mut Vec<FieldError>,
    p: &HealingParams,
) -> Option<Protocol> {
    let before = errors.len();
    // Schedule.
    let mut days: Vec<f64> = Vec::new();
    match (&raw.session_days, raw.sessions, raw.interval_days) {
        (Some(list), None, None) => {
            if list.is_empty() || list.len() > 20 {
                err(
                    errors,
                    "protocol.session_days",
                    format!("{list:?}"),
                    "must list 1-20 session days",
                    "e.g. session_days = [0, 28, 56]",
                );
            }
            for (i, &d) in list.iter().enumerate() {
                let path = format!("protocol.session_days[{i}]");
                if !d.is_finite() || d < 0.0 {
                    err(
                        errors,
                        &path,
                        d,
                        "must be a finite day >= 0",
                        "days count from the first session (day 0)",
                    );
                } else if i == 0 && d != 0.0 {
                    err(
                        errors,
                        &path,
                        d,
                        "the first session must be on day 0",
                        "days count from the first session",
                    );
                } else if i > 0 && d < list[i - 1] {
                    err(
                        errors,
                        &path,
                        d,
                        &format!(
                            "comes before the previous session (day {}); list sessions in order",
                            list[i - 1]
                        ),
                        "sort session_days",
                    );
                } else if i > 0 && d - list[i - 1] < 1.0 {
                    {
                        err(
                            errors,
                            &path,
                            d,
                            &format!(
                                "two sessions on one day (day {}); sessions must be at least 1 day apart and in increasing order",
                                list[i - 1]
                            ),
                            "merge them into one session or move one to another day",
                        );
                    }
                }
            }
            days = list.clone();
        }
        (None, Some(n), Some(iv)) => {
            let n_ok = (1..=20).contains(&n);
            if !n_ok {
                err(
                    errors,
                    "protocol.sessions",
                    n,
                    "must be a whole number within 1-20",
                    "trials used 1-7 sessions",
                );
            }
            if !iv.is_finite() || iv <= 0.0 {
                err(
                    errors,
                    "protocol.interval_days",
                    iv,
                    "must be a positive number of days (zero or negative intervals are not a schedule)",
                    "sessions are usually 14-42 days apart",
                );
            } else if iv < 1.0 {
                err(
                    errors,
                    "protocol.interval_days",
                    iv,
                    "puts two sessions on one day; the interval must be at least 1 day",
                    "sessions are usually 14-42 days apart",
                );
            }
            if n_ok && iv.is_finite() && iv >= 1.0 {
                days = (0..n).map(|k| k as f64 * iv).collect();
            }
        }
        (None, None, Some(iv)) => {
            if !iv.is_finite() || iv <= 0.0 {
                err(
                    errors,
                    "protocol.interval_days",
                    iv,
                    "must be a positive number of days",
                    "sessions are usually 14-42 days apart",
                );
            }
            err(
                errors,
                "protocol.sessions",
                "(missing)",
                "is required with interval_days; allowed 1-20",
                "e.g. sessions = 4",
            );
        }
        (None, Some(n), None) => {
            if n == 1 {
                days = vec![0.0];
            } else {
                err(
                    errors,
                    "protocol.interval_days",
                    "(missing)",
                    "is required when sessions > 1",
                    "e.g. interval_days = 30",
                );
            }
        }
        (None, None, None) => err(
            errors,
            "protocol.sessions",
            "(missing)",
            "give sessions + interval_days, or session_days",
            "e.g. sessions = 4, interval_days = 30",
        ),
        (Some(_), ..) => err(
            errors,
            "protocol.session_days",
            "(with sessions/interval_days)",
            "give either session_days or sessions + interval_days, not both",
            "remove one of them",
        ),
    }
    let fu = raw.follow_up_days;
    if !fu.is_finite() || fu <= 0.0 || fu > 730.0 {
        err(
            errors,
            "protocol.follow_up_days",
            fu,
            "must be within 0-730 days (two years)",
            "results are followed up to two years",
        );
    } else if let Some(&last) = days.last()
        && fu <= last
    {
        err(
            errors,
            "protocol.follow_up_days",
            fu,
            &format!(
                "is not after the last session (day {last}): the protocol is longer than the follow-up"
            ),
            "follow up at least a few weeks after the last session",
        );
    }
    // Concerns.
    let mut concerns = Vec::new();
    for (i, c) in raw.concerns.clone().unwrap_or_default().iter().enumerate() {
        match Concern::from_name(c) {
            Some(k) => concerns.push(k),
            None => {
                let all: Vec<_> = Concern::ALL.iter().map(|c| c.name()).collect();
                err(
                    errors,
                    &format!("protocol.concerns[{i}]"),
                    format!("{c:?}"),
                    &format!("is not a known concern; allowed: {}", all.join(", ")),
                    "pick the closest concern",
                );
            }
        }
    }
    if concerns.is_empty() {
        concerns.push(Concern::Rejuvenation);
    }
    // Scars.
    let scars = match &raw.scars {
        None => None,
        Some(list) => {
            let mut out = Vec::new();
            for (i, s) in list.iter().enumerate() {
                let path = |f: &str| format!("protocol.scars[{i}].{f}");
                let (kind, d0, w0) = match s.kind.as_str() {
                    "icepick" => (ScarKind::Icepick, p.icepick_depth, p.icepick_width),
                    "boxcar" => (ScarKind::Boxcar, p.boxcar_depth, p.boxcar_width),
                    "rolling" => (ScarKind::Rolling, p.rolling_depth, p.rolling_width),
                    other => {
                        err(
                            errors,
                            &path("kind"),
                            format!("{other:?}"),
                            "must be \"icepick\", \"boxcar\" or \"rolling\"",
                            "atrophic acne scar types (Jacob 2001)",
                        );
                        continue;
                    }
                };
                if !(s.share.is_finite() && s.share > 0.0 && s.share <= 1.0) {
                    err(
                        errors,
                        &path("share"),
                        s.share,
                        "must be within 0-1 (exclusive of 0)",
                        "shares are normalised to sum to 1",
                    );
                }
                let depth = s.depth_mm.map_or(d0, |d| d * MM);
                if let Some(d) = s.depth_mm
                    && !(d.is_finite() && (0.05..=3.0).contains(&d))
                {
                    err(
                        errors,
                        &path("depth_mm"),
                        d,
                        "must be within 0.05-3 mm",
                        "boxcar scars are 0.1-0.5 mm deep",
                    );
                }
                let width = s.width_mm.map_or(w0, |w| w * MM);
                if let Some(w) = s.width_mm
                    && !(w.is_finite() && (0.2..=10.0).contains(&w))
                {
                    err(
                        errors,
                        &path("width_mm"),
                        w,
                        "must be within 0.2-10 mm",
                        "icepick < 2 mm, boxcar 1.5-4 mm, rolling > 4 mm",
                    );
                }
                out.push(Scar {
                    kind,
                    share: s.share,
                    depth_m: depth,
                    width_m: width,
                });
            }
            crate::protocol::normalise_shares(&mut out);
            Some(out)
        }
    };
    // An optional length in mm within its range, in metres; out of range: an error and the
    // parameters' default (None).
    let mut length_mm = |field: &str, v: Option<f64>, (lo, hi): (f64, f64), hint: &str| match v {
        Some(x) if x.is_finite() && (lo..=hi).contains(&x) => Some(x * MM),
        Some(x) => {
            err(
                errors,
                &format!("protocol.{field}"),
                x,
                &format!("must be within {lo}-{hi} mm"),
                hint,
            );
            None
        }
        None => None,
    };
    let wrinkle = length_mm(
        "wrinkle_depth_mm",
        raw.wrinkle_depth_mm,
        (0.02, 2.0),
        "fine lines are ~0.1-0.2 mm deep",
    );
    let striae_depth = length_mm(
        "striae_depth_mm",
        raw.striae_depth_mm,
        (0.02, 2.0),
        "how much thinner the dermis is under the stretch marks than beside them",
    );
    let striae_width = length_mm(
        "striae_width_mm",
        raw.striae_width_mm,
        (0.2, 20.0),
        "the width of one stretch mark across its length",
    );
    let mut report = Vec::new();
    for (i, &d) in raw
        .report_days
        .clone()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        if !d.is_finite() || d < 0.0 || d > fu {
            err(
                errors,
                &format!("protocol.report_days[{i}]"),
                d,
                &format!("must be within 0-{fu} days (the follow-up)"),
                "report days count from the first session",
            );
        } else {
            report.push(d * DAY);
        }
    }
    let samples = match raw.uncertainty_samples {
        None => 32,
        Some(n) if (0..=1000).contains(&n) => n as u32,
        Some(n) => {
            err(
                errors,
                "protocol.uncertainty_samples",
                n,
                "must be a whole number within 0-1000",
                "32 gives usable 5-95 % bands",
            );
            0
        }
    };
    let resolution = match raw.resolution.as_deref() {
        None => None,
        Some(r) => match Resolution::from_name(r) {
            Some(x) => Some(x),
            None => {
                let all: Vec<_> = Resolution::ALL.iter().map(|r| r.name()).collect();
                err(
                    errors,
                    "protocol.resolution",
                    format!("{r:?}"),
                    &format!("is not a known resolution; allowed: {}", all.join(", ")),
                    "lumped for planning, unit-cell or patch for cross-sections",
                );
                None
            }
        },
    };
    let patch_size_mm = raw.patch_size_mm.unwrap_or(DEFAULT_PATCH_SIZE_M / MM);
    if !(patch_size_mm.is_finite() && (0.1..=10.0).contains(&patch_size_mm)) {
        err(
            errors,
            "protocol.patch_size_mm",
            patch_size_mm,
            "must be within 0.1-10 mm",
            "10 mm is a 1 cm² patch; smaller patches run faster",
        );
    }
    let patch_voxel_um = raw.patch_voxel_um.unwrap_or(DEFAULT_PATCH_VOXEL_M * 1e6);
    if !(patch_voxel_um.is_finite() && (5.0..=100.0).contains(&patch_voxel_um)) {
        err(
            errors,
            "protocol.patch_voxel_um",
            patch_voxel_um,
            "must be within 5-100 µm",
            "25 µm resolves a needle channel (radius ~100 µm) with a few voxels",
        );
    } else if patch_size_mm.is_finite() && patch_size_mm * 1e3 < 2.0 * patch_voxel_um {
        err(
            errors,
            "protocol.patch_voxel_um",
            patch_voxel_um,
            &format!("must be at most half of patch_size_mm ({patch_size_mm} mm)"),
            "use smaller voxels or a larger patch",
        );
    }
    if errors.len() > before {
        return None;
    }
    Some(Protocol {
        resolution,
        patch_size_m: patch_size_mm * MM,
        patch_voxel_m: patch_voxel_um * 1e-6,
        session_times_s: days.iter().map(|d| d * DAY).collect(),
        follow_up_s: fu * DAY,
        concerns,
        scars,
        wrinkle_depth_m: wrinkle,
        striae_depth_m: striae_depth,
        striae_width_m: striae_width,
        scar_kinds: None,
        report_times_s: report,
        samples,
    })
}
