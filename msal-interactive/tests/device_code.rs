//! Parsing device authorization responses (RFC 8628 §3.2 and Entra's variants).

use std::time::Duration;

use msal_interactive::{DeviceAuthorizationResponse, DeviceCodeError, DeviceCodeInfo};
use url::Url;

const DEVICE_CODE: &str = "GAQABAAEAAAB2UyzwtQEKR7-rWbgdcBZIDEVICECODESECRET";

#[test]
fn full_response() {
    let body = format!(
        r#"{{"device_code":"{DEVICE_CODE}","user_code":"WDJB-MJHT",
        "verification_uri":"https://example.com/device",
        "verification_uri_complete":"https://example.com/device?user_code=WDJB-MJHT",
        "expires_in":1800,"interval":7,"message":"Go to https://example.com/device"}}"#
    );
    let r = DeviceAuthorizationResponse::parse(body.as_bytes()).unwrap();
    assert_eq!(r.device_code(), DEVICE_CODE);
    let info = r.info();
    assert_eq!(info.user_code, "WDJB-MJHT");
    assert_eq!(info.verification_uri.as_str(), "https://example.com/device");
    assert_eq!(
        info.verification_uri_complete.as_ref().map(Url::as_str),
        Some("https://example.com/device?user_code=WDJB-MJHT")
    );
    assert_eq!(info.expires_in, Duration::from_secs(1800));
    assert_eq!(info.interval, Duration::from_secs(7));
    assert_eq!(info.display_message(), "Go to https://example.com/device");

    let debug = format!("{r:?}");
    assert!(!debug.contains(DEVICE_CODE), "{debug}");
    assert!(debug.contains("WDJB-MJHT"));
    let (code, info) = r.into_parts();
    assert_eq!(code, DEVICE_CODE);
    assert!(!format!("{info:?}").contains(DEVICE_CODE));
}

#[test]
fn entra_verification_url_string_numbers_and_default_interval() {
    let body = format!(
        r#"{{"device_code":"{DEVICE_CODE}","user_code":"ABC123",
        "verification_url":"https://microsoft.com/devicelogin","expires_in":"900"}}"#
    );
    let info = DeviceAuthorizationResponse::parse(body.as_bytes())
        .unwrap()
        .into_parts()
        .1;
    assert_eq!(
        info.verification_uri.as_str(),
        "https://microsoft.com/devicelogin"
    );
    assert_eq!(info.verification_uri_complete, None);
    assert_eq!(info.expires_in, Duration::from_secs(900));
    assert_eq!(info.interval, Duration::from_secs(5));
    assert_eq!(info.message, None);
    assert_eq!(
        info.display_message(),
        "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code ABC123 to authenticate."
    );

    for interval in [r#""interval":0"#, r#""interval":null"#] {
        let body = format!(
            r#"{{"device_code":"d","user_code":"u","verification_uri":"https://x/",
            "expires_in":60,{interval}}}"#
        );
        let r = DeviceAuthorizationResponse::parse(body.as_bytes()).unwrap();
        assert_eq!(r.info().interval, Duration::from_secs(5), "{interval}");
    }
    let body = br#"{"device_code":"d","user_code":"u","verification_uri":"https://x/",
        "expires_in":60.0,"interval":"3"}"#;
    let r = DeviceAuthorizationResponse::parse(body).unwrap();
    assert_eq!(r.info().expires_in, Duration::from_secs(60));
    assert_eq!(r.info().interval, Duration::from_secs(3));
}

#[test]
fn malformed_bodies_are_typed_errors_that_never_quote_the_device_code() {
    for body in [
        &b""[..],
        b"not json",
        b"<html>502</html>",
        br#"{"device_code":"GAQABAAEAAAB2UyzwtQEKR7-rWbg"#,
    ] {
        let e = DeviceAuthorizationResponse::parse(body).unwrap_err();
        assert!(matches!(e, DeviceCodeError::Malformed(_)), "{e:?}");
        assert!(!e.to_string().contains("GAQAB"), "{e}");
    }
    for body in [&b"[]"[..], b"42", b"\"s\"", b"null"] {
        assert!(matches!(
            DeviceAuthorizationResponse::parse(body),
            Err(DeviceCodeError::Malformed(_))
        ));
    }
}

#[test]
fn missing_and_invalid_fields() {
    let full = serde_json_like(&[
        ("device_code", "\"d\""),
        ("user_code", "\"u\""),
        ("verification_uri", "\"https://x/\""),
        ("expires_in", "60"),
    ]);
    assert!(DeviceAuthorizationResponse::parse(full.as_bytes()).is_ok());

    for (field, reported) in [
        ("device_code", "device_code"),
        ("user_code", "user_code"),
        ("verification_uri", "verification_uri"),
        ("expires_in", "expires_in"),
    ] {
        let fields: Vec<_> = [
            ("device_code", "\"d\""),
            ("user_code", "\"u\""),
            ("verification_uri", "\"https://x/\""),
            ("expires_in", "60"),
        ]
        .into_iter()
        .filter(|(f, _)| *f != field)
        .collect();
        assert_eq!(
            DeviceAuthorizationResponse::parse(serde_json_like(&fields).as_bytes()),
            Err(DeviceCodeError::MissingField(reported)),
            "{field}"
        );
    }
    // Empty strings count as missing.
    let body =
        br#"{"device_code":"","user_code":"u","verification_uri":"https://x/","expires_in":1}"#;
    assert_eq!(
        DeviceAuthorizationResponse::parse(body),
        Err(DeviceCodeError::MissingField("device_code"))
    );

    for (body, field) in [
        (
            r#"{"device_code":5,"user_code":"u","verification_uri":"https://x/","expires_in":1}"#,
            "device_code",
        ),
        (
            r#"{"device_code":"d","user_code":"u","verification_uri":"not a url","expires_in":1}"#,
            "verification_uri",
        ),
        (
            r#"{"device_code":"d","user_code":"u","verification_uri":"javascript:alert(1)","expires_in":1}"#,
            "verification_uri",
        ),
        (
            r#"{"device_code":"d","user_code":"u","verification_url":"relative/path","expires_in":1}"#,
            "verification_url",
        ),
        (
            r#"{"device_code":"d","user_code":"u","verification_uri":"https://x/","verification_uri_complete":"::","expires_in":1}"#,
            "verification_uri_complete",
        ),
        (
            r#"{"device_code":"d","user_code":"u","verification_uri":"https://x/","expires_in":-1}"#,
            "expires_in",
        ),
        (
            r#"{"device_code":"d","user_code":"u","verification_uri":"https://x/","expires_in":"soon"}"#,
            "expires_in",
        ),
        (
            r#"{"device_code":"d","user_code":"u","verification_uri":"https://x/","expires_in":1,"interval":[5]}"#,
            "interval",
        ),
        (
            r#"{"device_code":"d","user_code":"u","verification_uri":"https://x/","expires_in":1e300}"#,
            "expires_in",
        ),
        (
            r#"{"device_code":"d","user_code":"u","verification_uri":"https://x/","expires_in":1,"message":{}}"#,
            "message",
        ),
    ] {
        match DeviceAuthorizationResponse::parse(body.as_bytes()) {
            Err(DeviceCodeError::InvalidField { field: f, .. }) => assert_eq!(f, field, "{body}"),
            other => panic!("{body}: {other:?}"),
        }
    }
}

#[test]
fn oauth_error_bodies() {
    let body = br#"{"error":"invalid_client","error_description":"AADSTS7000218: public client flows are disabled","error_codes":[7000218],"correlation_id":"c1"}"#;
    match DeviceAuthorizationResponse::parse(body) {
        Err(DeviceCodeError::OAuth(e)) => {
            assert_eq!(e.error, "invalid_client");
            assert_eq!(e.error_codes, vec![7000218]);
            assert_eq!(e.correlation_id.as_deref(), Some("c1"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn info_can_be_built_by_hand() {
    let info = DeviceCodeInfo::new(
        "CODE",
        Url::parse("https://microsoft.com/devicelogin").unwrap(),
        Duration::from_secs(900),
    );
    assert_eq!(info.interval, Duration::from_secs(5));
    assert!(info.display_message().contains("CODE"));
}

fn serde_json_like(fields: &[(&str, &str)]) -> String {
    let inner: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
    format!("{{{}}}", inner.join(","))
}
