use trachios_domain::services::AccountService;
use trachios_domain::{DomainError, Email, Name, Password, Role};

/// Creates the admin account if it does not exist; an existing account, and its
/// password, are left exactly as they are.
pub async fn seed_admin(
    accounts: &AccountService,
    email: &str,
    password: &str,
) -> Result<(), DomainError> {
    let email =
        Email::parse(email).map_err(|e| DomainError::Validation(format!("ADMIN_EMAIL: {e}")))?;
    let password = Password::parse(password)
        .map_err(|e| DomainError::Validation(format!("ADMIN_PASSWORD: {e}")))?;
    let name = Name::parse("Administrator")?;
    match accounts
        .create_account(name, email.clone(), password, Role::Admin)
        .await
    {
        Ok(user) => {
            tracing::info!(user_id = user.id, email = %user.email, "admin account created");
            Ok(())
        }
        Err(DomainError::Conflict(_)) => {
            tracing::info!(email = %email.as_str(), "admin account already exists; left unchanged");
            Ok(())
        }
        Err(e) => Err(e),
    }
}
