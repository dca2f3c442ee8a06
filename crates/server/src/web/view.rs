//! The page templates (askama, compiled into the binary, HTML-escaped by default) and what
//! each one shows.

use askama::Template;
use axum::response::Html;
use gatehouse_store::ADMIN_PERMISSION;

use crate::web::extract::Visitor;

/// Renders a template; a rendering failure (it cannot fail for these types) becomes a short
/// text instead of a panic.
pub fn render<T: Template>(template: &T) -> Html<String> {
    match template.render() {
        Ok(html) => Html(html),
        Err(error) => {
            tracing::error!(error = %error, "rendering a page failed");
            Html(String::from(
                "<!doctype html><title>Error</title><p>The page could not be shown.",
            ))
        }
    }
}

/// What the layout needs on every page: who is signed in, the CSRF token, the current page.
#[derive(Debug, Clone)]
pub struct Nav {
    /// The signed-in username.
    pub username: Option<String>,
    /// Whether to show the admin link.
    pub is_admin: bool,
    /// The CSRF token for the page's forms.
    pub csrf: String,
    /// Which menu entry is current (`home`, `token`, `account`, `admin`, or empty).
    pub active: &'static str,
    /// One-line notice shown on top (a success message).
    pub notice: Option<String>,
    /// One-line error shown on top.
    pub error: Option<String>,
}

impl Nav {
    /// The layout data for `visitor` on page `active`.
    pub fn new(visitor: &Visitor, active: &'static str) -> Self {
        Self {
            username: visitor.signed_in.as_ref().map(|s| s.username().to_owned()),
            is_admin: visitor
                .signed_in
                .as_ref()
                .is_some_and(|s| s.has_permission(ADMIN_PERMISSION)),
            csrf: visitor.csrf.clone(),
            active,
            notice: None,
            error: None,
        }
    }

    /// With a success notice.
    pub fn notice(mut self, text: Option<String>) -> Self {
        self.notice = text;
        self
    }

    /// With an error line.
    pub fn error(mut self, text: Option<String>) -> Self {
        self.error = text;
        self
    }
}

/// An error page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// Short title.
    pub title: &'static str,
    /// HTTP status.
    pub status: u16,
    /// What happened and what to do.
    pub detail: String,
}

/// One "Sign in with …" button.
#[derive(Debug, Clone)]
pub struct ProviderButton {
    /// Provider name (URL part).
    pub name: String,
    /// Button text's provider name.
    pub label: String,
}

/// The sign-in page.
#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    /// Layout.
    pub nav: Nav,
    /// Username to prefill after a failed attempt.
    pub username: String,
    /// Whether to link to the sign-up page.
    pub signup_open: bool,
    /// SSO buttons.
    pub providers: Vec<ProviderButton>,
}

/// The sign-up page.
#[derive(Template)]
#[template(path = "signup.html")]
pub struct SignupPage {
    /// Layout.
    pub nav: Nav,
    /// Username to prefill after a failed attempt.
    pub username: String,
    /// E-mail to prefill.
    pub email: String,
}

/// The home page.
#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    /// Layout.
    pub nav: Nav,
    /// The username.
    pub username: String,
    /// The user id.
    pub user_id: String,
    /// Roles in the current token.
    pub roles: Vec<String>,
    /// Groups in the current token.
    pub groups: Vec<String>,
    /// Permissions in the current token.
    pub permissions: Vec<String>,
    /// The path "Fetch data" calls.
    pub fetch_path: String,
    /// When the current access token expires, readable.
    pub token_expires: String,
}

/// One row of a claims table.
#[derive(Debug, Clone)]
pub struct ClaimRow {
    /// Claim name.
    pub name: String,
    /// Value as JSON.
    pub value: String,
    /// A readable form (times), if any.
    pub note: String,
}

/// The token page.
#[derive(Template)]
#[template(path = "token.html")]
pub struct TokenPage {
    /// Layout.
    pub nav: Nav,
    /// Header parameters.
    pub header: Vec<ClaimRow>,
    /// Claims.
    pub claims: Vec<ClaimRow>,
}

/// One session row on the account page.
#[derive(Debug, Clone)]
pub struct SessionRow {
    /// Session id.
    pub id: String,
    /// Device (user agent), shortened.
    pub device: String,
    /// Address.
    pub address: String,
    /// Signed in at.
    pub created: String,
    /// Last used.
    pub last_used: String,
    /// Whether it is the session of this browser.
    pub current: bool,
}

/// The account page.
#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    /// Layout.
    pub nav: Nav,
    /// Username.
    pub username: String,
    /// E-mail, or empty.
    pub email: String,
    /// Created at, readable.
    pub created: String,
    /// Live sessions.
    pub sessions: Vec<SessionRow>,
}

/// One user row in the admin list.
#[derive(Debug, Clone)]
pub struct UserRow {
    /// Id.
    pub id: String,
    /// Username.
    pub username: String,
    /// E-mail, or empty.
    pub email: String,
    /// Disabled?
    pub disabled: bool,
    /// Created, readable.
    pub created: String,
}

/// Admin: users.
#[derive(Template)]
#[template(path = "admin_users.html")]
pub struct AdminUsersPage {
    /// Layout.
    pub nav: Nav,
    /// The search text.
    pub search: String,
    /// The users found.
    pub users: Vec<UserRow>,
    /// Total matches.
    pub total: u64,
    /// All role names (for the create form).
    pub roles: Vec<String>,
}

/// A role with a flag, for checkboxes.
#[derive(Debug, Clone)]
pub struct RoleChoice {
    /// Role name.
    pub name: String,
    /// Whether it is held.
    pub held: bool,
}

/// Admin: one user.
#[derive(Template)]
#[template(path = "admin_user.html")]
pub struct AdminUserPage {
    /// Layout.
    pub nav: Nav,
    /// The user.
    pub user: UserRow,
    /// Direct roles (checkboxes).
    pub roles: Vec<RoleChoice>,
    /// Effective roles, groups, permissions.
    pub effective_roles: Vec<String>,
    /// Groups.
    pub groups: Vec<String>,
    /// Permissions.
    pub permissions: Vec<String>,
}

/// A role and its permissions.
#[derive(Debug, Clone)]
pub struct RoleView {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Permissions.
    pub permissions: Vec<String>,
}

/// Admin: roles and permissions.
#[derive(Template)]
#[template(path = "admin_roles.html")]
pub struct AdminRolesPage {
    /// Layout.
    pub nav: Nav,
    /// Every role.
    pub roles: Vec<RoleView>,
}

/// A group with members and roles.
#[derive(Debug, Clone)]
pub struct GroupView {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Member usernames.
    pub members: Vec<String>,
    /// Roles conferred.
    pub roles: Vec<String>,
}

/// Admin: groups and members.
#[derive(Template)]
#[template(path = "admin_groups.html")]
pub struct AdminGroupsPage {
    /// Layout.
    pub nav: Nav,
    /// Every group.
    pub groups: Vec<GroupView>,
}

/// One audit event.
#[derive(Debug, Clone)]
pub struct AuditRow {
    /// When.
    pub at: String,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// On whom.
    pub target: String,
    /// From where.
    pub ip: String,
    /// Details as JSON.
    pub details: String,
}

/// Admin: the audit log.
#[derive(Template)]
#[template(path = "admin_audit.html")]
pub struct AdminAuditPage {
    /// Layout.
    pub nav: Nav,
    /// Filter: actor.
    pub actor: String,
    /// Filter: action.
    pub action: String,
    /// Filter: target.
    pub target: String,
    /// The events.
    pub events: Vec<AuditRow>,
}

/// A timestamp as `2026-06-01 12:00:00 UTC`.
pub fn readable(at: time::OffsetDateTime) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}
