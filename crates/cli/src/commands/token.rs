//! `gatehouse token`: sign a JWT with a Gatehouse key file, verify one against a JWK Set, an
//! HMAC secret or a key file, and inspect one without verifying it.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::{ArgGroup, Args, Subcommand};
use gatehouse_token::{
    Algorithm, KeyId, KeySet, SigningKey, UnixTime, Validation, Verifier,
    unverified::{self, Inspected},
};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use zeroize::Zeroizing;

use super::keys::{load_signing_key, parse_algorithm, parse_kid};
use super::{CommandResult, now, print_stdout, read_arg_or_stdin, read_key_file, read_key_text};

/// The `token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Sign a JWT; `iat`, `nbf`, `exp` (now + ttl) and `jti` are filled in unless given.
    Sign(SignArgs),
    /// Verify a JWT: exit 0 and the claims on stdout, or exit 1 and `rejected: <reason>: ...`.
    Verify(VerifyArgs),
    /// Decode a JWT's header and claims WITHOUT verifying anything.
    Inspect(InspectArgs),
}

impl TokenCommand {
    /// Runs the subcommand.
    pub fn run(self) -> CommandResult {
        match self {
            Self::Sign(args) => Ok(sign(args)?),
            Self::Verify(args) => verify(args),
            Self::Inspect(args) => inspect(&args),
        }
    }
}

/// Largest claim set accepted on stdin; far above any sane token, small enough to bound memory.
const MAX_CLAIMS_BYTES: usize = 1024 * 1024;
/// Largest JWK Set document fetched or read; real sets are a few KiB.
const MAX_JWKS_BYTES: usize = 1024 * 1024;
/// Token size limit when `--max-size` is not given (the token crate's default, 16 KiB).
const DEFAULT_MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Arguments of `token sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// Gatehouse private key file (as written by `keys generate`).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// Put this `kid` in the header instead of the key file's.
    #[arg(long, value_parser = parse_kid, allow_hyphen_values = true)]
    kid: Option<KeyId>,
    /// Lifetime: `exp` = now + TTL (e.g. 90s, 15m, 8h) unless the claims carry `exp`.
    #[arg(long, default_value = "15m", value_parser = parse_ttl)]
    ttl: u64,
    /// The header's `typ`, e.g. `at+jwt` for OAuth access tokens (RFC 9068).
    #[arg(long)]
    typ: Option<String>,
    /// The claims as a JSON object, or `-` to read them from stdin.
    #[arg(long, value_name = "JSON|-")]
    claims: String,
}

/// Arguments of `token verify`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("key-source").required(true).args(["jwks", "secret_file", "key"])))]
pub struct VerifyArgs {
    /// JWK Set to verify against: a file, or an https:// URL (http:// only for loopback).
    #[arg(long, value_name = "FILE|URL")]
    jwks: Option<String>,
    /// HMAC secret: a Gatehouse HMAC key file, or a file holding the raw secret bytes (one
    /// trailing newline is ignored).
    #[arg(long, value_name = "FILE")]
    secret_file: Option<PathBuf>,
    /// The HMAC algorithm of a raw `--secret-file` secret [default: HS256].
    // An Option, not a clap default, so that a key file's own algorithm is never overridden
    // silently: an explicit `--alg` that disagrees with it is an error.
    #[arg(long, conflicts_with_all = ["jwks", "key"], value_parser = parse_algorithm)]
    alg: Option<Algorithm>,
    /// The `kid` a raw `--secret-file` secret answers to; without it, a raw secret verifies
    /// only tokens that carry no `kid`.
    #[arg(long, conflicts_with_all = ["jwks", "key"], value_parser = parse_kid, allow_hyphen_values = true)]
    kid: Option<KeyId>,
    /// A Gatehouse key file (as written by `keys generate`); its public half verifies.
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// Accept only tokens whose `iss` is one of these (repeatable).
    #[arg(long = "issuer", value_name = "ISS")]
    issuers: Vec<String>,
    /// Accept only tokens whose `aud` contains one of these (repeatable).
    #[arg(long = "audience", value_name = "AUD")]
    audiences: Vec<String>,
    /// Clock skew allowed on `exp` and `nbf`, in seconds [default: 60].
    #[arg(long, value_name = "SECS")]
    leeway: Option<u64>,
    /// Check the token as of this instant instead of the current time.
    #[arg(long, value_name = "UNIX_SECONDS", allow_hyphen_values = true)]
    now: Option<i64>,
    /// Require this header `typ` (e.g. `at+jwt`; compared case-insensitively).
    #[arg(long)]
    typ: Option<String>,
    /// Refuse tokens longer than this many bytes before decoding anything [default: 16384].
    #[arg(long, value_name = "BYTES")]
    max_size: Option<usize>,
    /// The token, or `-` to read it from stdin (surrounding whitespace is ignored).
    #[arg(value_name = "TOKEN|-")]
    token: String,
}

/// Arguments of `token inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Describe times relative to this instant instead of the current time.
    #[arg(long, value_name = "UNIX_SECONDS", allow_hyphen_values = true)]
    now: Option<i64>,
    /// The token, or `-` to read it from stdin (surrounding whitespace is ignored).
    #[arg(value_name = "TOKEN|-")]
    token: String,
}

fn parse_ttl(text: &str) -> Result<u64, String> {
    let ttl = humantime::parse_duration(text).map_err(|error| error.to_string())?;
    match ttl.as_secs() {
        0 => Err("the ttl must be at least one second".to_owned()),
        secs => Ok(secs),
    }
}

fn sign(args: SignArgs) -> anyhow::Result<()> {
    let key = load_signing_key(&args.key)?;
    let key = match args.kid {
        Some(kid) => key.with_kid(kid),
        None => key,
    };
    let raw = read_arg_or_stdin(&args.claims, MAX_CLAIMS_BYTES + 1)?;
    if raw.len() > MAX_CLAIMS_BYTES {
        bail!("the claims exceed {MAX_CLAIMS_BYTES} bytes");
    }
    let mut claims: Map<String, Value> = match serde_json::from_slice(&raw) {
        Ok(Value::Object(claims)) => claims,
        Ok(_) => bail!("--claims must be a JSON object"),
        Err(error) => bail!("--claims is not valid JSON: {error}"),
    };
    fill_registered_claims(&mut claims, now()?, args.ttl)?;
    let token = key
        .sign(args.typ.as_deref(), &claims)
        .context("signing the token")?;
    print_stdout(&token)?;
    Ok(())
}

/// Fills in `iat`, `nbf`, `exp` and `jti` unless the caller gave them.
fn fill_registered_claims(
    claims: &mut Map<String, Value>,
    now: UnixTime,
    ttl_secs: u64,
) -> anyhow::Result<()> {
    let issued = now.as_secs();
    let expires = i64::try_from(ttl_secs)
        .ok()
        .and_then(|ttl| issued.checked_add(ttl))
        .ok_or_else(|| anyhow!("the ttl is too large"))?;
    claims.entry("iat").or_insert_with(|| issued.into());
    claims.entry("nbf").or_insert_with(|| issued.into());
    claims.entry("exp").or_insert_with(|| expires.into());
    // v4, not v7: a jti only has to be unique, and v7 would read the clock a second time.
    claims
        .entry("jti")
        .or_insert_with(|| uuid::Uuid::new_v4().to_string().into());
    Ok(())
}

fn verify(args: VerifyArgs) -> CommandResult {
    let max_token_bytes = args.max_size.unwrap_or(DEFAULT_MAX_TOKEN_BYTES);
    let token = read_token(&args.token, max_token_bytes)?;
    let keys = load_key_set(&args)?;
    let mut validation = Validation::default()
        .with_issuers(args.issuers)
        .with_audiences(args.audiences)
        .with_max_token_bytes(max_token_bytes);
    if let Some(leeway) = args.leeway {
        validation = validation.with_leeway(leeway);
    }
    if let Some(typ) = args.typ {
        validation = validation.with_expected_typ(typ);
    }
    let now = match args.now {
        Some(secs) => UnixTime::from_secs(secs),
        None => now()?,
    };
    let verified = Verifier::new(keys, validation).verify(&token, now)?;
    let json =
        serde_json::to_string_pretty(verified.claims.as_map()).context("serialising the claims")?;
    print_stdout(&json)?;
    Ok(())
}

/// Reads the token argument (or stdin for `-`), trimming surrounding whitespace.
///
/// Stdin is read up to a little past the size limit, so an oversize token still reaches the
/// verifier, which refuses it as `too_large` before decoding, instead of being buffered whole.
fn read_token(value: &str, max_token_bytes: usize) -> anyhow::Result<String> {
    let raw = read_arg_or_stdin(value, max_token_bytes.saturating_add(64 * 1024))?;
    // Invalid UTF-8 cannot be base64url; lossy decoding lets the verifier say `malformed`.
    Ok(String::from_utf8_lossy(&raw).trim().to_owned())
}

/// Builds the verifying keys from whichever of `--jwks`, `--secret-file` or `--key` was given.
fn load_key_set(args: &VerifyArgs) -> anyhow::Result<KeySet> {
    if let Some(source) = &args.jwks {
        let json = if source.starts_with("https://") || source.starts_with("http://") {
            Zeroizing::new(fetch_jwks(source)?)
        } else {
            read_key_text(source.as_ref())?
        };
        return KeySet::from_jwks_json(&json).with_context(|| format!("{source}: bad JWK Set"));
    }
    let key = if let Some(path) = &args.secret_file {
        load_secret(path, args.alg, args.kid.clone())?
    } else if let Some(path) = &args.key {
        load_signing_key(path)?
    } else {
        // clap's required "key-source" group makes this unreachable; say so if it ever is not.
        bail!("one of --jwks, --secret-file or --key is required");
    };
    KeySet::new(vec![key.verifying_key()]).context("building the key set")
}

/// Loads an HMAC secret: a Gatehouse HMAC key file, or raw secret bytes for `alg`.
fn load_secret(
    path: &std::path::Path,
    alg: Option<Algorithm>,
    kid: Option<KeyId>,
) -> anyhow::Result<SigningKey> {
    if let Some(alg) = alg.filter(|alg| !alg.is_hmac()) {
        bail!(
            "--alg {} is not an HMAC algorithm; --secret-file takes HS256, HS384 or HS512",
            alg.as_str()
        );
    }
    let bytes = read_key_file(path)?;
    let key = if bytes.starts_with(b"gatehouse-") || bytes.starts_with(b"-----BEGIN") {
        let key = load_signing_key(path)?;
        if let Some(alg) = alg.filter(|alg| *alg != key.algorithm()) {
            bail!(
                "{} holds an {} key, not {}",
                path.display(),
                key.algorithm().as_str(),
                alg.as_str()
            );
        }
        key
    } else {
        // `echo secret > file` adds a newline that is not part of the secret.
        let secret = bytes
            .strip_suffix(b"\r\n")
            .or_else(|| bytes.strip_suffix(b"\n"))
            .unwrap_or(&bytes);
        let alg = alg.unwrap_or(Algorithm::Hs256);
        // A raw secret has no key id. The key set then holds this one key, which a token
        // without `kid` selects; the placeholder only ever appears in an `unknown_kid` detail.
        let placeholder = KeyId::new("raw-secret").context("building the key id")?;
        SigningKey::from_hmac_secret(alg, secret, placeholder)
            .with_context(|| format!("{}: not a usable {} secret", path.display(), alg.as_str()))?
    };
    Ok(match kid {
        Some(kid) => key.with_kid(kid),
        None => key,
    })
}

/// Fetches a JWK Set over HTTPS (plain HTTP only to a loopback address).
///
/// Redirects are not followed: a JWKS URL is configuration, and following a redirect would let
/// whoever controls the first host choose the keys.
fn fetch_jwks(source: &str) -> anyhow::Result<String> {
    let url = reqwest::Url::parse(source).with_context(|| format!("{source}: not a URL"))?;
    let loopback = is_loopback(&url);
    if url.scheme() != "https" && !loopback {
        bail!("{url}: a JWKS URL must use https (http is allowed only for loopback addresses)");
    }
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(15));
    if loopback {
        // A proxy from the environment would receive the loopback request instead of us.
        builder = builder.no_proxy();
    }
    let client = builder.build().context("building the HTTP client")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let body = runtime
        .block_on(async {
            let mut response = client
                .get(url.clone())
                .header(
                    reqwest::header::ACCEPT,
                    "application/jwk-set+json, application/json",
                )
                .send()
                .await?;
            let status = response.status();
            if status.is_redirection() {
                bail!("HTTP {status}: redirects are not followed; configure the final URL");
            }
            if !status.is_success() {
                bail!("HTTP {status}");
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await? {
                if body.len() + chunk.len() > MAX_JWKS_BYTES {
                    bail!("the response exceeds {MAX_JWKS_BYTES} bytes");
                }
                body.extend_from_slice(&chunk);
            }
            Ok(body)
        })
        .with_context(|| format!("fetching JWKS from {url}"))?;
    String::from_utf8(body).with_context(|| format!("{url}: the JWK Set is not UTF-8"))
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

fn inspect(args: &InspectArgs) -> CommandResult {
    let token = read_token(&args.token, DEFAULT_MAX_TOKEN_BYTES)?;
    let inspected = unverified::inspect(&token)?;
    let now = match args.now {
        Some(secs) => UnixTime::from_secs(secs),
        None => now()?,
    };
    print_stdout(&render_inspection(&inspected, now)?)?;
    Ok(())
}

/// The `token inspect` report: every section labelled UNVERIFIED, times made readable.
fn render_inspection(inspected: &Inspected, now: UnixTime) -> anyhow::Result<String> {
    let claims = inspected.claims.as_map();
    let mut out = String::from(
        "UNVERIFIED: decoded only; the signature and the claims have NOT been checked.\n",
    );
    writeln!(
        out,
        "header (UNVERIFIED):\n{}",
        serde_json::to_string_pretty(&inspected.header)?
    )?;
    writeln!(
        out,
        "claims (UNVERIFIED):\n{}",
        serde_json::to_string_pretty(claims)?
    )?;
    write!(out, "times (UNVERIFIED, now {}):", rfc3339(now.as_secs()))?;
    for name in ["iat", "nbf", "exp"] {
        if let Some(value) = claims.get(name) {
            write!(out, "\n  {name}  {}", describe_time(name, value, now))?;
        }
    }
    Ok(out)
}

/// One line for a NumericDate claim: the RFC 3339 time and how it relates to `now`.
fn describe_time(name: &str, value: &Value, now: UnixTime) -> String {
    // RFC 7519 allows fractional NumericDates; whole seconds are enough to read.
    #[allow(clippy::cast_possible_truncation)] // `as` saturates, and the value is floored
    let secs = value
        .as_i64()
        .or_else(|| value.as_f64().map(|secs| secs.floor() as i64));
    let Some(secs) = secs else {
        return format!("{value} (not a NumericDate: verification would refuse it)");
    };
    let delta = secs.saturating_sub(now.as_secs());
    let ago = human_duration(delta.unsigned_abs());
    let relation = match (name, delta.signum()) {
        ("exp", 0) => "expired just now".to_owned(),
        ("exp", -1) => format!("expired {ago} ago"),
        ("exp", _) => format!("expires in {ago}"),
        ("nbf", 0) => "valid from now".to_owned(),
        ("nbf", -1) => format!("valid since {ago} ago"),
        ("nbf", _) => format!("not valid for another {ago}"),
        (_, 0) => "issued just now".to_owned(),
        (_, -1) => format!("issued {ago} ago"),
        (_, _) => format!("issued {ago} in the future"),
    };
    format!("{}  ({relation})", rfc3339(secs))
}

fn rfc3339(secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|time| time.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("{secs} (out of range)"))
}

/// A duration in its two largest units: "45s", "3m", "3m 12s", "2h 5m", "3d 4h".
fn human_duration(secs: u64) -> String {
    const UNITS: [(u64, &str); 4] = [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")];
    if secs == 0 {
        return "0s".to_owned();
    }
    let parts: Vec<String> = UNITS
        .iter()
        .scan(secs, |rest, &(size, unit)| {
            let count = *rest / size;
            *rest %= size;
            Some((count, unit))
        })
        .skip_while(|(count, _)| *count == 0)
        .take(2)
        .filter(|(count, _)| *count > 0)
        .map(|(count, unit)| format!("{count}{unit}"))
        .collect();
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_shown_in_their_two_largest_units() {
        assert_eq!(human_duration(0), "0s");
        assert_eq!(human_duration(45), "45s");
        assert_eq!(human_duration(180), "3m");
        assert_eq!(human_duration(192), "3m 12s");
        assert_eq!(human_duration(7_500), "2h 5m");
        assert_eq!(human_duration(3_600 + 59), "1h");
        assert_eq!(human_duration(3 * 86_400 + 4 * 3_600 + 5), "3d 4h");
    }

    #[test]
    fn an_expired_token_says_how_long_ago() {
        let line = describe_time("exp", &Value::from(1_000), UnixTime::from_secs(1_180));
        assert_eq!(line, "1970-01-01T00:16:40Z  (expired 3m ago)");
    }

    #[test]
    fn a_future_nbf_says_how_long_until_valid() {
        let line = describe_time("nbf", &Value::from(1_090), UnixTime::from_secs(1_000));
        assert!(line.ends_with("(not valid for another 1m 30s)"), "{line}");
    }

    #[test]
    fn a_fractional_time_is_read_as_whole_seconds() {
        let line = describe_time("iat", &Value::from(940.75), UnixTime::from_secs(1_000));
        assert_eq!(line, "1970-01-01T00:15:40Z  (issued 1m ago)");
    }

    #[test]
    fn the_inspection_labels_each_section_unverified() {
        let inspected = unverified::inspect("eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjEwMDB9.c2ln").unwrap();
        let report = render_inspection(&inspected, UnixTime::from_secs(1_000)).unwrap();
        assert_eq!(
            report,
            "UNVERIFIED: decoded only; the signature and the claims have NOT been checked.\n\
             header (UNVERIFIED):\n{\n  \"alg\": \"HS256\"\n}\n\
             claims (UNVERIFIED):\n{\n  \"exp\": 1000\n}\n\
             times (UNVERIFIED, now 1970-01-01T00:16:40Z):\n\
             \x20 exp  1970-01-01T00:16:40Z  (expired just now)"
        );
    }

    #[test]
    fn a_string_time_is_flagged_not_interpreted() {
        let line = describe_time("exp", &Value::from("1000"), UnixTime::from_secs(0));
        assert!(line.contains("not a NumericDate"), "{line}");
    }

    #[test]
    fn given_registered_claims_are_kept_and_missing_ones_filled() {
        let mut claims = Map::new();
        claims.insert("exp".to_owned(), Value::from(5));
        fill_registered_claims(&mut claims, UnixTime::from_secs(100), 900).unwrap();
        assert_eq!(claims["exp"], 5);
        assert_eq!(claims["iat"], 100);
        assert_eq!(claims["nbf"], 100);
        let jti = claims["jti"].as_str().unwrap();
        assert_eq!(uuid::Uuid::parse_str(jti).unwrap().get_version_num(), 4);
    }

    #[test]
    fn exp_is_now_plus_ttl() {
        let mut claims = Map::new();
        fill_registered_claims(&mut claims, UnixTime::from_secs(100), 900).unwrap();
        assert_eq!(claims["exp"], 1_000);
    }

    #[test]
    fn a_ttl_that_overflows_is_an_error_not_a_wrap() {
        let mut claims = Map::new();
        assert!(fill_registered_claims(&mut claims, UnixTime::from_secs(i64::MAX), 1).is_err());
    }

    #[test]
    fn ttls_parse_as_human_durations_and_zero_is_refused() {
        assert_eq!(parse_ttl("15m"), Ok(900));
        assert_eq!(parse_ttl("1h 30m"), Ok(5_400));
        assert!(parse_ttl("0s").is_err());
        assert!(parse_ttl("soon").is_err());
    }

    #[test]
    fn only_loopback_hosts_count_as_loopback() {
        for (url, expected) in [
            ("http://127.0.0.1:8080/jwks", true),
            ("http://[::1]/jwks", true),
            ("http://localhost/jwks", true),
            ("http://127.0.0.1.example.com/jwks", false),
            ("http://example.com/jwks", false),
            ("http://10.0.0.1/jwks", false),
        ] {
            let url = reqwest::Url::parse(url).unwrap();
            assert_eq!(is_loopback(&url), expected, "{url}");
        }
    }
}
