//! Parsing the names of the domain's enums, with a refusal that lists every accepted name:
//! the list comes from the enum's own declaration, so the message cannot fall behind it.

use crate::DomainError;

/// The names of `all`, in the order they are declared.
pub fn of<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|v| name(*v)).collect()
}

/// The variant of `all` named `raw`, or a validation error naming `what` and every name.
pub fn parse<T: Copy>(
    raw: &str,
    all: &[T],
    name: fn(T) -> &'static str,
    what: &str,
) -> Result<T, DomainError> {
    all.iter()
        .copied()
        .find(|v| name(*v) == raw)
        .ok_or_else(|| {
            DomainError::Validation(format!(
                "{what} must be one of {}",
                of(all, name).join(", ")
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;

    #[test]
    fn a_refusal_names_every_accepted_value() {
        let err = parse("root", Role::ALL, Role::as_str, "role").unwrap_err();
        assert_eq!(err.to_string(), "role must be one of customer, admin");
    }
}
