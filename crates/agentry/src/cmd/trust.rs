//! `agentry trust …`: trust-anchor helpers.
//!
//! `dns-records` prints the exact `_ossa-*` TXT records a publisher puts in its zone.
//! `verify-bundle` is the sigstore-conformance CLI protocol's verify half (`cmd/verify_bundle.rs`,
//! over `agentry-sigstore`).

use std::path::PathBuf;
use std::process::ExitCode;

use agentry_trust::dns::{Federation, PolicyRecord};
use serde::Serialize;

use crate::cmd::{Global, print_json};
use crate::exit::{Code, Coded};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub sub: Sub,
}

#[derive(Debug, clap::Subcommand)]
pub enum Sub {
    /// Print the TXT records (_ossa-registry, _ossa-key, _ossa-policy) to publish for a domain.
    DnsRecords(DnsRecordsArgs),
    /// Verify a Sigstore bundle offline, as the sigstore-conformance CLI protocol's
    /// `verify-bundle` (exit 0 only when verified).
    VerifyBundle(super::verify_bundle::Args),
}

/// Examples:
///   agentry trust dns-records acme.com --key acme.key.pub --pod registry.acme.com:5000
///   agentry trust dns-records acme.com --key old.pub --key new.pub --pod r.acme.com:5000 \
///       --federation restricted --require-sig --min-trust basic
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct DnsRecordsArgs {
    /// The publisher's domain (the records' `publisher.domain`).
    pub domain: String,

    /// Public key (FILE.pub from `agentry keygen`, a private key file, `ssh-ed25519 …`, or the
    /// base64 itself). Repeat for key rotation: every listed key is valid.
    #[arg(long = "key", value_name = "K", required = true)]
    pub keys: Vec<String>,

    /// Authorised registry pod (`host:port`); repeat for several.
    #[arg(long = "pod", value_name = "URL")]
    pub pods: Vec<String>,

    /// Federation policy for `_ossa-policy` (no policy record without it).
    #[arg(long, value_name = "open|restricted|closed")]
    pub federation: Option<String>,

    /// `_ossa-policy`: agents of this domain must be signed.
    #[arg(long)]
    pub require_sig: bool,

    /// `_ossa-policy`: lowest tier other pods should accept.
    #[arg(long, value_name = "TIER")]
    pub min_trust: Option<agentry_types::TrustTier>,
}

#[derive(Serialize)]
struct Record {
    name: String,
    r#type: &'static str,
    value: String,
    /// Zone-file form: the value as quoted strings of at most 255 bytes.
    zone: String,
}

fn read_key(k: &str) -> anyhow::Result<ed25519_dalek::VerifyingKey> {
    let path = PathBuf::from(k);
    let text = if path.is_file() {
        std::fs::read_to_string(&path)
            .map_err(|e| Coded::new(Code::Usage, format!("--key {k}: {e}")))?
    } else {
        k.to_owned()
    };
    if text.contains("PRIVATE KEY-----") {
        let sk = agentry_trust::keys::parse_private(&text, None)
            .map_err(|e| Coded::new(Code::Usage, format!("--key {k}: {e}")))?;
        return Ok(sk.verifying_key());
    }
    agentry_trust::keys::parse_public(&text)
        .map_err(|e| Coded::new(Code::Usage, format!("--key {k}: {e}")).into())
}

fn pod_host_port(p: &str) -> String {
    let p = p
        .strip_prefix("https://")
        .or_else(|| p.strip_prefix("http://"))
        .unwrap_or(p);
    p.trim_end_matches('/').to_owned()
}

async fn dns_records(a: DnsRecordsArgs, global: &Global) -> anyhow::Result<ExitCode> {
    let domain = agentry_trust::Domain::parse(&a.domain)
        .map_err(|e| Coded::new(Code::Usage, e.replace("publisher.domain", "domain")))?;
    let keys = a.keys.iter().map(|k| read_key(k)).collect::<anyhow::Result<Vec<_>>>()?;
    let pods: Vec<String> = a.pods.iter().map(|p| pod_host_port(p)).collect();
    let policy = match a.federation.as_deref() {
        None if a.require_sig || a.min_trust.is_some() => {
            return Err(Coded::new(
                Code::Usage,
                "--require-sig and --min-trust go in _ossa-policy, which needs --federation",
            )
            .into());
        }
        None => None,
        Some(f) => Some(PolicyRecord {
            federation: match f {
                "open" => Federation::Open,
                "restricted" => Federation::Restricted,
                "closed" => Federation::Closed,
                other => {
                    return Err(Coded::new(
                        Code::Usage,
                        format!("--federation {other:?}: expected open, restricted or closed"),
                    )
                    .into());
                }
            },
            require_sig: a.require_sig,
            min_trust: a.min_trust,
        }),
    };
    let lines = agentry_trust::dns::zone_lines(&domain, &pods, &keys, policy.as_ref());
    // What is printed must parse back as the engine reads it.
    for (name, value) in &lines {
        let check = if name.starts_with("_ossa-registry") {
            agentry_trust::dns::parse_registry(value).map(drop)
        } else if name.starts_with("_ossa-key") {
            agentry_trust::dns::parse_key(value).map(drop)
        } else {
            agentry_trust::dns::parse_policy(value).map(drop)
        };
        check.map_err(|e| Coded::new(Code::Usage, e.to_string()))?;
    }
    let records: Vec<Record> = lines
        .into_iter()
        .map(|(name, value)| Record {
            zone: agentry_trust::dns::quoted_strings(&value),
            name,
            r#type: "TXT",
            value,
        })
        .collect();
    if global.json {
        print_json(&records)?;
    } else {
        for r in &records {
            println!("{} 3600 IN TXT {}", r.name, r.zone);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    match args.sub {
        Sub::DnsRecords(a) => dns_records(a, global).await,
        Sub::VerifyBundle(a) => super::verify_bundle::run(a, global).await,
    }
}
