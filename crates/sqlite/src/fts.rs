//! FTS5 queries: the trigram tables serve substring searches.

/// The FTS5 query for a substring: one quoted phrase, its quotes doubled. Against a trigram
/// table it matches the text holding the substring, without regard to case.
pub(crate) fn phrase(q: &str) -> String {
    format!("\"{}\"", q.replace('"', "\"\""))
}
