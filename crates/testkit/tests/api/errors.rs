//! Cross-cutting error behaviour: unknown routes, wrong methods, bad bodies and tokens all
//! answer problem+json.

use gatehouse_testkit::{assert_problem, both_backends};

both_backends!(async fn an_unknown_path_is_a_problem_404(app) {
    assert_problem(app.get("/no/such/thing").await, 404, "not_found").await;
});

both_backends!(async fn a_wrong_method_is_a_problem_405(app) {
    let response = app.client.delete(app.url("/healthz")).send().await.unwrap();
    assert_problem(response, 405, "method_not_allowed").await;
});

both_backends!(async fn a_body_over_the_limit_is_a_problem_413(app) {
    let admin = app.create_admin("root").await;
    let huge = serde_json::json!({"username": "x".repeat(70 * 1024), "password": "p"});
    let response = app.post_json_as(&admin.token, "/admin/users", &huge).await;
    assert_problem(response, 413, "payload_too_large").await;
});

both_backends!(async fn a_request_id_sent_by_the_client_is_echoed(app) {
    let response = app.client.get(app.url("/healthz")).header("x-request-id", "trace-123").send().await.unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-123");
});
