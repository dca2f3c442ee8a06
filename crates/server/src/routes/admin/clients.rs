//! `/admin/clients`: service clients of the `client_credentials` grant. The secret is in the
//! creation response only; the store keeps its hash.

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use gatehouse_store::Client;
use serde::{Deserialize, Serialize};

use super::{Admin, rfc3339};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::manage::reveal;
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/clients", get(list).post(create))
        .route("/clients/{client_id}", delete(remove))
        .route("/clients/{client_id}/disable", post(disable))
        .route("/clients/{client_id}/enable", post(enable))
}

/// A client as the API shows it (never its secret or hash).
#[derive(Debug, Serialize)]
struct ClientView {
    client_id: String,
    name: String,
    roles: Vec<String>,
    scopes: Vec<String>,
    disabled: bool,
    created_at: String,
}

impl From<&Client> for ClientView {
    fn from(c: &Client) -> Self {
        Self {
            client_id: c.client_id.clone(),
            name: c.name.clone(),
            roles: c.roles.clone(),
            scopes: c.scopes.clone(),
            disabled: c.disabled,
            created_at: rfc3339(c.created_at),
        }
    }
}

async fn list(Admin(manager): Admin) -> Result<ApiJson<Vec<ClientView>>, ApiError> {
    let clients = manager.list_clients().await?;
    Ok(ApiJson(clients.iter().map(ClientView::from).collect()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateClient {
    client_id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    scopes: Vec<String>,
}

/// The creation response: the client and its secret, shown this once.
#[derive(Serialize)]
struct Created {
    #[serde(flatten)]
    client: ClientView,
    client_secret: String,
}

async fn create(
    Admin(manager): Admin,
    ApiJson(body): ApiJson<CreateClient>,
) -> Result<
    (
        StatusCode,
        [(axum::http::HeaderName, &'static str); 1],
        ApiJson<Created>,
    ),
    ApiError,
> {
    let created = manager
        .create_client(
            &body.client_id,
            body.name.as_deref(),
            &body.roles,
            &body.scopes,
        )
        .await?;
    let body = Created {
        client: ClientView::from(&created.client),
        client_secret: reveal(&created.secret).to_owned(),
    };
    // The secret must not be kept by caches along the way.
    Ok((
        StatusCode::CREATED,
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        ApiJson(body),
    ))
}

async fn disable(
    Admin(manager): Admin,
    ApiPath(client_id): ApiPath<String>,
) -> Result<ApiJson<ClientView>, ApiError> {
    let updated = manager.set_client_disabled(&client_id, true).await?;
    Ok(ApiJson(ClientView::from(&updated)))
}

async fn enable(
    Admin(manager): Admin,
    ApiPath(client_id): ApiPath<String>,
) -> Result<ApiJson<ClientView>, ApiError> {
    let updated = manager.set_client_disabled(&client_id, false).await?;
    Ok(ApiJson(ClientView::from(&updated)))
}

async fn remove(
    Admin(manager): Admin,
    ApiPath(client_id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    manager.delete_client(&client_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
