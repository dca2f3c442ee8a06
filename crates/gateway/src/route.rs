//! The route table: which configured route a request belongs to (prefix match on whole path
//! segments, longest prefix wins, optional method list), with deny by default.

use std::collections::BTreeSet;
use std::fmt;

use http::Method;
use http::uri::{Authority, PathAndQuery};

use crate::config::RouteConfig;
use crate::error::Error;
use crate::policy::Policy;
use crate::subject::IssuerName;

/// A route's path prefix: starts with `/`, no trailing `/` (except the root), no empty, `.` or
/// `..` segments, no query or fragment, no percent-encoding. It matches a request path that
/// equals it or continues with `/`, so `/api/reports` never matches `/api/reportsX`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PathPrefix(String);

impl PathPrefix {
    /// Validates a prefix as written in the configuration.
    pub fn new(path: &str) -> Result<Self, String> {
        if path == "/" {
            return Ok(Self(path.to_owned()));
        }
        if !path.starts_with('/') {
            return Err("must start with `/`".into());
        }
        if path.ends_with('/') {
            return Err("must not end with `/` (prefixes match whole segments already)".into());
        }
        if path.contains(['?', '#', '%', '\\']) || path.chars().any(|c| !c.is_ascii_graphic()) {
            return Err(
                "must be a plain path: no query, fragment, percent-encoding, backslash or spaces"
                    .into(),
            );
        }
        if path[1..]
            .split('/')
            .any(|segment| matches!(segment, "" | "." | ".."))
        {
            return Err("must not contain empty, `.` or `..` segments".into());
        }
        Ok(Self(path.to_owned()))
    }

    /// The prefix as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `path` is this prefix or lies below it.
    pub fn matches(&self, path: &RequestPath<'_>) -> bool {
        let path = path.as_str();
        if self.0 == "/" {
            return true;
        }
        path.strip_prefix(self.0.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }
}

/// Why a request path is refused before any route is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsafePath {
    /// The path does not start with `/`.
    NotAbsolute,
    /// A `.` or `..` segment, plain or percent-encoded: the upstream might resolve it and reach a
    /// path other than the one the policy was checked for.
    DotSegment,
    /// A percent-encoded `/` or `\`, or a raw `\`: upstreams disagree on how to split them.
    AmbiguousSeparator,
}

impl fmt::Display for UnsafePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotAbsolute => "the request path must start with `/`",
            Self::DotSegment => "the request path contains a `.` or `..` segment",
            Self::AmbiguousSeparator => {
                "the request path contains an encoded or backslash separator"
            }
        })
    }
}

/// A request path (no query) that is safe to match: the gateway checks the policy for exactly
/// the path the upstream receives, so nothing that an upstream could re-interpret gets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestPath<'a>(&'a str);

impl<'a> RequestPath<'a> {
    /// Checks a request path. Runs on every proxied request, so it scans the bytes once and
    /// allocates nothing.
    pub fn parse(path: &'a str) -> Result<Self, UnsafePath> {
        if !path.starts_with('/') {
            return Err(UnsafePath::NotAbsolute);
        }
        let bytes = path.as_bytes();
        let encoded = |at: usize, hex: &[u8; 2]| {
            bytes
                .get(at + 1..at + 3)
                .is_some_and(|pair| pair[0] == hex[0] && pair[1].eq_ignore_ascii_case(&hex[1]))
        };
        for (at, &byte) in bytes.iter().enumerate() {
            if byte == b'\\' || (byte == b'%' && (encoded(at, b"2f") || encoded(at, b"5c"))) {
                return Err(UnsafePath::AmbiguousSeparator);
            }
        }
        if path.split('/').any(is_dot_segment) {
            return Err(UnsafePath::DotSegment);
        }
        Ok(Self(path))
    }

    /// The path.
    pub fn as_str(&self) -> &'a str {
        self.0
    }
}

/// Whether a path segment is `.` or `..`, each dot plain or percent-encoded (`%2e`, `%2E`).
fn is_dot_segment(segment: &str) -> bool {
    let mut rest = segment.as_bytes();
    let mut dots = 0;
    while !rest.is_empty() {
        rest = match rest {
            [b'.', tail @ ..] => tail,
            [b'%', b'2', e, tail @ ..] if e.eq_ignore_ascii_case(&b'e') => tail,
            _ => return false,
        };
        dots += 1;
    }
    dots == 1 || dots == 2
}

/// Where a route forwards to: an `http://` origin and an optional base path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    authority: Authority,
    /// `authority` as the `Host` header of forwarded requests, built once.
    host: http::HeaderValue,
    base_path: String,
}

impl Upstream {
    /// Parses `http://host:port[/base]`. Only plain HTTP: upstreams are internal services, and
    /// TLS towards them is left to a service mesh.
    pub fn parse(text: &str) -> Result<Self, String> {
        let uri: http::Uri = text
            .parse()
            .map_err(|e| format!("`{text}` is not a URI: {e}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!("`{text}` must be an http:// URL"));
        }
        let authority = uri
            .authority()
            .cloned()
            .ok_or_else(|| format!("`{text}` has no host"))?;
        if authority.as_str().contains('@') {
            return Err(format!("`{text}` must not contain credentials"));
        }
        if uri.query().is_some() {
            return Err(format!("`{text}` must not have a query"));
        }
        let host = http::HeaderValue::from_str(authority.as_str())
            .map_err(|_| format!("`{text}` has a host that is not a header value"))?;
        let base_path = uri.path().trim_end_matches('/').to_owned();
        Ok(Self {
            authority,
            host,
            base_path,
        })
    }

    /// `host:port`.
    pub fn authority(&self) -> &Authority {
        &self.authority
    }

    /// `host:port` as a `Host` header value.
    pub fn host_header(&self) -> &http::HeaderValue {
        &self.host
    }

    /// `http://host:port`, for logs and error messages.
    pub fn origin(&self) -> String {
        format!("http://{}", self.authority)
    }

    /// The path and query to send upstream: `path` is the request's path after the route's
    /// `strip_prefix`, `original` the request's own path and query. When the path goes
    /// upstream unchanged, `original` is re-used as it is (shared, not copied or parsed again).
    pub fn path_and_query_for(
        &self,
        path: &str,
        original: &PathAndQuery,
    ) -> Result<PathAndQuery, Error> {
        if self.base_path.is_empty() && path == original.path() {
            return Ok(original.clone());
        }
        let mut joined = format!("{}{}", self.base_path, path);
        if let Some(query) = original.query() {
            joined.push('?');
            joined.push_str(query);
        }
        joined
            .parse()
            .map_err(|e| Error::BadForward(format!("{e}")))
    }
}

/// Who may use a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// No token needed (`public = true`).
    Public,
    /// A valid token meeting the policy.
    Protected(Policy),
}

/// One validated route.
#[derive(Debug, Clone)]
pub struct Route {
    /// The path prefix.
    pub prefix: PathPrefix,
    /// The methods it applies to; all when `None`.
    pub methods: Option<Vec<Method>>,
    /// Who may use it.
    pub access: Access,
    /// Where it forwards to; `None` for forward-auth-only routes.
    pub upstream: Option<Upstream>,
    /// Whether the prefix is removed before forwarding.
    pub strip_prefix: bool,
    /// Whether the client's `Authorization` header is forwarded.
    pub forward_authorization: bool,
    /// Audience of the internal token minted for the upstream, when enabled.
    pub upstream_token_audience: Option<String>,
    /// Whether Gatehouse's browser session cookie is accepted instead of a Bearer token (the
    /// server resolves the cookie; this crate knows no cookies).
    pub accept_session_cookie: bool,
}

impl Route {
    fn applies_to(&self, method: &Method) -> bool {
        self.methods
            .as_ref()
            .is_none_or(|methods| methods.contains(method))
    }

    /// The path to send upstream for `path`, honouring `strip_prefix`.
    pub fn upstream_path<'a>(&self, path: &RequestPath<'a>) -> std::borrow::Cow<'a, str> {
        let path = path.as_str();
        if !self.strip_prefix || self.prefix.as_str() == "/" {
            return path.into();
        }
        match path.strip_prefix(self.prefix.as_str()) {
            Some("") => "/".into(),
            Some(rest) => rest.into(),
            None => path.into(),
        }
    }

    fn from_config(
        index: usize,
        config: &RouteConfig,
        known_issuers: &BTreeSet<IssuerName>,
    ) -> Result<Self, Error> {
        let invalid = |problem: String| Error::InvalidRoute {
            index,
            path: config.path.clone(),
            problem,
        };
        let prefix = PathPrefix::new(&config.path).map_err(|p| invalid(format!("`path` {p}")))?;
        let methods = match &config.methods {
            None => None,
            Some(list) if list.is_empty() => {
                return Err(invalid(
                    "`methods` is empty; remove it to allow every method".into(),
                ));
            }
            Some(list) => Some(
                list.iter()
                    .map(|m| {
                        let upper = m.to_ascii_uppercase();
                        Method::from_bytes(upper.as_bytes())
                            .map_err(|_| invalid(format!("`methods` has an invalid method `{m}`")))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        let access = match (config.public, &config.allow) {
            (true, Some(_)) => {
                return Err(invalid(
                    "`public = true` and `allow` exclude each other; remove one".into(),
                ));
            }
            (true, None) => Access::Public,
            (false, None) => Access::Protected(Policy::default()),
            (false, Some(allow)) => {
                let issuers = allow
                    .issuers
                    .iter()
                    .map(|name| {
                        let name = IssuerName::new(name).map_err(&invalid)?;
                        if known_issuers.contains(&name) {
                            Ok(name)
                        } else {
                            Err(invalid(format!(
                                "`allow.issuers` names `{name}`, which is neither `gatehouse` nor an [[issuers]] name"
                            )))
                        }
                    })
                    .collect::<Result<_, _>>()?;
                let set = |list: &[String]| list.iter().cloned().collect::<BTreeSet<_>>();
                Access::Protected(Policy {
                    roles_any: set(&allow.roles_any),
                    permissions_all: set(&allow.permissions_all),
                    groups_any: set(&allow.groups_any),
                    scopes_any: set(&allow.scopes_any),
                    issuers,
                })
            }
        };
        let upstream = config
            .upstream
            .as_deref()
            .map(Upstream::parse)
            .transpose()
            .map_err(|p| invalid(format!("`upstream` {p}")))?;
        if config.public && config.accept_session_cookie {
            return Err(invalid(
                "a public route needs no credential; remove `accept_session_cookie`".into(),
            ));
        }
        if config.public && config.upstream_token {
            return Err(invalid(
                "a public route has no identity to mint a token for; remove `upstream_token`"
                    .into(),
            ));
        }
        let upstream_token_audience = match (config.upstream_token, &upstream, &config.audience) {
            (false, _, None) => None,
            (false, _, Some(_)) => {
                return Err(invalid(
                    "`audience` is set but `upstream_token` is not".into(),
                ));
            }
            (true, _, Some(audience)) => Some(audience.clone()),
            (true, Some(upstream), None) => Some(upstream.origin()),
            (true, None, None) => {
                return Err(invalid(
                    "`upstream_token` needs an `upstream` or an `audience`".into(),
                ));
            }
        };
        Ok(Self {
            prefix,
            methods,
            access,
            upstream,
            strip_prefix: config.strip_prefix,
            forward_authorization: config.forward_authorization,
            upstream_token_audience,
            accept_session_cookie: config.accept_session_cookie,
        })
    }
}

/// The validated set of routes. Deny by default: a request matching no route gets `None`.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    /// Sorted by prefix length, longest first.
    routes: Vec<Route>,
}

impl RouteTable {
    /// Validates the `[[routes]]` entries. `known_issuers` are the names a policy may list.
    pub fn from_config(
        configs: &[RouteConfig],
        known_issuers: &BTreeSet<IssuerName>,
    ) -> Result<Self, Error> {
        let mut routes: Vec<Route> = Vec::with_capacity(configs.len());
        for (index, config) in configs.iter().enumerate() {
            let route = Route::from_config(index, config, known_issuers)?;
            let overlaps = routes.iter().any(|other| {
                other.prefix == route.prefix
                    && match (&other.methods, &route.methods) {
                        (Some(a), Some(b)) => a.iter().any(|m| b.contains(m)),
                        _ => true,
                    }
            });
            if overlaps {
                return Err(Error::InvalidRoute {
                    index,
                    path: config.path.clone(),
                    problem: "another route has the same path and overlapping methods".into(),
                });
            }
            routes.push(route);
        }
        routes.sort_by_key(|route| std::cmp::Reverse(route.prefix.as_str().len()));
        Ok(Self { routes })
    }

    /// The route for a request: the longest prefix that matches the path; among routes with that
    /// prefix, the one listing the method. When the longest prefix exists but not for this
    /// method, the answer is `None` rather than a shorter prefix, so a method-restricted route
    /// can never be bypassed through a broader route.
    pub fn find(&self, method: &Method, path: &RequestPath<'_>) -> Option<&Route> {
        let longest = self
            .routes
            .iter()
            .find(|route| route.prefix.matches(path))?;
        self.routes
            .iter()
            .filter(|route| route.prefix == longest.prefix)
            .find(|route| route.applies_to(method))
    }

    /// Every route, longest prefix first.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The number of routes.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether there are no routes (every request is refused).
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AllowConfig;

    fn route(path: &str) -> RouteConfig {
        RouteConfig {
            path: path.into(),
            upstream: Some("http://127.0.0.1:9000".into()),
            ..RouteConfig::default()
        }
    }

    fn known() -> BTreeSet<IssuerName> {
        [IssuerName::gatehouse(), IssuerName::new("entra").unwrap()].into()
    }

    fn table(configs: &[RouteConfig]) -> RouteTable {
        RouteTable::from_config(configs, &known()).unwrap()
    }

    fn path(p: &str) -> RequestPath<'_> {
        RequestPath::parse(p).unwrap()
    }

    #[test]
    fn a_prefix_matches_whole_segments_only() {
        let t = table(&[route("/api/reports")]);
        assert!(t.find(&Method::GET, &path("/api/reports")).is_some());
        assert!(t.find(&Method::GET, &path("/api/reports/2024")).is_some());
        assert!(t.find(&Method::GET, &path("/api/reportsX")).is_none());
        assert!(t.find(&Method::GET, &path("/api")).is_none());
    }

    #[test]
    fn the_session_cookie_is_accepted_only_where_a_protected_route_says_so() {
        let mut cookie = route("/app");
        cookie.accept_session_cookie = true;
        let t = table(&[cookie.clone(), route("/api")]);
        assert!(
            t.find(&Method::GET, &path("/app/x"))
                .unwrap()
                .accept_session_cookie
        );
        assert!(
            !t.find(&Method::GET, &path("/api/x"))
                .unwrap()
                .accept_session_cookie
        );
        cookie.public = true;
        let refused = RouteTable::from_config(&[cookie], &known());
        assert!(
            matches!(refused, Err(Error::InvalidRoute { .. })),
            "{refused:?}"
        );
    }

    #[test]
    fn no_matching_route_means_no_access() {
        assert!(table(&[]).find(&Method::GET, &path("/")).is_none());
    }

    #[test]
    fn the_longest_prefix_wins() {
        let mut public = route("/api");
        public.public = true;
        let t = table(&[public, route("/api/admin")]);
        let found = t.find(&Method::GET, &path("/api/admin/users")).unwrap();
        assert_eq!(found.prefix.as_str(), "/api/admin");
        assert_eq!(found.access, Access::Protected(Policy::default()));
        assert_eq!(
            t.find(&Method::GET, &path("/api/x")).unwrap().access,
            Access::Public
        );
    }

    #[test]
    fn a_method_restricted_route_is_not_bypassed_through_a_shorter_prefix() {
        let mut public = route("/api");
        public.public = true;
        let mut admin = route("/api/admin");
        admin.methods = Some(vec!["post".into()]);
        let t = table(&[public, admin]);
        assert!(t.find(&Method::POST, &path("/api/admin")).is_some());
        assert!(t.find(&Method::GET, &path("/api/admin")).is_none());
    }

    #[test]
    fn routes_with_the_same_prefix_split_by_method() {
        let mut read = route("/api");
        read.methods = Some(vec!["GET".into()]);
        read.public = true;
        let mut write = route("/api");
        write.methods = Some(vec!["POST".into(), "PUT".into()]);
        let t = table(&[read, write]);
        assert_eq!(
            t.find(&Method::GET, &path("/api")).unwrap().access,
            Access::Public
        );
        assert_ne!(
            t.find(&Method::PUT, &path("/api")).unwrap().access,
            Access::Public
        );
        assert!(t.find(&Method::DELETE, &path("/api")).is_none());
    }

    #[test]
    fn overlapping_routes_are_refused_at_load_time() {
        let err = RouteTable::from_config(&[route("/a"), route("/a")], &known()).unwrap_err();
        assert!(err.to_string().contains("routes[1]"), "{err}");
    }

    #[test]
    fn public_and_allow_together_are_refused() {
        let mut r = route("/a");
        r.public = true;
        r.allow = Some(AllowConfig::default());
        assert!(RouteTable::from_config(&[r], &known()).is_err());
    }

    #[test]
    fn a_policy_naming_an_unknown_issuer_is_refused() {
        let mut r = route("/a");
        r.allow = Some(AllowConfig {
            issuers: vec!["okta".into()],
            ..AllowConfig::default()
        });
        let err = RouteTable::from_config(&[r], &known()).unwrap_err();
        assert!(err.to_string().contains("okta"), "{err}");
    }

    #[test]
    fn bad_prefixes_are_refused() {
        for bad in [
            "api", "/api/", "/a//b", "/a/../b", "/a?x=1", "/a%2fb", "/a b", "",
        ] {
            assert!(PathPrefix::new(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn upstreams_must_be_plain_http_origins() {
        assert!(Upstream::parse("http://127.0.0.1:9000").is_ok());
        assert!(Upstream::parse("http://svc:80/base/").is_ok());
        assert!(Upstream::parse("https://svc").is_err());
        assert!(Upstream::parse("http://user:pw@svc").is_err());
        assert!(Upstream::parse("http://svc/?q=1").is_err());
        assert!(Upstream::parse("/relative").is_err());
    }

    #[test]
    fn request_paths_an_upstream_could_reinterpret_are_refused() {
        assert_eq!(
            RequestPath::parse("/public/../admin"),
            Err(UnsafePath::DotSegment)
        );
        assert_eq!(
            RequestPath::parse("/public/%2e%2E/admin"),
            Err(UnsafePath::DotSegment)
        );
        assert_eq!(
            RequestPath::parse("/public/./x"),
            Err(UnsafePath::DotSegment)
        );
        assert_eq!(
            RequestPath::parse("/public%2fadmin"),
            Err(UnsafePath::AmbiguousSeparator)
        );
        assert_eq!(
            RequestPath::parse("/public\\admin"),
            Err(UnsafePath::AmbiguousSeparator)
        );
        assert_eq!(RequestPath::parse("x"), Err(UnsafePath::NotAbsolute));
        assert!(RequestPath::parse("/files/a..b/.hidden").is_ok());
        for dots in ["/a/%2E%2e", "/a/.%2e/b", "/a/%2e.", "/a/%2E", "/.."] {
            assert_eq!(
                RequestPath::parse(dots),
                Err(UnsafePath::DotSegment),
                "{dots}"
            );
        }
        for separator in ["/a%2Fb", "/a%5cb", "/a%5C"] {
            assert_eq!(
                RequestPath::parse(separator),
                Err(UnsafePath::AmbiguousSeparator),
                "{separator}"
            );
        }
        for fine in [
            "/a/...",
            "/a/%2e%2e%2e",
            "/a/%2",
            "/a/%",
            "/a/%2g",
            "/a/%25",
        ] {
            assert!(RequestPath::parse(fine).is_ok(), "{fine}");
        }
    }

    /// The allocation-free check agrees with the obvious one (lower-case, decode `%2e`,
    /// compare) on paths built from the characters that matter.
    #[test]
    fn the_path_check_agrees_with_a_plain_reference() {
        fn reference(path: &str) -> Result<(), UnsafePath> {
            if !path.starts_with('/') {
                return Err(UnsafePath::NotAbsolute);
            }
            let lower = path.to_ascii_lowercase();
            if lower.contains("%2f") || lower.contains("%5c") || path.contains('\\') {
                return Err(UnsafePath::AmbiguousSeparator);
            }
            let dots = |segment: &str| {
                let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
                decoded == "." || decoded == ".."
            };
            if path.split('/').any(dots) {
                return Err(UnsafePath::DotSegment);
            }
            Ok(())
        }
        proptest::proptest!(|(path in "/?[./%25eEfFcC\\\\a]{0,12}")| {
            proptest::prop_assert_eq!(RequestPath::parse(&path).map(|_| ()), reference(&path));
        });
    }

    #[test]
    fn strip_prefix_keeps_a_leading_slash() {
        let mut r = route("/svc");
        r.strip_prefix = true;
        let t = table(&[r]);
        let found = t.find(&Method::GET, &path("/svc")).unwrap();
        assert_eq!(found.upstream_path(&path("/svc")), "/");
        assert_eq!(found.upstream_path(&path("/svc/a/b")), "/a/b");
    }

    #[test]
    fn the_upstream_path_joins_base_path_path_and_query() {
        let upstream = Upstream::parse("http://svc:81/base/").unwrap();
        let original = PathAndQuery::from_static("/svc/a/b?x=1");
        let sent = upstream.path_and_query_for("/a/b", &original).unwrap();
        assert_eq!(sent, "/base/a/b?x=1");
        let upstream = Upstream::parse("http://svc:81").unwrap();
        let sent = upstream.path_and_query_for("/a/b", &original).unwrap();
        assert_eq!(sent, "/a/b?x=1");
        let sent = upstream.path_and_query_for("/svc/a/b", &original).unwrap();
        assert_eq!(sent, "/svc/a/b?x=1");
    }

    #[test]
    fn an_upstream_token_defaults_its_audience_to_the_upstream_origin() {
        let mut r = route("/svc");
        r.upstream_token = true;
        let t = table(&[r]);
        let found = t.find(&Method::GET, &path("/svc")).unwrap();
        assert_eq!(
            found.upstream_token_audience.as_deref(),
            Some("http://127.0.0.1:9000")
        );
    }
}
