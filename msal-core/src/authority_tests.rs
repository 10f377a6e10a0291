//! Tests of `authority.rs`: parsing, kinds, endpoints and tenants.

use super::*;

#[test]
fn entra_tenants() {
    for (input, tenant) in [
        ("https://login.microsoftonline.com/common", "common"),
        (
            "https://login.microsoftonline.com/organizations/",
            "organizations",
        ),
        ("https://login.microsoftonline.com/consumers", "consumers"),
        (
            "https://login.microsoftonline.com/Contoso.onmicrosoft.com",
            "contoso.onmicrosoft.com",
        ),
        (
            "https://login.microsoftonline.com/72f9a1b0-dddd-4eee-9fff-222222222222",
            "72f9a1b0-dddd-4eee-9fff-222222222222",
        ),
        ("https://login.microsoftonline.us/common", "common"),
        ("https://login.chinacloudapi.cn/common", "common"),
    ] {
        let a = Authority::parse(input).unwrap();
        assert_eq!(a.kind(), AuthorityKind::Aad, "{input}");
        assert_eq!(a.tenant(), Some(tenant), "{input}");
        assert!(a.is_known_entra_host(), "{input}");
    }
}

#[test]
fn entra_endpoints_are_templated() {
    let a = Authority::parse("https://Login.MicrosoftOnline.com/common").unwrap();
    let e = a.known_endpoints().unwrap();
    assert_eq!(
        e.token.as_str(),
        "https://login.microsoftonline.com/common/oauth2/v2.0/token"
    );
    assert_eq!(
        e.device_code.unwrap().as_str(),
        "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode"
    );
    assert!(a.is_multi_tenant());
    assert_eq!(a.environment(), "login.microsoftonline.com");
}

#[test]
fn b2c_adfs_ciam() {
    let b = Authority::parse("https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signin")
        .unwrap();
    assert_eq!(b.kind(), AuthorityKind::B2c);
    assert_eq!(b.policy(), Some("b2c_1_signin"));
    assert_eq!(
        b.known_endpoints().unwrap().token.as_str(),
        "https://contoso.b2clogin.com/contoso.onmicrosoft.com/b2c_1_signin/oauth2/v2.0/token"
    );
    let tfp = Authority::parse("https://login.microsoftonline.com/tfp/contoso/b2c_1_x").unwrap();
    assert_eq!(tfp.kind(), AuthorityKind::B2c);
    assert!(matches!(
        Authority::parse("https://contoso.b2clogin.com/contoso.onmicrosoft.com"),
        Err(AuthorityError::MissingPolicy { .. })
    ));

    let adfs = Authority::parse("https://fs.contoso.com/adfs").unwrap();
    assert_eq!(adfs.kind(), AuthorityKind::Adfs);
    assert_eq!(adfs.authority_type(), "ADFS");
    assert_eq!(
        adfs.known_endpoints().unwrap().token.as_str(),
        "https://fs.contoso.com/adfs/oauth2/token"
    );

    let ciam = Authority::parse("https://contoso.ciamlogin.com").unwrap();
    assert_eq!(ciam.kind(), AuthorityKind::Ciam);
    assert_eq!(ciam.tenant(), Some("contoso.onmicrosoft.com"));
}

#[test]
fn only_https_or_loopback_http() {
    assert!(matches!(
        Authority::parse("http://login.microsoftonline.com/common"),
        Err(AuthorityError::InsecureScheme { .. })
    ));
    assert!(Authority::oidc("http://127.0.0.1:3000").is_ok());
    assert!(Authority::oidc("http://localhost:3000/issuer").is_ok());
    assert!(Authority::oidc("http://[::1]:3000").is_ok());
    assert!(Authority::oidc("http://10.0.0.1").is_err());
    assert!(Authority::oidc("ftp://x.example").is_err());
    assert!(Authority::oidc("not a url").is_err());
    assert!(Authority::parse("https://login.microsoftonline.com/").is_err());
    assert!(Authority::parse("https://login.microsoftonline.com/common?x=1").is_err());
    assert!(Authority::parse("https://u:p@login.microsoftonline.com/common").is_err());
}

#[test]
fn oidc_discovery_and_environment_with_port() {
    let a = Authority::oidc("http://127.0.0.1:8443/").unwrap();
    assert_eq!(a.environment(), "127.0.0.1:8443");
    assert!(a.known_endpoints().is_none());
    assert_eq!(
        a.discovery_url().unwrap().as_str(),
        "http://127.0.0.1:8443/.well-known/openid-configuration"
    );
}

#[test]
fn metadata_is_validated() {
    let ok = OidcMetadata::parse(
        br#"{"issuer":"https://id.example","token_endpoint":"https://id.example/token","authorization_endpoint":"https://id.example/auth"}"#,
    )
    .unwrap()
    .into_endpoints()
    .unwrap();
    assert!(ok.device_code.is_none());
    let insecure = OidcMetadata::parse(
        br#"{"token_endpoint":"http://evil.example/token","authorization_endpoint":"https://id.example/auth"}"#,
    )
    .unwrap()
    .into_endpoints();
    assert!(insecure.is_err());
    assert!(OidcMetadata::parse(b"<html>").is_err());
}

#[test]
fn aliases() {
    assert_eq!(
        canonical_environment("LOGIN.WINDOWS.NET"),
        "login.microsoftonline.com"
    );
    assert_eq!(
        canonical_environment("sts.windows.net"),
        "login.microsoftonline.com"
    );
    assert_eq!(canonical_environment("Id.Example:8443"), "id.example:8443");
    assert!(entra_aliases("login.chinacloudapi.cn")
        .unwrap()
        .contains(&"login.partner.microsoftonline.cn"));
}

#[test]
fn b2c_policy_can_be_swapped_and_others_have_none() {
    let a = Authority::parse("https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signin")
        .unwrap();
    let edit = a.with_policy("B2C_1_Edit").unwrap();
    assert_eq!(edit.policy(), Some("b2c_1_edit"));
    assert_eq!(
        edit.known_endpoints().unwrap().token.as_str(),
        "https://contoso.b2clogin.com/contoso.onmicrosoft.com/b2c_1_edit/oauth2/v2.0/token"
    );
    assert_eq!(edit.environment(), a.environment());
    assert_eq!(edit.tenant(), a.tenant());
    let entra = Authority::parse("https://login.microsoftonline.com/common").unwrap();
    assert!(entra.with_policy("B2C_1_x").is_none());
}
