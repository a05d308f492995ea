//! The simulator's OAuth endpoints over loopback HTTP.

use std::collections::HashMap;
use std::time::Duration;

use gong_logs_sim::{SimConfig, Simulator};
use serde_json::Value;

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

async fn refresh(sim: &Simulator, rt: &str) -> (u16, Value) {
    let r = client()
        .post(format!("{}/oauth2/generate-customer-token", sim.base_url()))
        .query(&[("grant_type", "refresh_token"), ("refresh_token", rt)])
        .basic_auth("sim-client-id", Some("sim-client-secret"))
        .send()
        .await
        .expect("send");
    (r.status().as_u16(), r.json().await.expect("json"))
}

async fn logs_status(sim: &Simulator, at: &str) -> u16 {
    client()
        .get(format!("{}/v2/logs", sim.base_url()))
        .query(&[
            ("logType", "AccessLog"),
            ("fromDateTime", "2024-01-01T00:00:00Z"),
        ])
        .bearer_auth(at)
        .send()
        .await
        .expect("send")
        .status()
        .as_u16()
}

#[tokio::test]
async fn refresh_tokens_rotate_and_are_single_use() {
    let sim = Simulator::start(SimConfig {
        oauth_refresh_token: Some("sim-rt-start".into()),
        ..SimConfig::testing(1, 10)
    })
    .await
    .expect("sim");
    let (status, body) = refresh(&sim, "sim-rt-start").await;
    assert_eq!(status, 200, "{body}");
    let at = body["access_token"].as_str().expect("at");
    let rt = body["refresh_token"].as_str().expect("rt");
    assert!(at.starts_with("sim-at-") && rt.starts_with("sim-rt-"));
    assert_eq!(body["scope"], "api:logs:read");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["api_base_url_for_customer"], sim.base_url());
    assert_eq!(logs_status(&sim, at).await, 200);
    assert_eq!(logs_status(&sim, "sim-at-unknown").await, 401);
    let (status, body) = refresh(&sim, "sim-rt-start").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(
        body["error_description"],
        "Token has been expired or revoked."
    );
    let (status, _) = refresh(&sim, rt).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn authorize_redirects_with_a_single_use_code() {
    let sim = Simulator::start(SimConfig {
        token_ttl: Duration::ZERO,
        ..SimConfig::testing(1, 10)
    })
    .await
    .expect("sim");
    let r = client()
        .get(format!("{}/oauth2/authorize", sim.base_url()))
        .query(&[
            ("client_id", "sim-client-id"),
            ("response_type", "code"),
            ("redirect_uri", "http://127.0.0.1:9/callback"),
            ("state", "s 1"),
        ])
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 302);
    let loc = r.headers()["location"].to_str().expect("loc").to_owned();
    let url = reqwest::Url::parse(&loc).expect("url");
    let q: HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["state"], "s 1");
    let code = &q["code"];
    assert!(code.starts_with("sim-code-"));
    let exchange = |secret: &'static str| {
        client()
            .post(format!("{}/oauth2/generate-customer-token", sim.base_url()))
            .query(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
            ])
            .basic_auth("sim-client-id", Some(secret))
            .send()
    };
    assert_eq!(
        exchange("wrong").await.expect("send").status().as_u16(),
        401
    );
    let r = exchange("sim-client-secret").await.expect("send");
    assert_eq!(r.status().as_u16(), 200);
    let body: Value = r.json().await.expect("json");
    // A zero TTL: the access token has expired as soon as it is issued.
    assert_eq!(
        logs_status(&sim, body["access_token"].as_str().expect("at")).await,
        401
    );
    assert_eq!(logs_status(&sim, "sim-bearer-token").await, 200);
    let r = exchange("sim-client-secret").await.expect("send");
    assert_eq!(r.status().as_u16(), 400);
}
