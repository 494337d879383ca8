//! The app in a real browser: headless Chromium driven through chromedriver (WebDriver, the
//! fantoccini client). Fills the form for a treatable and a not-today patient and checks the
//! verdicts, shows an inline error, saves and reloads a patient, and takes screenshots at
//! 1200 px and 420 px, checking that nothing is cut off sideways.
//!
//! Skips (with a message) when Chromium or chromedriver is missing; `.ci/run` installs both.
//! Paths can be given with NEEDLESIM_CHROMIUM and NEEDLESIM_CHROMEDRIVER. Screenshots go to
//! `target/tmp/browser-screenshots/`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use fantoccini::{Client, ClientBuilder, Locator};

fn find(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Ok(p) = std::env::var(env) {
        return Some(PathBuf::from(p)).filter(|p| p.exists());
    }
    for c in candidates {
        let p = Path::new(c);
        if p.is_absolute() && p.exists() {
            return Some(p.to_path_buf());
        }
        if let Some(paths) = std::env::var_os("PATH") {
            for dir in std::env::split_paths(&paths) {
                let f = dir.join(c);
                if f.exists() {
                    return Some(f);
                }
            }
        }
    }
    None
}

struct Driver(Child);
impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn browser(chromium: &Path, driver_port: u16, downloads: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,1800", "--hide-scrollbars"],
            "prefs": {
                "download.default_directory": downloads,
                "download.prompt_for_download": false
            }
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let t0 = Instant::now();
    loop {
        match ClientBuilder::new(connector.clone())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{driver_port}"))
            .await
        {
            Ok(c) => return c,
            Err(e) if t0.elapsed() < Duration::from_secs(20) => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("cannot start a browser session through chromedriver: {e}"),
        }
    }
}

async fn set(c: &Client, name: &str, value: &str) {
    // A field added by a form action (add a medicine, add an area) appears once the page that
    // the action posted has loaded: wait for it rather than race the load.
    let css = format!("[name=\"{name}\"]");
    let t0 = Instant::now();
    let el = loop {
        match c.find(Locator::Css(&css)).await {
            Ok(el) => break el,
            Err(_) if t0.elapsed() < Duration::from_secs(15) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("field {name}: {e}"),
        }
    };
    el.clear().await.ok();
    el.send_keys(value)
        .await
        .unwrap_or_else(|e| panic!("typing into {name}: {e}"));
}

/// Sets a date or select field through script (typing into date inputs depends on locale).
async fn set_js(c: &Client, name: &str, value: &str) {
    c.execute(
        "const el = document.querySelector(`[name=\"${arguments[0]}\"]`); el.value = arguments[1]; return el.value;",
        vec![name.into(), value.into()],
    )
    .await
    .unwrap_or_else(|e| panic!("setting {name}: {e}"));
}

async fn tick(c: &Client, name: &str, value: &str) {
    let css = format!("input[name=\"{name}\"][value=\"{value}\"]");
    c.execute(
        "document.querySelector(arguments[0]).scrollIntoView({block: 'center'});",
        vec![css.clone().into()],
    )
    .await
    .unwrap_or_else(|e| panic!("checkbox {css}: {e}"));
    c.find(Locator::Css(&css))
        .await
        .unwrap_or_else(|e| panic!("checkbox {name}={value}: {e}"))
        .click()
        .await
        .expect("click");
}

/// Clicks a control after scrolling it to the middle of the window (the form's button bar
/// stays at the bottom edge, where WebDriver would otherwise scroll to).
async fn click(c: &Client, id: &str) {
    c.execute(
        "document.getElementById(arguments[0]).scrollIntoView({block: 'center'});",
        vec![id.into()],
    )
    .await
    .unwrap_or_else(|e| panic!("#{id}: {e}"));
    c.find(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"))
        .click()
        .await
        .expect("click");
}

async fn wait_for_url(c: &Client, part: &str) -> String {
    let t0 = Instant::now();
    loop {
        let u = c.current_url().await.expect("url").to_string();
        if u.contains(part) {
            return u;
        }
        if t0.elapsed() > Duration::from_secs(30) {
            let errors = match c.find(Locator::Id("errors")).await {
                Ok(e) => e.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            let src = c.source().await.unwrap_or_default();
            let dump = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-failure.html");
            let _ = std::fs::write(&dump, &src);
            panic!(
                "waited for {part}, at {u}; {errors} (page saved to {})",
                dump.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn fill_patient(c: &Client, title: &str, age: &str, zone: &str, site: &str, concern: &str) {
    set(c, "title", title).await;
    set_js(c, "date", "2026-11-21").await;
    set(c, "patient.age_years", age).await;
    set_js(c, "patient.sex", "female").await;
    set_js(c, "patient.phototype", "2").await;
    set(c, "zones[0].name", zone).await;
    set_js(c, "zones[0].site", site).await;
    tick(c, "zones[0].concerns", concern).await;
}

/// Waits for a downloaded file to be complete and returns its text.
async fn wait_for_file(path: &Path) -> String {
    let t0 = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && !text.is_empty()
        {
            return text;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "no download at {}",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn verdict(c: &Client) -> (String, String) {
    let el = c
        .find(Locator::Css("div.verdict"))
        .await
        .expect("a verdict");
    (
        el.attr("class").await.expect("class").unwrap_or_default(),
        el.text().await.expect("text"),
    )
}

/// Screenshot at `width` and the sideways check: the page no wider than the window, and every
/// table, figure and form control inside it (`figures_scroll`: a figure may scroll sideways in
/// its own box instead); at phone width (480 px or less) no table, nor the box around it,
/// scrolls sideways (they stack).
async fn shot_and_check(c: &Client, name: &str, width: u32, dir: &Path) {
    shot_and_check_with(c, name, width, dir, false).await
}

async fn shot_and_check_with(c: &Client, name: &str, width: u32, dir: &Path, figures_scroll: bool) {
    c.set_window_size(width, 1800).await.expect("resize");
    tokio::time::sleep(Duration::from_millis(150)).await;
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(dir.join(format!("{name}_{width}.png")), png).expect("write png");
    let r = c
        .execute(
            r#"const w = window.innerWidth;
               const doc = document.documentElement.scrollWidth;
               const out = [];
               const phone = w <= 480;
               for (const el of document.querySelectorAll('table, figure, .fig, svg, input, select, textarea, fieldset, pre')) {
                 const b = el.getBoundingClientRect();
                 if (b.width === 0) continue;
                 // At phone width tables stack: neither a table nor its box scrolls sideways.
                 if (phone && el.tagName === 'TABLE') {
                   for (const e of [el, el.parentElement]) {
                     if (e.scrollWidth > e.clientWidth + 1) out.push('TABLE scrolls sideways: ' + e.tagName + '.' + (e.getAttribute('class') || '') + ' ' + e.scrollWidth + ' px of content in ' + e.clientWidth);
                   }
                 }
                 // Inside a sideways-scrolling box, the box is what must fit (wide screens).
                 if (!phone && el.closest('.scroll') && el.tagName === 'TABLE') continue;
                 if (arguments[0] && el.tagName.toLowerCase() === 'svg' && el.closest('.fig')) continue;
                 if (b.left < -0.5 || b.right > w + 0.5) out.push(el.tagName + '.' + (el.getAttribute('class') || '') + ' ' + Math.round(b.left) + '..' + Math.round(b.right));
               }
               return {w, doc, out};"#,
            vec![figures_scroll.into()],
        )
        .await
        .expect("measure");
    let w = r["w"].as_f64().unwrap_or(0.0);
    let doc = r["doc"].as_f64().unwrap_or(f64::MAX);
    assert!(
        doc <= w + 0.5,
        "{name} at {width}: the page is {doc} px wide in a {w} px window"
    );
    let out = r["out"].as_array().cloned().unwrap_or_default();
    assert!(
        out.is_empty(),
        "{name} at {width}: cut off sideways: {out:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_in_headless_chromium() {
    let chromium = find(
        "NEEDLESIM_CHROMIUM",
        &[
            "/usr/bin/chromium",
            "chromium",
            "chromium-browser",
            "google-chrome",
        ],
    );
    let driver = find(
        "NEEDLESIM_CHROMEDRIVER",
        &["/usr/bin/chromedriver", "chromedriver"],
    );
    let (Some(chromium), Some(driver)) = (chromium, driver) else {
        eprintln!(
            "SKIPPED browser tests: Chromium and chromedriver are not installed (apt-get install chromium chromium-driver; .ci/run installs them, or set NEEDLESIM_CHROMIUM / NEEDLESIM_CHROMEDRIVER)"
        );
        return;
    };
    let port = free_port();
    let _driver = Driver(
        Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let downloads = data_dir("downloads");
    std::fs::create_dir_all(&downloads).expect("download dir");
    let (app, dir) = start("browser").await;
    let base = app.url();
    let c = browser(&chromium, port, &downloads).await;
    let body = tokio::spawn(scenario(c.clone(), base, shots.clone(), downloads.clone()));
    let result = body.await;
    c.close().await.expect("close the browser");
    app.stop().await.expect("stops");
    eprintln!("screenshots in {}", shots.display());
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&downloads);
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// The clicks and checks, in one browser session.
async fn scenario(c: Client, base: String, shots: PathBuf, downloads: PathBuf) {
    {
        // A treatable patient.
        c.goto(&format!("{base}/patients/new")).await.expect("form");
        shot_and_check(&c, "form_blank", 1200, &shots).await;
        shot_and_check(&c, "form_blank", 420, &shots).await;
        c.set_window_size(1200, 1800).await.expect("resize");
        fill_patient(
            &c,
            "Browser treatable",
            "45",
            "forehead",
            "forehead",
            "fine_lines",
        )
        .await;
        click(&c, "make-plan").await;
        let treat_url = wait_for_url(&c, "/plans/").await;
        let (class, text) = verdict(&c).await;
        assert!(
            class.contains("v-treat"),
            "treatable patient: {class} {text}"
        );
        shot_and_check(&c, "plan_treat", 1200, &shots).await;
        // The report's figures scroll sideways in their own box at phone width (the report's
        // phone layout is the planner's, not the app's).
        shot_and_check_with(&c, "plan_treat", 420, &shots, false).await;

        // Downloads from the plan page: the handout and the calendar.
        c.set_window_size(1200, 1800).await.expect("resize");
        click(&c, "download-handout").await;
        let handout = wait_for_file(&downloads.join("handout.html")).await;
        assert!(
            handout.starts_with("<!DOCTYPE html>"),
            "handout: {}",
            &handout[..handout.len().min(80)]
        );
        assert!(
            handout.contains("@media print"),
            "the handout has print CSS"
        );
        click(&c, "download-ics").await;
        let ics = wait_for_file(&downloads.join("plan.ics")).await;
        assert!(ics.starts_with("BEGIN:VCALENDAR"), "{ics}");
        assert!(ics.contains("BEGIN:VEVENT"), "sessions in the calendar");
        // The handout in the browser, to print.
        click(&c, "handout").await;
        wait_for_url(&c, "/handout").await;
        shot_and_check(&c, "handout", 1200, &shots).await;
        shot_and_check(&c, "handout", 420, &shots).await;

        // A not-today patient: a cold sore in the treated area.
        c.set_window_size(1200, 1800).await.expect("resize");
        c.goto(&format!("{base}/patients/new")).await.expect("form");
        fill_patient(
            &c,
            "Browser not today",
            "23",
            "mouth",
            "perioral",
            "fine_lines",
        )
        .await;
        tick(&c, "zones[0].skin_state", "herpes").await;
        click(&c, "make-plan").await;
        wait_for_url(&c, "/plans/").await;
        let (class, text) = verdict(&c).await;
        assert!(
            class.contains("v-not_today"),
            "not-today patient: {class} {text}"
        );

        // An entry out of range: the library's message next to the field.
        c.goto(&format!("{base}/patients/new")).await.expect("form");
        fill_patient(
            &c,
            "Browser wrong age",
            "150",
            "cheeks",
            "cheek",
            "fine_lines",
        )
        .await;
        click(&c, "make-plan").await;
        // Wait for the answer page (a fixed `find` raced the page load once in CI).
        let err = c
            .wait()
            .at_most(std::time::Duration::from_secs(30))
            .for_element(Locator::Css("span.err[data-field=\"patient.age_years\"]"))
            .await
            .expect("inline error at the age field");
        let t = err.text().await.expect("text");
        assert!(
            t.contains("must be a finite number within 18-100 years"),
            "{t}"
        );
        shot_and_check(&c, "form_errors", 1200, &shots).await;
        shot_and_check(&c, "form_errors", 420, &shots).await;

        // Save, then reload from the list of saved patients.
        c.set_window_size(1200, 1800).await.expect("resize");
        c.goto(&format!("{base}/patients/new")).await.expect("form");
        fill_patient(&c, "Browser saved", "52", "neck", "neck", "laxity").await;
        click(&c, "add-medication").await;
        set(&c, "medications[0].name", "warfarin 5 mg").await;
        set_js(&c, "medications[0].class", "other").await;
        click(&c, "save").await;
        wait_for_url(&c, "saved=1").await;
        c.goto(&format!("{base}/")).await.expect("home");
        shot_and_check(&c, "home", 1200, &shots).await;
        shot_and_check(&c, "home", 420, &shots).await;
        c.find(Locator::LinkText("Browser saved"))
            .await
            .expect("listed")
            .click()
            .await
            .expect("open");
        wait_for_url(&c, "/patients/").await;
        let value = |name: &'static str| {
            let c = c.clone();
            async move {
                c.find(Locator::Css(&format!("[name=\"{name}\"]")))
                    .await
                    .expect("field")
                    .prop("value")
                    .await
                    .expect("value")
                    .unwrap_or_default()
            }
        };
        assert_eq!(value("patient.age_years").await, "52");
        assert_eq!(value("zones[0].name").await, "neck");
        assert_eq!(value("medications[0].name").await, "warfarin 5 mg");
        assert_eq!(value("medications[0].class").await, "other");
        let checked = c
            .find(Locator::Css(
                "input[name=\"zones[0].concerns\"][value=\"laxity\"]",
            ))
            .await
            .expect("concern")
            .prop("checked")
            .await
            .expect("checked");
        assert_eq!(checked.as_deref(), Some("true"));

        // Back to the first plan: the app bar leads to edit and re-plan.
        c.goto(&treat_url).await.expect("plan");
        click(&c, "edit-replan").await;
        wait_for_url(&c, "/patients/").await;
        assert_eq!(value("title").await, "Browser treatable");
    }
}
