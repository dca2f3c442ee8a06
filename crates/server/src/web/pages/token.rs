//! `/ui/token`: the decoded header and claims of the session's access token, with readable
//! times. The token was issued by this server for this session, so nothing here trusts a
//! browser-supplied token.

use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::web::extract::Member;
use crate::web::view::{ClaimRow, Nav, TokenPage, readable, render};

/// The token page.
pub async fn token(member: Member) -> Response {
    let mut parts = member.me.token.split('.');
    let header = parts.next().map(decode_part).unwrap_or_default();
    let claims = parts.next().map(decode_part).unwrap_or_default();
    let page = TokenPage {
        nav: Nav::new(&member.visitor, "token"),
        header: rows(&header),
        claims: rows(&claims),
    };
    render(&page).into_response()
}

fn decode_part(part: &str) -> Map<String, Value> {
    URL_SAFE_NO_PAD
        .decode(part)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

fn rows(map: &Map<String, Value>) -> Vec<ClaimRow> {
    map.iter()
        .map(|(name, value)| ClaimRow {
            name: name.clone(),
            value: value.to_string(),
            note: note(name, value),
        })
        .collect()
}

/// A short explanation of well-known claims; times as dates.
fn note(name: &str, value: &Value) -> String {
    let time = || {
        value
            .as_i64()
            .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
            .map(readable)
            .unwrap_or_default()
    };
    match name {
        "iat" => format!("issued {}", time()),
        "nbf" => format!("not valid before {}", time()),
        "exp" => format!("expires {}", time()),
        "iss" => String::from("issuer"),
        "sub" => String::from("subject (your user id)"),
        "aud" => String::from("audience"),
        "jti" => String::from("token id (used to revoke it)"),
        "sid" => String::from("session"),
        "client_id" => String::from("client the token was issued to"),
        "alg" => String::from("signing algorithm"),
        "kid" => String::from("signing key id"),
        "typ" => String::from("token type (RFC 9068 access token)"),
        _ => String::new(),
    }
}
