//! Sharing strings on write: the entries a token response writes take the equal strings the
//! cache already holds (and share them among themselves), so that a cache written to for a long
//! time stores each repeated value once, as a loaded one does (`crate::intern` does that for a
//! load).

use arcstr::ArcStr;

use crate::intern::constant;
use crate::schema::{
    AccessTokenEntry, AccountEntry, AppMetadataEntry, IdTokenEntry, RefreshTokenEntry,
};

/// Strings that entries about to be stored can take instead of their own equal copies (see
/// [`TokenCache::apply`]). A handful at most: a linear search is the cheapest.
#[derive(Default)]
pub(super) struct Donors(Vec<ArcStr>);

impl Donors {
    /// `value` replaced by a static constant or an equal donor, or else offered as one.
    fn share(&mut self, value: &mut ArcStr) {
        if let Some(c) = constant(value) {
            *value = c;
            return;
        }
        match self.find(value) {
            Some(d) => *value = d.clone(),
            None => self.offer(value),
        }
    }

    fn find(&self, value: &str) -> Option<&ArcStr> {
        self.0.iter().find(|d| d.as_str() == value)
    }

    fn offer(&mut self, value: &ArcStr) {
        // Static strings (the schema's constants, the empty string) cost nothing to keep apart.
        if !ArcStr::is_static(value) && self.find(value).is_none() {
            self.0.push(value.clone());
        }
    }

    pub(super) fn offer_all<'a>(&mut self, values: impl IntoIterator<Item = &'a ArcStr>) {
        for v in values {
            self.offer(v);
        }
    }

    fn share_all<'a>(&mut self, values: impl IntoIterator<Item = &'a mut ArcStr>) {
        for v in values {
            self.share(v);
        }
    }

    // Secrets are never shared: they are unique, so comparing them would find nothing.

    pub(super) fn share_access_token(&mut self, e: &mut AccessTokenEntry) {
        let AccessTokenEntry {
            credential_type,
            home_account_id,
            environment,
            client_id,
            realm,
            target,
            token_type,
            ..
        } = e;
        self.share_all([credential_type, environment, client_id, realm, target]);
        self.share_all(home_account_id.iter_mut().chain(token_type));
    }

    pub(super) fn share_refresh_token(&mut self, e: &mut RefreshTokenEntry) {
        let RefreshTokenEntry {
            credential_type,
            home_account_id,
            environment,
            client_id,
            target,
            family_id,
            ..
        } = e;
        self.share_all([credential_type, home_account_id, environment, client_id]);
        self.share_all(target.iter_mut().chain(family_id));
    }

    pub(super) fn share_id_token(&mut self, e: &mut IdTokenEntry) {
        let IdTokenEntry {
            credential_type,
            home_account_id,
            environment,
            realm,
            client_id,
            ..
        } = e;
        self.share_all([
            credential_type,
            home_account_id,
            environment,
            realm,
            client_id,
        ]);
    }

    pub(super) fn share_account(&mut self, e: &mut AccountEntry) {
        let AccountEntry {
            home_account_id,
            environment,
            realm,
            authority_type,
            account_source,
            ..
        } = e;
        self.share_all([home_account_id, environment, realm, authority_type]);
        self.share_all(account_source);
    }

    pub(super) fn share_app_metadata(&mut self, e: &mut AppMetadataEntry) {
        let AppMetadataEntry {
            client_id,
            environment,
            family_id,
            ..
        } = e;
        self.share_all([client_id, environment]);
        self.share_all(family_id);
    }
}
