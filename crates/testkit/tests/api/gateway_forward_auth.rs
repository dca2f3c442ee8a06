//! `GET /auth/verify`: forward-auth for nginx `auth_request`, Traefik and Caddy, applying the
//! same route policies to the request described by the forwarded method and URI.

use gatehouse_testkit::assert_problem;

use crate::gateway_support::{Upstream, gateway_test, spawn_gateway};

async fn verify(
    app: &gatehouse_testkit::TestApp,
    style: (&str, &str),
    method: &str,
    uri: &str,
    token: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .client
        .get(app.url("/auth/verify"))
        .header(style.0, method)
        .header(style.1, uri);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

const TRAEFIK: (&str, &str) = ("x-forwarded-method", "x-forwarded-uri");
const NGINX: (&str, &str) = ("x-original-method", "x-original-uri");

gateway_test!(async fn an_allowed_request_is_200_with_identity_headers(backend) {
    let upstream = Upstream::start().await;
    let app = spawn_gateway(backend, &upstream, |_| {}).await;
    let admin = app.create_admin("root").await;
    for style in [TRAEFIK, NGINX] {
        let response = verify(&app, style, "GET", "/api/admin/users?page=2", Some(&admin.token)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["x-auth-subject"], admin.user.id.to_string().as_str());
        assert_eq!(response.headers()["x-auth-username"], "root");
        assert_eq!(response.headers()["x-auth-permissions"], "gatehouse:admin");
    }
});

gateway_test!(async fn refusals_are_401_or_403(backend) {
    let upstream = Upstream::start().await;
    let app = spawn_gateway(backend, &upstream, |_| {}).await;
    let user = app.create_user("alice", &[]).await;
    assert_problem(verify(&app, TRAEFIK, "GET", "/api/x", None).await, 401, "missing_token").await;
    assert_problem(verify(&app, TRAEFIK, "GET", "/api/x", Some("x.y.z")).await, 401, "invalid_token").await;
    let body = assert_problem(
        verify(&app, NGINX, "GET", "/api/reports", Some(&user.token)).await,
        403,
        "insufficient_permission",
    )
    .await;
    assert_eq!(body["detail"], "missing: roles_any=Admin");
    // Deny by default, as 403 (auth_request treats anything but 2xx/401/403 as an error).
    assert_problem(verify(&app, NGINX, "GET", "/elsewhere", Some(&user.token)).await, 403, "no_route").await;
    // The method matters: /api/admin is GET-only.
    assert_problem(verify(&app, NGINX, "DELETE", "/api/admin/x", Some(&user.token)).await, 403, "no_route").await;
    assert_eq!(verify(&app, NGINX, "GET", "/public/x", None).await.status(), 200);
});

gateway_test!(async fn a_verify_request_without_the_original_request_is_400(backend) {
    let upstream = Upstream::start().await;
    let app = spawn_gateway(backend, &upstream, |_| {}).await;
    assert_problem(app.get("/auth/verify").await, 400, "invalid_request").await;
});
