//! Request extractors: JSON/path/query with problem+json rejections, and the authenticated
//! caller.

mod json;

pub use json::{ApiJson, ApiPath, ApiQuery, parse_json};

mod auth;

pub use auth::{
    AdminUser, AuthenticatedUser, ClientInfo, GatehouseAdmin, Permission, RequirePermission,
    TokenError, bearer_token,
};
