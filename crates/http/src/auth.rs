use actix_web::error::InternalError;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use trachios_domain::services::SessionService;
use trachios_domain::{Caller, DomainError, Session};

use crate::limits::client_ip_of;
use crate::{json_error, ApiError, SecurityEvents};

/// The caller behind the request's `Authorization: Bearer` token, with the account's
/// current role; a logged-out token or a disabled or deleted account is a 401.
#[derive(Debug, Clone, Copy)]
pub struct Authenticated(pub Caller);

/// The caller when the request carries a token, for what anyone may read and some see more
/// of; a token that is sent but not valid is still a 401, never read as "anonymous".
#[derive(Debug, Clone, Copy)]
pub struct MaybeAuthenticated(pub Option<Caller>);

/// The whole session, for handlers that act on the token itself (logout).
#[derive(Debug, Clone)]
pub struct AuthenticatedSession(pub Session);

impl FromRequest for Authenticated {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut actix_web::dev::Payload) -> Self::Future {
        let session = authenticate(req);
        Box::pin(async move { Ok(Authenticated(session.await?.caller)) })
    }
}

impl FromRequest for MaybeAuthenticated {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut actix_web::dev::Payload) -> Self::Future {
        if req.headers().get(header::AUTHORIZATION).is_none() {
            return Box::pin(async { Ok(MaybeAuthenticated(None)) });
        }
        let session = authenticate(req);
        Box::pin(async move { Ok(MaybeAuthenticated(Some(session.await?.caller))) })
    }
}

impl FromRequest for AuthenticatedSession {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut actix_web::dev::Payload) -> Self::Future {
        let session = authenticate(req);
        Box::pin(async move { Ok(AuthenticatedSession(session.await?)) })
    }
}

/// Everything taken from the request up front, so that the future owns what it needs.
fn authenticate(req: &HttpRequest) -> LocalBoxFuture<'static, Result<Session, actix_web::Error>> {
    let sessions = req.app_data::<web::Data<SessionService>>().cloned();
    let events = req.app_data::<web::Data<SecurityEvents>>().cloned();
    let client = client_ip_of(req);
    let token = bearer_token(req).map(str::to_owned);
    Box::pin(async move {
        let sessions = sessions
            .ok_or_else(|| ApiError(DomainError::internal("session service not configured")))?;
        let refused = |reason| {
            if let Some(events) = &events {
                events.token_refused(client, reason);
            }
        };
        let Some(token) = token else {
            refused("missing");
            // RFC 6750: a request without credentials gets a bare challenge, no error code.
            let mut response = json_error(StatusCode::UNAUTHORIZED, "missing bearer token");
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            return Err(InternalError::from_response("missing bearer token", response).into());
        };
        sessions.authenticate(&token).await.map_err(|err| {
            if matches!(err, DomainError::Unauthenticated) {
                // A bad signature, an expired token, or a session ended since (logout,
                // password change, disabled or deleted account).
                refused("invalid_or_ended");
            }
            ApiError(err).into()
        })
    })
}

fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
