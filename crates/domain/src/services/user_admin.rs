use std::sync::Arc;

use crate::ports::{Clock, UserRepository};
use crate::{Caller, DomainError, Page, PageRequest, Role, User, UserChange, UserFilter, UserId};

/// What admins do with accounts: list them, promote, demote, disable and enable them.
#[derive(Clone)]
pub struct UserAdminService {
    users: Arc<dyn UserRepository>,
    clock: Arc<dyn Clock>,
}

impl UserAdminService {
    pub fn new(users: Arc<dyn UserRepository>, clock: Arc<dyn Clock>) -> Self {
        Self { users, clock }
    }

    /// Only admins manage accounts; callers ask before parsing a request, so that a
    /// customer learns nothing about which values would be accepted.
    pub fn ensure_may_manage(&self, caller: Caller) -> Result<(), DomainError> {
        caller.ensure_admin()
    }

    /// One page of accounts, newest first.
    pub async fn list(
        &self,
        caller: Caller,
        filter: UserFilter,
        page: PageRequest,
    ) -> Result<Page<User>, DomainError> {
        caller.ensure_admin()?;
        let rows = self
            .users
            .list(&filter, page.before, page.size.fetch_limit())
            .await?;
        Ok(Page::from_overfetch(rows, page.size, |u| u.id.get()))
    }

    /// Changes an account's role or disabled flag. An admin cannot demote or disable
    /// themselves: the last admin could otherwise lock everyone out.
    pub async fn update(
        &self,
        caller: Caller,
        id: UserId,
        change: UserChange,
    ) -> Result<User, DomainError> {
        caller.ensure_admin()?;
        if id == caller.user_id
            && (change.role == Some(Role::Customer) || change.disabled == Some(true))
        {
            return Err(DomainError::Validation(
                "an admin cannot demote or disable their own account".to_owned(),
            ));
        }
        let user = self
            .users
            .update(id, change, self.clock.now())
            .await?
            .ok_or(DomainError::NotFound("user"))?;
        tracing::info!(
            user_id = id.get(),
            by = caller.user_id.get(),
            role = %user.role,
            disabled = user.disabled,
            "account changed"
        );
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::MockUserRepository;
    use crate::services::fixtures::{admin, customer, fixed_clock, uid, user, T0};
    use mockall::predicate::*;

    fn service(users: MockUserRepository) -> UserAdminService {
        UserAdminService::new(Arc::new(users), fixed_clock())
    }

    #[tokio::test]
    async fn only_admins_list_users_and_a_full_page_points_below_its_last_user() {
        let mut users = MockUserRepository::new();
        users
            .expect_list()
            .withf(|f, before, limit| {
                f.role == Some(Role::Admin) && before.is_none() && *limit == 2
            })
            .times(1)
            .returning(|_, _, _| Ok(vec![user(5, Role::Admin), user(2, Role::Admin)]));
        let svc = service(users);
        let filter = UserFilter {
            role: Some(Role::Admin),
            email: None,
        };
        let page = PageRequest {
            size: crate::PageSize::new(1).expect("valid size"),
            before: None,
        };
        assert!(matches!(
            svc.list(customer(7), filter.clone(), page).await,
            Err(DomainError::Forbidden)
        ));
        let listed = svc.list(admin(1), filter, page).await.unwrap();
        assert_eq!(listed.items, vec![user(5, Role::Admin)]);
        assert_eq!(listed.next_before, Some(5));
    }

    #[tokio::test]
    async fn an_admin_promotes_and_disables_others() {
        let change = UserChange {
            role: Some(Role::Admin),
            disabled: Some(true),
        };
        let mut users = MockUserRepository::new();
        users
            .expect_update()
            .with(eq(uid(9)), eq(change), eq(T0))
            .times(1)
            .returning(|_, _, _| {
                let mut changed = user(9, Role::Admin);
                changed.disabled = true;
                Ok(Some(changed))
            });
        let updated = service(users)
            .update(admin(1), uid(9), change)
            .await
            .unwrap();
        assert_eq!((updated.role, updated.disabled), (Role::Admin, true));
    }

    #[tokio::test]
    async fn an_admin_cannot_demote_or_disable_themselves_but_may_touch_nothing() {
        let mut users = MockUserRepository::new();
        users
            .expect_update()
            .times(1)
            .returning(|_, _, _| Ok(Some(user(1, Role::Admin))));
        let svc = service(users);
        for change in [
            UserChange {
                role: Some(Role::Customer),
                disabled: None,
            },
            UserChange {
                role: None,
                disabled: Some(true),
            },
        ] {
            let err = svc.update(admin(1), uid(1), change).await.unwrap_err();
            assert!(
                matches!(err, DomainError::Validation(_)),
                "{change:?}: {err:?}"
            );
        }
        let kept = UserChange {
            role: Some(Role::Admin),
            disabled: Some(false),
        };
        assert!(svc.update(admin(1), uid(1), kept).await.is_ok());
    }

    #[tokio::test]
    async fn customers_cannot_change_accounts_and_unknown_ones_are_not_found() {
        let mut users = MockUserRepository::new();
        users.expect_update().returning(|_, _, _| Ok(None));
        let svc = service(users);
        let change = UserChange::default();
        assert!(matches!(
            svc.update(customer(7), uid(9), change).await,
            Err(DomainError::Forbidden)
        ));
        assert!(matches!(
            svc.update(admin(1), uid(99), change).await,
            Err(DomainError::NotFound("user"))
        ));
    }
}
