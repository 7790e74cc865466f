//! Operations endpoints: readiness and draining, Prometheus metrics, the OpenAPI document
//! and the API explorer.

use std::time::Duration;

use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::server_process::ServerProcess;

fn root(base: &str) -> &str {
    base.trim_end_matches("/api/v1")
}

async fn get(client: &reqwest::Client, url: &str) -> reqwest::Response {
    client.get(url).send().await.expect("request sent")
}

#[tokio::test]
async fn ready_reports_each_dependency_at_the_root_and_under_the_api() {
    let app = spawn_app().await;
    for url in [
        format!("{}/ready", root(&app.base)),
        format!("{}/ready", app.base),
    ] {
        let res = get(&app.client, &url).await;
        assert_eq!(res.status(), StatusCode::OK, "{url}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            body,
            json!({"status": "ready", "database": "up", "cache": "disabled"})
        );
    }
}

#[tokio::test]
async fn ready_says_whether_redis_answers_but_only_the_database_decides() {
    let (database_url, _scratch) = fresh_store().await;
    let mut s = settings(&database_url, 60.0);
    s.cache.enabled = true;
    s.cache.redis_url = Some(secrecy::SecretString::from(shared_redis_url()));
    let app = spawn_with(s).await;
    let (status, body) = app.call(Method::GET, "/ready", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["cache"], "up");

    let (second_url, _second) = fresh_store().await;
    let mut s = settings(&second_url, 60.0);
    s.cache.enabled = true;
    // Nothing listens on port 1: the cache is down, the service still serves.
    s.cache.redis_url = Some(secrecy::SecretString::from("redis://127.0.0.1:1/"));
    let app = spawn_with(s).await;
    let (status, body) = app.call(Method::GET, "/ready", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"status": "ready", "database": "up", "cache": "down"})
    );
}

#[tokio::test]
async fn ready_is_503_while_the_database_is_unreachable_and_health_stays_200() {
    let mut s = settings("postgres://postgres@127.0.0.1:1/nowhere", 60.0);
    s.database.migrate_on_start = false;
    s.auth.admin_email = None;
    s.auth.admin_password = None;
    let app = spawn_with(s).await;
    let res = get(&app.client, &format!("{}/ready", root(&app.base))).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().contains_key(header::RETRY_AFTER));
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body,
        json!({"status": "unavailable", "database": "down", "cache": "disabled",
               "error": "the database does not answer"})
    );
    let res = get(&app.client, &format!("{}/health", root(&app.base))).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn on_sigterm_ready_turns_draining_while_requests_are_still_served() {
    let (database_url, _scratch) = fresh_store().await;
    let mut server =
        ServerProcess::start_with(&database_url, "60", &[("SHUTDOWN_DRAIN_SECONDS", "1.5")]).await;
    let app = TestApp::new(server.base.clone(), &database_url);
    let (token, _) = app.customer("jo@x.io").await;
    let (status, _) = app.call(Method::GET, "/ready", None, None).await;
    assert_eq!(status, StatusCode::OK);

    server.signal("TERM").await;
    let draining = eventually(Duration::from_secs(1), || async {
        let (status, body) = app.call(Method::GET, "/ready", None, None).await;
        status == StatusCode::SERVICE_UNAVAILABLE && body["status"] == "draining"
    })
    .await;
    assert!(draining, "/ready reports draining soon after SIGTERM");
    // Still serving during the drain: a load balancer's last requests succeed.
    let order = app.create_order(&token, "Desk").await;
    assert_eq!(order["status"], "created");
    let exit = server.wait_for_exit(Duration::from_secs(10)).await;
    assert!(
        exit.is_some_and(|s| s.success()),
        "the process exits cleanly after the drain: {exit:?}"
    );
}

/// `name{labels} value` lines of one family, as (labels, value).
fn samples(exposition: &str, family: &str) -> Vec<(String, f64)> {
    exposition
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (name, labels) = series.split_once('{').unwrap_or((series, ""));
            let value = value.parse().ok()?;
            (name == family).then(|| (labels.trim_end_matches('}').to_owned(), value))
        })
        .collect()
}

pub(crate) fn value(exposition: &str, family: &str, labels: &str) -> Option<f64> {
    samples(exposition, family)
        .into_iter()
        .find(|(l, _)| l == labels)
        .map(|(_, v)| v)
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern_transitions_and_lag() {
    let (database_url, _scratch) = fresh_store().await;
    let server = ServerProcess::start(&database_url, "0.2").await;
    let app = TestApp::new(server.base.clone(), &database_url);
    let (token, _) = app.customer("jo@x.io").await;
    let order = app.create_order(&token, "Desk").await;
    let id = order["id"].as_i64().unwrap();
    for _ in 0..2 {
        let (status, _) = app.order(&token, id).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, _) = app
        .call(Method::GET, "/orders/999999", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    get(&app.client, &format!("{}/nowhere/{id}", root(&app.base))).await;
    let delivered = eventually(Duration::from_secs(10), || async {
        app.order(&token, id).await.1["status"] == "delivered"
    })
    .await;
    assert!(delivered);

    let res = get(&app.client, &format!("{}/metrics", root(&app.base))).await;
    assert_eq!(res.status(), StatusCode::OK);
    let content_type = res.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = res.text().await.unwrap();

    let requests = "trachios_http_requests_total";
    assert!(
        value(
            &text,
            requests,
            r#"method="GET",route="/api/v1/orders/{id}",status="200""#
        )
        .is_some_and(|n| n >= 2.0),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            requests,
            r#"method="GET",route="/api/v1/orders/{id}",status="404""#
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &text,
            requests,
            r#"method="POST",route="/api/v1/orders",status="201""#
        ),
        Some(1.0)
    );
    assert!(value(
        &text,
        requests,
        r#"method="GET",route="unmatched",status="404""#
    )
    .is_some());
    assert!(
        !text.contains(&format!("/orders/{id}\"")) && !text.contains("/nowhere"),
        "no raw path becomes a label"
    );
    assert!(value(
        &text,
        "trachios_http_request_duration_seconds_count",
        r#"route="/api/v1/orders/{id}""#
    )
    .is_some_and(|n| n >= 3.0));

    let transitions = "trachios_order_transitions_total";
    assert_eq!(
        value(&text, transitions, r#"actor="customer",to="created""#),
        Some(1.0)
    );
    for to in ["dispatched", "in_transit", "delivered"] {
        assert_eq!(
            value(&text, transitions, &format!(r#"actor="system",to="{to}""#)),
            Some(1.0),
            "{to}"
        );
    }
    assert_eq!(
        value(&text, "trachios_lifecycle_lag_seconds_count", ""),
        Some(3.0)
    );
    assert!(
        value(
            &text,
            "trachios_lifecycle_lag_seconds_bucket",
            r#"le="+Inf""#
        ) == Some(3.0)
    );
    let max = value(&text, "trachios_db_pool_connections", r#"state="max""#);
    assert!(max.is_some_and(|n| n >= 1.0), "{text}");
    assert!(value(&text, "trachios_db_pool_connections", r#"state="in_use""#).is_some());
    // The cache is off in these processes: its families exist, with nothing counted.
    assert_eq!(
        value(&text, "trachios_cache_operations_total", r#"result="hit""#),
        Some(0.0)
    );

    let checked = tokio::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = checked.expect("promtool is installed (Debian package prometheus)");
    let mut stdin = child.stdin.take().unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stdin, text.as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn cache_hits_and_misses_are_counted() {
    let (database_url, _scratch) = fresh_store().await;
    let redis_url = shared_redis_url();
    let server = ServerProcess::start_with(
        &database_url,
        "60",
        &[
            ("CACHE_ENABLED", "true"),
            ("REDIS_URL", &redis_url),
            (
                "CACHE_KEY_PREFIX",
                &format!("metrics-{}:", uuid::Uuid::new_v4()),
            ),
        ],
    )
    .await;
    let app = TestApp::new(server.base.clone(), &database_url);
    let (token, _) = app.customer("jo@x.io").await;
    let id = app.create_order(&token, "Desk").await["id"]
        .as_i64()
        .unwrap();
    for _ in 0..3 {
        app.order(&token, id).await;
        app.call(Method::GET, "/my-orders", Some(&token), None)
            .await;
    }
    let text = get(&app.client, &format!("{}/metrics", root(&app.base)))
        .await
        .text()
        .await
        .unwrap();
    let count = |result: &str| {
        value(
            &text,
            "trachios_cache_operations_total",
            &format!(r#"result="{result}""#),
        )
    };
    assert_eq!(
        (count("hit"), count("miss")),
        (Some(5.0), Some(1.0)),
        "creation fills the order's entry, so each of its reads hits; the first read of \
         the list misses and fills it, the next two hit: {text}"
    );
}

#[tokio::test]
async fn metrics_token_is_required_when_set() {
    let (database_url, _scratch) = fresh_store().await;
    let mut s = settings(&database_url, 60.0);
    s.server.metrics_token = Some(secrecy::SecretString::from("scrape-me-scrape-me"));
    let app = spawn_with(s).await;
    let url = format!("{}/metrics", root(&app.base));
    let res = get(&app.client, &url).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.headers()[header::WWW_AUTHENTICATE], "Bearer");
    let res = app
        .client
        .get(&url)
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = app
        .client
        .get(&url)
        .bearer_auth("scrape-me-scrape-me")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("trachios_http_requests_total"));
}

#[tokio::test]
async fn the_openapi_document_describes_the_api() {
    let app = spawn_app().await;
    let (status, doc) = app.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let get_order = &doc["paths"]["/api/v1/orders/{id}"]["get"];
    assert_eq!(get_order["security"], json!([{"bearer": []}]));
    for status in ["200", "401", "404", "500", "503"] {
        assert!(get_order["responses"][status].is_object(), "{status}");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let order = &doc["components"]["schemas"]["Order"];
    assert_eq!(
        order["properties"]["status"]["$ref"],
        "#/components/schemas/OrderStatus"
    );
}

#[tokio::test]
async fn the_explorer_is_served_from_the_binary_with_no_external_url() {
    let app = spawn_app().await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = get(&no_redirects, &format!("{}/docs", root(&app.base))).await;
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(res.headers()[header::LOCATION], "/docs/");

    let res = get(&app.client, &format!("{}/docs/", root(&app.base))).await;
    assert_eq!(res.status(), StatusCode::OK);
    let policy = res.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(policy.contains("default-src 'self'"), "{policy}");
    let page = res.text().await.unwrap();
    // Every asset the page loads comes from this server.
    let mut assets = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for part in page.split(attribute).skip(1) {
            let asset = part.split('"').next().unwrap();
            assert!(!asset.contains("//"), "{asset} is not served by us");
            assets.push(asset.trim_start_matches("./").to_owned());
        }
    }
    assert!(assets.iter().any(|a| a.ends_with(".js")), "{page}");
    for asset in &assets {
        let res = get(&app.client, &format!("{}/docs/{asset}", root(&app.base))).await;
        assert_eq!(res.status(), StatusCode::OK, "{asset}");
    }
    let init = get(
        &app.client,
        &format!("{}/docs/swagger-initializer.js", root(&app.base)),
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(init.contains("/api/v1/openapi.json"), "{init}");
    assert!(
        !init.contains("http://") && !init.contains("https://"),
        "{init}"
    );
}

#[tokio::test]
async fn refused_logins_and_tokens_are_logged_with_the_address_and_counted_but_never_the_email() {
    let database_url = fresh_store().await;
    let server =
        ServerProcess::start_with(&database_url.0, "3600", &[("TRUSTED_PROXIES", "127.0.0.1")])
            .await;
    let app = TestApp::new(server.base.clone(), &database_url.0);
    app.customer("secret-person@example.com").await;
    let res = app
        .client
        .post(format!("{}/login", app.base))
        .header("x-forwarded-for", "198.51.100.23")
        .json(&json!({"email": "secret-person@example.com", "password": "wrong-password"}))
        .send()
        .await
        .expect("answered");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = app
        .client
        .get(format!("{}/user", app.base))
        .header("x-forwarded-for", "198.51.100.24")
        .bearer_auth("not-a-token")
        .send()
        .await
        .expect("answered");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    let text = get(&app.client, &format!("{}/metrics", root(&app.base)))
        .await
        .text()
        .await
        .expect("metrics text");
    for labels in [
        r#"event="login_refused",reason="invalid_credentials""#,
        r#"event="token_refused",reason="invalid_or_ended""#,
    ] {
        assert_eq!(
            value(&text, "trachios_security_events_total", labels),
            Some(1.0),
            "{labels}"
        );
    }
    let logged = eventually(Duration::from_secs(5), || async {
        let lines = server.log_lines();
        lines
            .iter()
            .any(|l| l.contains("login refused") && l.contains("198.51.100.23"))
            && lines
                .iter()
                .any(|l| l.contains("token refused") && l.contains("198.51.100.24"))
    })
    .await;
    assert!(logged, "both refusals are logged with the client's address");
    let lines = server.log_lines();
    let refusal = lines
        .iter()
        .find(|l| l.contains("login refused"))
        .expect("logged");
    assert!(refusal.contains("email_hash"), "{refusal}");
    assert!(
        !lines.iter().any(|l| l.contains("secret-person")),
        "no log line holds the email"
    );
}
