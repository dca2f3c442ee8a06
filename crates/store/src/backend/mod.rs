//! The two implementations of [`Store`](crate::Store). Each file holds only what differs
//! between the databases; the queries they share are in [`crate::sql`].

pub(crate) mod postgres;
pub(crate) mod sqlite;
