//! `agentry keygen --out FILE`: a new Ed25519 signing key (PKCS#8 PEM, mode 0600) and its
//! public key (`FILE.pub`, SubjectPublicKeyInfo PEM).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;

use crate::cmd::{Global, print_json};
use crate::exit::{Code, Coded};

/// Examples:
///   agentry keygen --out acme.key
///   AGENTRY_KEY_PASS=… agentry keygen --out acme.key --passphrase-env AGENTRY_KEY_PASS
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Private key file to write (refused if it exists); the public key goes to FILE.pub.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,

    /// Encrypt the private key with the passphrase in this environment variable.
    #[arg(long, value_name = "VAR")]
    pub passphrase_env: Option<String>,
}

#[derive(Serialize)]
struct Report {
    private_key: String,
    public_key: String,
    /// The `p=` value of the `_ossa-key` TXT record.
    ossa_key: String,
    encrypted: bool,
}

pub(crate) fn passphrase(var: Option<&str>) -> anyhow::Result<Option<String>> {
    let Some(var) = var else { return Ok(None) };
    match std::env::var(var) {
        Ok(p) if !p.is_empty() => Ok(Some(p)),
        _ => Err(Coded::new(
            Code::Usage,
            format!("--passphrase-env {var}: the variable is not set or empty"),
        )
        .into()),
    }
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let pass = passphrase(args.passphrase_env.as_deref())?;
    let key = agentry_trust::keys::generate();
    let private = agentry_trust::keys::private_pem(&key, pass.as_deref()).map_err(anyhow::Error::msg)?;
    let public = agentry_trust::keys::public_pem(&key.verifying_key()).map_err(anyhow::Error::msg)?;
    let mut pub_path = args.out.clone().into_os_string();
    pub_path.push(".pub");
    let pub_path = PathBuf::from(pub_path);

    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&args.out).map_err(|e| {
        Coded::new(
            Code::Failure,
            format!("--out {}: {e}", args.out.display()),
        )
    })?;
    f.write_all(private.as_bytes())?;
    f.sync_all()?;
    std::fs::write(&pub_path, public.as_bytes())
        .map_err(|e| Coded::new(Code::Failure, format!("{}: {e}", pub_path.display())))?;
    let report = Report {
        private_key: args.out.display().to_string(),
        public_key: pub_path.display().to_string(),
        ossa_key: agentry_trust::keys::public_spki_base64(&key.verifying_key()),
        encrypted: pass.is_some(),
    };
    if global.json {
        print_json(&report)?;
    } else {
        println!("private key: {} (mode 0600{})", report.private_key, if report.encrypted { ", encrypted" } else { "" });
        println!("public key:  {}", report.public_key);
        println!("_ossa-key p= {}", report.ossa_key);
    }
    Ok(ExitCode::SUCCESS)
}
