use actix_web::{web, HttpRequest, HttpResponse};
use trachios_domain::services::AccountService;
use trachios_domain::{Email, Name, Password};

use crate::auth::Authenticated;
use crate::dto::{LoginRequest, LoginResponse, RegisterRequest, UserResponse};
use crate::json_body::JsonBody;
use crate::lists::{CursorKey, ListKind, ListRequest};
use crate::ApiError;

pub(crate) async fn register(
    accounts: web::Data<AccountService>,
    JsonBody(body): JsonBody<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let name = Name::parse(&body.name)?;
    let email = Email::parse(&body.email)?;
    let password = Password::parse(&body.password)?;
    let user = accounts.register(name, email, password).await?;
    Ok(HttpResponse::Created().json(UserResponse::from(user)))
}

pub(crate) async fn login(
    accounts: web::Data<AccountService>,
    JsonBody(body): JsonBody<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let password = Password::for_login(&body.password);
    let outcome = accounts.login(&body.email, &password).await?;
    Ok(HttpResponse::Ok().json(LoginResponse::from(outcome)))
}

pub(crate) async fn current_user(
    accounts: web::Data<AccountService>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let user = accounts.current_user(caller).await?;
    Ok(HttpResponse::Ok().json(UserResponse::from(user)))
}

pub(crate) async fn list_users(
    accounts: web::Data<AccountService>,
    cursors: web::Data<CursorKey>,
    Authenticated(caller): Authenticated,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    accounts.ensure_may_list_users(caller)?;
    let list = ListRequest::parse(&req, cursors, ListKind::Users)?;
    let filter = list.user_filter()?;
    let page = accounts.list_users(caller, filter, list.page).await?;
    Ok(list.respond(&req, page, UserResponse::from))
}
