//! Pure JOSE core of Gatehouse: JWS signing and verification, keys, JWK Sets and the JWT validation rules. No I/O, no clock.
