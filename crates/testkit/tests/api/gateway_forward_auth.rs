//! Forward-auth: `GET /auth/verify` for nginx `auth_request`, Traefik and Caddy (the original
//! request in headers) and `/auth/verify/<path>` for Envoy `ext_authz` (the original request on
//! the request line), applying the same route policies to the original request.

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

gateway_test!(async fn a_client_cannot_pick_the_original_request_with_the_other_header_pair(backend) {
    let upstream = Upstream::start().await;
    let app = spawn_gateway(backend, &upstream, |_| {}).await;
    let user = app.create_user("alice", &[]).await;
    // nginx sets X-Original-* and passes the client's X-Forwarded-* along (and Traefik and
    // Caddy the other way round): two pairs that disagree are refused, whichever is forged.
    let check = |pairs: &'static [(&'static str, &'static str)]| {
        let mut request = app.client.get(app.url("/auth/verify")).bearer_auth(&user.token);
        for (name, value) in pairs {
            request = request.header(*name, *value);
        }
        request.send()
    };
    let forged = check(&[
        ("x-original-method", "GET"),
        ("x-original-uri", "/api/reports"),
        ("x-forwarded-method", "GET"),
        ("x-forwarded-uri", "/api/x"),
    ]);
    assert_problem(forged.await.unwrap(), 400, "invalid_request").await;
    let half = check(&[
        ("x-original-method", "GET"),
        ("x-original-uri", "/api/reports"),
        ("x-forwarded-uri", "/api/x"),
    ]);
    assert_problem(half.await.unwrap(), 400, "invalid_request").await;
    let agreeing = check(&[
        ("x-original-method", "GET"),
        ("x-original-uri", "/api/reports?a=1"),
        ("x-forwarded-method", "GET"),
        ("x-forwarded-uri", "/api/reports"),
    ]);
    assert_problem(agreeing.await.unwrap(), 403, "insufficient_permission").await;
});

/// A check shaped as Envoy's `ext_authz` HTTP service sends it with `path_prefix:
/// /auth/verify`: the original method, the prefix + the original path and query, no body
/// (`Content-Length: 0`), and of the client's headers `Host`, `Authorization` and the allowed
/// ones (`client_headers`, here `x-auth-*` and others).
async fn envoy_check(
    app: &gatehouse_testkit::TestApp,
    method: reqwest::Method,
    original: &str,
    token: Option<&str>,
    client_headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = app
        .client
        .request(method, app.url(&format!("/auth/verify{original}")))
        .header("host", "api.example.com")
        .header("content-length", "0");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    for (name, value) in client_headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

/// The `x-envoy-auth-headers-to-remove` list of an answer, sorted.
fn removals(response: &reqwest::Response) -> Vec<String> {
    let list = response.headers()["x-envoy-auth-headers-to-remove"]
        .to_str()
        .unwrap();
    let mut names: Vec<String> = list.split(", ").map(str::to_owned).collect();
    names.sort();
    names
}

gateway_test!(async fn an_envoy_check_decides_on_its_own_method_and_path(backend) {
    use reqwest::Method;
    let upstream = Upstream::start().await;
    let app = spawn_gateway(backend, &upstream, |_| {}).await;
    let admin = app.create_admin("root").await;
    let user = app.create_user("alice", &[]).await;

    // Allowed: 200 with the identity for Envoy's allowed_upstream_headers, and the client's
    // own identity headers that the answer does not set, for Envoy to remove.
    let forged = [("x-auth-subject", "forged"), ("x-auth-extra", "forged"), ("x-auth-groups", "forged")];
    let response = envoy_check(&app, Method::GET, "/api/admin/users?page=2", Some(&admin.token), &forged).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-auth-subject"], admin.user.id.to_string().as_str());
    assert_eq!(response.headers()["x-auth-permissions"], "gatehouse:admin");
    assert_eq!(response.headers()["x-auth-groups"], "");
    assert_eq!(removals(&response), ["x-auth-extra", "x-auth-groups", "x-auth-token"]);

    // The method on the request line is the one decided on: /api/admin is GET-only.
    let response = envoy_check(&app, Method::DELETE, "/api/admin/users", Some(&admin.token), &[]).await;
    assert_problem(response, 403, "no_route").await;
    let response = envoy_check(&app, Method::POST, "/api/items", Some(&user.token), &[]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(removals(&response), ["x-auth-token"]);

    // Refusals go back to the client through Envoy as they are: status, challenge, body.
    let response = envoy_check(&app, Method::GET, "/api/x", None, &[]).await;
    assert_eq!(response.headers()["www-authenticate"], r#"Bearer realm="gatehouse""#);
    assert_problem(response, 401, "missing_token").await;
    let response = envoy_check(&app, Method::GET, "/api/reports/q1", Some(&user.token), &[]).await;
    assert_problem(response, 403, "insufficient_permission").await;

    // Headers never override the request line (Envoy may pass the client's on).
    let forged = [("x-forwarded-method", "GET"), ("x-forwarded-uri", "/api/x"), ("x-original-uri", "/public/x")];
    let response = envoy_check(&app, Method::GET, "/api/reports", Some(&user.token), &forged).await;
    assert_problem(response, 403, "insufficient_permission").await;

    // Deny by default, and unsafe paths, as 403; a public route needs no token and gets every
    // identity header, empty.
    assert_problem(envoy_check(&app, Method::GET, "/", Some(&user.token), &[]).await, 403, "no_route").await;
    // (An encoded slash: /public would take it without a token.)
    let response = envoy_check(&app, Method::GET, "/public/a%2F..%2Fapi", None, &[]).await;
    assert_problem(response, 403, "no_route").await;
    let response = envoy_check(&app, Method::PUT, "/public/x", None, &[("x-auth-subject", "forged")]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-auth-subject"], "");
    assert_eq!(removals(&response), ["x-auth-subject", "x-auth-token"]);
});
