//! Correlation ids: a fresh UUID (version 4 format) per request, sent as `client-request-id`
//! and returned in every result.
//!
//! They identify a request in the identity provider's logs; they are not secrets and need no
//! cryptographic randomness. A cache hit needs one too, so they come from a per-thread
//! SplitMix64 generator seeded once from the OS, not from a system call per request.

use std::cell::Cell;

thread_local! {
    static STATE: Cell<u64> = Cell::new({
        let (a, b) = uuid::Uuid::new_v4().as_u64_pair();
        a ^ b.rotate_left(32)
    });
}

fn next(state: &Cell<u64>) -> u64 {
    // SplitMix64 (Steele, Lea and Flood): full period, well mixed output.
    let s = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
    state.set(s);
    let mut z = s;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A new correlation id, e.g. `3f2b8c1e-9d4a-4f6b-8e2d-5c7a1b0e9f34`.
pub(crate) fn new_correlation_id() -> String {
    let (hi, lo) = STATE.with(|s| (next(s), next(s)));
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&hi.to_le_bytes());
    bytes[8..].copy_from_slice(&lo.to_le_bytes());
    let uuid = uuid::Builder::from_random_bytes(bytes).into_uuid();
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    uuid.hyphenated().encode_lower(&mut buf).to_owned()
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
