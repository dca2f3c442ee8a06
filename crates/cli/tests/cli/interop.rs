//! Interop with independent JWT implementations, for every algorithm and in both directions:
//! tokens signed by `gatehouse` verify with PyJWT and joserfc, theirs verify with `gatehouse`,
//! and a tampered token fails on both sides. The Python drivers live in `tests/interop/`.
//!
//! A missing Python module fails the test with what to install; it never passes silently.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::support::{ALGORITHMS, AUDIENCE, Gatehouse, ISSUER, entra_claims, splice};

/// An independent implementation, driven by a script speaking JSON on stdin/stdout.
#[derive(Clone, Copy, Debug)]
enum Library {
    /// PyJWT 2.x from Debian's python3-jwt; Debian's interpreter, not whatever is on PATH.
    PyJwt,
    /// joserfc, installed for the `python3` on PATH.
    Joserfc,
}

impl Library {
    fn interpreter(self) -> &'static str {
        match self {
            Self::PyJwt => "/usr/bin/python3",
            Self::Joserfc => "python3",
        }
    }

    fn script(self) -> PathBuf {
        let name = match self {
            Self::PyJwt => "pyjwt_interop.py",
            Self::Joserfc => "joserfc_interop.py",
        };
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/interop")
            .join(name)
    }

    fn install_hint(self) -> &'static str {
        match self {
            Self::PyJwt => {
                "apt-get install python3-jwt python3-cryptography (for /usr/bin/python3)"
            }
            Self::Joserfc => "python3 -m pip install joserfc (for the python3 on PATH)",
        }
    }

    /// Runs the driver in `mode` with `request` on stdin and returns its JSON answer.
    fn run(self, mode: &str, request: &Value) -> Value {
        let mut child = Command::new(self.interpreter())
            .arg(self.script())
            .arg(mode)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "{self:?} interop needs {}: {error}; install: {}",
                    self.interpreter(),
                    self.install_hint()
                )
            });
        child
            .stdin
            .take()
            .unwrap()
            .write_all(request.to_string().as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "{self:?} driver failed ({}); install: {}\n{stderr}",
            output.status,
            self.install_hint()
        );
        serde_json::from_slice(&output.stdout).unwrap()
    }
}

/// Signs every algorithm with `gatehouse` (plus a tampered twin) and lets `library` verify.
fn gatehouse_tokens_verify_with(library: Library) {
    let gh = Gatehouse::new();
    let mut cases = Vec::new();
    let mut kids = Vec::new();
    for alg in ALGORITHMS {
        let key = gh.generate(alg);
        let token = gh.sign(&key, &entra_claims(), &[]);
        let mut other = entra_claims();
        other["sub"] = "mallory".into();
        let tampered = splice(&token, &gh.sign(&key, &other, &[]));
        let mut case = json!({"alg": alg, "issuer": ISSUER, "audience": AUDIENCE});
        if alg.starts_with("HS") {
            case["hmac_pem"] = std::fs::read_to_string(&key).unwrap().into();
        } else {
            let jwks = gh
                .run(&["keys", "jwks", key.to_str().unwrap()])
                .success()
                .json();
            kids.push(jwks["keys"][0]["kid"].as_str().unwrap().to_owned());
            case["jwks"] = jwks;
        }
        for (name, token) in [("valid", token), ("tampered", tampered)] {
            let mut case = case.clone();
            case["name"] = format!("{alg}/{name}").into();
            case["token"] = token.into();
            cases.push(case);
        }
    }
    let results = library.run("verify", &json!({ "cases": cases }));

    let mut failures = Vec::new();
    for alg in ALGORITHMS {
        let valid = &results[format!("{alg}/valid")];
        if valid["ok"] != true || valid["claims"]["sub"] != "alice" {
            failures.push(format!("{alg}: gatehouse token refused: {valid}"));
        }
        let tampered = &results[format!("{alg}/tampered")];
        let error = tampered["error"].as_str().unwrap_or_default();
        if tampered["ok"] != false || !error.contains("Signature") {
            failures.push(format!(
                "{alg}: tampered token not refused for its signature: {tampered}"
            ));
        }
    }
    // The kids `keys jwks` prints must be RFC 7638 thumbprints as computed by someone else.
    for kid in kids {
        if results["thumbprints"][&kid] != kid.as_str() {
            failures.push(format!(
                "kid {kid} is not the thumbprint {}",
                results["thumbprints"][&kid]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{library:?} verifying gatehouse tokens:\n{}",
        failures.join("\n")
    );
}

/// Lets `library` generate keys and sign every algorithm, then verifies with `gatehouse`.
fn library_tokens_verify_with_gatehouse(library: Library) {
    let gh = Gatehouse::new();
    // Fixed times and `--now`: the library signs exactly these claims, the tests read no clock.
    let mut claims = entra_claims();
    claims["iat"] = 1_800_000_000.into();
    claims["nbf"] = 1_800_000_000.into();
    claims["exp"] = 1_800_000_900.into();
    claims["jti"] = "interop-1".into();
    let signed = library.run(
        "sign",
        &json!({"algs": ALGORITHMS, "claims": claims, "other_sub": "mallory"}),
    );

    let mut failures = Vec::new();
    for alg in ALGORITHMS {
        let entry = &signed[alg];
        let key_args: Vec<String> = if let Some(secret) = entry["secret_b64"].as_str() {
            let secret = base64::engine::general_purpose::STANDARD
                .decode(secret)
                .unwrap();
            let file = gh.write(&format!("{alg}.secret"), secret);
            let mut args = vec!["--secret-file".into(), file, "--alg".into(), alg.into()];
            // A raw secret has no kid; a token that names one needs it said with --kid.
            if let Some(kid) = entry["kid"].as_str() {
                args.extend(["--kid".into(), kid.into()]);
            }
            args
        } else {
            vec![
                "--jwks".into(),
                gh.write(&format!("{alg}.jwks.json"), entry["jwks"].to_string()),
            ]
        };
        let token = entry["token"].as_str().unwrap();
        let tampered = splice(token, entry["token_other"].as_str().unwrap());
        for (name, token) in [("valid", token), ("tampered", tampered.as_str())] {
            let mut args = vec!["token", "verify"];
            args.extend(key_args.iter().map(String::as_str));
            args.extend([
                "--issuer",
                ISSUER,
                "--audience",
                AUDIENCE,
                "--now",
                "1800000100",
                token,
            ]);
            let run = gh.run(&args);
            let ok = match name {
                "valid" => {
                    run.code == 0
                        && serde_json::from_str::<Value>(&run.stdout).ok() == Some(claims.clone())
                }
                _ => run.code == 1 && run.stderr.starts_with("rejected: bad_signature: "),
            };
            if !ok {
                failures.push(format!("{alg}/{name}: {run:?}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "gatehouse verifying {library:?} tokens:\n{}",
        failures.join("\n")
    );
}

#[test]
fn gatehouse_tokens_verify_with_pyjwt_for_every_algorithm() {
    gatehouse_tokens_verify_with(Library::PyJwt);
}

#[test]
fn pyjwt_tokens_verify_with_gatehouse_for_every_algorithm() {
    library_tokens_verify_with_gatehouse(Library::PyJwt);
}

#[test]
fn gatehouse_tokens_verify_with_joserfc_for_every_algorithm() {
    gatehouse_tokens_verify_with(Library::Joserfc);
}

#[test]
fn joserfc_tokens_verify_with_gatehouse_for_every_algorithm() {
    library_tokens_verify_with_gatehouse(Library::Joserfc);
}
