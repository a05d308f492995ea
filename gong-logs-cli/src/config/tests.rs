//! Unit tests of the profiles and the resolution of the connection.

use super::file::redact_values;
use super::*;
use std::collections::HashMap;

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned().filter(|v| !v.is_empty())
}

fn write_config(text: &str, mode: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    dir
}

#[test]
fn precedence_flags_env_profile() {
    let dir = write_config(
        "[default]\nbase_url = \"https://p.api.gong.io\"\naccess_key = \"pk\"\naccess_key_secret = \"ps\"\n",
        0o600,
    );
    let cfg = dir.path().join("config.toml");
    let cfg = cfg.to_str().unwrap();
    let env = env_of(&[("GONG_LOGS_CONFIG", cfg)]);
    let c = resolve(&ConnectionFlags::default(), &env).unwrap();
    assert_eq!(c.base_url.as_str(), "https://p.api.gong.io");
    assert_eq!(c.credentials, Credentials::basic("pk", "ps"));

    let env = env_of(&[
        ("GONG_LOGS_CONFIG", cfg),
        ("GONG_BASE_URL", "https://e.api.gong.io/"),
        ("GONG_BEARER_TOKEN", "et"),
    ]);
    let c = resolve(&ConnectionFlags::default(), &env).unwrap();
    assert_eq!(c.base_url.as_str(), "https://e.api.gong.io");
    assert_eq!(c.credentials, Credentials::bearer("et"));

    let flags = ConnectionFlags {
        base_url: Some("http://127.0.0.1:9".into()),
        access_key: Some("fk".into()),
        access_key_secret: Some("fs".into()),
        ..Default::default()
    };
    let c = resolve(&flags, &env).unwrap();
    assert_eq!(c.base_url.as_str(), "http://127.0.0.1:9");
    assert_eq!(c.credentials, Credentials::basic("fk", "fs"));
    assert_eq!(c.warnings.len(), 1);
}

#[test]
fn parse_errors_never_echo_values() {
    let dir = write_config("[default]\naccess_key_secret = 987654321\n", 0o600);
    let cfg = dir.path().join("config.toml");
    let env = env_of(&[("GONG_LOGS_CONFIG", cfg.to_str().unwrap())]);
    let e = resolve(&ConnectionFlags::default(), &env).unwrap_err();
    assert_eq!(e.code, crate::exit::USAGE);
    assert!(!e.message().contains("987654321"), "{}", e.message());
    assert!(e.message().contains("line 2"), "{}", e.message());
    assert_eq!(
        redact_values("unknown field `tok3n`, expected one of `base_url`, `bearer_token`"),
        "unknown field a value, expected one of `base_url`, `bearer_token`"
    );
    assert_eq!(
        redact_values("expected `=` near \"sekrit"),
        "expected `=` near "
    );
}

#[test]
fn refusals() {
    let none = env_of(&[("HOME", "/nonexistent-home")]);
    let e = resolve(&ConnectionFlags::default(), &none).unwrap_err();
    assert_eq!(e.code, crate::exit::AUTH);

    let env = env_of(&[("GONG_ACCESS_KEY", "k"), ("GONG_BEARER_TOKEN", "tok-t")]);
    assert_eq!(
        resolve(&ConnectionFlags::default(), &env).unwrap_err().code,
        crate::exit::USAGE
    );

    let env = env_of(&[("GONG_ACCESS_KEY", "k")]);
    assert_eq!(
        resolve(&ConnectionFlags::default(), &env).unwrap_err().code,
        crate::exit::AUTH
    );

    let env = env_of(&[
        ("GONG_BEARER_TOKEN", "tok-t"),
        ("GONG_BASE_URL", "http://example.com"),
    ]);
    assert_eq!(
        resolve(&ConnectionFlags::default(), &env).unwrap_err().code,
        crate::exit::USAGE
    );

    let dir = write_config("[default]\nbearer_token = \"s3cr3t\"\n", 0o640);
    let cfg = dir.path().join("config.toml");
    let env = env_of(&[("GONG_LOGS_CONFIG", cfg.to_str().unwrap())]);
    let e = resolve(&ConnectionFlags::default(), &env).unwrap_err();
    assert_eq!(e.code, crate::exit::USAGE);
    assert!(e.message().contains("chmod 600"), "{}", e.message());

    let dir = write_config("[default\nbearer_token = \"s3cr3t\"\n", 0o600);
    let cfg = dir.path().join("config.toml");
    let env = env_of(&[("GONG_LOGS_CONFIG", cfg.to_str().unwrap())]);
    let e = resolve(&ConnectionFlags::default(), &env).unwrap_err();
    assert_eq!(e.code, crate::exit::USAGE);
    assert!(!e.message().contains("s3cr3t"), "{}", e.message());

    let flags = ConnectionFlags {
        profile: Some("nope".into()),
        ..Default::default()
    };
    let dir = write_config("[default]\nbase_url = \"https://a.gong.io\"\n", 0o644);
    let cfg = dir.path().join("config.toml");
    let env = env_of(&[("GONG_LOGS_CONFIG", cfg.to_str().unwrap())]);
    let e = resolve(&flags, &env).unwrap_err();
    assert_eq!(e.code, crate::exit::USAGE);
    assert!(e.message().contains("default"), "{}", e.message());
}
