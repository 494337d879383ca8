//! Healing outputs: the time-series CSV and SVG time courses with session markers.
//!
//! Renders data the model already computed; nothing is simulated here.

#![allow(clippy::needless_range_loop)]

use std::fmt::Write as _;

use plotters::prelude::*;

use crate::report::{LegendEntry, Swatch, legend_below, legend_height, plot_err};

use super::outcomes::ZoneResult;
use super::params::{DAY, NG_ML, PG_ML};
use crate::protocol::Protocol;

/// The time series of one zone as CSV (human units: days, %, per mm³, pg/mL, ng/mL).
pub fn timeseries_csv(z: &ZoneResult) -> String {
    let s = &z.nominal;
    let mut out = String::with_capacity(s.t_s.len() * 200);
    out.push_str(
        "day,collagen_i_pct,collagen_i_pct_p5,collagen_i_pct_p95,collagen_iii_pct,collagen_iii_pct_p5,collagen_iii_pct_p95,\
elastin_pct,elastin_pct_p5,elastin_pct_p95,papillary_collagen_pct,epidermis_pct,epidermis_pct_p5,epidermis_pct_p95,\
dermis_pct,redness_ratio,redness_ratio_p5,redness_ratio_p95,swelling_pct,open_surface_pct,damage_pct,cytokine_pg_ml,\
pdgf_ng_ml,tgfb_excess_ng_ml,neutrophils_per_mm3,macrophages_per_mm3,fibroblasts_activated_per_mm3,mmp_relative\n",
    );
    let b = &z.bands;
    for i in 0..s.t_s.len() {
        let _ = writeln!(
            out,
            "{:.4},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.4},{:.4},{:.4},{:.4},{:.5},{:.5},{:.3},{:.5},{:.4},{:.1},{:.1},{:.1},{:.4}",
            s.t_s[i] / DAY,
            s.collagen_i_pct[i],
            b[0][0][i],
            b[0][1][i],
            s.collagen_iii_pct[i],
            b[1][0][i],
            b[1][1][i],
            s.elastin_pct[i],
            b[2][0][i],
            b[2][1][i],
            s.papillary_collagen_pct[i],
            s.epidermis_pct[i],
            b[3][0][i],
            b[3][1][i],
            s.dermis_pct[i],
            s.redness_ratio[i],
            b[4][0][i],
            b[4][1][i],
            s.swelling_pct[i],
            100.0 * s.open_surface[i],
            100.0 * s.damage[i],
            s.cytokine[i] / PG_ML,
            s.pdgf[i] / NG_ML,
            s.tgfb_excess[i] / NG_ML,
            s.neutrophils[i] * 1e-9,
            s.macrophages[i] * 1e-9,
            s.fibroblasts_active[i] * 1e-9,
            s.mmp[i],
        );
    }
    out
}

const COLORS: [RGBColor; 5] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
];

/// Matrix and epidermis over the whole protocol (% change, 5-95 % bands), sessions marked.
pub fn timecourse_svg(zone: &str, z: &ZoneResult, protocol: &Protocol) -> std::io::Result<String> {
    let s = &z.nominal;
    let days: Vec<f64> = s.t_s.iter().map(|t| t / DAY).collect();
    let series: [(&str, &Vec<f64>, usize); 4] = [
        ("collagen I", &s.collagen_i_pct, 0),
        ("collagen III", &s.collagen_iii_pct, 1),
        ("elastin", &s.elastin_pct, 2),
        ("epidermal thickness", &s.epidermis_pct, 3),
    ];
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for (_, _, k) in &series {
        for v in z.bands[*k][0].iter().chain(&z.bands[*k][1]) {
            lo = lo.min(*v);
            hi = hi.max(*v);
        }
    }
    for (_, v, _) in &series {
        for x in v.iter() {
            lo = lo.min(*x);
            hi = hi.max(*x);
        }
    }
    let pad = 0.05 * (hi - lo).max(1.0);
    let (lo, hi) = (lo - pad, hi + pad);
    let xmax = days.last().copied().unwrap_or(1.0).max(1.0);
    let session_style = RGBColor(90, 90, 90).stroke_width(2);
    // The legend below the plot, outside it (crate::report::legend_below).
    let legend: Vec<LegendEntry> = std::iter::once(LegendEntry {
        label: "session".into(),
        style: session_style,
        swatch: Swatch::Dashed,
    })
    .chain(
        series
            .iter()
            .map(|(name, _, k)| LegendEntry::line(*name, COLORS[*k].stroke_width(2))),
    )
    .collect();
    let mut svg = String::new();
    {
        let (w, h) = crate::report::plot_style::canvas((900, 520), 1.5);
        let root = SVGBackend::with_string(&mut svg, (w, h + legend_height(&legend, w)))
            .into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let (root, caption) = crate::report::chart_caption(
            &root,
            format!("zone `{zone}`: change from before treatment (lines: nominal; bands: 5-95 %)"),
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
            "days from the first session",
            "change (%)",
            crate::report::GridLines::Coarse,
        )?;
        // Sessions: dashed vertical lines (one legend entry, in the strip below).
        for &ts in &protocol.session_times_s {
            let d = ts / DAY;
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(d, lo), (d, hi)],
                    8,
                    6,
                    session_style,
                ))
                .map_err(plot_err)?;
        }
        for (_, v, k) in series {
            let c = COLORS[k];
            let band: Vec<(f64, f64)> = days
                .iter()
                .zip(&z.bands[k][1])
                .map(|(&d, &y)| (d, y))
                .chain(days.iter().zip(&z.bands[k][0]).rev().map(|(&d, &y)| (d, y)))
                .collect();
            chart
                .draw_series(std::iter::once(Polygon::new(band, c.mix(0.15))))
                .map_err(plot_err)?;
            chart
                .draw_series(LineSeries::new(
                    days.iter().zip(v.iter()).map(|(&d, &y)| (d, y)),
                    c.stroke_width(2),
                ))
                .map_err(plot_err)?;
        }
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

/// The first weeks after the first session: cells, signals and redness normalised to their
/// peak, so the emergent phase order is visible; later sessions marked.
pub fn response_svg(zone: &str, z: &ZoneResult, protocol: &Protocol) -> std::io::Result<String> {
    let s = &z.nominal;
    let t_end = protocol
        .session_times_s
        .get(1)
        .copied()
        .unwrap_or(protocol.follow_up_s)
        .min(60.0 * DAY);
    let n = s.t_s.iter().take_while(|&&t| t <= t_end).count();
    let days: Vec<f64> = s.t_s[..n].iter().map(|t| t / DAY).collect();
    let red: Vec<f64> = s.redness_ratio[..n].iter().map(|r| r - 1.0).collect();
    let c3_rate: Vec<f64> = (0..n)
        .map(|i| {
            if i == 0 {
                0.0
            } else {
                (s.collagen_iii_pct[i] - s.collagen_iii_pct[i - 1])
                    / (s.t_s[i] - s.t_s[i - 1]).max(1.0)
            }
        })
        .collect();
    let c1_rate: Vec<f64> = (0..n)
        .map(|i| {
            if i == 0 {
                0.0
            } else {
                (s.collagen_i_pct[i] - s.collagen_i_pct[i - 1]) / (s.t_s[i] - s.t_s[i - 1]).max(1.0)
            }
        })
        .collect();
    let lines: [(&str, Vec<f64>); 7] = [
        ("redness (excess blood volume)", red),
        ("inflammatory signal", s.cytokine[..n].to_vec()),
        ("neutrophils", s.neutrophils[..n].to_vec()),
        (
            "macrophages (excess)",
            s.macrophages[..n]
                .iter()
                .map(|m| m - s.macrophages[0])
                .collect(),
        ),
        ("activated fibroblasts", s.fibroblasts_active[..n].to_vec()),
        ("collagen III deposition rate", c3_rate),
        ("collagen I deposition rate", c1_rate),
    ];
    let palette = [
        RGBColor(214, 39, 40),
        RGBColor(255, 127, 14),
        RGBColor(140, 86, 75),
        RGBColor(148, 103, 189),
        RGBColor(44, 160, 44),
        RGBColor(31, 119, 180),
        RGBColor(23, 190, 207),
    ];
    let xmax = days.last().copied().unwrap_or(1.0).max(1.0);
    // The legend below the plot (the curves drawn: those with a peak).
    let legend: Vec<LegendEntry> = lines
        .iter()
        .enumerate()
        .filter(|(_, (_, v))| v.iter().copied().fold(0.0, f64::max) > 0.0)
        .map(|(k, (name, _))| LegendEntry::line(*name, palette[k].stroke_width(2)))
        .collect();
    let mut svg = String::new();
    {
        let (w, h) = crate::report::plot_style::canvas((900, 520), 1.5);
        let root = SVGBackend::with_string(&mut svg, (w, h + legend_height(&legend, w)))
            .into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let (root, caption) = crate::report::chart_caption(
            &root,
            format!("zone `{zone}`: response to the first session (each curve / its peak)"),
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
            .build_cartesian_2d(0.0..xmax, 0.0..1.1)
            .map_err(plot_err)?;
        crate::report::draw_axes(
            &mut chart,
            "days from the first session",
            "relative to peak",
            crate::report::GridLines::Coarse,
        )?;
        for (k, (_, v)) in lines.into_iter().enumerate() {
            let peak = v.iter().copied().fold(0.0, f64::max);
            if peak <= 0.0 {
                continue;
            }
            let c = palette[k];
            chart
                .draw_series(LineSeries::new(
                    days.iter().zip(&v).map(|(&d, &y)| (d, (y / peak).max(0.0))),
                    c.stroke_width(2),
                ))
                .map_err(plot_err)?;
        }
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}
