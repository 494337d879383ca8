//! Output files of `deliver`: the time series as CSV, depth profiles as CSV, and SVG plots
//! (cumulative amount and flux over time with and without needling; depth profiles).
//!
//! Everything here renders numbers the run already computed.

use std::fmt::Write as _;

use plotters::prelude::*;

use crate::report::{LegendEntry, legend_below, legend_height, plot_err};

use super::run::{DeliverReport, SeriesPoint};

/// A plotted curve: label, value of a series point, colour.
type Curve<'a> = (&'a str, Box<dyn Fn(&SeriesPoint) -> f64>, RGBColor);

fn opt(v: Option<f64>) -> String {
    v.map_or(String::new(), |x| format!("{x:.6e}"))
}

/// The time series, one row per output time.
pub fn series_csv(r: &DeliverReport) -> String {
    let mut s = String::new();
    s.push_str("t_h,open_area_fraction,surface_mg_ml");
    for arm in ["needled", "intact"] {
        for q in [
            "sc_ug_cm2",
            "ve_ug_cm2",
            "pd_ug_cm2",
            "rd_ug_cm2",
            "entered_ug_cm2",
            "reached_dermis_ug_cm2",
            "receptor_blood_ug_cm2",
            "flux_in_ug_cm2_h",
            "flux_out_ug_cm2_h",
            "donor_ug_cm2",
        ] {
            let _ = write!(s, ",{arm}_{q}");
        }
    }
    s.push_str(",enhancement_receptor_blood,enhancement_reached_dermis\n");
    for p in &r.series {
        let _ = write!(
            s,
            "{:.6},{:.6e},{:.6e}",
            p.t_h, p.open_area_fraction, p.surface_mg_ml
        );
        for a in [&p.needled, &p.intact] {
            let _ = write!(
                s,
                ",{:.6e},{:.6e},{:.6e},{:.6e},{:.6e},{:.6e},{:.6e},{:.6e},{:.6e},{}",
                a.stratum_corneum_ug_cm2,
                a.viable_epidermis_ug_cm2,
                a.papillary_dermis_ug_cm2,
                a.reticular_dermis_ug_cm2,
                a.entered_ug_cm2,
                a.reached_dermis_ug_cm2,
                a.receptor_blood_ug_cm2,
                a.flux_in_ug_cm2_h,
                a.flux_out_ug_cm2_h,
                opt(a.donor_ug_cm2)
            );
        }
        let _ = writeln!(
            s,
            ",{},{}",
            opt(p.enhancement_receptor_blood),
            opt(p.enhancement_reached_dermis)
        );
    }
    s
}

/// The permeation report per arm (OECD TG 428 style) and the study's endpoint, long format:
/// `arm, quantity, value, unit` (CSVs are machine units: full precision, empty when undefined).
pub fn permeation_csv(r: &DeliverReport) -> String {
    let mut s = String::from("arm,quantity,value,unit\n");
    let p = &r.permeation;
    for (name, a) in [("needled", &p.needled), ("intact", &p.intact)] {
        let mut row = |q: &str, v: Option<f64>, u: &str| {
            let _ = writeln!(s, "{name},{q},{},{u}", opt(v));
        };
        row("steady_window_from", Some(p.window_h[0]), "h");
        row("steady_window_to", Some(p.window_h[1]), "h");
        row("jss", a.jss_ug_cm2_h, "ug/(cm2*h)");
        row("kp", a.kp_cm_h, "cm/h");
        row("lag_time", a.lag_time_h, "h");
        row("cumulative", Some(a.cumulative_ug_cm2), "ug/cm2");
        row("applied", a.applied_ug_cm2, "ug/cm2");
        for c in &a.compartments {
            row(&c.compartment, Some(c.amount_ug_cm2), "ug/cm2");
            row(
                &format!("{}_percent_of_dose", c.compartment),
                c.percent_of_dose,
                "%",
            );
        }
        row("recovery", a.recovery_percent, "%");
    }
    let e = &r.experiment;
    let unit = e.unit.replace('µ', "u").replace('²', "2").replace('·', "*");
    for smp in &e.samples {
        let q = format!("endpoint_{}_at_{}h", endpoint_key(e.endpoint), smp.t_h);
        let _ = writeln!(s, "needled,{q},{:.6e},{unit}", smp.needled);
        let _ = writeln!(s, "intact,{q},{:.6e},{unit}", smp.intact);
    }
    let q = format!("endpoint_{}", endpoint_key(e.endpoint));
    let _ = writeln!(s, "needled,{q},{},{unit}", opt(e.needled));
    let _ = writeln!(s, "intact,{q},{},{unit}", opt(e.intact));
    let _ = writeln!(s, "ratio,enhancement_{q},{},fold", opt(e.enhancement));
    s
}

fn endpoint_key(e: super::experiment::Endpoint) -> &'static str {
    super::experiment::Endpoint::ALL
        .iter()
        .find(|x| x.1 == e)
        .map_or("", |x| x.0)
}

/// Depth profiles: `t_h, arm, depth_um, conc_ug_ml`.
pub fn profiles_csv(r: &DeliverReport) -> String {
    let mut s = String::from("t_h,arm,depth_um,concentration_ug_ml\n");
    for p in &r.profiles {
        for (z, c) in p.needled_depth_um.iter().zip(&p.needled_ug_ml) {
            let _ = writeln!(s, "{:.4},needled,{z:.2},{c:.6e}", p.t_h);
        }
        for (z, c) in p.intact_depth_um.iter().zip(&p.intact_ug_ml) {
            let _ = writeln!(s, "{:.4},intact,{z:.2},{c:.6e}", p.t_h);
        }
    }
    s
}

fn log_floor(max: f64) -> f64 {
    (max * 1e-6).max(1e-12)
}

/// Cumulative amount (top) and flux (bottom) over time, needled vs intact.
pub fn time_svg(r: &DeliverReport) -> std::io::Result<String> {
    let mut svg = String::new();
    {
        let t_max = r.series.last().map_or(1.0, |p| p.t_h).max(1e-6);
        let curves: [Curve; 4] = [
            (
                "reached dermis, needled",
                Box::new(|p| p.needled.reached_dermis_ug_cm2),
                RGBColor(200, 40, 40),
            ),
            (
                "blood + receptor, needled",
                Box::new(|p| p.needled.receptor_blood_ug_cm2),
                RGBColor(40, 40, 200),
            ),
            (
                "reached dermis, intact",
                Box::new(|p| p.intact.reached_dermis_ug_cm2),
                RGBColor(230, 150, 150),
            ),
            (
                "blood + receptor, intact",
                Box::new(|p| p.intact.receptor_blood_ug_cm2),
                RGBColor(150, 150, 230),
            ),
        ];
        let fl: [Curve; 4] = [
            (
                "into skin, needled",
                Box::new(|p| p.needled.flux_in_ug_cm2_h),
                RGBColor(200, 40, 40),
            ),
            (
                "out, needled",
                Box::new(|p| p.needled.flux_out_ug_cm2_h),
                RGBColor(40, 40, 200),
            ),
            (
                "into skin, intact",
                Box::new(|p| p.intact.flux_in_ug_cm2_h),
                RGBColor(230, 150, 150),
            ),
            (
                "out, intact",
                Box::new(|p| p.intact.flux_out_ug_cm2_h),
                RGBColor(150, 150, 230),
            ),
        ];
        // Each panel's legend below it, outside the plot (crate::report::legend_below).
        let entries = |cs: &[Curve; 4]| -> Vec<LegendEntry> {
            cs.iter()
                .map(|(n, _, c)| LegendEntry::line(*n, c.stroke_width(2)))
                .collect()
        };
        let (top_legend, bottom_legend) = (entries(&curves), entries(&fl));
        // Phone: taller than 1.3x, as the two panels each carry a wrapped caption and a legend.
        let (w, h) = crate::report::plot_style::canvas((900, 760), 1.9);
        let extra = legend_height(&top_legend, w) + legend_height(&bottom_legend, w);
        let root = SVGBackend::with_string(&mut svg, (w, h + extra)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        // Wide: the amount panel 380 px high as before; phone: the two panels share the height.
        let split = if crate::report::plot_style::is_narrow() {
            (h + extra) / 2
        } else {
            380 + legend_height(&top_legend, w)
        };
        let (top, bottom) = root.split_vertically(split);
        let ymax = r
            .series
            .iter()
            .flat_map(|p| curves.iter().map(move |c| (c.1)(p)))
            .fold(0.0, f64::max)
            .max(1e-9)
            * 1.1;
        let (top, caption) = crate::report::chart_caption(
            &top,
            format!(
                "{}: cumulative amount per area ({})",
                r.product.replace('_', " "),
                r.zone
            ),
            16,
        )?;
        let top = legend_below(&top, &top_legend)?;
        let mut builder = ChartBuilder::on(&top);
        if let Some((t, size)) = caption {
            builder.caption(t, ("sans-serif", size));
        }
        let mut chart = builder
            .margin(10)
            .x_label_area_size(45)
            .y_label_area_size(88)
            .build_cartesian_2d(0.0..t_max, 0.0..ymax)
            .map_err(plot_err)?;
        crate::report::draw_axes(
            &mut chart,
            "time after needling (h)",
            "amount per skin area (µg/cm²)",
            crate::report::GridLines::Coarse,
        )?;
        for (_, f, col) in &curves {
            let col = *col;
            chart
                .draw_series(LineSeries::new(
                    r.series.iter().map(|p| (p.t_h, f(p))),
                    col.stroke_width(2),
                ))
                .map_err(plot_err)?;
        }

        let fmax = r
            .series
            .iter()
            .flat_map(|p| {
                [
                    p.needled.flux_in_ug_cm2_h,
                    p.intact.flux_in_ug_cm2_h,
                    p.needled.flux_out_ug_cm2_h,
                    p.intact.flux_out_ug_cm2_h,
                ]
            })
            .fold(0.0, f64::max)
            .max(1e-9);
        let floor = log_floor(fmax);
        let (bottom, caption) = crate::report::chart_caption(
            &bottom,
            "flux into the skin and out to blood + receptor".to_string(),
            16,
        )?;
        let bottom = legend_below(&bottom, &bottom_legend)?;
        let mut builder = ChartBuilder::on(&bottom);
        if let Some((t, size)) = caption {
            builder.caption(t, ("sans-serif", size));
        }
        let mut chart = builder
            .margin(10)
            .x_label_area_size(45)
            .y_label_area_size(88)
            .build_cartesian_2d(0.0..t_max, (floor..fmax * 2.0).log_scale())
            .map_err(plot_err)?;
        crate::report::draw_axes(
            &mut chart,
            "time after needling (h)",
            "flux (µg/(cm²·h))",
            crate::report::GridLines::Coarse,
        )?;
        for (_, f, col) in &fl {
            let col = *col;
            chart
                .draw_series(LineSeries::new(
                    r.series.iter().map(|p| (p.t_h, f(p).max(floor))),
                    col.stroke_width(2),
                ))
                .map_err(plot_err)?;
        }
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

/// Depth profiles at the profile times, needled (solid) vs intact (light), log concentration.
pub fn profile_svg(r: &DeliverReport) -> std::io::Result<String> {
    let mut svg = String::new();
    {
        let palette = [
            RGBColor(200, 40, 40),
            RGBColor(40, 120, 40),
            RGBColor(40, 40, 200),
            RGBColor(150, 60, 150),
            RGBColor(200, 130, 0),
        ];
        let legend: Vec<LegendEntry> = r
            .profiles
            .iter()
            .enumerate()
            .flat_map(|(i, p)| {
                let col = palette[i % palette.len()];
                [
                    LegendEntry::line(format!("needled, {:.2} h", p.t_h), col.stroke_width(2)),
                    LegendEntry::line(
                        format!("intact, {:.2} h", p.t_h),
                        col.mix(0.4).stroke_width(1),
                    ),
                ]
            })
            .collect();
        let (w, h) = crate::report::plot_style::canvas((800, 600), 1.3);
        let root = SVGBackend::with_string(&mut svg, (w, h + legend_height(&legend, w)))
            .into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let zmax = r
            .profiles
            .iter()
            .flat_map(|p| p.needled_depth_um.iter().chain(&p.intact_depth_um))
            .fold(0.0f64, |a, b| a.max(*b))
            .max(1.0);
        let cmax = r
            .profiles
            .iter()
            .flat_map(|p| p.needled_ug_ml.iter().chain(&p.intact_ug_ml))
            .fold(0.0f64, |a, b| a.max(*b))
            .max(1e-12);
        let floor = log_floor(cmax);
        let (root, caption) = crate::report::chart_caption(
            &root,
            format!(
                "{}: depth profile (laterally averaged)",
                r.product.replace('_', " ")
            ),
            16,
        )?;
        let root = legend_below(&root, &legend)?;
        let mut builder = ChartBuilder::on(&root);
        if let Some((t, size)) = caption {
            builder.caption(t, ("sans-serif", size));
        }
        // Phone: room on the right for the last tick label of the log axis. That label is
        // centred on the highest decade, which can sit near the right edge (a stratum corneum
        // that stores the solute K_SC-fold makes the axis reach 1e5 µg/mL): widen the margin by
        // what it would run past the figure (~0.6 em per character).
        let base = if crate::report::plot_style::is_narrow() {
            30
        } else {
            10
        };
        let (lo, hi) = (floor.log10(), (cmax * 2.0).log10());
        let top = hi.floor();
        let frac = if hi > lo { (top - lo) / (hi - lo) } else { 0.0 };
        let half_label = crate::report::tick(10f64.powf(top)).chars().count() as f64
            * 0.6
            * crate::report::plot_style::TICK as f64
            / 2.0;
        let plot_w = w as f64 - 10.0 - base as f64 - 78.0;
        let over = half_label - (1.0 - frac) * plot_w - base as f64;
        let right = if over > 0.0 && frac > 0.0 {
            base + (over / frac).ceil() as u32 + 2
        } else {
            base
        };
        let mut chart = builder
            .margin(10)
            .margin_right(right)
            .x_label_area_size(45)
            .y_label_area_size(78)
            .build_cartesian_2d((floor..cmax * 2.0).log_scale(), zmax..0.0)
            .map_err(plot_err)?;
        crate::report::draw_axes(
            &mut chart,
            "concentration (µg/mL)",
            "depth (µm)",
            crate::report::GridLines::Coarse,
        )?;
        for (i, p) in r.profiles.iter().enumerate() {
            let col = palette[i % palette.len()];
            chart
                .draw_series(LineSeries::new(
                    p.needled_depth_um
                        .iter()
                        .zip(&p.needled_ug_ml)
                        .map(|(z, c)| (c.max(floor), *z)),
                    col.stroke_width(2),
                ))
                .map_err(plot_err)?;
            let light = col.mix(0.4);
            chart
                .draw_series(LineSeries::new(
                    p.intact_depth_um
                        .iter()
                        .zip(&p.intact_ug_ml)
                        .map(|(z, c)| (c.max(floor), *z)),
                    light.stroke_width(1),
                ))
                .map_err(plot_err)?;
        }
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}
