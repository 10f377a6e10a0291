//! The `.proof_of_possession(..)` and `.ssh_certificate(..)` options, written once for every
//! request builder that offers them (each builder names the field its scheme goes in).

/// `.proof_of_possession(..)` on a builder whose `$field` is an `Option<SchemeRequest>`.
/// `$example` is a doc example showing the builder's own call.
macro_rules! pop_setter {
    ($builder:ty, $example:literal, $($field:ident).+) => {
        impl $builder {
            /// Ask for a proof-of-possession token bound to a key and to one HTTP request
            /// (MSAL.NET `WithProofOfPossession`): the request carries `token_type=pop` and
            /// `req_cnf` (the key's thumbprint); the result's
            /// [`token_type`](crate::AuthenticationResult::token_type) is `pop` and its access
            /// token a signed HTTP request, signed afresh on every call, from the cache or not
            /// (see [`PopRequest`](crate::PopRequest)). Cached per key; never served to, nor
            /// served from, a Bearer request. An answer of another token type is refused.
            ///
            #[doc = $example]
            pub fn proof_of_possession(mut self, request: $crate::PopRequest) -> Self {
                self.$($field).+ = Some($crate::pop::SchemeRequest::Pop(request));
                self
            }
        }
    };
}
pub(crate) use pop_setter;

/// `.ssh_certificate(..)` on a builder whose `$field` is an `Option<SchemeRequest>`.
/// `$example` is a doc example showing the builder's own call.
macro_rules! ssh_setter {
    ($builder:ty, $example:literal, $($field:ident).+) => {
        impl $builder {
            /// Ask for an SSH certificate for a public key instead of an access token (MSAL.NET
            /// `WithSSHCertificateAuthenticationScheme`, MSAL Python
            /// `data={"token_type": "ssh-cert", ..}`): the request carries
            /// `token_type=ssh-cert`, `req_cnf` and `key_id`; the result's access token is the
            /// certificate, its [`token_type`](crate::AuthenticationResult::token_type)
            /// `ssh-cert`. Cached per key id, apart from Bearer tokens.
            ///
            #[doc = $example]
            pub fn ssh_certificate(mut self, request: $crate::SshCertificateRequest) -> Self {
                self.$($field).+ = Some($crate::pop::SchemeRequest::SshCert(request));
                self
            }
        }
    };
}
pub(crate) use ssh_setter;
