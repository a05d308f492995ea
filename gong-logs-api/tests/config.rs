//! Client construction: base URLs, secrets in Debug output.

use gong_logs_api::{BaseUrl, ClientConfig, ConfigError, Credentials, GongClient};

#[test]
fn base_urls() {
    let ok = [
        "https://api.gong.io",
        "https://company-17.api.gong.io/",
        "http://127.0.0.1:8080",
        "http://localhost:1",
        "http://[::1]:9",
        "https://proxy.example.com/gong",
    ];
    for url in ok {
        let base_url = BaseUrl::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert!(!base_url.as_str().ends_with('/'));
        let client = GongClient::new(ClientConfig::new(base_url, Credentials::bearer("t")));
        assert!(client.is_ok(), "{url}: {:?}", client.err());
        assert!(!client.unwrap().base_url().ends_with('/'));
    }
    let bad = [
        (
            "http://api.gong.io",
            "refusing plain http:// to api.gong.io",
        ),
        ("http://10.0.0.1", "refusing plain http://"),
        ("ftp://api.gong.io", "scheme ftp:// is not http(s)"),
        ("api.gong.io", "invalid base URL"),
        (
            "https://user:pw@api.gong.io",
            "credentials in the URL are not allowed",
        ),
        ("https://api.gong.io/?x=1", "no query or fragment"),
        ("", "invalid base URL"),
    ];
    for (url, expected) in bad {
        let err = BaseUrl::parse(url).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(expected), "{url}: {text}");
        assert!(!text.contains("pw@"), "{text}");
        if url.starts_with("http://1") || url == "http://api.gong.io" {
            assert!(matches!(err, ConfigError::InsecureBaseUrl { .. }));
        }
    }
}

#[test]
fn secrets_never_in_debug() {
    let basic = Credentials::basic("AKEY", "TOPSECRET");
    let bearer = Credentials::bearer("BEARERTOKEN");
    for creds in [basic, bearer] {
        let config = ClientConfig::new("https://api.gong.io".parse().unwrap(), creds.clone());
        let client = GongClient::new(config.clone()).unwrap();
        for text in [
            format!("{creds:?}"),
            format!("{config:?}"),
            format!("{client:?}"),
            format!("{client:#?}"),
        ] {
            assert!(!text.contains("TOPSECRET"), "{text}");
            assert!(!text.contains("BEARERTOKEN"), "{text}");
            // base64 of "AKEY:TOPSECRET"
            assert!(!text.contains("QUtFWTpUT1BTRUNSRVQ"), "{text}");
        }
    }
}

#[test]
fn credentials_with_newlines_are_refused() {
    let err = GongClient::new(ClientConfig::new(
        "https://api.gong.io".parse().unwrap(),
        Credentials::bearer("tok\nen"),
    ))
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the Bearer credentials contain characters not allowed in an HTTP header"
    );
}

/// The crypto provider is the client's own: building clients (https and
/// http) installs nothing process-wide.
#[test]
fn no_process_wide_crypto_provider() {
    for url in ["https://api.gong.io", "http://127.0.0.1:9"] {
        GongClient::new(ClientConfig::new(
            url.parse().unwrap(),
            Credentials::bearer("t"),
        ))
        .unwrap();
    }
    assert!(rustls::crypto::CryptoProvider::get_default().is_none());
}
