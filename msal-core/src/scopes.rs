//! Scope sets: case-insensitive, whitespace-splitting, with MSAL's reserved OpenID scopes.

use std::fmt;

/// The OpenID Connect scopes MSAL always sends and never matches on.
pub const RESERVED_SCOPES: [&str; 3] = ["offline_access", "openid", "profile"];

/// OpenID Connect scopes that ask for identity claims rather than resource access.
const OIDC_CLAIM_SCOPES: [&str; 3] = ["address", "email", "phone"];

/// Whether `scope` is one of [`RESERVED_SCOPES`] (case-insensitive).
pub fn is_reserved(scope: &str) -> bool {
    RESERVED_SCOPES
        .iter()
        .any(|reserved| reserved.eq_ignore_ascii_case(scope))
}

/// One scope: the spelling we were given and its case-folded form used for comparisons.
#[derive(Clone)]
struct Scope {
    original: Box<str>,
    folded: Box<str>,
}

/// A set of OAuth scopes, compared case-insensitively (as MSAL.NET does) but written with the
/// spelling the caller or server used.
///
/// Items are split on whitespace, so `["User.Read Mail.Read"]` and `["User.Read", "Mail.Read"]`
/// are the same set. Duplicates (ignoring case) are dropped, keeping the first spelling.
/// Internally the set is a vector sorted by folded form, so subset and intersection tests are a
/// single merge walk with no allocation: cached token lookups call them on every hit.
#[derive(Clone, Default)]
pub struct ScopeSet {
    scopes: Vec<Scope>,
}

/// A scope that RFC 6749 §3.3 does not allow (a control character, a space inside, `"` or `\`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid scope {scope:?}: scopes may not contain control characters, '\"' or '\\'")]
pub struct InvalidScope {
    /// The offending scope.
    pub scope: String,
}

impl ScopeSet {
    /// Build a set from scopes; each item may hold several scopes separated by whitespace.
    pub fn new<I>(scopes: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut set = ScopeSet::default();
        for item in scopes {
            for scope in item.as_ref().split_whitespace() {
                set.insert(scope);
            }
        }
        set
    }

    /// Build a set from a request, rejecting characters RFC 6749 forbids in a scope.
    pub fn parse_request<I>(scopes: I) -> Result<Self, InvalidScope>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut set = ScopeSet::default();
        for item in scopes {
            for scope in item.as_ref().split_whitespace() {
                if scope
                    .chars()
                    .any(|c| c.is_control() || c == '"' || c == '\\' || !c.is_ascii())
                {
                    return Err(InvalidScope {
                        scope: scope.to_owned(),
                    });
                }
                set.insert(scope);
            }
        }
        Ok(set)
    }

    /// Parse a space-separated scope string (a cache entry's `target`, a response's `scope`).
    pub fn from_target(target: &str) -> Self {
        Self::new([target])
    }

    /// Add one scope (no whitespace splitting); returns false when it was already present.
    pub fn insert(&mut self, scope: &str) -> bool {
        if scope.is_empty() {
            return false;
        }
        let folded = scope.to_ascii_lowercase();
        match self
            .scopes
            .binary_search_by(|s| (*s.folded).cmp(folded.as_str()))
        {
            Ok(_) => false,
            Err(pos) => {
                self.scopes.insert(
                    pos,
                    Scope {
                        original: scope.into(),
                        folded: folded.into(),
                    },
                );
                true
            }
        }
    }

    /// Whether the set holds `scope` (case-insensitive).
    pub fn contains(&self, scope: &str) -> bool {
        let folded = scope.to_ascii_lowercase();
        self.scopes
            .binary_search_by(|s| (*s.folded).cmp(folded.as_str()))
            .is_ok()
    }

    /// The set without the reserved OpenID scopes (what cached tokens are matched on).
    pub fn without_reserved(&self) -> ScopeSet {
        ScopeSet {
            scopes: self
                .scopes
                .iter()
                .filter(|s| !is_reserved(&s.folded))
                .cloned()
                .collect(),
        }
    }

    /// The set without the OpenID Connect identity scopes: the reserved ones and `email`,
    /// `address`, `phone`. What is left names resources (e.g. Graph's `User.Read`).
    pub fn without_oidc(&self) -> ScopeSet {
        ScopeSet {
            scopes: self
                .scopes
                .iter()
                .filter(|s| !is_reserved(&s.folded) && !OIDC_CLAIM_SCOPES.contains(&&*s.folded))
                .cloned()
                .collect(),
        }
    }

    /// The union of two sets (spellings from `self` win).
    pub fn union(&self, other: &ScopeSet) -> ScopeSet {
        let mut out = self.clone();
        for s in &other.scopes {
            out.insert(&s.original);
        }
        out
    }

    /// Whether every scope of `self` is in `other` (case-insensitive).
    pub fn is_subset_of(&self, other: &ScopeSet) -> bool {
        let mut theirs = other.scopes.iter();
        'outer: for mine in &self.scopes {
            for candidate in theirs.by_ref() {
                match (*candidate.folded).cmp(&*mine.folded) {
                    std::cmp::Ordering::Less => continue,
                    std::cmp::Ordering::Equal => continue 'outer,
                    std::cmp::Ordering::Greater => return false,
                }
            }
            return false;
        }
        true
    }

    /// Whether the two sets share at least one scope.
    pub fn intersects(&self, other: &ScopeSet) -> bool {
        let (mut a, mut b) = (
            self.scopes.iter().peekable(),
            other.scopes.iter().peekable(),
        );
        while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
            match x.folded.cmp(&y.folded) {
                std::cmp::Ordering::Less => {
                    a.next();
                }
                std::cmp::Ordering::Greater => {
                    b.next();
                }
                std::cmp::Ordering::Equal => return true,
            }
        }
        false
    }

    /// Number of scopes.
    pub fn len(&self) -> usize {
        self.scopes.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.scopes.is_empty()
    }

    /// The scopes with their original spelling, in case-insensitive order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        self.scopes.iter().map(|s| &*s.original)
    }

    /// The scopes as owned strings, in case-insensitive order.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }

    /// The cache `target` string: scopes sorted ordinally (as MSAL Python writes it) and
    /// joined with single spaces.
    pub fn to_target(&self) -> String {
        let mut v: Vec<&str> = self.iter().collect();
        v.sort_unstable();
        v.join(" ")
    }

    /// The `scope` parameter of a token request: these scopes plus the reserved ones, sorted.
    pub fn to_request_string(&self) -> String {
        let mut all = self.clone();
        for reserved in RESERVED_SCOPES {
            all.insert(reserved);
        }
        all.to_target()
    }
}

impl PartialEq for ScopeSet {
    fn eq(&self, other: &Self) -> bool {
        self.scopes.len() == other.scopes.len()
            && self
                .scopes
                .iter()
                .zip(&other.scopes)
                .all(|(a, b)| a.folded == b.folded)
    }
}

impl Eq for ScopeSet {}

impl std::hash::Hash for ScopeSet {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        for s in &self.scopes {
            s.folded.hash(state);
        }
    }
}

impl fmt::Debug for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_target())
    }
}

impl<S: AsRef<str>> FromIterator<S> for ScopeSet {
    fn from_iter<T: IntoIterator<Item = S>>(iter: T) -> Self {
        ScopeSet::new(iter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn splits_dedups_and_ignores_case() {
        let s = ScopeSet::new(["User.Read mail.read", "user.read", ""]);
        assert_eq!(s.len(), 2);
        assert!(s.contains("USER.READ"));
        assert_eq!(s.to_target(), "User.Read mail.read");
    }

    #[test]
    fn target_sorts_ordinally_like_msal_python() {
        let s = ScopeSet::from_target("profile User.Read openid email");
        assert_eq!(s.to_target(), "User.Read email openid profile");
    }

    #[test]
    fn request_string_adds_reserved_scopes_once() {
        let s = ScopeSet::new(["User.Read", "OpenID"]);
        assert_eq!(
            s.to_request_string(),
            "OpenID User.Read offline_access profile"
        );
    }

    #[test]
    fn reserved_scopes_are_removed_for_matching() {
        let s = ScopeSet::new(["openid", "Profile", "offline_access", "User.Read"]);
        assert_eq!(s.without_reserved(), ScopeSet::new(["user.read"]));
    }

    #[test]
    fn without_oidc_keeps_resource_scopes_only() {
        let s = ScopeSet::from_target("User.Read email openid profile offline_access Phone");
        assert_eq!(s.without_oidc(), ScopeSet::new(["User.Read"]));
    }

    #[test]
    fn parse_request_rejects_forbidden_characters() {
        assert!(ScopeSet::parse_request(["a\"b"]).is_err());
        assert!(ScopeSet::parse_request(["a\u{7}"]).is_err());
        assert!(ScopeSet::parse_request(["https://graph.microsoft.com/.default"]).is_ok());
    }

    fn scope_strategy() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[A-Za-z][A-Za-z._/:-]{0,6}").unwrap()
    }

    proptest! {
        #[test]
        fn subset_matches_naive_definition(
            a in proptest::collection::vec(scope_strategy(), 0..6),
            b in proptest::collection::vec(scope_strategy(), 0..6),
        ) {
            let (sa, sb) = (ScopeSet::new(&a), ScopeSet::new(&b));
            let naive = a.iter().all(|x| b.iter().any(|y| x.eq_ignore_ascii_case(y)));
            prop_assert_eq!(sa.is_subset_of(&sb), naive);
            let naive_intersects = a.iter().any(|x| b.iter().any(|y| x.eq_ignore_ascii_case(y)));
            prop_assert_eq!(sa.intersects(&sb), naive_intersects);
        }

        #[test]
        fn union_is_a_superset_of_both(
            a in proptest::collection::vec(scope_strategy(), 0..6),
            b in proptest::collection::vec(scope_strategy(), 0..6),
        ) {
            let (sa, sb) = (ScopeSet::new(&a), ScopeSet::new(&b));
            let u = sa.union(&sb);
            prop_assert!(sa.is_subset_of(&u));
            prop_assert!(sb.is_subset_of(&u));
        }

        #[test]
        fn target_round_trips(a in proptest::collection::vec(scope_strategy(), 0..8)) {
            let s = ScopeSet::new(&a);
            let back = ScopeSet::from_target(&s.to_target());
            prop_assert_eq!(&back, &s);
            prop_assert_eq!(back.to_target(), s.to_target());
        }

        #[test]
        fn case_changes_do_not_change_the_set(a in proptest::collection::vec(scope_strategy(), 0..6)) {
            let upper: Vec<String> = a.iter().map(|s| s.to_ascii_uppercase()).collect();
            prop_assert_eq!(ScopeSet::new(&a), ScopeSet::new(&upper));
        }
    }
}
