//! Persistence for Gatehouse: the store traits and their SQLite and PostgreSQL implementations. The only crate that knows SQL.
