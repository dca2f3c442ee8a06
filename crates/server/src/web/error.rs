//! [`PageError`]: how a UI request fails — a redirect to the sign-in page, or an HTML error
//! page. Server errors log their cause and show a generic text, like [`ApiError`] does.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use crate::error::ApiError;
use crate::web::view::{ErrorPage, render};

/// Why a page could not be shown.
#[derive(Debug)]
pub enum PageError {
    /// Not signed in (or the session ended): go to the sign-in page.
    SignedOut,
    /// Signed in but lacking a permission.
    Forbidden(String),
    /// A state-changing request without a valid CSRF token.
    Csrf,
    /// A malformed request.
    BadRequest(String),
    /// No such thing.
    NotFound(String),
    /// Anything else, as the API would answer it (5xx are logged with their cause).
    Api(ApiError),
}

impl From<ApiError> for PageError {
    fn from(error: ApiError) -> Self {
        Self::Api(error)
    }
}

impl From<gatehouse_store::StoreError> for PageError {
    fn from(error: gatehouse_store::StoreError) -> Self {
        Self::Api(ApiError::internal(error))
    }
}

impl From<gatehouse_auth::AuthError> for PageError {
    fn from(error: gatehouse_auth::AuthError) -> Self {
        Self::Api(error.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, detail) = match self {
            Self::SignedOut => return Redirect::to("/ui/login").into_response(),
            Self::Forbidden(what) => (StatusCode::FORBIDDEN, "Not allowed", what),
            Self::Csrf => (
                StatusCode::FORBIDDEN,
                "Form expired",
                String::from(
                    "This form was not sent from this page, or it has expired. Go back, reload the page and try again.",
                ),
            ),
            Self::BadRequest(detail) => (StatusCode::BAD_REQUEST, "Bad request", detail),
            Self::NotFound(what) => (StatusCode::NOT_FOUND, "Not found", what),
            Self::Api(error) => {
                let status = error.status();
                let detail = if status.is_server_error() {
                    // Logs the cause chain; the page shows only a generic text.
                    drop(error.into_response());
                    String::from("Something went wrong on our side. Try again in a moment.")
                } else {
                    error.detail().to_owned()
                };
                (status, status.canonical_reason().unwrap_or("Error"), detail)
            }
        };
        let page = ErrorPage {
            title,
            status: status.as_u16(),
            detail,
        };
        (status, render(&page)).into_response()
    }
}

impl From<crate::manage::ManageError> for PageError {
    fn from(error: crate::manage::ManageError) -> Self {
        Self::Api(error.into())
    }
}
