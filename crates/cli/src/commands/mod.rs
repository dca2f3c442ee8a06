//! The subcommands of `gatehouse`, one module each, and what they share: how a command fails,
//! the clock, and reading/writing the files and streams the commands use.

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use gatehouse_token::{Rejection, UnixTime};
use zeroize::Zeroizing;

pub mod audit;
pub mod client;
pub mod demo;
pub mod group;
pub mod keys;
pub mod ops;
pub mod role;
pub mod rotate;
pub mod serve;
pub mod token;
pub mod user;

/// Why a command did not succeed; decides the exit code and the one stderr message.
#[derive(Debug)]
pub enum Failure {
    /// A token was examined and refused: exit 1 and exactly one line
    /// `rejected: <reason>: <detail>` on stderr, so scripts can match the stable reason code.
    Rejected(Rejection),
    /// Bad usage, an unreadable file, an unreachable JWKS URL, an I/O error: exit 2.
    Error(anyhow::Error),
}

impl Failure {
    /// Writes the message for this failure to stderr and returns the exit code.
    pub fn report(self) -> ExitCode {
        let (code, message) = match self {
            Self::Rejected(rejection) => (
                1,
                format!(
                    "rejected: {}: {}",
                    rejection.reason.as_str(),
                    one_line(&rejection.detail)
                ),
            ),
            // `{:#}` prints the whole context chain on one line: "reading key.pem: No such file".
            Self::Error(error) => (2, format!("error: {}", one_line(&format!("{error:#}")))),
        };
        // If stderr itself is gone there is nobody left to tell; the exit code still speaks.
        let _ = writeln!(io::stderr().lock(), "{message}");
        ExitCode::from(code)
    }
}

// Deliberately not a blanket `From<E: Error>`: `Rejection` is an `Error` too, and `?` on a
// verification result must mean exit 1, never exit 2. Other errors pass through `anyhow`
// (usually with `.context(...)`), so each `?` says which kind of failure it is.
impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Self::Error(error)
    }
}

impl From<Rejection> for Failure {
    fn from(rejection: Rejection) -> Self {
        Self::Rejected(rejection)
    }
}

/// The outcome of a command.
pub type CommandResult = Result<(), Failure>;

/// Replaces control characters so that a message cannot span lines or forge terminal output;
/// details can quote attacker-supplied header values.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The current time, read here and nowhere else in Gatehouse.
///
/// The library crates take `now` as a parameter so that expiry is testable without sleeping;
/// the binary is the edge where wall-clock time enters (clippy's `disallowed-methods` keeps
/// `SystemTime::now` out of everything else).
#[allow(clippy::disallowed_methods)]
pub fn now() -> anyhow::Result<UnixTime> {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the system clock is set before 1970")?;
    let secs = i64::try_from(since_epoch.as_secs()).context("the system clock is out of range")?;
    Ok(UnixTime::from_secs(secs))
}

/// Reads a command-line value that may be `-` for "read it from stdin", taking at most `limit`
/// bytes from stdin. Returns the bytes read, so callers decide what oversize means.
fn read_arg_or_stdin(value: &str, limit: usize) -> anyhow::Result<Vec<u8>> {
    if value != "-" {
        return Ok(value.as_bytes().to_vec());
    }
    let mut buffer = Vec::new();
    // `take` bounds memory: a runaway producer on stdin cannot make us allocate without limit.
    io::stdin()
        .lock()
        .take(u64::try_from(limit).unwrap_or(u64::MAX))
        .read_to_end(&mut buffer)
        .context("reading stdin")?;
    Ok(buffer)
}

/// Largest key file or JWK Set read; real ones are a few KiB (an RSA-8192 PEM is ~6.5 KiB).
const MAX_KEY_FILE_BYTES: u64 = 1024 * 1024;

/// Reads a file that holds key material (a PEM key, a secret, a JWK Set), naming the file in
/// any error. The buffer is wiped on drop, as it may hold a private key.
fn read_key_file(path: &Path) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let context = || format!("reading key file {}", path.display());
    let file = fs::File::open(path).with_context(context)?;
    let mut contents = Zeroizing::new(Vec::new());
    file.take(MAX_KEY_FILE_BYTES + 1)
        .read_to_end(&mut contents)
        .with_context(context)?;
    if contents.len() as u64 > MAX_KEY_FILE_BYTES {
        bail!("{}: larger than {MAX_KEY_FILE_BYTES} bytes", path.display());
    }
    Ok(contents)
}

/// [`read_key_file`] for text formats (PEM, JSON).
fn read_key_text(path: &Path) -> anyhow::Result<Zeroizing<String>> {
    let bytes = read_key_file(path)?;
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(text.to_owned())),
        Err(_) => bail!("{}: not a text file (expected PEM or JSON)", path.display()),
    }
}

/// Writes a private file (mode 0600 from the moment it exists).
///
/// Without `force` an existing file is never touched (`O_CREAT|O_EXCL`, which also refuses to
/// follow a planted symlink). With `force` the new contents go to a fresh 0600 file beside the
/// target that is then renamed over it, so the target is never briefly world-readable or
/// half-written, whatever the old file's mode was.
fn write_private_file(path: &Path, contents: &[u8], force: bool) -> anyhow::Result<()> {
    if !force {
        let file = create_private(path).map_err(|error| {
            if error.kind() == io::ErrorKind::AlreadyExists {
                anyhow::anyhow!(
                    "{} already exists; pass --force to replace it",
                    path.display()
                )
            } else {
                anyhow::Error::new(error).context(format!("creating {}", path.display()))
            }
        })?;
        return finish_write(file, contents, path);
    }
    let temporary = sibling_temporary(path)?;
    let written = create_private(&temporary)
        .with_context(|| format!("creating {}", temporary.display()))
        .and_then(|file| finish_write(file, contents, &temporary))
        .and_then(|()| {
            fs::rename(&temporary, path).with_context(|| format!("replacing {}", path.display()))
        });
    if written.is_err() {
        // Best effort: do not leave a stray copy of a private key behind.
        let _ = fs::remove_file(&temporary);
    }
    written
}

fn create_private(path: &Path) -> io::Result<fs::File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

fn finish_write(mut file: fs::File, contents: &[u8], path: &Path) -> anyhow::Result<()> {
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

fn sibling_temporary(path: &Path) -> anyhow::Result<PathBuf> {
    let Some(name) = path.file_name() else {
        bail!("{} is not a file path", path.display());
    };
    let mut temporary_name = std::ffi::OsString::from(".");
    temporary_name.push(name);
    temporary_name.push(format!(".{}.tmp", std::process::id()));
    Ok(path.with_file_name(temporary_name))
}

/// Writes `text` and a newline to stdout; a closed pipe is an I/O error (exit 2), not a panic.
fn print_stdout(text: &str) -> anyhow::Result<()> {
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{text}")
        .and_then(|()| stdout.flush())
        .context("writing to stdout")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_cannot_break_the_one_line_contract() {
        assert_eq!(one_line("bad\nkid\r\u{1b}[31m"), "bad kid  [31m");
    }

    #[test]
    fn the_temporary_file_sits_beside_the_target_and_is_hidden() {
        let temporary = sibling_temporary(Path::new("/keys/signing.pem")).unwrap();
        assert_eq!(temporary.parent(), Some(Path::new("/keys")));
        let name = temporary
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            name.starts_with(".signing.pem.") && name.ends_with(".tmp"),
            "{name}"
        );
    }
}
