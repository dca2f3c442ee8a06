//! `/healthz` and `/readyz`.

use gatehouse_testkit::{assert_problem, both_backends, json_body};

both_backends!(async fn healthz_answers_ok(app) {
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    assert_eq!(json_body(response).await["status"], "ok");
});

both_backends!(async fn readyz_answers_ready_while_the_database_is_reachable(app) {
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 200);
    assert_eq!(json_body(response).await["status"], "ready");
});

both_backends!(async fn readyz_answers_503_once_the_database_is_gone(app) {
    app.state.store().close().await;
    let response = app.get("/readyz").await;
    assert_problem(response, 503, "unavailable").await;
});
