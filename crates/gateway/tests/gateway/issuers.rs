//! Trusted external issuers against a stand-in OpenID provider: Entra-shaped v1/v2 tokens,
//! tenant rules, key rotation, a flood of unknown kids, and provider outages.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_gateway::config::GatewayConfig;
use gatehouse_gateway::jwks::KeyCacheSettings;
use gatehouse_gateway::{Decision, Denial, Gateway};
use gatehouse_token::{Algorithm, JwkSet, Reason, SigningKey, UnixTime};
use serde_json::{Map, Value, json};

use crate::support::serve;

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const OTHER_TENANT: &str = "11111111-2222-3333-4444-555555555555";
const NOW: i64 = 1_800_000_000;

/// A stand-in provider: discovery + JWKS, switchable keys and outage, request counting.
struct Provider {
    jwks: Mutex<String>,
    down: AtomicBool,
    jwks_hits: AtomicU64,
}

impl Provider {
    async fn start(keys: &[&SigningKey]) -> (Arc<Self>, SocketAddr) {
        let provider = Arc::new(Self {
            jwks: Mutex::new(String::new()),
            down: AtomicBool::new(false),
            jwks_hits: AtomicU64::new(0),
        });
        provider.publish(keys, None);
        let router = Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(
                    |State(p): State<Arc<Provider>>, headers: HeaderMap| async move {
                        if p.down.load(Ordering::SeqCst) {
                            return StatusCode::SERVICE_UNAVAILABLE.into_response();
                        }
                        let host = headers["host"].to_str().unwrap().to_owned();
                        axum::Json(json!({
                            "issuer": "https://login.microsoftonline.com/{tenantid}/v2.0",
                            "jwks_uri": format!("http://{host}/discovery/v2.0/keys"),
                        }))
                        .into_response()
                    },
                ),
            )
            .route(
                "/discovery/v2.0/keys",
                get(|State(p): State<Arc<Provider>>| async move {
                    p.jwks_hits.fetch_add(1, Ordering::SeqCst);
                    if p.down.load(Ordering::SeqCst) {
                        return StatusCode::SERVICE_UNAVAILABLE.into_response();
                    }
                    let body = p.jwks.lock().unwrap().clone();
                    let mut response = body.into_response();
                    response
                        .headers_mut()
                        .insert("cache-control", HeaderValue::from_static("max-age=3600"));
                    response
                }),
            )
            .with_state(Arc::clone(&provider));
        let addr = serve(router).await;
        (provider, addr)
    }

    /// Publishes these keys; `key_issuer` adds Entra's per-key `issuer` member.
    fn publish(&self, keys: &[&SigningKey], key_issuer: Option<&str>) {
        let set = JwkSet {
            keys: keys
                .iter()
                .map(|k| {
                    let mut jwk = k.public_jwk().unwrap();
                    if let Some(issuer) = key_issuer {
                        jwk.other.insert("issuer".into(), issuer.into());
                    }
                    jwk
                })
                .collect(),
        };
        *self.jwks.lock().unwrap() = serde_json::to_string(&set).unwrap();
    }
}

fn entra_config(provider: SocketAddr) -> GatewayConfig {
    let toml = format!(
        r#"
        [[routes]]
        path = "/api/reports"
        upstream = "http://127.0.0.1:9"
        allow = {{ roles_any = ["Admin"], issuers = ["entra"] }}

        [[routes]]
        path = "/api/any"
        upstream = "http://127.0.0.1:9"

        [[issuers]]
        name = "entra"
        issuer = ["https://login.microsoftonline.com/{{tenantid}}/v2.0", "https://sts.windows.net/{{tenantid}}/"]
        tenants = ["{TENANT}", "{OTHER_TENANT}"]
        discovery_url = "http://{provider}/.well-known/openid-configuration"
        audiences = ["api://my-api", "6e74172b-be56-4843-9ff4-e66a39bb12e3"]
        claims = {{ subject = "oid" }}
        map_roles = {{ "group-oid-1" = "Admin" }}
        "#
    );
    toml::from_str(&toml).unwrap()
}

fn gateway(config: &GatewayConfig, min_refresh: Duration) -> Gateway {
    let mut config = config.clone();
    config.issuers[0].min_refresh_interval = min_refresh;
    Gateway::new(
        &config,
        None,
        reqwest::Client::new(),
        KeyCacheSettings::default(),
    )
    .unwrap()
}

fn v2_claims(tenant: &str) -> Map<String, Value> {
    json!({
        "aud": "6e74172b-be56-4843-9ff4-e66a39bb12e3",
        "iss": format!("https://login.microsoftonline.com/{tenant}/v2.0"),
        "iat": NOW - 60, "nbf": NOW - 60, "exp": NOW + 3600,
        "oid": "12345678-1234-1234-1234-123456789abc",
        "preferred_username": "john.doe@example.com",
        "roles": ["Reader"],
        "groups": ["group-oid-1", "group-oid-2"],
        "scp": "access_as_user",
        "tid": tenant,
        "ver": "2.0",
    })
    .as_object()
    .cloned()
    .unwrap()
}

fn v1_claims(tenant: &str) -> Map<String, Value> {
    let mut claims = v2_claims(tenant);
    claims.insert("aud".into(), "api://my-api".into());
    claims.insert(
        "iss".into(),
        format!("https://sts.windows.net/{tenant}/").into(),
    );
    claims.insert("ver".into(), "1.0".into());
    claims
}

fn bearer(token: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    headers
}

async fn decide<'a>(gateway: &'a Gateway, path: &str, token: &str) -> Decision<'a> {
    gateway
        .decide(&Method::GET, path, &bearer(token), UnixTime::from_secs(NOW))
        .await
}

fn rs256() -> SigningKey {
    SigningKey::generate(Algorithm::Rs256).unwrap()
}

#[tokio::test]
async fn entra_v1_and_v2_tokens_of_an_allowed_tenant_are_accepted() {
    let key = rs256();
    let (_provider, addr) = Provider::start(&[&key]).await;
    let gateway = gateway(&entra_config(addr), Duration::from_secs(30));
    gateway.prefetch_keys().await;
    for claims in [v2_claims(TENANT), v1_claims(TENANT)] {
        let token = key.sign(Some("JWT"), &claims).unwrap();
        let Decision::Allow {
            subject: Some(subject),
            ..
        } = decide(&gateway, "/api/reports/q3", &token).await
        else {
            panic!("expected Allow for {:?}", claims["iss"]);
        };
        assert_eq!(subject.id, "12345678-1234-1234-1234-123456789abc");
        assert_eq!(subject.issuer.as_str(), "entra");
        assert!(subject.roles.contains("Admin"), "mapped from group-oid-1");
    }
}

#[tokio::test]
async fn a_missing_role_is_forbidden_and_named() {
    let key = rs256();
    let (_provider, addr) = Provider::start(&[&key]).await;
    let gateway = gateway(&entra_config(addr), Duration::from_secs(30));
    let mut claims = v2_claims(TENANT);
    claims.insert("groups".into(), json!([]));
    let token = key.sign(Some("JWT"), &claims).unwrap();
    let Decision::Forbidden { missing, .. } = decide(&gateway, "/api/reports", &token).await else {
        panic!("expected Forbidden");
    };
    assert_eq!(missing.describe(), "roles_any=Admin");
}

#[tokio::test]
async fn a_groups_overage_is_an_explicit_refusal() {
    let key = rs256();
    let (_provider, addr) = Provider::start(&[&key]).await;
    let gateway = gateway(&entra_config(addr), Duration::from_secs(30));
    let mut claims = v2_claims(TENANT);
    claims.remove("groups");
    claims.insert("_claim_names".into(), json!({ "groups": "src1" }));
    claims.insert("_claim_sources".into(), json!({ "src1": { "endpoint": "https://graph.microsoft.com/v1.0/users/x/getMemberObjects" } }));
    let token = key.sign(Some("JWT"), &claims).unwrap();
    let Decision::Forbidden { missing, .. } = decide(&gateway, "/api/reports", &token).await else {
        panic!("expected Forbidden");
    };
    assert!(missing.groups_overage);
}

#[tokio::test]
async fn tenant_rules_refuse_foreign_and_inconsistent_tokens() {
    let key = rs256();
    let (_provider, addr) = Provider::start(&[&key]).await;
    let gateway = gateway(&entra_config(addr), Duration::from_secs(30));

    let stranger = "99999999-9999-9999-9999-999999999999";
    let token = key.sign(Some("JWT"), &v2_claims(stranger)).unwrap();
    assert!(matches!(
        decide(&gateway, "/api/any", &token).await,
        Decision::Unauthenticated(Denial::UnknownIssuer)
    ));

    let mut mixed = v2_claims(TENANT);
    mixed.insert("tid".into(), OTHER_TENANT.into());
    let token = key.sign(Some("JWT"), &mixed).unwrap();
    assert!(matches!(
        decide(&gateway, "/api/any", &token).await,
        Decision::Unauthenticated(Denial::TenantNotAllowed(_))
    ));
}

#[tokio::test]
async fn a_key_that_names_its_issuer_signs_for_no_other_tenant() {
    let key = rs256();
    let (provider, addr) = Provider::start(&[&key]).await;
    provider.publish(
        &[&key],
        Some(&format!("https://login.microsoftonline.com/{TENANT}/v2.0")),
    );
    let gateway = gateway(&entra_config(addr), Duration::from_secs(30));
    let own = key.sign(Some("JWT"), &v1_claims(TENANT)).unwrap();
    assert!(matches!(
        decide(&gateway, "/api/any", &own).await,
        Decision::Allow { .. }
    ));
    let foreign = key.sign(Some("JWT"), &v2_claims(OTHER_TENANT)).unwrap();
    assert!(matches!(
        decide(&gateway, "/api/any", &foreign).await,
        Decision::Unauthenticated(Denial::KeyIssuerMismatch)
    ));
}

#[tokio::test]
async fn wrong_audience_and_expired_tokens_are_refused_with_their_reason() {
    let key = rs256();
    let (_provider, addr) = Provider::start(&[&key]).await;
    let gateway = gateway(&entra_config(addr), Duration::from_secs(30));
    let mut claims = v2_claims(TENANT);
    claims.insert("aud".into(), "api://someone-else".into());
    let token = key.sign(Some("JWT"), &claims).unwrap();
    let Decision::Unauthenticated(Denial::Token(rejection)) =
        decide(&gateway, "/api/any", &token).await
    else {
        panic!("expected a token rejection");
    };
    assert_eq!(rejection.reason, Reason::WrongAudience);

    let mut claims = v2_claims(TENANT);
    claims.insert("exp".into(), (NOW - 3600).into());
    let token = key.sign(Some("JWT"), &claims).unwrap();
    let Decision::Unauthenticated(Denial::Token(rejection)) =
        decide(&gateway, "/api/any", &token).await
    else {
        panic!("expected a token rejection");
    };
    assert_eq!(rejection.reason, Reason::Expired);
}

#[tokio::test]
async fn a_graph_token_is_refused_with_a_diagnostic() {
    let key = rs256();
    let (_provider, addr) = Provider::start(&[&key]).await;
    let gateway = gateway(&entra_config(addr), Duration::from_secs(30));
    let header = URL_SAFE_NO_PAD.encode(r#"{"typ":"JWT","nonce":"x1","alg":"RS256","kid":"k"}"#);
    let mut claims = v2_claims(TENANT);
    claims.insert("aud".into(), "00000003-0000-0000-c000-000000000000".into());
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    let token = format!("{header}.{payload}.c2lnbmF0dXJl");
    let Decision::Unauthenticated(denial) = decide(&gateway, "/api/any", &token).await else {
        panic!("expected a denial");
    };
    assert_eq!(denial, Denial::GraphToken);
    assert!(denial.description().contains("own scope"));
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_on_its_first_token() {
    let old = rs256();
    let new = SigningKey::generate(Algorithm::Es256).unwrap();
    let (provider, addr) = Provider::start(&[&old]).await;
    let gateway = gateway(&entra_config(addr), Duration::ZERO);
    gateway.prefetch_keys().await;
    provider.publish(&[&old, &new], None);
    let token = new.sign(Some("JWT"), &v2_claims(TENANT)).unwrap();
    assert!(matches!(
        decide(&gateway, "/api/any", &token).await,
        Decision::Allow { .. }
    ));
    assert_eq!(
        provider.jwks_hits.load(Ordering::SeqCst),
        2,
        "start-up fetch + one refresh"
    );
}

#[tokio::test]
async fn a_flood_of_unknown_kids_costs_the_provider_one_fetch() {
    let key = rs256();
    let (provider, addr) = Provider::start(&[&key]).await;
    let gateway = Arc::new(gateway(&entra_config(addr), Duration::from_secs(30)));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let gateway = Arc::clone(&gateway);
            let stranger = SigningKey::generate(Algorithm::Es256).unwrap();
            let token = stranger.sign(Some("JWT"), &v2_claims(TENANT)).unwrap();
            tokio::spawn(async move {
                let decision = decide(&gateway, "/api/any", &token).await;
                matches!(
                    decision,
                    Decision::Unauthenticated(Denial::Token(ref r)) if r.reason == Reason::UnknownKid
                )
            })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap(), "every made-up kid is refused");
    }
    assert_eq!(provider.jwks_hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_last_good_keys_are_kept_while_the_provider_is_down() {
    let key = rs256();
    let (provider, addr) = Provider::start(&[&key]).await;
    let gateway = gateway(&entra_config(addr), Duration::ZERO);
    gateway.prefetch_keys().await;
    provider.down.store(true, Ordering::SeqCst);
    // A forced refresh fails, and the earlier set stays in use.
    assert!(gateway.key_caches()[0].refresh().await.is_some());
    let token = key.sign(Some("JWT"), &v2_claims(TENANT)).unwrap();
    assert!(matches!(
        decide(&gateway, "/api/any", &token).await,
        Decision::Allow { .. }
    ));
}

#[tokio::test]
async fn start_up_survives_a_provider_that_is_down_and_recovers_later() {
    let key = rs256();
    let (provider, addr) = Provider::start(&[&key]).await;
    provider.down.store(true, Ordering::SeqCst);
    let gateway = gateway(&entra_config(addr), Duration::ZERO);
    gateway.prefetch_keys().await;
    let token = key.sign(Some("JWT"), &v2_claims(TENANT)).unwrap();
    assert!(matches!(
        decide(&gateway, "/api/any", &token).await,
        Decision::Unauthenticated(Denial::KeysUnavailable(_))
    ));
    provider.down.store(false, Ordering::SeqCst);
    assert!(matches!(
        decide(&gateway, "/api/any", &token).await,
        Decision::Allow { .. }
    ));
}

#[tokio::test]
async fn a_repeated_token_is_served_from_the_cache() {
    let key = rs256();
    let (_provider, addr) = Provider::start(&[&key]).await;
    let gateway = gateway(&entra_config(addr), Duration::from_secs(30));
    let token = key.sign(Some("JWT"), &v2_claims(TENANT)).unwrap();
    for _ in 0..3 {
        assert!(matches!(
            decide(&gateway, "/api/any", &token).await,
            Decision::Allow { .. }
        ));
    }
    let metrics = gateway.metrics();
    assert_eq!(metrics.verifications.load(Ordering::Relaxed), 1);
    assert_eq!(metrics.cache_hits.load(Ordering::Relaxed), 2);
}
