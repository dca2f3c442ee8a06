//! Flow tests of [`Auth`] against the real SQLite store in a temporary directory. Time is moved
//! by passing a later `now`, never by sleeping.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use gatehouse_store::{AuditQuery, NewClient, Store};
use gatehouse_token::{Algorithm, KeySet, SigningKey, UnixTime, Validation, Verifier, unverified};
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::{
    AccessClaims, Auth, AuthConfig, AuthError, ClientContext, HashingConfig, IssuedTokens,
    NewAccount, PasswordHasher, SignupMode, TokenSubject,
};

const T0: OffsetDateTime = datetime!(2026-03-01 12:00 UTC);
const ISSUER: &str = "https://auth.example.com";
const PASSWORD: &str = "correct horse battery staple";

struct Fixture {
    auth: Auth,
    store: Arc<dyn Store>,
    key: SigningKey,
    _dir: tempfile::TempDir,
}

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

fn ctx() -> ClientContext {
    ClientContext {
        ip: Some("192.0.2.7".into()),
        user_agent: Some("tests".into()),
    }
}

fn secs(n: i64) -> time::Duration {
    time::Duration::seconds(n)
}

async fn fixture_with(configure: impl FnOnce(&mut AuthConfig)) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("auth.db").display());
    let store = gatehouse_store::connect(&url).await.unwrap();
    store.create_role("reader", "reads").await.unwrap();
    store
        .grant_permission("reader", "reports:read")
        .await
        .unwrap();
    let mut config = AuthConfig::new(ISSUER, vec!["api".to_owned()]);
    config.default_roles = vec!["reader".to_owned()];
    configure(&mut config);
    // Tiny Argon2 parameters keep the tests fast; the code path is the production one.
    let hasher = PasswordHasher::new(&HashingConfig {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
        max_concurrent: NonZeroUsize::MIN,
    })
    .unwrap();
    let auth = Auth::new(Arc::clone(&store), config, hasher);
    Fixture {
        auth,
        store,
        key: SigningKey::generate(Algorithm::Es256).unwrap(),
        _dir: dir,
    }
}

async fn fixture() -> Fixture {
    fixture_with(|_| {}).await
}

impl Fixture {
    async fn signup(&self, username: &str) -> crate::Account {
        self.auth
            .signup(
                NewAccount {
                    username: username.into(),
                    password: secret(PASSWORD),
                    email: None,
                },
                &ctx(),
                T0,
            )
            .await
            .unwrap()
    }

    async fn login(
        &self,
        username: &str,
        password: &str,
        now: OffsetDateTime,
    ) -> Result<IssuedTokens, AuthError> {
        self.auth
            .login(username, &secret(password), &self.key, &ctx(), now)
            .await
    }

    async fn refresh(&self, token: &str, now: OffsetDateTime) -> Result<IssuedTokens, AuthError> {
        self.auth.refresh(token, &self.key, &ctx(), now).await
    }

    fn verify(&self, token: &str, now: OffsetDateTime) -> AccessClaims {
        let verifier = Verifier::new(
            KeySet::new(vec![self.key.verifying_key()]).unwrap(),
            Validation::new()
                .with_issuers([ISSUER])
                .with_audiences(["api"])
                .with_expected_typ("at+jwt"),
        );
        let verified = verifier
            .verify(token, UnixTime::from_secs(now.unix_timestamp()))
            .unwrap();
        AccessClaims::from_verified(verified.claims.as_map()).unwrap()
    }

    async fn actions(&self, action: &str) -> Vec<gatehouse_store::AuditEvent> {
        self.store
            .query_audit(&AuditQuery {
                action: Some(action.to_owned()),
                ..AuditQuery::default()
            })
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn signup_creates_an_account_with_the_default_roles_and_audits_it() {
    let f = fixture().await;
    let account = f.signup("Alice").await;
    assert_eq!(account.username, "Alice");
    assert_eq!(account.access.roles, ["reader"]);
    assert_eq!(account.access.permissions, ["reports:read"]);
    let events = f.actions("signup").await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].target.as_deref(),
        Some(account.id.to_string().as_str())
    );
}

#[tokio::test]
async fn signup_with_a_username_taken_in_another_case_is_refused() {
    let f = fixture().await;
    f.signup("alice").await;
    let again = f
        .auth
        .signup(
            NewAccount {
                username: "ALICE".into(),
                password: secret(PASSWORD),
                email: None,
            },
            &ctx(),
            T0,
        )
        .await;
    assert!(matches!(again, Err(AuthError::UsernameTaken)));
}

#[tokio::test]
async fn signup_with_a_weak_password_or_bad_username_is_refused_before_anything_is_stored() {
    let f = fixture().await;
    let weak = f
        .auth
        .signup(
            NewAccount {
                username: "bob".into(),
                password: secret("password1"),
                email: None,
            },
            &ctx(),
            T0,
        )
        .await;
    assert!(matches!(weak, Err(AuthError::WeakPassword(_))));
    let bad = f
        .auth
        .signup(
            NewAccount {
                username: "b b".into(),
                password: secret(PASSWORD),
                email: None,
            },
            &ctx(),
            T0,
        )
        .await;
    assert!(matches!(bad, Err(AuthError::InvalidUsername(_))));
    assert!(f.store.user_by_username("bob").await.unwrap().is_none());
}

#[tokio::test]
async fn signup_when_closed_is_refused() {
    let f = fixture_with(|c| c.signup = SignupMode::Closed).await;
    let result = f
        .auth
        .signup(
            NewAccount {
                username: "alice".into(),
                password: secret(PASSWORD),
                email: None,
            },
            &ctx(),
            T0,
        )
        .await;
    assert!(matches!(result, Err(AuthError::SignupClosed)));
}

#[tokio::test]
async fn login_issues_an_rfc_9068_access_token_with_roles_groups_and_permissions() {
    let f = fixture().await;
    let account = f.signup("alice").await;
    f.store.create_group("staff", "").await.unwrap();
    f.store.create_role("writer", "").await.unwrap();
    f.store
        .grant_permission("writer", "reports:write")
        .await
        .unwrap();
    f.store.grant_group_role("staff", "writer").await.unwrap();
    f.store.add_group_member("staff", account.id).await.unwrap();

    let tokens = f.login("ALICE", PASSWORD, T0).await.unwrap();
    assert_eq!(tokens.expires_in, 900);
    assert_eq!(tokens.refresh_expires_in, 30 * 24 * 3600);

    let header = unverified::inspect(&tokens.access_token).unwrap().header;
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["kid"], f.key.kid().as_str());

    let claims = f.verify(&tokens.access_token, T0);
    assert_eq!(claims.iss, ISSUER);
    assert_eq!(claims.sub, account.id.to_string());
    assert_eq!(claims.aud, ["api"]);
    assert_eq!(
        (claims.iat, claims.nbf),
        (T0.unix_timestamp(), T0.unix_timestamp())
    );
    assert_eq!(claims.exp, T0.unix_timestamp() + 900);
    assert_eq!(claims.preferred_username.as_deref(), Some("alice"));
    assert_eq!(claims.client_id, "gatehouse");
    assert_eq!(claims.roles, ["reader", "writer"]);
    assert_eq!(claims.groups, ["staff"]);
    assert_eq!(claims.permissions, ["reports:read", "reports:write"]);
    assert_eq!(claims.sid, Some(tokens.session.to_string()));
    assert!(!claims.jti.is_empty());
    assert_eq!(f.actions("login.success").await.len(), 1);
}

#[tokio::test]
async fn an_unknown_user_and_a_wrong_password_fail_alike() {
    let f = fixture().await;
    f.signup("alice").await;
    let unknown = f.login("mallory", PASSWORD, T0).await;
    let wrong = f.login("alice", "wrong horse battery staple", T0).await;
    assert!(matches!(unknown, Err(AuthError::InvalidCredentials)));
    assert!(matches!(wrong, Err(AuthError::InvalidCredentials)));
    let failures = f.actions("login.failure").await;
    let mut reasons: Vec<_> = failures
        .iter()
        .map(|e| e.details["reason"].as_str().unwrap().to_owned())
        .collect();
    reasons.sort();
    assert_eq!(reasons, ["unknown_user", "wrong_password"]);
}

#[tokio::test]
async fn a_disabled_account_cannot_log_in_even_with_the_right_password() {
    let f = fixture().await;
    let account = f.signup("alice").await;
    f.store
        .set_user_disabled(account.id, true, T0)
        .await
        .unwrap();
    assert!(matches!(
        f.login("alice", PASSWORD, T0).await,
        Err(AuthError::InvalidCredentials)
    ));
}

#[tokio::test]
async fn an_imported_bcrypt_hash_is_replaced_by_argon2id_at_the_next_login() {
    let f = fixture().await;
    let account = f.signup("alice").await;
    let bcrypt_hash = bcrypt::hash(PASSWORD, 4)
        .unwrap()
        .replacen("$2b$", "$2y$", 1);
    f.store
        .set_password_hash(account.id, &bcrypt_hash)
        .await
        .unwrap();
    f.login("alice", PASSWORD, T0).await.unwrap();
    let stored = f
        .store
        .user(account.id)
        .await
        .unwrap()
        .unwrap()
        .password_hash;
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    // And the upgraded hash still accepts the password.
    f.login("alice", PASSWORD, T0).await.unwrap();
}

#[tokio::test]
async fn repeated_failures_lock_the_account_with_growing_delays() {
    let f = fixture().await;
    f.signup("alice").await;
    let mut now = T0;
    for _ in 0..6 {
        assert!(matches!(
            f.login("alice", "nope nope nope", now).await,
            Err(AuthError::InvalidCredentials)
        ));
    }
    // The sixth failure locked the account for 1 s; even the right password waits.
    match f.login("alice", PASSWORD, now).await {
        Err(AuthError::Throttled { retry_after }) => {
            assert_eq!(retry_after, Duration::from_secs(1))
        }
        other => panic!("expected throttling, got {other:?}"),
    }
    now += secs(1);
    assert!(matches!(
        f.login("alice", "nope nope nope", now).await,
        Err(AuthError::InvalidCredentials)
    ));
    match f.login("alice", PASSWORD, now).await {
        Err(AuthError::Throttled { retry_after }) => {
            assert_eq!(retry_after, Duration::from_secs(2))
        }
        other => panic!("expected throttling, got {other:?}"),
    }
    now += secs(2);
    f.login("alice", PASSWORD, now).await.unwrap();
    assert_eq!(f.actions("login.throttled").await.len(), 2);
}

#[tokio::test]
async fn an_unknown_username_is_throttled_like_a_real_one() {
    let f = fixture().await;
    for _ in 0..6 {
        let _ = f.login("ghost", "nope nope nope", T0).await;
    }
    assert!(matches!(
        f.login("ghost", "nope nope nope", T0).await,
        Err(AuthError::Throttled { .. })
    ));
}

#[tokio::test]
async fn refresh_rotates_and_the_old_token_is_then_refused_after_the_grace() {
    let f = fixture().await;
    f.signup("alice").await;
    let first = f.login("alice", PASSWORD, T0).await.unwrap();
    let second = f
        .refresh(first.refresh_token.expose(), T0 + secs(60))
        .await
        .unwrap();
    assert_ne!(second.refresh_token.expose(), first.refresh_token.expose());
    assert_eq!(second.session, first.session);
    assert_eq!(
        f.verify(&second.access_token, T0 + secs(60)).iat,
        (T0 + secs(60)).unix_timestamp()
    );
    let third = f
        .refresh(second.refresh_token.expose(), T0 + secs(120))
        .await
        .unwrap();
    assert_eq!(third.session, first.session);
}

#[tokio::test]
async fn the_same_token_twice_within_the_grace_gets_the_same_child() {
    let f = fixture().await;
    f.signup("alice").await;
    let login = f.login("alice", PASSWORD, T0).await.unwrap();
    let tab1 = f.refresh(login.refresh_token.expose(), T0).await.unwrap();
    let tab2 = f
        .refresh(login.refresh_token.expose(), T0 + secs(10))
        .await
        .unwrap();
    assert_eq!(tab1.refresh_token.expose(), tab2.refresh_token.expose());
    assert!(f.actions("refresh.reuse_detected").await.is_empty());
    // The shared child keeps working.
    f.refresh(tab2.refresh_token.expose(), T0 + secs(20))
        .await
        .unwrap();
}

#[tokio::test]
async fn reuse_after_the_grace_revokes_the_whole_family_and_is_audited() {
    let f = fixture().await;
    f.signup("alice").await;
    let login = f.login("alice", PASSWORD, T0).await.unwrap();
    let child = f.refresh(login.refresh_token.expose(), T0).await.unwrap();
    assert!(matches!(
        f.refresh(login.refresh_token.expose(), T0 + secs(11)).await,
        Err(AuthError::InvalidGrant)
    ));
    // The legitimate holder's child dies with the family.
    assert!(matches!(
        f.refresh(child.refresh_token.expose(), T0 + secs(12)).await,
        Err(AuthError::InvalidGrant)
    ));
    let detected = f.actions("refresh.reuse_detected").await;
    assert_eq!(detected.len(), 1);
    assert_eq!(detected[0].details["session"], login.session.to_string());
    // Its access tokens are refused too.
    let claims = f.verify(&child.access_token, T0 + secs(12));
    assert!(matches!(
        f.auth.check_access_token(&claims).await,
        Err(AuthError::SessionEnded)
    ));
}

#[tokio::test]
async fn reuse_within_the_grace_after_the_child_was_used_is_theft() {
    let f = fixture().await;
    f.signup("alice").await;
    let login = f.login("alice", PASSWORD, T0).await.unwrap();
    let child = f.refresh(login.refresh_token.expose(), T0).await.unwrap();
    f.refresh(child.refresh_token.expose(), T0 + secs(1))
        .await
        .unwrap();
    assert!(matches!(
        f.refresh(login.refresh_token.expose(), T0 + secs(2)).await,
        Err(AuthError::InvalidGrant)
    ));
    assert_eq!(f.actions("refresh.reuse_detected").await.len(), 1);
}

#[tokio::test]
async fn an_expired_or_made_up_refresh_token_is_an_invalid_grant() {
    let f = fixture().await;
    f.signup("alice").await;
    let login = f.login("alice", PASSWORD, T0).await.unwrap();
    let after_30_days = T0 + time::Duration::days(30) + secs(1);
    assert!(matches!(
        f.refresh(login.refresh_token.expose(), after_30_days).await,
        Err(AuthError::InvalidGrant)
    ));
    let never_issued = crate::RefreshToken::generate();
    for junk in ["", "x", never_issued.expose()] {
        assert!(matches!(
            f.refresh(junk, T0).await,
            Err(AuthError::InvalidGrant)
        ));
    }
}

#[tokio::test]
async fn logout_ends_the_session_and_revokes_the_access_token() {
    let f = fixture().await;
    f.signup("alice").await;
    let login = f.login("alice", PASSWORD, T0).await.unwrap();
    let other = f.login("alice", PASSWORD, T0).await.unwrap();
    f.auth.logout(&login.claims, &ctx(), T0).await.unwrap();
    assert!(matches!(
        f.auth.check_access_token(&login.claims).await,
        Err(AuthError::SessionEnded)
    ));
    assert!(f.store.is_jti_revoked(&login.claims.jti).await.unwrap());
    assert!(matches!(
        f.refresh(login.refresh_token.expose(), T0 + secs(1)).await,
        Err(AuthError::InvalidGrant)
    ));
    // Another session of the same user is untouched.
    assert!(f.auth.check_access_token(&other.claims).await.is_ok());
    assert_eq!(f.actions("logout").await.len(), 1);
}

#[tokio::test]
async fn logout_all_ends_every_session_but_not_a_later_login() {
    let f = fixture().await;
    let account = f.signup("alice").await;
    let a = f.login("alice", PASSWORD, T0).await.unwrap();
    let b = f.login("alice", PASSWORD, T0).await.unwrap();
    let ended = f
        .auth
        .logout_all(account.id, &account.id.to_string(), &ctx(), T0 + secs(5))
        .await
        .unwrap();
    assert_eq!(ended, 2);
    for tokens in [&a, &b] {
        assert!(f.auth.check_access_token(&tokens.claims).await.is_err());
        assert!(
            f.refresh(tokens.refresh_token.expose(), T0 + secs(6))
                .await
                .is_err()
        );
    }
    let later = f.login("alice", PASSWORD, T0 + secs(5)).await.unwrap();
    assert!(f.auth.check_access_token(&later.claims).await.is_ok());
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_the_other_sessions() {
    let f = fixture().await;
    f.signup("alice").await;
    let mine = f.login("alice", PASSWORD, T0).await.unwrap();
    let other = f.login("alice", PASSWORD, T0).await.unwrap();
    let new = "a brand new passphrase";
    assert!(matches!(
        f.auth
            .change_password(
                &mine.claims,
                &secret("wrong wrong"),
                secret(new),
                &ctx(),
                T0
            )
            .await,
        Err(AuthError::WrongCurrentPassword)
    ));
    assert!(matches!(
        f.auth
            .change_password(&mine.claims, &secret(PASSWORD), secret("alice"), &ctx(), T0)
            .await,
        Err(AuthError::WeakPassword(_))
    ));
    f.auth
        .change_password(&mine.claims, &secret(PASSWORD), secret(new), &ctx(), T0)
        .await
        .unwrap();
    assert!(f.auth.check_access_token(&mine.claims).await.is_ok());
    assert!(f.auth.check_access_token(&other.claims).await.is_err());
    assert!(f.login("alice", PASSWORD, T0).await.is_err());
    f.login("alice", new, T0).await.unwrap();
    assert_eq!(f.actions("password.changed").await.len(), 1);
}

async fn add_client(f: &Fixture) -> SecretString {
    let client_secret = secret("s3cr3t-client-secret-with-entropy");
    let secret_hash = f.auth.hasher().hash_secret(&client_secret).await.unwrap();
    f.store
        .create_client(
            NewClient {
                client_id: "reports-job".into(),
                secret_hash,
                name: "Reports".into(),
                roles: vec!["reader".into()],
                scopes: vec!["reports".into(), "metrics".into()],
            },
            T0,
        )
        .await
        .unwrap();
    client_secret
}

#[tokio::test]
async fn client_credentials_issue_a_token_for_the_client_with_its_roles_and_scopes() {
    let f = fixture().await;
    let client_secret = add_client(&f).await;
    let issued = f
        .auth
        .client_credentials(
            "reports-job",
            &client_secret,
            Some("reports"),
            &f.key,
            &ctx(),
            T0,
        )
        .await
        .unwrap();
    assert_eq!(issued.scope.as_deref(), Some("reports"));
    let claims = f.verify(&issued.access_token, T0);
    assert_eq!(claims.sub, "reports-job");
    assert_eq!(claims.client_id, "reports-job");
    assert_eq!(claims.roles, ["reader"]);
    assert_eq!(claims.permissions, ["reports:read"]);
    assert_eq!(claims.sid, None);
    assert_eq!(
        f.auth.check_access_token(&claims).await.unwrap(),
        TokenSubject::Client {
            client_id: "reports-job".into()
        }
    );
    let all = f
        .auth
        .client_credentials("reports-job", &client_secret, None, &f.key, &ctx(), T0)
        .await
        .unwrap();
    assert_eq!(all.scope.as_deref(), Some("metrics reports"));
}

#[tokio::test]
async fn a_wrong_secret_an_unknown_client_or_an_ungranted_scope_get_no_token() {
    let f = fixture().await;
    let client_secret = add_client(&f).await;
    for (id, secret_text) in [
        ("reports-job", "wrong"),
        ("nobody", client_secret.expose_secret()),
    ] {
        assert!(matches!(
            f.auth
                .client_credentials(id, &secret(secret_text), None, &f.key, &ctx(), T0)
                .await,
            Err(AuthError::InvalidClient)
        ));
    }
    assert!(matches!(
        f.auth
            .client_credentials(
                "reports-job",
                &client_secret,
                Some("admin"),
                &f.key,
                &ctx(),
                T0
            )
            .await,
        Err(AuthError::InvalidScope)
    ));
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_session() {
    let f = fixture().await;
    f.signup("alice").await;
    let login = f.login("alice", PASSWORD, T0).await.unwrap();
    assert!(
        f.auth
            .revoke_refresh_token(login.refresh_token.expose(), "anonymous", &ctx(), T0)
            .await
            .unwrap()
    );
    assert!(f.auth.check_access_token(&login.claims).await.is_err());
    assert!(
        !f.auth
            .revoke_refresh_token("not-a-token", "anonymous", &ctx(), T0)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn no_audit_event_contains_a_password_or_a_token() {
    let f = fixture().await;
    f.signup("alice").await;
    let login = f.login("alice", PASSWORD, T0).await.unwrap();
    let _ = f.login("alice", "wrong horse battery staple", T0).await;
    let child = f.refresh(login.refresh_token.expose(), T0).await.unwrap();
    let _ = f.refresh(login.refresh_token.expose(), T0 + secs(60)).await;
    let everything = f
        .store
        .query_audit(&AuditQuery {
            limit: 1000,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert!(everything.len() >= 5);
    let dump = format!("{everything:?}");
    for secret_text in [
        PASSWORD,
        "wrong horse battery staple",
        login.refresh_token.expose(),
        child.refresh_token.expose(),
        &login.access_token,
        &child.access_token,
    ] {
        assert!(!dump.contains(secret_text));
    }
}

#[tokio::test]
async fn a_double_submit_across_a_key_rotation_is_refused_without_ending_the_session() {
    let f = fixture().await;
    f.signup("alice").await;
    let login = f.login("alice", PASSWORD, T0).await.unwrap();
    let child = f.refresh(login.refresh_token.expose(), T0).await.unwrap();
    let rotated = SigningKey::generate(Algorithm::Es256).unwrap();
    assert!(matches!(
        f.auth
            .refresh(login.refresh_token.expose(), &rotated, &ctx(), T0 + secs(1))
            .await,
        Err(AuthError::InvalidGrant)
    ));
    assert!(f.actions("refresh.reuse_detected").await.is_empty());
    // The first tab's child still works.
    f.auth
        .refresh(child.refresh_token.expose(), &rotated, &ctx(), T0 + secs(2))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_configured_default_roles_are_created_at_the_first_signup() {
    let f = fixture_with(|c| c.default_roles = vec!["user".to_owned()]).await;
    let account = f.signup("alice").await;
    assert_eq!(account.access.roles, ["user"]);
    assert!(f.store.role("user").await.unwrap().is_some());
}

#[tokio::test]
async fn an_account_with_an_unknown_role_is_not_created_at_all() {
    let f = fixture().await;
    let result = f
        .auth
        .create_account(
            NewAccount {
                username: "alice".into(),
                password: secret(PASSWORD),
                email: None,
            },
            &["nonexistent".to_owned()],
            Some("admin"),
            &ctx(),
            T0,
        )
        .await;
    assert!(matches!(result, Err(AuthError::UnknownRole(role)) if role == "nonexistent"));
    assert!(f.store.user_by_username("alice").await.unwrap().is_none());
}
