//! Load and latency benchmark of the web app on loopback (docs/BENCHMARKS.md, "Web app").
//!
//! ```text
//! cargo build --release -p needlesim-cli
//! cargo run --release -p needlesim-web --example load -- [--requests 50] [--bin target/release/needlesim]
//! ```
//!
//! 1. App start: with `--bin`, `needlesim serve` is started as a process and timed until it
//!    answers `/health`; in any case the in-process start (open and migrate the database,
//!    listen) is timed.
//! 2. One plan through the app, per example patient, one at a time: the intake form posted as
//!    a browser posts it, the redirect followed to the plan page (prediction included).
//! 3. Load: N plan requests (`POST /api/plan`, cycling through the examples) sent at once; each
//!    answer must be exactly the plan the library makes for that patient. Prints latency
//!    percentiles; exits 1 when any request is lost or wrong.

use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

async fn send(
    c: &HttpClient,
    method: &str,
    url: &str,
    ctype: &str,
    body: String,
) -> (u16, String, String) {
    let req = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", ctype)
        .body(Full::new(Bytes::from(body)))
        .expect("request");
    match c.request(req).await {
        Ok(res) => {
            let status = res.status().as_u16();
            let loc = res
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let body = res
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            (status, loc, String::from_utf8_lossy(&body).into_owned())
        }
        Err(e) => (0, String::new(), e.to_string()),
    }
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let mut requests = 50usize;
    let mut bin: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--requests" => requests = args.next().and_then(|v| v.parse().ok()).unwrap_or(50),
            "--bin" => bin = args.next(),
            other => {
                eprintln!("unknown argument {other}; use --requests N, --bin PATH");
                std::process::exit(2);
            }
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let ok = rt.block_on(run(requests, bin));
    std::process::exit(if ok { 0 } else { 1 });
}

async fn run(requests: usize, bin: Option<String>) -> bool {
    let scratch = std::env::temp_dir().join(format!("needlesim-web-load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let c: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "machine: {cpus} processors; needlesim {}",
        env!("CARGO_PKG_VERSION")
    );

    // 1. Start-up.
    if let Some(bin) = &bin {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("port");
        let t0 = Instant::now();
        let mut child = std::process::Command::new(bin)
            .args(["serve", "--port", &port.to_string(), "--data"])
            .arg(scratch.join("cli"))
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("needlesim serve starts");
        let url = format!("http://127.0.0.1:{port}/health");
        let ready = loop {
            let (s, _, _) = send(&c, "GET", &url, "text/plain", String::new()).await;
            if s == 200 {
                break Some(t0.elapsed());
            }
            if t0.elapsed() > Duration::from_secs(10) {
                break None;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        let _ = child.kill();
        let _ = child.wait();
        match ready {
            Some(d) => println!(
                "`needlesim serve` process start to first answer: {:.0} ms",
                d.as_secs_f64() * 1e3
            ),
            None => println!("`needlesim serve` did not answer within 10 s"),
        }
    }
    let mut cfg = needlesim_web::Config::local(scratch.join("app"));
    cfg.port = 0;
    let app = needlesim_web::start(cfg).await.expect("app starts");
    println!(
        "in-process start (new database, migrations, listen): {:.1} ms",
        app.startup.as_secs_f64() * 1e3
    );
    let base = app.url();

    // 2. One plan at a time, through the form, per example.
    println!(
        "\n| example patient | form post -> plan page, ms (best of 2) | `needlesim plan` process, ms (best of 2, same run) | verdict |\n|---|---:|---:|---|"
    );
    let mut worst: f64 = 0.0;
    for (name, text) in needlesim_web::EXAMPLES {
        let raw = needlesim::plan::patient::parse_raw(text, name).expect("example");
        let mut pairs = needlesim_web::form::Form::from_file(&raw).to_pairs();
        pairs.push(("action".into(), "plan".into()));
        let body = serde_urlencoded::to_string(&pairs).expect("encode");
        let mut best = f64::MAX;
        let mut verdict = String::new();
        for _ in 0..2 {
            let t0 = Instant::now();
            let (s, loc, _) = send(
                &c,
                "POST",
                &format!("{base}/patients"),
                "application/x-www-form-urlencoded",
                body.clone(),
            )
            .await;
            if s != 303 {
                println!("{name}: form post answered {s}");
                return false;
            }
            let (s, _, page) = send(
                &c,
                "GET",
                &format!("{base}{loc}"),
                "text/plain",
                String::new(),
            )
            .await;
            let ms = t0.elapsed().as_secs_f64() * 1e3;
            if s != 200 {
                println!("{name}: plan page answered {s}");
                return false;
            }
            best = best.min(ms);
            verdict = page
                .split("class=\"verdict v-")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or("?")
                .to_string();
        }
        worst = worst.max(best);
        // The same patient through the command line (baseline: the planner alone, plus
        // process start and writing its files).
        let cli = match &bin {
            Some(bin) => {
                let file = scratch.join(format!("{name}.toml"));
                let _ = std::fs::create_dir_all(&scratch);
                let _ = std::fs::write(&file, text);
                let mut best_cli = f64::MAX;
                for _ in 0..2 {
                    let t0 = Instant::now();
                    let ok = std::process::Command::new(bin)
                        .arg("plan")
                        .arg(&file)
                        .arg("--quiet")
                        .arg("--out")
                        .arg(scratch.join(format!("out_{name}")))
                        .status()
                        .is_ok_and(|s| s.success());
                    if ok {
                        best_cli = best_cli.min(t0.elapsed().as_secs_f64() * 1e3);
                    }
                }
                format!("{best_cli:.0}")
            }
            None => "-".into(),
        };
        println!("| {name} | {best:.0} | {cli} | {verdict} |");
    }
    println!("slowest example: {worst:.0} ms (target: under 2000 ms)");

    // 3. Load.
    let expected: Vec<String> = needlesim_web::EXAMPLES
        .iter()
        .map(|(_, t)| needlesim_web::make_plan(t).expect("plans").plan_json)
        .collect();
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..requests {
        let c = c.clone();
        let url = format!("{base}/api/plan");
        let k = i % needlesim_web::EXAMPLES.len();
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let (s, _, body) = send(
                &c,
                "POST",
                &url,
                "application/toml",
                needlesim_web::EXAMPLES[k].1.to_string(),
            )
            .await;
            (k, s, body, t.elapsed().as_secs_f64() * 1e3)
        }));
    }
    let mut lat = Vec::new();
    let (mut right, mut wrong, mut lost) = (0, 0, 0);
    for t in tasks {
        match t.await {
            Ok((k, 200, body, ms)) if body == expected[k] => {
                right += 1;
                lat.push(ms);
            }
            Ok((_, 0, _, _)) | Err(_) => lost += 1,
            Ok(_) => wrong += 1,
        }
    }
    let wall = t0.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    println!(
        "\n{requests} concurrent plan requests on loopback: {right} answered correctly, {wrong} wrong, {lost} lost; {wall:.1} s in all ({:.1} plans/s)",
        right as f64 / wall
    );
    println!(
        "latency ms: p50 {:.0}, p90 {:.0}, p99 {:.0}, max {:.0}",
        pct(&lat, 50.0),
        pct(&lat, 90.0),
        pct(&lat, 99.0),
        lat.last().copied().unwrap_or(f64::NAN)
    );
    let _ = app.stop().await;
    let _ = std::fs::remove_dir_all(&scratch);
    right == requests
}
