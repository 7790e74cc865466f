use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use trachios_domain::services::{AccountService, SessionService, UserAdminService};
use trachios_domain::{Email, Name, Password, Role, UserChange, UserId};

use crate::auth::{Authenticated, AuthenticatedSession};
use crate::dto::{LoginRequest, LoginResponse, RegisterRequest, UpdateUserRequest, UserResponse};
use crate::json_body::JsonBody;
use crate::limits::{ClientIp, RateLimits};
use crate::lists::{CursorKey, ListKind, ListRequest};
use crate::ApiError;

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

pub(crate) async fn login(
    accounts: web::Data<AccountService>,
    limits: web::Data<RateLimits>,
    ClientIp(ip): ClientIp,
    JsonBody(body): JsonBody<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    limits.check_login(ip, &body.email)?;
    let password = Password::for_login(&body.password);
    let outcome = accounts.login(&body.email, &password).await?;
    // A token must not be kept by a shared cache or the browser's history.
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(LoginResponse::from(outcome)))
}

pub(crate) async fn current_user(
    accounts: web::Data<AccountService>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let user = accounts.current_user(caller).await?;
    Ok(HttpResponse::Ok().json(UserResponse::from(user)))
}

pub(crate) async fn logout(
    sessions: web::Data<SessionService>,
    AuthenticatedSession(session): AuthenticatedSession,
) -> Result<HttpResponse, ApiError> {
    sessions.logout(&session).await?;
    Ok(HttpResponse::NoContent().finish())
}

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
