//! What the domain accepts, every store stores: arbitrary text that passes validation goes
//! in and comes back unchanged, so no accepted input can turn into a 500 at the database.

use std::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering::Relaxed;

use chrono::Duration;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use trachios_domain::ports::UserRepository;
use trachios_domain::{Email, ItemDescription, Name, NewUser, OrderRequest, PasswordHash, Role};

use crate::{customer, new_order, Ports};

/// Text the domain accepts, drawn from every plane, with the characters that trip up SQL
/// and encodings over-represented (refusals are the domain's property tests' business).
fn nasty_text() -> impl Strategy<Value = String> {
    let char = prop_oneof![
        40 => any::<char>().prop_filter("not a control", |c| !c.is_control()),
        2 => Just('\t'),
        2 => Just('\n'),
        2 => Just('\u{feff}'),
        2 => Just('\u{10ffff}'),
        2 => Just('\u{fffd}'),
        2 => Just('\''),
        2 => Just('\\'),
        2 => Just('%'),
    ];
    prop::collection::vec(char, 1..250).prop_map(|chars| chars.into_iter().collect())
}

/// A property test drives its own runtime, so this one is a plain function of how to get
/// a fresh store.
pub fn every_accepted_name_and_item_description_is_stored_unchanged<F, Fut>(fresh: F)
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Ports>,
{
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let ports = runtime.block_on(fresh());
    let (users, orders) = (ports.users.as_ref(), ports.orders.as_ref());
    let a = runtime.block_on(customer(users, "a@x.io"));
    let mut runner = TestRunner::new(Config::with_cases(200));
    let serial = AtomicU32::new(0);
    let kept = AtomicU32::new(0);
    runner
        .run(&(nasty_text(), nasty_text()), |(name, item)| {
            let serial = serial.fetch_add(1, Relaxed);
            runtime.block_on(async {
                if let Ok(item) = ItemDescription::parse(&item) {
                    let mut placed = new_order(a, Duration::seconds(60));
                    placed.request = OrderRequest::free_text(item.clone());
                    let stored = orders.insert(placed).await.map_err(fail)?;
                    let read = orders.find_by_id(stored.id).await.map_err(fail)?;
                    prop_assert_eq!(read.map(|o| o.item_description), Some(item));
                    kept.fetch_add(1, Relaxed);
                }
                if let Ok(name) = Name::parse(&name) {
                    let user = insert_user(users, name.clone(), serial).await?;
                    prop_assert_eq!(user.name, name);
                    kept.fetch_add(1, Relaxed);
                }
                Ok(())
            })
        })
        .expect("accepted text is stored unchanged");
    // Most cases are accepted text; a generator drifting to refusals only would prove nothing.
    assert!(kept.into_inner() >= 100, "too few values were stored");
}

async fn insert_user(
    users: &dyn UserRepository,
    name: Name,
    serial: u32,
) -> Result<trachios_domain::User, TestCaseError> {
    let stored = users
        .insert(NewUser {
            name,
            email: Email::parse(&format!("p{serial}@x.io")).map_err(fail)?,
            password_hash: PasswordHash::new("phc".into()),
            role: Role::Customer,
        })
        .await
        .map_err(fail)?;
    users
        .find_by_id(stored.id)
        .await
        .map_err(fail)?
        .ok_or_else(|| TestCaseError::fail("stored user not found"))
}

fn fail(err: impl std::fmt::Debug) -> TestCaseError {
    TestCaseError::fail(format!("{err:?}"))
}
