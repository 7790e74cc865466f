//! The customer page (`/`) and the admin dashboard (`/admin`): static files compiled into
//! the binary, so the pages need no CDN, no build step and no network beyond this server.

use std::sync::LazyLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

use crate::error::json_error;

/// Scripts, styles, images and API calls may come from this server only, and nothing may
/// be inline: customer input that somehow reached the markup could not run.
pub const PAGE_CONTENT_SECURITY_POLICY: &str = "default-src 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $content_type:literal) => {
        Asset {
            name: $name,
            content_type: $content_type,
            body: include_bytes!(concat!("../assets/", $name)),
        }
    };
}

const ASSETS: &[Asset] = &[
    asset!("customer.html", "text/html; charset=utf-8"),
    asset!("admin.html", "text/html; charset=utf-8"),
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("app.js", "text/javascript; charset=utf-8"),
    asset!("orders.js", "text/javascript; charset=utf-8"),
    asset!("customer.js", "text/javascript; charset=utf-8"),
    asset!("admin.js", "text/javascript; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
];

/// Each asset's entity tag, from its content, so a new binary's files are never mistaken
/// for the old ones a browser kept.
static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|asset| {
            let digest = Sha256::digest(asset.body);
            let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
            format!("\"{hex}\"")
        })
        .collect()
});

/// Wires `/`, `/admin` and `/assets/{name}`.
pub(crate) fn register(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(customer_page))
        .route("/admin", web::get().to(admin_page))
        .route("/assets/{name}", web::get().to(asset));
}

async fn customer_page(req: HttpRequest) -> HttpResponse {
    serve(&req, "customer.html")
}

async fn admin_page(req: HttpRequest) -> HttpResponse {
    serve(&req, "admin.html")
}

async fn asset(req: HttpRequest, name: web::Path<String>) -> HttpResponse {
    // The pages are only reachable at their own paths.
    if name.ends_with(".html") {
        return no_such_asset(&name);
    }
    serve(&req, &name)
}

fn serve(req: &HttpRequest, name: &str) -> HttpResponse {
    let Some(index) = ASSETS.iter().position(|asset| asset.name == name) else {
        return no_such_asset(name);
    };
    let asset = &ASSETS[index];
    let etag = &ETAGS[index];
    let unchanged = fresh(req, etag);
    let mut response = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::CONTENT_TYPE, asset.content_type))
        .insert_header((header::ETAG, etag.as_str()))
        // Revalidated on every load: a deploy is visible at once, and an unchanged file
        // costs a 304 without a body.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            PAGE_CONTENT_SECURITY_POLICY,
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"));
    if unchanged {
        response.finish()
    } else {
        response.body(asset.body)
    }
}

fn no_such_asset(name: &str) -> HttpResponse {
    json_error(StatusCode::NOT_FOUND, &format!("no asset named {name:?}"))
}

/// Whether the browser's copy (`If-None-Match`) is this version.
fn fresh(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|value: &HeaderValue| value.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        })
}

#[cfg(test)]
mod tests {
    use actix_web::{test as actix, App};

    use super::*;

    async fn get(path: &str, if_none_match: Option<&str>) -> actix_web::dev::ServiceResponse {
        let app = actix::init_service(App::new().configure(register)).await;
        let mut req = actix::TestRequest::get().uri(path);
        if let Some(tag) = if_none_match {
            req = req.insert_header((header::IF_NONE_MATCH, tag));
        }
        actix::call_service(&app, req.to_request()).await
    }

    fn header_of(res: &actix_web::dev::ServiceResponse, name: header::HeaderName) -> &str {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    #[actix_web::test]
    async fn pages_are_html_that_may_load_only_from_this_server() {
        for (path, script) in [("/", "/assets/customer.js"), ("/admin", "/assets/admin.js")] {
            let res = get(path, None).await;
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            assert_eq!(
                header_of(&res, header::CONTENT_TYPE),
                "text/html; charset=utf-8"
            );
            assert!(
                header_of(&res, header::CONTENT_SECURITY_POLICY).starts_with("default-src 'self';")
            );
            assert_eq!(header_of(&res, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
            let body = actix::read_body(res).await;
            let html = String::from_utf8_lossy(&body);
            assert!(
                html.contains(&format!("src=\"{script}\"")),
                "{path} loads {script}"
            );
        }
    }

    #[actix_web::test]
    async fn an_unchanged_asset_is_revalidated_without_a_body() {
        let first = get("/assets/app.js", None).await;
        assert_eq!(
            header_of(&first, header::CONTENT_TYPE),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(header_of(&first, header::CACHE_CONTROL), "no-cache");
        let etag = header_of(&first, header::ETAG).to_owned();
        assert!(etag.starts_with('"') && etag.len() == 26, "{etag}");

        let again = get("/assets/app.js", Some(&etag)).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert!(actix::read_body(again).await.is_empty());

        let stale = get("/assets/app.js", Some("\"0123\"")).await;
        assert_eq!(stale.status(), StatusCode::OK);
    }

    #[actix_web::test]
    async fn unknown_assets_and_page_files_are_json_404s() {
        for path in [
            "/assets/nope.js",
            "/assets/admin.html",
            "/assets/..%2FCargo.toml",
        ] {
            let res = get(path, None).await;
            assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
            let body: serde_json::Value = actix::read_body_json(res).await;
            assert!(
                body["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("no asset")),
                "{path}"
            );
        }
    }

    fn text(asset: &Asset) -> &'static str {
        std::str::from_utf8(asset.body).unwrap_or_default()
    }

    /// Every file a page or script names is served, so no page breaks on a missing asset.
    #[test]
    fn every_referenced_asset_is_served() {
        let served: Vec<&str> = ASSETS.iter().map(|a| a.name).collect();
        for asset in ASSETS {
            let source = text(asset);
            let references = source
                .match_indices("/assets/")
                .map(|(at, _)| &source[at + "/assets/".len()..])
                .chain(
                    source
                        .match_indices("from \"./")
                        .map(|(at, _)| &source[at + "from \"./".len()..]),
                );
            for rest in references {
                let name: String = rest
                    .chars()
                    .take_while(|c| *c != '"' && *c != '\'')
                    .collect();
                assert!(
                    served.contains(&name.as_str()),
                    "{} names {name}, which is not served",
                    asset.name
                );
            }
        }
    }

    /// The Content-Security-Policy forbids inline code; data must never become markup.
    #[test]
    fn pages_hold_no_inline_code_and_scripts_never_parse_html() {
        for asset in ASSETS {
            let source = text(asset);
            if asset.name.ends_with(".html") {
                assert!(
                    !source.contains("<script>") && !source.contains(" style="),
                    "{}",
                    asset.name
                );
                assert!(
                    !source.contains(" onclick=") && !source.contains(" onsubmit="),
                    "{}",
                    asset.name
                );
            }
            if asset.name.ends_with(".js") {
                for sink in [
                    "innerHTML",
                    "outerHTML",
                    "insertAdjacentHTML",
                    "document.write",
                    "eval(",
                ] {
                    assert!(!source.contains(sink), "{} uses {sink}", asset.name);
                }
            }
        }
    }
}
