//! The result files and the HTML report of a [`StudyRun`], per command.

use super::{Outcome, OutputFile, StudyRun};
use crate::delivery::run::DeliverReport;
use crate::error::{Error, Result};
use crate::healing::cross_section as xs;
use crate::healing::params::DAY;
use crate::healing::report as hr;
use crate::healing::simulate::{SimulateReport, SimulateRun};
use crate::healing::spatial::{Snapshot, SpatialRun};
use crate::pipeline::PuncturesReport;
use crate::report::html::{self, Page, RunInfo};
use crate::report::{self};
use crate::validate::{Part, status_rows};

/// Punctures drawn per zone map in the HTML report (the SVG files keep
/// [`report::MAP_MAX_POINTS`]), so a many-zone report stays light on a phone.
pub const REPORT_MAP_POINTS: usize = 3_000;

fn plot(what: &str, r: std::io::Result<String>) -> Result<String> {
    r.map_err(|source| Error::Plot {
        what: what.into(),
        source,
    })
}

fn json<T: serde::Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_string_pretty(v)
        .map(String::into_bytes)
        .map_err(|e| Error::Input(format!("serialising the results: {e}")))
}

/// The result files of a run (no timings, no report).
pub fn files(run: &StudyRun) -> Result<Vec<OutputFile>> {
    let mut f = Vec::new();
    match &run.result {
        Outcome::Punctures { scenario, run: r } => {
            for (zone, (_, ch, column, _)) in scenario.zones.iter().zip(&r.sets) {
                let name = &zone.zone.name;
                f.push(OutputFile::new(
                    format!("channels_{name}.csv"),
                    report::channels_csv(ch),
                ));
                let svg = format!("zone_{name}.svg");
                f.push(OutputFile::new(
                    &svg,
                    plot(&svg, report::zone_map_svg(&zone.zone, ch))?,
                ));
                let svg = format!("depth_{name}.svg");
                f.push(OutputFile::new(
                    &svg,
                    plot(&svg, report::depth_histogram_svg(&zone.zone, column, ch))?,
                ));
            }
            f.push(OutputFile::new("punctures.json", json(&r.report)?));
        }
        Outcome::Deliver { run: r, .. } => {
            use crate::delivery::report as dr;
            let r = &r.report;
            f.push(OutputFile::new("delivery_series.csv", dr::series_csv(r)));
            f.push(OutputFile::new(
                "delivery_profiles.csv",
                dr::profiles_csv(r),
            ));
            f.push(OutputFile::new("permeation.csv", dr::permeation_csv(r)));
            f.push(OutputFile::new(
                "delivery_time.svg",
                plot("delivery_time.svg", dr::time_svg(r))?,
            ));
            f.push(OutputFile::new(
                "delivery_profile.svg",
                plot("delivery_profile.svg", dr::profile_svg(r))?,
            ));
            f.push(OutputFile::new("delivery.json", json(r)?));
        }
        Outcome::Simulate { scenario, run: r } => {
            // Hair arms (`[hair]`, issue 20) on the scalp zones.
            let hair = crate::hair::report::run_scenario(scenario)?;
            if !hair.is_empty() {
                f.push(OutputFile::new("hair.csv", crate::hair::report::csv(&hair)));
                f.push(OutputFile::new("hair.json", json(&hair)?));
                let sessions: Vec<f64> =
                    r.protocol.session_times_s.iter().map(|t| t / DAY).collect();
                for z in &hair {
                    let svg = format!("hair_{}.svg", z.zone);
                    f.push(OutputFile::new(
                        &svg,
                        plot(&svg, crate::hair::report::count_svg(z, &sessions))?,
                    ));
                }
            }
            for (zone, res) in r.report.zones.iter().zip(&r.zones) {
                let name = &zone.name;
                f.push(OutputFile::new(
                    format!("timeseries_{name}.csv"),
                    hr::timeseries_csv(res),
                ));
                let svg = format!("timecourse_{name}.svg");
                f.push(OutputFile::new(
                    &svg,
                    plot(&svg, hr::timecourse_svg(name, res, &r.protocol))?,
                ));
                let svg = format!("response_{name}.svg");
                f.push(OutputFile::new(
                    &svg,
                    plot(&svg, hr::response_svg(name, res, &r.protocol))?,
                ));
            }
            for v in spatial_views(r) {
                f.push(OutputFile::new(
                    format!("{}_{}.csv", v.prefix, v.name),
                    xs::layer_means_csv(v.run),
                ));
                for snap in &v.run.snapshots {
                    let svg = format!("cross_section_{}_day{:.0}.svg", v.name, snap.t_s / DAY);
                    f.push(OutputFile::new(&svg, plot(&svg, (v.section)(snap))?));
                }
            }
            f.push(OutputFile::new("outcomes.json", json(&r.report)?));
        }
        Outcome::Plan { plan, patient } => {
            use crate::plan::clinic;
            f.push(OutputFile::new("plan.json", json(plan)?));
            f.push(OutputFile::new(
                "handout.html",
                clinic::handout_html(plan, patient),
            ));
            f.push(OutputFile::new(
                "plan.ics",
                clinic::calendar_ics(plan, patient),
            ));
            f.push(OutputFile::new(
                "fhir-bundle.json",
                json(&clinic::fhir_bundle(plan, patient))?,
            ));
        }
    }
    Ok(f)
}

/// Adds a figure drawn for wide screens (as the file version) and for phones.
fn fig(
    page: &mut Page,
    caption: &str,
    what: &str,
    draw: impl Fn() -> std::io::Result<String>,
) -> Result<()> {
    let wide = plot(what, draw())?;
    let phone = plot(what, report::plot_style::narrow(&draw))?;
    page.figure_for_phone(caption, &wide, &phone);
    Ok(())
}

/// The self-contained HTML report of a run.
pub fn page(run: &StudyRun, info: &RunInfo) -> Result<String> {
    let src = &run.source;
    let mut page = match &run.result {
        Outcome::Punctures { scenario, run: r } => {
            let rep = &r.report;
            let mut page = Page::new(
                &format!("Punctures: {}", rep.title),
                &format!("needlesim punctures · {}", src.name),
            );
            page.validation_status(status_rows(&[Part::Skin, Part::Devices, Part::Injury]));
            page.section("Summary", &punctures_summary_html(rep));
            for (zone, (_, ch, column, _)) in scenario.zones.iter().zip(&r.sets) {
                let name = &zone.zone.name;
                page.raw(&format!("<h2>Zone {}</h2>", html::esc(name)));
                fig(
                    &mut page,
                    &format!(
                        "Puncture map of zone {name}: punctures coloured by effective depth (thinned to at most {REPORT_MAP_POINTS}); detail of the centre to scale."
                    ),
                    "zone map",
                    || report::zone_map_svg_thinned(&zone.zone, ch, REPORT_MAP_POINTS),
                )?;
                fig(
                    &mut page,
                    &format!(
                        "Effective channel depth in zone {name}, by the deepest layer reached."
                    ),
                    "depth histogram",
                    || report::depth_histogram_svg(&zone.zone, column, ch),
                )?;
            }
            page.resolved(
                "Resolved scenario (validated, SI units)",
                &format!("{scenario:#?}"),
            );
            page
        }
        Outcome::Deliver {
            scenario,
            plan,
            run: r,
        } => {
            use crate::delivery::report as dr;
            let r = &r.report;
            let mut page = Page::new(
                &format!("Delivery: {}", r.title),
                &format!("needlesim deliver · {}", src.name),
            );
            page.validation_status(status_rows(&[
                Part::Skin,
                Part::Devices,
                Part::Injury,
                Part::Delivery,
            ]));
            page.section("Summary", &delivery_summary_html(r));
            page.section("Figures", "");
            fig(
                &mut page,
                "Amounts over time, needled skin against intact skin.",
                "delivery_time.svg",
                || dr::time_svg(r),
            )?;
            fig(
                &mut page,
                "Concentration against depth at the sampled times.",
                "delivery_profile.svg",
                || dr::profile_svg(r),
            )?;
            page.resolved(
                "Resolved scenario and delivery plan (validated, SI units)",
                &format!("{scenario:#?}\n\n{plan:#?}"),
            );
            page
        }
        Outcome::Simulate { scenario, run: r } => {
            let rep = &r.report;
            let mut page = Page::new(
                &format!("Healing simulation: {}", rep.title),
                &format!(
                    "needlesim simulate · {} · {} model",
                    src.name, rep.resolution
                ),
            );
            page.validation_status(status_rows(&[
                Part::Skin,
                Part::Devices,
                Part::Injury,
                Part::Healing,
            ]));
            page.section("Summary", &simulate_summary_html(rep));
            let views = spatial_views(r);
            // Hair arms (`[hair]`): one figure per scalp zone.
            let hair = crate::hair::report::run_scenario(scenario)?;
            let sessions: Vec<f64> = r.protocol.session_times_s.iter().map(|t| t / DAY).collect();
            for (zone, res) in rep.zones.iter().zip(&r.zones) {
                let name = &zone.name;
                page.raw(&format!("<h2>Zone {}</h2>", html::esc(name)));
                for z in hair.iter().filter(|z| &z.zone == name) {
                    fig(
                        &mut page,
                        &format!(
                            "Zone {name}: change of hairs per cm² in each arm of the [hair] section; dashed lines mark the needling sessions (see hair.csv)."
                        ),
                        "hair",
                        || crate::hair::report::count_svg(z, &sessions),
                    )?;
                }
                fig(
                    &mut page,
                    &format!(
                        "Zone {name}: tissue change over time with the 5-95 % band over parameter samples; dashed lines mark the sessions."
                    ),
                    "timecourse",
                    || hr::timecourse_svg(name, res, &r.protocol),
                )?;
                fig(
                    &mut page,
                    &format!("Zone {name}: inflammation and repair after the sessions."),
                    "response",
                    || hr::response_svg(name, res, &r.protocol),
                )?;
                for v in views.iter().filter(|v| v.name == name) {
                    for snap in &v.run.snapshots {
                        fig(
                            &mut page,
                            &format!("Zone {name}: {}, day {:.0}.", v.caption, snap.t_s / DAY),
                            "cross-section",
                            || (v.section)(snap),
                        )?;
                    }
                }
            }
            page.resolved(
                "Resolved scenario (validated, SI units)",
                &format!("{scenario:#?}"),
            );
            page
        }
        Outcome::Plan { patient, plan } => {
            let mut page = crate::plan::render::page(plan);
            page.resolved(
                "Resolved patient (validated)",
                &String::from_utf8_lossy(&json(patient)?),
            );
            page
        }
    };
    if !src.name.is_empty() || !src.text.is_empty() {
        page.input(&src.name, &src.text);
    }
    Ok(page.finish(info))
}

fn num_cell(v: f64, digits: usize) -> String {
    format!("#{v:.digits$}")
}

fn punctures_summary_html(r: &PuncturesReport) -> String {
    let rows: Vec<Vec<String>> = r
        .zones
        .iter()
        .map(|z| {
            vec![
                html::esc(&z.name),
                html::esc(&z.site),
                num_cell(z.area_cm2, 1),
                format!("#{}", z.punctures),
                num_cell(z.density_per_cm2, 0),
                format!(
                    "#{:.0} ± {:.0} ({:.0}-{:.0})",
                    z.depth.mean_um, z.depth.sd_um, z.depth.p5_um, z.depth.p95_um
                ),
                num_cell(z.bleeding_fraction * 100.0, 0),
                num_cell(z.needling_min, 1),
            ]
        })
        .collect();
    let mut h = html::table(
        &[
            "zone",
            "site",
            "area (cm²)",
            "punctures",
            "density (/cm²)",
            "depth mean ± SD (p5-p95), µm",
            "bleeding (%)",
            "needling (min)",
        ],
        &rows,
    );
    let t = &r.session;
    h.push_str(&format!(
        "<p>Session: preparation {:.0} + numbing {:.0} ({}) + needling {:.1} + aftercare {:.0} = <b>{:.0} min</b>.</p>",
        t.preparation_min,
        t.numbing_min,
        html::esc(t.numbing.name()),
        t.needling_min,
        t.aftercare_min,
        t.total_min
    ));
    for w in &r.warnings {
        h.push_str(&format!("<p class=\"open\">Warning: {}</p>", html::esc(w)));
    }
    h
}

fn band_text(b: &crate::healing::outcomes::Band, digits: usize) -> String {
    format!(
        "#{:.digits$} [{:.digits$}, {:.digits$}]",
        b.nominal, b.p5, b.p95
    )
}

/// One spatial run's outputs (unit cell or 3-D patch): its zone, the prefix of its CSV, the
/// caption of its cross-sections and how to draw one at a snapshot.
pub struct SpatialView<'a> {
    pub name: &'a str,
    pub prefix: &'static str,
    pub caption: &'static str,
    pub run: &'a SpatialRun,
    pub section: SectionFn<'a>,
}

type SectionFn<'a> = Box<dyn Fn(&Snapshot) -> std::io::Result<String> + 'a>;

/// The unit cells, then the 3-D patches, of a simulate run.
pub fn spatial_views(run: &SimulateRun) -> Vec<SpatialView<'_>> {
    let cells = run.unit_cells.iter().map(|uc| SpatialView {
        name: &uc.name,
        prefix: "unit_cell",
        caption: "unit cell around one channel",
        run: &uc.run,
        section: Box::new(move |snap| {
            xs::unit_cell_svg(
                &uc.name,
                &uc.cell.model,
                uc.cell.grid.r_faces(),
                uc.cell.grid.z_faces(),
                snap,
            )
        }),
    });
    let patches = run.patches.iter().map(|pz| SpatialView {
        name: &pz.name,
        prefix: "patch",
        caption: "3-D patch, depth section through the channel nearest its centre",
        run: &pz.run,
        section: Box::new(move |snap| {
            // The x-z plane through the channel nearest the patch centre.
            let x_faces: Vec<f64> = (0..=pz.patch.n)
                .map(|i| i as f64 * pz.patch.voxel_m)
                .collect();
            xs::patch_svg(
                &pz.name,
                &pz.patch.model,
                &x_faces,
                pz.patch.grid.z_faces(),
                (pz.row as f64 + 0.5) * pz.patch.voxel_m,
                snap,
            )
        }),
    });
    cells.chain(patches).collect()
}

fn simulate_summary_html(r: &SimulateReport) -> String {
    let mut h = format!(
        "<p>Sessions on days {}; follow-up {:.0} days; seed {}. Values are nominal with the 5-95 % band over parameter samples in brackets.</p>",
        r.protocol
            .session_days
            .iter()
            .map(|d| format!("{d:.0}"))
            .collect::<Vec<_>>()
            .join(", "),
        r.protocol.follow_up_days,
        r.seed
    );
    for z in &r.zones {
        let o = &z.outcomes;
        h.push_str(&format!(
            "<h3>Zone {} ({})</h3><p>Channels: mean depth {:.0} µm, {:.0} /cm², {:.0} % bleeding. Downtime {:.1} days [{:.1}, {:.1}] per session; PIH risk {:.1} % [{:.1}, {:.1}].</p>",
            html::esc(&z.name),
            html::esc(&z.site),
            z.injury.mean_depth_um,
            z.injury.density_per_cm2,
            100.0 * z.injury.bleeding_fraction,
            o.downtime_mean_days.nominal,
            o.downtime_mean_days.p5,
            o.downtime_mean_days.p95,
            o.pih_risk_pct.nominal,
            o.pih_risk_pct.p5,
            o.pih_risk_pct.p95
        ));
        let mut rows: Vec<Vec<String>> = o
            .timepoints
            .iter()
            .map(|t| {
                vec![
                    num_cell(t.day, 0),
                    band_text(&t.collagen_i_change_pct, 1),
                    band_text(&t.collagen_iii_change_pct, 1),
                    band_text(&t.elastin_change_pct, 1),
                    band_text(&t.epidermal_thickness_change_pct, 1),
                    band_text(&t.dermal_thickness_change_pct, 1),
                ]
            })
            .collect();
        let mut head: Vec<String> = [
            "day",
            "collagen I (%)",
            "collagen III (%)",
            "elastin (%)",
            "epidermis (%)",
            "dermis (%)",
        ]
        .map(String::from)
        .to_vec();
        // A clinical score's column only where the scenario has its concern.
        let scores: Vec<_> = o.timepoints.iter().map(|t| t.clinical_scores()).collect();
        if let Some(first) = scores.first() {
            for (k, c) in first.iter().enumerate() {
                if scores.iter().all(|sc| sc[k].band.is_none()) {
                    continue;
                }
                head.push(match c.note {
                    Some(n) => format!("{} reduction (%; {n})", c.name),
                    None => format!("{} reduction (%)", c.name),
                });
                for (row, sc) in rows.iter_mut().zip(&scores) {
                    row.push(sc[k].band.map_or("-".into(), |b| band_text(b, 0)));
                }
            }
        }
        let head: Vec<&str> = head.iter().map(String::as_str).collect();
        h.push_str(&html::table(&head, &rows));
    }
    for w in &r.warnings {
        h.push_str(&format!("<p class=\"open\">Warning: {}</p>", html::esc(w)));
    }
    h
}

fn delivery_summary_html(r: &DeliverReport) -> String {
    // The terminal's words and units (`text::delivery_summary`), as paragraphs and tables.
    let d = super::text::delivery_summary(r);
    let mut h = String::new();
    for line in [&d.zone, &d.channels, &d.coefficients, &d.numerics] {
        // A sentence on the page: "Zone cheek (…)", where the terminal prints "zone cheek (…)".
        let mut c = line.chars();
        let line: String = c
            .next()
            .map(|f| f.to_uppercase().chain(c).collect())
            .unwrap_or_default();
        h.push_str(&format!("<p>{}</p>", html::esc(&line)));
    }
    let table = |head: &str, rows: &[super::text::SummaryRow]| {
        let rows: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                let name = match &r.note {
                    Some(n) => format!("{} ({})", html::esc(&r.name), html::esc(n)),
                    None => html::esc(&r.name),
                };
                vec![
                    name,
                    format!("#{}", html::esc(&r.needled)),
                    format!("#{}", html::esc(&r.intact)),
                ]
            })
            .collect();
        html::table(&[&html::esc(head), "needled", "intact"], &rows)
    };
    h.push_str(&table(
        &format!("{} (per cm² of skin)", d.after),
        &d.amounts,
    ));
    h.push_str(&table(
        &format!("permeation ({})", d.permeation_head),
        &d.permeation,
    ));
    h.push_str(&format!("<p><b>{}</b></p>", html::esc(&d.endpoint)));
    for w in &r.warnings {
        h.push_str(&format!("<p class=\"open\">Warning: {}</p>", html::esc(w)));
    }
    h
}
