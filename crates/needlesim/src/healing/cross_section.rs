//! Depth-by-width cross-sections of the spatial resolutions as SVG heat maps.
//!
//! A unit-cell snapshot is drawn mirrored about the channel axis (−R … R), a patch snapshot as
//! its x-z plane through a channel (0 … side), with depth below the dermo-epidermal junction
//! downwards. Four panels: collagen (I + III) change from rest,
//! activated + synthetic fibroblasts relative to rest, TGF-β above rest, and debris.

use plotters::prelude::*;

use super::model::{C1, C3, D, FA, FM, T};
use super::params::{DAY, NG_ML};
use super::spatial::{Snapshot, SpatialModel};

fn plot_err<E: std::fmt::Debug>(e: E) -> std::io::Error {
    std::io::Error::other(format!("plot: {e:?}"))
}

/// One panel's field: per (i, k) value, its label and unit.
struct Panel {
    title: String,
    values: Vec<f64>,
}

/// The quantities drawn, per voxel of a snapshot (in the order of `snap.voxels`).
fn panels(model: &SpatialModel, snap: &Snapshot) -> Vec<Panel> {
    let n = snap.voxels.len();
    let mut coll = vec![0.0; n];
    let mut fib = vec![0.0; n];
    let mut tgf = vec![0.0; n];
    let mut deb = vec![0.0; n];
    for v in 0..n {
        let b = &model.block(model.layer_of(snap.voxels[v])).base;
        let c0 = b.c1_0 + b.c3_0;
        coll[v] = 100.0 * ((snap.values[C1][v] + snap.values[C3][v]) / c0 - 1.0);
        fib[v] = (snap.values[FA][v] + snap.values[FM][v]) / b.f0;
        tgf[v] = (snap.values[T][v] - b.t0) / NG_ML;
        deb[v] = 100.0 * snap.values[D][v];
    }
    vec![
        Panel {
            title: "collagen I+III change from rest (%)".into(),
            values: coll,
        },
        Panel {
            title: "activated + synthetic fibroblasts / resting density".into(),
            values: fib,
        },
        Panel {
            title: "TGF-β above rest (ng/mL)".into(),
            values: tgf,
        },
        Panel {
            title: "debris (damaged volume, %)".into(),
            values: deb,
        },
    ]
}

fn colour(x: f64) -> RGBColor {
    // Viridis-like ramp from 5 anchors.
    const A: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let x = if x.is_finite() {
        x.clamp(0.0, 1.0)
    } else {
        0.0
    } * 4.0;
    let i = (x.floor() as usize).min(3);
    let f = x - i as f64;
    let (a, b) = (A[i], A[i + 1]);
    RGBColor(
        (a.0 + f * (b.0 - a.0)) as u8,
        (a.1 + f * (b.1 - a.1)) as u8,
        (a.2 + f * (b.2 - a.2)) as u8,
    )
}

/// The cross-section of a unit-cell snapshot (`r_faces`, `z_faces` of its grid, m) as SVG.
pub fn unit_cell_svg(
    zone: &str,
    model: &SpatialModel,
    r_faces: &[f64],
    z_faces: &[f64],
    snap: &Snapshot,
) -> std::io::Result<String> {
    let title = format!(
        "zone `{zone}`: unit cell around one channel, day {:.0} after the first session",
        snap.t_s / DAY
    );
    draw(
        &title,
        "distance from the channel axis (µm)",
        model,
        r_faces,
        true,
        z_faces,
        snap,
    )
}

/// The cross-section of a patch snapshot (its x-z plane at `y_m`; `x_faces`, `z_faces` m) as
/// SVG.
pub fn patch_svg(
    zone: &str,
    model: &SpatialModel,
    x_faces: &[f64],
    z_faces: &[f64],
    y_m: f64,
    snap: &Snapshot,
) -> std::io::Result<String> {
    let title = format!(
        "zone `{zone}`: 3-D patch, plane y = {:.0} µm, day {:.0} after the first session",
        y_m * 1e6,
        snap.t_s / DAY
    );
    draw(
        &title,
        "x across the patch (µm)",
        model,
        x_faces,
        false,
        z_faces,
        snap,
    )
}

/// Draws a snapshot of `(x_faces.len() − 1) × (z_faces.len() − 1)` values (x fastest), four
/// panels; `mirrored` draws −x as well (axisymmetric cells).
fn draw(
    title: &str,
    x_desc: &str,
    model: &SpatialModel,
    x_faces: &[f64],
    mirrored: bool,
    z_faces: &[f64],
    snap: &Snapshot,
) -> std::io::Result<String> {
    let nr = x_faces.len().saturating_sub(1);
    let nz = z_faces.len().saturating_sub(1);
    if snap.voxels.len() != nr * nz {
        return Err(std::io::Error::other(format!(
            "cross-section: snapshot has {} voxels, the plane {nr} × {nz}",
            snap.voxels.len()
        )));
    }
    let rmax = x_faces.last().copied().unwrap_or(1.0) * 1e6;
    let rmin = if mirrored { -rmax } else { 0.0 };
    let zmax = z_faces.last().copied().unwrap_or(1.0) * 1e6;
    let mut svg = String::new();
    {
        // 2 × 2 panels for the files; one column of 4 for a phone.
        let narrow = crate::report::plot_style::is_narrow();
        let size = if narrow {
            (crate::report::plot_style::NARROW_WIDTH, 1500)
        } else {
            (1100, 900)
        };
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let root = if narrow {
            crate::report::chart_caption(&root, title.to_string(), 18)?.0
        } else {
            root.titled(title, ("sans-serif", 20)).map_err(plot_err)?
        };
        let grid = if narrow { (4, 1) } else { (2, 2) };
        for (area, panel) in root.split_evenly(grid).iter().zip(panels(model, snap)) {
            let (lo, hi) = panel
                .values
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                    (a.min(v), b.max(v))
                });
            let (lo, hi) = if hi > lo {
                (lo, hi)
            } else {
                (lo - 1.0, lo + 1.0)
            };
            let (area, caption) = crate::report::chart_caption(
                area,
                format!("{}: dark {lo:.3} … bright {hi:.3}", panel.title),
                16,
            )?;
            let mut builder = ChartBuilder::on(&area);
            if let Some((t, size)) = caption {
                builder.caption(t, ("sans-serif", size));
            }
            let mut chart = builder
                .margin(8)
                .margin_right(22)
                .x_label_area_size(42)
                .y_label_area_size(68)
                .build_cartesian_2d(rmin..rmax, zmax..0.0)
                .map_err(plot_err)?;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_desc(x_desc)
                .y_desc("depth below the DEJ (µm)")
                .label_style(("sans-serif", crate::report::plot_style::TICK))
                .axis_desc_style(("sans-serif", crate::report::plot_style::AXIS))
                .x_label_formatter(&|v| crate::report::tick(*v))
                .y_label_formatter(&|v| crate::report::tick(*v))
                .draw()
                .map_err(plot_err)?;
            let mut rects = Vec::with_capacity(2 * nr * nz);
            for k in 0..nz {
                for i in 0..nr {
                    let v = panel.values[k * nr + i];
                    let c = colour((v - lo) / (hi - lo));
                    let (r0, r1) = (x_faces[i] * 1e6, x_faces[i + 1] * 1e6);
                    let (z0, z1) = (z_faces[k] * 1e6, z_faces[k + 1] * 1e6);
                    rects.push(Rectangle::new([(r0, z0), (r1, z1)], c.filled()));
                    if mirrored {
                        rects.push(Rectangle::new([(-r1, z0), (-r0, z1)], c.filled()));
                    }
                }
            }
            chart.draw_series(rects).map_err(plot_err)?;
        }
        root.present().map_err(plot_err)?;
    }
    // The cells tile the plane on whole pixels; anti-aliasing their shared edges when the
    // picture is scaled shows the background through as light seams (stripes on a 400-column
    // patch), so shapes are drawn with crisp edges (text is not affected).
    Ok(svg.replacen("<svg ", "<svg shape-rendering=\"crispEdges\" ", 1))
}

/// Per-layer means of a spatial run as CSV: day, layer, then every state variable (SI).
pub fn layer_means_csv(run: &super::spatial::SpatialRun) -> String {
    use std::fmt::Write as _;
    let mut out = String::from("day,layer");
    for n in super::model::NAMES {
        out.push(',');
        out.push_str(n);
    }
    out.push('\n');
    let tr = &run.trajectory;
    for (ti, t) in tr.times_s.iter().enumerate() {
        for (l, name) in ["papillary", "reticular"].iter().enumerate() {
            let _ = write!(out, "{:.3},{name}", t / DAY);
            for v in tr.values[l][ti] {
                let _ = write!(out, ",{v:.6e}");
            }
            out.push('\n');
        }
    }
    out
}
