use std::future::{ready, Ready};

use actix_web::error::InternalError;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest};
use trachios_domain::ports::TokenService;
use trachios_domain::{Caller, DomainError};

use crate::{json_error, ApiError};

/// The caller proven by the request's `Authorization: Bearer` token.
#[derive(Debug, Clone, Copy)]
pub struct Authenticated(pub Caller);

impl FromRequest for Authenticated {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut actix_web::dev::Payload) -> Self::Future {
        ready(authenticate(req).map(Authenticated))
    }
}

fn authenticate(req: &HttpRequest) -> Result<Caller, actix_web::Error> {
    let tokens = req
        .app_data::<web::Data<dyn TokenService>>()
        .ok_or_else(|| ApiError(DomainError::internal("token service not configured")))?;
    let Some(token) = bearer_token(req) else {
        // RFC 6750: a request without credentials gets a bare challenge, no error code.
        let mut response = json_error(StatusCode::UNAUTHORIZED, "missing bearer token");
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        return Err(InternalError::from_response("missing bearer token", response).into());
    };
    tokens.verify(token).map_err(|err| {
        tracing::info!(reason = "invalid_token", "authentication failed");
        ApiError(err).into()
    })
}

fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
