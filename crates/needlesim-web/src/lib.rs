//! needlesim's local web app: the intake form, the treatment plan, saved patients.
//!
//! `needlesim serve` starts it ([`serve_blocking`]); tests and benchmarks start it on a free
//! port with [`start`]. It owns the HTTP side only: every patient is validated and planned by
//! the library's front door ([`needlesim::Study`]), exactly as `needlesim plan` does, and the
//! plan page is the library's report. Data lives in one SQLite file in the data folder
//! ([`db`]); nothing is written anywhere else.
//!
//! Safety of a clinic tool on a shared machine:
//! - it listens on 127.0.0.1 unless told otherwise, and answers only requests addressed to this
//!   computer by name (`Host` checked: no DNS rebinding); another address needs an access
//!   token ([`Config::check`]), sent as `Authorization: Bearer`, a cookie, or once as
//!   `?token=` in the address;
//! - forms are accepted only from its own pages (`Origin` and `Sec-Fetch-Site` checked);
//! - request bodies, fields and list lengths are bounded ([`MAX_BODY_BYTES`], [`form`]);
//! - at most one plan per processor runs at a time; the others wait their turn
//!   ([`App::slots`]), and a failing plan gives an error page, not a dropped connection;
//! - every page is self-contained and its `Content-Security-Policy` forbids loading anything
//!   from elsewhere.

pub mod db;
pub mod form;
pub mod pages;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use needlesim::plan::PatientError;
use needlesim::study::{Command, Outcome, RunOptions, Study};
use tokio::sync::Semaphore;

use db::{Db, DbError, NewPlan};
use form::Form;

/// Largest request body accepted, bytes (a full intake form is a few kB).
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Shortest access token accepted for a non-loopback address, characters.
pub const MIN_TOKEN_CHARS: usize = 16;
/// The default port.
pub const DEFAULT_PORT: u16 = 8080;

/// The bundled example patients, offered as starting points: `(name, file text)`.
pub const EXAMPLES: &[(&str, &str)] = &[
    (
        "acne_scars_type5",
        include_str!("../../../examples/patients/acne_scars_type5.toml"),
    ),
    (
        "fine_lines_type2",
        include_str!("../../../examples/patients/fine_lines_type2.toml"),
    ),
    (
        "hair_scalp_type2",
        include_str!("../../../examples/patients/hair_scalp_type2.toml"),
    ),
    (
        "melasma_type4_keloid",
        include_str!("../../../examples/patients/melasma_type4_keloid.toml"),
    ),
    (
        "not_today_isotretinoin_cold_sore",
        include_str!("../../../examples/patients/not_today_isotretinoin_cold_sore.toml"),
    ),
    (
        "stretch_marks_type3",
        include_str!("../../../examples/patients/stretch_marks_type3.toml"),
    ),
];

/// How to run the app.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address to listen on (default 127.0.0.1).
    pub bind: IpAddr,
    /// Port (0: any free port).
    pub port: u16,
    /// The data folder: the database lives here, and nothing is written elsewhere.
    pub data_dir: PathBuf,
    /// Access token; required for a non-loopback `bind`.
    pub token: Option<String>,
    /// Plans computed at once (default: the number of processors).
    pub plan_slots: Option<usize>,
}

impl Config {
    /// Loopback, the default port, the given data folder, no token.
    pub fn local(data_dir: impl Into<PathBuf>) -> Config {
        Config {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
            data_dir: data_dir.into(),
            token: None,
            plan_slots: None,
        }
    }

    /// Refuses a configuration that would expose patient data: another address than loopback
    /// without an access token of at least [`MIN_TOKEN_CHARS`] characters.
    pub fn check(&self) -> Result<(), WebError> {
        if let Some(t) = &self.token
            && (t.chars().count() < MIN_TOKEN_CHARS || t.chars().any(|c| !c.is_ascii_graphic()))
        {
            return Err(WebError::Config(format!(
                "the access token must be at least {MIN_TOKEN_CHARS} printable characters without spaces\n  hint: e.g. --token $(head -c 18 /dev/urandom | base64)"
            )));
        }
        if !self.bind.is_loopback() && self.token.is_none() {
            return Err(WebError::Config(format!(
                "--bind {} makes patient data reachable from other computers: it needs an access token (--token T, at least {MIN_TOKEN_CHARS} characters)\n  hint: leave --bind out to use the app on this computer only (127.0.0.1)",
                self.bind
            )));
        }
        Ok(())
    }
}

/// Why the app cannot start.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(
        "cannot listen on {addr}: {source}\n  hint: another program may use the port; pick another with --port"
    )]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the web server: {0}")]
    Io(#[from] std::io::Error),
}

/// The app's shared state.
pub struct App {
    db: Db,
    /// Plans computed at once; further requests wait for a slot.
    pub slots: Semaphore,
    token: Option<String>,
    loopback: bool,
    port: u16,
}

/// A running app.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The database file.
    pub db_path: PathBuf,
    /// From the call to [`start`] until it listened, with the database open and migrated.
    pub startup: std::time::Duration,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops accepting requests, lets running ones finish, and waits.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.task.await.map_err(std::io::Error::other)?
    }

    /// The app's address as a URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Starts the app on the current tokio runtime.
pub async fn start(cfg: Config) -> Result<Running, WebError> {
    let t0 = Instant::now();
    cfg.check()?;
    let db = Db::open(&cfg.data_dir)?;
    let addr = SocketAddr::new(cfg.bind, cfg.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| WebError::Bind { addr, source })?;
    let addr = listener.local_addr()?;
    let slots = cfg
        .plan_slots
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1);
    let app = Arc::new(App {
        db,
        slots: Semaphore::new(slots),
        token: cfg.token.clone(),
        loopback: cfg.bind.is_loopback(),
        port: addr.port(),
    });
    let db_path = app.db.path().to_path_buf();
    let router = router(app);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
    });
    Ok(Running {
        addr,
        db_path,
        startup: t0.elapsed(),
        stop: Some(tx),
        task,
    })
}

/// Runs the app until Ctrl-C (the `needlesim serve` command); `ready` is told where it
/// listens once it does.
pub fn serve_blocking(cfg: Config, ready: impl FnOnce(&Running)) -> Result<(), WebError> {
    cfg.check()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let running = start(cfg).await?;
        ready(&running);
        let _ = tokio::signal::ctrl_c().await;
        running.stop().await?;
        Ok(())
    })
}

/// The routes, the size limit and the guard.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/health", get(|| async { "ok" }))
        .route("/patients/new", get(new_patient))
        .route("/patients", post(submit))
        .route("/patients/{id}", get(show_patient))
        .route("/patients/{id}/patient.toml", get(patient_toml))
        .route("/plans/{id}", get(show_plan))
        .route("/plans/{id}/plan.json", get(plan_json))
        .route("/plans/{id}/handout", get(handout_view))
        .route("/plans/{id}/handout.html", get(handout_download))
        .route("/plans/{id}/plan.ics", get(calendar))
        .route("/plans/{id}/fhir-bundle.json", get(fhir))
        .route("/api/plan", post(api_plan))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(app.clone(), guard))
        .with_state(app)
}

// ---------------------------------------------------------------------------------------------
// The guard: host, token, origin, and the headers of every response.
// ---------------------------------------------------------------------------------------------

const TOKEN_COOKIE: &str = "needlesim_token";

/// Every page may use only what it carries inline.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

fn same_bytes(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn header_str<'a>(h: &'a HeaderMap, name: header::HeaderName) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn cookie_token(h: &HeaderMap) -> Option<&str> {
    h.get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == TOKEN_COOKIE)
        .map(|(_, v)| v)
}

fn query_token(q: Option<&str>) -> Option<&str> {
    q?.split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "token")
        .map(|(_, v)| v)
}

async fn guard(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let h = req.headers();
    let host = header_str(h, header::HOST)
        .unwrap_or("")
        .to_ascii_lowercase();
    if app.loopback {
        let p = app.port;
        let ok = [
            format!("127.0.0.1:{p}"),
            format!("localhost:{p}"),
            format!("[::1]:{p}"),
        ];
        if !ok.contains(&host) {
            return page(
                StatusCode::MISDIRECTED_REQUEST,
                pages::error_page(
                    "Wrong address",
                    "This app answers only to addresses of this computer (127.0.0.1 or localhost).",
                    "Open the address printed when the app started.",
                ),
            );
        }
    }
    if let Some(token) = &app.token {
        let given = header_str(h, header::AUTHORIZATION)
            .and_then(|v| v.strip_prefix("Bearer "))
            .or_else(|| cookie_token(h));
        if !given.is_some_and(|g| same_bytes(g, token)) {
            // The address with `?token=` (as printed at start): keep it as a cookie.
            if req.method() == Method::GET
                && query_token(req.uri().query()).is_some_and(|g| same_bytes(g, token))
            {
                let mut r = Redirect::to(req.uri().path()).into_response();
                if let Ok(v) = HeaderValue::from_str(&format!(
                    "{TOKEN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/"
                )) {
                    r.headers_mut().insert(header::SET_COOKIE, v);
                }
                return secure(r);
            }
            return page(
                StatusCode::UNAUTHORIZED,
                pages::error_page(
                    "Access token needed",
                    "This app was started for use from other computers and needs its access token.",
                    "Open the address with ?token=… as given by whoever started it.",
                ),
            );
        }
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let cross_site = header_str(h, header::HeaderName::from_static("sec-fetch-site"))
            .is_some_and(|s| s == "cross-site");
        let foreign_origin = header_str(h, header::ORIGIN).is_some_and(|o| {
            let o = o.to_ascii_lowercase();
            o != format!("http://{host}") && o != format!("https://{host}")
        });
        if cross_site || foreign_origin {
            return page(
                StatusCode::FORBIDDEN,
                pages::error_page(
                    "Refused",
                    "This form was sent from another web site.",
                    "Use the app's own pages.",
                ),
            );
        }
    }
    secure(next.run(req).await)
}

/// Adds the headers every response carries: nothing loaded from elsewhere, nothing cached.
fn secure(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

// ---------------------------------------------------------------------------------------------
// Handlers.
// ---------------------------------------------------------------------------------------------

fn page(status: StatusCode, html: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

fn download(content_type: &'static str, name: &str, body: impl Into<Body>) -> Response {
    let disp = format!(
        "attachment; filename=\"{}\"",
        name.replace(['"', '\\', '\r', '\n'], "_")
    );
    let mut r = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, content_type)],
        body.into(),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&disp) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

fn not_found_page(what: &str) -> Response {
    page(
        StatusCode::NOT_FOUND,
        pages::error_page("Not found", what, "Go back to the saved patients."),
    )
}

async fn not_found() -> Response {
    not_found_page("There is no page at this address.")
}

fn db_failed(e: DbError) -> Response {
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        pages::error_page(
            "The database failed",
            &e.to_string(),
            "Nothing was changed by this request. Check that the data folder is writable and not full.",
        ),
    )
}

fn parse_id(s: &str) -> Option<i64> {
    s.parse::<i64>().ok().filter(|&i| i > 0)
}

/// Today's date (UTC), YYYY-MM-DD.
pub fn today() -> String {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn example_titles() -> Vec<(&'static str, &'static str)> {
    EXAMPLES
        .iter()
        .map(|(name, text)| {
            let title = text
                .lines()
                .find_map(|l| l.strip_prefix("title = \""))
                .and_then(|t| t.strip_suffix('"'))
                .unwrap_or(name);
            (*name, title)
        })
        .collect()
}

async fn home(State(app): State<Arc<App>>) -> Response {
    match app.db.patients() {
        Ok(rows) => page(StatusCode::OK, pages::home(&rows, &example_titles())),
        Err(e) => db_failed(e),
    }
}

#[derive(serde::Deserialize)]
struct NewQuery {
    example: Option<String>,
}

async fn new_patient(Query(q): Query<NewQuery>) -> Response {
    let form = match q.example.as_deref() {
        None => Form::blank(&today()),
        Some(name) => match EXAMPLES.iter().find(|(n, _)| *n == name) {
            Some((_, text)) => match needlesim::plan::patient::parse_raw(text, name) {
                Ok(raw) => Form::from_file(&raw),
                Err(e) => return internal(&e.to_string()),
            },
            None => return not_found_page("There is no example patient of that name."),
        },
    };
    page(
        StatusCode::OK,
        pages::intake(&form, None, &Default::default(), &[], &[]),
    )
}

fn internal(what: &str) -> Response {
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        pages::error_page(
            "Something went wrong",
            what,
            "Nothing was saved by this request. Please report this, with the patient file if you can.",
        ),
    )
}

/// The library's field errors of a patient file, or a single whole-form error.
fn field_errors(e: &needlesim::Error) -> Vec<needlesim::input::FieldError> {
    match e {
        needlesim::Error::Patient(p @ PatientError::Invalid { .. }) => p.field_errors().to_vec(),
        other => vec![needlesim::input::FieldError::new(
            "(form)",
            "-",
            other.to_string(),
            "",
        )],
    }
}

fn form_with_errors(
    form: &Form,
    id: Option<i64>,
    errors: Vec<needlesim::input::FieldError>,
) -> Response {
    // Line numbers would point into the file made from the form, which the user never sees.
    let errors: Vec<_> = errors
        .into_iter()
        .map(|mut e| {
            e.line = None;
            e
        })
        .collect();
    let mut by_field = pages::Errors::new();
    for e in &errors {
        by_field
            .entry(form.field_for(&e.path, &e.message))
            .or_default()
            .push(e.clone());
    }
    let mut shown = form.clone();
    if shown.zones.is_empty() {
        shown.zones.push(form::Zone::default());
    }
    page(
        StatusCode::UNPROCESSABLE_ENTITY,
        pages::intake(&shown, id, &by_field, &errors, &[]),
    )
}

/// A finished plan, ready to store.
pub struct Planned {
    pub verdict: String,
    pub summary: String,
    pub plan_json: String,
    pub report_html: String,
}

/// Validates and plans a patient file through the front door, as `needlesim plan` does.
pub fn make_plan(toml: &str) -> Result<Planned, needlesim::Error> {
    let study = Study::patient_from_toml_str(toml, "intake form")?;
    let mut opts = RunOptions::new(Command::Plan);
    opts.quiet = true;
    let run = study.run(&opts)?;
    let info = needlesim::report::html::RunInfo {
        command_line: "needlesim serve (the web app); to repeat it, save the input below as patient.toml and run `needlesim plan patient.toml`".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        seed: None,
    };
    let report_html = run.page(&info)?;
    let Outcome::Plan { plan, .. } = &run.result else {
        return Err(needlesim::Error::Input(
            "the planner returned no plan".into(),
        ));
    };
    let plan_json = serde_json::to_string_pretty(plan)
        .map_err(|e| needlesim::Error::Input(format!("serialising the plan: {e}")))?;
    let verdict = serde_json::to_value(plan.verdict.kind)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    Ok(Planned {
        verdict,
        summary: plan.verdict.summary.clone(),
        plan_json,
        report_html,
    })
}

/// Why a plan was not made.
enum PlanFailure {
    Input(Vec<needlesim::input::FieldError>),
    Failed(String),
}

/// Plans on a blocking thread, at most [`App::slots`] at a time; a panic in the planner is
/// turned into an error.
async fn run_plan(app: &App, toml: String) -> Result<Planned, PlanFailure> {
    let _slot = app
        .slots
        .acquire()
        .await
        .map_err(|_| PlanFailure::Failed("the app is shutting down".into()))?;
    match tokio::task::spawn_blocking(move || make_plan(&toml)).await {
        Ok(Ok(p)) => Ok(p),
        Ok(Err(e)) if e.is_bad_input() => Err(PlanFailure::Input(field_errors(&e))),
        Ok(Err(e)) => Err(PlanFailure::Failed(e.to_string())),
        Err(_) => Err(PlanFailure::Failed(
            "the planner stopped unexpectedly on this patient".into(),
        )),
    }
}

type Body_ = Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>;

fn too_large(e: &axum::extract::rejection::BytesRejection) -> Response {
    page(
        e.status(),
        pages::error_page(
            "The request is too large or unreadable",
            &format!(
                "{} (the limit is {} kB)",
                e.body_text(),
                MAX_BODY_BYTES / 1024
            ),
            "Go back and shorten it.",
        ),
    )
}

async fn submit(State(app): State<Arc<App>>, body: Body_) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) => return too_large(&e),
    };
    let pairs: Vec<(String, String)> = match serde_urlencoded_pairs(&body) {
        Some(p) => p,
        None => {
            return page(
                StatusCode::BAD_REQUEST,
                pages::error_page(
                    "Unreadable form",
                    "The form could not be read.",
                    "Reload the form and try again.",
                ),
            );
        }
    };
    let value = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let id = value("patient_id").and_then(parse_id);
    let action = value("action").unwrap_or("plan").to_string();
    let mut form = match Form::from_pairs(&pairs) {
        Ok(f) => f,
        Err(e) => {
            return page(
                StatusCode::PAYLOAD_TOO_LARGE,
                pages::error_page(
                    "The form is too large",
                    &e.to_string(),
                    "Go back and shorten it.",
                ),
            );
        }
    };
    // Adding and removing rows only redraws the form.
    let (verb, index) = match action.split_once(':') {
        Some((v, i)) => (v, i.parse::<usize>().ok()),
        None => (action.as_str(), None),
    };
    let redraw = match (verb, index) {
        ("add_zone", _) if form.zones.len() < form::MAX_ZONES => {
            form.zones.push(form::Zone::default());
            true
        }
        ("add_medication", _) if form.medications.len() < form::MAX_ROWS => {
            form.medications.push(Default::default());
            true
        }
        ("add_procedure", _) if form.procedures.len() < form::MAX_ROWS => {
            form.procedures.push(Default::default());
            true
        }
        ("add_blackout", _) if form.blackout.len() < form::MAX_ROWS => {
            form.blackout.push(Default::default());
            true
        }
        ("remove_zone", Some(i)) if i < form.zones.len() => {
            form.zones.remove(i);
            true
        }
        ("remove_medication", Some(i)) if i < form.medications.len() => {
            form.medications.remove(i);
            true
        }
        ("remove_procedure", Some(i)) if i < form.procedures.len() => {
            form.procedures.remove(i);
            true
        }
        ("remove_blackout", Some(i)) if i < form.blackout.len() => {
            form.blackout.remove(i);
            true
        }
        ("save" | "plan", _) => false,
        _ => true,
    };
    if redraw {
        if form.zones.is_empty() {
            form.zones.push(form::Zone::default());
        }
        return page(
            StatusCode::OK,
            pages::intake(&form, id, &Default::default(), &[], &[]),
        );
    }
    let toml = match form.to_toml() {
        Ok(t) => t,
        Err(e) => return form_with_errors(&form, id, vec![e]),
    };
    if let Err(e) = Study::patient_from_toml_str(&toml, "intake form") {
        return form_with_errors(&form, id, field_errors(&e));
    }
    let title = form.display_title();
    let saved = match id {
        Some(id) => app
            .db
            .update_patient(id, &title, &toml)
            .map(|found| found.then_some(id)),
        None => app.db.insert_patient(&title, &toml).map(Some),
    };
    let id = match saved {
        Ok(Some(id)) => id,
        Ok(None) => return not_found_page("That patient is no longer saved."),
        Err(e) => return db_failed(e),
    };
    if verb == "save" {
        return Redirect::to(&format!("/patients/{id}?saved=1")).into_response();
    }
    match run_plan(&app, toml.clone()).await {
        Ok(p) => {
            let row = NewPlan {
                verdict: &p.verdict,
                summary: &p.summary,
                patient_toml: &toml,
                plan_json: &p.plan_json,
                report_html: &p.report_html,
            };
            match app.db.insert_plan(id, &row) {
                Ok(plan_id) => Redirect::to(&format!("/plans/{plan_id}")).into_response(),
                Err(e) => db_failed(e),
            }
        }
        Err(PlanFailure::Input(errors)) => form_with_errors(&form, Some(id), errors),
        Err(PlanFailure::Failed(what)) => internal(&format!(
            "The patient was saved, but the plan could not be made: {what}"
        )),
    }
}

/// `application/x-www-form-urlencoded` pairs, or `None` when the body is not text.
fn serde_urlencoded_pairs(body: &[u8]) -> Option<Vec<(String, String)>> {
    serde_urlencoded::from_bytes(body).ok()
}

#[derive(serde::Deserialize)]
struct PatientQuery {
    saved: Option<String>,
}

async fn show_patient(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Query(q): Query<PatientQuery>,
) -> Response {
    let Some(id) = parse_id(&id) else {
        return not_found_page("There is no patient with that number.");
    };
    let row = match app.db.patient(id) {
        Ok(Some(r)) => r,
        Ok(None) => return not_found_page("There is no patient with that number."),
        Err(e) => return db_failed(e),
    };
    let plans = match app.db.plans_of(id) {
        Ok(p) => p,
        Err(e) => return db_failed(e),
    };
    match needlesim::plan::patient::parse_raw(&row.toml, "saved patient") {
        Ok(raw) => {
            let mut html = pages::intake(
                &Form::from_file(&raw),
                Some(id),
                &Default::default(),
                &[],
                &plans,
            );
            if q.saved.is_some() {
                html = html.replacen(
                    "<form ",
                    "<p class=\"note\" id=\"saved\">Saved.</p>\n<form ",
                    1,
                );
            }
            page(StatusCode::OK, html)
        }
        Err(e) => internal(&format!("The saved patient file cannot be read: {e}")),
    }
}

async fn patient_toml(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    match parse_id(&id).map(|id| app.db.patient(id)) {
        Some(Ok(Some(r))) => download(
            "application/toml; charset=utf-8",
            &format!("patient_{}.toml", r.id),
            r.toml,
        ),
        Some(Err(e)) => db_failed(e),
        _ => not_found_page("There is no patient with that number."),
    }
}

async fn load_plan(app: &App, id: &str) -> Result<db::PlanRow, Response> {
    match parse_id(id).map(|id| app.db.plan(id)) {
        Some(Ok(Some(r))) => Ok(r),
        Some(Err(e)) => Err(db_failed(e)),
        _ => Err(not_found_page("There is no plan with that number.")),
    }
}

/// The app's bar above a plan report: back, edit and re-plan, downloads.
fn plan_bar(p: &db::PlanRow) -> String {
    format!(
        "<nav id=\"app-bar\" style=\"display:flex;flex-wrap:wrap;gap:6px 16px;padding:8px 0;border-bottom:2px solid #eee;font-weight:600\"><a href=\"/\">Saved patients</a><a href=\"/patients/{pid}\" id=\"edit-replan\">Edit and re-plan</a><a href=\"/plans/{id}/handout\" id=\"handout\">Patient handout (print or save as PDF)</a><a href=\"/plans/{id}/handout.html\" id=\"download-handout\" download>Download the handout</a><a href=\"/plans/{id}/plan.ics\" id=\"download-ics\" download>Calendar (.ics)</a><a href=\"/plans/{id}/fhir-bundle.json\" id=\"download-fhir\" download>FHIR bundle</a><a href=\"/plans/{id}/plan.json\" id=\"download-json\" download>plan.json</a><a href=\"/patients/{pid}/patient.toml\" download>Patient file</a></nav>",
        pid = p.patient_id,
        id = p.id
    )
}

async fn show_plan(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    match load_plan(&app, &id).await {
        Ok(p) => {
            let html = p
                .report_html
                .replacen("<body>", &format!("<body>\n{}", plan_bar(&p)), 1);
            page(StatusCode::OK, html)
        }
        Err(r) => r,
    }
}

async fn plan_json(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    match load_plan(&app, &id).await {
        Ok(p) => download("application/json", "plan.json", p.plan_json),
        Err(r) => r,
    }
}

/// The stored plan and the patient it was made for (as validated then), for the clinic outputs.
fn plan_and_patient(
    p: &db::PlanRow,
) -> Result<(needlesim::plan::Plan, needlesim::plan::Patient), Response> {
    let plan = serde_json::from_str(&p.plan_json)
        .map_err(|e| internal(&format!("The saved plan cannot be read: {e}")))?;
    let patient = needlesim::plan::patient::parse(&p.patient_toml, "saved patient")
        .map_err(|e| internal(&format!("The saved patient file cannot be read: {e}")))?;
    Ok((plan, patient))
}

async fn clinic_output(
    app: &App,
    id: &str,
    make: impl FnOnce(&needlesim::plan::Plan, &needlesim::plan::Patient) -> Response,
) -> Response {
    match load_plan(app, id).await {
        Ok(p) => match plan_and_patient(&p) {
            Ok((plan, patient)) => make(&plan, &patient),
            Err(r) => r,
        },
        Err(r) => r,
    }
}

/// The handout in the browser, to print or save as PDF.
async fn handout_view(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    clinic_output(&app, &id, |plan, patient| {
        page(
            StatusCode::OK,
            needlesim::plan::clinic::handout_html(plan, patient),
        )
    })
    .await
}

async fn handout_download(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    clinic_output(&app, &id, |plan, patient| {
        download(
            "text/html; charset=utf-8",
            "handout.html",
            needlesim::plan::clinic::handout_html(plan, patient),
        )
    })
    .await
}

async fn calendar(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    clinic_output(&app, &id, |plan, patient| {
        download(
            "text/calendar; charset=utf-8",
            "plan.ics",
            needlesim::plan::clinic::calendar_ics(plan, patient),
        )
    })
    .await
}

async fn fhir(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    clinic_output(&app, &id, |plan, patient| {
        let bundle = needlesim::plan::clinic::fhir_bundle(plan, patient);
        match serde_json::to_string_pretty(&bundle) {
            Ok(text) => download("application/fhir+json", "fhir-bundle.json", text),
            Err(e) => internal(&format!("The FHIR bundle cannot be written: {e}")),
        }
    })
    .await
}

/// `POST /api/plan`: a patient file (TOML) in, plan.json out; 422 with the field errors as
/// JSON when the file is invalid. Nothing is saved.
async fn api_plan(State(app): State<Arc<App>>, body: Body_) -> Response {
    let json = |status: StatusCode, v: serde_json::Value| {
        (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            v.to_string(),
        )
            .into_response()
    };
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            return json(e.status(), serde_json::json!({ "error": e.body_text() }));
        }
    };
    let Ok(text) = String::from_utf8(body.to_vec()) else {
        return json(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"error": "the body must be a patient file (UTF-8 TOML)"}),
        );
    };
    match run_plan(&app, text).await {
        Ok(p) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            p.plan_json,
        )
            .into_response(),
        Err(PlanFailure::Input(errors)) => json(
            StatusCode::UNPROCESSABLE_ENTITY,
            serde_json::json!({ "errors": errors }),
        ),
        Err(PlanFailure::Failed(what)) => json(
            StatusCode::INTERNAL_SERVER_ERROR,
            serde_json::json!({ "error": what }),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_bind_needs_a_long_token() {
        let mut c = Config::local("x");
        assert!(c.check().is_ok());
        c.bind = "0.0.0.0".parse().expect("ip");
        let e = c.check().unwrap_err().to_string();
        assert!(e.contains("needs an access token"), "{e}");
        c.token = Some("short".into());
        assert!(c.check().unwrap_err().to_string().contains("at least 16"));
        c.token = Some("0123456789abcdef-long".into());
        assert!(c.check().is_ok());
    }

    #[test]
    fn today_is_a_valid_date() {
        let t = today();
        assert!(needlesim::plan::Date::parse(&t).is_ok(), "{t}");
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same_bytes("abc", "abc"));
        assert!(!same_bytes("abc", "abd"));
        assert!(!same_bytes("abc", "abcd"));
    }
}
