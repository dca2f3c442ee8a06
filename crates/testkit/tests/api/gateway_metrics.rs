//! `GET /metrics`: the gateway's counters in the Prometheus text format, and `[metrics]`
//! turning it off.

use crate::gateway_support::{Upstream, gateway_test, spawn_gateway};

gateway_test!(async fn metrics_count_decisions_and_verifications_by_outcome(backend) {
    let upstream = Upstream::start().await;
    let app = spawn_gateway(backend, &upstream, |_| {}).await;
    let user = app.create_user("alice", &[]).await;
    assert_eq!(app.get("/public/x").await.status(), 200);
    assert_eq!(app.get("/nowhere").await.status(), 404);
    assert_eq!(app.get("/api/x").await.status(), 401);
    assert_eq!(app.get_as(&user.token, "/api/reports").await.status(), 403);
    assert_eq!(app.get_as(&user.token, "/api/x").await.status(), 200);

    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"),
    );
    let text = response.text().await.unwrap();
    for line in [
        "# TYPE gatehouse_gateway_decisions_total counter",
        "gatehouse_gateway_decisions_total{outcome=\"allowed\"} 2",
        "gatehouse_gateway_decisions_total{outcome=\"forbidden\"} 1",
        "gatehouse_gateway_decisions_total{outcome=\"no_route\"} 1",
        "gatehouse_gateway_decisions_total{outcome=\"denied\",reason=\"no_credentials\"} 1",
        "gatehouse_gateway_token_verifications_total 1",
        "gatehouse_gateway_token_cache_hits_total 1",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
    }
});

gateway_test!(async fn metrics_turned_off_leave_the_path_to_the_gateway(backend) {
    let upstream = Upstream::start().await;
    let app = spawn_gateway(backend, &upstream, |config| {
        config.metrics.enabled = Some(false);
    })
    .await;
    // No route covers /metrics: deny by default, nothing about the counters leaks.
    gatehouse_testkit::assert_problem(app.get("/metrics").await, 404, "not_found").await;
});
