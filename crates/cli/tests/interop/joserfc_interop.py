"""Interop driver for joserfc (a second independent JOSE implementation) used by the gatehouse
CLI tests. Run with the `python3` on PATH that has joserfc (`pip install joserfc`).

Same protocol as pyjwt_interop.py (see there): `verify` and `sign`, JSON on stdin and stdout.
Thumbprints come from joserfc's own RFC 7638 implementation (`Key.thumbprint()`).
"""

import base64
import json
import sys
import warnings

try:
    from joserfc import jwt
    from joserfc.jwk import ECKey, KeySet, OctKey, OKPKey, RSAKey
except ImportError as error:  # the Rust test turns exit 3 into a failure naming what to install
    print(f"missing Python module: {error.name}; install with: python3 -m pip install joserfc",
          file=sys.stderr)
    sys.exit(3)

# joserfc warns that RFC 9864 deprecates "EdDSA" in favour of "Ed25519"; the JWTs in the wild
# (and Gatehouse) still say "EdDSA", so the warning is noise here.
warnings.filterwarnings("ignore", message=".*deprecated.*")

HMAC_SECRET_BITS = {"HS256": 256, "HS384": 384, "HS512": 512}


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
                key = KeySet.import_key_set(case["jwks"])
                for jwk in case["jwks"]["keys"]:
                    thumbprints[jwk.get("kid", "")] = KeySet.import_key_set(
                        {"keys": [jwk]}).keys[0].thumbprint()
            else:
                key = OctKey.import_key(hmac_secret_from_pem(case["hmac_pem"]))
            token = jwt.decode(case["token"], key, algorithms=[case["alg"]])
            registry = jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": case["issuer"]},
                aud={"essential": True, "value": case["audience"]},
                exp={"essential": True}, nbf={"essential": True}, iat={"essential": True},
                jti={"essential": True})
            registry.validate(token.claims)
            results[case["name"]] = {"ok": True, "claims": token.claims}
        except Exception as error:  # every refusal is data for the caller
            results[case["name"]] = {"ok": False, "error": f"{type(error).__name__}: {error}"}
    results["thumbprints"] = thumbprints
    return results


def generate(alg: str):
    if alg in HMAC_SECRET_BITS:
        # `--secret-file` drops one trailing newline (`echo secret > file`); a random secret
        # ending in one would lose a byte, so draw again.
        key = OctKey.generate_key(HMAC_SECRET_BITS[alg])
        while key.raw_value.endswith(b"\n"):
            key = OctKey.generate_key(HMAC_SECRET_BITS[alg])
        return key
    if alg[:2] in ("RS", "PS"):
        return RSAKey.generate_key(2048)
    if alg in ("ES256", "ES384"):
        return ECKey.generate_key("P-256" if alg == "ES256" else "P-384")
    if alg == "EdDSA":
        return OKPKey.generate_key("Ed25519")
    raise ValueError(f"unknown algorithm {alg}")


def sign(algs: list, claims: dict, other_sub: str) -> dict:
    out = {}
    for alg in algs:
        key = generate(alg)
        kid = key.thumbprint()
        if alg in HMAC_SECRET_BITS:
            entry = {"kid": kid, "secret_b64": base64.b64encode(key.raw_value).decode()}
        else:
            jwk = key.as_dict(private=False)
            jwk.update({"kid": kid, "alg": alg, "use": "sig"})
            entry = {"kid": kid, "jwks": {"keys": [jwk]}}
        header = {"alg": alg, "kid": kid}
        entry["token"] = jwt.encode(header, claims, key, algorithms=[alg])
        entry["token_other"] = jwt.encode(header, dict(claims, sub=other_sub), key,
                                          algorithms=[alg])
        out[alg] = entry
    return out


def main() -> None:
    request = json.load(sys.stdin)
    if sys.argv[1:] == ["verify"]:
        result = verify(request["cases"])
    elif sys.argv[1:] == ["sign"]:
        result = sign(request["algs"], request["claims"], request["other_sub"])
    else:
        sys.exit("usage: joserfc_interop.py verify|sign < request.json")
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
