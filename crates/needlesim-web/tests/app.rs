//! The app over HTTP on loopback (no browser): plans, validation messages, saving, the guard,
//! size limits, and a small concurrent load.

mod common;

use common::*;

const TREATABLE: &[(&str, &str)] = &[
    ("title", "Test patient A"),
    ("date", "2026-11-21"),
    ("patient.age_years", "45"),
    ("patient.sex", "female"),
    ("patient.phototype", "2"),
    ("zones[0].name", "forehead"),
    ("zones[0].site", "forehead"),
    ("zones[0].concerns", "fine_lines"),
    ("action", "plan"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_becomes_a_saved_plan_and_bad_entries_get_the_cli_messages() {
    let (app, dir) = start("form").await;
    let c = client();
    let base = app.url();

    let home = get(&c, &format!("{base}/")).await;
    assert_eq!(home.status, 200);
    assert!(
        home.header("content-security-policy")
            .contains("default-src 'none'")
    );
    assert!(
        !home.body.contains("http://") && !home.body.contains("https://"),
        "no outside links"
    );

    // A treatable patient: saved, planned, redirected to the plan.
    let r = post_form(&c, &format!("{base}/patients"), TREATABLE).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let plan_url = r.header("location").to_string();
    assert!(plan_url.starts_with("/plans/"), "{plan_url}");
    let plan = get(&c, &format!("{base}{plan_url}")).await;
    assert_eq!(plan.status, 200);
    assert!(
        plan.body.contains("class=\"verdict v-treat"),
        "verdict shown"
    );
    assert!(plan.body.contains("id=\"edit-replan\""));
    let json = get(&c, &format!("{base}{plan_url}/plan.json")).await;
    let v: serde_json::Value = serde_json::from_str(&json.body).expect("plan.json");
    assert!(
        v["verdict"]["kind"]
            .as_str()
            .expect("kind")
            .starts_with("treat")
    );

    // The same input through the library directly gives the same plan, byte for byte.
    let toml = {
        let pairs: Vec<(String, String)> = TREATABLE
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        needlesim_web::form::Form::from_pairs(&pairs)
            .expect("form")
            .to_toml()
            .expect("toml")
    };
    let direct = needlesim_web::make_plan(&toml).expect("plans");
    assert_eq!(direct.plan_json, json.body);
    // The clinic outputs from the saved plan are those of the run itself.
    let run = needlesim::Study::patient_from_toml_str(&toml, "intake form")
        .expect("valid")
        .run(&needlesim::RunOptions::new(needlesim::study::Command::Plan))
        .expect("plans");
    let needlesim::study::Outcome::Plan { plan: p, patient } = &run.result else {
        panic!("a plan")
    };
    use needlesim::plan::clinic;
    let ics = get(&c, &format!("{base}{plan_url}/plan.ics")).await;
    assert_eq!(ics.header("content-type"), "text/calendar; charset=utf-8");
    assert_eq!(ics.body, clinic::calendar_ics(p, patient));
    let handout = get(&c, &format!("{base}{plan_url}/handout.html")).await;
    assert!(
        handout
            .header("content-disposition")
            .contains("handout.html")
    );
    assert_eq!(handout.body, clinic::handout_html(p, patient));
    let fhir = get(&c, &format!("{base}{plan_url}/fhir-bundle.json")).await;
    let bundle: serde_json::Value = serde_json::from_str(&fhir.body).expect("fhir json");
    assert_eq!(bundle, clinic::fhir_bundle(p, patient));
    assert_eq!(bundle["resourceType"], "Bundle");

    // Out-of-range and missing entries: the library's field errors, next to their fields.
    let mut bad: Vec<(&str, &str)> = TREATABLE.to_vec();
    bad[2] = ("patient.age_years", "150");
    bad.push(("zones[0].concerns", "stretch_marks"));
    let r = post_form(&c, &format!("{base}/patients"), &bad).await;
    assert_eq!(r.status, 422);
    assert!(
        r.body.contains(
            "data-field=\"patient.age_years\">150: must be a finite number within 18-100 years"
        ),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("data-field=\"zones[0].concerns\""),
        "concern error at the zone's concerns"
    );
    assert!(r.body.contains("Please check 2 entries"));
    // The summary lists them as the command line prints them.
    let cli = needlesim::Study::patient_from_toml_str(
        "date = \"2026-11-21\"\n[patient]\nage_years = 150\nsex = \"female\"\nphototype = 2\n[[zones]]\nname = \"forehead\"\nsite = \"forehead\"\nconcerns = [{ kind = \"fine_lines\" }]\n",
        "x",
    )
    .err()
    .expect("invalid");
    let needlesim::Error::Patient(p) = cli else {
        panic!("patient error")
    };
    let line = needlesim::report::html::esc(&p.field_errors()[0].to_string());
    assert!(r.body.contains(&line), "summary shows `{line}`");
    // A missing entry is named at its control (the file reader stops at the first such one,
    // as on the command line).
    let mut missing: Vec<(&str, &str)> = TREATABLE.to_vec();
    missing.retain(|(k, _)| *k != "patient.sex");
    let r = post_form(&c, &format!("{base}/patients"), &missing).await;
    assert_eq!(r.status, 422);
    assert!(
        r.body
            .contains("data-field=\"patient.sex\">missing field `sex`"),
        "{}",
        r.body
    );
    // Nothing was saved for the invalid form: one patient only.
    let home = get(&c, &format!("{base}/")).await;
    assert_eq!(home.body.matches("class=\"patient-link\"").count(), 1);

    // Save, reload, edit and re-plan.
    let mut save: Vec<(&str, &str)> = TREATABLE.to_vec();
    save[0] = ("title", "Saved only");
    save.retain(|(k, _)| *k != "action");
    save.push(("action", "save"));
    let r = post_form(&c, &format!("{base}/patients"), &save).await;
    assert_eq!(r.status, 303);
    let patient_url = r
        .header("location")
        .split('?')
        .next()
        .expect("url")
        .to_string();
    let page = get(&c, &format!("{base}{patient_url}")).await;
    assert!(page.body.contains("value=\"Saved only\""));
    assert!(page.body.contains("value=\"fine_lines\" checked"));
    let id = patient_url.rsplit('/').next().expect("id");
    let mut replan = save.clone();
    replan.retain(|(k, _)| *k != "action" && *k != "patient.age_years");
    replan.push(("patient.age_years", "61"));
    replan.push(("patient_id", id));
    replan.push(("action", "plan"));
    let r = post_form(&c, &format!("{base}/patients"), &replan).await;
    assert_eq!(r.status, 303);
    let page = get(&c, &format!("{base}{patient_url}")).await;
    assert!(page.body.contains("value=\"61\""), "edited value saved");
    assert!(page.body.contains("Plans made for this patient"));
    let toml = get(&c, &format!("{base}{patient_url}/patient.toml")).await;
    assert!(toml.header("content-disposition").starts_with("attachment"));
    assert!(toml.body.contains("age_years = 61"));

    // Adding a row redraws the form without validating.
    let mut add: Vec<(&str, &str)> = TREATABLE.to_vec();
    add.retain(|(k, _)| *k != "action");
    add.push(("action", "add_medication"));
    let r = post_form(&c, &format!("{base}/patients"), &add).await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("name=\"medications[0].name\""));

    // Unknown ids and pages: error pages, not panics.
    for u in [
        "/plans/999",
        "/plans/abc",
        "/patients/-1",
        "/nowhere",
        "/patients/99999999999999999999999",
    ] {
        let r = get(&c, &format!("{base}{u}")).await;
        assert_eq!(r.status, 404, "{u}");
        assert!(r.body.contains("<h1>Not found</h1>"), "{u}");
    }
    app.stop().await.expect("stops");
    // Nothing but the database in the data folder.
    for e in std::fs::read_dir(&dir).expect("data dir") {
        let n = e.expect("entry").file_name().to_string_lossy().to_string();
        assert!(n.starts_with(needlesim_web::db::DB_FILE), "unexpected {n}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guard_refuses_foreign_hosts_origins_tokens_and_oversized_bodies() {
    let (app, dir) = start("guard").await;
    let c = client();
    let base = app.url();
    // DNS rebinding: a foreign Host header.
    let r = send(
        &c,
        "GET",
        &format!("{base}/"),
        &[("host", "evil.example:80")],
        "",
    )
    .await;
    assert_eq!(r.status, 421);
    // A form posted from another site.
    let r = send(
        &c,
        "POST",
        &format!("{base}/patients"),
        &[
            ("origin", "http://evil.example"),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        "action=plan",
    )
    .await;
    assert_eq!(r.status, 403);
    // Too large: an error page naming the limit.
    let big = format!("title={}", "x".repeat(needlesim_web::MAX_BODY_BYTES + 10));
    let r = send(
        &c,
        "POST",
        &format!("{base}/patients"),
        &[("content-type", "application/x-www-form-urlencoded")],
        big,
    )
    .await;
    assert_eq!(r.status, 413);
    assert!(r.body.contains("the limit is 256 kB"), "{}", r.body);
    // A field over its limit, and too many rows.
    let long = "x".repeat(needlesim_web::form::MAX_FIELD_CHARS + 1);
    let r = post_form(&c, &format!("{base}/patients"), &[("title", long.as_str())]).await;
    assert_eq!(r.status, 413);
    let r = post_form(&c, &format!("{base}/patients"), &[("zones[25].name", "x")]).await;
    assert_eq!(r.status, 413);
    assert!(r.body.contains("more than 20 areas"));
    // Binary junk to the API: a JSON error, not a panic.
    let r = send(
        &c,
        "POST",
        &format!("{base}/api/plan"),
        &[],
        vec![0xff_u8, 0xfe, 0x00],
    )
    .await;
    assert_eq!(r.status, 400);
    let r = send(&c, "POST", &format!("{base}/api/plan"), &[], "date = 1").await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("\"errors\""));
    app.stop().await.expect("stops");
    let _ = std::fs::remove_dir_all(&dir);

    // With a token (as for a non-loopback address): nothing without it.
    let dir = data_dir("token");
    let mut cfg = needlesim_web::Config::local(&dir);
    cfg.port = 0;
    cfg.token = Some("a-long-enough-token-123".into());
    let app = needlesim_web::start(cfg).await.expect("starts");
    let base = app.url();
    assert_eq!(get(&c, &format!("{base}/")).await.status, 401);
    let r = send(
        &c,
        "GET",
        &format!("{base}/"),
        &[("authorization", "Bearer wrong-token-wrong-token")],
        "",
    )
    .await;
    assert_eq!(r.status, 401);
    let r = send(
        &c,
        "GET",
        &format!("{base}/"),
        &[("authorization", "Bearer a-long-enough-token-123")],
        "",
    )
    .await;
    assert_eq!(r.status, 200);
    let r = get(
        &c,
        &format!("{base}/patients/new?token=a-long-enough-token-123"),
    )
    .await;
    assert_eq!(r.status, 303);
    assert!(r.header("set-cookie").contains("HttpOnly"));
    let r = send(
        &c,
        "GET",
        &format!("{base}/"),
        &[("cookie", "needlesim_token=a-long-enough-token-123")],
        "",
    )
    .await;
    assert_eq!(r.status, 200);
    app.stop().await.expect("stops");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A small version of the load test (the full one, 50 requests with latency percentiles, is
/// `cargo run --release -p needlesim-web --example load`): concurrent plan requests, each
/// answered with exactly the plan the library makes for its patient.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_plan_requests_are_all_answered_correctly() {
    let (app, dir) = start("load").await;
    let c = client();
    let url = format!("{}/api/plan", app.url());
    let names = [
        "hair_scalp_type2",
        "melasma_type4_keloid",
        "not_today_isotretinoin_cold_sore",
    ];
    let expected: Vec<String> = names
        .iter()
        .map(|n| {
            needlesim_web::make_plan(&example(n))
                .expect("plans")
                .plan_json
        })
        .collect();
    let n = 12;
    let mut tasks = Vec::new();
    for i in 0..n {
        let c = c.clone();
        let url = url.clone();
        let k = i % (names.len() + 1);
        tasks.push(tokio::spawn(async move {
            if k == names.len() {
                // Every fourth request is an invalid file: a 422 with field errors.
                let r = send(&c, "POST", &url, &[], "date = \"2026-13-01\"\nzones = []\n[patient]\nage_years = 5\nsex = \"f\"\nphototype = 9\n").await;
                (k, r)
            } else {
                let r = send(&c, "POST", &url, &[], example(names[k])).await;
                (k, r)
            }
        }));
    }
    let mut answered = 0;
    for t in tasks {
        let (k, r) = t.await.expect("task");
        if k == names.len() {
            assert_eq!(r.status, 422);
            let v: serde_json::Value = serde_json::from_str(&r.body).expect("json");
            assert!(
                v["errors"].as_array().expect("errors").len() >= 4,
                "{}",
                r.body
            );
        } else {
            assert_eq!(r.status, 200);
            assert_eq!(
                r.body, expected[k],
                "request for {} got another plan",
                names[k]
            );
        }
        answered += 1;
    }
    assert_eq!(answered, n);
    app.stop().await.expect("stops");
    let _ = std::fs::remove_dir_all(&dir);
}
