//! The arms of a scenario's `[hair]` section, run on each scalp zone (`simulate`), and their
//! files: `hair.json`, `hair.csv` and the terminal summary.

use std::fmt::Write as _;

use serde::Serialize;

use super::{Alopecia, HairError, HairProtocol, HairRun, Needling, Scale, Topical};
use crate::delivery::compounds::Library;
use crate::scenario::Scenario;
use crate::units::DAY;

/// One arm's run.
#[derive(Clone, Debug, Serialize)]
pub struct ArmResult {
    pub name: String,
    pub needling: bool,
    pub product: Option<String>,
    pub prp: bool,
    /// Change of hairs/cm² at each report day.
    pub count_change_at: Vec<(f64, f64)>,
    pub run: HairRun,
}

/// The arms on one scalp zone.
#[derive(Clone, Debug, Serialize)]
pub struct ZoneHair {
    pub zone: String,
    pub alopecia: Alopecia,
    pub report_days: Vec<f64>,
    pub arms: Vec<ArmResult>,
}

/// Runs every arm of `s.hair` on every zone (all scalp: the input layer checked it). Empty
/// without a `[hair]` section.
pub fn run_scenario(s: &Scenario) -> Result<Vec<ZoneHair>, HairError> {
    let Some(h) = &s.hair else {
        return Ok(Vec::new());
    };
    let scale = Scale::from_name(&h.alopecia_scale).unwrap_or(Scale::None);
    let alopecia = Alopecia {
        scale,
        grade: h.alopecia_grade,
    };
    let session_days: Vec<f64> = s
        .protocol
        .as_ref()
        .map(|p| p.session_times_s.iter().map(|t| t / DAY).collect())
        .unwrap_or_default();
    let duration = h
        .duration_days
        .or_else(|| s.protocol.as_ref().map(|p| p.follow_up_s / DAY))
        .unwrap_or(182.0)
        .clamp(1.0, 730.0);
    let report_days: Vec<f64> = if h.report_days.is_empty() {
        vec![84.0_f64.min(duration), duration]
    } else {
        h.report_days.iter().map(|d| d.min(duration)).collect()
    };
    let lib = Library::builtin();
    let mut out = Vec::new();
    for z in &s.zones {
        super::check_site(&z.column)?;
        let scalp = super::scalp::scalp(
            &z.column,
            &s.person,
            alopecia,
            h.density_per_cm2,
            &s.params.hair,
        )?;
        let injury = if h.arms.iter().any(|a| a.needling) {
            Some(super::session_injury(
                &z.device,
                &s.technique,
                &z.column,
                &s.params,
                s.seed,
            )?)
        } else {
            None
        };
        let mut arms = Vec::new();
        for a in &h.arms {
            let topical = match &a.product {
                Some(name) => {
                    let product = lib.product(name).map_err(|e| {
                        HairError::field(
                            "hair.arms.product",
                            name.clone(),
                            e.to_string(),
                            "see data/compounds.toml",
                        )
                    })?;
                    let compound = lib
                        .compound(&product.compound)
                        .map_err(|e| HairError::Model(e.to_string()))?;
                    Some(Topical::new(
                        product,
                        compound,
                        a.applications_per_day,
                        a.delay_after_needling_h,
                        &s.params.physchem,
                    )?)
                }
                None => None,
            };
            let needling = match (a.needling, injury) {
                (true, Some((inj, r))) => Some(Needling {
                    session_days: session_days.clone(),
                    injury: inj,
                    channel_radius_m: r,
                    prp: a.prp,
                }),
                _ => None,
            };
            let run = super::simulate(
                &scalp,
                &z.column,
                &HairProtocol {
                    needling,
                    topical,
                    duration_days: duration,
                },
                &s.params,
            )?;
            arms.push(ArmResult {
                name: a.name.clone(),
                needling: a.needling,
                product: a.product.clone(),
                prp: a.prp,
                count_change_at: report_days
                    .iter()
                    .map(|&d| (d, run.count_change(d)))
                    .collect(),
                run,
            });
        }
        out.push(ZoneHair {
            zone: z.zone.name.clone(),
            alopecia,
            report_days: report_days.clone(),
            arms,
        });
    }
    Ok(out)
}

/// `hair.csv`: one row per zone, arm and day.
pub fn csv(zones: &[ZoneHair]) -> String {
    let mut s = String::from(
        "zone,arm,day,hairs_per_cm2,terminal_fraction,anagen_fraction,mean_diameter_um,wnt_activation,minoxidil_effect\n",
    );
    for z in zones {
        for a in &z.arms {
            let r = &a.run;
            for i in 0..r.days.len() {
                let _ = writeln!(
                    s,
                    "{},{},{},{:.3},{:.5},{:.5},{:.3},{:.5},{:.5}",
                    z.zone,
                    a.name,
                    r.days[i],
                    r.hairs_per_cm2[i],
                    r.terminal_fraction[i],
                    r.anagen_fraction[i],
                    r.mean_diameter_um[i],
                    r.wnt[i],
                    r.minoxidil_effect[i]
                );
            }
        }
    }
    s
}

/// Terminal lines: each arm's hair count change at the report days.
pub fn summary(zones: &[ZoneHair]) -> String {
    let mut s = String::new();
    for z in zones {
        let _ = writeln!(
            s,
            "hair, zone `{}` ({} {}): change of hairs/cm² from before treatment",
            z.zone,
            z.alopecia.scale.name(),
            z.alopecia.grade
        );
        for a in &z.arms {
            let parts: Vec<String> = a
                .count_change_at
                .iter()
                .map(|(d, v)| format!("day {d:.0}: {v:+.1}"))
                .collect();
            let r = &a.run;
            let last = r.days.len() - 1;
            let _ = writeln!(
                s,
                "  {:<24} {}  (terminal {:.0} %, anagen {:.0} %, mean shaft {:.1} µm at day {:.0})",
                a.name,
                parts.join(", "),
                100.0 * r.terminal_fraction[last],
                100.0 * r.anagen_fraction[last],
                r.mean_diameter_um[last],
                r.days[last]
            );
        }
    }
    s
}
