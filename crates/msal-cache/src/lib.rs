//! placeholder: crate docs are written with the index module.
pub mod error;
pub mod file;
pub mod index;
pub mod keys;
pub mod memory;
pub mod schema;
pub mod store;

pub use error::CacheError;
pub use file::FileCache;
pub use index::{AccessTokenQuery, AccountRemoval, RedeemedRefreshToken, TokenCache, TokenWrite};
pub use memory::MemoryCache;
pub use store::{CacheStore, Loaded, Partition, StoreVersion, UpdateFn};
