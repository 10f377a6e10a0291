//! Helpers shared by the fuzz targets in `fuzz_targets/`.

use url::Url;

/// Whether `url` is what msal-rs may talk to: `https` with a host, or `http` to a loopback host
/// (`localhost`, 127.0.0.0/8, `[::1]`). Written independently of msal-core's own check.
pub fn is_https_or_loopback_http(url: &Url) -> bool {
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => match url.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.octets()[0] == 127,
            Some(url::Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::LOCALHOST,
            None => false,
        },
        _ => false,
    }
}

/// The bytes token-like text is made of (base64url, JWT dots, base64 padding and `+/`).
pub fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '+' | '/' | '=')
}

/// The longest run of token-like characters in `text`.
pub fn longest_token_run(text: &str) -> usize {
    let (mut best, mut run) = (0, 0);
    for c in text.chars() {
        if is_token_char(c) {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

/// A non-empty replacement for a secret that differs from `original`.
pub fn replacement_for(original: &str) -> String {
    let r = "\u{2603}fuzz-replacement\u{2603}";
    if original == r {
        "\u{2603}other\u{2603}".to_owned()
    } else {
        r.to_owned()
    }
}

/// Split `data` at the first occurrence of `sep`: (before, after). No separator: (data, empty).
pub fn split_at_byte(data: &[u8], sep: u8) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == sep) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}
