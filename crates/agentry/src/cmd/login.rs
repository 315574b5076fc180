//! `agentry login <registry>`: check credentials against a registry and store them.

use std::io::{BufRead as _, IsTerminal as _};
use std::process::ExitCode;

use agentry_client::{AuthFile, Client, ClientOptions, Credentials};

use crate::cmd::{Global, RegistryArgs, print_json};
use crate::exit::{Code, Coded};
use crate::remote::auth_file_path;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Credentials are checked with GET /v2/ and stored docker-style in ~/.config/agentry/auth.json
(mode 0600; --auth-file or AGENTRY_AUTH_FILE to change). Prefer --password-stdin or the
prompt over --password, which other users can see in the process list.")]
pub struct Args {
    /// Registry address (`host:port` or a URL).
    pub server: String,

    /// User name (prompted for when missing and stdin is a terminal).
    #[arg(short, long, env = "AGENTRY_USERNAME")]
    pub username: Option<String>,

    /// Password or token.
    #[arg(
        short,
        long,
        env = "AGENTRY_PASSWORD",
        hide_env_values = true,
        conflicts_with = "password_stdin"
    )]
    pub password: Option<String>,

    /// Read the password from standard input (one line).
    #[arg(long)]
    pub password_stdin: bool,

    #[command(flatten)]
    pub registry: RegistryArgs,
}

fn prompt_line(label: &str) -> anyhow::Result<String> {
    eprint!("{label}");
    let mut s = String::new();
    std::io::stdin().lock().read_line(&mut s)?;
    Ok(s.trim_end_matches(['\r', '\n']).to_owned())
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let interactive = std::io::stdin().is_terminal();
    let username = match args.username {
        Some(u) => u,
        None if interactive && !args.password_stdin => prompt_line("Username: ")?,
        None => {
            return Err(Coded::new(
                Code::Usage,
                "no username: pass --username or set AGENTRY_USERNAME",
            )
            .into());
        }
    };
    let password = if args.password_stdin {
        let mut s = String::new();
        std::io::stdin().lock().read_line(&mut s)?;
        s.trim_end_matches(['\r', '\n']).to_owned()
    } else if let Some(p) = args.password {
        p
    } else if interactive {
        rpassword::prompt_password("Password: ")?
    } else {
        return Err(Coded::new(
            Code::Usage,
            "no password: pass --password-stdin, --password or set AGENTRY_PASSWORD",
        )
        .into());
    };
    if username.is_empty() || username.contains(':') {
        return Err(
            Coded::new(Code::Usage, "username must be non-empty and contain no ':'").into(),
        );
    }
    let creds = Credentials::new(username, password);
    let client = Client::new(
        &args.server,
        ClientOptions {
            plain_http: args.registry.plain_http,
            insecure: args.registry.insecure,
            ca_file: args.registry.ca_file.clone(),
            credentials: Some(creds.clone()),
            ..ClientOptions::default()
        },
    )?;
    client.ping().await?;
    let path = auth_file_path(&args.registry)?;
    let mut file = AuthFile::load(&path)?;
    file.set(client.registry_key(), &creds);
    file.save()?;
    if global.json {
        print_json(&serde_json::json!({
            "registry": client.registry_key(),
            "username": creds.username,
            "auth_file": path.display().to_string(),
        }))?;
    } else {
        println!(
            "Login succeeded for {} at {}",
            creds.username,
            client.registry_key()
        );
    }
    Ok(ExitCode::SUCCESS)
}
