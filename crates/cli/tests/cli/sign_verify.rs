//! `gatehouse token sign` and `gatehouse token verify`: round trips, every rejection path that
//! the CLI adds or forwards, and every usage/I-O error path.

use base64::Engine as _;
use serde_json::Value;

use crate::support::{ALGORITHMS, AUDIENCE, Gatehouse, ISSUER, entra_claims, splice};

/// Verifies `token` with the given key arguments, the standard issuer and audience.
fn verify_args<'a>(keys: &[&'a str], token: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["token", "verify"];
    args.extend_from_slice(keys);
    args.extend_from_slice(&["--issuer", ISSUER, "--audience", AUDIENCE]);
    args.extend_from_slice(extra);
    args.push(token);
    args
}

/// Claims with fixed registered times, so `--now` decides validity (no clock in the tests).
fn timed_claims(iat: i64, exp: i64) -> Value {
    let mut claims = entra_claims();
    claims["iat"] = iat.into();
    claims["nbf"] = iat.into();
    claims["exp"] = exp.into();
    claims
}

#[test]
fn every_algorithm_round_trips_through_sign_and_verify() {
    let gh = Gatehouse::new();
    for alg in ALGORITHMS {
        let key = gh.generate(alg);
        let key = key.to_str().unwrap();
        let token = gh.sign(key.as_ref(), &entra_claims(), &[]);
        let header: Vec<&str> = token.split('.').collect();
        assert_eq!(header.len(), 3, "{alg}: {token}");

        let by_key = gh
            .run(&verify_args(&["--key", key], &token, &[]))
            .success()
            .json();
        let by_other_source = if alg.starts_with("HS") {
            gh.run(&verify_args(&["--secret-file", key], &token, &[]))
        } else {
            let jwks = gh.jwks_file(key.as_ref());
            gh.run(&verify_args(
                &["--jwks", jwks.to_str().unwrap()],
                &token,
                &[],
            ))
        };
        assert_eq!(by_other_source.success().json(), by_key, "{alg}");

        for (name, value) in entra_claims().as_object().unwrap() {
            assert_eq!(&by_key[name], value, "{alg}: {name}");
        }
        let iat = by_key["iat"].as_i64().unwrap();
        assert_eq!(by_key["nbf"].as_i64(), Some(iat), "{alg}");
        assert_eq!(
            by_key["exp"].as_i64(),
            Some(iat + 15 * 60),
            "{alg}: default ttl 15m"
        );
        let jti = by_key["jti"].as_str().unwrap();
        assert_eq!(jti.len(), 36, "{alg}: a UUID: {jti}");
    }
}

#[test]
fn ttl_sets_exp_and_given_registered_claims_are_kept() {
    let gh = Gatehouse::new();
    let key = gh.generate("ES256");
    let token = gh.sign(&key, &entra_claims(), &["--ttl", "90s"]);
    let claims = gh
        .run(&verify_args(&["--key", key.to_str().unwrap()], &token, &[]))
        .success()
        .json();
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        90
    );

    let mut given = timed_claims(1_000, 2_000);
    given["jti"] = "my-jti".into();
    let token = gh.sign(&key, &given, &["--ttl", "8h"]);
    let claims = gh
        .run(&verify_args(
            &["--key", key.to_str().unwrap()],
            &token,
            &["--now", "1500"],
        ))
        .success()
        .json();
    assert_eq!(claims, given);
}

#[test]
fn two_tokens_get_different_jtis() {
    let gh = Gatehouse::new();
    let key = gh.generate("HS256");
    let key_arg = key.to_str().unwrap();
    let jtis: Vec<Value> = (0..2)
        .map(|_| {
            let token = gh.sign(&key, &entra_claims(), &[]);
            gh.run(&verify_args(&["--key", key_arg], &token, &[]))
                .success()
                .json()["jti"]
                .clone()
        })
        .collect();
    assert_ne!(jtis[0], jtis[1]);
}

#[test]
fn an_expired_token_is_rejected_and_now_in_the_past_makes_it_valid() {
    let gh = Gatehouse::new();
    let key = gh.generate("EdDSA");
    let key_args = ["--key", key.to_str().unwrap()];
    let token = gh.sign(&key, &timed_claims(1_000, 2_000), &[]);

    let detail = gh
        .run(&verify_args(&key_args, &token, &[]))
        .rejected("expired");
    assert!(!detail.contains('\n'));
    gh.run(&verify_args(&key_args, &token, &["--now", "1500"]))
        .success();
    gh.run(&verify_args(&key_args, &token, &["--now", "500"]))
        .rejected("not_yet_valid");
}

#[test]
fn leeway_is_applied_to_exp_and_defaults_to_a_minute() {
    let gh = Gatehouse::new();
    let key = gh.generate("ES256");
    let key_args = ["--key", key.to_str().unwrap()];
    let token = gh.sign(&key, &timed_claims(1_000, 2_000), &[]);
    gh.run(&verify_args(&key_args, &token, &["--now", "2030"]))
        .success();
    gh.run(&verify_args(
        &key_args,
        &token,
        &["--now", "2030", "--leeway", "0"],
    ))
    .rejected("expired");
    gh.run(&verify_args(&key_args, &token, &["--now", "2100"]))
        .rejected("expired");
    gh.run(&verify_args(
        &key_args,
        &token,
        &["--now", "2100", "--leeway", "120"],
    ))
    .success();
}

#[test]
fn a_wrong_audience_or_issuer_is_rejected() {
    let gh = Gatehouse::new();
    let key = gh.generate("RS256");
    let key = key.to_str().unwrap();
    let token = gh.sign(key.as_ref(), &entra_claims(), &[]);
    let run = gh.run(&[
        "token",
        "verify",
        "--key",
        key,
        "--issuer",
        ISSUER,
        "--audience",
        "api://billing",
        &token,
    ]);
    run.rejected("wrong_audience");
    let run = gh.run(&[
        "token",
        "verify",
        "--key",
        key,
        "--issuer",
        "https://evil.test",
        "--audience",
        AUDIENCE,
        &token,
    ]);
    run.rejected("wrong_issuer");
    // Repeated flags: any one configured value is enough.
    gh.run(&[
        "token",
        "verify",
        "--key",
        key,
        "--issuer",
        "https://other.test",
        "--issuer",
        ISSUER,
        "--audience",
        "api://billing",
        "--audience",
        AUDIENCE,
        &token,
    ])
    .success();
}

#[test]
fn a_tampered_token_or_one_signed_by_another_key_is_rejected() {
    let gh = Gatehouse::new();
    let key = gh.generate("ES256");
    let key_args = ["--key", key.to_str().unwrap()];
    let token = gh.sign(&key, &entra_claims(), &[]);
    let mut other_claims = entra_claims();
    other_claims["sub"] = "mallory".into();
    let other = gh.sign(&key, &other_claims, &[]);
    gh.run(&verify_args(&key_args, &splice(&token, &other), &[]))
        .rejected("bad_signature");

    let stranger = gh.run(&[
        "keys",
        "generate",
        "--alg",
        "ES256",
        "--out",
        "stranger.pem",
    ]);
    stranger.success();
    let jwks = gh.jwks_file(&gh.path("stranger.pem"));
    gh.run(&verify_args(
        &["--jwks", jwks.to_str().unwrap()],
        &token,
        &[],
    ))
    .rejected("unknown_kid");
}

#[test]
fn an_hmac_token_is_never_checked_against_a_public_key() {
    let gh = Gatehouse::new();
    let hmac = gh.generate("HS256");
    let rsa = gh.generate("RS256");
    let token = gh.sign(&hmac, &entra_claims(), &["--kid", "shared"]);
    let run = gh.run(&verify_args(&["--key", rsa.to_str().unwrap()], &token, &[]));
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.starts_with("rejected: "), "{run:?}");
}

#[test]
fn garbage_is_rejected_as_malformed_with_exit_1() {
    let gh = Gatehouse::new();
    let key = gh.generate("HS256");
    for garbage in ["not-a-token", "a.b", "a.b.c.d", "....", "eyJ.eyJ.@@@"] {
        gh.run(&verify_args(
            &["--key", key.to_str().unwrap()],
            garbage,
            &[],
        ))
        .rejected("malformed");
    }
}

#[test]
fn tokens_and_claims_can_come_from_stdin() {
    let gh = Gatehouse::new();
    let key = gh.generate("PS256");
    let key = key.to_str().unwrap();
    let claims = entra_claims().to_string();
    let run = gh
        .run_with_stdin(
            &["token", "sign", "--key", key, "--claims", "-"],
            Some(&claims),
        )
        .success();
    let padded = format!("\n  {}\r\n\n", run.stdout.trim());
    let verified = gh
        .run_with_stdin(&verify_args(&["--key", key], "-", &[]), Some(&padded))
        .success()
        .json();
    assert_eq!(verified["sub"], "alice");
}

#[test]
fn the_expected_typ_is_enforced() {
    let gh = Gatehouse::new();
    let key = gh.generate("ES256");
    let key_args = ["--key", key.to_str().unwrap()];
    let access = gh.sign(&key, &entra_claims(), &["--typ", "at+jwt"]);
    let plain = gh.sign(&key, &entra_claims(), &[]);
    gh.run(&verify_args(&key_args, &access, &["--typ", "at+jwt"]))
        .success();
    gh.run(&verify_args(
        &key_args,
        &access,
        &["--typ", "application/AT+JWT"],
    ))
    .success();
    gh.run(&verify_args(&key_args, &plain, &["--typ", "at+jwt"]))
        .rejected("wrong_type");
}

#[test]
fn max_size_refuses_a_long_token_before_decoding() {
    let gh = Gatehouse::new();
    let key = gh.generate("HS256");
    let key_args = ["--key", key.to_str().unwrap()];
    let token = gh.sign(&key, &entra_claims(), &[]);
    gh.run(&verify_args(&key_args, &token, &["--max-size", "100"]))
        .rejected("too_large");
    let huge = format!("{}.{}.{}", "a".repeat(40_000), "b", "c");
    gh.run_with_stdin(&verify_args(&key_args, "-", &[]), Some(&huge))
        .rejected("too_large");
}

#[test]
fn a_raw_secret_file_verifies_and_a_short_one_is_refused() {
    let gh = Gatehouse::new();
    // A Gatehouse HMAC key file is the only way the CLI signs; verify the same token with the
    // raw secret that the file wraps, written the way `echo` would (trailing newline).
    let key = gh.generate("HS384");
    let pem = std::fs::read_to_string(&key).unwrap();
    let secret = pem_body(&pem, "GATEHOUSE HMAC KEY");
    let token = gh.sign(&key, &entra_claims(), &[]);
    let mut raw = secret.clone();
    raw.push(b'\n');
    let raw_file = gh.write("raw.secret", &raw);
    let kid = pem
        .lines()
        .find_map(|line| line.strip_prefix("gatehouse-kid: "))
        .unwrap();
    let raw_args = ["--secret-file", raw_file.as_str(), "--alg", "HS384"];
    // A raw secret has no kid of its own: the token's kid must be named to select it.
    gh.run(&verify_args(&raw_args, &token, &[]))
        .rejected("unknown_kid");
    gh.run(&verify_args(&raw_args, &token, &["--kid", kid]))
        .success();
    // The same secret announced as HS256 does not verify an HS384 token.
    let run = gh.run(&verify_args(
        &["--secret-file", &raw_file, "--alg", "HS256", "--kid", kid],
        &token,
        &[],
    ));
    assert_eq!(run.code, 1, "{run:?}");

    // A key file's own algorithm is never overridden.
    let key_file = key.to_str().unwrap();
    gh.run(&verify_args(&["--secret-file", key_file], &token, &[]))
        .success();
    gh.run(&verify_args(
        &["--secret-file", key_file, "--alg", "HS512"],
        &token,
        &[],
    ))
    .usage_error("HS384");

    let short = gh.write("short.secret", b"too short");
    gh.run(&verify_args(&["--secret-file", &short], &token, &[]))
        .usage_error("short.secret");
    gh.run(&verify_args(
        &["--secret-file", &raw_file, "--alg", "RS256"],
        &token,
        &[],
    ))
    .usage_error("HMAC");
}

#[test]
fn bad_usage_exits_2() {
    let gh = Gatehouse::new();
    let key = gh.generate("ES256");
    let key = key.to_str().unwrap();
    let token = gh.sign(key.as_ref(), &entra_claims(), &[]);
    gh.run(&["token", "verify", &token]).usage_error("--jwks");
    gh.run(&["token", "verify", "--key", key, "--jwks", "x.json", &token])
        .usage_error("cannot be used with");
    gh.run(&["token", "verify", "--key", key])
        .usage_error("TOKEN");
    gh.run(&["token", "verify", "--key", key, "--leeway", "soon", &token])
        .usage_error("--leeway");
    gh.run(&["token", "verify", "--key", key, "--alg", "HS256", &token])
        .usage_error("--alg");
    gh.run(&["token", "verify", "--key", key, "--kid", "k", &token])
        .usage_error("--kid");
    gh.run(&["token", "verify", "--key", key, "--frobnicate", &token])
        .usage_error("--frobnicate");
    gh.run(&["token", "sign", "--key", key, "--claims", "{not json"])
        .usage_error("JSON");
    gh.run(&["token", "sign", "--key", key, "--claims", "[1,2]"])
        .usage_error("JSON object");
    gh.run(&[
        "token", "sign", "--key", key, "--claims", "{}", "--ttl", "0s",
    ])
    .usage_error("ttl");
    gh.run(&["token", "sign", "--key", key])
        .usage_error("--claims");
    gh.run(&["token"]).usage_error("Usage");
    gh.run(&[]).usage_error("Usage");
}

#[test]
fn missing_or_unusable_key_files_exit_2() {
    let gh = Gatehouse::new();
    let key = gh.generate("ES256");
    let token = gh.sign(&key, &entra_claims(), &[]);
    gh.run(&["token", "sign", "--key", "missing.pem", "--claims", "{}"])
        .usage_error("missing.pem");
    gh.run(&verify_args(&["--key", "missing.pem"], &token, &[]))
        .usage_error("missing.pem");
    gh.run(&verify_args(&["--jwks", "missing.json"], &token, &[]))
        .usage_error("missing.json");
    gh.run(&verify_args(
        &["--secret-file", "missing.secret"],
        &token,
        &[],
    ))
    .usage_error("missing.secret");
    let not_jwks = gh.write("not.json", r#"{"keys": "nope"}"#);
    gh.run(&verify_args(&["--jwks", &not_jwks], &token, &[]))
        .usage_error("not.json");
    let garbage = gh.write(
        "garbage.pem",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    );
    gh.run(&["token", "sign", "--key", &garbage, "--claims", "{}"])
        .usage_error("garbage.pem");
}

#[test]
fn help_and_version_exit_0() {
    let gh = Gatehouse::new();
    for args in [
        &["--help"][..],
        &["--version"],
        &["token", "verify", "--help"],
        &["keys", "--help"],
    ] {
        let run = gh.run(args).success();
        assert!(!run.stdout.is_empty(), "{args:?}");
    }
}

/// The decoded body of the PEM block with this label.
fn pem_body(pem: &str, label: &str) -> Vec<u8> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let body: String = pem
        .lines()
        .skip_while(|line| *line != begin)
        .skip(1)
        .take_while(|line| *line != end)
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

#[test]
fn a_kid_starting_with_a_dash_is_a_value_not_a_flag() {
    // Thumbprints are base64url, so one in 32 starts with '-' (found by the joserfc interop).
    let gh = Gatehouse::new();
    gh.run(&[
        "keys", "generate", "--alg", "HS256", "--kid", "-6x", "--out", "k.pem",
    ])
    .success();
    let key = gh.path("k.pem");
    let token = gh.sign(&key, &entra_claims(), &["--kid", "-7y"]);
    let pem = std::fs::read_to_string(&key).unwrap();
    assert!(pem.contains("gatehouse-kid: -6x\n"), "{pem}");
    let raw = gh.write("raw.secret", pem_body(&pem, "GATEHOUSE HMAC KEY"));
    gh.run(&verify_args(
        &["--secret-file", &raw, "--kid", "-7y"],
        &token,
        &[],
    ))
    .success();
}
