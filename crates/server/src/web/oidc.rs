//! Single sign-on with OpenID Connect providers ("Sign in with …").

use axum::extract::{Path, State};
use axum::response::Response;
use reqwest::Client;

use crate::config::web::OidcProviderConfig;
use crate::state::AppState;
use crate::web::error::PageError;

/// The configured providers.
#[derive(Debug)]
pub struct Providers {
    configs: Vec<OidcProviderConfig>,
    http: Client,
}

impl Providers {
    /// The providers of the config.
    pub fn new(configs: &[OidcProviderConfig], http: Client) -> Self {
        Self {
            configs: configs.to_vec(),
            http,
        }
    }

    /// The provider named `name`.
    pub fn get(&self, name: &str) -> Option<&OidcProviderConfig> {
        self.configs.iter().find(|p| p.name == name)
    }
}

/// `GET /ui/sso/{provider}`.
pub async fn start(
    State(state): State<AppState>,
    Path(provider): Path<String>,
) -> Result<Response, PageError> {
    let _ = (
        &state.web().providers().http,
        state.web().providers().get(&provider),
    );
    Err(PageError::NotFound(format!(
        "No sign-in provider \"{provider}\"."
    )))
}

/// `GET /ui/sso/{provider}/callback`.
pub async fn callback(
    State(state): State<AppState>,
    Path(provider): Path<String>,
) -> Result<Response, PageError> {
    let _ = state;
    Err(PageError::NotFound(format!(
        "No sign-in provider \"{provider}\"."
    )))
}
