//! Verification cost for a token carrying an Entra-ID-like claim set, per algorithm.
//!
//! Run: `cargo bench -p gatehouse-token --bench verify`.

// A bench that cannot set up its keys should stop loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use gatehouse_token::{Algorithm, KeySet, SigningKey, UnixTime, Validation, Verifier};
use serde_json::{Map, Value, json};

const NOW: i64 = 1_800_000_000;
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const AUDIENCE: &str = "api://6e74172b-be56-4843-9ff4-e66a39bb12e3";

/// An access token's claims as Entra ID v2 issues them.
fn entra_claims() -> Map<String, Value> {
    let claims = json!({
        "aud": AUDIENCE,
        "iss": format!("https://login.microsoftonline.com/{TENANT}/v2.0"),
        "iat": NOW - 300,
        "nbf": NOW - 300,
        "exp": NOW + 3300,
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
            "c4e5f6a7-b8c9-4d0e-8f1a-2b3c4d5e6f03"
        ],
        "scp": "access_as_user",
        "sid": "00b4a6d7-1c4e-9a0b-7f2f-2f5d6c3b1a9e",
        "sub": "l3_roISQU222bULS9yi2k0XpqpOiMz5H3ZACo1GeXA",
        "tid": TENANT,
        "uti": "fqiBqXLPj0eQa82S-IYFAA",
        "ver": "2.0"
    });
    match claims {
        Value::Object(map) => map,
        _ => unreachable!(),
    }
}

fn bench_verify(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify_entra_token");
    for alg in [
        Algorithm::Hs256,
        Algorithm::Rs256,
        Algorithm::Es256,
        Algorithm::EdDsa,
    ] {
        let key = SigningKey::generate(alg).unwrap();
        let token = key.sign(Some("JWT"), &entra_claims()).unwrap();
        let verifier = Verifier::new(
            KeySet::new(vec![key.verifying_key()]).unwrap(),
            Validation::new()
                .with_issuers([format!("https://login.microsoftonline.com/{TENANT}/v2.0")])
                .with_audiences([AUDIENCE]),
        );
        let now = UnixTime::from_secs(NOW);
        verifier
            .verify(&token, now)
            .expect("the bench token verifies");
        group.bench_function(alg.as_str(), |b| {
            b.iter(|| verifier.verify(black_box(&token), black_box(now)).unwrap())
        });
        if alg == Algorithm::Hs256 {
            // What a caller that reads custom claims (roles, groups) pays in total: verify()
            // defers building the full claim map until it is first needed.
            group.bench_function("HS256+claim_map", |b| {
                b.iter(|| {
                    let verified = verifier.verify(black_box(&token), black_box(now)).unwrap();
                    verified.claims.string_list("roles").len()
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_verify);
criterion_main!(benches);
