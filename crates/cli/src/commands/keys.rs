//! `gatehouse keys`: generate private keys into Gatehouse PEM files and export public JWK Sets.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use gatehouse_token::{Algorithm, KeyId, KeySet, SigningKey};

use super::{CommandResult, print_stdout, read_key_text, write_private_file};

/// The `keys` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate a private key (or HMAC secret) and write it to a new file with mode 0600.
    Generate(GenerateArgs),
    /// Print the public JWK Set (RFC 7517) of the given private key files.
    Jwks(JwksArgs),
    /// Add a new active signing key to the server's database; the old ones stay published
    /// until every token they signed has expired.
    Rotate(super::rotate::RotateArgs),
}

impl KeysCommand {
    /// Runs the subcommand.
    pub fn run(self) -> CommandResult {
        // Nothing here examines a token, so every failure is an error (exit 2).
        match self {
            Self::Generate(args) => generate(args)?,
            Self::Jwks(args) => jwks(&args)?,
            Self::Rotate(args) => return args.run(),
        }
        Ok(())
    }
}

/// Arguments of `keys generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The JOSE algorithm the key is for: HS256, HS384, HS512, RS256, RS384, RS512, PS256,
    /// PS384, PS512, ES256, ES384 or EdDSA.
    #[arg(long, value_parser = parse_algorithm)]
    alg: Algorithm,
    /// The key id; defaults to the key's RFC 7638 JWK thumbprint.
    #[arg(long, value_parser = parse_kid, allow_hyphen_values = true)]
    kid: Option<KeyId>,
    /// Where to write the private key (Gatehouse PEM, mode 0600).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Replace FILE if it already exists.
    #[arg(long)]
    force: bool,
}

/// Arguments of `keys jwks`.
#[derive(Debug, Args)]
pub struct JwksArgs {
    /// Gatehouse private key files (as written by `keys generate`); asymmetric keys only.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// Parses a JOSE algorithm name for clap, listing the accepted names on error.
pub(crate) fn parse_algorithm(name: &str) -> Result<Algorithm, String> {
    name.parse::<Algorithm>().map_err(|_| {
        let names: Vec<&str> = Algorithm::ALL.iter().map(Algorithm::as_str).collect();
        format!(
            "unknown algorithm {name:?}; expected one of {}",
            names.join(", ")
        )
    })
}

/// Parses a key id for clap.
pub(crate) fn parse_kid(kid: &str) -> Result<KeyId, String> {
    KeyId::new(kid).map_err(|error| error.to_string())
}

fn generate(args: GenerateArgs) -> anyhow::Result<()> {
    let key = SigningKey::generate(args.alg)
        .with_context(|| format!("generating a {} key", args.alg.as_str()))?;
    let key = match args.kid {
        Some(kid) => key.with_kid(kid),
        None => key,
    };
    let pem = key.to_pem();
    write_private_file(&args.out, pem.as_bytes(), args.force)?;
    print_stdout(&format!(
        "wrote {} key {} to {}",
        key.algorithm().as_str(),
        key.kid(),
        args.out.display()
    ))?;
    Ok(())
}

fn jwks(args: &JwksArgs) -> anyhow::Result<()> {
    let mut verifying_keys = Vec::with_capacity(args.files.len());
    for path in &args.files {
        let key = load_signing_key(path)?;
        if key.algorithm().is_hmac() {
            bail!(
                "{}: {} keys are shared secrets, not public keys; a JWK Set of them would \
                 publish the secret (verify HMAC tokens with `token verify --key` or \
                 `--secret-file`)",
                path.display(),
                key.algorithm().as_str()
            );
        }
        verifying_keys.push(key.verifying_key());
    }
    // `KeySet` refuses two keys under one kid, which would make a published set ambiguous.
    let set = KeySet::new(verifying_keys).context("building the JWK Set")?;
    let json = serde_json::to_string_pretty(&set.to_jwks()).context("serialising the JWK Set")?;
    print_stdout(&json)?;
    Ok(())
}

/// Loads a Gatehouse PEM private key file, naming the file in any error.
pub(crate) fn load_signing_key(path: &Path) -> anyhow::Result<SigningKey> {
    let pem = read_key_text(path)?;
    SigningKey::from_pem(&pem).with_context(|| format!("{}: not a usable key", path.display()))
}
