//! Patterns for `LIKE`, whose `%`, `_` and escape (the backslash) a search takes literally.

/// `%text%` or `text%` for LIKE, with its wildcards taken literally.
pub(crate) fn like_pattern(text: &str, anywhere: bool) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    if anywhere {
        format!("%{escaped}%")
    } else {
        format!("{escaped}%")
    }
}
