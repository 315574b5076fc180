//! `agentry trust verify-bundle`: verify a Sigstore bundle offline, exactly as the verify half of
//! the sigstore-conformance CLI protocol asks, so that suite's offline cases can drive it:
//!
//! ```text
//! verify-bundle [--staging] --bundle FILE --certificate-identity ID --certificate-oidc-issuer URL [--trusted-root FILE] FILE_OR_DIGEST
//! verify-bundle [--staging] --bundle FILE --key PATH_TO_KEY [--trusted-root FILE] FILE_OR_DIGEST
//! ```
//!
//! Exit 0 only when the bundle verified; 1 when it was refused or an input could not be read;
//! 2 for a bad command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use agentry_sigstore::{ArtifactRef, Identity, TrustedRoot, VerifyError};

use crate::cmd::{Global, print_json};
use crate::exit::{Code, Coded};

#[derive(Debug, clap::Args)]
#[command(
    group(clap::ArgGroup::new("signer").required(true).args(["certificate_identity", "key"])),
    after_help = "\
FILE_OR_DIGEST is a path, or `sha256:` followed by the 64 hex digits of the artifact's SHA-256
when no file of that name exists. For a DSSE bundle it is a subject of the in-toto statement.
Nothing is fetched: the trusted root is the Sigstore public-good root built into agentry (or the
staging root with --staging) unless --trusted-root names one.

Checked: certificate chain to a trusted Fulcio CA and its validity at the signing time, SCT,
identity and issuer, transparency-log inclusion proof against the signed checkpoint, signed entry
timestamp, RFC 3161 timestamps, the signature, and that the log entry describes this signature.

Examples:
  agentry trust verify-bundle --bundle a.txt.sigstore.json \\
      --certificate-identity https://github.com/acme/agent/.github/workflows/release.yml@refs/tags/v1.0.0 \\
      --certificate-oidc-issuer https://token.actions.githubusercontent.com a.txt
  agentry trust verify-bundle --bundle b.sigstore.json --key cosign.pub \\
      sha256:a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447
  agentry trust verify-bundle --json --bundle b.sigstore.json --trusted-root my_root.json \\
      --certificate-identity ci@acme.com --certificate-oidc-issuer https://issuer.acme.com b.tar"
)]
pub struct Args {
    /// The Sigstore bundle to verify (`*.sigstore.json`, any bundle media type v0.1–v0.3).
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,

    /// Expected identity in the signing certificate's SAN (e-mail or URI), matched exactly.
    #[arg(
        long,
        value_name = "IDENTITY",
        requires = "certificate_oidc_issuer",
        conflicts_with = "key"
    )]
    pub certificate_identity: Option<String>,

    /// Expected OIDC issuer recorded in the signing certificate.
    #[arg(
        long,
        value_name = "URL",
        requires = "certificate_identity",
        conflicts_with = "key"
    )]
    pub certificate_oidc_issuer: Option<String>,

    /// PEM public key (`-----BEGIN PUBLIC KEY-----`) of a managed-key bundle.
    #[arg(long, value_name = "PATH_TO_KEY")]
    pub key: Option<PathBuf>,

    /// Sigstore trusted root JSON (Fulcio CAs, Rekor and CT log keys, TSAs) to verify with
    /// instead of the built-in public-good root.
    #[arg(long, env = "AGENTRY_SIGSTORE_TRUSTED_ROOT", value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,

    /// Use the Sigstore staging instance's root (built in; nothing is fetched).
    #[arg(long, conflicts_with = "trusted_root")]
    pub staging: bool,

    /// The artifact, or `sha256:<hex>` its digest.
    #[arg(value_name = "FILE_OR_DIGEST")]
    pub artifact: String,
}

/// The conformance protocol's rule: a digest starts with `sha256:`, has the right length, and is
/// not a path on disk; anything else is a path.
fn digest_form(text: &str) -> Option<ArtifactRef<'static>> {
    if Path::new(text).exists() {
        return None;
    }
    ArtifactRef::parse_digest(text).ok()
}

fn read(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| Coded::new(Code::Failure, format!("{what} {}: {e}", path.display())).into())
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let bundle_meta = std::fs::metadata(&args.bundle).map_err(|e| {
        Coded::new(
            Code::Failure,
            format!("bundle {}: {e}", args.bundle.display()),
        )
    })?;
    if bundle_meta.len() > agentry_sigstore::MAX_BUNDLE_BYTES as u64 {
        return Err(VerifyError::TooLarge {
            size: usize::try_from(bundle_meta.len()).unwrap_or(usize::MAX),
            limit: agentry_sigstore::MAX_BUNDLE_BYTES,
        }
        .into());
    }
    let bundle = read(&args.bundle, "bundle")?;

    let policy = match (
        &args.key,
        &args.certificate_identity,
        &args.certificate_oidc_issuer,
    ) {
        (Some(key), _, _) => {
            let pem = read(key, "key")?;
            let pem = String::from_utf8(pem).map_err(|_| {
                Coded::new(
                    Code::Failure,
                    format!("key {}: not a PEM file", key.display()),
                )
            })?;
            Identity::public_key_pem(&pem)?
        }
        (None, Some(identity), Some(issuer)) => Identity::certificate(identity, issuer),
        // clap's group and `requires` rules make this unreachable; say so rather than panic.
        _ => {
            return Err(Coded::new(
                Code::Usage,
                "give --certificate-identity with --certificate-oidc-issuer, or --key",
            )
            .into());
        }
    };

    let root = match (&args.trusted_root, args.staging) {
        (Some(path), _) => TrustedRoot::from_file(path)?,
        (None, true) => TrustedRoot::staging()?,
        (None, false) => TrustedRoot::public_good()?,
    };

    let artifact_bytes;
    let (artifact, artifact_label) = match digest_form(&args.artifact) {
        Some(digest) => (digest, args.artifact.clone()),
        None => {
            artifact_bytes = read(Path::new(&args.artifact), "artifact")?;
            (ArtifactRef::Bytes(&artifact_bytes), args.artifact.clone())
        }
    };

    match agentry_sigstore::verify_bundle(&bundle, artifact, &policy, &root) {
        Ok(facts) => {
            if global.json {
                print_json(&serde_json::json!({
                    "verified": true,
                    "bundle": args.bundle.display().to_string(),
                    "artifact": artifact_label,
                    "trusted_root": root.source(),
                    "media_type": facts.media_type,
                    "identity": facts.identity,
                    "issuer": facts.issuer,
                    "certificate_verified": facts.certificate_verified,
                    "sct_verified": facts.sct_verified,
                    "tlog_verified": facts.tlog_verified,
                    "integrated_time": facts.integrated_time,
                    "verified_times": facts.verified_times,
                }))?;
            } else {
                let signer = match (&facts.identity, &facts.issuer) {
                    (Some(id), Some(iss)) => format!("{id} (issuer {iss})"),
                    _ => "the given key".to_string(),
                };
                println!("OK: {artifact_label} signed by {signer}");
                println!(
                    "  certificate chain: {}",
                    yes_no(facts.certificate_verified)
                );
                println!("  SCT:               {}", yes_no(facts.sct_verified));
                println!("  transparency log:  {}", yes_no(facts.tlog_verified));
                println!("  signing times:     {}", times(&facts.verified_times));
                println!("  trusted root:      {}", root.source());
            }
            Ok(Code::Ok.into())
        }
        Err(err) => {
            if global.json {
                print_json(&serde_json::json!({
                    "verified": false,
                    "bundle": args.bundle.display().to_string(),
                    "artifact": artifact_label,
                    "trusted_root": root.source(),
                    "check": err.check().to_string(),
                    "reason": err.to_string(),
                }))?;
            } else {
                eprintln!("error: not verified: {err}");
            }
            Ok(Code::Failure.into())
        }
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "verified" } else { "not applicable" }
}

fn times(secs: &[i64]) -> String {
    if secs.is_empty() {
        return "none".into();
    }
    secs.iter()
        .map(|s| {
            time::OffsetDateTime::from_unix_timestamp(*s)
                .ok()
                .and_then(|t| {
                    t.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_else(|| s.to_string())
        })
        .collect::<Vec<_>>()
        .join(", ")
}
