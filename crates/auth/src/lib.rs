//! Accounts, passwords, sessions, refresh-token rotation and RBAC for Gatehouse. Uses the store traits; knows no HTTP and no SQL.
