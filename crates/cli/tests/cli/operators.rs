//! The server-side commands: `serve`, the operator commands (`user`, `role`, `group`,
//! `client`, `keys rotate`, `audit tail`) on a SQLite database, and the two together: changes
//! made by the CLI take effect on a running server.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Gatehouse, Run};

const PASSWORD: &str = "correct horse battery staple";

/// A scratch directory with a database URL for the operator commands.
struct Operator {
    gatehouse: Gatehouse,
    url: String,
}

impl Operator {
    fn new() -> Self {
        let gatehouse = Gatehouse::new();
        let url = format!("sqlite://{}", gatehouse.path("gatehouse.db").display());
        Self { gatehouse, url }
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, None)
    }

    fn run_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--database-url", &self.url]);
        self.gatehouse.run_with_stdin(&all, stdin)
    }

    fn add_user(&self, name: &str, roles: &[&str]) -> Run {
        let mut args = vec!["user", "add", name, "--password-stdin"];
        for role in roles {
            args.extend(["--role", role]);
        }
        self.run_with_stdin(&args, Some(&format!("{PASSWORD}\n")))
    }
}

#[test]
fn operator_commands_manage_users_roles_groups_clients_and_keys_and_are_audited() {
    let op = Operator::new();
    // The last enabled administrator cannot be disabled: keep one besides bob.
    op.add_user("root", &["admin"]).success();
    op.run(&[
        "role",
        "add",
        "reporter",
        "--permission",
        "reports:read",
        "--permission",
        "reports:list",
    ])
    .success();
    let added = op.add_user("alice", &["reporter"]).success();
    assert!(
        added.stdout.starts_with("created user alice ("),
        "{added:#?}"
    );
    op.add_user("bob", &[]).success();

    let list = op.run(&["user", "list"]).success();
    let names: Vec<&str> = list
        .stdout
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(names, ["alice", "bob", "root"]);
    assert!(
        list.stdout.lines().all(|l| l.contains("\tenabled\t")),
        "{list:#?}"
    );

    op.run(&["group", "add", "finance"]).success();
    op.run(&["group", "member", "add", "finance", "bob"])
        .success();
    op.run(&["group", "grant", "finance", "reporter"]).success();
    let groups = op.run(&["group", "list"]).success();
    assert_eq!(groups.stdout.trim(), "finance\troles=reporter\tmembers=bob");

    let granted = op.run(&["user", "grant", "bob", "admin"]).success();
    assert_eq!(granted.stdout.trim(), "bob now has roles: admin");
    op.run(&["user", "disable", "bob"]).success();
    let list = op.run(&["user", "list", "--search", "BO"]).success();
    assert!(
        list.stdout.starts_with("bob\t") && list.stdout.contains("\tdisabled\t"),
        "{list:#?}"
    );
    op.run(&["user", "enable", "bob"]).success();
    let revoked = op.run(&["user", "sessions", "revoke", "alice"]).success();
    assert_eq!(revoked.stdout.trim(), "ended 0 session(s) of alice");

    let client = op
        .run(&[
            "client", "add", "billing", "--role", "reporter", "--scope", "reports",
        ])
        .success();
    let secret = client
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("client_secret: "))
        .unwrap()
        .to_owned();
    assert_eq!(secret.len(), 43);
    let clients = op.run(&["client", "list"]).success();
    assert_eq!(
        clients.stdout.trim(),
        "billing\tenabled\troles=reporter\tscopes=reports"
    );
    assert!(!clients.stdout.contains(&secret));
    op.run(&["client", "disable", "billing"]).success();

    let rotated = op.run(&["keys", "rotate"]).success();
    assert!(
        rotated.stdout.starts_with("new signing key "),
        "{rotated:#?}"
    );

    let audit = op.run(&["audit", "tail", "-n", "100"]).success();
    for action in [
        "admin.role.create",
        "signup",
        "admin.group.create",
        "admin.group.member_add",
        "admin.group.role_grant",
        "admin.user.role_grant",
        "admin.user.disable",
        "admin.user.enable",
        "admin.user.sessions_revoke",
        "admin.client.create",
        "admin.client.disable",
        "admin.keys.rotate",
    ] {
        assert!(
            audit
                .stdout
                .lines()
                .any(|l| l.split('\t').nth(2) == Some(action)),
            "{action} missing from the audit log:\n{}",
            audit.stdout
        );
    }
    assert!(
        audit
            .stdout
            .lines()
            .all(|l| l.split('\t').nth(1).unwrap().starts_with("cli")),
        "{audit:#?}"
    );
    assert!(!audit.stdout.contains(PASSWORD) && !audit.stdout.contains(&secret));
    let only = op
        .run(&["audit", "tail", "--action", "admin.keys.rotate"])
        .success();
    assert_eq!(only.stdout.lines().count(), 1);
}

#[test]
fn operator_mistakes_exit_2_with_a_message() {
    let op = Operator::new();
    op.add_user("alice", &[]).success();
    op.add_user("alice", &[])
        .usage_error("user \"alice\" already exists");
    op.run_with_stdin(
        &["user", "add", "carol", "--password-stdin"],
        Some("carol\n"),
    )
    .usage_error("password");
    op.run_with_stdin(&["user", "add", "carol", "--password-stdin"], Some(""))
        .usage_error("no password on stdin");
    op.add_user("carol", &["ghost"])
        .usage_error("role \"ghost\" was not found");
    op.run(&["user", "grant", "nobody", "admin"])
        .usage_error("user \"nobody\" was not found");
    op.run(&["group", "member", "add", "ghost", "alice"])
        .usage_error("group \"ghost\" was not found");
    op.run(&["role", "add", "two words"])
        .usage_error("role name");
    // Without --password-stdin clap refuses the command: a password never goes in argv.
    let run = op.run(&["user", "add", "dave"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.stderr.contains("--password-stdin"), "{run:#?}");
    // The last enabled administrator stays.
    op.add_user("root", &["admin"]).success();
    op.run(&["user", "disable", "root"])
        .usage_error("last enabled administrator");
}

#[test]
fn a_config_with_an_unknown_weak_or_bad_value_is_refused_naming_the_key() {
    let op = Operator::new();
    let unknown = op
        .gatehouse
        .write("unknown.toml", "[tokens]\nacess_ttl = \"5m\"\n");
    op.run(&["user", "list", "--config", &unknown])
        .usage_error("config key `tokens.acess_ttl`");
    let weak = op.gatehouse.write(
        "weak.toml",
        "[tokens]\nalgorithm = \"HS256\"\nhmac_secret = \"too-short\"\n",
    );
    let run = op
        .run(&["user", "list", "--config", &weak])
        .usage_error("config key `tokens.hmac_secret`");
    assert!(
        run.stderr.contains("at least 32") && !run.stderr.contains("too-short"),
        "{run:#?}"
    );
    let bad = op
        .gatehouse
        .write("bad.toml", "[tokens]\naccess_ttl = \"a while\"\n");
    op.run(&["serve", "--config", &bad])
        .usage_error("config key `tokens.access_ttl`");

    let env = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["user", "list", "--database-url", &op.url])
        .env("GATEHOUSE_TOKENS__REFRESH_GRACE", "soon")
        .output()
        .unwrap();
    let stderr = String::from_utf8(env.stderr).unwrap();
    assert_eq!(env.status.code(), Some(2));
    assert!(
        stderr.contains("tokens.refresh_grace")
            && stderr.contains("GATEHOUSE_TOKENS__REFRESH_GRACE"),
        "{stderr}"
    );
}

#[test]
fn bcrypt_hashes_from_the_flask_app_are_imported_from_csv_and_json() {
    let op = Operator::new();
    let hash = bcrypt::hash("flask-era password", 4).unwrap();
    let csv = op.gatehouse.write(
        "users.csv",
        format!("username,email,password_hash,roles\nalice,alice@example.com,{hash},admin\nbob,,{hash},\n\"b a d\",,{hash},\ncarol,,plaintext,\n"),
    );
    let run = op.run(&["user", "import", &csv]).success();
    assert!(run.stdout.contains("skipped b a d:"), "{run:#?}");
    assert!(
        run.stdout
            .contains("skipped carol: password_hash is not a bcrypt or Argon2id hash"),
        "{run:#?}"
    );
    assert!(
        run.stdout
            .trim_end()
            .ends_with("imported 2 user(s), skipped 2"),
        "{run:#?}"
    );
    let json_file = op.gatehouse.write(
        "users.json",
        json!([{"username": "dave", "password_hash": hash}, {"username": "alice", "password_hash": hash}]).to_string(),
    );
    let run = op.run(&["user", "import", &json_file]).success();
    assert!(
        run.stdout.contains("skipped alice: the username is taken"),
        "{run:#?}"
    );
    let names: Vec<String> = op
        .run(&["user", "list"])
        .success()
        .stdout
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["alice", "bob", "dave"]);
}

/// A `gatehouse serve` child process on a free port, killed on drop.
struct RunningServer {
    child: Child,
    addr: SocketAddr,
}

impl RunningServer {
    fn start(op: &Operator) -> Self {
        // Reserve a free port, then hand it to the server (the window for a clash is tiny).
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .args([
                "serve",
                "--listen",
                &addr.to_string(),
                "--database-url",
                &op.url,
            ])
            .env("GATEHOUSE_LOG", "warn")
            .env("GATEHOUSE_TOKENS__KEY_RELOAD_INTERVAL", "1s")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = Self { child, addr };
        let deadline = Instant::now() + Duration::from_secs(30);
        while server.request("GET", "/readyz", None, None).0 != 200 {
            assert!(Instant::now() < deadline, "the server did not become ready");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// One HTTP/1.1 request; returns the status and the body parsed as JSON (Null if empty).
    fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let Ok(mut stream) = TcpStream::connect(self.addr) else {
            return (0, Value::Null);
        };
        let body = body.map(Value::to_string).unwrap_or_default();
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let (head, rest) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        let text = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(rest)
        } else {
            rest.to_owned()
        };
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A GET with extra headers to any address; returns the body as JSON.
    fn request_to(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> Value {
        let mut stream = TcpStream::connect(addr).unwrap();
        let extra: String = headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}\r\n"))
            .collect();
        let request =
            format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}\r\n");
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, rest) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        let text = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(rest)
        } else {
            rest.to_owned()
        };
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    fn login(&self, username: &str, password: &str) -> (u16, Value) {
        self.request(
            "POST",
            "/auth/login",
            None,
            Some(&json!({"username": username, "password": password})),
        )
    }
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || tail.len() < size {
            break;
        }
        out.push_str(&tail[..size]);
        rest = tail[size..].trim_start_matches("\r\n");
    }
    out
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn changes_made_with_the_cli_take_effect_on_a_running_server() {
    let op = Operator::new();
    let server = RunningServer::start(&op);

    // An account added while the server runs can log in at once.
    op.add_user("root", &["admin"]).success();
    op.add_user("alice", &["admin"]).success();
    let (status, tokens) = server.login("alice", PASSWORD);
    assert_eq!(status, 200, "{tokens}");
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        server.request("GET", "/admin/users", Some(&token), None).0,
        200
    );

    // An imported bcrypt hash logs in (and is upgraded to Argon2id on the way).
    let hash = bcrypt::hash("flask-era password", 4).unwrap();
    let csv = op.gatehouse.write(
        "users.csv",
        format!("username,password_hash\nlegacy,{hash}\n"),
    );
    op.run(&["user", "import", &csv]).success();
    assert_eq!(server.login("legacy", "flask-era password").0, 200);
    assert_eq!(
        server.login("legacy", "flask-era password").0,
        200,
        "the upgraded hash verifies too"
    );

    // Disabling from the CLI ends the session on the server at once.
    op.run(&["user", "disable", "alice"]).success();
    let (status, body) = server.request("GET", "/auth/me", Some(&token), None);
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["code"], "invalid_token");

    // A key rotated from the CLI is published and used without restarting the server.
    let kid = op
        .run(&["keys", "rotate"])
        .success()
        .stdout
        .split_whitespace()
        .nth(3)
        .unwrap()
        .trim_end_matches(';')
        .to_owned();
    // The server reloads its keys every second here (tokens.key_reload_interval).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, jwks) = server.request("GET", "/.well-known/jwks.json", None, None);
        let kids: Vec<&str> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap())
            .collect();
        if kids.contains(&kid.as_str()) {
            assert_eq!(kids.len(), 2, "the old key stays published: {kids:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{kids:?} should come to contain {kid}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Returns the first `lines` lines of the child's stdout, and keeps draining the rest in the
/// background so the child never writes into a closed pipe.
fn read_lines(child: &mut Child, lines: usize) -> Vec<String> {
    use std::io::BufRead;
    let stdout = child.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = sender.send(line);
        }
    });
    receiver.iter().take(lines).collect()
}

#[test]
fn demo_prints_the_admin_password_once_and_runs_an_echo_upstream() {
    let op = Operator::new();
    let start = || {
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .args([
                "demo",
                "--listen",
                &addr.to_string(),
                "--upstream-listen",
                "127.0.0.1:0",
                "--database-url",
                &op.url,
            ])
            .env("GATEHOUSE_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lines = read_lines(&mut child, 6);
        (RunningServer { child, addr }, lines)
    };

    let (server, lines) = start();
    let text = lines.join("\n");
    let password = lines
        .iter()
        .find_map(|l| l.trim().strip_prefix("password: "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no password in:\n{text}"))
        .to_owned();
    let (status, tokens) = server.login("admin", &password);
    assert_eq!(status, 200, "{tokens}");
    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        server.request("GET", "/admin/users", Some(token), None).0,
        200
    );
    // Through the gateway the upstream sees who called; an anonymous call is refused.
    let (status, echoed) = server.request("GET", "/api/demo/hello", Some(token), None);
    assert_eq!(status, 200, "{echoed}");
    assert_eq!(echoed["identity"]["x-auth-username"], "admin");
    assert_eq!(server.request("GET", "/api/demo/hello", None, None).0, 401);

    let upstream: SocketAddr = lines
        .iter()
        .find_map(|l| l.trim().strip_prefix("demo upstream   http://"))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no upstream in:\n{text}"))
        .parse()
        .unwrap();
    let echo = RunningServer::request_to(
        upstream,
        "GET",
        "/reports?x=1",
        &[("X-Auth-Username", "alice")],
    );
    assert_eq!(echo["service"], "gatehouse-demo-upstream");
    assert_eq!(echo["path"], "/reports?x=1");
    assert_eq!(echo["identity"]["x-auth-username"], "alice");
    drop(server);

    // A second start keeps the account and does not print a password again.
    let (_server, lines) = start();
    let text = lines.join("\n");
    assert!(text.contains("created on first start"), "{text}");
    assert!(!text.contains(&password), "{text}");
}
