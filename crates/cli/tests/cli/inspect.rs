//! `gatehouse token inspect`: decodes without verifying, says so, shows times for humans.

use crate::support::{Gatehouse, entra_claims, splice};

fn signed_token(gh: &Gatehouse) -> String {
    let key = gh.generate("ES256");
    let mut claims = entra_claims();
    claims["iat"] = 1_000.into();
    claims["nbf"] = 1_000.into();
    claims["exp"] = 1_900.into();
    gh.sign(&key, &claims, &["--typ", "at+jwt"])
}

#[test]
fn inspect_labels_everything_unverified_and_shows_times_relative_to_now() {
    let gh = Gatehouse::new();
    let token = signed_token(&gh);
    let out = gh
        .run(&["token", "inspect", "--now", "2080", &token])
        .success()
        .stdout;
    assert!(out.starts_with("UNVERIFIED"), "{out}");
    assert!(out.contains("header (UNVERIFIED):\n{"), "{out}");
    assert!(out.contains("claims (UNVERIFIED):\n{"), "{out}");
    assert!(out.contains(r#""alg": "ES256""#), "{out}");
    assert!(out.contains(r#""typ": "at+jwt""#), "{out}");
    assert!(
        out.contains(r#""preferred_username": "alice@example.test""#),
        "{out}"
    );
    assert!(
        out.contains("  iat  1970-01-01T00:16:40Z  (issued 18m ago)"),
        "{out}"
    );
    assert!(
        out.contains("  nbf  1970-01-01T00:16:40Z  (valid since 18m ago)"),
        "{out}"
    );
    assert!(
        out.contains("  exp  1970-01-01T00:31:40Z  (expired 3m ago)"),
        "{out}"
    );

    let out = gh
        .run(&["token", "inspect", "--now", "1600", &token])
        .success()
        .stdout;
    assert!(out.contains("(expires in 5m)"), "{out}");
}

#[test]
fn inspect_does_not_verify_so_a_tampered_token_still_decodes() {
    let gh = Gatehouse::new();
    let token = signed_token(&gh);
    let mut other = entra_claims();
    other["sub"] = "mallory".into();
    let other = gh.sign(&gh.path("ES256.pem"), &other, &[]);
    let out = gh
        .run(&["token", "inspect", &splice(&token, &other)])
        .success()
        .stdout;
    assert!(out.contains(r#""sub": "mallory""#), "{out}");
    assert!(out.starts_with("UNVERIFIED"), "{out}");
}

#[test]
fn inspect_reads_stdin() {
    let gh = Gatehouse::new();
    let token = signed_token(&gh);
    let out = gh
        .run_with_stdin(&["token", "inspect", "-"], Some(&format!("{token}\n")))
        .success()
        .stdout;
    assert!(out.contains(r#""sub": "alice""#), "{out}");
}

#[test]
fn an_undecodable_token_exits_1() {
    let gh = Gatehouse::new();
    gh.run(&["token", "inspect", "definitely.not.a-token"])
        .rejected("malformed");
    gh.run(&["token", "inspect", "abc"]).rejected("malformed");
}
