//! `gatehouse keys generate` and `gatehouse keys jwks`.

use serde_json::Value;

use crate::support::{ALGORITHMS, Gatehouse, mode};

#[test]
fn a_key_is_generated_for_every_algorithm_into_a_0600_file() {
    let gh = Gatehouse::new();
    for alg in ALGORITHMS {
        let file = gh.path(&format!("{alg}.pem"));
        let run = gh
            .run(&[
                "keys",
                "generate",
                "--alg",
                alg,
                "--out",
                file.to_str().unwrap(),
            ])
            .success();
        assert!(run.stdout.contains(alg), "{run:?}");
        assert_eq!(mode(&file), 0o600, "{alg}");
        let pem = std::fs::read_to_string(&file).unwrap();
        assert!(
            pem.contains(&format!("gatehouse-alg: {alg}\n")),
            "{alg}: {pem}"
        );
        assert!(pem.contains("gatehouse-kid: "), "{alg}");
        assert!(pem.contains("-----BEGIN "), "{alg}");
    }
}

#[test]
fn an_existing_file_is_not_overwritten_without_force() {
    let gh = Gatehouse::new();
    let file = gh.write("key.pem", "precious");
    gh.run(&["keys", "generate", "--alg", "ES256", "--out", &file])
        .usage_error("--force");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "precious");
}

#[test]
fn force_replaces_the_file_and_the_new_one_is_0600_whatever_the_old_mode() {
    let gh = Gatehouse::new();
    let file = gh.write("key.pem", "old");
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    gh.run(&[
        "keys", "generate", "--alg", "EdDSA", "--out", &file, "--force",
    ])
    .success();
    assert_eq!(mode(file.as_ref()), 0o600);
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("gatehouse-alg: EdDSA")
    );
    let leftovers: Vec<_> = std::fs::read_dir(gh.path(".")).unwrap().collect();
    assert_eq!(
        leftovers.len(),
        1,
        "no temporary file is left behind: {leftovers:?}"
    );
}

#[test]
fn a_given_kid_is_used_in_the_file_and_the_jwks() {
    let gh = Gatehouse::new();
    let file = gh.path("k.pem");
    let file = file.to_str().unwrap();
    gh.run(&[
        "keys",
        "generate",
        "--alg",
        "ES384",
        "--kid",
        "orders-2026",
        "--out",
        file,
    ])
    .success();
    assert!(
        std::fs::read_to_string(file)
            .unwrap()
            .contains("gatehouse-kid: orders-2026\n")
    );
    let jwks = gh.run(&["keys", "jwks", file]).success().json();
    assert_eq!(jwks["keys"][0]["kid"], "orders-2026");
}

#[test]
fn unknown_algorithms_and_none_are_usage_errors() {
    let gh = Gatehouse::new();
    for alg in ["none", "NONE", "HS257", "ES512", ""] {
        gh.run(&["keys", "generate", "--alg", alg, "--out", "k.pem"])
            .usage_error("--alg");
        assert!(!gh.path("k.pem").exists(), "{alg}");
    }
}

#[test]
fn an_invalid_kid_is_a_usage_error() {
    Gatehouse::new()
        .run(&[
            "keys",
            "generate",
            "--alg",
            "ES256",
            "--kid",
            "bad kid\n",
            "--out",
            "k.pem",
        ])
        .usage_error("--kid");
}

#[test]
fn generating_into_a_missing_directory_is_an_io_error() {
    Gatehouse::new()
        .run(&[
            "keys",
            "generate",
            "--alg",
            "ES256",
            "--out",
            "no/such/dir/k.pem",
        ])
        .usage_error("no/such/dir/k.pem");
}

#[test]
fn the_jwks_holds_the_public_half_of_every_asymmetric_key() {
    let gh = Gatehouse::new();
    let asymmetric: Vec<&str> = ALGORITHMS
        .into_iter()
        .filter(|a| !a.starts_with("HS"))
        .collect();
    let files: Vec<String> = asymmetric
        .iter()
        .map(|alg| gh.generate(alg).to_str().unwrap().to_owned())
        .collect();
    let mut args = vec!["keys", "jwks"];
    args.extend(files.iter().map(String::as_str));
    let jwks = gh.run(&args).success().json();
    let keys = jwks["keys"].as_array().unwrap();
    let mut algs: Vec<&str> = keys
        .iter()
        .map(|jwk| jwk["alg"].as_str().unwrap())
        .collect();
    algs.sort_unstable();
    let mut expected = asymmetric.clone();
    expected.sort_unstable();
    assert_eq!(algs, expected);
    for jwk in keys {
        let alg = jwk["alg"].as_str().unwrap();
        assert_eq!(jwk["use"], "sig", "{jwk}");
        let expected_kty = match &alg[..2] {
            "RS" | "PS" => "RSA",
            "ES" => "EC",
            _ => "OKP",
        };
        assert_eq!(jwk["kty"], expected_kty, "{jwk}");
        assert!(
            jwk["kid"].as_str().is_some_and(|kid| kid.len() == 43),
            "a SHA-256 thumbprint: {jwk}"
        );
        for private in ["d", "p", "q", "dp", "dq", "qi", "k", "oth"] {
            assert_eq!(jwk.get(private), None::<&Value>, "{alg} leaks {private}");
        }
        // The kid is the file's kid, so tokens signed with the file name the right key.
        let pem = std::fs::read_to_string(gh.path(&format!("{alg}.pem"))).unwrap();
        assert!(pem.contains(&format!(
            "gatehouse-kid: {}\n",
            jwk["kid"].as_str().unwrap()
        )));
    }
}

#[test]
fn hmac_keys_are_refused_by_jwks_because_they_are_not_public() {
    let gh = Gatehouse::new();
    let ec = gh.generate("ES256");
    let hmac = gh.generate("HS256");
    let run = gh
        .run(&["keys", "jwks", ec.to_str().unwrap(), hmac.to_str().unwrap()])
        .usage_error("shared secret");
    assert!(run.stderr.contains("HS256.pem"), "names the file: {run:?}");
}

#[test]
fn two_keys_under_one_kid_are_refused_by_jwks() {
    let gh = Gatehouse::new();
    for name in ["a.pem", "b.pem"] {
        gh.run(&[
            "keys", "generate", "--alg", "ES256", "--kid", "same", "--out", name,
        ])
        .success();
    }
    gh.run(&["keys", "jwks", "a.pem", "b.pem"])
        .usage_error("same");
}

#[test]
fn jwks_of_a_missing_or_garbage_file_is_an_error() {
    let gh = Gatehouse::new();
    gh.run(&["keys", "jwks", "missing.pem"])
        .usage_error("missing.pem");
    let garbage = gh.write("garbage.pem", "not a key");
    gh.run(&["keys", "jwks", &garbage])
        .usage_error("garbage.pem");
    gh.run(&["keys", "jwks"]).usage_error("FILE");
}

/// Runs `openssl` (an independent PEM/PKCS#8 implementation), failing loudly if it is absent.
fn openssl(gh: &Gatehouse, args: &[&str]) -> std::process::Output {
    std::process::Command::new("openssl")
        .args(args)
        .current_dir(gh.path("."))
        .output()
        .unwrap_or_else(|error| {
            panic!("these tests need openssl (apt-get install openssl): {error}")
        })
}

#[test]
fn gatehouse_key_files_are_standard_pem_that_openssl_reads() {
    let gh = Gatehouse::new();
    for alg in ["RS256", "PS384", "ES256", "ES384", "EdDSA"] {
        let file = gh.generate(alg);
        let output = openssl(
            &gh,
            &["pkey", "-in", file.to_str().unwrap(), "-noout", "-text"],
        );
        assert!(output.status.success(), "{alg}: {output:?}");
    }
}

#[test]
fn a_plain_pkcs8_key_from_openssl_is_usable_with_its_thumbprint_as_kid() {
    let gh = Gatehouse::new();
    for (openssl_args, alg) in [
        (&["-algorithm", "ed25519"][..], "EdDSA"),
        (
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
            "ES384",
        ),
        (
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            "RS256",
        ),
    ] {
        let file = format!("{alg}-openssl.pem");
        let mut args = vec!["genpkey"];
        args.extend_from_slice(openssl_args);
        args.extend(["-out", &file]);
        assert!(openssl(&gh, &args).status.success(), "{alg}");

        let jwks = gh.run(&["keys", "jwks", &file]).success().json();
        let jwk = &jwks["keys"][0];
        assert_eq!(jwk["alg"], alg, "{jwk}");
        let token = gh.sign(
            gh.path(&file).as_path(),
            &crate::support::entra_claims(),
            &[],
        );
        let inspected = gh.run(&["token", "inspect", &token]).success().stdout;
        assert!(
            inspected.contains(&format!(r#""kid": {}"#, jwk["kid"])),
            "{inspected}"
        );
    }
}
