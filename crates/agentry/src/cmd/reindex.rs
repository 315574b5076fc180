//! `agentry reindex`: rebuild the discovery index of a pod's data directory from the records in
//! its store, re-embedding them with the local model when it is installed. Run it with the pod
//! stopped (the metadata database admits one process).

use std::process::ExitCode;
use std::sync::Arc;

use agentry_embed::{Embedder, MiniLmEmbedder, MiniLmOptions, Precision};
use agentry_search::{IndexOptions, SearchIndex};
use agentry_store::RedbMetadataStore;
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

    /// Every agent's trust tier is judged again (signatures, DNS, certificates, bundles) with
    /// these settings, as the pod judges them; give the pod's own.
    #[command(flatten)]
    pub trust: super::serve::TrustArgs,
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let data = args.data.dir();
    let meta: Arc<dyn agentry_store::MetadataStore> = Arc::new(RedbMetadataStore::open(data.meta_db()).with_context(|| {
        format!(
            "cannot open {} (stop the pod first: one process at a time, or `POST \
             /api/v1/admin/reindex` on the running pod)",
            data.meta_db().display()
        )
    })?);
    // The judge: the pod's trust engine over the same store (the blobs hold the referrers).
    let judge = {
        let mut config = agentry_server::ServeConfig {
            data: args.data.data.clone(),
            ..agentry_server::ServeConfig::default()
        };
        args.trust.apply(&mut config);
        if let Err(e) = config.validate() {
            return crate::exit::fail(crate::exit::Code::Usage, e);
        }
        let blobs = agentry_store::FsBlobStore::open(&args.data.data)
            .with_context(|| format!("cannot open the blob store in {}", args.data.data.display()))?;
        agentry_server::AppState::new(Arc::new(blobs), meta.clone(), config, None)
    };
    let index_dir = data.search();
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
        match MiniLmEmbedder::load_with(&data.model(agentry_embed::MINILM_DIR_NAME), options) {
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

    let bar = if global.progress_visible() {
        let b = ProgressBar::new(0);
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
    let done = {
        let bar = bar.clone();
        agentry_server::reindex::run(&*meta, idx.clone(), args.batch, Some(&judge as &dyn agentry_server::reindex::Judge), move |p| {
            bar.set_length(p.total);
            bar.set_position(p.indexed);
        })
        .await?
    };
    bar.finish_and_clear();
    let stats = idx.stats();
    if global.json {
        print_json(&serde_json::json!({
            "indexed": done.indexed,
            "embedded": done.embedded,
            "precision": (done.embedded > 0).then_some(precision.as_str()),
            "seconds": done.seconds,
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
            done.indexed, done.embedded, done.seconds
        );
    }
    Ok(ExitCode::SUCCESS)
}
