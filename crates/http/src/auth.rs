use std::future::{ready, Ready};

use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use trachios_domain::ports::TokenService;
use trachios_domain::{Caller, DomainError};

use crate::ApiError;

/// The caller proven by the request's `Authorization: Bearer` token.
#[derive(Debug, Clone, Copy)]
pub struct Authenticated(pub Caller);

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut actix_web::dev::Payload) -> Self::Future {
        ready(authenticate(req).map(Authenticated).map_err(ApiError))
    }
}

fn authenticate(req: &HttpRequest) -> Result<Caller, DomainError> {
    let tokens = req
        .app_data::<web::Data<dyn TokenService>>()
        .ok_or_else(|| DomainError::Internal("token service not configured".to_owned()))?;
    let token = bearer_token(req).ok_or(DomainError::Unauthenticated)?;
    tokens.verify(token).inspect_err(|_| {
        tracing::info!(reason = "invalid_token", "authentication failed");
    })
}

fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
