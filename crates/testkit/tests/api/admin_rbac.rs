//! `/admin/roles` and `/admin/groups`: permissions reach tokens through roles and groups.

use gatehouse_testkit::{assert_problem, both_backends, json_body};
use serde_json::json;

both_backends!(async fn roles_are_created_with_permissions_listed_changed_and_deleted(app) {
    let admin = app.create_admin("root").await;
    let created = app
        .post_json_as(&admin.token, "/admin/roles", &json!({"name": "reporter", "description": "reads reports", "permissions": ["reports:read"]}))
        .await;
    assert_eq!(created.status(), 201);
    assert_eq!(json_body(created).await["permissions"], json!(["reports:read"]));
    let roles = json_body(app.get_as(&admin.token, "/admin/roles").await).await;
    let names: Vec<&str> = roles.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"admin") && names.contains(&"reporter"), "{names:?}");

    let granted = json_body(app.put_as(&admin.token, "/admin/roles/reporter/permissions/reports:write").await).await;
    assert_eq!(granted["permissions"], json!(["reports:read", "reports:write"]));
    let revoked = json_body(app.delete_as(&admin.token, "/admin/roles/reporter/permissions/reports:read").await).await;
    assert_eq!(revoked["permissions"], json!(["reports:write"]));
    let shown = json_body(app.get_as(&admin.token, "/admin/roles/reporter").await).await;
    assert_eq!(shown["description"], "reads reports");

    assert_eq!(app.delete_as(&admin.token, "/admin/roles/reporter").await.status(), 204);
    assert_problem(app.get_as(&admin.token, "/admin/roles/reporter").await, 404, "not_found").await;
});

both_backends!(async fn role_mistakes_are_refused(app) {
    let admin = app.create_admin("root").await;
    let dup = app.post_json_as(&admin.token, "/admin/roles", &json!({"name": "admin"})).await;
    assert_problem(dup, 409, "already_exists").await;
    let bad = app.post_json_as(&admin.token, "/admin/roles", &json!({"name": "two words"})).await;
    assert_problem(bad, 422, "validation_failed").await;
    let bad_perm = app.post_json_as(&admin.token, "/admin/roles", &json!({"name": "x", "permissions": ["a b"]})).await;
    assert_problem(bad_perm, 422, "validation_failed").await;
    assert_problem(app.delete_as(&admin.token, "/admin/roles/admin").await, 409, "protected").await;
    let strip = app.delete_as(&admin.token, "/admin/roles/admin/permissions/gatehouse:admin").await;
    assert_problem(strip, 409, "protected").await;
    assert_problem(app.put_as(&admin.token, "/admin/roles/ghost/permissions/x:y").await, 404, "not_found").await;
});

both_backends!(async fn a_group_confers_its_roles_permissions_on_its_members(app) {
    let admin = app.create_admin("root").await;
    app.post_json_as(&admin.token, "/admin/roles", &json!({"name": "reporter", "permissions": ["reports:read"]})).await;
    app.create_user("bob", &[]).await;
    let created = app.post_json_as(&admin.token, "/admin/groups", &json!({"name": "finance", "description": "money"})).await;
    assert_eq!(created.status(), 201);
    let with_member = json_body(app.put_as(&admin.token, "/admin/groups/finance/members/bob").await).await;
    assert_eq!(with_member["members"][0]["username"], "bob");
    let with_role = json_body(app.put_as(&admin.token, "/admin/groups/finance/roles/reporter").await).await;
    assert_eq!(with_role["roles"], json!(["reporter"]));

    let details = json_body(app.get_as(&admin.token, "/admin/users/bob").await).await;
    assert_eq!(details["roles"], json!([]));
    assert_eq!(details["access"]["groups"], json!(["finance"]));
    assert_eq!(details["access"]["permissions"], json!(["reports:read"]));
    let token = app.login("bob").await.token;
    let me = json_body(app.get_as(&token, "/auth/me").await).await;
    assert!(me.to_string().contains("reports:read"), "{me}");

    let groups = json_body(app.get_as(&admin.token, "/admin/groups").await).await;
    assert_eq!(groups.as_array().unwrap().len(), 1);
    let removed = json_body(app.delete_as(&admin.token, "/admin/groups/finance/members/bob").await).await;
    assert_eq!(removed["members"], json!([]));
    let unroled = json_body(app.delete_as(&admin.token, "/admin/groups/finance/roles/reporter").await).await;
    assert_eq!(unroled["roles"], json!([]));
    assert_eq!(app.delete_as(&admin.token, "/admin/groups/finance").await.status(), 204);
    assert_problem(app.get_as(&admin.token, "/admin/groups/finance").await, 404, "not_found").await;
});

both_backends!(async fn group_mistakes_are_refused(app) {
    let admin = app.create_admin("root").await;
    app.post_json_as(&admin.token, "/admin/groups", &json!({"name": "ops"})).await;
    let dup = app.post_json_as(&admin.token, "/admin/groups", &json!({"name": "ops"})).await;
    assert_problem(dup, 409, "already_exists").await;
    assert_problem(app.put_as(&admin.token, "/admin/groups/ops/members/nobody").await, 404, "not_found").await;
    assert_problem(app.put_as(&admin.token, "/admin/groups/ghost/members/root").await, 404, "not_found").await;
    assert_problem(app.put_as(&admin.token, "/admin/groups/ops/roles/ghost").await, 404, "not_found").await;
});
