//! Through a forward proxy (the harness's `TestProxy`, a real HTTP proxy on
//! loopback that records every request line): `--proxy`, the standard
//! variables and a profile's `proxy` key take the traffic through it (its
//! recorded lines prove it), `NO_PROXY` and `--proxy none` bypass it, a
//! refused or unreachable proxy is one line naming it (exit 1, one request),
//! and its password appears in no output (every `Run` is scanned for it).

use gong_logs_e2e::proxy::{self, ProxyMode, TestProxy, dead_port};
use gong_logs_e2e::*;

fn auth_proxy() -> TestProxy {
    TestProxy::start(ProxyMode::Auth {
        user: PROXY_USER.to_owned(),
        password: PROXY_PASSWORD.to_owned(),
    })
}

/// The proxy URL with the right credentials.
fn with_password(proxy: &TestProxy) -> String {
    proxy.url_with(PROXY_USER, PROXY_PASSWORD)
}

/// Every request of `sim` went through `proxy`, as an absolute-URI GET of
/// its base URL (plain http through a proxy), one line per request.
#[track_caller]
fn all_through(proxy: &TestProxy, sim: &TestSim) {
    let lines = proxy.lines();
    assert!(!lines.is_empty(), "nothing went through the proxy");
    assert_eq!(lines.len() as u64, sim.requests(), "{lines:#?}");
    let prefix = format!("GET {}/v2/logs?", sim.base_url());
    for line in &lines {
        assert!(line.starts_with(&prefix), "{line}");
    }
}

#[test]
fn the_proxy_flag_takes_every_request_through_the_proxy() {
    let sim = TestSim::small(30);
    let proxy = auth_proxy();
    let run = sim
        .fetch()
        .types("AccessLog")
        .args(["--proxy", &with_password(&proxy), "-vv"])
        .run();
    run.ok();
    assert_eq!(
        run.stdout,
        sim.expected_jsonl(&["AccessLog"], DATA_START, DATA_END)
    );
    all_through(&proxy, &sim);
}

#[test]
fn the_standard_variables_take_the_requests_through_the_proxy() {
    // The simulator is http://: HTTP_PROXY and ALL_PROXY apply (HTTPS_PROXY
    // is for https:// base URLs: see the CONNECT tests below).
    for var in ["ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy"] {
        let sim = TestSim::small(5);
        let proxy = auth_proxy();
        let run = sim
            .fetch()
            .types("AccessLog")
            .env(var, with_password(&proxy))
            .run();
        run.ok();
        all_through(&proxy, &sim);
    }
}

#[test]
fn https_proxy_is_used_for_https_base_urls_with_connect() {
    // No TLS is needed to see it: the proxy refuses the CONNECT.
    let proxy = TestProxy::start(ProxyMode::Refuse(403));
    let run = Cmd::new()
        .env("HTTPS_PROXY", with_password(&proxy))
        .env("GONG_BASE_URL", "https://127.0.0.1:9")
        .env("GONG_ACCESS_KEY", ACCESS_KEY)
        .env("GONG_ACCESS_KEY_SECRET", "sim-secret")
        .args(["fetch", "--type", "AccessLog", "--from", DATA_START])
        .args(["--to", DATA_END, "--concurrency", "1"])
        .run();
    run.code(1);
    assert_eq!(proxy.lines(), ["CONNECT 127.0.0.1:9 HTTP/1.1"]);
}

#[test]
fn a_profiles_proxy_is_used_and_the_flag_wins_over_it() {
    let sim = TestSim::small(5);
    let proxy = auth_proxy();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let text = format!("[default]\nproxy = \"{}\"\n", with_password(&proxy));
    std::fs::write(&config, text).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let fetch = || {
        let mut fetch = sim.fetch();
        fetch.types("AccessLog").env("GONG_LOGS_CONFIG", &config);
        fetch
    };
    fetch().run().ok();
    all_through(&proxy, &sim);
    // An environment proxy comes before the profile's.
    let dead = format!("http://127.0.0.1:{}", dead_port());
    fetch().env("ALL_PROXY", &dead).run().code(1);
    // --proxy none before both.
    let before = proxy.lines().len();
    fetch()
        .env("ALL_PROXY", &dead)
        .args(["--proxy", "none"])
        .run()
        .ok();
    assert_eq!(proxy.lines().len(), before);
}

#[test]
fn no_proxy_and_proxy_none_bypass_the_proxy() {
    let sim = TestSim::small(5);
    let proxy = auth_proxy();
    for (no_proxy, flag) in [(Some("127.0.0.1"), None), (None, Some("none"))] {
        let mut fetch = sim.fetch();
        fetch
            .types("AccessLog")
            .env("ALL_PROXY", with_password(&proxy));
        if let Some(value) = no_proxy {
            fetch.env("NO_PROXY", value);
        }
        if let Some(value) = flag {
            fetch.args(["--proxy", value]);
        }
        fetch.run().ok();
    }
    assert!(sim.requests() >= 2);
    assert_eq!(proxy.lines(), Vec::<String>::new());
}

/// A fetch through `proxy_url` to `base_url` (no simulator needed when the
/// proxy refuses).
fn fetch_via(proxy_url: &str, base_url: &str) -> Run {
    Cmd::new()
        .env("GONG_BASE_URL", base_url)
        .env("GONG_ACCESS_KEY", ACCESS_KEY)
        .env("GONG_ACCESS_KEY_SECRET", "sim-secret")
        .args(["fetch", "--type", "AccessLog", "--from", DATA_START])
        .args(["--to", DATA_END, "--proxy", proxy_url])
        // One chain: one first request (with more, each chain's first
        // request reaches the proxy before the first failure stops them).
        .args(["--concurrency", "1"])
        .run()
}

#[test]
fn a_wrong_proxy_password_is_one_407_error_naming_the_proxy() {
    let sim = TestSim::small(5);
    let proxy = auth_proxy();
    let host_port = format!("127.0.0.1:{}", proxy.port());
    // An echo of the wrong password would hold the right one.
    let wrong = proxy.url_with(PROXY_USER, &format!("{PROXY_PASSWORD}-WRONG"));
    // Plain http (an absolute-URI GET answered 407), then CONNECT.
    let https = format!("https://127.0.0.1:{}", dead_port());
    for (i, base_url) in [sim.base_url(), https].iter().enumerate() {
        let run = fetch_via(&wrong, base_url);
        run.code(1)
            .one_line_error(&format!("the proxy {host_port} "))
            .one_line_error("407")
            .one_line_error("proxy credentials");
        assert!(!run.stderr.contains("attempts"), "{}", run.stderr);
        assert_eq!(proxy.lines().len(), i + 1, "one request, not retried");
    }
    assert_eq!(sim.requests(), 0);
}

#[test]
fn a_refused_connect_is_one_error_naming_the_proxy() {
    for status in [403, 502] {
        let proxy = TestProxy::start(ProxyMode::Refuse(status));
        let run = fetch_via(&proxy.url(), "https://127.0.0.1:9");
        run.code(1)
            .one_line_error(&format!("the proxy 127.0.0.1:{} ", proxy.port()))
            .one_line_error("refused");
        assert_eq!(proxy.lines().len(), 1, "not retried");
    }
}

#[test]
fn a_dead_proxy_fails_fast_naming_it() {
    let sim = TestSim::small(5);
    let port = dead_port();
    let url = format!("http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{port}");
    for base_url in [sim.base_url(), "https://127.0.0.1:9".to_owned()] {
        let run = fetch_via(&url, &base_url);
        run.code(1)
            .one_line_error(&format!("could not connect to the proxy 127.0.0.1:{port}"))
            .one_line_error("--proxy");
        assert!(!run.stderr.contains("attempts"), "{}", run.stderr);
    }
    assert_eq!(sim.requests(), 0);
}

#[test]
fn unusable_proxy_settings_are_usage_errors() {
    let secret_url = format!("http://{PROXY_USER}:{PROXY_PASSWORD}@[bad:3128");
    for (value, needle) in [
        ("socks5://127.0.0.1:1080", "SOCKS"),
        ("ftp://127.0.0.1:21", "scheme"),
        (secret_url.as_str(), "--proxy"),
    ] {
        let sim = TestSim::small(1);
        let run = sim
            .fetch()
            .types("AccessLog")
            .args(["--proxy", value])
            .run();
        run.code(2).one_line_error(needle);
        assert_eq!(sim.requests(), 0);
    }
}

#[test]
fn doctor_says_how_it_got_out() {
    let sim = TestSim::small(5);
    let proxy = auth_proxy();
    let shown = format!("http://127.0.0.1:{}", proxy.port());
    let run = sim
        .cmd()
        .args(["doctor", "--proxy", &with_password(&proxy)])
        .run();
    run.ok();
    assert!(
        run.stdout.contains(&format!("proxy {shown} (from --proxy")),
        "{}",
        run.stdout
    );
    assert_eq!(proxy.lines().len(), 1);
    let run = sim
        .cmd()
        .env("http_proxy", with_password(&proxy))
        .args(["doctor"])
        .run();
    run.ok();
    assert!(
        run.stdout
            .contains(&format!("proxy {shown} (from http_proxy")),
        "{}",
        run.stdout
    );
    let run = sim
        .cmd()
        .env("ALL_PROXY", with_password(&proxy))
        .env("NO_PROXY", "localhost,127.0.0.1")
        .args(["doctor"])
        .run();
    run.ok();
    assert!(
        run.stdout.contains("direct (NO_PROXY matches 127.0.0.1)"),
        "{}",
        run.stdout
    );
    let run = sim.cmd().args(["doctor"]).run();
    run.ok();
    assert!(
        run.stdout.contains("direct (no proxy set)"),
        "{}",
        run.stdout
    );
    assert_eq!(proxy.lines().len(), 2);
}

#[test]
fn the_proxy_password_is_in_no_output() {
    // Every run is scanned for the password and its Basic form (Run::new);
    // here the runs that print the most: -vv and RUST_LOG=trace, --dry-run,
    // and errors that name the proxy.
    let sim = TestSim::small(5);
    let proxy = auth_proxy();
    let url = with_password(&proxy);
    let run = sim
        .fetch()
        .types("AccessLog")
        .args(["--proxy", &url, "-vv"])
        .env("RUST_LOG", "trace")
        .run();
    run.ok();
    assert!(run.stderr.contains("DEBUG"), "{}", run.stderr);
    let run = sim
        .fetch()
        .types("AccessLog")
        .args(["--proxy", &url, "--dry-run"])
        .run();
    run.ok();
    let run = sim
        .fetch()
        .types("AccessLog")
        .env("ALL_PROXY", &url)
        .args(["--dry-run"])
        .run();
    run.ok();
    // Refused by the server through the proxy.
    sim.fetch()
        .types("AccessLog")
        .args(["--proxy", &url])
        .env("GONG_ACCESS_KEY_SECRET", "not-the-secret")
        .run()
        .code(3);
}

#[test]
fn the_harness_proxy_tunnels_any_bytes_after_connect() {
    // What HTTPS through the proxy needs: after CONNECT, the bytes go both
    // ways untouched (here plain HTTP inside the tunnel, to the simulator).
    use std::io::{Read as _, Write as _};
    let sim = TestSim::small(1);
    let proxy = auth_proxy();
    let target = sim.base_url().trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", proxy.port())).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let auth = proxy::basic(PROXY_USER, PROXY_PASSWORD);
    write!(
        stream,
        "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nProxy-Authorization: Basic {auth}\r\n\r\n"
    )
    .unwrap();
    let mut answer = [0u8; 39];
    stream.read_exact(&mut answer).unwrap();
    assert_eq!(&answer[..], b"HTTP/1.1 200 Connection established\r\n\r\n");
    let query = format!("logType=AccessLog&fromDateTime={DATA_START}");
    write!(
        stream,
        "GET /v2/logs?{query} HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    // The simulator's own answer to a request without credentials.
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    assert_eq!(proxy.lines(), [format!("CONNECT {target} HTTP/1.1")]);
    assert_eq!(sim.requests(), 1);
}

#[test]
fn a_profile_with_proxy_credentials_must_be_private() {
    let sim = TestSim::small(1);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let url = format!("http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:9");
    std::fs::write(&config, format!("[default]\nproxy = \"{url}\"\n")).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = sim
        .fetch()
        .types("AccessLog")
        .env("GONG_LOGS_CONFIG", &config)
        .run();
    run.code(2).one_line_error("holds secrets");
    assert_eq!(sim.requests(), 0);
}

#[test]
fn the_readme_example_of_a_wrong_proxy_password() {
    // README, "Behind a proxy or TLS inspection": the same line, the
    // proxy's port and the server aside.
    let proxy = auth_proxy();
    let port = proxy.port();
    // The proxy answers before connecting anywhere: no DNS, no Gong.
    let run = Cmd::new()
        .env("GONG_BASE_URL", "https://company-17.api.gong.io")
        .env("GONG_ACCESS_KEY", ACCESS_KEY)
        .env("GONG_ACCESS_KEY_SECRET", "sim-secret")
        .args(["fetch", "-t", "AccessLog", "--since", "1h", "--proxy"])
        .args([format!("http://me:wrong@127.0.0.1:{port}")])
        .args(["--concurrency", "1"])
        .run();
    run.code(1);
    let readme = include_str!("../../../README.md");
    let example = readme
        .lines()
        .find(|l| l.contains("refused the request: HTTP 407"))
        .expect("the README's example")
        .replace("127.0.0.1:3128", &format!("127.0.0.1:{port}"));
    assert_eq!(run.stderr.trim_end(), example);
    assert_eq!(
        proxy.lines(),
        ["CONNECT company-17.api.gong.io:443 HTTP/1.1"]
    );
}
