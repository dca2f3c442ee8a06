"""Validate a Gatehouse access token the way a Flask backend of the seed documents would:
PyJWT's PyJWKClient fetches the JWKS over HTTP, picks the key by `kid`, and jwt.decode checks
signature, exp/nbf/iat, iss and aud.

Usage: /usr/bin/python3 pyjwt_validate.py JWKS_URL TOKEN ISSUER AUDIENCE
Prints the decoded claims as JSON and exits 0, or prints `REJECTED <ExceptionName>` and exits 3.
Exits 2 if PyJWT is not importable: the Rust test treats that as a failure, not a skip.
"""

import json
import sys

try:
    import jwt
    from jwt import PyJWKClient
except ImportError as error:
    print(f"missing Python module {error.name}: apt-get install python3-jwt python3-cryptography",
          file=sys.stderr)
    sys.exit(2)


def main() -> int:
    jwks_url, token, issuer, audience = sys.argv[1:5]
    header = jwt.get_unverified_header(token)
    signing_key = PyJWKClient(jwks_url, cache_keys=False).get_signing_key_from_jwt(token)
    try:
        claims = jwt.decode(
            token,
            signing_key.key,
            # The algorithm list is fixed by the backend, never taken from the token.
            algorithms=["ES256", "RS256", "EdDSA"],
            audience=audience,
            issuer=issuer,
            options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]},
        )
    except jwt.PyJWTError as error:
        print(f"REJECTED {type(error).__name__}")
        return 3
    print(json.dumps({"pyjwt": jwt.__version__, "header": header, "claims": claims}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
