use anyhow::Context;
use trachios_domain::services::AccountService;
use trachios_domain::{DomainError, Email, Name, Password, Role};

/// Creates the admin account if it does not exist; an existing account, and its
/// password, are left exactly as they are.
pub async fn seed_admin(
    accounts: &AccountService,
    email: &str,
    password: &str,
) -> anyhow::Result<()> {
    let email = Email::parse(email).context("ADMIN_EMAIL")?;
    let password = Password::parse(password).context("ADMIN_PASSWORD")?;
    let name = Name::parse("Administrator").context("the admin's name")?;
    match accounts
        .create_account(name, email.clone(), password, Role::Admin)
        .await
    {
        Ok(user) => {
            tracing::info!(user_id = user.id.get(), email = %user.email, "admin account created");
            Ok(())
        }
        Err(DomainError::EmailTaken) => {
            tracing::info!(email = %email, "admin account already exists; left unchanged");
            Ok(())
        }
        Err(e) => Err(anyhow::Error::new(e).context("creating the admin account")),
    }
}
