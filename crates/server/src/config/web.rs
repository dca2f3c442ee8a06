//! `[web]`: the browser UI — its cookie key, the "Fetch data" target, and the OIDC providers
//! offered as "Sign in with …" buttons (`[[web.providers]]`).

use std::collections::BTreeMap;

use super::{Config, PublicUrl};
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// Smallest cookie key accepted: the cookie crate splits 64 bytes into a signing half and an
/// encryption half and panics on less.
pub const COOKIE_KEY_MIN_BYTES: usize = 64;

/// `[web]`: the server-rendered UI at `/` and `/ui/…`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct WebConfig {
    /// Serve the UI. Default `true`.
    pub enabled: bool,
    /// Base64 of at least 64 random bytes (`openssl rand -base64 64`) that encrypts and
    /// authenticates the session cookie. Default: one is generated on first start and kept in
    /// the database, so every instance on that database shares it.
    pub cookie_key: Option<SecretString>,
    /// The protected route the home page's "Fetch data" button calls (through the gateway,
    /// with the session's access token). Default `/api/demo`.
    pub fetch_path: String,
    /// Where that route is reached from the server itself. Default: the public URL.
    pub fetch_base_url: Option<PublicUrl>,
    /// OIDC providers offered for single sign-on.
    pub providers: Vec<OidcProviderConfig>,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            cookie_key: None,
            fetch_path: String::from("/api/demo"),
            fetch_base_url: None,
            providers: Vec::new(),
        }
    }
}

impl WebConfig {
    /// The configured cookie key's bytes, when one is configured (validated at load time).
    pub fn cookie_key_bytes(&self) -> Option<Vec<u8>> {
        self.cookie_key
            .as_ref()
            .and_then(|key| decode_key(key.expose_secret()).ok())
    }
}

/// `[[web.providers]]`: one OpenID Connect provider (Microsoft Entra ID, Keycloak, Google, …).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct OidcProviderConfig {
    /// Short name used in URLs (`/ui/sso/<name>`) and stored with linked identities.
    pub name: String,
    /// Text of the button: "Sign in with <display_name>".
    #[serde(default)]
    pub display_name: Option<String>,
    /// The issuer; its `/.well-known/openid-configuration` is read at start-up.
    pub issuer: PublicUrl,
    /// The client id registered at the provider.
    pub client_id: String,
    /// The client secret (confidential clients); PKCE is used either way.
    #[serde(default)]
    pub client_secret: Option<SecretString>,
    /// Scopes asked for besides `openid`. Default `["profile", "email"]`.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// ID-token claim holding the provider's roles. Default `roles`.
    #[serde(default = "default_roles_claim")]
    pub roles_claim: String,
    /// ID-token claim holding the provider's groups. Default `groups`.
    #[serde(default = "default_groups_claim")]
    pub groups_claim: String,
    /// Provider role or group → local role, applied at every SSO sign-in.
    #[serde(default)]
    pub map_roles: BTreeMap<String, String>,
    /// Local roles every user signing in through this provider gets.
    #[serde(default)]
    pub default_roles: Vec<String>,
}

impl OidcProviderConfig {
    /// The button text's provider name.
    pub fn label(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.name)
    }
}

fn default_scopes() -> Vec<String> {
    vec![String::from("profile"), String::from("email")]
}

fn default_roles_claim() -> String {
    String::from("roles")
}

fn default_groups_claim() -> String {
    String::from("groups")
}

/// Decodes a configured cookie key and checks its length.
pub fn decode_key(text: &str) -> Result<Vec<u8>, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| {
            String::from(
                "is not base64; generate one with `openssl rand -base64 64` (or remove it to have Gatehouse generate and keep one)",
            )
        })?;
    if bytes.len() < COOKIE_KEY_MIN_BYTES {
        return Err(format!(
            "is {} bytes long; the cookie key needs at least {COOKIE_KEY_MIN_BYTES} random bytes: generate one with `openssl rand -base64 64`",
            bytes.len()
        ));
    }
    Ok(bytes)
}

/// The load-time checks of `[web]`, as `(key, message)`.
pub(super) fn validate(config: &Config) -> Result<(), (&'static str, String)> {
    let web = &config.web;
    if let Some(key) = &web.cookie_key {
        decode_key(key.expose_secret()).map_err(|m| ("web.cookie_key", m))?;
    }
    if !web.fetch_path.starts_with('/') {
        return Err((
            "web.fetch_path",
            format!("`{}` must be a path starting with /", web.fetch_path),
        ));
    }
    let mut names = std::collections::BTreeSet::new();
    for provider in &web.providers {
        let name_ok = !provider.name.is_empty()
            && provider
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !name_ok {
            return Err((
                "web.providers.name",
                format!(
                    "`{}` must be letters, digits, - or _ (it appears in URLs)",
                    provider.name
                ),
            ));
        }
        if !names.insert(provider.name.as_str()) {
            return Err((
                "web.providers.name",
                format!("`{}` is configured twice", provider.name),
            ));
        }
        if provider.client_id.trim().is_empty() {
            return Err((
                "web.providers.client_id",
                format!("provider `{}` needs a client_id", provider.name),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_key(toml: &str) -> (Option<String>, String) {
        let error = Config::from_toml_str(toml).unwrap_err();
        (error.key().map(str::to_owned), error.to_string())
    }

    #[test]
    fn a_short_cookie_key_is_refused_with_the_fix() {
        let short = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let (key, text) = error_key(&format!("[web]\ncookie_key = \"{short}\"\n"));
        assert_eq!(key.as_deref(), Some("web.cookie_key"));
        assert!(
            text.contains("32 bytes") && text.contains("openssl rand -base64 64"),
            "{text}"
        );
        assert!(!text.contains(&short), "the key must not be echoed: {text}");
    }

    #[test]
    fn a_cookie_key_that_is_not_base64_is_refused() {
        let (key, _) = error_key("[web]\ncookie_key = \"not base64 at all!\"\n");
        assert_eq!(key.as_deref(), Some("web.cookie_key"));
    }

    #[test]
    fn a_64_byte_cookie_key_is_accepted() {
        let good = base64::engine::general_purpose::STANDARD.encode([7u8; 64]);
        let config = Config::from_toml_str(&format!("[web]\ncookie_key = \"{good}\"\n")).unwrap();
        assert_eq!(config.web.cookie_key_bytes().unwrap().len(), 64);
    }

    #[test]
    fn providers_need_url_safe_unique_names() {
        let provider = "[[web.providers]]\nname = \"{}\"\nissuer = \"https://idp.example\"\nclient_id = \"c\"\n";
        let (key, _) = error_key(&provider.replace("{}", "has space"));
        assert_eq!(key.as_deref(), Some("web.providers.name"));
        let twice = format!("{0}{0}", provider.replace("{}", "entra"));
        let (key, text) = error_key(&twice);
        assert_eq!(key.as_deref(), Some("web.providers.name"), "{text}");
    }
}
