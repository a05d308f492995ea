//! HTTPS end to end: the simulator serving TLS with certificates made at
//! test time (a CA, a leaf for localhost/127.0.0.1, one for another name,
//! an expired one); private CAs by --ca-cert, GONG_CA_CERT and a profile's
//! ca_cert; refused certificates as one line, exit 1, not retried.

use std::io::{Read as _, Write as _};

use gong_logs_e2e::*;
use gong_logs_sim::SimConfig;

fn https(leaf: Leaf) -> TestSim {
    TestSim::https(SimConfig::testing(7, 30), leaf)
}

fn expected(sim: &TestSim) -> String {
    sim.expected_jsonl(&["AccessLog"], DATA_START, DATA_END)
}

#[test]
fn fetch_over_https_trusts_the_ca_of_gong_ca_cert() {
    let sim = https(Leaf::Valid);
    assert!(sim.base_url().starts_with("https://"));
    let run = sim.fetch().types("AccessLog").run();
    run.ok();
    assert_eq!(run.stdout, expected(&sim));
}

#[test]
fn ca_cert_flag_and_profile_key_are_read() {
    let sim = https(Leaf::Valid);
    let ca = sim.ca().path();
    let mut fetch = sim.fetch();
    fetch
        .types("AccessLog")
        .args(["--ca-cert".as_ref(), ca.as_os_str()]);
    fetch.cmd().env_remove("GONG_CA_CERT");
    let run = fetch.run();
    run.ok();
    assert_eq!(run.stdout, expected(&sim));

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!("[default]\nca_cert = {:?}\n", ca.display().to_string()),
    )
    .unwrap();
    let mut fetch = sim.fetch();
    fetch.types("AccessLog");
    fetch
        .cmd()
        .env_remove("GONG_CA_CERT")
        .env("GONG_LOGS_CONFIG", &config);
    let run = fetch.run();
    run.ok();
    assert_eq!(run.stdout, expected(&sim));
}

#[test]
fn an_untrusted_ca_is_one_line_naming_the_issuer_and_not_retried() {
    let sim = https(Leaf::Valid);
    let mut fetch = sim.fetch();
    fetch.types("AccessLog");
    fetch.cmd().env_remove("GONG_CA_CERT");
    let run = fetch.run();
    run.code(1).one_line_error(
        "the certificate of 127.0.0.1 is not trusted (issuer: CN=gong-logs test CA): if your network inspects TLS, pass its CA with --ca-cert FILE",
    );
    assert!(!run.stderr.contains("attempts"), "retried: {}", run.stderr);
    assert_eq!(sim.requests(), 0);
}

#[test]
fn a_certificate_for_another_name_is_refused() {
    let sim = https(Leaf::WrongName);
    let run = sim.fetch().types("AccessLog").run();
    run.code(1)
        .one_line_error("is not for 127.0.0.1 (subject: CN=other.example): check the base URL");
    assert!(!run.stderr.contains("attempts"), "retried: {}", run.stderr);
}

#[test]
fn an_expired_certificate_is_refused() {
    let sim = https(Leaf::Expired);
    let run = sim.fetch().types("AccessLog").run();
    run.code(1).one_line_error(
        "the certificate of 127.0.0.1 has expired or is not valid yet (valid until 2021-01-01T00:00:00Z): check this machine's clock",
    );
    assert!(!run.stderr.contains("attempts"), "retried: {}", run.stderr);
}

#[test]
fn a_ca_bundle_that_cannot_be_used_is_a_usage_error_naming_its_setting() {
    let sim = https(Leaf::Valid);
    let not_pem = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(not_pem.path(), "hello\n").unwrap();
    let mut fetch = sim.fetch();
    fetch
        .types("AccessLog")
        .args(["--ca-cert", "/nonexistent/ca.pem"]);
    fetch
        .run()
        .code(2)
        .one_line_error("cannot use the CA bundle /nonexistent/ca.pem: cannot read it");
    let mut fetch = sim.fetch();
    fetch.types("AccessLog");
    fetch.cmd().env("GONG_CA_CERT", not_pem.path());
    fetch.run().code(2).one_line_error(
        "holds no PEM certificate (-----BEGIN CERTIFICATE-----) (from GONG_CA_CERT)",
    );
    assert_eq!(sim.requests(), 0);
}

/// Measured: the platform verifier on Linux reads SSL_CERT_FILE (and
/// SSL_CERT_DIR) instead of the system store.
#[test]
fn ssl_cert_file_replaces_the_store_and_must_name_a_file() {
    let sim = https(Leaf::Valid);
    let mut fetch = sim.fetch();
    fetch.types("AccessLog");
    fetch
        .cmd()
        .env_remove("GONG_CA_CERT")
        .env("SSL_CERT_FILE", sim.ca().path());
    let run = fetch.run();
    run.ok();
    assert_eq!(run.stdout, expected(&sim));

    let mut fetch = sim.fetch();
    fetch.types("AccessLog");
    fetch.cmd().env("SSL_CERT_FILE", "/nonexistent.pem");
    fetch
        .run()
        .code(2)
        .one_line_error("SSL_CERT_FILE=/nonexistent.pem cannot be read");
}

/// A server that answers every ClientHello with a fatal protocol_version
/// alert (one that refuses TLS 1.2 and 1.3).
fn refusing_server() -> (String, std::thread::JoinHandle<u32>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let mut handshakes = 0;
        listener.set_nonblocking(false).unwrap();
        // Two connections at most are expected; the test ends after one.
        if let Ok((mut stream, _)) = listener.accept() {
            handshakes += 1;
            let mut buf = [0u8; 512];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]);
        }
        handshakes
    });
    (url, handle)
}

#[test]
fn a_tls_version_the_server_refuses_is_one_line() {
    let (url, server) = refusing_server();
    let mut cmd = Cmd::new();
    cmd.env("GONG_BASE_URL", &url)
        .env("GONG_ACCESS_KEY", ACCESS_KEY)
        .env("GONG_ACCESS_KEY_SECRET", "sim-secret");
    let run = Fetch::new(cmd).types("AccessLog").run();
    run.code(1)
        .one_line_error("share no TLS version or cipher suite (gong-logs speaks TLS 1.2 and 1.3)");
    assert!(!run.stderr.contains("attempts"), "retried: {}", run.stderr);
    assert_eq!(server.join().unwrap(), 1);
}

#[test]
fn doctor_over_https_shows_the_ca_sources_version_and_certificate() {
    let sim = https(Leaf::Valid);
    let ca = sim.ca().path();
    let run = sim.cmd().args(["doctor"]).run();
    run.ok();
    let line = |what: &str| {
        run.stdout
            .lines()
            .find(|l| l.get(6..).is_some_and(|rest| rest.starts_with(what)))
            .unwrap_or_else(|| panic!("no {what} line:\n{}", run.stdout))
            .to_owned()
    };
    assert_eq!(
        line("CA certificates"),
        format!(
            "      CA certificates     the system store + {} (1 certificate, from GONG_CA_CERT)",
            ca.display()
        )
    );
    assert_eq!(
        line("TLS "),
        "ok    TLS                 TLS 1.3, server certificate verified: subject CN=localhost, issuer CN=gong-logs test CA, valid until 4096-01-01T00:00:00Z"
    );
}

#[test]
fn doctor_names_an_untrusted_issuer() {
    let sim = https(Leaf::Valid);
    let mut cmd = sim.cmd();
    cmd.args(["doctor"]).env_remove("GONG_CA_CERT");
    let run = cmd.run();
    run.code(1).one_line_error(
        "the certificate of 127.0.0.1 is not trusted (issuer: CN=gong-logs test CA): if your network inspects TLS, pass its CA with --ca-cert FILE",
    );
    assert!(
        run.stdout
            .contains("FAIL  TLS                 the certificate of 127.0.0.1 is not trusted"),
        "{}",
        run.stdout
    );
}
