//! Behaviour of the store, one test body per behaviour, each run against SQLite and PostgreSQL.
//!
//! `backends!` turns every body into a module with a `sqlite` and a `postgres` test, each on a
//! fresh database (a temp file; a new PostgreSQL database from `GATEHOUSE_TEST_POSTGRES_URL`,
//! dropped afterwards).

// Test code: a panic with the value is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use futures_util::StreamExt;
use gatehouse_store::testing::TestDatabase;
use gatehouse_store::{
    ADMIN_PERMISSION, ADMIN_ROLE, Access, AuditQuery, Backend, NewAuditEvent, NewClient,
    NewRefreshToken, NewSession, NewSigningKey, NewUser, PageRequest, Revocation, RevocationCursor,
    RevocationFeedItem, Rotation, SessionId, Store, StoreError, TokenHash, UserId, UserQuery,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// A fixed "now"; tests move it explicitly instead of sleeping.
const T0: OffsetDateTime = datetime!(2026-11-26 08:00 UTC);

/// What a test body gets: a connected store and the URL to open a second one on.
struct Ctx {
    store: Arc<dyn Store>,
    url: String,
}

async fn run<F, Fut>(db: TestDatabase, body: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()>,
{
    let store = gatehouse_store::connect(db.url())
        .await
        .expect("connect and migrate");
    body(Ctx {
        store: store.clone(),
        url: db.url().to_owned(),
    })
    .await;
    store.close().await;
    db.cleanup().await;
}

macro_rules! backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = gatehouse_store::testing::TestDatabase::sqlite().expect("temp dir");
                super::run(db, super::$name).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let db = gatehouse_store::testing::TestDatabase::postgres()
                    .await
                    .expect("create a PostgreSQL test database (is the server running?)");
                super::run(db, super::$name).await;
            }
        }
    )*};
}

backends!(
    usernames_are_unique_ignoring_case,
    users_are_listed_by_username_with_search_and_paging,
    changing_a_missing_user_is_not_found,
    deleting_a_user_removes_their_sessions_and_grants,
    the_admin_role_is_built_in,
    effective_access_unions_direct_and_group_roles,
    grants_name_what_is_missing,
    groups_list_members_and_roles,
    rotation_marks_the_token_used_and_stores_the_child,
    concurrent_rotations_of_one_token_have_exactly_one_winner,
    a_revoked_session_cannot_rotate,
    revoking_all_sessions_of_a_user_leaves_others_alone,
    jti_revocation_is_recorded_once_and_purged_after_expiry,
    purging_removes_expired_sessions_and_idle_throttles_only,
    revocations_reach_a_second_instance,
    the_feed_asks_for_a_resync_after_its_connection_is_cut,
    a_follower_sees_every_revocation_once_in_log_order,
    a_follower_reports_each_time_it_has_read_the_log_to_its_end,
    the_log_end_is_the_newest_cursor,
    disabling_a_user_is_logged_once_and_enabling_is_not,
    disabling_or_deleting_a_client_is_logged,
    logout_all_sets_sessions_valid_after_and_logs_it,
    audit_queries_filter_by_action_actor_and_time,
    the_newest_unretired_key_is_active,
    throttle_counts_failures_within_a_window,
    concurrent_failures_are_all_counted,
    clients_round_trip_with_roles_and_scopes,
    writes_survive_closing_and_reopening,
);

fn new_user(name: &str) -> NewUser {
    NewUser {
        username: name.to_owned(),
        email: Some(format!("{}@example.test", name.to_lowercase())),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
    }
}

async fn user(store: &dyn Store, name: &str) -> UserId {
    store
        .create_user(new_user(name), T0)
        .await
        .expect("create user")
        .id
}

async fn session(store: &dyn Store, user: UserId, token: &str) -> SessionId {
    store
        .create_session(
            NewSession {
                user_id: user,
                user_agent: Some("test-agent".to_owned()),
                ip: Some("192.0.2.1".to_owned()),
                token: TokenHash::of_token(token),
                expires_at: T0 + Duration::days(30),
            },
            T0,
        )
        .await
        .expect("create session")
        .id
}

fn child(token: &str) -> NewRefreshToken {
    NewRefreshToken {
        hash: TokenHash::of_token(token),
        expires_at: T0 + Duration::days(30),
    }
}

// ---------------------------------------------------------------------------------------------
// Users

async fn usernames_are_unique_ignoring_case(ctx: Ctx) {
    let store = ctx.store.as_ref();
    let alice = store.create_user(new_user("Alice"), T0).await.unwrap();
    assert_eq!(alice.username, "Alice");
    assert_eq!(alice.created_at, T0);

    let taken = store.create_user(new_user("aLICE"), T0).await;
    assert!(
        matches!(taken, Err(StoreError::Conflict { what: "username" })),
        "{taken:?}"
    );

    let found = store
        .user_by_username("ALICE")
        .await
        .unwrap()
        .expect("found ignoring case");
    assert_eq!(found, alice);
    assert_eq!(store.user(alice.id).await.unwrap(), Some(alice));
    assert_eq!(store.user_by_username("bob").await.unwrap(), None);
}

async fn users_are_listed_by_username_with_search_and_paging(ctx: Ctx) {
    let store = ctx.store.as_ref();
    for name in ["carol", "Bob", "alice", "dave_x", "davex"] {
        user(store, name).await;
    }
    let all = store.list_users(&UserQuery::default()).await.unwrap();
    let names: Vec<_> = all.items.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["alice", "Bob", "carol", "dave_x", "davex"]);
    assert_eq!(all.total, 5);

    let page = store
        .list_users(&UserQuery {
            search: None,
            page: PageRequest {
                offset: 1,
                limit: 2,
            },
        })
        .await
        .unwrap();
    let names: Vec<_> = page.items.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["Bob", "carol"]);
    assert_eq!(page.total, 5);

    // Substring of the e-mail, any case.
    let found = store
        .list_users(&UserQuery {
            search: Some("B@EXAMPLE".into()),
            page: PageRequest::default(),
        })
        .await
        .unwrap();
    assert_eq!(found.items.len(), 1);
    assert_eq!(found.items[0].username, "Bob");
    assert_eq!(found.total, 1);

    // `_` is a literal underscore, not a LIKE wildcard.
    let found = store
        .list_users(&UserQuery {
            search: Some("e_x".into()),
            page: PageRequest::default(),
        })
        .await
        .unwrap();
    let names: Vec<_> = found.items.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["dave_x"]);
}

async fn changing_a_missing_user_is_not_found(ctx: Ctx) {
    let store = ctx.store.as_ref();
    let ghost = UserId::new(T0);
    let not_found =
        |r: Result<(), StoreError>| matches!(r, Err(StoreError::NotFound { what: "user" }));
    assert!(not_found(store.set_user_disabled(ghost, true, T0).await));
    assert!(not_found(store.set_password_hash(ghost, "x").await));
    assert!(not_found(
        store.set_sessions_valid_after(ghost, T0, T0).await
    ));
    assert!(not_found(store.delete_user(ghost, T0).await));
    assert_eq!(
        store
            .revocations_since(RevocationCursor::START, 10)
            .await
            .unwrap(),
        [],
        "a change that found no user revokes nothing"
    );

    let alice = user(store, "alice").await;
    store.set_user_disabled(alice, true, T0).await.unwrap();
    store
        .set_password_hash(alice, "$argon2id$new")
        .await
        .unwrap();
    let read = store.user(alice).await.unwrap().unwrap();
    assert!(read.disabled);
    assert_eq!(read.password_hash, "$argon2id$new");
}

async fn deleting_a_user_removes_their_sessions_and_grants(ctx: Ctx) {
    let store = ctx.store.as_ref();
    let alice = user(store, "alice").await;
    store.grant_user_role(alice, ADMIN_ROLE).await.unwrap();
    let sid = session(store, alice, "t1").await;
    let deleted_at = T0 + Duration::milliseconds(1500);
    store.delete_user(alice, deleted_at).await.unwrap();
    assert_eq!(store.user(alice).await.unwrap(), None);
    // Gateways following the log hear that every token of hers is void, including one
    // issued earlier in the very second of the deletion (`iat` is whole seconds).
    let log = store
        .revocations_since(RevocationCursor::START, 10)
        .await
        .unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        log[0].revocation,
        Revocation::User {
            user_id: alice,
            valid_after: T0 + Duration::seconds(2)
        }
    );
    assert_eq!(store.session(sid).await.unwrap(), None);
    assert_eq!(
        store.effective_access(alice).await.unwrap(),
        Access::default()
    );
    // The username is free again.
    user(store, "ALICE").await;
}

// ---------------------------------------------------------------------------------------------
// Roles and groups

async fn the_admin_role_is_built_in(ctx: Ctx) {
    let store = ctx.store.as_ref();
    let admin = store
        .role(ADMIN_ROLE)
        .await
        .unwrap()
        .expect("created by the migration");
    assert_eq!(admin.permissions, [ADMIN_PERMISSION]);
    let taken = store.create_role(ADMIN_ROLE, "again").await;
    assert!(
        matches!(taken, Err(StoreError::Conflict { what: "role" })),
        "{taken:?}"
    );
}

async fn effective_access_unions_direct_and_group_roles(ctx: Ctx) {
    let store = ctx.store.as_ref();
    let alice = user(store, "alice").await;
    store.create_role("reader", "").await.unwrap();
    store.create_role("writer", "").await.unwrap();
    for (role, permission) in [
        ("reader", "reports:read"),
        ("writer", "reports:read"),
        ("writer", "reports:write"),
    ] {
        store.grant_permission(role, permission).await.unwrap();
    }
    // Granting twice is not an error and not a duplicate.
    store
        .grant_permission("reader", "reports:read")
        .await
        .unwrap();
    store.create_group("staff", "").await.unwrap();
    store.create_group("empty", "").await.unwrap();
    store.grant_group_role("staff", "writer").await.unwrap();
    store.grant_group_role("staff", "reader").await.unwrap();
    store.add_group_member("staff", alice).await.unwrap();
    store.add_group_member("empty", alice).await.unwrap();
    store.grant_user_role(alice, "reader").await.unwrap();

    let access = store.effective_access(alice).await.unwrap();
    assert_eq!(access.roles, ["reader", "writer"]);
    assert_eq!(access.groups, ["empty", "staff"]);
    assert_eq!(access.permissions, ["reports:read", "reports:write"]);
    assert_eq!(store.user_roles(alice).await.unwrap(), ["reader"]);

    store.remove_group_member("staff", alice).await.unwrap();
    let access = store.effective_access(alice).await.unwrap();
    assert_eq!(access.roles, ["reader"]);
    assert_eq!(access.groups, ["empty"]);
    assert_eq!(access.permissions, ["reports:read"]);

    store
        .revoke_permission("reader", "reports:read")
        .await
        .unwrap();
    store.revoke_user_role(alice, "reader").await.unwrap();
    assert_eq!(
        store.effective_access(alice).await.unwrap(),
        Access {
            groups: vec!["empty".into()],
            ..Access::default()
        }
    );
}

async fn grants_name_what_is_missing(ctx: Ctx) {
    let store = ctx.store.as_ref();
    let alice = user(store, "alice").await;
    let ghost = UserId::new(T0);
    store.create_group("staff", "").await.unwrap();
    let missing = |r: Result<(), StoreError>| match r {
        Err(StoreError::NotFound { what }) => what,
        other => panic!("expected NotFound, got {other:?}"),
    };
    assert_eq!(missing(store.grant_user_role(alice, "nope").await), "role");
    assert_eq!(
        missing(store.grant_user_role(ghost, ADMIN_ROLE).await),
        "user"
    );
    assert_eq!(missing(store.grant_permission("nope", "p").await), "role");
    assert_eq!(
        missing(store.add_group_member("nope", alice).await),
        "group"
    );
    assert_eq!(
        missing(store.add_group_member("staff", ghost).await),
        "user"
    );
    assert_eq!(
        missing(store.grant_group_role("nope", ADMIN_ROLE).await),
        "group"
    );
    assert_eq!(
        missing(store.grant_group_role("staff", "nope").await),
        "role"
    );
    assert_eq!(missing(store.delete_role("nope").await), "role");
    assert_eq!(missing(store.delete_group("nope").await), "group");
    let taken = store.create_group("staff", "").await;
    assert!(
        matches!(taken, Err(StoreError::Conflict { what: "group" })),
        "{taken:?}"
    );
}

async fn groups_list_members_and_roles(ctx: Ctx) {
    let store = ctx.store.as_ref();
    let bob = user(store, "bob").await;
    let alice = user(store, "Alice").await;
    store.create_group("staff", "everyone paid").await.unwrap();
    store.create_group("admins", "").await.unwrap();
    store.add_group_member("staff", bob).await.unwrap();
    store.add_group_member("staff", alice).await.unwrap();
    store.grant_group_role("admins", ADMIN_ROLE).await.unwrap();

    let staff = store.group("staff").await.unwrap().unwrap();
    assert_eq!(staff.description, "everyone paid");
    let members: Vec<_> = staff
        .members
        .iter()
        .map(|m| (m.id, m.username.as_str()))
        .collect();
    assert_eq!(members, [(alice, "Alice"), (bob, "bob")]);

    let groups = store.list_groups().await.unwrap();
    let names: Vec<_> = groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["admins", "staff"]);
    assert_eq!(groups[0].roles, [ADMIN_ROLE]);

    store.delete_group("staff").await.unwrap();
    assert_eq!(store.group("staff").await.unwrap(), None);
    assert!(store.user(bob).await.unwrap().is_some());
}

// ---------------------------------------------------------------------------------------------
// Sessions and refresh rotation

async fn rotation_marks_the_token_used_and_stores_the_child(ctx: Ctx) {
    let store = ctx.store.as_ref();
    let alice = user(store, "alice").await;
    let sid = session(store, alice, "t1").await;
    let later = T0 + Duration::minutes(5);

    let Rotation::Rotated { session } = store
        .rotate_refresh_token(TokenHash::of_token("t1"), child("t2"), later)
        .await
        .unwrap()
    else {
        panic!("a fresh token rotates");
    };
    assert_eq!(session.id, sid);
    assert_eq!(session.last_used_at, later);

    // Presenting t1 again shows what it was exchanged for, and changes nothing.
    let Rotation::AlreadyUsed(reuse) = store
        .rotate_refresh_token(TokenHash::of_token("t1"), child("t3"), later)
        .await
        .unwrap()
    else {
        panic!("a used token is reported as reused");
    };
    assert_eq!(reuse.token.used_at, Some(later));
    assert_eq!(reuse.token.replaced_by, Some(TokenHash::of_token("t2")));
    let t2 = reuse.child.expect("child stored");
    assert_eq!(t2.hash, TokenHash::of_token("t2"));
    assert_eq!(t2.parent, Some(TokenHash::of_token("t1")));
    assert_eq!(t2.used_at, None);

    // The child rotates in turn; an unknown token and an expired one do not.
    assert!(matches!(
        store
            .rotate_refresh_token(TokenHash::of_token("t2"), child("t3"), later)
            .await
            .unwrap(),
        Rotation::Rotated { .. }
    ));
    assert_eq!(
        store
            .rotate_refresh_token(TokenHash::of_token("nope"), child("t4"), later)
            .await
            .unwrap(),
        Rotation::Unknown
    );
    let past_expiry = T0 + Duration::days(31);
    assert!(matches!(
        store
            .rotate_refresh_token(TokenHash::of_token("t3"), child("t4"), past_expiry)
            .await
            .unwrap(),
        Rotation::Expired { .. }
    ));
    assert_eq!(store.user_sessions(alice, later).await.unwrap().len(), 1);
    assert!(
        store
            .user_sessions(alice, past_expiry)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn concurrent_rotations_of_one_token_have_exactly_one_winner(ctx: Ctx) {
    let alice = user(ctx.store.as_ref(), "alice").await;
    // Repeated so the two rotations really overlap on some rounds.
    for round in 0..10 {
        let parent = format!("parent-{round}");
        session(ctx.store.as_ref(), alice, &parent).await;
        let spawn_rotation = |child_token: String| {
            let store = ctx.store.clone();
            let parent = TokenHash::of_token(&parent);
            tokio::spawn(async move {
                store
                    .rotate_refresh_token(parent, child(&child_token), T0)
                    .await
                    .unwrap()
            })
        };
        let a = spawn_rotation(format!("a-{round}"));
        let b = spawn_rotation(format!("b-{round}"));
        let (a, b) = (a.await.unwrap(), b.await.unwrap());
        let (winner, loser, winner_child) = match (&a, &b) {
            (Rotation::Rotated { .. }, _) => (&a, &b, format!("a-{round}")),
            (_, Rotation::Rotated { .. }) => (&b, &a, format!("b-{round}")),
            _ => panic!("round {round}: nobody won: {a:?} / {b:?}"),
        };
        assert!(matches!(winner, Rotation::Rotated { .. }));
        let Rotation::AlreadyUsed(reuse) = loser else {
            panic!("round {round}: both won or the loser saw {loser:?}");
        };
        assert_eq!(
            reuse.token.replaced_by,
            Some(TokenHash::of_token(&winner_child))
        );
    }
}

async fn a_revoked_session_cannot_rotate(ctx: Ctx) {
    let store = ctx.store.as_ref();
    let alice = user(store, "alice").await;
    let sid = session(store, alice, "t1").await;
    let later = T0 + Duration::minutes(1);
    store.revoke_session(sid, later).await.unwrap();
    // Revoking twice is fine; an unknown session is not.
    store.revoke_session(sid, later).await.unwrap();
    let unknown = store.revoke_session(SessionId::new(T0), later).await;
    assert!(
        matches!(unknown, Err(StoreError::NotFound { what: "session" })),
        "{unknown:?}"
    );

    let Rotation::SessionRevoked { session } = store
        .rotate_refresh_token(TokenHash::of_token("t1"), child("t2"), later)
        .await
        .unwrap()
    else {
        panic!("a revoked family does not rotate");
    };
    assert_eq!(session.revoked_at, Some(later));
    assert!(store.user_sessions(alice, later).await.unwrap().is_empty());

    let log = store
        .revocations_since(RevocationCursor::START, 100)
        .await
        .unwrap();
    let revocations: Vec<_> = log.into_iter().map(|e| e.revocation).collect();
    assert_eq!(
        revocations,
        [Revocation::Session {
            session_id: sid,
            user_id: alice
        }]
    );
}

async fn revoking_all_sessions_of_a_user_leaves_others_alone(ctx: Ctx) {
    let store = ctx.store.as_ref();
    let alice = user(store, "alice").await;
    let bob = user(store, "bob").await;
    for token in ["a1", "a2", "a3"] {
        session(store, alice, token).await;
    }
    let bobs = session(store, bob, "b1").await;
    assert_eq!(
        store
            .list_sessions(PageRequest::default(), T0)
            .await
            .unwrap()
            .total,
        4
    );

    assert_eq!(store.revoke_user_sessions(alice, T0).await.unwrap(), 3);
    assert_eq!(store.revoke_user_sessions(alice, T0).await.unwrap(), 0);
    assert!(store.user_sessions(alice, T0).await.unwrap().is_empty());
    let remaining = store
        .list_sessions(PageRequest::default(), T0)
        .await
        .unwrap();
    assert_eq!(remaining.total, 1);
    assert_eq!(remaining.items[0].id, bobs);
    assert_eq!(remaining.items[0].user_agent.as_deref(), Some("test-agent"));
    assert_eq!(
        store
            .revocations_since(RevocationCursor::START, 100)
            .await
            .unwrap()
            .len(),
        3
    );
}

// ---------------------------------------------------------------------------------------------
// Revocations

async fn jti_revocation_is_recorded_once_and_purged_after_expiry(ctx: Ctx) {
    let store = ctx.store.as_ref();
    let exp = T0 + Duration::minutes(15);
    assert!(!store.is_jti_revoked("jti-1").await.unwrap());
    store.revoke_jti("jti-1", exp, T0).await.unwrap();
    store.revoke_jti("jti-1", exp, T0).await.unwrap();
    store.revoke_jti("jti-2", exp, T0).await.unwrap();
    assert!(store.is_jti_revoked("jti-1").await.unwrap());

    let log = store
        .revocations_since(RevocationCursor::START, 100)
        .await
        .unwrap();
    assert_eq!(log.len(), 2, "a repeated revocation is logged once");
    assert_eq!(
        log[0].revocation,
        Revocation::Token {
            jti: "jti-1".into(),
            expires_at: exp
        }
    );
    assert!(log[0].cursor < log[1].cursor);
    let after_first = store.revocations_since(log[0].cursor, 100).await.unwrap();
    assert_eq!(after_first, log[1..]);

    assert_eq!(
        store
            .purge_expired(exp - Duration::seconds(1))
            .await
            .unwrap(),
        0
    );
    store.purge_expired(exp).await.unwrap();
    assert!(!store.is_jti_revoked("jti-1").await.unwrap());
    // Log entries outlive the purge by a day.
    assert_eq!(
        store
            .revocations_since(RevocationCursor::START, 100)
            .await
            .unwrap()
            .len(),
        2
    );
    store.purge_expired(T0 + Duration::days(2)).await.unwrap();
    assert!(
        store
            .revocations_since(RevocationCursor::START, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn purging_removes_expired_sessions_and_idle_throttles_only(ctx: Ctx) {
    let store = ctx.store.as_ref();
    let alice = user(store, "alice").await;
    let old = session(store, alice, "old").await; // expires at T0 + 30 days
    let later = T0 + Duration::days(20);
    let fresh = store
        .create_session(
            NewSession {
                user_id: alice,
                user_agent: None,
                ip: None,
                token: TokenHash::of_token("fresh"),
                expires_at: later + Duration::days(30),
            },
            later,
        )
        .await
        .unwrap()
        .id;
    store
        .record_failure("ip:idle", Duration::minutes(15), T0)
        .await
        .unwrap();
    let locked_until = T0 + Duration::days(40);
    store
        .record_failure("ip:locked", Duration::minutes(15), T0)
        .await
        .unwrap();
    store.lock_until("ip:locked", locked_until).await.unwrap();

    let after_first_expiry = T0 + Duration::days(31);
    store.purge_expired(after_first_expiry).await.unwrap();
    assert_eq!(store.session(old).await.unwrap(), None);
    assert!(store.session(fresh).await.unwrap().is_some());
    assert_eq!(store.throttle("ip:idle").await.unwrap(), None);
    assert!(
        store.throttle("ip:locked").await.unwrap().is_some(),
        "still locked"
    );
    assert!(matches!(
        store
            .rotate_refresh_token(
                TokenHash::of_token("fresh"),
                child("next"),
                after_first_expiry
            )
            .await
            .unwrap(),
        Rotation::Rotated { .. }
    ));
}

async fn revocations_reach_a_second_instance(ctx: Ctx) {
    let other = gatehouse_store::connect(&ctx.url).await.unwrap();
    let feed = other.subscribe_revocations().await.unwrap();
    let Some(mut feed) = feed else {
        assert_eq!(
            other.backend(),
            Backend::Sqlite,
            "only SQLite has no push feed"
        );
        other.close().await;
        return;
    };
    // Listening starts with a resync: what was logged before is in the log, not the feed.
    assert_eq!(
        feed.next().await.unwrap().unwrap(),
        RevocationFeedItem::Resync
    );
    let alice = user(ctx.store.as_ref(), "alice").await;
    let exp = T0 + Duration::minutes(15);
    ctx.store.revoke_jti("jti-9", exp, T0).await.unwrap();
    ctx.store
        .set_sessions_valid_after(alice, T0, T0)
        .await
        .unwrap();

    // The timeout only stops a broken feed from hanging the suite.
    let mut next = async || {
        let item = tokio::time::timeout(StdDuration::from_secs(30), feed.next())
            .await
            .expect("notification within 30 s")
            .expect("feed open")
            .expect("well-formed notification");
        match item {
            RevocationFeedItem::Event(event) => event,
            RevocationFeedItem::Resync => panic!("no reconnect happened"),
        }
    };
    let first = next().await;
    assert_eq!(
        first.revocation,
        Revocation::Token {
            jti: "jti-9".into(),
            expires_at: exp
        }
    );
    let second = next().await;
    assert_eq!(
        second.revocation,
        Revocation::User {
            user_id: alice,
            valid_after: T0
        }
    );
    assert_eq!(
        ctx.store
            .revocations_since(RevocationCursor::START, 10)
            .await
            .unwrap(),
        [first, second]
    );
    drop(feed);
    other.close().await;
}

/// The next item of `stream`; the timeout only stops a broken stream from hanging the suite.
async fn within_30s<T>(stream: &mut (impl futures_util::Stream<Item = T> + Unpin)) -> T {
    tokio::time::timeout(StdDuration::from_secs(30), stream.next())
        .await
        .expect("an item within 30 s")
        .expect("stream open")
}

async fn the_feed_asks_for_a_resync_after_its_connection_is_cut(ctx: Ctx) {
    let Some(mut feed) = ctx.store.subscribe_revocations().await.unwrap() else {
        assert_eq!(ctx.store.backend(), Backend::Sqlite);
        return;
    };
    assert_eq!(
        within_30s(&mut feed).await.unwrap(),
        RevocationFeedItem::Resync
    );
    let cut = gatehouse_store::testing::cut_revocation_listeners(&ctx.url)
        .await
        .unwrap();
    assert_eq!(cut, 1, "the feed's one listening connection");
    // Committed while the feed may be away: its notification can be lost for good.
    let exp = T0 + Duration::minutes(15);
    ctx.store.revoke_jti("during-cut", exp, T0).await.unwrap();
    // The cut is reported (as an error, or as a reconnect), and a resync follows before the
    // feed goes on, whether or not the notification made it.
    let mut resynced = false;
    for _ in 0..5 {
        match within_30s(&mut feed).await {
            Ok(RevocationFeedItem::Resync) => {
                resynced = true;
                break;
            }
            Ok(RevocationFeedItem::Event(event)) => panic!("event before the resync: {event:?}"),
            Err(_) => {}
        }
    }
    assert!(resynced, "a resync after the cut");
    let log = ctx
        .store
        .revocations_since(RevocationCursor::START, 10)
        .await
        .unwrap();
    assert_eq!(
        log.len(),
        1,
        "the resync's re-read finds what the feed missed"
    );
    // And the feed is live again.
    ctx.store.revoke_jti("after-cut", exp, T0).await.unwrap();
    let item = within_30s(&mut feed).await.unwrap();
    let RevocationFeedItem::Event(event) = item else {
        panic!("expected the live event, got {item:?}");
    };
    assert_eq!(
        event.revocation,
        Revocation::Token {
            jti: "after-cut".into(),
            expires_at: exp
        }
    );
}

async fn a_follower_sees_every_revocation_once_in_log_order(ctx: Ctx) {
    let store = ctx.store.clone();
    let exp = T0 + Duration::minutes(15);
    let jti = |event: gatehouse_store::RevocationEvent| match event.revocation {
        Revocation::Token { jti, .. } => jti,
        other => panic!("unexpected {other:?}"),
    };
    store.revoke_jti("before-0", exp, T0).await.unwrap();
    store.revoke_jti("before-1", exp, T0).await.unwrap();
    let log = store
        .revocations_since(RevocationCursor::START, 10)
        .await
        .unwrap();
    // SQLite can only poll. On PostgreSQL the poll is left out of the picture (an hour), so
    // everything after the start must come through the feed or its resyncs.
    let poll = match store.backend() {
        Backend::Sqlite => StdDuration::from_millis(20),
        Backend::Postgres => StdDuration::from_secs(3600),
    };
    // Resuming after the first event: the second is the first one owed.
    let mut follower = gatehouse_store::follow_revocations(store.clone(), log[0].cursor, poll);
    assert_eq!(jti(within_30s(&mut follower).await.unwrap()), "before-1");

    store.revoke_jti("live-0", exp, T0).await.unwrap();
    assert_eq!(jti(within_30s(&mut follower).await.unwrap()), "live-0");

    if store.backend() == Backend::Postgres {
        // Cut the feed and revoke at once, so the notification is likely sent while nobody
        // listens; the follower must still deliver it, once.
        let cut = gatehouse_store::testing::cut_revocation_listeners(&ctx.url)
            .await
            .unwrap();
        assert_eq!(cut, 1);
        store.revoke_jti("during-cut", exp, T0).await.unwrap();
        let mut item = within_30s(&mut follower).await;
        // The cut itself may surface as one error item.
        if item.is_err() {
            item = within_30s(&mut follower).await;
        }
        assert_eq!(jti(item.unwrap()), "during-cut");
    }
    store.revoke_jti("live-1", exp, T0).await.unwrap();
    assert_eq!(jti(within_30s(&mut follower).await.unwrap()), "live-1");
    // Nothing twice: with everything delivered, nothing more is pending.
    assert!(
        tokio::time::timeout(StdDuration::from_millis(200), follower.next())
            .await
            .is_err(),
        "no duplicate"
    );
}

async fn a_follower_reports_each_time_it_has_read_the_log_to_its_end(ctx: Ctx) {
    use gatehouse_store::Followed;
    let store = ctx.store.clone();
    let exp = T0 + Duration::minutes(15);
    store.revoke_jti("before", exp, T0).await.unwrap();
    let started = tokio::time::Instant::now();
    let mut follower = gatehouse_store::follow_revocation_log(
        store.clone(),
        RevocationCursor::START,
        StdDuration::from_millis(20),
    );
    // What the log held comes first, then the report that it was read to its end.
    let Followed::Event(event) = within_30s(&mut follower).await.unwrap() else {
        panic!("the logged event first");
    };
    assert!(matches!(event.revocation, Revocation::Token { ref jti, .. } if jti == "before"));
    let Followed::CaughtUp { as_of: first } = within_30s(&mut follower).await.unwrap() else {
        panic!("caught up after the log's only event");
    };
    assert!(
        first >= started,
        "the read began after the follower was made"
    );
    // With nothing new, each poll reports again, later each time.
    let Followed::CaughtUp { as_of: second } = within_30s(&mut follower).await.unwrap() else {
        panic!("nothing was revoked meanwhile");
    };
    assert!(second > first);
    // A new revocation comes before the report of the read that found it (on PostgreSQL it
    // may also arrive live first; either way, in log order and once).
    store.revoke_jti("later", exp, T0).await.unwrap();
    let committed = tokio::time::Instant::now();
    loop {
        match within_30s(&mut follower).await.unwrap() {
            Followed::Event(event) => {
                assert!(
                    matches!(event.revocation, Revocation::Token { ref jti, .. } if jti == "later")
                );
                break;
            }
            Followed::CaughtUp { as_of } => assert!(
                as_of < committed,
                "a read that began after the commit would have found the event"
            ),
        }
    }
    let Followed::CaughtUp { as_of } = within_30s(&mut follower).await.unwrap() else {
        panic!("nothing more was revoked");
    };
    assert!(as_of > second);
}

async fn the_log_end_is_the_newest_cursor(ctx: Ctx) {
    let store = ctx.store.clone();
    assert_eq!(
        store.revocation_log_end().await.unwrap(),
        RevocationCursor::START
    );
    let exp = T0 + Duration::minutes(15);
    store.revoke_jti("old-0", exp, T0).await.unwrap();
    store.revoke_jti("old-1", exp, T0).await.unwrap();
    let end = store.revocation_log_end().await.unwrap();
    let log = store
        .revocations_since(RevocationCursor::START, 10)
        .await
        .unwrap();
    assert_eq!(end, log[1].cursor);
    // Following from the end skips the history and delivers what comes next.
    let mut follower =
        gatehouse_store::follow_revocations(store.clone(), end, StdDuration::from_millis(20));
    store.revoke_jti("new", exp, T0).await.unwrap();
    let event = within_30s(&mut follower).await.unwrap();
    assert!(matches!(event.revocation, Revocation::Token { ref jti, .. } if jti == "new"));
    // The end never moves back, even when the log has been purged empty.
    store.purge_expired(exp + Duration::days(2)).await.unwrap();
    assert_eq!(
        store
            .revocations_since(RevocationCursor::START, 10)
            .await
            .unwrap(),
        []
    );
    store
        .revoke_jti(
            "after-purge",
            exp + Duration::days(3),
            exp + Duration::days(2),
        )
        .await
        .unwrap();
    assert!(store.revocation_log_end().await.unwrap() > event.cursor);
}

async fn disabling_a_user_is_logged_once_and_enabling_is_not(ctx: Ctx) {
    let store = ctx.store.as_ref();
    let alice = user(store, "alice").await;
    let at = T0 + Duration::milliseconds(1500);
    store.set_user_disabled(alice, true, at).await.unwrap();
    assert!(store.user(alice).await.unwrap().unwrap().disabled);
    // Disabling again changes nothing and is no news; enabling revokes nothing.
    store.set_user_disabled(alice, true, at).await.unwrap();
    store.set_user_disabled(alice, false, at).await.unwrap();
    assert!(!store.user(alice).await.unwrap().unwrap().disabled);
    store.set_user_disabled(alice, false, at).await.unwrap();
    let log = store
        .revocations_since(RevocationCursor::START, 10)
        .await
        .unwrap();
    assert_eq!(log.len(), 1, "{log:?}");
    // Like a deletion: every token issued up to the change, even earlier in its second.
    assert_eq!(
        log[0].revocation,
        Revocation::User {
            user_id: alice,
            valid_after: T0 + Duration::seconds(2)
        }
    );
    assert_eq!(log[0].at, T0 + Duration::seconds(1));
}

async fn disabling_or_deleting_a_client_is_logged(ctx: Ctx) {
    let store = ctx.store.as_ref();
    let new = |id: &str| NewClient {
        client_id: id.to_owned(),
        secret_hash: "$argon2id$secret".to_owned(),
        name: id.to_owned(),
        roles: vec![],
        scopes: vec![],
    };
    store.create_client(new("billing"), T0).await.unwrap();
    store.create_client(new("reports"), T0).await.unwrap();
    let not_found =
        |r: Result<(), StoreError>| matches!(r, Err(StoreError::NotFound { what: "client" }));
    assert!(not_found(
        store.set_client_disabled("ghost", true, T0).await
    ));
    assert!(not_found(store.delete_client("ghost", T0).await));

    store
        .set_client_disabled("billing", true, T0)
        .await
        .unwrap();
    assert!(store.client("billing").await.unwrap().unwrap().disabled);
    store
        .set_client_disabled("billing", true, T0)
        .await
        .unwrap();
    store
        .set_client_disabled("billing", false, T0)
        .await
        .unwrap();
    assert!(!store.client("billing").await.unwrap().unwrap().disabled);
    store.delete_client("reports", T0).await.unwrap();

    let log = store
        .revocations_since(RevocationCursor::START, 10)
        .await
        .unwrap();
    let revocations: Vec<_> = log.into_iter().map(|e| e.revocation).collect();
    assert_eq!(
        revocations,
        [
            Revocation::Client {
                client_id: "billing".into()
            },
            Revocation::Client {
                client_id: "reports".into()
            },
        ]
    );
    // The live feed carries the new kind too.
    if let Some(mut feed) = store.subscribe_revocations().await.unwrap() {
        assert_eq!(
            within_30s(&mut feed).await.unwrap(),
            RevocationFeedItem::Resync
        );
        store
            .set_client_disabled("billing", true, T0)
            .await
            .unwrap();
        let RevocationFeedItem::Event(event) = within_30s(&mut feed).await.unwrap() else {
            panic!("the live event");
        };
        assert_eq!(
            event.revocation,
            Revocation::Client {
                client_id: "billing".into()
            }
        );
    }
}

async fn logout_all_sets_sessions_valid_after_and_logs_it(ctx: Ctx) {
    let store = ctx.store.as_ref();
    let alice = user(store, "alice").await;
    assert_eq!(
        store
            .user(alice)
            .await
            .unwrap()
            .unwrap()
            .sessions_valid_after,
        None
    );
    let at = T0 + Duration::hours(1);
    store.set_sessions_valid_after(alice, at, at).await.unwrap();
    assert_eq!(
        store
            .user(alice)
            .await
            .unwrap()
            .unwrap()
            .sessions_valid_after,
        Some(at)
    );
    let log = store
        .revocations_since(RevocationCursor::START, 10)
        .await
        .unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].at, at);
    assert_eq!(
        log[0].revocation,
        Revocation::User {
            user_id: alice,
            valid_after: at
        }
    );
}

// ---------------------------------------------------------------------------------------------
// Audit, keys, throttling, clients

async fn audit_queries_filter_by_action_actor_and_time(ctx: Ctx) {
    let store = ctx.store.as_ref();
    let event = |minute: i64, actor: &str, action: &str| NewAuditEvent {
        at: T0 + Duration::minutes(minute),
        actor: actor.to_owned(),
        action: action.to_owned(),
        target: Some("alice".to_owned()),
        ip: Some("192.0.2.7".to_owned()),
        details: serde_json::json!({ "minute": minute }),
    };
    for (minute, actor, action) in [
        (0, "alice", "login.success"),
        (1, "mallory", "login.failure"),
        (2, "mallory", "login.failure"),
        (3, "system", "keys.rotate"),
        (4, "alice", "logout"),
    ] {
        store
            .append_audit(event(minute, actor, action))
            .await
            .unwrap();
    }
    let minutes = |events: Vec<gatehouse_store::AuditEvent>| -> Vec<i64> {
        events
            .iter()
            .map(|e| e.details["minute"].as_i64().unwrap())
            .collect()
    };
    let all = store.query_audit(&AuditQuery::default()).await.unwrap();
    assert_eq!(all[0].target.as_deref(), Some("alice"));
    assert_eq!(all[0].at, T0 + Duration::minutes(4));
    assert_eq!(minutes(all), [4, 3, 2, 1, 0], "newest first");

    let q = |f: fn(&mut AuditQuery)| {
        let mut query = AuditQuery::default();
        f(&mut query);
        query
    };
    let by_action = q(|q| q.action = Some("login.failure".into()));
    assert_eq!(
        minutes(store.query_audit(&by_action).await.unwrap()),
        [2, 1]
    );
    let by_actor = q(|q| q.actor = Some("alice".into()));
    assert_eq!(minutes(store.query_audit(&by_actor).await.unwrap()), [4, 0]);
    let window = q(|q| {
        q.since = Some(T0 + Duration::minutes(1));
        q.until = Some(T0 + Duration::minutes(3));
    });
    assert_eq!(minutes(store.query_audit(&window).await.unwrap()), [2, 1]);
    let limited = q(|q| q.limit = 2);
    assert_eq!(minutes(store.query_audit(&limited).await.unwrap()), [4, 3]);
    let combined = q(|q| {
        q.actor = Some("mallory".into());
        q.since = Some(T0 + Duration::minutes(2));
    });
    assert_eq!(minutes(store.query_audit(&combined).await.unwrap()), [2]);
}

async fn the_newest_unretired_key_is_active(ctx: Ctx) {
    let store = ctx.store.as_ref();
    let key = |kid: &str, not_after: Option<OffsetDateTime>| NewSigningKey {
        kid: kid.to_owned(),
        algorithm: "ES256".to_owned(),
        private_pem: format!("-----BEGIN PRIVATE KEY-----\n{kid}\n-----END PRIVATE KEY-----\n"),
        not_after,
    };
    assert_eq!(store.active_signing_key(T0).await.unwrap(), None);
    store.add_signing_key(key("k1", None), T0).await.unwrap();
    // Same second: insertion order decides.
    store.add_signing_key(key("k2", None), T0).await.unwrap();
    let taken = store.add_signing_key(key("k1", None), T0).await;
    assert!(
        matches!(taken, Err(StoreError::Conflict { what: "kid" })),
        "{taken:?}"
    );

    let kids = |keys: Vec<gatehouse_store::SigningKey>| -> Vec<String> {
        keys.into_iter().map(|k| k.kid).collect()
    };
    assert_eq!(kids(store.signing_keys().await.unwrap()), ["k2", "k1"]);
    assert_eq!(
        store.active_signing_key(T0).await.unwrap().unwrap().kid,
        "k2"
    );

    let later = T0 + Duration::days(1);
    store
        .add_signing_key(key("k3", Some(later + Duration::hours(1))), later)
        .await
        .unwrap();
    assert_eq!(
        store.active_signing_key(later).await.unwrap().unwrap().kid,
        "k3"
    );
    // Past its not_after, k3 no longer signs.
    let after = later + Duration::hours(2);
    assert_eq!(
        store.active_signing_key(after).await.unwrap().unwrap().kid,
        "k2"
    );
    store.retire_signing_key("k2", after).await.unwrap();
    assert_eq!(
        store.active_signing_key(after).await.unwrap().unwrap().kid,
        "k1"
    );
    let k2 = store
        .signing_keys()
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.kid == "k2")
        .unwrap();
    assert_eq!(k2.retired_at, Some(after));

    store.delete_signing_key("k1").await.unwrap();
    assert_eq!(kids(store.signing_keys().await.unwrap()), ["k3", "k2"]);
    assert!(matches!(
        store.retire_signing_key("k1", after).await,
        Err(StoreError::NotFound { what: "kid" })
    ));
}

async fn throttle_counts_failures_within_a_window(ctx: Ctx) {
    let store = ctx.store.as_ref();
    let window = Duration::minutes(15);
    assert_eq!(store.throttle("user:alice").await.unwrap(), None);
    for (i, minute) in [0, 5, 14].into_iter().enumerate() {
        let state = store
            .record_failure("user:alice", window, T0 + Duration::minutes(minute))
            .await
            .unwrap();
        assert_eq!(state.failures, u32::try_from(i + 1).unwrap());
        assert_eq!(state.window_start, T0);
    }
    store
        .lock_until("user:alice", T0 + Duration::minutes(20))
        .await
        .unwrap();
    let state = store.throttle("user:alice").await.unwrap().unwrap();
    assert_eq!(state.locked_until, Some(T0 + Duration::minutes(20)));

    // Once the window has passed, counting starts again.
    let fresh = T0 + Duration::minutes(15);
    let state = store
        .record_failure("user:alice", window, fresh)
        .await
        .unwrap();
    assert_eq!((state.failures, state.window_start), (1, fresh));
    // Other keys are separate.
    assert_eq!(
        store
            .record_failure("ip:192.0.2.1", window, T0)
            .await
            .unwrap()
            .failures,
        1
    );

    store.reset_throttle("user:alice").await.unwrap();
    assert_eq!(store.throttle("user:alice").await.unwrap(), None);
    assert!(matches!(
        store.lock_until("user:alice", T0).await,
        Err(StoreError::NotFound {
            what: "throttle key"
        })
    ));
}

async fn concurrent_failures_are_all_counted(ctx: Ctx) {
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let store = ctx.store.clone();
            tokio::spawn(async move {
                store
                    .record_failure("ip:198.51.100.1", Duration::minutes(15), T0)
                    .await
                    .unwrap()
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let state = ctx
        .store
        .throttle("ip:198.51.100.1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.failures, 12);
}

async fn clients_round_trip_with_roles_and_scopes(ctx: Ctx) {
    let store = ctx.store.as_ref();
    store.create_role("reporter", "").await.unwrap();
    let new = |id: &str, roles: &[&str]| NewClient {
        client_id: id.to_owned(),
        secret_hash: "$argon2id$secret".to_owned(),
        name: "Reports job".to_owned(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        scopes: vec!["reports.write".to_owned(), "reports.read".to_owned()],
    };
    let created = store
        .create_client(new("reports", &["reporter", ADMIN_ROLE]), T0)
        .await
        .unwrap();
    assert_eq!(created.roles, [ADMIN_ROLE, "reporter"]);
    assert_eq!(created.scopes, ["reports.read", "reports.write"]);
    assert_eq!(created.created_at, T0);
    assert!(!created.disabled);

    let taken = store.create_client(new("reports", &[]), T0).await;
    assert!(
        matches!(taken, Err(StoreError::Conflict { what: "client" })),
        "{taken:?}"
    );
    let bad_role = store.create_client(new("other", &["nope"]), T0).await;
    assert!(
        matches!(bad_role, Err(StoreError::NotFound { what: "role" })),
        "{bad_role:?}"
    );
    assert_eq!(
        store.client("other").await.unwrap(),
        None,
        "the failed insert left nothing"
    );

    store
        .set_client_disabled("reports", true, T0)
        .await
        .unwrap();
    store
        .set_client_secret("reports", "$argon2id$rotated")
        .await
        .unwrap();
    let read = store.client("reports").await.unwrap().unwrap();
    assert!(read.disabled);
    assert_eq!(read.secret_hash, "$argon2id$rotated");
    assert_eq!(store.list_clients().await.unwrap(), [read]);
    store.delete_client("reports", T0).await.unwrap();
    assert!(matches!(
        store.delete_client("reports", T0).await,
        Err(StoreError::NotFound { what: "client" })
    ));
}

async fn writes_survive_closing_and_reopening(ctx: Ctx) {
    let alice = user(ctx.store.as_ref(), "alice").await;
    session(ctx.store.as_ref(), alice, "t1").await;
    ctx.store.close().await;

    let reopened = gatehouse_store::connect(&ctx.url).await.unwrap();
    assert_eq!(
        reopened
            .user_by_username("alice")
            .await
            .unwrap()
            .map(|u| u.id),
        Some(alice)
    );
    assert_eq!(reopened.user_sessions(alice, T0).await.unwrap().len(), 1);
    reopened.ping().await.unwrap();
    reopened.close().await;
}

#[tokio::test]
async fn an_unknown_url_scheme_is_refused_without_echoing_the_url() {
    let error = gatehouse_store::connect("mysql://root:hunter2@db/gatehouse")
        .await
        .err()
        .unwrap();
    assert!(matches!(&error, StoreError::UnsupportedUrl { scheme } if scheme == "mysql"));
    assert!(!error.to_string().contains("hunter2"));
}
