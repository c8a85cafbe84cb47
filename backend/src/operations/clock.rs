//! Times and ids. The backend stamps every time on the wire (`shared` never reads the clock).

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Now, as RFC 3339 UTC.
pub fn now() -> String {
    rfc3339(OffsetDateTime::now_utc())
}

/// A time as RFC 3339.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// An RFC 3339 time as nanoseconds since the epoch, for sorting (0 when unreadable).
/// Comparing the strings is not enough: the fraction's length varies.
pub fn sort_key(rfc3339: &str) -> i128 {
    OffsetDateTime::parse(rfc3339, &Rfc3339).map_or(0, OffsetDateTime::unix_timestamp_nanos)
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// A new id sortable by creation time: `<prefix>-20261125T110705Z-3f9a`.
pub fn new_id(prefix: &str) -> String {
    let t = OffsetDateTime::now_utc();
    format!(
        "{prefix}-{:04}{:02}{:02}T{:02}{:02}{:02}Z-{:04x}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        random_u64() & 0xffff
    )
}

/// A random value for ids and lock tokens (not for cryptography).
pub fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_i128(OffsetDateTime::now_utc().unix_timestamp_nanos());
    h.write_u32(std::process::id());
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_documented_shape() {
        let a = new_id("op");
        let b = new_id("op");
        assert!(
            a.starts_with("op-20") && a.len() == "op-20261125T110705Z-3f9a".len(),
            "{a}"
        );
        assert_eq!(b.len(), a.len());
        assert!(now().ends_with('Z'));
        assert!(sort_key("2026-11-25T10:00:32Z") < sort_key("2026-11-25T10:00:32.5Z"));
        assert!(sort_key("2026-11-25T10:00:32.7Z") < sort_key("2026-11-25T10:00:32.70001Z"));
    }
}
