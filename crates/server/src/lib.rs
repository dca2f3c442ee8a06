//! The Gatehouse HTTP server: axum app, handlers, extractors and the one place errors become HTTP responses.
