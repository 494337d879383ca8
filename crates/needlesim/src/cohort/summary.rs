//! The cohort's summary: counts, responder shares and outcome quantiles per protocol and per
//! group (concern, phototype, age band), the summary table and the plots.
//!
//! Aggregates are streamed: each group keeps counts and a histogram of the predicted
//! improvement in bins of [`BIN_PCT`] (quantiles are read from it, to that resolution), so the
//! summary's memory does not grow with the cohort.

use std::collections::BTreeMap;

use plotters::prelude::*;
use serde::Serialize;

use super::table::SummaryRow;
use crate::plan::rules::roman;
use crate::report::{
    GridLines, LegendEntry, Swatch, draw_axes, legend_strip, legend_strip_height, plot_err,
    plot_style,
};

/// Width of the improvement histogram's bins, percentage points.
pub const BIN_PCT: f64 = 0.1;
/// The histogram's range, % (values outside land in the end bins).
pub const HIST_RANGE_PCT: (f64, f64) = (-100.0, 300.0);
/// The age bands of the summary, years (lower bound inclusive; the last includes 90).
pub const AGE_BANDS: [(u32, u32); 7] = [
    (18, 29),
    (30, 39),
    (40, 49),
    (50, 59),
    (60, 69),
    (70, 79),
    (80, 90),
];

fn nbins() -> usize {
    ((HIST_RANGE_PCT.1 - HIST_RANGE_PCT.0) / BIN_PCT).round() as usize
}

/// The aggregates of one group of rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Agg {
    pub rows: u64,
    pub treated: u64,
    pub failed: u64,
    pub predicted: u64,
    pub responders: u64,
    sum_improvement: f64,
    sum_downtime: f64,
    n_downtime: u64,
    sum_pih: f64,
    n_pih: u64,
    min_improvement: f64,
    max_improvement: f64,
    hist: Vec<u32>,
}

impl Default for Agg {
    fn default() -> Self {
        Agg {
            rows: 0,
            treated: 0,
            failed: 0,
            predicted: 0,
            responders: 0,
            sum_improvement: 0.0,
            sum_downtime: 0.0,
            n_downtime: 0,
            sum_pih: 0.0,
            n_pih: 0,
            min_improvement: f64::INFINITY,
            max_improvement: f64::NEG_INFINITY,
            hist: vec![0; nbins()],
        }
    }
}

impl Agg {
    fn add(&mut self, r: &SummaryRow) {
        self.rows += 1;
        self.treated += u64::from(r.treated == Some(true));
        self.failed += u64::from(r.failed);
        if let Some(v) = r.improvement_pct {
            self.predicted += 1;
            self.sum_improvement += v;
            self.min_improvement = self.min_improvement.min(v);
            self.max_improvement = self.max_improvement.max(v);
            let k = ((v - HIST_RANGE_PCT.0) / BIN_PCT).floor();
            let k = (k.max(0.0) as usize).min(self.hist.len() - 1);
            self.hist[k] += 1;
        }
        self.responders += u64::from(r.responder == Some(true));
        if let Some(v) = r.downtime_days {
            self.sum_downtime += v;
            self.n_downtime += 1;
        }
        if let Some(v) = r.pih_risk_pct {
            self.sum_pih += v;
            self.n_pih += 1;
        }
    }

    /// Mean predicted improvement, %.
    pub fn improvement_mean(&self) -> Option<f64> {
        (self.predicted > 0).then(|| self.sum_improvement / self.predicted as f64)
    }

    /// The `q` quantile of the predicted improvement (its bin's centre, kept within the
    /// smallest and largest value), %.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.predicted == 0 {
            return None;
        }
        let target = (q * self.predicted as f64).ceil().max(1.0) as u64;
        let mut acc = 0u64;
        for (k, &c) in self.hist.iter().enumerate() {
            acc += u64::from(c);
            if acc >= target {
                let centre = HIST_RANGE_PCT.0 + (k as f64 + 0.5) * BIN_PCT;
                return Some(centre.clamp(self.min_improvement, self.max_improvement));
            }
        }
        None
    }

    /// Responders, % of the predicted rows.
    pub fn responder_pct(&self) -> Option<f64> {
        (self.predicted > 0).then(|| 100.0 * self.responders as f64 / self.predicted as f64)
    }

    pub fn downtime_mean(&self) -> Option<f64> {
        (self.n_downtime > 0).then(|| self.sum_downtime / self.n_downtime as f64)
    }

    pub fn pih_mean(&self) -> Option<f64> {
        (self.n_pih > 0).then(|| self.sum_pih / self.n_pih as f64)
    }

    /// Share of the predicted rows per histogram bin of `width` %, from `lo` to `hi` (plots).
    fn coarse(&self, lo: f64, hi: f64, width: f64) -> Vec<(f64, f64)> {
        let n = ((hi - lo) / width).round() as usize;
        let per = (width / BIN_PCT).round() as usize;
        let first = ((lo - HIST_RANGE_PCT.0) / BIN_PCT).round() as usize;
        (0..n)
            .map(|i| {
                let a = first + i * per;
                let c: u64 = self.hist[a.min(self.hist.len())..(a + per).min(self.hist.len())]
                    .iter()
                    .map(|&x| u64::from(x))
                    .sum();
                (
                    lo + (i as f64 + 0.5) * width,
                    100.0 * c as f64 / self.predicted.max(1) as f64,
                )
            })
            .collect()
    }
}

/// The summary's group keys: ("all", ""), ("concern", name), ("phototype", "I".."VI"),
/// ("age", "30-39").
pub type Key = (String, String);

/// The aggregates of every protocol and group.
#[derive(Clone, Debug, Default)]
pub struct Aggregates {
    /// Protocol name -> group -> aggregate (protocols in the file's order via `order`).
    pub by: BTreeMap<(usize, Key), Agg>,
    pub protocols: Vec<String>,
    /// What `improvement_pct` measures for each concern (the first metric seen).
    pub metric: BTreeMap<String, String>,
}

fn age_band(age: f64) -> String {
    let a = age.floor() as u32;
    AGE_BANDS
        .iter()
        .find(|(lo, hi)| a >= *lo && a <= *hi)
        .map_or_else(|| "other".into(), |(lo, hi)| format!("{lo}-{hi}"))
}

impl Aggregates {
    pub fn new(protocols: Vec<String>) -> Aggregates {
        Aggregates {
            by: BTreeMap::new(),
            protocols,
            metric: BTreeMap::new(),
        }
    }

    /// Adds a row of protocol `p`.
    pub fn add(&mut self, p: usize, r: &SummaryRow) {
        if let Some(m) = &r.metric
            && !self.metric.contains_key(&r.concern)
        {
            self.metric.insert(r.concern.clone(), m.clone());
        }
        let keys: [Key; 4] = [
            ("all".into(), String::new()),
            ("concern".into(), r.concern.clone()),
            (
                "phototype".into(),
                roman(r.phototype.clamp(0, 6) as u8).into(),
            ),
            ("age".into(), age_band(r.age_years)),
        ];
        for k in keys {
            self.by.entry((p, k)).or_default().add(r);
        }
    }

    /// The aggregate of protocol `p` and a group.
    pub fn get(&self, p: usize, group: &str, value: &str) -> Option<&Agg> {
        self.by.get(&(p, (group.to_string(), value.to_string())))
    }
}

fn f(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.4}")).unwrap_or_default()
}

/// The summary table: one line per protocol and group.
pub fn csv(a: &Aggregates) -> String {
    let mut s = String::from(
        "protocol,group,value,rows,treated,failed,predicted,responders_pct,improvement_pct_mean,improvement_pct_p10,improvement_pct_median,improvement_pct_p90,downtime_days_mean,pih_risk_pct_mean\n",
    );
    let group_order = |g: &str| match g {
        "all" => 0,
        "concern" => 1,
        "phototype" => 2,
        _ => 3,
    };
    let mut keys: Vec<&(usize, Key)> = a.by.keys().collect();
    keys.sort_by(|x, y| {
        x.0.cmp(&y.0)
            .then(group_order(&x.1.0).cmp(&group_order(&y.1.0)))
            .then(x.1.1.cmp(&y.1.1))
    });
    for k in keys {
        let g = &a.by[k];
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            a.protocols[k.0],
            k.1.0,
            k.1.1,
            g.rows,
            g.treated,
            g.failed,
            g.predicted,
            f(g.responder_pct()),
            f(g.improvement_mean()),
            f(g.quantile(0.1)),
            f(g.quantile(0.5)),
            f(g.quantile(0.9)),
            f(g.downtime_mean()),
            f(g.pih_mean()),
        ));
    }
    s
}

/// The protocol colours of the plots (colour-blind-safe Okabe-Ito order).
const COLORS: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(230, 159, 0),
    RGBColor(0, 0, 0),
    RGBColor(240, 228, 66),
];

fn color(i: usize) -> RGBColor {
    COLORS[i % COLORS.len()]
}

/// The protocols' key, in their plot colours, for a strip below the plots.
fn protocol_legend(a: &Aggregates, swatch: Swatch) -> Vec<LegendEntry> {
    a.protocols
        .iter()
        .enumerate()
        .map(|(p, name)| LegendEntry {
            label: name.clone(),
            style: match swatch {
                Swatch::Box => color(p).filled(),
                _ => color(p).stroke_width(3),
            },
            swatch,
        })
        .collect()
}

/// Outcome distributions per protocol: one panel per concern, the share of predicted rows per
/// 2 % bin of the predicted improvement, a line per protocol.
pub fn outcomes_svg(a: &Aggregates, concerns: &[(String, String)]) -> std::io::Result<String> {
    let mut svg = String::new();
    let panels = concerns.len().max(1);
    // One key for every panel, in a strip below the plots: a key inside a panel covers its
    // curves, and plotters sizes its box with its own font metrics, so long names ran out of it.
    let legend = protocol_legend(a, Swatch::Line);
    let legend_h = legend_strip_height(&legend, 900, 4);
    let h = 340 * panels as u32 + legend_h;
    {
        let root = SVGBackend::with_string(&mut svg, (900, h)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let plots = legend_strip(&root, &legend, 4)?;
        let areas = plots.split_evenly((panels, 1));
        for (area, (concern, metric)) in areas.iter().zip(concerns) {
            // The x range: the 0.5-99.5 % of all protocols' values, padded, in 2 % bins.
            let mut lo = f64::INFINITY;
            let mut hi = f64::NEG_INFINITY;
            for p in 0..a.protocols.len() {
                if let Some(g) = a.get(p, "concern", concern) {
                    if let (Some(x), Some(y)) = (g.quantile(0.005), g.quantile(0.995)) {
                        lo = lo.min(x);
                        hi = hi.max(y);
                    }
                }
            }
            if !lo.is_finite() {
                (lo, hi) = (0.0, 10.0);
            }
            let width = 2.0;
            let lo = ((lo - width) / width).floor() * width;
            let hi = ((hi + width) / width).ceil() * width;
            let series: Vec<(usize, Vec<(f64, f64)>)> = (0..a.protocols.len())
                .filter_map(|p| {
                    a.get(p, "concern", concern)
                        .filter(|g| g.predicted > 0)
                        .map(|g| (p, g.coarse(lo, hi, width)))
                })
                .collect();
            let ymax = series
                .iter()
                .flat_map(|(_, v)| v.iter().map(|x| x.1))
                .fold(1.0, f64::max)
                * 1.1;
            let mut chart = ChartBuilder::on(area)
                .caption(
                    format!("{} ({metric})", concern.replace('_', " ")),
                    ("sans-serif", 18),
                )
                .margin(12)
                .margin_right(40)
                .x_label_area_size(45)
                .y_label_area_size(60)
                .build_cartesian_2d(lo..hi, 0.0..ymax)
                .map_err(plot_err)?;
            draw_axes(
                &mut chart,
                "predicted improvement at the horizon, % (mean of each row's band)",
                "share of predicted rows, % per 2 % bin",
                GridLines::Coarse,
            )?;
            for (p, pts) in &series {
                let c = color(*p);
                chart
                    .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))
                    .map_err(plot_err)?;
            }
        }
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

/// Responders (% of predicted rows) per group value, a bar per protocol: by phototype or by
/// age band. Groups without predicted rows are left empty.
pub fn responders_svg(
    a: &Aggregates,
    group: &str,
    values: &[String],
    x_desc: &str,
    threshold_pct: f64,
) -> std::io::Result<String> {
    let mut svg = String::new();
    let legend = protocol_legend(a, Swatch::Box);
    let legend_h = legend_strip_height(&legend, 900, 4);
    {
        let root = SVGBackend::with_string(&mut svg, (900, 480 + legend_h)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let plot = legend_strip(&root, &legend, 4)?;
        let np = a.protocols.len().max(1);
        let n = values.len().max(1);
        let mut chart = ChartBuilder::on(&plot)
            .caption(
                format!("Responders (predicted improvement >= {threshold_pct} %) by {group}"),
                ("sans-serif", 18),
            )
            .margin(12)
            .margin_right(40)
            .x_label_area_size(50)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..n as f64, 0.0..105.0)
            .map_err(plot_err)?;
        let fmt = |v: &f64| {
            let i = v.floor() as usize;
            if (v - i as f64 - 0.5).abs() < 1e-6 && i < values.len() {
                values[i].clone()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc("responders, % of predicted rows")
            .x_labels(2 * n + 1)
            .x_label_formatter(&fmt)
            .y_label_formatter(&|v: &f64| {
                if *v <= 100.0 + 1e-9 {
                    crate::report::tick(*v)
                } else {
                    String::new()
                }
            })
            .label_style(("sans-serif", plot_style::TICK))
            .axis_desc_style(("sans-serif", plot_style::AXIS))
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .draw()
            .map_err(plot_err)?;
        let bw = 0.8 / np as f64;
        for p in 0..a.protocols.len() {
            let c = color(p);
            let bars: Vec<(f64, f64)> = values
                .iter()
                .enumerate()
                .filter_map(|(i, v)| {
                    a.get(p, group, v)
                        .and_then(Agg::responder_pct)
                        .map(|r| (i as f64 + 0.1 + p as f64 * bw, r))
                })
                .collect();
            chart
                .draw_series(
                    bars.iter()
                        .map(|&(x, y)| Rectangle::new([(x, 0.0), (x + bw * 0.92, y)], c.filled())),
                )
                .map_err(plot_err)?;
        }
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

/// What one protocol gave, for the caller.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProtocolSummary {
    pub name: String,
    pub rows: u64,
    pub treated: u64,
    pub failed: u64,
    pub predicted: u64,
    pub responders_pct: Option<f64>,
    pub improvement_pct_median: Option<f64>,
    pub downtime_days_mean: Option<f64>,
    pub pih_risk_pct_mean: Option<f64>,
}

/// The protocols' overall lines.
pub fn protocol_summaries(a: &Aggregates) -> Vec<ProtocolSummary> {
    a.protocols
        .iter()
        .enumerate()
        .map(|(p, name)| {
            let g = a.get(p, "all", "").cloned().unwrap_or_default();
            ProtocolSummary {
                name: name.clone(),
                rows: g.rows,
                treated: g.treated,
                failed: g.failed,
                predicted: g.predicted,
                responders_pct: g.responder_pct(),
                improvement_pct_median: g.quantile(0.5),
                downtime_days_mean: g.downtime_mean(),
                pih_risk_pct_mean: g.pih_mean(),
            }
        })
        .collect()
}
