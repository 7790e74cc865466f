use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::error::json_error;
use crate::limits::BodyTimeout;
use crate::BODY_LIMIT_BYTES;

/// A JSON request body whose errors name the offending field (`email: invalid type …`),
/// with 415 for a non-JSON content type and 413 above the body limit.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

fn reject(status: StatusCode, message: &str) -> actix_web::Error {
    actix_web::error::InternalError::from_response(message.to_owned(), json_error(status, message))
        .into()
}

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false)
}

/// The deserializer's complaint, prefixed with the JSON path when it concerns a field
/// (also for text that is no text: invalid UTF-8 or a lone surrogate inside a string).
fn describe(err: serde_path_to_error::Error<serde_json::Error>) -> String {
    let path = err.path().to_string();
    let inner = err.into_inner();
    let kind = if inner.is_syntax() || inner.is_eof() {
        "malformed"
    } else {
        "invalid"
    };
    if path == "." {
        format!("{kind} JSON body: {inner}")
    } else {
        format!("{kind} JSON body: {path}: {inner}")
    }
}

/// 408, and the connection is closed: whatever of the body is still on its way is not
/// worth reading.
fn too_slow(limit: std::time::Duration) -> actix_web::Error {
    let message = format!(
        "the request body did not arrive within {} s",
        limit.as_secs_f64()
    );
    let mut response = json_error(StatusCode::REQUEST_TIMEOUT, &message);
    response
        .head_mut()
        .set_connection_type(actix_web::http::ConnectionType::Close);
    actix_web::error::InternalError::from_response(message, response).into()
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let json = is_json(req);
        let timeout = req.app_data::<BodyTimeout>().copied().unwrap_or_default();
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !json {
                return Err(reject(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "Content-Type must be application/json",
                ));
            }
            let arrived = match timeout.0 {
                Some(limit) => tokio::time::timeout(limit, body)
                    .await
                    .map_err(|_| too_slow(limit))?,
                None => body.await,
            };
            let bytes = arrived.map_err(|e| {
                if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                    reject(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        &format!("request body must be at most {BODY_LIMIT_BYTES} bytes"),
                    )
                } else {
                    reject(StatusCode::BAD_REQUEST, "could not read the request body")
                }
            })?;
            // serde reads a struct from an array of its fields in order too; every body
            // of this API is an object, and `[null, null]` must not pass for `{}`.
            if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
                return Err(reject(
                    StatusCode::BAD_REQUEST,
                    "invalid JSON body: expected an object",
                ));
            }
            let mut de = serde_json::Deserializer::from_slice(&bytes);
            let value = serde_path_to_error::deserialize(&mut de)
                .map_err(|e| reject(StatusCode::BAD_REQUEST, &describe(e)))?;
            de.end().map_err(|e| {
                reject(
                    StatusCode::BAD_REQUEST,
                    &format!("malformed JSON body: {e}"),
                )
            })?;
            Ok(JsonBody(value))
        })
    }
}
