//! `agentry reindex`: rebuild the discovery index of a pod's data directory from the records in
//! its store, re-embedding them with the local model when it is installed. Run it with the pod
//! stopped (the metadata database admits one process).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use agentry_embed::{
    Embedder, MiniLmEmbedder, MiniLmOptions, Precision, default_model_dir,
};
use agentry_search::{IndexOptions, IndexedAgent, SearchIndex};
use agentry_store::{MetadataStore, RedbMetadataStore};
use agentry_types::{ManifestRef, TrustTier};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use super::{Global, print_json};

/// Rebuild the discovery index from the stored records.
#[derive(Debug, clap::Args)]
#[command(mut_arg("data", |a| a.help("Data directory of the pod (the index is <data>/search)")))]
#[command(mut_arg("embed_precision", |a| a.help("Arithmetic of the embedding model: auto (keep the precision of the index's vectors, int8 for a new index), f32 or int8. A pod served with a fixed `--embed-precision` needs the same value here, or its vectors will be stale")))]
pub struct Args {
    #[command(flatten)]
    pub data: super::DataArgs,

    /// Records per index commit (and per embedding run).
    #[arg(long, default_value_t = 256)]
    pub batch: usize,

    /// Build a lexical-only index even when the model is installed.
    #[arg(long)]
    pub no_embeddings: bool,

    #[command(flatten)]
    pub embed_precision: super::EmbedPrecisionArgs,
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let meta = RedbMetadataStore::open(args.data.join("meta.redb")).with_context(|| {
        format!(
            "cannot open {} (stop the pod first: one process at a time)",
            args.data.join("meta.redb").display()
        )
    })?;
    let index_dir = agentry_search::index_dir(&args.data);
    let precision: Precision = args
        .embed_precision
        .resolve(agentry_search::stored_model_id(&index_dir)?.as_deref());
    let embedder: Option<Arc<dyn Embedder>> = if args.no_embeddings {
        None
    } else {
        let options = MiniLmOptions {
            precision,
            ..MiniLmOptions::default()
        };
        match MiniLmEmbedder::load_with(&default_model_dir(&args.data), options) {
            Ok(m) => Some(Arc::new(m)),
            Err(e) => {
                tracing::warn!(error = %e, "no embedding model: building a lexical-only index (semantic search stays unavailable; `agentry model fetch` then reindex)");
                None
            }
        }
    };
    let idx = Arc::new(SearchIndex::open(
        index_dir,
        IndexOptions {
            embedder,
            writer_memory: 0,
        },
    )?);

    // Count first, so the bar has a length (records are paged, never all in memory).
    let mut total = 0u64;
    let mut after = None;
    loop {
        let page = meta
            .records(after.as_ref().map(|(r, d)| (r, d)), 1000)
            .await?;
        total += page.items.len() as u64;
        after = page.items.last().map(|e| (e.repo.clone(), e.manifest_digest.clone()));
        if !page.more {
            break;
        }
    }
    let bar = if global.progress_visible() {
        let b = ProgressBar::new(total);
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} reindex [{bar:30}] {pos}/{len} records ({per_sec}, eta {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b
    } else {
        ProgressBar::hidden()
    };

    // Feed the blocking rebuild from the async store through a bounded channel.
    let (tx, rx) = std::sync::mpsc::sync_channel::<IndexedAgent>(args.batch.max(1) * 2);
    let builder = {
        let idx = idx.clone();
        let bar = bar.clone();
        let batch = args.batch;
        tokio::task::spawn_blocking(move || {
            idx.rebuild(rx, batch, |p| bar.set_position(p.indexed))
        })
    };
    let start = Instant::now();
    let mut after = None;
    loop {
        let page = meta
            .records(after.as_ref().map(|(r, d)| (r, d)), 500)
            .await?;
        for e in &page.items {
            let pushed_at = meta
                .manifest_meta(&e.repo, &ManifestRef::Digest(e.manifest_digest.clone()))
                .await?
                .map_or(0, |m| m.created_at);
            let agent = IndexedAgent {
                record: e.record.clone(),
                repo: e.repo.clone(),
                manifest_digest: e.manifest_digest.clone(),
                // Nothing is proven beyond the digest until the trust engine verifies more.
                trust_tier: TrustTier::None,
                source_pod: "local".into(),
                pushed_at,
            };
            if tx.send(agent).is_err() {
                break;
            }
        }
        after = page.items.last().map(|e| (e.repo.clone(), e.manifest_digest.clone()));
        if !page.more {
            break;
        }
    }
    drop(tx);
    let done = builder.await.context("reindex task")??;
    bar.finish_and_clear();
    let stats = idx.stats();
    if global.json {
        print_json(&serde_json::json!({
            "indexed": done.indexed,
            "embedded": done.embedded,
            "precision": (done.embedded > 0).then_some(precision.as_str()),
            "seconds": start.elapsed().as_secs_f64(),
            "semantic": stats.semantic,
        }))?;
    } else {
        let how = if done.embedded > 0 {
            format!(", {precision}")
        } else {
            String::new()
        };
        println!(
            "reindexed {} records ({} embedded{how}) in {:.1}s",
            done.indexed,
            done.embedded,
            start.elapsed().as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}
