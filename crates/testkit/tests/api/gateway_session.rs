//! Gatehouse's browser session cookie as the gateway credential, on routes with
//! `accept_session_cookie = true`: identity from the session, 401 (never a redirect) without
//! one, the CSRF token on state-changing methods, and no session credential upstream.

use std::collections::BTreeMap;

use gatehouse_server::config::gateway::RouteConfig;
use gatehouse_testkit::{TEST_PASSWORD, TestApp, assert_problem, json_body};

use crate::gateway_support::{Upstream, gateway_test, spawn_gateway};

/// The cookies a browser would hold, and the CSRF token of its last page.
struct Browser {
    cookies: BTreeMap<String, String>,
}

impl Browser {
    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all("set-cookie") {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.insert(name.to_owned(), value.to_owned());
        }
    }

    /// `GET path` with the cookies; returns the page's CSRF token.
    async fn csrf(&mut self, app: &TestApp, path: &str) -> String {
        let response = app
            .client
            .get(app.url(path))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep(&response);
        let page = response.text().await.unwrap();
        let marker = "name=\"csrf-token\" content=\"";
        let start = page.find(marker).expect("page has a CSRF token") + marker.len();
        page[start..].split('"').next().unwrap().to_owned()
    }

    async fn post_form(&mut self, app: &TestApp, path: &str, form: &[(&str, &str)]) -> u16 {
        let response = app
            .client
            .post(app.url(path))
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep(&response);
        response.status().as_u16()
    }

    /// Signs in through the UI form.
    async fn signed_in(app: &TestApp, username: &str) -> Self {
        let mut browser = Self {
            cookies: BTreeMap::new(),
        };
        let csrf = browser.csrf(app, "/ui/login").await;
        let status = browser
            .post_form(
                app,
                "/ui/login",
                &[
                    ("csrf", &csrf),
                    ("username", username),
                    ("password", TEST_PASSWORD),
                ],
            )
            .await;
        assert_eq!(status, 303);
        assert!(browser.cookies.contains_key("gatehouse_session"));
        browser
    }

    fn clone_cookies(&self) -> Self {
        Self {
            cookies: self.cookies.clone(),
        }
    }

    fn request(
        &self,
        app: &TestApp,
        method: reqwest::Method,
        path: &str,
    ) -> reqwest::RequestBuilder {
        app.client
            .request(method, app.url(path))
            .header("cookie", self.cookie_header())
    }
}

async fn spawn(backend: gatehouse_testkit::Backend, upstream: &Upstream) -> TestApp {
    let addr = upstream.addr;
    spawn_gateway(backend, upstream, move |config| {
        config.routes.push(RouteConfig {
            path: "/app".into(),
            upstream: Some(format!("http://{addr}")),
            accept_session_cookie: true,
            forward_authorization: true,
            ..RouteConfig::default()
        });
    })
    .await
}

gateway_test!(async fn a_route_that_accepts_the_session_cookie_sees_the_signed_in_user(backend) {
    let upstream = Upstream::start().await;
    let app = spawn(backend, &upstream).await;
    app.create_user("alice", &[]).await;
    let browser = Browser::signed_in(&app, "alice").await;

    let response = browser
        .request(&app, reqwest::Method::GET, "/app/x")
        .header("cookie", "theme=dark")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let echoed = json_body(response).await;
    let headers = &echoed["headers"];
    assert_eq!(headers["x-auth-username"], "alice");
    assert_eq!(headers["x-auth-issuer"], "gatehouse");
    // The session's access token is the server's: not forwarded even with forward_authorization.
    assert!(headers.get("authorization").is_none(), "{headers}");
    // Gatehouse's cookies are not forwarded; the application's are.
    let cookie = headers["cookie"].as_str().unwrap();
    assert!(!cookie.contains("gatehouse_"), "{cookie}");
    assert!(cookie.contains("theme=dark"), "{cookie}");

    // Forward-auth accepts it too.
    let verified = browser
        .request(&app, reqwest::Method::GET, "/auth/verify")
        .header("x-original-method", "GET")
        .header("x-original-uri", "/app/y")
        .send()
        .await
        .unwrap();
    assert_eq!(verified.status(), 200);
    assert_eq!(verified.headers()["x-auth-username"], "alice");
});

gateway_test!(async fn without_a_session_an_api_client_gets_401_not_a_redirect(backend) {
    let upstream = Upstream::start().await;
    let app = spawn(backend, &upstream).await;
    app.create_user("alice", &[]).await;
    let mut browser = Browser::signed_in(&app, "alice").await;

    // A route that does not accept the cookie ignores it.
    let other = browser.request(&app, reqwest::Method::GET, "/api/x").send().await.unwrap();
    assert!(other.headers().get("location").is_none());
    assert_problem(other, 401, "missing_token").await;
    let anonymous = app.get("/app/x").await;
    assert!(anonymous.headers().get("location").is_none());
    assert_problem(anonymous, 401, "missing_token").await;

    // Signed out: the old cookie is no credential any more.
    let csrf = browser.csrf(&app, "/").await;
    let stale = browser.clone_cookies();
    assert_eq!(browser.post_form(&app, "/ui/logout", &[("csrf", &csrf)]).await, 303);
    let after = stale.request(&app, reqwest::Method::GET, "/app/x").send().await.unwrap();
    assert!(after.headers().get("location").is_none());
    assert_problem(after, 401, "missing_token").await;
});

gateway_test!(async fn a_state_changing_request_by_cookie_needs_the_csrf_token(backend) {
    let upstream = Upstream::start().await;
    let app = spawn(backend, &upstream).await;
    app.create_user("alice", &[]).await;
    let mut browser = Browser::signed_in(&app, "alice").await;

    let missing = browser.request(&app, reqwest::Method::POST, "/app/x").send().await.unwrap();
    assert_problem(missing, 403, "csrf_failed").await;
    let forged = browser
        .request(&app, reqwest::Method::POST, "/app/x")
        .header("x-csrf-token", "forged")
        .send()
        .await
        .unwrap();
    assert_problem(forged, 403, "csrf_failed").await;

    let csrf = browser.csrf(&app, "/").await;
    let posted = browser
        .request(&app, reqwest::Method::POST, "/app/x")
        .header("x-csrf-token", csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    assert_eq!(json_body(posted).await["headers"]["x-auth-username"], "alice");
});
