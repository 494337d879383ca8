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

const ARM_COLORS: [plotters::style::RGBColor; 5] = [
    plotters::style::RGBColor(31, 119, 180),
    plotters::style::RGBColor(214, 39, 40),
    plotters::style::RGBColor(44, 160, 44),
    plotters::style::RGBColor(148, 103, 189),
    plotters::style::RGBColor(255, 127, 14),
];

/// `hair_<zone>.svg`: each arm's change of hairs/cm² over the run, needling sessions marked
/// (dashed) and the report days dotted.
pub fn count_svg(z: &ZoneHair, session_days: &[f64]) -> std::io::Result<String> {
    use crate::report::{LegendEntry, Swatch, legend_below, legend_height, plot_err};
    use plotters::prelude::*;
    let series: Vec<(&str, Vec<(f64, f64)>)> = z
        .arms
        .iter()
        .map(|a| {
            let r = &a.run;
            let h0 = r.hairs_per_cm2[0];
            (
                a.name.as_str(),
                r.days
                    .iter()
                    .zip(&r.hairs_per_cm2)
                    .map(|(&d, &h)| (d, h - h0))
                    .collect(),
            )
        })
        .collect();
    let (mut lo, mut hi) = (0.0f64, 0.0f64);
    for (_, v) in &series {
        for &(_, y) in v {
            lo = lo.min(y);
            hi = hi.max(y);
        }
    }
    let pad = 0.08 * (hi - lo).max(1.0);
    let (lo, hi) = (lo - pad, hi + pad);
    let xmax = series
        .iter()
        .filter_map(|(_, v)| v.last().map(|p| p.0))
        .fold(1.0, f64::max);
    let needled = z.arms.iter().any(|a| a.needling);
    let session_style = RGBColor(90, 90, 90).stroke_width(2);
    let mut legend: Vec<LegendEntry> = Vec::new();
    if needled && !session_days.is_empty() {
        legend.push(LegendEntry {
            label: "needling session".into(),
            style: session_style,
            swatch: Swatch::Dashed,
        });
    }
    for (k, (name, _)) in series.iter().enumerate() {
        legend.push(LegendEntry::line(
            *name,
            ARM_COLORS[k % ARM_COLORS.len()].stroke_width(2),
        ));
    }
    let mut svg = String::new();
    {
        let (w, h) = crate::report::plot_style::canvas((900, 520), 1.5);
        let root = SVGBackend::with_string(&mut svg, (w, h + legend_height(&legend, w)))
            .into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let (root, caption) = crate::report::chart_caption(
            &root,
            format!(
                "zone `{}` ({}): hair count change from before treatment",
                z.zone,
                z.alopecia.scale.label(z.alopecia.grade)
            ),
            18,
        )?;
        let root = legend_below(&root, &legend)?;
        let mut builder = ChartBuilder::on(&root);
        if let Some((t, size)) = caption {
            builder.caption(t, ("sans-serif", size));
        }
        let mut chart = builder
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(73)
            .build_cartesian_2d(0.0..xmax, lo..hi)
            .map_err(plot_err)?;
        crate::report::draw_axes(
            &mut chart,
            "days from the start",
            "change of hairs per cm²",
            crate::report::GridLines::Coarse,
        )?;
        if needled {
            for &d in session_days {
                chart
                    .draw_series(DashedLineSeries::new(
                        vec![(d, lo), (d, hi)],
                        8,
                        6,
                        session_style,
                    ))
                    .map_err(plot_err)?;
            }
        }
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, 0.0), (xmax, 0.0)],
                BLACK.mix(0.5).stroke_width(1),
            )))
            .map_err(plot_err)?;
        for (k, (_, v)) in series.into_iter().enumerate() {
            let c = ARM_COLORS[k % ARM_COLORS.len()];
            chart
                .draw_series(LineSeries::new(v, c.stroke_width(2)))
                .map_err(plot_err)?;
        }
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}
