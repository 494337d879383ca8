//! Output writers: atomic files, CSV tables and SVG plots.
//!
//! Everything here renders data the pipeline already computed; nothing is simulated.

pub mod html;

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use plotters::coord::ranged1d::ValueFormatter;
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;

use crate::device::{Shape, Zone};
use crate::injury::ChannelSet;
use crate::skin::{LayerKind, SkinColumn};
use crate::units::{to_mm, to_um};

/// Writes a file atomically: to a temporary file in the same folder, then renamed over the
/// target, so a stopped run never leaves a half-written output.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// The channels as CSV: one row per channel, human units.
pub fn channels_csv(ch: &ChannelSet) -> String {
    let mut s = String::with_capacity(ch.channels.len() * 48 + 64);
    s.push_str("x_mm,y_mm,t_s,pass,depth_um,deepest_layer,bleeds\n");
    for c in &ch.channels {
        let _ = writeln!(
            s,
            "{:.4},{:.4},{:.4},{},{:.1},{},{}",
            to_mm(c.x_m),
            to_mm(c.y_m),
            c.t_s,
            c.pass,
            to_um(c.depth_m),
            c.deepest.name(),
            u8::from(c.bleeds)
        );
    }
    s
}

/// Font sizes of plots, px at the SVG's own size, and the phone layout of the figures.
///
/// Every plot is drawn at its own size for the files (`zone_<zone>.svg`, ...) and the wide
/// report. Reports also embed a phone version of each figure, drawn inside [`narrow`]: the
/// canvas is [`NARROW_WIDTH`] px wide ([`canvas`]), captions are wrapped onto as many lines as
/// they need ([`chart_caption`]), side-by-side panels are stacked, and axes carry fewer ticks, so
/// that at a phone's width (about 400 px of page) the figure fits the screen and its ticks
/// render at 11-13 px (plotters writes a font of size s as s / 1.24 px). The file versions are drawn outside [`narrow`] and do not change.
pub mod plot_style {
    use std::cell::Cell;

    /// Tick labels.
    pub const TICK: u32 = 16;
    /// Axis titles.
    pub const AXIS: u32 = 17;
    /// Legend entries.
    pub const LEGEND: u32 = 15;
    /// Width of the phone version of a figure, px.
    pub const NARROW_WIDTH: u32 = 420;

    thread_local! {
        static NARROW: Cell<bool> = const { Cell::new(false) };
    }

    /// Runs `f` drawing the phone versions of figures (on this thread).
    pub fn narrow<T>(f: impl FnOnce() -> T) -> T {
        let old = NARROW.with(|n| n.replace(true));
        let r = f();
        NARROW.with(|n| n.set(old));
        r
    }

    /// Whether figures are drawn for a phone now (inside [`narrow`]).
    pub fn is_narrow() -> bool {
        NARROW.with(Cell::get)
    }

    /// The canvas of a figure whose own size is `wide`: as given, or for a phone
    /// [`NARROW_WIDTH`] wide and `tall` times the scaled height (`tall` > 1 for stacked panels).
    pub fn canvas(wide: (u32, u32), tall: f64) -> (u32, u32) {
        if !is_narrow() {
            return wide;
        }
        let h = wide.1 as f64 * NARROW_WIDTH as f64 / wide.0 as f64 * tall;
        (NARROW_WIDTH, h.round().max(300.0) as u32)
    }

    /// Wraps `text` into lines of at most `max` characters (at spaces).
    pub fn wrap(text: &str, max: usize) -> Vec<String> {
        let mut lines: Vec<String> = Vec::new();
        let mut cur = String::new();
        for w in text.split(' ') {
            if !cur.is_empty() && cur.chars().count() + 1 + w.chars().count() > max {
                lines.push(std::mem::take(&mut cur));
            }
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(w);
        }
        if !cur.is_empty() {
            lines.push(cur);
        }
        lines
    }
}

/// The caption of a chart on `area`: for the files and wide reports it is handed back, to be
/// drawn by the chart builder as before (`Some((text, size))`, the area unchanged); for a phone
/// ([`plot_style::narrow`]) it is drawn here, wrapped to the width of the area, and the area
/// below it is returned with `None`.
pub fn chart_caption<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    text: String,
    size: u32,
) -> std::io::Result<(
    DrawingArea<DB, plotters::coord::Shift>,
    Option<(String, u32)>,
)> {
    if !plot_style::is_narrow() {
        return Ok((area.clone(), Some((text, size))));
    }
    Ok((wrapped_caption(area, text, size)?, None))
}

/// Draws `text` at the top of `area`, wrapped to its width (at most 16 px), and returns the
/// area below it: [`chart_caption`]'s phone version, and for any width a caption too long for
/// one line of its panel.
pub fn wrapped_caption<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    text: String,
    size: u32,
) -> std::io::Result<DrawingArea<DB, plotters::coord::Shift>> {
    let size = size.min(16);
    let width = area.dim_in_pixel().0 as f64;
    let max = ((width - 12.0) / (size as f64 * 0.56)).floor().max(10.0) as usize;
    let lines = plot_style::wrap(&text, max);
    let lh = size as f64 * 1.3;
    let (top, rest) = area.split_vertically((lines.len() as f64 * lh + 8.0).round() as u32);
    for (i, l) in lines.iter().enumerate() {
        top.draw(&Text::new(
            l.clone(),
            (6, (4.0 + i as f64 * lh).round() as i32),
            ("sans-serif", size).into_font(),
        ))
        .map_err(plot_err)?;
    }
    Ok(rest)
}

/// How a legend entry drawn by [`legend_below`] shows its series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Swatch {
    Line,
    Dashed,
    Box,
}

/// One entry of a legend drawn below a phone figure's plot ([`legend_below`]).
#[derive(Clone, Debug)]
pub struct LegendEntry {
    pub label: String,
    pub style: ShapeStyle,
    pub swatch: Swatch,
}

impl LegendEntry {
    /// A line series' entry.
    pub fn line(label: impl Into<String>, style: ShapeStyle) -> LegendEntry {
        LegendEntry {
            label: label.into(),
            style,
            swatch: Swatch::Line,
        }
    }
}

/// Height, px, of the legend strip [`legend_below`] puts below the plot of a figure `width` px
/// wide. Add it to the canvas, so that the plot keeps its height.
pub fn legend_height(entries: &[LegendEntry], width: u32) -> u32 {
    legend_strip_height(entries, width, legend_max_cols())
}

/// Columns of a [`legend_below`] strip: two on a phone, up to four on wider figures.
fn legend_max_cols() -> usize {
    if plot_style::is_narrow() { 2 } else { 4 }
}

/// Height, px, of a legend strip of `entries` across `width` px in at most `max_cols` columns
/// ([`legend_strip`]). Add it to the canvas, so that the plot keeps its height.
pub fn legend_strip_height(entries: &[LegendEntry], width: u32, max_cols: usize) -> u32 {
    if entries.is_empty() {
        return 0;
    }
    let rows = entries
        .len()
        .div_ceil(legend_columns(entries, width, max_cols));
    (rows as u32) * LEGEND_ROW + 10
}

const LEGEND_ROW: u32 = 20;

/// Width, px, that the longest entry of a legend strip needs: swatch, gap and label.
fn legend_entry_width(entries: &[LegendEntry]) -> f64 {
    let longest = entries
        .iter()
        .map(|e| e.label.chars().count())
        .max()
        .unwrap_or(0);
    34.0 + longest as f64 * plot_style::LEGEND as f64 * 0.56
}

/// As many columns (up to `max_cols`, and no more than there are entries) as the longest label
/// allows across `width` px; at least one.
fn legend_columns(entries: &[LegendEntry], width: u32, max_cols: usize) -> usize {
    let need = legend_entry_width(entries);
    let mut cols = max_cols.min(entries.len()).max(1);
    while cols > 1 && need > width as f64 / cols as f64 - 8.0 {
        cols -= 1;
    }
    cols
}

/// Draws the legend of `entries` in a strip at the bottom of `area`, outside the plot (a
/// legend inside the plot covers its curves), in two columns on a phone and up to four on
/// wider figures, and returns the area above it for the chart. The strip's height is
/// [`legend_height`]; add it to the canvas. Every figure's legend goes through it: the series
/// need no plotters labels.
pub fn legend_below<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    entries: &[LegendEntry],
) -> std::io::Result<DrawingArea<DB, plotters::coord::Shift>> {
    legend_strip(area, entries, legend_max_cols())
}

/// Draws the legend of `entries` in a strip at the bottom of `area`, outside the plot, in at
/// most `max_cols` columns, and returns the area above it for the chart. The strip's height
/// is [`legend_strip_height`]; add it to the canvas so that the plot keeps its height.
pub fn legend_strip<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    entries: &[LegendEntry],
    max_cols: usize,
) -> std::io::Result<DrawingArea<DB, plotters::coord::Shift>> {
    let (w, total) = area.dim_in_pixel();
    let h = legend_strip_height(entries, w, max_cols);
    if h == 0 {
        return Ok(area.clone());
    }
    let (plot, strip) = area.split_vertically(total.saturating_sub(h));
    let cols = legend_columns(entries, w, max_cols);
    // Columns as wide as the longest entry needs (with a gap), not spread over the width.
    let col_w = ((w as i32 - 12) / cols as i32).min(legend_entry_width(entries) as i32 + 24);
    let rows = entries.len().div_ceil(cols);
    for (i, e) in entries.iter().enumerate() {
        // Column-major: the entries read down the first column, then the second.
        let (c, r) = (i / rows, i % rows);
        let x = 8 + c as i32 * col_w;
        let y = 6 + r as i32 * LEGEND_ROW as i32 + LEGEND_ROW as i32 / 2;
        match e.swatch {
            Swatch::Line => strip
                .draw(&PathElement::new(vec![(x, y), (x + 22, y)], e.style))
                .map_err(plot_err)?,
            Swatch::Dashed => {
                for k in 0..3 {
                    let a = x + k * 9;
                    strip
                        .draw(&PathElement::new(vec![(a, y), (a + 5, y)], e.style))
                        .map_err(plot_err)?;
                }
            }
            Swatch::Box => strip
                .draw(&Rectangle::new([(x + 4, y - 6), (x + 18, y + 6)], e.style))
                .map_err(plot_err)?,
        }
        strip
            .draw(&Text::new(
                e.label.clone(),
                (x + 30, y),
                ("sans-serif", plot_style::LEGEND)
                    .into_font()
                    .into_text_style(&strip)
                    .pos(plotters::style::text_anchor::Pos::new(
                        plotters::style::text_anchor::HPos::Left,
                        plotters::style::text_anchor::VPos::Center,
                    )),
            ))
            .map_err(plot_err)?;
    }
    Ok(plot)
}

/// A tick label as a paper would print it: no trailing zeros (`20`, `0.5`, `0.01`).
pub fn tick(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if v.abs() < 1e-3 || v.abs() >= 1e6 {
        return format!("{v:.0e}");
    }
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// Colours of the layers in plots.
pub fn layer_color(kind: LayerKind) -> RGBColor {
    match kind {
        LayerKind::StratumCorneum => RGBColor(200, 170, 120),
        LayerKind::ViableEpidermis => RGBColor(240, 190, 150),
        LayerKind::PapillaryDermis => RGBColor(230, 110, 110),
        LayerKind::ReticularDermis => RGBColor(170, 60, 80),
        LayerKind::Subcutis => RGBColor(250, 220, 90),
    }
}

/// Human-readable layer name.
pub fn layer_label(kind: LayerKind) -> &'static str {
    match kind {
        LayerKind::StratumCorneum => "stratum corneum",
        LayerKind::ViableEpidermis => "viable epidermis",
        LayerKind::PapillaryDermis => "papillary dermis",
        LayerKind::ReticularDermis => "reticular dermis",
        LayerKind::Subcutis => "subcutis",
    }
}

/// A plotting error as an I/O error (the SVG writers' error type).
pub(crate) fn plot_err<E: std::fmt::Debug>(e: E) -> std::io::Error {
    std::io::Error::other(format!("plot: {e:?}"))
}

/// Grid lines of a chart drawn by [`draw_axes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GridLines {
    /// None (maps, where lines would hide the points).
    None,
    /// The coarse lines at the labelled ticks only (plots).
    Coarse,
}

/// The axes every plotters chart of the reports draws: the axis titles, the shared tick and
/// title fonts ([`plot_style`]), tick labels printed as a paper would ([`tick`]), and the grid
/// lines `grid`.
pub fn draw_axes<DB, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    x_desc: &str,
    y_desc: &str,
    grid: GridLines,
) -> std::io::Result<()>
where
    DB: DrawingBackend,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let fmt = |v: &f64| tick(*v);
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(x_desc)
        .y_desc(y_desc)
        .label_style(("sans-serif", plot_style::TICK))
        .axis_desc_style(("sans-serif", plot_style::AXIS))
        .x_label_formatter(&fmt)
        .y_label_formatter(&fmt);
    if plot_style::is_narrow() {
        mesh.x_labels(5).y_labels(6);
    }
    match grid {
        GridLines::None => mesh.disable_mesh(),
        GridLines::Coarse => mesh.light_line_style(TRANSPARENT),
    };
    mesh.draw().map_err(plot_err)
}

/// Maximum number of punctures drawn on the whole-zone map (the detail panel draws all).
pub const MAP_MAX_POINTS: usize = 20_000;

fn outline(shape: &Shape) -> Vec<(f64, f64)> {
    match shape {
        Shape::Rectangle { width_m, height_m } => {
            let (w, h) = (to_mm(*width_m), to_mm(*height_m));
            vec![(0.0, 0.0), (w, 0.0), (w, h), (0.0, h), (0.0, 0.0)]
        }
        Shape::Ellipse { width_m, height_m } => {
            let (a, b) = (to_mm(*width_m) / 2.0, to_mm(*height_m) / 2.0);
            (0..=180)
                .map(|i| {
                    let t = i as f64 / 180.0 * std::f64::consts::TAU;
                    (a + a * t.cos(), b + b * t.sin())
                })
                .collect()
        }
        Shape::Polygon { vertices_m } => {
            let mut v: Vec<(f64, f64)> = vertices_m
                .iter()
                .map(|p| (to_mm(p[0]), to_mm(p[1])))
                .collect();
            if let Some(&f) = v.first() {
                v.push(f);
            }
            v
        }
    }
}

/// SVG of a zone: left, the whole zone with punctures coloured by effective depth (at most
/// [`MAP_MAX_POINTS`], evenly thinned); right, a 5 mm x 5 mm detail at the zone centre with
/// every channel drawn at its open surface radius; a depth colour bar below.
pub fn zone_map_svg(zone: &Zone, ch: &ChannelSet) -> std::io::Result<String> {
    zone_map_svg_thinned(zone, ch, MAP_MAX_POINTS)
}

/// [`zone_map_svg`] drawing at most `max_points` punctures on the whole-zone map (reports
/// embed a lighter map).
pub fn zone_map_svg_thinned(
    zone: &Zone,
    ch: &ChannelSet,
    max_points: usize,
) -> std::io::Result<String> {
    let mut svg = String::new();
    {
        let narrow = plot_style::is_narrow();
        let root = SVGBackend::with_string(
            &mut svg,
            if narrow {
                (plot_style::NARROW_WIDTH, 1120)
            } else {
                (1100, 620)
            },
        )
        .into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        // Side by side for the files; stacked (map over detail) for a phone.
        let (main, bar) = root.split_vertically(if narrow { 1000 } else { 540 });
        let (left, right) = if narrow {
            main.split_vertically(500)
        } else {
            main.split_horizontally(600)
        };
        let (w, h) = zone.shape.bbox();
        let (wmm, hmm) = (to_mm(w), to_mm(h));
        let side = wmm.max(hmm);
        let (dmin, dmax) = depth_range(ch);
        let color = |d: f64| ViridisRGB::get_color_normalized(to_um(d), to_um(dmin), to_um(dmax));

        let stride = ch.channels.len().div_ceil(max_points.max(1)).max(1);
        let caption = if stride > 1 {
            format!(
                "zone `{}` ({}): {} punctures, 1 in {} shown",
                zone.name,
                zone.site.name(),
                ch.channels.len(),
                stride
            )
        } else {
            format!(
                "zone `{}` ({}): {} punctures",
                zone.name,
                zone.site.name(),
                ch.channels.len()
            )
        };
        let (left, caption) = chart_caption(&left, caption, 16)?;
        let mut builder = ChartBuilder::on(&left);
        if let Some((t, size)) = caption {
            builder.caption(t, ("sans-serif", size));
        }
        let mut chart = builder
            .margin(10)
            .x_label_area_size(45)
            .y_label_area_size(63)
            .build_cartesian_2d(0.0..side, 0.0..side)
            .map_err(plot_err)?;
        draw_axes(&mut chart, "x (mm)", "y (mm)", GridLines::None)?;
        chart
            .draw_series(LineSeries::new(outline(&zone.shape), BLACK.stroke_width(2)))
            .map_err(plot_err)?;
        chart
            .draw_series(
                ch.channels.iter().step_by(stride).map(|c| {
                    Circle::new((to_mm(c.x_m), to_mm(c.y_m)), 1, color(c.depth_m).filled())
                }),
            )
            .map_err(plot_err)?;
        // Detail window.
        let win = 5.0_f64.min(side);
        let (cx, cy) = (wmm / 2.0, hmm / 2.0);
        let (x0, y0) = (cx - win / 2.0, cy - win / 2.0);
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(x0, y0), (x0 + win, y0 + win)],
                RED.stroke_width(2),
            )))
            .map_err(plot_err)?;

        // The detail's caption is too long for one line of its panel: wrapped above it, at
        // any width (on one line it ran into the top tick label).
        let right = wrapped_caption(
            &right,
            format!(
                "detail {win:.0} x {win:.0} mm (red box): open channels to scale, {:.1} % of surface open",
                ch.open_surface_fraction * 100.0
            ),
            16,
        )?;
        // Room to the right for the last tick label (it ran past the figure's edge).
        let mut detail = ChartBuilder::on(&right)
            .margin(10)
            .margin_right(24)
            .x_label_area_size(45)
            .y_label_area_size(63)
            .build_cartesian_2d(x0..x0 + win, y0..y0 + win)
            .map_err(plot_err)?;
        draw_axes(&mut detail, "x (mm)", "y (mm)", GridLines::None)?;
        let plot_px = detail.plotting_area().dim_in_pixel().0 as f64;
        let px_per_mm = plot_px / win;
        detail
            .draw_series(
                ch.channels
                    .iter()
                    .filter(|c| {
                        let (x, y) = (to_mm(c.x_m), to_mm(c.y_m));
                        x >= x0 && x <= x0 + win && y >= y0 && y <= y0 + win
                    })
                    .map(|c| {
                        let r_mm = to_mm(ch.open_radius_at(c.depth_m, 0.0)).max(0.0);
                        let r_px = ((r_mm * px_per_mm).round() as i32).max(1);
                        let style = if c.bleeds {
                            color(c.depth_m).filled()
                        } else {
                            color(c.depth_m).stroke_width(1)
                        };
                        Circle::new((to_mm(c.x_m), to_mm(c.y_m)), r_px, style)
                    }),
            )
            .map_err(plot_err)?;

        // Colour bar.
        let (bar_margin, bar_desc) = if narrow {
            (20, "effective depth (µm); filled: bleeds")
        } else {
            (
                60,
                "effective depth (µm); filled circles in the detail bleed (reach capillaries)",
            )
        };
        let mut cb = ChartBuilder::on(&bar)
            .margin_left(bar_margin)
            .margin_right(bar_margin)
            .margin_bottom(5)
            .x_label_area_size(55)
            .build_cartesian_2d(to_um(dmin)..to_um(dmax).max(to_um(dmin) + 1.0), 0.0..1.0)
            .map_err(plot_err)?;
        cb.configure_mesh()
            .disable_mesh()
            .disable_y_axis()
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 15))
            .x_desc(bar_desc)
            .x_label_formatter(&|v| crate::report::tick(*v))
            .y_label_formatter(&|v| crate::report::tick(*v))
            .draw()
            .map_err(plot_err)?;
        let steps = 100;
        let span = (dmax - dmin).max(1e-6);
        cb.draw_series((0..steps).map(|i| {
            let a = dmin + span * i as f64 / steps as f64;
            let b = dmin + span * (i + 1) as f64 / steps as f64;
            Rectangle::new(
                [(to_um(a), 0.0), (to_um(b), 1.0)],
                color((a + b) / 2.0).filled(),
            )
        }))
        .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

fn depth_range(ch: &ChannelSet) -> (f64, f64) {
    let lo = ch
        .channels
        .iter()
        .map(|c| c.depth_m)
        .fold(f64::INFINITY, f64::min);
    let hi = ch.channels.iter().map(|c| c.depth_m).fold(0.0, f64::max);
    if lo.is_finite() && hi > lo {
        (lo, hi)
    } else {
        (0.0, hi.max(1e-6))
    }
}

/// SVG histogram of effective channel depths, stacked by the layer each channel ends in, with
/// the layer boundaries of the column marked.
pub fn depth_histogram_svg(
    zone: &Zone,
    column: &SkinColumn,
    ch: &ChannelSet,
) -> std::io::Result<String> {
    // The legend below the plot, outside it ([`legend_below`]).
    let legend: Vec<LegendEntry> = LayerKind::ALL
        .iter()
        .map(|&kind| LegendEntry {
            label: layer_label(kind).into(),
            style: layer_color(kind).filled(),
            swatch: Swatch::Box,
        })
        .collect();
    let mut svg = String::new();
    {
        let (w, h) = plot_style::canvas((900, 520), 1.5);
        let root = SVGBackend::with_string(&mut svg, (w, h + legend_height(&legend, w)))
            .into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let nominal = ch.channels.iter().map(|c| c.depth_m).fold(0.0, f64::max);
        let xmax = to_um(nominal.max(column.dej_m()) * 1.1)
            .max(to_um(column.layer(LayerKind::PapillaryDermis).bottom_m()) * 1.05);
        let bins = 60usize;
        let bw = xmax / bins as f64;
        let mut counts = vec![[0u64; 5]; bins];
        for c in &ch.channels {
            let b = ((to_um(c.depth_m) / bw) as usize).min(bins - 1);
            counts[b][c.deepest.index()] += 1;
        }
        let total = ch.channels.len().max(1) as f64;
        let ymax = counts
            .iter()
            .map(|c| c.iter().sum::<u64>())
            .max()
            .unwrap_or(1) as f64
            / total
            * 100.0
            * 1.15;
        let (area, caption) = chart_caption(
            &root,
            format!(
                "zone `{}` ({}): effective depth by layer reached, {:.0} % bleeding",
                zone.name,
                zone.site.name(),
                ch.bleeding_fraction * 100.0
            ),
            18,
        )?;
        let area = legend_below(&area, &legend)?;
        let mut builder = ChartBuilder::on(&area);
        if let Some((t, size)) = caption {
            builder.caption(t, ("sans-serif", size));
        }
        let mut chart = builder
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(73)
            .build_cartesian_2d(0.0..xmax, 0.0..ymax.max(1.0))
            .map_err(plot_err)?;
        draw_axes(
            &mut chart,
            "effective penetration depth (µm)",
            "channels (% per bin)",
            GridLines::Coarse,
        )?;
        // Layer bands along the top and boundaries.
        for l in &column.layers {
            let (a, b) = (to_um(l.top_m), to_um(l.bottom_m()).min(xmax));
            if a >= xmax {
                continue;
            }
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(a, ymax * 0.96), (b, ymax)],
                    layer_color(l.kind).filled(),
                )))
                .map_err(plot_err)?;
            chart
                .draw_series(LineSeries::new(vec![(a, 0.0), (a, ymax)], BLACK.mix(0.3)))
                .map_err(plot_err)?;
        }
        for kind in LayerKind::ALL {
            let k = kind.index();
            chart
                .draw_series(
                    counts
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| c[k] > 0)
                        .map(|(b, c)| {
                            let below: u64 = c[..k].iter().sum();
                            let y0 = below as f64 / total * 100.0;
                            let y1 = (below + c[k]) as f64 / total * 100.0;
                            Rectangle::new(
                                [(b as f64 * bw, y0), ((b + 1) as f64 * bw, y1)],
                                layer_color(kind).filled(),
                            )
                        }),
                )
                .map_err(plot_err)?;
        }
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The legend goes below the plot, on a phone and on a wide figure: the plot keeps its
    /// height and every label lies under it.
    #[test]
    fn legends_sit_below_the_plot() {
        let entries = vec![
            LegendEntry::line("collagen I", RED.stroke_width(2)),
            LegendEntry::line(
                "a rather long label for one column only",
                BLUE.stroke_width(2),
            ),
            LegendEntry {
                label: "session".into(),
                style: BLACK.stroke_width(2),
                swatch: Swatch::Dashed,
            },
        ];
        let labels_below = |svg: &str, plot_h: f64| {
            for e in &entries {
                // The SVG backend writes a text element's content on its own line.
                let at = svg.find(&format!("\n{}\n", e.label)).expect("label drawn");
                let tag = &svg[svg[..at].rfind("<text").unwrap()..at];
                let y: f64 = tag
                    .split("y=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!(y > plot_h, "{} at y = {y}", e.label);
            }
        };
        let mut svg = String::new();
        let plot_h = plot_style::narrow(|| {
            let extra = legend_height(&entries, 420);
            // The long label takes one column: three rows.
            assert!(extra >= 3 * 20, "{extra}");
            let root = SVGBackend::with_string(&mut svg, (420, 300 + extra)).into_drawing_area();
            let plot = legend_below(&root, &entries).unwrap();
            plot.dim_in_pixel().1
        });
        assert_eq!(plot_h, 300);
        labels_below(&svg, 300.0);
        let mut wide = String::new();
        let extra = legend_height(&entries, 900);
        // The long label leaves room for two columns of a 900 px figure: two rows.
        assert_eq!(extra, 2 * 20 + 10);
        {
            let root = SVGBackend::with_string(&mut wide, (900, 520 + extra)).into_drawing_area();
            let plot = legend_below(&root, &entries).unwrap();
            assert_eq!(plot.dim_in_pixel(), (900, 520));
            // Nothing to show, no strip.
            let plot = legend_below(&root, &[]).unwrap();
            assert_eq!(plot.dim_in_pixel(), (900, 520 + extra));
        }
        labels_below(&wide, 520.0);
    }
}
