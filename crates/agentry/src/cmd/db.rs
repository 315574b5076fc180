//! `agentry db`: the shared layout's PostgreSQL metadata schema, applied or inspected apart
//! from `agentry serve` (for organisations whose pods start with `--no-migrate`).

use std::process::ExitCode;

use agentry_store_postgres::{SchemaStatus, is_postgres_url, redact_url};

use super::{Global, print_json};
use crate::exit::{Code, fail};

/// Apply or inspect the PostgreSQL metadata schema (the shared layout's `--metadata`).
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  agentry db migrate --metadata postgres://agentry@db.example/agentry\n  agentry db status --metadata postgres://agentry@db.example/agentry --json\n\nExit code of `status`: 0 when up to date, 1 when migrations are pending or the schema is newer than this build."
)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Apply every pending migration (a no-op when the schema is up to date).
    Migrate(UrlArgs),
    /// List the migrations of this build, applied or pending.
    Status(UrlArgs),
}

#[derive(Debug, clap::Args)]
pub struct UrlArgs {
    /// The metadata database: postgres://USER[:PASSWORD]@HOST[:PORT]/DB (the password is never
    /// printed).
    #[arg(long, env = "AGENTRY_METADATA", value_name = "URL")]
    pub metadata: String,
}

impl UrlArgs {
    fn pool(&self) -> anyhow::Result<agentry_store_postgres::Pool> {
        if !is_postgres_url(&self.metadata) {
            return fail(
                Code::Usage,
                format!(
                    "--metadata: expected a postgres:// or postgresql:// URL, got {}",
                    redact_url(&self.metadata)
                ),
            );
        }
        Ok(agentry_store_postgres::pool(
            &self.metadata,
            &agentry_store_postgres::PgOptions::default(),
        )?)
    }
}

fn print_status(status: &SchemaStatus) {
    for m in &status.migrations {
        let state = match (m.applied, m.checksum_mismatch) {
            (true, false) => "applied",
            (true, true) => "applied (different file!)",
            (false, _) => "pending",
        };
        println!("{:>14}  {:<9} {}", m.version, state, m.description);
    }
    for v in &status.unknown_applied {
        println!("{v:>14}  applied   (unknown to this build: migrated by a newer agentry)");
    }
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    match args.action {
        Action::Migrate(a) => {
            let pool = a.pool()?;
            let shown = redact_url(&a.metadata);
            let applied = agentry_store_postgres::migrate(&pool)
                .await
                .map_err(|e| anyhow::anyhow!("{shown}: {e}"))?;
            let status = agentry_store_postgres::schema_status(&pool)
                .await
                .map_err(|e| anyhow::anyhow!("{shown}: {e}"))?;
            if global.json {
                print_json(&serde_json::json!({
                    "database": shown,
                    "applied_now": applied,
                    "status": status,
                }))?;
            } else if applied.is_empty() {
                println!("{shown}: up to date, nothing applied");
            } else {
                println!("{shown}: applied {applied:?}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Action::Status(a) => {
            let pool = a.pool()?;
            let shown = redact_url(&a.metadata);
            let status = agentry_store_postgres::schema_status(&pool)
                .await
                .map_err(|e| anyhow::anyhow!("{shown}: {e}"))?;
            if global.json {
                print_json(&serde_json::json!({
                    "database": shown,
                    "up_to_date": status.up_to_date(),
                    "pending": status.pending().map(|m| m.version).collect::<Vec<_>>(),
                    "migrations": status.migrations,
                    "unknown_applied": status.unknown_applied,
                }))?;
            } else {
                println!("{shown}");
                print_status(&status);
            }
            Ok(if status.up_to_date() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(Code::Failure as u8)
            })
        }
    }
}
