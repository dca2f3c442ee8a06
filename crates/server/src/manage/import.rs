//! `gatehouse user import FILE`: accounts with existing password hashes, from CSV or JSON.
//!
//! The seed Flask app (seeds/004) stores bcrypt hashes (`$2b$12$…`); they are imported as they
//! are, verify at login, and are replaced by Argon2id at the user's next successful login.
//! Plaintext passwords are refused: a value that is not a recognised hash is an error.
//!
//! - JSON: an array of objects `{"username", "password_hash", "email"?, "roles"?: [..]}`
//!   (`password` is accepted as another name for `password_hash`).
//! - CSV: a header line naming the columns `username`, `password_hash` (or `password`),
//!   optionally `email` and `roles` (roles separated by `;` or spaces); RFC 4180 quoting.

use gatehouse_auth::Username;
use gatehouse_store::{NewUser, StoreError};
use serde::Deserialize;
use serde_json::json;

use super::{ManageError, Manager, RoleName};

/// One account to import.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportRecord {
    /// The username.
    pub username: String,
    /// A bcrypt (`$2a$`/`$2b$`/`$2y$`) or Argon2id PHC hash.
    #[serde(alias = "password")]
    pub password_hash: String,
    /// Optional e-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// Roles to grant (must exist).
    #[serde(default)]
    pub roles: Vec<String>,
}

impl std::fmt::Debug for ImportRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportRecord")
            .field("username", &self.username)
            .field("email", &self.email)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

/// The format of an import file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    /// A JSON array of objects.
    Json,
    /// CSV with a header line.
    Csv,
}

impl ImportFormat {
    /// Guesses the format from the content: JSON starts with `[`.
    pub fn detect(text: &str) -> Self {
        if text.trim_start().starts_with('[') {
            Self::Json
        } else {
            Self::Csv
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Usernames created.
    pub imported: Vec<String>,
    /// `(record number or username, reason)` for every record skipped.
    pub skipped: Vec<(String, String)>,
}

/// Parses an import file. Errors name the line (CSV) or the record (JSON).
pub fn parse_import(text: &str, format: ImportFormat) -> Result<Vec<ImportRecord>, ManageError> {
    match format {
        ImportFormat::Json => serde_json::from_str(text).map_err(|e| ManageError::Invalid {
            field: "file",
            message: format!("not a JSON array of users: {e}"),
        }),
        ImportFormat::Csv => parse_csv(text),
    }
}

fn parse_csv(text: &str) -> Result<Vec<ImportRecord>, ManageError> {
    let rows = csv_rows(text).map_err(|message| ManageError::Invalid {
        field: "file",
        message,
    })?;
    let mut rows = rows
        .into_iter()
        .filter(|(_, r)| !(r.len() == 1 && r[0].trim().is_empty()));
    let Some((_, header)) = rows.next() else {
        return Ok(Vec::new());
    };
    let column = |names: &[&str]| {
        header
            .iter()
            .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
    };
    let invalid = |message: String| ManageError::Invalid {
        field: "file",
        message,
    };
    let username = column(&["username"])
        .ok_or_else(|| invalid("the CSV header has no `username` column".into()))?;
    let hash = column(&["password_hash", "password"])
        .ok_or_else(|| invalid("the CSV header has no `password_hash` column".into()))?;
    let email = column(&["email"]);
    let roles = column(&["roles"]);
    rows.map(|(line, row)| {
        let cell = |i: usize| row.get(i).map(|s| s.trim().to_owned()).unwrap_or_default();
        if row.len() != header.len() {
            return Err(invalid(format!(
                "line {line}: {} fields, the header has {}",
                row.len(),
                header.len()
            )));
        }
        Ok(ImportRecord {
            username: cell(username),
            password_hash: cell(hash),
            email: email.map(cell).filter(|e| !e.is_empty()),
            roles: roles
                .map(cell)
                .unwrap_or_default()
                .split([';', ' '])
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
                .collect(),
        })
    })
    .collect()
}

/// Splits CSV text into rows of fields (RFC 4180: quoted fields may hold commas, newlines and
/// doubled quotes). Each row carries its starting line number.
fn csv_rows(text: &str) -> Result<Vec<(usize, Vec<String>)>, String> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1;
    let mut row_line = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push((row_line, std::mem::take(&mut row)));
                line += 1;
                row_line = line;
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err(format!("line {row_line}: a quoted field is not closed"));
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push((row_line, row));
    }
    Ok(rows)
}

/// Whether `hash` is a bcrypt or Argon2id hash this server can verify.
fn is_supported_hash(hash: &str) -> bool {
    let bcrypt = ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p))
        && hash.len() == 60
        && hash.as_bytes().get(6) == Some(&b'$')
        && hash[4..6].bytes().all(|b| b.is_ascii_digit());
    bcrypt || hash.starts_with("$argon2id$")
}

pub(super) async fn run(
    manager: &Manager,
    records: Vec<ImportRecord>,
) -> Result<ImportReport, ManageError> {
    let mut report = ImportReport::default();
    let store = manager.state.store();
    let now = manager.state.now();
    for (index, record) in records.into_iter().enumerate() {
        let label = if record.username.is_empty() {
            format!("record {}", index + 1)
        } else {
            record.username.clone()
        };
        let username = match Username::parse(&record.username) {
            Ok(u) => u,
            Err(e) => {
                report.skipped.push((label, e.to_string()));
                continue;
            }
        };
        if !is_supported_hash(&record.password_hash) {
            report.skipped.push((
                label,
                "password_hash is not a bcrypt or Argon2id hash".into(),
            ));
            continue;
        }
        let roles = match record
            .roles
            .iter()
            .map(|r| RoleName::parse(r))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(roles) => roles,
            Err(e) => {
                report.skipped.push((label, e.to_string()));
                continue;
            }
        };
        let mut missing_role = None;
        for role in &roles {
            if store.role(role.as_str()).await?.is_none() {
                missing_role = Some(role.to_string());
                break;
            }
        }
        if let Some(role) = missing_role {
            report
                .skipped
                .push((label, format!("role \"{role}\" does not exist")));
            continue;
        }
        let created = store
            .create_user(
                NewUser {
                    username: username.as_str().to_owned(),
                    email: record.email.clone(),
                    password_hash: record.password_hash.clone(),
                },
                now,
            )
            .await;
        let user = match created {
            Ok(user) => user,
            Err(StoreError::Conflict { .. }) => {
                report.skipped.push((label, "the username is taken".into()));
                continue;
            }
            Err(other) => return Err(other.into()),
        };
        for role in &roles {
            store.grant_user_role(user.id, role.as_str()).await?;
        }
        report.imported.push(user.username);
    }
    manager
        .audit(
            "admin.user.import",
            None,
            json!({ "imported": report.imported, "skipped": report.skipped.len() }),
        )
        .await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "$2b$12$KIXQJQ1Yc0b8fJ8tKQ1lUeW3bq3Fq5bq3Fq5bq3Fq5bq3Fq5bq3Fq";

    #[test]
    fn a_bcrypt_hash_is_supported_and_plaintext_is_not() {
        assert_eq!(HASH.len(), 60);
        assert!(is_supported_hash(HASH));
        assert!(!is_supported_hash("hunter2"));
        assert!(!is_supported_hash("$2b$12$short"));
    }

    #[test]
    fn csv_with_quotes_roles_and_optional_columns_parses() {
        let text = format!(
            "username,email,password_hash,roles\nalice,alice@example.com,{HASH},admin;user\n\"bob\",\"\",\"{HASH}\",\n"
        );
        let records = parse_import(&text, ImportFormat::detect(&text)).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(
            records[0].roles,
            vec!["admin".to_owned(), "user".to_owned()]
        );
        assert_eq!(records[1].username, "bob");
        assert_eq!(records[1].email, None);
        assert_eq!(records[1].password_hash, HASH);
    }

    #[test]
    fn a_csv_row_with_the_wrong_field_count_names_its_line() {
        let text = format!("username,password_hash\nalice,{HASH},extra\n");
        let error = parse_import(&text, ImportFormat::Csv).unwrap_err();
        assert!(error.to_string().contains("line 2"), "{error}");
    }

    #[test]
    fn json_accepts_password_as_the_hash_field() {
        let text = format!("[{{\"username\": \"alice\", \"password\": \"{HASH}\"}}]");
        let records = parse_import(&text, ImportFormat::detect(&text)).unwrap();
        assert_eq!(records[0].password_hash, HASH);
    }
}
