//! A `Hasher` for keys that are already uniform hashes (the index's chain hashes, the 64-bit
//! hashes of a load's shared strings), so that hash maps keyed by them do not hash them again.
//!
//! It sits below both of its users ([`crate::index`] and `crate::intern`), so neither imports
//! the other for it.

use std::hash::Hasher;

/// Keys that are already uniform hashes, used as they are:
/// a chain hash spread over 64 bits, a 64-bit one (the tables of a load's shared strings,
/// `crate::intern`) unchanged.
#[derive(Default, Clone, Copy)]
pub(crate) struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u32`/`write_u64` are used (the keys are those); this keeps the trait's
        // contract anyway.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u32(&mut self, n: u32) {
        // The map takes its bucket from the low bits and a tag from the top seven: multiplying
        // by an odd constant keeps the low bits as uniform as they were and fills the top ones.
        self.0 = u64::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}
