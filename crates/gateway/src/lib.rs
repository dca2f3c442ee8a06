//! The Gatehouse gateway pipeline: match a route, authenticate, authorize, mutate identity headers, proxy. Typed outcomes, no status codes.
