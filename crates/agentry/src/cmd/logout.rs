//! `agentry logout <registry>`: forget stored credentials.

use std::process::ExitCode;

use agentry_client::AuthFile;
use agentry_client::auth::registry_key;

use crate::cmd::{Global, RegistryArgs, print_json};
use crate::remote::auth_file_path;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Registry address (`host:port` or a URL).
    pub server: String,

    #[command(flatten)]
    pub registry: RegistryArgs,
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let path = auth_file_path(&args.registry)?;
    let mut file = AuthFile::load(&path)?;
    let removed = file.remove(&args.server);
    if removed {
        file.save()?;
    }
    let key = registry_key(&args.server);
    if global.json {
        print_json(&serde_json::json!({ "registry": key, "removed": removed }))?;
    } else if removed {
        println!("Removed credentials for {key}");
    } else {
        println!("No credentials stored for {key}");
    }
    Ok(ExitCode::SUCCESS)
}
