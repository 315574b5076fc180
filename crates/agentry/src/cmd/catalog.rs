//! `agentry catalog [repo]`: list repositories, or a repository's tags.

use std::process::ExitCode;

use crate::cmd::{Global, RegistryArgs, print_json};
use crate::exit::{Code, Coded};
use crate::remote::{client_for, resolve};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A repository (`[HOST:PORT/]namespace/name`) to list the tags of, or a registry
    /// (`HOST:PORT`) to list the repositories of [default: --registry].
    pub target: Option<String>,

    /// Page size asked of the registry (all pages are followed).
    #[arg(long, value_name = "N")]
    pub page_size: Option<u32>,

    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// A bare `host:port`, `host.domain` or `localhost`: a registry, not a repository.
fn is_registry(s: &str) -> bool {
    !s.contains('/') && (s.contains(':') || s.contains('.') || s == "localhost")
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    match args.target.as_deref() {
        Some(t) if !is_registry(t) => {
            let (client, reference) = resolve(t, &args.registry)?;
            if reference.tag.is_some() || reference.digest.is_some() {
                return Err(Coded::new(
                    Code::Usage,
                    "list tags of a repository: drop the tag or digest",
                )
                .into());
            }
            let tags = list_all(args.page_size, |n, last| {
                let client = client.clone();
                let repo = reference.name.clone();
                async move { client.tags_page(&repo, n, last.as_deref()).await }
            })
            .await?;
            if global.json {
                print_json(&serde_json::json!({ "name": reference.name, "tags": tags }))?;
            } else {
                for t in tags {
                    println!("{t}");
                }
            }
        }
        other => {
            let registry = match (other, &args.registry.registry) {
                (Some(r), _) => r.to_owned(),
                (None, Some(r)) => r.clone(),
                (None, None) => {
                    return Err(Coded::new(
                        Code::Usage,
                        "which registry? pass HOST:PORT or --registry",
                    )
                    .into());
                }
            };
            let client = client_for(&registry, &args.registry)?;
            let repos = list_all(args.page_size, |n, last| {
                let client = client.clone();
                async move { client.catalog_page(n, last.as_deref()).await }
            })
            .await?;
            if global.json {
                print_json(&serde_json::json!({ "repositories": repos }))?;
            } else {
                for r in repos {
                    println!("{r}");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Follow pages: with a page size, by `last` (the spec's way, which also works when a
/// registry sends no `Link`); without, the client follows `Link` itself in one call.
async fn list_all<F, Fut>(page_size: Option<u32>, mut page: F) -> anyhow::Result<Vec<String>>
where
    F: FnMut(Option<u32>, Option<String>) -> Fut,
    Fut: std::future::Future<Output = agentry_client::Result<agentry_client::Page>>,
{
    let mut all: Vec<String> = Vec::new();
    let mut last: Option<String> = None;
    loop {
        let p = page(page_size, last.clone()).await?;
        let n = p.items.len();
        let next_last = p.items.last().cloned();
        all.extend(p.items);
        // A registry that ignores `n` (distribution 2.8 does for tags) answered everything.
        let ignored_n = page_size.is_some_and(|s| n as u64 > u64::from(s));
        let more = page_size.is_some_and(|s| n as u64 == u64::from(s)) || p.next.is_some();
        if ignored_n || !more || n == 0 || next_last == last {
            break;
        }
        last = next_last;
    }
    // Sorted and unique whatever order the registry lists in.
    all.sort();
    all.dedup();
    Ok(all)
}
