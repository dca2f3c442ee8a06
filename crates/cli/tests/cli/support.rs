//! Running the built `gatehouse` binary in a scratch directory and checking how it ended.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use tempfile::TempDir;

/// Every algorithm the CLI supports, by JOSE name.
pub const ALGORITHMS: [&str; 12] = [
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256",
    "ES384", "EdDSA",
];

/// A scratch directory in which `gatehouse` runs.
pub struct Gatehouse {
    dir: TempDir,
}

/// How one run of the binary ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Gatehouse {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A path inside the scratch directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, None)
    }

    pub fn run_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .args(args)
            .current_dir(self.dir.path())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        let output = child.wait_with_output().unwrap();
        Run {
            // A signal leaves no code; -1 then fails every exit-code assertion, as it should.
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }

    /// `keys generate --alg ALG --out <alg>.pem`, asserting success; returns the file.
    pub fn generate(&self, alg: &str) -> PathBuf {
        let file = self.path(&format!("{alg}.pem"));
        self.run(&[
            "keys",
            "generate",
            "--alg",
            alg,
            "--out",
            file.to_str().unwrap(),
        ])
        .success();
        file
    }

    /// `keys jwks FILE` written to `<name>.jwks.json`; returns the file.
    pub fn jwks_file(&self, key: &Path) -> PathBuf {
        let run = self.run(&["keys", "jwks", key.to_str().unwrap()]).success();
        let file = key.with_extension("jwks.json");
        std::fs::write(&file, run.stdout).unwrap();
        file
    }

    /// `token sign --key FILE --claims JSON [extra...]`, asserting success; returns the token.
    pub fn sign(&self, key: &Path, claims: &Value, extra: &[&str]) -> String {
        let claims = claims.to_string();
        let mut args = vec![
            "token",
            "sign",
            "--key",
            key.to_str().unwrap(),
            "--claims",
            &claims,
        ];
        args.extend_from_slice(extra);
        let run = self.run(&args).success();
        let token = run.stdout.trim().to_owned();
        assert_eq!(
            run.stdout,
            format!("{token}\n"),
            "sign prints exactly the token"
        );
        token
    }

    /// Writes `contents` to a file in the scratch directory and returns its path as a string.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> String {
        let path = self.path(name);
        std::fs::write(&path, contents).unwrap();
        path.to_str().unwrap().to_owned()
    }
}

impl Run {
    /// Asserts exit 0 and an empty stderr.
    #[track_caller]
    pub fn success(self) -> Self {
        assert_eq!((self.code, self.stderr.as_str()), (0, ""), "{self:#?}");
        self
    }

    /// Asserts exit 1 and exactly one stderr line `rejected: <reason>: <detail>`, nothing on
    /// stdout; returns the detail.
    #[track_caller]
    pub fn rejected(self, reason: &str) -> String {
        assert_eq!(self.code, 1, "{self:#?}");
        assert_eq!(self.stdout, "", "{self:#?}");
        assert_eq!(self.stderr.lines().count(), 1, "one stderr line: {self:#?}");
        let prefix = format!("rejected: {reason}: ");
        let detail = self.stderr.trim_end().strip_prefix(&prefix);
        assert!(
            detail.is_some_and(|d| !d.is_empty()),
            "expected {prefix}…: {self:#?}"
        );
        detail.unwrap().to_owned()
    }

    /// Asserts exit 2 (usage or I/O error), nothing on stdout, and that stderr mentions `needle`.
    #[track_caller]
    pub fn usage_error(self, needle: &str) -> Self {
        assert_eq!(self.code, 2, "{self:#?}");
        assert_eq!(self.stdout, "", "{self:#?}");
        assert!(
            self.stderr.contains(needle),
            "stderr should mention {needle:?}: {self:#?}"
        );
        self
    }

    /// Parses stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {self:#?}"))
    }
}

/// The permission bits of a file.
pub fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// `header.payload.signature` of `a` with the payload of `b`: a token whose signature was made
/// over different claims, without touching any base64 (so the result is well-formed).
pub fn splice(a: &str, b: &str) -> String {
    let a: Vec<&str> = a.split('.').collect();
    let b: Vec<&str> = b.split('.').collect();
    assert_eq!((a.len(), b.len()), (3, 3));
    assert_ne!(
        a[1], b[1],
        "the payloads must differ for the splice to tamper"
    );
    format!("{}.{}.{}", a[0], b[1], a[2])
}

/// The Entra-ID-like claim set used across the tests (no registered times: sign fills them).
pub fn entra_claims() -> Value {
    serde_json::json!({
        "aud": "api://orders",
        "iss": "https://login.example.test/tenant/v2.0",
        "sub": "alice",
        "name": "Alice Example",
        "oid": "00000000-0000-0000-0000-000000000001",
        "preferred_username": "alice@example.test",
        "roles": ["orders.read", "orders.write"],
        "groups": ["g-1", "g-2"],
        "tid": "11111111-1111-1111-1111-111111111111",
        "ver": "2.0",
    })
}

pub const ISSUER: &str = "https://login.example.test/tenant/v2.0";
pub const AUDIENCE: &str = "api://orders";
