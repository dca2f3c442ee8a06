//! The page handlers, one module per page group.

pub mod account;
pub mod admin;
pub mod assets;
pub mod home;
pub mod sign_in;
pub mod token;

use axum::response::{IntoResponse, Redirect, Response};

/// `303 See Other` to `path`: the answer to every successful form post, so a reload does not
/// post again.
pub fn see_other(path: &str) -> Response {
    Redirect::to(path).into_response()
}
