use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use trachios_domain::services::{AccountService, SessionService, UserAdminService};
use trachios_domain::{DomainError, Email, Name, Password, Role, UserChange, UserId};

use crate::auth::{Authenticated, AuthenticatedSession};
use crate::dto::{
    ChangePasswordRequest, LoginRequest, LoginResponse, RegisterRequest, UpdateUserRequest,
    UserResponse,
};
use crate::json_body::JsonBody;
use crate::limits::{ClientIp, RateLimits};
use crate::lists::{CursorKey, ListKind, ListRequest};
use crate::openapi::{ErrorBody, LogoutQuery, UsersQuery};
use crate::{ApiError, SecurityEvents};

/// Registers a customer account.
#[utoipa::path(
    post, path = "/api/v1/register", tag = "accounts", operation_id = "register",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "the new account; its role is always `customer`", body = UserResponse),
        (status = 409, description = "the email is registered already", body = ErrorBody),
        (status = 429, description = "too many registrations and logins from this client", body = ErrorBody, headers(("Retry-After" = u32, description = "seconds until a request may succeed"))),
    )
)]
pub(crate) async fn register(
    accounts: web::Data<AccountService>,
    limits: web::Data<RateLimits>,
    ClientIp(ip): ClientIp,
    JsonBody(body): JsonBody<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    limits.check_register(ip)?;
    let name = Name::parse(&body.name)?;
    let email = Email::parse(&body.email)?;
    let password = Password::parse(&body.password)?;
    let user = accounts.register(name, email, password).await?;
    Ok(HttpResponse::Created().json(UserResponse::from(user)))
}

/// Exchanges an email and password for a bearer token valid for 72 hours.
#[utoipa::path(
    post, path = "/api/v1/login", tag = "accounts", operation_id = "login",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "a token for the `Authorization: Bearer` header", body = LoginResponse),
        (status = 401, description = "wrong email or password, or a disabled account", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
        (status = 429, description = "too many attempts for this client or email, or too many failures for this account", body = ErrorBody, headers(("Retry-After" = u32, description = "seconds until a request may succeed"))),
    )
)]
pub(crate) async fn login(
    accounts: web::Data<AccountService>,
    limits: web::Data<RateLimits>,
    events: web::Data<SecurityEvents>,
    ClientIp(ip): ClientIp,
    JsonBody(body): JsonBody<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    limits
        .check_login(ip, &body.email)
        .inspect_err(|_| events.login_refused(ip, &body.email, "rate_limited"))?;
    let password = Password::for_login(&body.password);
    let outcome = accounts
        .login(&body.email, &password)
        .await
        .inspect_err(|err| {
            if matches!(err, DomainError::InvalidCredentials) {
                limits.login_failed(&body.email);
                events.login_refused(ip, &body.email, "invalid_credentials");
            }
        })?;
    // A token must not be kept by a shared cache or the browser's history.
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(LoginResponse::from(outcome)))
}

/// The caller's account.
#[utoipa::path(
    get, path = "/api/v1/user", tag = "accounts", operation_id = "current_user",
    security(("bearer" = [])),
    responses((status = 200, description = "the caller's account", body = UserResponse))
)]
pub(crate) async fn current_user(
    accounts: web::Data<AccountService>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let user = accounts.current_user(caller).await?;
    Ok(HttpResponse::Ok().json(UserResponse::from(user)))
}

/// Changes the caller's password; every other token of the account stops working on every
/// process within 5 s, the caller's own keeps working.
#[utoipa::path(
    post, path = "/api/v1/user/password", tag = "accounts", operation_id = "change_password",
    security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "the password is changed and the account's other sessions ended"),
        (status = 400, description = "the new password is too short or too long", body = ErrorBody),
        (status = 401, description = "the current password is wrong, or the token does not authenticate", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
        (status = 429, description = "too many failed attempts for this client or account", body = ErrorBody, headers(("Retry-After" = u32, description = "seconds until a request may succeed"))),
    )
)]
pub(crate) async fn change_password(
    accounts: web::Data<AccountService>,
    limits: web::Data<RateLimits>,
    events: web::Data<SecurityEvents>,
    ClientIp(ip): ClientIp,
    AuthenticatedSession(session): AuthenticatedSession,
    JsonBody(body): JsonBody<ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    // Guessing the current password is a login attempt on the account.
    let user = accounts.current_user(session.caller).await?;
    let email = user.email.as_str();
    limits
        .check_login(ip, email)
        .inspect_err(|_| events.login_refused(ip, email, "rate_limited"))?;
    let new = Password::parse(&body.new_password)?;
    let current = Password::for_login(&body.current_password);
    accounts
        .change_password(&session, &user.email, &current, new)
        .await
        .inspect_err(|err| {
            if matches!(err, DomainError::InvalidCredentials) {
                limits.login_failed(email);
                events.login_refused(ip, email, "wrong_current_password");
            }
        })?;
    Ok(HttpResponse::NoContent().finish())
}

/// Revokes the presented token on every process; the user's other tokens keep working.
/// With `all=true`, every token of the user stops working, on every process within 5 s.
#[utoipa::path(
    post, path = "/api/v1/logout", tag = "accounts", operation_id = "logout",
    security(("bearer" = [])),
    params(LogoutQuery),
    responses(
        (status = 204, description = "the token (with `all=true`: every token of the account) no longer authenticates"),
        (status = 400, description = "`all` is neither `true` nor `false`", body = ErrorBody),
    )
)]
pub(crate) async fn logout(
    sessions: web::Data<SessionService>,
    AuthenticatedSession(session): AuthenticatedSession,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    if logout_everywhere(&req)? {
        sessions.logout_everywhere(&session).await?;
    } else {
        sessions.logout(&session).await?;
    }
    Ok(HttpResponse::NoContent().finish())
}

/// The `all` parameter of `POST /logout`; other parameters are ignored, as elsewhere.
fn logout_everywhere(req: &HttpRequest) -> Result<bool, ApiError> {
    let mut all = false;
    for (key, value) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        if key == "all" {
            all = match value.as_ref() {
                "true" => true,
                "false" => false,
                _ => return Err(DomainError::Validation("all must be true or false".into()).into()),
            };
        }
    }
    Ok(all)
}

/// Every account, newest first, one page at a time (admin).
#[utoipa::path(
    get, path = "/api/v1/users", tag = "users", operation_id = "list_users",
    security(("bearer" = [])),
    params(UsersQuery),
    responses(
        (status = 200, description = "one page of accounts", body = Vec<UserResponse>,
            headers(("Link" = String, description = "`<URL>; rel=\"next\"` when more pages follow"))),
        (status = 403, description = "the caller is not an admin", body = ErrorBody),
    )
)]
pub(crate) async fn list_users(
    users: web::Data<UserAdminService>,
    cursors: web::Data<CursorKey>,
    Authenticated(caller): Authenticated,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    users.ensure_may_manage(caller)?;
    let list = ListRequest::parse(&req, cursors, ListKind::Users)?;
    let filter = list.user_filter()?;
    let page = users.list(caller, filter, list.page).await?;
    Ok(list.respond(&req, page, UserResponse::from))
}

/// Changes an account's role or disables it (admin; not one's own).
#[utoipa::path(
    patch, path = "/api/v1/users/{id}", tag = "users", operation_id = "update_user",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "user id")),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "the account as it is now", body = UserResponse),
        (status = 400, description = "an invalid role, or an admin demoting or disabling themselves", body = ErrorBody),
        (status = 403, description = "the caller is not an admin", body = ErrorBody),
    )
)]
pub(crate) async fn update_user(
    users: web::Data<UserAdminService>,
    Authenticated(caller): Authenticated,
    id: web::Path<i64>,
    JsonBody(body): JsonBody<UpdateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    users.ensure_may_manage(caller)?;
    let id = UserId::parse(id.into_inner())?;
    let change = UserChange {
        role: body.role.as_deref().map(Role::parse).transpose()?,
        disabled: body.disabled,
    };
    let user = users.update(caller, id, change).await?;
    Ok(HttpResponse::Ok().json(UserResponse::from(user)))
}
