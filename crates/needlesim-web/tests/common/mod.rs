//! Shared by the app's tests: start the app on a free loopback port with its own data folder,
//! and a small HTTP client.
#![allow(dead_code)]

use std::path::PathBuf;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use needlesim_web::{Config, Running};

pub type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

pub fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// A fresh data folder under the test's target scratch space.
pub fn data_dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("web-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

pub async fn start(name: &str) -> (Running, PathBuf) {
    let dir = data_dir(name);
    let mut cfg = Config::local(&dir);
    cfg.port = 0;
    let app = needlesim_web::start(cfg).await.expect("the app starts");
    (app, dir)
}

pub struct Reply {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

pub async fn send(
    c: &HttpClient,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Reply {
    let mut b = hyper::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let req = b.body(Full::new(body.into())).expect("request");
    let res = c.request(req).await.expect("the app answers");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub async fn get(c: &HttpClient, url: &str) -> Reply {
    send(c, "GET", url, &[], Bytes::new()).await
}

/// POSTs a urlencoded form.
pub async fn post_form(c: &HttpClient, url: &str, pairs: &[(&str, &str)]) -> Reply {
    let body = serde_urlencoded::to_string(pairs).expect("encode");
    send(
        c,
        "POST",
        url,
        &[("content-type", "application/x-www-form-urlencoded")],
        body,
    )
    .await
}

pub fn example(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/patients")
        .join(format!("{name}.toml"));
    std::fs::read_to_string(p).expect("example patient")
}
