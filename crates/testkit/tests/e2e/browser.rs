//! The browser suite: headless Chromium through the real pages, with screenshots of every page
//! under `target/e2e-screenshots/`.

use fantoccini::Locator;
use gatehouse_testkit::oidc_sso::SsoProvider;
use gatehouse_testkit::{Backend, TEST_EPOCH, TEST_PASSWORD, spawn_app_with};
use serde_json::json;

use crate::support::{Chrome, demo_route, spawn_upstream, sso_provider};

const CAROL_PASSWORD: &str = "violet-harbor-lantern-42";

/// Waits until the "Fetch data" outcome is shown and returns its status line.
async fn fetch_outcome(chrome: &Chrome) -> String {
    chrome.click("fetch-data").await;
    chrome
        .client
        .wait()
        .for_element(Locator::Css("#fetch-status[data-outcome]"))
        .await
        .unwrap();
    chrome.text("fetch-status").await
}

#[tokio::test]
async fn a_user_signs_up_shares_the_session_across_tabs_gets_a_role_and_signs_out() {
    let upstream = spawn_upstream().await;
    let app = spawn_app_with(Backend::Sqlite, |config| {
        demo_route(config, upstream);
        config.signup.default_roles = Vec::new();
    })
    .await;
    app.state
        .store()
        .create_role("reader", "may read reports")
        .await
        .unwrap();
    app.state
        .store()
        .grant_permission("reader", "reports:read")
        .await
        .unwrap();
    app.state
        .store()
        .create_group("analysts", "the analytics team")
        .await
        .unwrap();
    app.create_admin("root").await;

    // Sign up.
    let carol = Chrome::start().await;
    carol.open(&app.url("/ui/login")).await;
    carol.shot("login").await;
    carol.open(&app.url("/ui/signup")).await;
    carol.fill("username", "carol").await;
    carol.fill("email", "carol@example.com").await;
    carol.fill("password", CAROL_PASSWORD).await;
    carol.shot("signup").await;
    carol.click("sign-up").await;
    assert_eq!(carol.text("whoami").await, "carol");
    assert_eq!(carol.wait_path("/").await, "/");

    // Sign out, sign in again with the password.
    carol.click("sign-out").await;
    assert_eq!(carol.wait_path("/ui/login").await, "/ui/login");
    carol.fill("username", "carol").await;
    carol.fill("password", "not-her-password").await;
    carol.click("sign-in").await;
    assert_eq!(
        carol.text("form-error").await,
        "Wrong username or password."
    );
    carol.shot("login-error").await;
    carol.fill("password", CAROL_PASSWORD).await;
    carol.click("sign-in").await;
    assert_eq!(carol.text("whoami").await, "carol");
    assert!(carol.text("roles").await.contains("none"));

    // A reload keeps the session.
    carol.client.refresh().await.unwrap();
    assert_eq!(carol.text("whoami").await, "carol");

    // A second tab shares it.
    let first_tab = carol.client.window().await.unwrap();
    let second = carol.client.new_window(true).await.unwrap();
    carol
        .client
        .switch_to_window(second.handle.clone())
        .await
        .unwrap();
    carol.open(&app.url("/")).await;
    assert_eq!(carol.text("whoami").await, "carol");

    // Without the role the gateway refuses.
    let refused = fetch_outcome(&carol).await;
    assert!(
        refused.contains("Refused") && refused.contains("403"),
        "{refused}"
    );
    carol.shot("home-fetch-refused").await;

    // An administrator grants the role in their own browser.
    let admin = Chrome::start().await;
    admin.open(&app.url("/ui/login")).await;
    admin.fill("username", "root").await;
    admin.fill("password", TEST_PASSWORD).await;
    admin.click("sign-in").await;
    assert_eq!(admin.text("whoami").await, "root");
    admin.open(&app.url("/ui/admin?q=car")).await;
    admin.shot("admin-users").await;
    admin
        .client
        .find(Locator::LinkText("carol"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    admin
        .client
        .find(Locator::Css("input[name='role:reader']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    admin.click("save-roles").await;
    assert!(admin.text("user-name").await.contains("carol"));
    admin.shot("admin-user").await;
    admin.open(&app.url("/ui/admin/roles")).await;
    admin.shot("admin-roles").await;
    admin.open(&app.url("/ui/admin/groups")).await;
    admin.shot("admin-groups").await;
    admin.open(&app.url("/ui/admin/audit")).await;
    admin.shot("admin-audit").await;

    // Carol sees the role once her access token is renewed (the server does it on expiry).
    carol.client.refresh().await.unwrap();
    assert!(
        !carol.text("roles").await.contains("reader"),
        "not before the refresh"
    );
    app.clock.advance(time::Duration::minutes(16));
    carol.client.refresh().await.unwrap();
    assert!(carol.text("roles").await.contains("reader"));
    let allowed = fetch_outcome(&carol).await;
    assert!(
        allowed.contains("Allowed") && allowed.contains("200"),
        "{allowed}"
    );
    assert!(
        carol
            .text("fetch-result")
            .await
            .contains("quarterly numbers")
    );
    carol.shot("home").await;

    carol.open(&app.url("/ui/token")).await;
    let claims = carol.text("token-claims").await;
    assert!(claims.contains("preferred_username") && claims.contains("expires 2026-06-01"));
    carol.shot("token").await;
    carol.open(&app.url("/ui/account")).await;
    assert!(carol.text("sessions").await.contains("this browser"));
    carol.shot("account").await;

    // A form posted without its CSRF token is refused.
    carol
        .client
        .execute(
            "const f = document.createElement('form'); f.method = 'post'; \
             f.action = '/ui/account/password'; \
             for (const [k, v] of Object.entries(arguments[0])) { \
               const i = document.createElement('input'); i.name = k; i.value = v; f.appendChild(i); } \
             document.body.appendChild(f); f.submit();",
            vec![json!({ "current": CAROL_PASSWORD, "new": "an-attacker-chose-this" })],
        )
        .await
        .unwrap();
    assert!(
        carol
            .text("error-detail")
            .await
            .contains("not sent from this page")
    );
    carol.shot("csrf-refused").await;

    // The phone layout.
    carol.client.set_window_size(390, 844).await.unwrap();
    carol.open(&app.url("/")).await;
    carol.shot("home-phone").await;
    carol.client.set_window_size(1280, 900).await.unwrap();

    // Signing out in the second tab signs the first one out too.
    carol.open(&app.url("/")).await;
    carol.click("sign-out").await;
    assert_eq!(carol.wait_path("/ui/login").await, "/ui/login");
    carol.client.switch_to_window(first_tab).await.unwrap();
    carol.client.refresh().await.unwrap();
    assert_eq!(carol.wait_path("/ui/login").await, "/ui/login");

    carol.quit().await;
    admin.quit().await;
    app.stop().await;
}

#[tokio::test]
async fn single_sign_on_creates_links_and_maps_roles_and_the_provider_can_end_the_session() {
    let upstream = spawn_upstream().await;
    let provider = SsoProvider::start(
        json!({
            "sub": "acme-user-1",
            "preferred_username": "dana",
            "email": "dana@example.com",
            "roles": ["Reports.Read"],
            "groups": ["g-analysts"],
        }),
        TEST_EPOCH.unix_timestamp(),
    )
    .await;
    let app = spawn_app_with(Backend::Sqlite, |config| {
        demo_route(config, upstream);
        sso_provider(config, provider.issuer());
    })
    .await;
    app.state
        .store()
        .create_role("reader", "may read reports")
        .await
        .unwrap();

    let dana = Chrome::start().await;
    dana.open(&app.url("/ui/login")).await;
    assert_eq!(dana.text("sso-acme").await, "Sign in with Acme ID");
    dana.shot("login-sso").await;
    dana.click("sso-acme").await;
    assert_eq!(dana.text("whoami").await, "dana");
    assert!(
        dana.text("roles").await.contains("reader"),
        "mapped from Reports.Read"
    );
    let allowed = fetch_outcome(&dana).await;
    assert!(allowed.contains("Allowed"), "{allowed}");
    dana.shot("home-sso").await;

    // A second sign-in finds the linked account instead of creating another.
    dana.click("sign-out").await;
    dana.click("sso-acme").await;
    assert_eq!(dana.text("whoami").await, "dana");
    let users = app
        .state
        .store()
        .list_users(&Default::default())
        .await
        .unwrap();
    assert_eq!(users.total, 1);

    // The session renews through the provider; once the provider refuses, it ends.
    app.clock.advance(time::Duration::minutes(16));
    dana.client.refresh().await.unwrap();
    assert_eq!(dana.text("whoami").await, "dana");
    assert_eq!(provider.refreshes(), 1);
    provider.refuse_refresh();
    app.clock.advance(time::Duration::minutes(16));
    dana.client.refresh().await.unwrap();
    assert_eq!(dana.wait_path("/ui/login").await, "/ui/login");

    dana.quit().await;
    app.stop().await;
}
