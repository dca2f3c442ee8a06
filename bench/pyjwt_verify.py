"""PyJWT verification bench: the per-verify median for HS256, RS256, ES256 and EdDSA tokens that
carry the same Entra-ID-like claim set as crates/token/benches/verify.rs.

Run with Debian's /usr/bin/python3 (python3-jwt, python3-cryptography). Keys are parsed once,
outside the timed loop, and every verify checks the signature, exp/nbf/iat, iss and aud, as
Gatehouse's verifier does. Prints a table; `--json FILE` also writes {"ALG": nanoseconds}.
"""

import argparse
import json
import statistics
import sys
import time
import timeit

try:
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
except ImportError as error:
    sys.exit(f"missing Python module {error.name}: apt-get install python3-jwt "
             f"python3-cryptography (and run with /usr/bin/python3)")

ISSUER = "https://login.microsoftonline.com/11111111-1111-1111-1111-111111111111/v2.0"
AUDIENCE = "api://gatehouse-bench"


def entra_claims(now: int) -> dict:
    return {
        "aud": AUDIENCE,
        "iss": ISSUER,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "name": "Alice Example",
        "oid": "00000000-0000-0000-0000-000000000001",
        "preferred_username": "alice@example.test",
        "roles": ["orders.read", "orders.write", "invoices.read"],
        "groups": ["8f3a1c2e-0000-4000-8000-000000000001", "8f3a1c2e-0000-4000-8000-000000000002"],
        "tid": "11111111-1111-1111-1111-111111111111",
        "ver": "2.0",
    }


def keys(alg: str):
    """(signing key, verifying key), both already parsed."""
    if alg == "HS256":
        secret = b"s" * 32
        return secret, secret
    if alg == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    else:
        private = ed25519.Ed25519PrivateKey.generate()
    return private, private.public_key()


def bench(alg: str, repeat: int, seconds: float) -> float:
    """Median seconds per verify over `repeat` timeit runs of about `seconds` each."""
    signing, verifying = keys(alg)
    token = jwt.encode(entra_claims(int(time.time())), signing, algorithm=alg)

    def verify():
        jwt.decode(token, verifying, algorithms=[alg], audience=AUDIENCE, issuer=ISSUER)

    verify()  # fails loudly here, not inside the timing loop
    timer = timeit.Timer(verify)
    number, _ = timer.autorange()
    number = max(1, int(number * seconds / 0.2))
    samples = [total / number for total in timer.repeat(repeat=repeat, number=number)]
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the medians (ns) to this file")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--seconds", type=float, default=0.2, help="per timeit run")
    args = parser.parse_args()
    results = {}
    print(f"PyJWT {jwt.__version__}, Python {sys.version.split()[0]}")
    for alg in ("HS256", "RS256", "ES256", "EdDSA"):
        seconds = bench(alg, args.repeat, args.seconds)
        results[alg] = seconds * 1e9
        print(f"  {alg:<6} verify median {seconds * 1e6:9.2f} µs")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(results, out)


if __name__ == "__main__":
    main()
