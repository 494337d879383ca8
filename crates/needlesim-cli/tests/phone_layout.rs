//! The reports and the patient handout at phone width (420 px) and on a desktop (1200 px),
//! in headless Chromium: the page never scrolls sideways, every visible figure fits the
//! screen, no figure text runs past the figure's edge or overlaps other text; at phone width,
//! figure text also renders at 11 px or more, and every table is stacked (no table, nor the box around it, is wider than
//! the screen or scrolls sideways).
//!
//! Each page is loaded in an iframe of the tested width (Chromium's headless window cannot be
//! narrower than 500 px) with a small script that writes its findings into the DOM, read back
//! with `--dump-dom`. Skips with a message when no Chromium is installed (`.ci/run` installs
//! it; `NEEDLESIM_CHROMIUM` names another binary).

use std::path::{Path, PathBuf};
use std::process::Command;

const CHECK: &str = r#"
function check(win, phone) {
  var doc = win.document, W = win.innerWidth;
  var out = {width: W, page: doc.documentElement.scrollWidth, figures: 0, problems: []};
  doc.querySelectorAll('svg').forEach(function (s, i) {
    var b = s.getBoundingClientRect();
    if (b.width === 0) return; // the other layout's version of the figure (display: none)
    out.figures++;
    var m = s.getScreenCTM(), k = m ? m.a : 1, min = 1e9, small = '';
    if (b.right > W + 0.5 || b.left < -0.5)
      out.problems.push('figure ' + i + ' is wider than the screen (' + Math.round(b.left) + '..' + Math.round(b.right) + ' px)');
    var boxes = [];
    s.querySelectorAll('text').forEach(function (t) {
      if (!t.textContent.trim()) return;
      var f = parseFloat(win.getComputedStyle(t).fontSize) * k;
      if (f < min) { min = f; small = t.textContent.trim().slice(0, 40); }
      var r = t.getBoundingClientRect();
      if (r.width === 0) return;
      var name = t.textContent.trim().slice(0, 40);
      // At any width no text is cut off by the figure's edge (a long axis title clipped at
      // the top and bottom of a wide figure was), and no two texts overlap (a title over a key).
      if (r.left < b.left - 1 || r.right > b.right + 1 || r.top < b.top - 1 || r.bottom > b.bottom + 1)
        out.problems.push('figure ' + i + ': text "' + name + '" runs past its edge');
      boxes.forEach(function (o) {
        var w = Math.min(r.right, o.r.right) - Math.max(r.left, o.r.left);
        var h = Math.min(r.bottom, o.r.bottom) - Math.max(r.top, o.r.top);
        if (w > 2 && h > 2)
          out.problems.push('figure ' + i + ': text "' + name + '" overlaps "' + o.name + '"');
      });
      boxes.push({r: r, name: name});
    });
    if (phone && min < 11) out.problems.push('figure ' + i + ': text "' + small + '" renders at ' + min.toFixed(1) + ' px');
  });
  // At phone width every table stacks: neither it nor the box around it is wider than the
  // screen or scrolls sideways inside itself.
  if (phone) doc.querySelectorAll('table').forEach(function (t, i) {
    var b = t.getBoundingClientRect();
    if (b.width === 0) return;
    if (b.right > W + 0.5 || b.left < -0.5)
      out.problems.push('table ' + i + ' is wider than the screen (' + Math.round(b.left) + '..' + Math.round(b.right) + ' px)');
    [t, t.parentElement].forEach(function (e, k) {
      if (e.scrollWidth > e.clientWidth + 1)
        out.problems.push('table ' + i + (k ? ' (its box <' + e.tagName.toLowerCase() + '>)' : '') + ' scrolls sideways: ' + e.scrollWidth + ' px of content in ' + e.clientWidth + ' px');
    });
  });
  if (out.page > W) out.problems.push('the page is ' + out.page + ' px wide on a ' + W + ' px screen');
  return out;
}
"#;

fn chromium() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("NEEDLESIM_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The findings of [`CHECK`] on `page` at `width` px. Text size and stacked tables are checked
/// at phone width, where the phone versions of the figures are shown; at both widths the page
/// and the figures must fit, and figure text must stay inside its figure without overlapping.
fn check(browser: &Path, page: &Path, width: u32, work: &Path) -> serde_json::Value {
    let wrapper = work.join(format!("check-{width}.html"));
    let phone = width < 640;
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    std::fs::write(
        &wrapper,
        format!(
            r#"<!DOCTYPE html><html><body style="margin:0"><iframe id="f" src="{url}" style="width:{width}px;height:2000px;border:0"></iframe>
<pre id="phone-check"></pre><script>{CHECK}
document.getElementById('f').addEventListener('load', function () {{
  document.getElementById('phone-check').textContent = JSON.stringify(check(this.contentWindow, {phone}));
}});</script></body></html>"#
        ),
    )
    .unwrap();
    let o = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--allow-file-access-from-files",
            "--window-size=1300,2000",
            "--dump-dom",
        ])
        .arg(format!("file://{}", wrapper.display()))
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&o.stdout);
    let json = dom
        .split("<pre id=\"phone-check\">")
        .nth(1)
        .and_then(|r| r.split("</pre>").next())
        .unwrap_or_default()
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    serde_json::from_str(&json).unwrap_or_else(|e| {
        panic!(
            "no result from Chromium for {} ({e}): {}",
            page.display(),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

#[test]
fn reports_and_handout_fit_a_phone_and_a_desktop() {
    let Some(browser) = chromium() else {
        eprintln!(
            "SKIPPED: no Chromium found (install the `chromium` package, or set NEEDLESIM_CHROMIUM)"
        );
        return;
    };
    let work = std::env::temp_dir().join(format!("needlesim-phone-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let bin = env!("CARGO_BIN_EXE_needlesim");
    let run = |args: &[&str]| {
        let o = Command::new(bin).args(args).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let s = |p: &Path| p.to_str().unwrap().to_string();
    // A plan with every figure (prediction on), and a puncture report (plotters figures).
    let plan = work.join("plan");
    run(&[
        "plan",
        &s(&repo().join("examples/patients/acne_scars_type5.toml")),
        "--out",
        &s(&plan),
        "--quiet",
    ]);
    let punctures = work.join("punctures.html");
    run(&[
        "punctures",
        &s(&repo().join("examples/hand_stamp.toml")),
        "--out",
        &s(&work.join("p")),
        "--report",
        &s(&punctures),
        "--quiet",
    ]);
    // A simulate and a deliver report (plotters figures with legends, tables of outcomes).
    let simulate = work.join("simulate.html");
    run(&[
        "simulate",
        &s(&repo().join("examples/simulate_acne_scars.toml")),
        "--out",
        &s(&work.join("s")),
        "--report",
        &s(&simulate),
        "--quiet",
    ]);
    let deliver = work.join("deliver.html");
    run(&[
        "deliver",
        &s(&repo().join("examples/deliver_lidocaine_pen_0.5mm.toml")),
        "--out",
        &s(&work.join("d")),
        "--report",
        &s(&deliver),
        "--quiet",
    ]);
    let pages = [
        (plan.join("report.html"), 4),
        (punctures, 2),
        (plan.join("handout.html"), 0),
        (simulate, 2),
        (deliver, 2),
    ];
    let mut failures = Vec::new();
    for (page, figures) in &pages {
        for width in [420, 1200] {
            let r = check(&browser, page, width, &work);
            assert_eq!(r["width"], width, "the iframe sets the width");
            assert!(
                r["figures"].as_u64().unwrap() >= *figures,
                "{}: {} figures visible at {width} px, expected {figures}",
                page.display(),
                r["figures"]
            );
            for p in r["problems"].as_array().unwrap() {
                failures.push(format!(
                    "{} at {width} px: {}",
                    page.file_name().unwrap().to_string_lossy(),
                    p.as_str().unwrap()
                ));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
