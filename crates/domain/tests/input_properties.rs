//! Every input type, fed arbitrary text: it is either a value that can be stored and shown
//! as it is, or a validation error that names its field — never a panic, never anything else.

use proptest::prelude::*;
use trachios_domain::{
    DomainError, Email, ItemDescription, Name, OrderId, OrderStatus, PageSize, Password, Role,
    UserId,
};

/// Text of any characters, with the troublesome ones (NUL, controls, whitespace, `@`,
/// non-ASCII) far more common than among uniformly random code points.
fn any_text() -> impl Strategy<Value = String> {
    let char = prop_oneof![
        4 => any::<char>(),
        2 => prop::char::range('a', 'z'),
        1 => Just('\0'),
        1 => Just(' '),
        1 => Just('@'),
        1 => Just('.'),
        1 => prop::char::range('\u{1}', '\u{1f}'),
        1 => Just('é'),
    ];
    prop_oneof![
        prop::collection::vec(char.clone(), 0..40),
        prop::collection::vec(char, 200..1100),
    ]
    .prop_map(|chars| chars.into_iter().collect())
}

/// What PostgreSQL stores and a person reads as written.
fn storable(text: &str, max_chars: usize) -> bool {
    !text.is_empty()
        && text.chars().count() <= max_chars
        && !text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

fn names_field<T>(result: Result<T, DomainError>, field: &str) -> Result<Option<T>, TestCaseError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(DomainError::Validation(message)) => {
            prop_assert!(
                message.starts_with(&format!("{field} ")),
                "message {message:?} does not name {field}"
            );
            Ok(None)
        }
        Err(other) => Err(TestCaseError::fail(format!(
            "not a validation error: {other:?}"
        ))),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_name_is_storable_text_or_a_refusal_naming_name(raw in any_text()) {
        if let Some(name) = names_field(Name::parse(&raw), "name")? {
            prop_assert!(storable(name.as_str(), 255));
            prop_assert_eq!(name.as_str(), raw.trim());
        }
    }

    #[test]
    fn an_item_description_is_storable_text_or_a_refusal_naming_it(raw in any_text()) {
        if let Some(item) = names_field(ItemDescription::parse(&raw), "item_description")? {
            prop_assert!(storable(item.as_str(), 1000));
            prop_assert_eq!(item.as_str(), raw.trim());
        }
    }

    #[test]
    fn an_email_is_a_lower_case_address_or_a_refusal_naming_email(raw in any_text()) {
        if let Some(email) = names_field(Email::parse(&raw), "email")? {
            let address = email.as_str();
            prop_assert!(storable(address, 255));
            prop_assert_eq!(address, address.to_lowercase());
            prop_assert_eq!(address.matches('@').count(), 1);
            prop_assert!(!address.chars().any(char::is_whitespace));
        }
    }

    #[test]
    fn a_password_is_8_to_128_characters_or_a_refusal_naming_password(raw in any_text()) {
        if let Some(password) = names_field(Password::parse(&raw), "password")? {
            prop_assert!((8..=128).contains(&password.expose().chars().count()));
        }
    }

    #[test]
    fn statuses_and_roles_are_their_names_or_refusals_naming_them(raw in any_text()) {
        if let Some(status) = names_field(OrderStatus::parse(&raw), "status")? {
            prop_assert_eq!(status.as_str(), raw.as_str());
        }
        if let Some(role) = names_field(Role::parse(&raw), "role")? {
            prop_assert_eq!(role.as_str(), raw.as_str());
        }
    }

    #[test]
    fn ids_are_positive_and_page_sizes_at_most_a_thousand(n in any::<i64>(), size in any::<usize>()) {
        prop_assert_eq!(names_field(UserId::parse(n), "user id")?.is_some(), n > 0);
        prop_assert_eq!(names_field(OrderId::parse(n), "order id")?.is_some(), n > 0);
        prop_assert_eq!(names_field(PageSize::new(size), "limit")?.is_some(), (1..=1000).contains(&size));
    }
}
