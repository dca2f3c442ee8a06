//! The gateway's policy outcomes through the running server: deny by default, public routes,
//! 401 with RFC 6750 challenges, 403 naming what is missing, and identity headers that a
//! client cannot forge.

use gatehouse_testkit::{assert_problem, json_body};

use crate::gateway_support::{Upstream, gateway_test, spawn_gateway};

gateway_test!(async fn a_path_without_a_route_is_not_found(backend) {
    let upstream = Upstream::start().await;
    let app = spawn_gateway(backend, &upstream, |_| {}).await;
    let user = app.create_user("alice", &[]).await;
    assert_problem(app.get_as(&user.token, "/nowhere").await, 404, "not_found").await;
    // The method list of /api/admin is not bypassed through the broader /api route.
    let response = app.client.post(app.url("/api/admin")).bearer_auth(&user.token).send().await.unwrap();
    assert_problem(response, 404, "not_found").await;
});

gateway_test!(async fn a_public_route_needs_no_token_and_gets_no_identity(backend) {
    let upstream = Upstream::start().await;
    let app = spawn_gateway(backend, &upstream, |_| {}).await;
    let response = app
        .client
        .get(app.url("/public/hello?x=1"))
        .header("x-auth-subject", "forged-admin")
        .header("x-auth-roles", "Admin")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let seen = json_body(response).await;
    assert_eq!(seen["path"], "/public/hello");
    assert_eq!(seen["query"], "x=1");
    let headers = seen["headers"].as_object().unwrap();
    assert!(!headers.contains_key("x-auth-subject"), "{headers:?}");
    assert!(!headers.contains_key("x-auth-roles"), "{headers:?}");
});

gateway_test!(async fn a_protected_route_without_a_token_is_401_with_a_bearer_challenge(backend) {
    let upstream = Upstream::start().await;
    let app = spawn_gateway(backend, &upstream, |_| {}).await;
    let response = app.get("/api/things").await;
    assert_eq!(response.headers()["www-authenticate"], "Bearer realm=\"gatehouse\"");
    assert_problem(response, 401, "missing_token").await;
});

gateway_test!(async fn a_malformed_or_expired_token_is_401_invalid_token(backend) {
    let upstream = Upstream::start().await;
    let app = spawn_gateway(backend, &upstream, |_| {}).await;
    let response = app.get_as("not.a.token", "/api/things").await;
    let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert_problem(response, 401, "invalid_token").await;

    let user = app.create_user("alice", &[]).await;
    app.clock.advance(time::Duration::hours(1));
    let response = app.get_as(&user.token, "/api/things").await;
    let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.contains("error_description=\"the token was refused (expired)\""), "{challenge}");
    assert_problem(response, 401, "invalid_token").await;
});

gateway_test!(async fn a_missing_role_or_permission_is_403_naming_it(backend) {
    let upstream = Upstream::start().await;
    let app = spawn_gateway(backend, &upstream, |_| {}).await;
    let user = app.create_user("alice", &[]).await;
    let response = app.get_as(&user.token, "/api/reports/q3").await;
    let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.contains("error=\"insufficient_scope\""), "{challenge}");
    let body = assert_problem(response, 403, "insufficient_permission").await;
    assert_eq!(body["detail"], "missing: roles_any=Admin");

    let response = app.get_as(&user.token, "/api/admin/users").await;
    let body = assert_problem(response, 403, "insufficient_permission").await;
    assert_eq!(body["detail"], "missing: permissions=gatehouse:admin");

    let admin = app.create_admin("root").await;
    assert_eq!(app.get_as(&admin.token, "/api/admin/users").await.status(), 200);
});

gateway_test!(async fn an_allowed_request_carries_the_identity_and_nothing_forged(backend) {
    let upstream = Upstream::start().await;
    let app = spawn_gateway(backend, &upstream, |_| {}).await;
    let admin = app.create_admin("root").await;
    let response = app
        .client
        .get(app.url("/api/things"))
        .bearer_auth(&admin.token)
        .header("x-auth-subject", "someone-else")
        .header("X-Auth-Permissions", "everything")
        .header("x-auth-whatever", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let seen = json_body(response).await;
    let headers = &seen["headers"];
    assert_eq!(headers["x-auth-subject"], admin.user.id.to_string());
    assert_eq!(headers["x-auth-username"], "root");
    assert_eq!(headers["x-auth-roles"], "admin");
    assert_eq!(headers["x-auth-permissions"], "gatehouse:admin");
    assert_eq!(headers["x-auth-issuer"], "gatehouse");
    assert!(headers.get("x-auth-whatever").is_none(), "{headers}");
    assert!(headers.get("authorization").is_none(), "the token is not forwarded by default");
    assert_eq!(headers["x-forwarded-for"], "127.0.0.1");
    assert_eq!(headers["x-forwarded-proto"], "http");
});

gateway_test!(async fn a_route_can_strip_its_prefix_and_forward_the_token(backend) {
    let upstream = Upstream::start().await;
    let app = spawn_gateway(backend, &upstream, |_| {}).await;
    let user = app.create_user("alice", &[]).await;
    let seen = json_body(app.get_as(&user.token, "/svc/v1/items").await).await;
    assert_eq!(seen["path"], "/v1/items");
    assert_eq!(seen["headers"]["authorization"], format!("Bearer {}", user.token));
});

gateway_test!(async fn paths_an_upstream_could_reinterpret_are_refused(backend) {
    let upstream = Upstream::start().await;
    let app = spawn_gateway(backend, &upstream, |_| {}).await;
    // reqwest would normalise `..`, so send the raw request line.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"GET /public/%2e%2e/api/admin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
});

gateway_test!(async fn a_repeated_token_skips_the_signature_check(backend) {
    let upstream = Upstream::start().await;
    let app = spawn_gateway(backend, &upstream, |_| {}).await;
    let user = app.create_user("alice", &[]).await;
    for _ in 0..3 {
        assert_eq!(app.get_as(&user.token, "/api/x").await.status(), 200);
    }
    let metrics = app.state.gateway().metrics();
    let count = |name: &str| {
        metrics.snapshot().into_iter().find(|(n, _)| n == name).map(|(_, v)| v).unwrap()
    };
    assert_eq!(count("token_verifications"), 1);
    assert_eq!(count("token_cache_hits"), 2);
});

gateway_test!(async fn a_cors_preflight_is_answered_without_a_token(backend) {
    let upstream = Upstream::start().await;
    let app = spawn_gateway(backend, &upstream, |config| {
        config.cors.allowed_origins = vec!["https://app.example.com".into()];
        config.cors.allow_credentials = true;
    })
    .await;
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/things"))
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 200);
    assert_eq!(preflight.headers()["access-control-allow-origin"], "https://app.example.com");
    assert_eq!(preflight.headers()["access-control-allow-credentials"], "true");
    // A foreign origin gets no CORS grant.
    let foreign = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/things"))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(foreign.headers().get("access-control-allow-origin").is_none());
});

gateway_test!(async fn an_upstream_token_proves_the_request_came_through_the_gateway(backend) {
    let upstream = Upstream::start().await;
    let addr = upstream.addr;
    let app = spawn_gateway(backend, &upstream, move |config| {
        config.routes.push(gatehouse_server::config::gateway::RouteConfig {
            path: "/zero-trust".into(),
            upstream: Some(format!("http://{addr}")),
            upstream_token: true,
            audience: Some("reports-service".into()),
            ..Default::default()
        });
    })
    .await;
    let user = app.create_user("alice", &[]).await;
    let seen = json_body(app.get_as(&user.token, "/zero-trust/q").await).await;
    let token = seen["headers"]["x-auth-token"].as_str().unwrap().to_owned();
    // The upstream verifies it with Gatehouse's published keys, for its own audience.
    let jwks = app.get("/.well-known/jwks.json").await.text().await.unwrap();
    let verifier = gatehouse_token::Verifier::new(
        gatehouse_token::KeySet::from_jwks_json(&jwks).unwrap(),
        gatehouse_token::Validation::new()
            .with_issuers([app.base_url.clone()])
            .with_audiences(["reports-service"])
            .with_expected_typ("gatehouse-upstream+jwt"),
    );
    let now = gatehouse_token::UnixTime::from_secs(gatehouse_testkit::TEST_EPOCH.unix_timestamp());
    let verified = verifier.verify(&token, now).unwrap();
    assert_eq!(verified.claims.subject(), Some(user.user.id.to_string().as_str()));
    // It is no access token: the gateway refuses it as one.
    assert_problem(app.get_as(&token, "/api/x").await, 401, "invalid_token").await;
});

// Proxied requests skip the server's layers (the hot path), so the gateway gives them their
// request id itself: the upstream and the client see the same one, a client's own id is kept,
// and the gateway's own refusals are marked nosniff like every problem answer.
gateway_test!(async fn proxied_requests_carry_a_request_id_to_the_upstream_and_back(backend) {
    let upstream = Upstream::start().await;
    let app = spawn_gateway(backend, &upstream, |_| {}).await;
    let response = app.get("/public/hello").await;
    assert_eq!(response.status(), 200);
    let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 4, "{id}");
    let seen = json_body(response).await;
    assert_eq!(seen["headers"]["x-request-id"], id.as_str());

    let again = app.get("/public/hello").await;
    assert_ne!(again.headers()["x-request-id"].to_str().unwrap(), id, "ids are not reused");

    let response = app
        .client
        .get(app.url("/public/hello"))
        .header("x-request-id", "trace-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-123");
    assert_eq!(json_body(response).await["headers"]["x-request-id"], "trace-123");

    let refused = app.get("/api/things").await;
    assert!(refused.headers().contains_key("x-request-id"));
    assert_eq!(refused.headers()["x-content-type-options"], "nosniff");
    assert_problem(refused, 401, "missing_token").await;
});
