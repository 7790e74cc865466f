//! The error answers every operation of a kind can give, added to the document in one
//! place instead of repeated on each handler.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::openapi::{ObjectBuilder, OpenApi, Type};

/// Operations that touch no dependency, so never answer 503.
const DEPENDENCY_FREE: &[&str] = &["health", "openapi", "metrics"];

/// Adds, where missing: 500 everywhere; 503 where a dependency is needed; 400, 408, 413 and
/// 415 where a body is read; 401 where a token is required; 400 and 404 where the path has
/// an id; 400 where a list takes parameters.
pub(crate) fn add_common_errors(doc: &mut OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        for operation in operations(item) {
            let id = operation.operation_id.clone().unwrap_or_default();
            add(operation, "500", "unexpected failure", None);
            if !DEPENDENCY_FREE.contains(&id.as_str()) {
                add(
                    operation,
                    "503",
                    "a dependency is unavailable or the service is saturated; retry later",
                    Some(retry_after()),
                );
            }
            if operation.request_body.is_some() {
                add(operation, "400", "malformed JSON or an invalid field", None);
                add(operation, "408", "the body did not arrive in time", None);
                add(operation, "413", "the body is larger than 64 KiB", None);
                add(operation, "415", "the body is not `application/json`", None);
            }
            if operation.security.is_some() {
                add(
                    operation,
                    "401",
                    "missing, malformed, expired or revoked token",
                    Some((
                        "WWW-Authenticate",
                        HeaderBuilder::new()
                            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                            .description(Some("`Bearer`"))
                            .build(),
                    )),
                );
            }
            if path.contains("{id}") {
                add(operation, "400", "the id is not a positive integer", None);
                add(operation, "404", "no such resource, or not yours", None);
            }
            if operation.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
                add(operation, "400", "a parameter has a bad value", None);
            }
        }
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
    ]
    .into_iter()
    .flatten()
}

fn retry_after() -> (&'static str, utoipa::openapi::header::Header) {
    (
        "Retry-After",
        HeaderBuilder::new()
            .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
            .description(Some("seconds to wait before retrying"))
            .build(),
    )
}

fn add(
    operation: &mut Operation,
    status: &str,
    description: &str,
    header: Option<(&str, utoipa::openapi::header::Header)>,
) {
    operation
        .responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| RefOr::T(error_response(description, header)));
}

/// A response with the `{"error"}` body.
pub(crate) fn error_response(
    description: &str,
    header: Option<(&str, utoipa::openapi::header::Header)>,
) -> Response {
    let mut response = ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorBody")))
            .build(),
    );
    if let Some((name, header)) = header {
        response = response.header(name, header);
    }
    response.build()
}
