use actix_web::error::PathError;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use trachios_domain::{retry_after_seconds, DomainError};

/// What a 503 tells clients to wait before retrying: outages the service rides out
/// (a database restart, a saturated pool) last seconds.
const RETRY_AFTER_SECONDS: &str = "1";

/// A domain error on its way to becoming an HTTP response.
#[derive(Debug)]
pub struct ApiError(pub DomainError);

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        Self(err)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The one place a domain error becomes a status and a message.
impl ApiError {
    pub(crate) fn status(&self) -> StatusCode {
        match &self.0 {
            DomainError::Validation(_) | DomainError::InvalidTransition { .. } => {
                StatusCode::BAD_REQUEST
            }
            DomainError::InvalidCredentials | DomainError::Unauthenticated => {
                StatusCode::UNAUTHORIZED
            }
            DomainError::Forbidden => StatusCode::FORBIDDEN,
            DomainError::NotFound(_) => StatusCode::NOT_FOUND,
            DomainError::EmailTaken
            | DomainError::SkuTaken
            | DomainError::Contended
            | DomainError::Conflict(_)
            | DomainError::OutOfStock { .. }
            | DomainError::StockFull { .. } => StatusCode::CONFLICT,
            DomainError::RateLimited { .. } | DomainError::TooManyOpenOrders { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            DomainError::KeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            DomainError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            DomainError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the client is told; never a cause's internals.
    pub(crate) fn message(&self) -> String {
        match &self.0 {
            DomainError::Internal(_) => "internal server error".to_owned(),
            DomainError::Forbidden => "you are not allowed to do this".to_owned(),
            other => other.to_string(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status();
        // The one place a failure's cause is logged; the client never sees it.
        match &self.0 {
            DomainError::Internal(_) => {
                tracing::error!(error = %self.0.chain(), "request failed")
            }
            DomainError::Unavailable(_) => {
                tracing::warn!(error = %self.0.chain(), "request failed: dependency unavailable")
            }
            _ => {}
        }
        let mut response = json_error(status, &self.message());
        if let DomainError::RateLimited { retry_after } = self.0 {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from(retry_after_seconds(retry_after)),
            );
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
        }
        if status == StatusCode::UNAUTHORIZED {
            let challenge = match self.0 {
                DomainError::Unauthenticated => r#"Bearer error="invalid_token""#,
                _ => "Bearer",
            };
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

/// `{"error": message}` with the given status.
pub fn json_error(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({ "error": message }))
}

pub(crate) fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err: PathError, req| {
        let what = if req.path().contains("/users/") {
            "user"
        } else {
            "order"
        };
        let response = json_error(
            StatusCode::BAD_REQUEST,
            &format!("{what} id must be a positive integer"),
        );
        actix_web::error::InternalError::from_response(err, response).into()
    })
}

pub(crate) async fn not_found(req: HttpRequest) -> HttpResponse {
    json_error(
        StatusCode::NOT_FOUND,
        &format!("no route for {} {}", req.method(), req.path()),
    )
}
