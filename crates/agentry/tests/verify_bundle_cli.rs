//! `agentry trust verify-bundle` driven exactly as the
//! sigstore-conformance suite drives a client (its `test/client.py`, `build_verify_args`): every
//! offline case of `test/assets/bundle-verify/`, once with the artifact path and once with its
//! `sha256:` digest, exit 0 only for the cases that must verify. The cases are copied into
//! testdata/sigstore/conformance (see testdata/sigstore/PROVENANCE.md).

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

fn conformance_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/sigstore/conformance")
}

fn text(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// The argument list `build_verify_args` makes (without `--staging`).
fn protocol_args(case: &Path, digest: bool) -> Vec<String> {
    let mut args = vec![
        "trust".to_string(),
        "verify-bundle".into(),
        "--bundle".into(),
    ];
    args.push(case.join("bundle.sigstore.json").display().to_string());
    if case.join("key.pub").exists() {
        args.push("--key".into());
        args.push(case.join("key.pub").display().to_string());
    } else {
        args.push("--certificate-identity".into());
        args.push(text(&case.join("identity")).unwrap_or_else(|| DEFAULT_IDENTITY.into()));
        args.push("--certificate-oidc-issuer".into());
        args.push(text(&case.join("issuer")).unwrap_or_else(|| DEFAULT_ISSUER.into()));
    }
    if case.join("trusted_root.json").exists() {
        args.push("--trusted-root".into());
        args.push(case.join("trusted_root.json").display().to_string());
    }
    let artifact = if case.join("artifact").exists() {
        case.join("artifact")
    } else {
        case.join("../a.txt")
    };
    if digest {
        let bytes = std::fs::read(&artifact).expect("artifact");
        args.push(format!("sha256:{}", hex::encode(Sha256::digest(&bytes))));
    } else {
        args.push(artifact.display().to_string());
    }
    args
}

#[test]
fn conformance_offline_verify_cases_through_the_cli_protocol() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(conformance_dir())
        .expect("testdata/sigstore/conformance")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 70, "{} cases", cases.len());

    let mut wrong = Vec::new();
    let mut runs = 0;
    for case in &cases {
        let name = case
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let must_fail = name.ends_with("_fail");
        for digest in [false, true] {
            let args = protocol_args(case, digest);
            let out = Command::new(env!("CARGO_BIN_EXE_agentry"))
                .args(&args)
                .env_remove("AGENTRY_SIGSTORE_TRUSTED_ROOT")
                .output()
                .expect("run agentry");
            runs += 1;
            let code = out.status.code();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!stderr.contains("panicked"), "{name}: panic: {stderr}");
            // Every case that must verify does so in both forms (no case in this corpus is an
            // Ed25519 message signature, the one kind a digest cannot verify).
            match (must_fail, code) {
                (false, Some(0)) | (true, Some(1)) => {}
                _ => wrong.push(format!(
                    "{name} ({}): exit {code:?}: {}",
                    if digest { "digest" } else { "path" },
                    stderr.trim()
                )),
            }
        }
    }
    eprintln!(
        "{runs} runs of verify-bundle over {} conformance cases",
        cases.len()
    );
    assert!(
        wrong.is_empty(),
        "{} runs differ from the suite:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn json_verdict_names_the_failed_check() {
    let case = conformance_dir().join("happy-path-v0.3");
    let out = Command::new(env!("CARGO_BIN_EXE_agentry"))
        .args([
            "trust",
            "verify-bundle",
            "--json",
            "--bundle",
            &case.join("bundle.sigstore.json").display().to_string(),
            "--certificate-identity",
            "someone@else.example",
            "--certificate-oidc-issuer",
            DEFAULT_ISSUER,
            &conformance_dir().join("a.txt").display().to_string(),
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(v["verified"], false);
    assert_eq!(v["check"], "certificate identity");
}

#[test]
fn a_path_named_like_a_digest_is_a_path() {
    // The protocol: input that exists on disk is a path even when it looks like a digest.
    let dir = tempfile::tempdir().expect("tempdir");
    let a = std::fs::read(conformance_dir().join("a.txt")).expect("a.txt");
    let name = format!(
        "sha256:{}",
        hex::encode(Sha256::digest(b"another artifact"))
    );
    std::fs::write(dir.path().join(&name), &a).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_agentry"))
        .current_dir(dir.path())
        .args([
            "trust",
            "verify-bundle",
            "--bundle",
            &conformance_dir()
                .join("happy-path-v0.3/bundle.sigstore.json")
                .display()
                .to_string(),
            "--certificate-identity",
            DEFAULT_IDENTITY,
            "--certificate-oidc-issuer",
            DEFAULT_ISSUER,
            &name,
        ])
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn usage_errors_exit_2() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_agentry"))
            .args(args)
            .output()
            .expect("run")
            .status
            .code()
    };
    // No signer, both signers, identity without issuer.
    assert_eq!(
        run(&["trust", "verify-bundle", "--bundle", "b", "a"]),
        Some(2)
    );
    assert_eq!(
        run(&[
            "trust",
            "verify-bundle",
            "--bundle",
            "b",
            "--key",
            "k",
            "--certificate-identity",
            "i",
            "--certificate-oidc-issuer",
            "u",
            "a"
        ]),
        Some(2)
    );
    assert_eq!(
        run(&[
            "trust",
            "verify-bundle",
            "--bundle",
            "b",
            "--certificate-identity",
            "i",
            "a"
        ]),
        Some(2)
    );
    // A missing bundle is a failure, not a usage error.
    assert_eq!(
        run(&[
            "trust",
            "verify-bundle",
            "--bundle",
            "/nonexistent",
            "--key",
            "k",
            "a"
        ]),
        Some(1)
    );
}
