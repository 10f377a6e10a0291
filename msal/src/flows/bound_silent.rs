//! Silent requests for key-bound tokens (SSH certificates, see [`crate::pop`]): the silent
//! pipeline with the scheme set, past the hit memo (which holds Bearer tokens only), and the
//! scheme's finish on the result.

use std::sync::Arc;

use super::silent_params::{normalise, SilentInput};
use crate::client_core::ClientCore;
use crate::engine::serve;
use crate::pop::{AuthScheme, SchemeRequest};
use crate::{AuthenticationResult, Error};

/// A silent request for a key-bound token (see [`crate::pop`]): never the hit memo's.
pub(crate) async fn acquire_token_silent_bound(
    core: &Arc<ClientCore>,
    input: SilentInput<'_>,
    scheme: SchemeRequest,
) -> Result<AuthenticationResult, Error> {
    let mut params = normalise(core, input)?;
    params.scheme = Some(AuthScheme::resolve(scheme)?);
    let params = Arc::new(params);
    let result = serve(Arc::clone(core), Arc::clone(&params)).await?;
    crate::pop::finish(params.scheme.as_ref(), result, core.now_secs())
}
