//! Correlation ids: a fresh UUID (version 4) per request, sent as `client-request-id` and
//! returned in every result.
//!
//! They identify a request in the identity provider's logs; they are not secrets and need no
//! cryptographic randomness. A cache hit needs one too, so they come from `uuid`'s `fast-rng`
//! feature (a per-thread generator seeded once from the OS) rather than a system call per
//! request.

/// A new correlation id, e.g. `3f2b8c1e-9d4a-4f6b-8e2d-5c7a1b0e9f34`.
pub(crate) fn new_correlation_id() -> String {
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    uuid::Uuid::new_v4()
        .hyphenated()
        .encode_lower(&mut buf)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_version_4_uuids_and_do_not_repeat() {
        let ids: std::collections::HashSet<String> =
            (0..10_000).map(|_| new_correlation_id()).collect();
        assert_eq!(ids.len(), 10_000);
        for id in ids.iter().take(100) {
            let parsed = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(parsed.get_version_num(), 4);
            assert_eq!(id, &parsed.hyphenated().to_string());
        }
    }

    #[test]
    fn threads_get_different_sequences() {
        let a = std::thread::spawn(new_correlation_id).join().unwrap();
        let b = std::thread::spawn(new_correlation_id).join().unwrap();
        assert_ne!(a, b);
    }
}
