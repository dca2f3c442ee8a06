//! Sequential latency of the store's hot paths on both backends.
//!
//! `cargo run -p gatehouse-store --features testing --example store_latency [-- ROUNDS]`
//! (PostgreSQL from `GATEHOUSE_TEST_POSTGRES_URL`, a throwaway database dropped afterwards).
//! Wall-clock figures on a shared machine: compare backends and versions, not absolute values.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a measuring tool: fail loudly

use std::time::Instant;

use gatehouse_store::testing::TestDatabase;
use gatehouse_store::{NewRefreshToken, NewSession, NewUser, Store, TokenHash};
use time::Duration;
use time::macros::datetime;

const T0: time::OffsetDateTime = datetime!(2026-11-26 08:00 UTC);

async fn timed<F: AsyncFnMut(usize)>(label: &str, rounds: usize, mut op: F) {
    let start = Instant::now();
    for i in 0..rounds {
        op(i).await;
    }
    let per_op = start.elapsed() / u32::try_from(rounds).unwrap();
    println!("  {label:<28} {:>8.1} µs/op", per_op.as_secs_f64() * 1e6);
}

async fn measure(store: &dyn Store, rounds: usize) {
    let user = store
        .create_user(
            NewUser {
                username: "bench".into(),
                email: None,
                password_hash: "$argon2id$x".into(),
            },
            T0,
        )
        .await
        .unwrap()
        .id;
    timed("create_user", rounds, async |i| {
        let new = NewUser {
            username: format!("user{i}"),
            email: None,
            password_hash: "$argon2id$x".into(),
        };
        store.create_user(new, T0).await.unwrap();
    })
    .await;
    timed("user_by_username", rounds, async |i| {
        store
            .user_by_username(&format!("USER{i}"))
            .await
            .unwrap()
            .unwrap();
    })
    .await;
    timed("effective_access", rounds, async |_| {
        store.effective_access(user).await.unwrap();
    })
    .await;
    let expires_at = T0 + Duration::days(30);
    store
        .create_session(
            NewSession {
                user_id: user,
                user_agent: None,
                ip: None,
                token: TokenHash::of_token("r0"),
                expires_at,
            },
            T0,
        )
        .await
        .unwrap();
    timed("rotate_refresh_token", rounds, async |i| {
        let parent = TokenHash::of_token(&format!("r{i}"));
        let child = NewRefreshToken {
            hash: TokenHash::of_token(&format!("r{}", i + 1)),
            expires_at,
        };
        store.rotate_refresh_token(parent, child, T0).await.unwrap();
    })
    .await;
    timed("revoke_jti", rounds, async |i| {
        store
            .revoke_jti(&format!("jti{i}"), expires_at, T0)
            .await
            .unwrap();
    })
    .await;
    timed("is_jti_revoked", rounds, async |i| {
        assert!(store.is_jti_revoked(&format!("jti{i}")).await.unwrap());
    })
    .await;
}

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(500);
    for db in [
        TestDatabase::sqlite().unwrap(),
        TestDatabase::postgres().await.unwrap(),
    ] {
        let store = gatehouse_store::connect(db.url()).await.unwrap();
        println!(
            "{:?}, {rounds} sequential operations each:",
            store.backend()
        );
        measure(store.as_ref(), rounds).await;
        store.close().await;
        db.cleanup().await;
    }
}
