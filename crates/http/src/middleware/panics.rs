use std::panic::AssertUnwindSafe;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use futures_util::FutureExt;

use super::request_id::{RequestId, REQUEST_ID};
use crate::error::json_error;

/// A panicking handler still answers a JSON 500 instead of dropping the connection.
pub async fn catch_panics<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    // The request is not cloned here: routing needs sole ownership of it.
    let path = req.path().to_owned();
    let request_id = req.extensions().get::<RequestId>().cloned();
    match AssertUnwindSafe(next.call(req)).catch_unwind().await {
        Ok(result) => result,
        Err(_) => {
            tracing::error!(%path, "request handler panicked");
            let mut response =
                json_error(StatusCode::INTERNAL_SERVER_ERROR, "internal server error");
            if let Some(RequestId(id)) = request_id {
                response.headers_mut().insert(REQUEST_ID, id);
            }
            Err(InternalError::from_response("handler panicked", response).into())
        }
    }
}
