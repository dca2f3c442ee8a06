//! `token verify --jwks URL`: fetched over loopback HTTP from a one-shot server in the test,
//! https enforced for anything else, redirects not followed, unreachable URLs exit 2.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::thread::JoinHandle;

use crate::support::{AUDIENCE, Gatehouse, ISSUER, entra_claims};

/// Serves one HTTP response on a loopback port; returns the base URL and the server thread
/// (which yields the request line it saw).
fn serve_once(
    status: &'static str,
    headers: &'static str,
    body: String,
) -> (String, JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream);
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap();
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 2 {
            line.clear();
        }
        let mut stream = reader.into_inner();
        write!(
            stream,
            "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        request_line
    });
    (url, server)
}

fn verify_with_jwks_url(gh: &Gatehouse, url: &str, token: &str) -> crate::support::Run {
    gh.run(&[
        "token",
        "verify",
        "--jwks",
        url,
        "--issuer",
        ISSUER,
        "--audience",
        AUDIENCE,
        token,
    ])
}

#[test]
fn a_jwks_url_on_loopback_is_fetched_and_used() {
    let gh = Gatehouse::new();
    let key = gh.generate("ES256");
    let token = gh.sign(&key, &entra_claims(), &[]);
    let jwks = gh
        .run(&["keys", "jwks", key.to_str().unwrap()])
        .success()
        .stdout;
    let (url, server) = serve_once("200 OK", "Content-Type: application/json\r\n", jwks);
    let claims = verify_with_jwks_url(&gh, &format!("{url}/.well-known/jwks.json"), &token)
        .success()
        .json();
    assert_eq!(claims["sub"], "alice");
    assert_eq!(
        server.join().unwrap().trim(),
        "GET /.well-known/jwks.json HTTP/1.1"
    );
}

#[test]
fn a_redirect_is_not_followed() {
    let gh = Gatehouse::new();
    let key = gh.generate("ES256");
    let token = gh.sign(&key, &entra_claims(), &[]);
    let (url, server) = serve_once(
        "302 Found",
        "Location: http://127.0.0.1:9/evil\r\n",
        String::new(),
    );
    verify_with_jwks_url(&gh, &url, &token).usage_error("302");
    server.join().unwrap();
}

#[test]
fn an_http_error_status_exits_2() {
    let gh = Gatehouse::new();
    let key = gh.generate("ES256");
    let token = gh.sign(&key, &entra_claims(), &[]);
    let (url, server) = serve_once("500 Internal Server Error", "", "oops".to_owned());
    verify_with_jwks_url(&gh, &url, &token).usage_error("500");
    server.join().unwrap();
}

#[test]
fn plain_http_to_a_non_loopback_host_is_refused_before_connecting() {
    let gh = Gatehouse::new();
    let key = gh.generate("ES256");
    let token = gh.sign(&key, &entra_claims(), &[]);
    verify_with_jwks_url(&gh, "http://jwks.example.test/keys", &token).usage_error("https");
}

#[test]
fn an_unreachable_jwks_url_exits_2() {
    let gh = Gatehouse::new();
    let key = gh.generate("ES256");
    let token = gh.sign(&key, &entra_claims(), &[]);
    // Bind then drop: the port is closed, so the connection is refused at once.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    verify_with_jwks_url(&gh, &format!("http://127.0.0.1:{port}/jwks"), &token)
        .usage_error("fetching JWKS");
}
