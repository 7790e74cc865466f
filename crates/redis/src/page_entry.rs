//! How a customer's rendered first page is stored: `"{generation}:{size}:{next_before}:{body}"`
//! (`next_before` empty on a last page), so that a hit is served by slicing the body out of
//! what Redis sent, without parsing or copying it.

use bytes::Bytes;
use trachios_domain::{PageSize, RenderedPage};

pub(crate) fn encode(generation: u64, size: PageSize, page: &RenderedPage) -> Vec<u8> {
    let next = page
        .next_before
        .map(|id| id.to_string())
        .unwrap_or_default();
    let header = format!("{generation}:{}:{next}:", size.get());
    let mut entry = Vec::with_capacity(header.len() + page.body.len());
    entry.extend_from_slice(header.as_bytes());
    entry.extend_from_slice(&page.body);
    entry
}

/// The page in an entry, if it was stored under `generation` for pages of `size`.
pub(crate) fn decode(raw: Vec<u8>, generation: u64, size: PageSize) -> Option<RenderedPage> {
    let mut fields = raw.splitn(4, |&b| b == b':');
    let stored_generation = number::<u64>(fields.next()?)?;
    let stored_size = number::<usize>(fields.next()?)?;
    let next = fields.next()?;
    let next_before = if next.is_empty() {
        None
    } else {
        Some(number::<i64>(next)?)
    };
    fields.next()?;
    if stored_generation != generation || stored_size != size.get() {
        return None;
    }
    // The three fields and their colons lead the entry; the body is the rest.
    let body_start = raw.iter().enumerate().filter(|(_, &b)| b == b':').nth(2)?.0 + 1;
    Some(RenderedPage {
        body: Bytes::from(raw).slice(body_start..),
        next_before,
    })
}

fn number<T: std::str::FromStr>(field: &[u8]) -> Option<T> {
    std::str::from_utf8(field).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(n: usize) -> PageSize {
        PageSize::new(n).expect("valid size")
    }

    fn page(body: &'static str, next_before: Option<i64>) -> RenderedPage {
        RenderedPage {
            body: Bytes::from_static(body.as_bytes()),
            next_before,
        }
    }

    #[test]
    fn pages_round_trip_under_their_generation_and_size_only() {
        let more = page(r#"[{"item_description":"a:b:c"}]"#, Some(17));
        let raw = encode(9, size(100), &more);
        assert!(raw.starts_with(b"9:100:17:["));
        assert_eq!(decode(raw.clone(), 9, size(100)), Some(more));
        assert_eq!(
            decode(raw.clone(), 10, size(100)),
            None,
            "another generation"
        );
        assert_eq!(decode(raw, 9, size(50)), None, "another page size");

        let last = page("[]", None);
        assert_eq!(decode(encode(3, size(5), &last), 3, size(5)), Some(last));
    }

    #[test]
    fn damaged_entries_are_misses() {
        for raw in [
            "",
            "9",
            "9:100",
            "9:100:",
            "x:100::[]",
            "9:x::[]",
            "9:100:x:[]",
        ] {
            assert_eq!(decode(raw.as_bytes().to_vec(), 9, size(100)), None, "{raw}");
        }
    }
}
