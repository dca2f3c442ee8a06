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
