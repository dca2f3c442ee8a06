//! The web UI over plain HTTP: cookies, CSRF, security headers, session refresh and sign-out.

use gatehouse_store::AuditQuery;
use gatehouse_testkit::{Backend, TEST_PASSWORD, both_backends, spawn_app, spawn_app_with};

use crate::support::Browserish;

#[tokio::test]
async fn pages_carry_the_security_headers_and_a_private_csrf_cookie() {
    let app = spawn_app(Backend::Sqlite).await;
    let response = app.get("/ui/login").await;
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "same-origin");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(
        headers.get("strict-transport-security").is_none(),
        "no HSTS over http"
    );
    let cookie = headers["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("gatehouse_csrf="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "{cookie}");
    app.stop().await;
}

#[tokio::test]
async fn over_https_cookies_are_secure_and_hsts_is_sent() {
    let app = spawn_app_with(Backend::Sqlite, |config| {
        config.server.public_url = Some("https://auth.example.com".parse().unwrap());
    })
    .await;
    let response = app.get("/ui/login").await;
    assert!(
        response.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("Secure"), "{cookie}");
    app.stop().await;
}

both_backends!(async fn a_form_post_without_its_csrf_token_is_refused(app) {
    app.create_user("alice", &[]).await;
    let mut browser = Browserish::new(&app);
    let _ = browser.csrf("/ui/login").await;
    let response = browser
        .post_form("/ui/login", &[("username", "alice"), ("password", TEST_PASSWORD)])
        .await;
    assert_eq!(response.status(), 403);
    assert!(!browser.cookies.contains_key("gatehouse_session"));
    let forged = browser
        .post_form(
            "/ui/login",
            &[("csrf", "forged"), ("username", "alice"), ("password", TEST_PASSWORD)],
        )
        .await;
    assert_eq!(forged.status(), 403);
    app.stop().await;
});

both_backends!(async fn signing_in_sets_a_session_cookie_that_holds_no_token(app) {
    app.create_user("alice", &[]).await;
    let mut browser = Browserish::new(&app);
    browser.sign_in("alice", TEST_PASSWORD).await;
    let cookie = &browser.cookies["gatehouse_session"];
    assert!(!cookie.contains("eyJ"), "the cookie must not carry a JWT");
    let home = browser.get("/").await;
    assert_eq!(home.status(), 200);
    let page = home.text().await.unwrap();
    assert!(page.contains("Hello, <span id=\"whoami\">alice</span>"));
    assert!(!page.contains("eyJ"), "the page must not show the signed token");
    app.stop().await;
});

both_backends!(async fn a_wrong_password_shows_the_form_again_with_an_error(app) {
    app.create_user("alice", &[]).await;
    let mut browser = Browserish::new(&app);
    let csrf = browser.csrf("/ui/login").await;
    let response = browser
        .post_form("/ui/login", &[("csrf", &csrf), ("username", "alice"), ("password", "nope-nope")])
        .await;
    assert_eq!(response.status(), 401);
    assert!(response.text().await.unwrap().contains("Wrong username or password."));
    app.stop().await;
});

both_backends!(async fn concurrent_requests_refresh_an_expiring_token_exactly_once(app) {
    app.create_user("alice", &[]).await;
    let mut browser = Browserish::new(&app);
    browser.sign_in("alice", TEST_PASSWORD).await;
    // Past the access token's lifetime: the next requests must refresh on the server.
    app.clock.advance(time::Duration::minutes(16));
    let cookie = browser
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let requests = (0..8).map(|_| {
        app.client
            .get(app.url("/"))
            .header("cookie", cookie.clone())
            .send()
    });
    for response in futures_util::future::join_all(requests).await {
        assert_eq!(response.unwrap().status(), 200);
    }
    let refreshes = app
        .state
        .store()
        .query_audit(&AuditQuery {
            action: Some("refresh.success".into()),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(refreshes.len(), 1, "one refresh for eight concurrent requests");
    app.stop().await;
});

both_backends!(async fn signing_out_ends_the_session_for_every_holder_of_the_cookie(app) {
    app.create_user("alice", &[]).await;
    let mut tab_one = Browserish::new(&app);
    tab_one.sign_in("alice", TEST_PASSWORD).await;
    let mut tab_two = Browserish::new(&app);
    tab_two.cookies = tab_one.cookies.clone();
    assert_eq!(tab_two.get("/").await.status(), 200);

    let csrf = tab_one.csrf("/").await;
    let response = tab_one.post_form("/ui/logout", &[("csrf", &csrf)]).await;
    assert_eq!(response.status(), 303);
    assert!(!tab_one.cookies.contains_key("gatehouse_session"));

    let home = tab_two.get("/").await;
    assert_eq!(home.status(), 303, "the other tab is signed out too");
    assert_eq!(home.headers()["location"], "/ui/login");
    assert!(
        !tab_two.cookies.contains_key("gatehouse_session"),
        "the ended session's cookie is cleared"
    );
    app.stop().await;
});

both_backends!(async fn admin_pages_need_the_admin_permission(app) {
    app.create_user("alice", &[]).await;
    app.create_admin("root").await;
    let mut user = Browserish::new(&app);
    user.sign_in("alice", TEST_PASSWORD).await;
    assert_eq!(user.get("/ui/admin").await.status(), 403);
    let mut admin = Browserish::new(&app);
    admin.sign_in("root", TEST_PASSWORD).await;
    let page = admin.get("/ui/admin?q=ali").await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains(">alice</a>"));
    assert_eq!(admin.get("/ui/admin/audit?action=login.success").await.status(), 200);
    app.stop().await;
});

#[tokio::test]
async fn signed_out_visitors_are_sent_to_the_sign_in_page() {
    let app = spawn_app(Backend::Sqlite).await;
    for path in ["/", "/ui/token", "/ui/account", "/ui/admin"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 303, "{path}");
        assert_eq!(response.headers()["location"], "/ui/login", "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_sign_in_answer_with_another_state_is_refused() {
    let provider = gatehouse_testkit::oidc_sso::SsoProvider::start(
        serde_json::json!({ "sub": "x", "preferred_username": "eve" }),
        gatehouse_testkit::TEST_EPOCH.unix_timestamp(),
    )
    .await;
    let app = spawn_app_with(Backend::Sqlite, |config| {
        crate::support::sso_provider(config, provider.issuer());
    })
    .await;
    let mut browser = Browserish::new(&app);
    let start = browser.get("/ui/sso/acme").await;
    assert_eq!(start.status(), 303);
    let location = start.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.contains("code_challenge_method=S256") && location.contains("nonce="));
    // The provider signs in and answers; an attacker swaps in their own code and state.
    let answer = app.client.get(&location).send().await.unwrap();
    let callback = answer.headers()["location"].to_str().unwrap().to_owned();
    let forged = callback.replace("state=", "state=x");
    let path = forged.trim_start_matches(&app.base_url).to_owned();
    assert_eq!(browser.get(&path).await.status(), 400);
    // Without the flow cookie (another browser) the genuine answer is refused too.
    let genuine = callback.trim_start_matches(&app.base_url).to_owned();
    assert_eq!(app.get(&genuine).await.status(), 400);
    // In the browser that started it, it signs in.
    assert_eq!(browser.get(&genuine).await.status(), 303);
    assert!(browser.cookies.contains_key("gatehouse_session"));
    app.stop().await;
}

both_backends!(async fn the_password_form_checks_the_current_password_and_ends_other_sessions(app) {
    app.create_user("alice", &[]).await;
    let mut here = Browserish::new(&app);
    here.sign_in("alice", TEST_PASSWORD).await;
    let mut elsewhere = Browserish::new(&app);
    elsewhere.sign_in("alice", TEST_PASSWORD).await;

    let csrf = here.csrf("/ui/account").await;
    let wrong = here
        .post_form(
            "/ui/account/password",
            &[("csrf", &csrf), ("current", "not-the-password"), ("new", "a-brand-new-passphrase")],
        )
        .await;
    assert_eq!(wrong.status(), 422);
    assert!(wrong.text().await.unwrap().contains("The current password is wrong."));

    let changed = here
        .post_form(
            "/ui/account/password",
            &[("csrf", &csrf), ("current", TEST_PASSWORD), ("new", "a-brand-new-passphrase")],
        )
        .await;
    assert_eq!(changed.status(), 303);
    assert_eq!(here.get("/").await.status(), 200, "this session stays");
    // The other browser's session ended; it notices at its next renewal.
    app.clock.advance(time::Duration::minutes(16));
    assert_eq!(elsewhere.get("/").await.status(), 303);
    app.stop().await;
});

both_backends!(async fn a_user_signs_out_another_of_their_sessions(app) {
    app.create_user("alice", &[]).await;
    let mut laptop = Browserish::new(&app);
    laptop.sign_in("alice", TEST_PASSWORD).await;
    let mut phone = Browserish::new(&app);
    phone.sign_in("alice", TEST_PASSWORD).await;

    let page = laptop.get("/ui/account").await.text().await.unwrap();
    let csrf = crate::support::csrf_of(&page);
    // Every row but this browser's (the phone's, and the API login `create_user` made).
    let marker = "name=\"session\" value=\"";
    let rows: Vec<&str> = page.split("<tr>").filter(|row| row.contains(marker)).collect();
    assert_eq!(rows.len(), 3, "three sessions listed");
    for row in rows.iter().filter(|row| !row.contains("this browser")) {
        let at = row.find(marker).unwrap() + marker.len();
        let session = row[at..].split('"').next().unwrap();
        let response = laptop
            .post_form("/ui/account/sessions/revoke", &[("csrf", &csrf), ("session", session)])
            .await;
        assert_eq!(response.headers()["location"], "/ui/account?done=session");
    }
    assert_eq!(phone.get("/").await.status(), 303, "the phone is signed out");
    assert_eq!(laptop.get("/").await.status(), 200, "the laptop is not");
    app.stop().await;
});

both_backends!(async fn disabling_an_account_ends_its_browser_session_at_the_next_click(app) {
    app.create_user("alice", &[]).await;
    app.create_admin("root").await;
    let mut alice = Browserish::new(&app);
    alice.sign_in("alice", TEST_PASSWORD).await;
    let mut admin = Browserish::new(&app);
    admin.sign_in("root", TEST_PASSWORD).await;
    let user = app.state.store().user_by_username("alice").await.unwrap().unwrap();
    let csrf = admin.csrf(&format!("/ui/admin/users/{}", user.id)).await;
    let response = admin
        .post_form(
            &format!("/ui/admin/users/{}/disable", user.id),
            &[("csrf", &csrf), ("disabled", "true")],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(alice.get("/").await.status(), 303, "signed out at once");
    app.stop().await;
});

#[tokio::test]
async fn fetch_data_needs_the_csrf_header_and_a_session() {
    let app = spawn_app(Backend::Sqlite).await;
    let mut browser = Browserish::new(&app);
    let csrf = browser.csrf("/ui/login").await;
    let cookie = browser
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let post = |token: Option<&str>| {
        let mut request = app
            .client
            .post(app.url("/ui/fetch"))
            .header("cookie", cookie.clone());
        if let Some(token) = token {
            request = request.header("x-csrf-token", token);
        }
        request.send()
    };
    assert_eq!(post(None).await.unwrap().status(), 403);
    let signed_out = post(Some(&csrf)).await.unwrap();
    assert_eq!(signed_out.status(), 401);
    assert_eq!(signed_out.headers()["x-gatehouse-signed-out"], "1");
    app.stop().await;
}
