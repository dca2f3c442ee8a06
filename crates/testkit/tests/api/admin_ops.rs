//! `/admin/sessions`, `/admin/clients`, `/admin/audit` and `/admin/keys/rotate`.

use gatehouse_server::Clock;
use gatehouse_testkit::{assert_problem, both_backends, json_body};
use serde_json::json;

both_backends!(async fn an_admin_lists_all_sessions_and_revokes_one(app) {
    let admin = app.create_admin("root").await;
    let bob = app.create_user("bob", &[]).await;
    let page = json_body(app.get_as(&admin.token, "/admin/sessions?limit=10").await).await;
    assert_eq!(page["total"], 2);
    let bob_id = bob.user.id.to_string();
    let session = page["items"].as_array().unwrap().iter().find(|s| s["user_id"] == bob_id.as_str()).unwrap().clone();
    let id = session["id"].as_str().unwrap();
    assert_eq!(app.delete_as(&admin.token, &format!("/admin/sessions/{id}")).await.status(), 204);
    let refresh = app.post_json("/auth/refresh", &json!({"refresh_token": bob.refresh_token})).await;
    assert_eq!(refresh.status(), 401);
    assert_problem(app.get_as(&bob.token, "/auth/me").await, 401, "invalid_token").await;
    let unknown = app.delete_as(&admin.token, "/admin/sessions/0190c3c0-0000-7000-8000-000000000009").await;
    assert_problem(unknown, 404, "not_found").await;
    assert_problem(app.delete_as(&admin.token, "/admin/sessions/not-a-uuid").await, 400, "invalid_request").await;
});

both_backends!(async fn a_client_is_created_with_a_secret_shown_once_that_gets_tokens(app) {
    let admin = app.create_admin("root").await;
    app.post_json_as(&admin.token, "/admin/roles", &json!({"name": "reporter", "permissions": ["reports:read"]})).await;
    let response = app
        .post_json_as(&admin.token, "/admin/clients", &json!({"client_id": "billing", "roles": ["reporter"], "scopes": ["reports"]}))
        .await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let created = json_body(response).await;
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 43);

    let listed = json_body(app.get_as(&admin.token, "/admin/clients").await).await;
    assert_eq!(listed[0]["client_id"], "billing");
    assert!(!listed.to_string().contains(&secret), "the secret is shown only once");
    assert!(listed[0].get("secret_hash").is_none());

    let token = app
        .client
        .post(app.url("/oauth/token"))
        .basic_auth("billing", Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 200);

    let disabled = json_body(app.post_as(&admin.token, "/admin/clients/billing/disable").await).await;
    assert_eq!(disabled["disabled"], true);
    let refused = app
        .client
        .post(app.url("/oauth/token"))
        .basic_auth("billing", Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let enabled = json_body(app.post_as(&admin.token, "/admin/clients/billing/enable").await).await;
    assert_eq!(enabled["disabled"], false);
    assert_eq!(app.delete_as(&admin.token, "/admin/clients/billing").await.status(), 204);
    assert_problem(app.delete_as(&admin.token, "/admin/clients/billing").await, 404, "not_found").await;
});

both_backends!(async fn client_mistakes_are_refused(app) {
    let admin = app.create_admin("root").await;
    app.post_json_as(&admin.token, "/admin/clients", &json!({"client_id": "svc"})).await;
    let dup = app.post_json_as(&admin.token, "/admin/clients", &json!({"client_id": "svc"})).await;
    assert_problem(dup, 409, "already_exists").await;
    let role = app.post_json_as(&admin.token, "/admin/clients", &json!({"client_id": "x", "roles": ["ghost"]})).await;
    assert_problem(role, 404, "not_found").await;
    let scope = app.post_json_as(&admin.token, "/admin/clients", &json!({"client_id": "y", "scopes": ["a\"b"]})).await;
    assert_problem(scope, 422, "validation_failed").await;
});

both_backends!(async fn every_admin_change_is_in_the_audit_log_and_filters_apply(app) {
    let admin = app.create_admin("root").await;
    app.post_json_as(&admin.token, "/admin/roles", &json!({"name": "reporter"})).await;
    app.post_json_as(&admin.token, "/admin/groups", &json!({"name": "ops"})).await;
    app.create_user("bob", &[]).await;
    app.clock.advance(time::Duration::minutes(1));
    app.put_as(&admin.token, "/admin/users/bob/roles/reporter").await;

    let all = json_body(app.get_as(&admin.token, "/admin/audit").await).await;
    let actions: Vec<&str> = all["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for expected in ["admin.role.create", "admin.group.create", "admin.user.role_grant"] {
        assert!(actions.contains(&expected), "{expected} missing from {actions:?}");
    }
    assert_eq!(actions[0], "admin.user.role_grant", "newest first");

    let filtered = json_body(app.get_as(&admin.token, "/admin/audit?action=admin.role.create").await).await;
    let items = filtered["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["actor"], admin.user.id.to_string());
    assert_eq!(items[0]["target"], "reporter");

    let since = "2026-06-01T12:00:30Z";
    let recent = json_body(app.get_as(&admin.token, &format!("/admin/audit?since={since}")).await).await;
    let recent: Vec<&str> = recent["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(recent, ["admin.user.role_grant"]);
    let by_actor = json_body(app.get_as(&admin.token, &format!("/admin/audit?actor={}&limit=2", admin.user.id)).await).await;
    assert_eq!(by_actor["items"].as_array().unwrap().len(), 2);

    let bad = app.get_as(&admin.token, "/admin/audit?since=yesterday").await;
    assert_problem(bad, 400, "invalid_request").await;
    let unknown = app.get_as(&admin.token, "/admin/audit?colour=red").await;
    assert_problem(unknown, 400, "invalid_request").await;
});

both_backends!(async fn a_rotated_key_is_published_at_once_signs_after_one_reload_interval_and_the_old_one_retires(app) {
    let admin = app.create_admin("root").await;
    let old_kid = app.state.keys().signer().kid().as_str().to_owned();
    // The first key has been published for a reload interval by the time anyone rotates.
    app.clock.advance(time::Duration::minutes(1));
    let rotated = json_body(app.post_as(&admin.token, "/admin/keys/rotate").await).await;
    let new_kid = rotated["kid"].as_str().unwrap().to_owned();
    assert_ne!(new_kid, old_kid);

    let kids = |jwks: serde_json::Value| -> Vec<String> {
        jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_owned()).collect()
    };
    let published = kids(json_body(app.get("/.well-known/jwks.json").await).await);
    assert!(published.contains(&old_kid) && published.contains(&new_kid), "{published:?}");
    // Until every instance has had a reload interval to publish it, the new key does not sign.
    assert_eq!(app.state.keys().signer().kid().as_str(), old_kid);
    let audit = json_body(app.get_as(&admin.token, "/admin/audit?action=admin.keys.rotate").await).await;
    assert_eq!(audit["items"][0]["target"], new_kid.as_str());

    app.clock.advance(time::Duration::minutes(1));
    app.state.keys().reload(app.clock.now()).await.unwrap();
    assert_eq!(app.state.keys().signer().kid().as_str(), new_kid);
    // A token signed with the retired key still verifies...
    assert_eq!(app.get_as(&admin.token, "/admin/users").await.status(), 200);

    // ...until access TTL + 2 reload intervals + leeway after the rotation; then it is gone.
    app.clock.advance(time::Duration::minutes(15 + 1 + 1) + time::Duration::seconds(1));
    app.state.keys().reload(app.clock.now()).await.unwrap();
    let published = kids(json_body(app.get("/.well-known/jwks.json").await).await);
    assert_eq!(published, [new_kid]);
});
