"""PyJWT verification bench: the per-verify median for HS256, RS256, ES256 and EdDSA tokens that
carry the same Entra-ID-like claim set as crates/token/benches/verify.rs (copied below).

Run with Debian's /usr/bin/python3 (python3-jwt, python3-cryptography). Keys are parsed once,
outside the timed loop, and every verify checks the signature, exp/nbf/iat, iss and aud, as
Gatehouse's verifier does. Prints a table; `--json FILE` also writes {"ALG": nanoseconds}.
"""

import argparse
import json
import os
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

# The claim set of crates/token/benches/verify.rs, value for value, so both sides hash, parse
# and check the same bytes' worth of JSON.
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ISSUER = f"https://login.microsoftonline.com/{TENANT}/v2.0"
AUDIENCE = "api://6e74172b-be56-4843-9ff4-e66a39bb12e3"


def entra_claims(now: int) -> dict:
    return {
        "aud": AUDIENCE,
        "iss": ISSUER,
        "iat": now - 300,
        "nbf": now - 300,
        "exp": now + 3300,
        "aio": "AWQAm/8YAAAAsS3l6dEzH8JVdO3vKIH2ZqNsbYOrN1jBjrl3ETiIDI6q8z8CDExTPTEY9f5o0T0m",
        "azp": "6e74172b-be56-4843-9ff4-e66a39bb12e3",
        "azpacr": "0",
        "name": "Ada Lovelace",
        "oid": "690222be-ff1a-4d56-abd1-7e4f7d38e474",
        "preferred_username": "ada.lovelace@contoso.example",
        "rh": "0.AQkAv4j5cvGGr0GRqy180BHbRyt3dG5WvkNIn_TmajmbEuMJAAA.",
        "roles": ["Orders.Read", "Orders.Write", "Reports.Read"],
        "groups": [
            "5d3a0c3e-9f0e-4c43-bf53-3c9b1b1f1a01",
            "9a1d2b7c-2e8a-4b6d-9d1e-0c7f4a2b3c02",
            "c4e5f6a7-b8c9-4d0e-8f1a-2b3c4d5e6f03",
        ],
        "scp": "access_as_user",
        "sid": "00b4a6d7-1c4e-9a0b-7f2f-2f5d6c3b1a9e",
        "sub": "l3_roISQU222bULS9yi2k0XpqpOiMz5H3ZACo1GeXA",
        "tid": TENANT,
        "uti": "fqiBqXLPj0eQa82S-IYFAA",
        "ver": "2.0",
    }


def keys(alg: str):
    """(signing key, verifying key), both already parsed."""
    if alg == "HS256":
        secret = os.urandom(32)
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
    token = jwt.encode(entra_claims(int(time.time())), signing, algorithm=alg,
                       headers={"typ": "JWT"})

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
