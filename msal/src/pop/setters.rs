//! The `.proof_of_possession(..)` and `.ssh_certificate(..)` options, written once for every
//! request builder that offers them: each builder names the field its scheme goes in, and
//! the parameters and the call of its doc example.

/// A setter putting a [`SchemeRequest`](super::SchemeRequest) variant in a builder's field.
macro_rules! scheme_setter {
    ($builder:ty, $name:ident, $arg:ty, $variant:ident, $doc:expr, $($field:ident).+) => {
        impl $builder {
            #[doc = $doc]
            pub fn $name(mut self, request: $arg) -> Self {
                self.$($field).+ = Some($crate::pop::SchemeRequest::$variant(request));
                self
            }
        }
    };
}
pub(crate) use scheme_setter;

/// `.proof_of_possession(..)` on a builder whose `$field` is an `Option<SchemeRequest>`; the
/// doc example runs `$call` in a function taking `$params`, and reads the token type from
/// `$result` (`r` by default: what the call returns is the result itself).
macro_rules! pop_setter {
    ($builder:ty, $params:literal, $call:literal, $($field:ident).+) => {
        $crate::pop::pop_setter!($builder, $params, $call, result = "r", $($field).+);
    };
    ($builder:ty, $params:literal, $call:literal, result = $result:literal, $($field:ident).+) => {
        $crate::pop::scheme_setter!(
            $builder,
            proof_of_possession,
            $crate::PopRequest,
            Pop,
            concat!(
                "Ask for a proof-of-possession token bound to a key and to one HTTP request ",
                "(MSAL.NET `WithProofOfPossession`): the request carries `token_type=pop` and ",
                "`req_cnf` (the key's thumbprint); the result's ",
                "[`token_type`](crate::AuthenticationResult::token_type) is `pop` and its ",
                "access token a signed HTTP request, signed afresh on every call, from the ",
                "cache or not (see [`PopRequest`](crate::PopRequest)). Cached per key; never ",
                "served to, nor served from, a Bearer request. An answer of another token ",
                "type is refused.\n\n",
                "```no_run\n# async fn run(", $params, ") -> Result<(), msal::Error> {\n",
                "let pop = msal::PopRequest::new(\"GET\", \"https://resource.example/api/items\")?;\n",
                "let r = ", $call, "\n    .proof_of_possession(pop)\n    .await?;\n",
                "assert_eq!(", $result, ".token_type(), \"pop\");\n# Ok(()) }\n```"
            ),
            $($field).+
        );
    };
}
pub(crate) use pop_setter;

/// `.ssh_certificate(..)` on a builder whose `$field` is an `Option<SchemeRequest>`; the doc
/// example runs `$call` in a function taking `$params` and `line` (an OpenSSH public key), and
/// reads the token type from `$result` (`r` by default).
macro_rules! ssh_setter {
    ($builder:ty, $params:literal, $call:literal, $($field:ident).+) => {
        $crate::pop::ssh_setter!($builder, $params, $call, result = "r", $($field).+);
    };
    ($builder:ty, $params:literal, $call:literal, result = $result:literal, $($field:ident).+) => {
        $crate::pop::scheme_setter!(
            $builder,
            ssh_certificate,
            $crate::SshCertificateRequest,
            SshCert,
            concat!(
                "Ask for an SSH certificate for a public key instead of an access token ",
                "(MSAL.NET `WithSSHCertificateAuthenticationScheme`, MSAL Python ",
                "`data={\"token_type\": \"ssh-cert\", ..}`): the request carries ",
                "`token_type=ssh-cert`, `req_cnf` and `key_id`; the result's access token is ",
                "the certificate, its [`token_type`](crate::AuthenticationResult::token_type) ",
                "`ssh-cert`. Cached per key id, apart from Bearer tokens.\n\n",
                "```no_run\n# async fn run(", $params, ", line: &str) -> Result<(), msal::Error> {\n",
                "let ssh = msal::SshCertificateRequest::from_openssh_public_key(\"my-key\", line)?;\n",
                "let r = ", $call, "\n    .ssh_certificate(ssh)\n    .await?;\n",
                "assert_eq!(", $result, ".token_type(), \"ssh-cert\");\n# Ok(()) }\n```"
            ),
            $($field).+
        );
    };
}
pub(crate) use ssh_setter;

/// Both setters, for a builder that offers both (confidential client requests): the doc
/// examples run `$pop_call` and `$ssh_call` in functions taking `$params`.
macro_rules! scheme_setters {
    ($builder:ty, $params:literal, $pop_call:literal, $ssh_call:literal, $($field:ident).+) => {
        $crate::pop::scheme_setters!($builder, $params, $pop_call, $ssh_call, result = "r", $($field).+);
    };
    ($builder:ty, $params:literal, $pop_call:literal, $ssh_call:literal, result = $result:literal, $($field:ident).+) => {
        $crate::pop::pop_setter!($builder, $params, $pop_call, result = $result, $($field).+);
        $crate::pop::ssh_setter!($builder, $params, $ssh_call, result = $result, $($field).+);
    };
}
pub(crate) use scheme_setters;
