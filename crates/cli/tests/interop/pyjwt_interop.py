"""Interop driver for PyJWT (an independent JWT implementation) used by the gatehouse CLI tests.

Run with Debian's /usr/bin/python3 (python3-jwt + python3-cryptography). JSON in on stdin,
JSON out on stdout; the Rust test decides what is a pass.

  verify: {"cases": [{"name", "alg", "token", "issuer", "audience",
                      "jwks": {...} | "hmac_pem": "<Gatehouse HMAC key file>"}]}
       -> {"<name>": {"ok": true, "claims": {...}} | {"ok": false, "error": "..."}},
          plus "thumbprints": {"<kid>": "<RFC 7638 thumbprint computed here>"}
  sign:   {"algs": [...], "claims": {...}, "other_sub": "..."}
       -> {"<alg>": {"kid", "token", "token_other", "jwks": {...} | "secret_b64": "..."}}
          (HMAC tokens carry no kid, as PyJWT is usually used; "kid" is then null)
          token_other carries the same claims with sub = other_sub, signed by the same key,
          so the caller can splice a tampered token from the two.
"""

import base64
import hashlib
import json
import os
import sys

try:
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
except ImportError as error:  # the Rust test turns exit 3 into a failure naming what to install
    print(f"missing Python module: {error.name}; install with: apt-get install python3-jwt "
          f"python3-cryptography (use /usr/bin/python3)", file=sys.stderr)
    sys.exit(3)

HMAC_SECRET_BYTES = {"HS256": 32, "HS384": 48, "HS512": 64}
THUMBPRINT_MEMBERS = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"),
                      "OKP": ("crv", "kty", "x"), "oct": ("k", "kty")}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def thumbprint(jwk: dict) -> str:
    """RFC 7638: SHA-256 of the required members, sorted, no whitespace."""
    members = {name: jwk[name] for name in THUMBPRINT_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":"))
    return b64url(hashlib.sha256(canonical.encode()).digest())


def hmac_secret_from_pem(pem: str) -> bytes:
    lines = pem.strip().splitlines()
    begin = lines.index("-----BEGIN GATEHOUSE HMAC KEY-----")
    end = lines.index("-----END GATEHOUSE HMAC KEY-----")
    return base64.b64decode("".join(lines[begin + 1:end]), validate=True)


def verify(cases: list) -> dict:
    results, thumbprints = {}, {}
    for case in cases:
        try:
            if "jwks" in case:
                for jwk in case["jwks"]["keys"]:
                    thumbprints[jwk.get("kid", "")] = thumbprint(jwk)
                kid = jwt.get_unverified_header(case["token"]).get("kid")
                keys = [k for k in jwt.PyJWKSet.from_dict(case["jwks"]).keys if k.key_id == kid]
                if len(keys) != 1:
                    raise LookupError(f"no key with kid {kid!r}")
                key = keys[0].key
            else:
                key = hmac_secret_from_pem(case["hmac_pem"])
            claims = jwt.decode(case["token"], key, algorithms=[case["alg"]],
                                audience=case["audience"], issuer=case["issuer"],
                                options={"require": ["exp", "iat", "nbf", "jti"]})
            results[case["name"]] = {"ok": True, "claims": claims}
        except Exception as error:  # every refusal is data for the caller
            results[case["name"]] = {"ok": False, "error": f"{type(error).__name__}: {error}"}
    results["thumbprints"] = thumbprints
    return results


def generate(alg: str):
    """Returns (signing key, public JWK dict or None, HMAC secret or None)."""
    if alg in HMAC_SECRET_BYTES:
        # `--secret-file` drops one trailing newline (`echo secret > file`); a random secret
        # ending in one would lose a byte, so draw again.
        secret = os.urandom(HMAC_SECRET_BYTES[alg])
        while secret.endswith(b"\n"):
            secret = os.urandom(HMAC_SECRET_BYTES[alg])
        return secret, None, secret
    if alg[:2] in ("RS", "PS"):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = RSAAlgorithm.to_jwk(key.public_key())
    elif alg in ("ES256", "ES384"):
        key = ec.generate_private_key(ec.SECP256R1() if alg == "ES256" else ec.SECP384R1())
        jwk = ECAlgorithm.to_jwk(key.public_key())
    elif alg == "EdDSA":
        key = ed25519.Ed25519PrivateKey.generate()
        jwk = OKPAlgorithm.to_jwk(key.public_key())
    else:
        raise ValueError(f"unknown algorithm {alg}")
    return key, json.loads(jwk), None


def sign(algs: list, claims: dict, other_sub: str) -> dict:
    out = {}
    for alg in algs:
        key, jwk, secret = generate(alg)
        if jwk is not None:
            kid = thumbprint(jwk)
            jwk.update({"kid": kid, "alg": alg, "use": "sig"})
            entry = {"kid": kid, "jwks": {"keys": [jwk]}}
        else:
            # The common PyJWT HMAC usage: a shared secret and no kid in the header.
            kid = None
            entry = {"kid": kid, "secret_b64": base64.b64encode(secret).decode()}
        headers = {"kid": kid} if kid else None
        entry["token"] = jwt.encode(claims, key, algorithm=alg, headers=headers)
        entry["token_other"] = jwt.encode(dict(claims, sub=other_sub), key, algorithm=alg,
                                          headers=headers)
        out[alg] = entry
    return out


def main() -> None:
    request = json.load(sys.stdin)
    if sys.argv[1:] == ["verify"]:
        result = verify(request["cases"])
    elif sys.argv[1:] == ["sign"]:
        result = sign(request["algs"], request["claims"], request["other_sub"])
    else:
        sys.exit("usage: pyjwt_interop.py verify|sign < request.json")
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
