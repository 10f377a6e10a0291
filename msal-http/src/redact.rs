//! Helpers that keep secrets out of logs and error messages.

/// Render a URI as `scheme://host[:port]/path`: no user info, no query, no fragment.
///
/// What an [`HttpClient`](crate::HttpClient) may show of a request's URL in an error or a log
/// line: the query string and the user info can hold secrets (an authorization code, a
/// password).
pub fn redacted_uri(uri: &http::Uri) -> String {
    let mut out = String::new();
    if let Some(scheme) = uri.scheme_str() {
        out.push_str(scheme);
        out.push_str("://");
    }
    if let Some(authority) = uri.authority() {
        // `Authority::as_str` may hold `user:password@`; host + port never do.
        out.push_str(authority.host());
        if let Some(port) = authority.port_u16() {
            out.push(':');
            out.push_str(&port.to_string());
        }
    }
    out.push_str(uri.path());
    out
}

/// Remove every occurrence of the URI's query string (and user info) from `message`.
///
/// Defence in depth for messages built from third-party errors, which should already
/// carry no URL.
#[cfg_attr(not(feature = "reqwest"), allow(dead_code))]
pub(crate) fn scrub(message: String, uri: &http::Uri) -> String {
    let mut message = message;
    if let Some(query) = uri.query().filter(|q| !q.is_empty()) {
        if message.contains(query) {
            message = message.replace(query, "[redacted]");
        }
    }
    if let Some(authority) = uri.authority() {
        if let Some((user_info, _)) = authority.as_str().rsplit_once('@') {
            if !user_info.is_empty() && message.contains(user_info) {
                message = message.replace(user_info, "[redacted]");
            }
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_uri_drops_query_and_user_info() {
        let uri: http::Uri = "https://user:pw@login.example.com:8443/t/oauth2/token?code=SECRET"
            .parse()
            .unwrap();
        let shown = redacted_uri(&uri);
        assert_eq!(shown, "https://login.example.com:8443/t/oauth2/token");
    }

    #[test]
    fn scrub_removes_query() {
        let uri: http::Uri = "https://h/p?code=SECRET".parse().unwrap();
        let msg = scrub("failed for https://h/p?code=SECRET".to_owned(), &uri);
        assert!(!msg.contains("SECRET"));
    }
}
