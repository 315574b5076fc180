//! Relevance benchmark of the discovery index (`bench/relevance/run`).
//!
//! Real records (`testdata/real`: the MCP Registry's seed servers, A2A Agent Cards, OASF
//! records) are read with `agentry-formats`, embedded with the real all-MiniLM-L6-v2 and
//! indexed in-process in a [`SearchIndex`], once per corpus and once all together. Hand-written
//! paraphrase queries (`bench/relevance/queries/*.json`, each judged by hand: query → the
//! record ids that answer it) are run in text, semantic and hybrid mode; the report gives
//! recall@1, recall@5 and MRR on the tune half, the report half and all queries.
//!
//! `sweep` ranks fusion rules on the tune half only, from the same two result lists the index
//! fuses (it checks that the default rule reproduces `mode=hybrid` exactly).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use agentry_embed::{Embedder, MiniLmEmbedder, MiniLmOptions, Precision};
use agentry_formats::{ReadOptions, read_document};
use agentry_search::index::fusion::{self, Fusion};
use agentry_search::{IndexOptions, IndexedAgent, Query, SearchIndex, SearchMode};
use agentry_types::{AgentRecord, Digest, RepoName, TrustTier};
use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use serde::{Deserialize, Serialize};

#[derive(Parser)]
#[command(
    about = "Relevance benchmark: hand-judged paraphrase queries over real records",
    after_help = "Examples:\n  relevance report --model-dir /work/models-cache/all-minilm-l6-v2\n  relevance sweep --model-dir DIR --corpus mcp\n  relevance list --corpus a2a"
)]
struct Cli {
    /// Folder of real records (the layout of testdata/real).
    #[arg(long, default_value = "testdata/real", global = true)]
    data: PathBuf,
    /// Folder of judged queries, one `<corpus>.json` per corpus.
    #[arg(long, default_value = "bench/relevance/queries", global = true)]
    queries: PathBuf,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Print the ids of a corpus's records with their names (to judge queries against).
    List {
        #[arg(long)]
        corpus: String,
    },
    /// Run every query in every mode and print the tables (and `--json` the details).
    Report {
        #[command(flatten)]
        model: ModelArgs,
        #[arg(long)]
        json: Option<PathBuf>,
        /// Print every query whose target is not at rank 1 in some mode.
        #[arg(long)]
        misses: bool,
        /// The hybrid rule: `convex` (the default a pod uses) or `rrf` (the rule before it,
        /// reciprocal-rank fusion with k = 60, for the before/after table).
        #[arg(long, default_value = "convex")]
        fusion: String,
    },
    /// Score candidate fusion rules on the tune half of every corpus.
    Sweep {
        #[command(flatten)]
        model: ModelArgs,
    },
}

#[derive(clap::Args)]
struct ModelArgs {
    /// The all-MiniLM-L6-v2 directory (`agentry model fetch`).
    #[arg(long, env = "AGENTRY_MODEL_DIR")]
    model_dir: PathBuf,
    /// Encoder arithmetic: int8 (what a new pod embeds with) or f32.
    #[arg(long, default_value = "int8")]
    precision: String,
}

/// The corpora, in report order.
const CORPORA: [&str; 3] = ["mcp", "a2a", "oasf"];

/// The query sets, in report order: one paraphrase set per corpus (`<corpus>.json`, tuned on),
/// and `mcp-named`, requests that name the product they want (a check that the lexical half
/// still counts when it should; never tuned on).
const SETS: [&str; 4] = ["mcp", "mcp-named", "a2a", "oasf"];

/// The corpus a query set runs against.
fn corpus_of(set: &str) -> &'static str {
    CORPORA
        .iter()
        .copied()
        .find(|c| set == *c || set.strip_prefix(*c).is_some_and(|r| r.starts_with('-')))
        .unwrap_or("mcp")
}

/// One indexed record of a corpus.
struct Doc {
    /// The id queries are judged against.
    id: String,
    corpus: &'static str,
    agent: IndexedAgent,
}

#[derive(Deserialize)]
struct QueryFile {
    queries: Vec<Judged>,
}

#[derive(Deserialize, Clone)]
struct Judged {
    id: String,
    split: Split,
    q: String,
    /// Ids of the records that answer the query (any one counts).
    targets: Vec<String>,
}

#[derive(Deserialize, Serialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
enum Split {
    Tune,
    Report,
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').chars().take(60).collect()
}

/// The repository a user would push the record to: its namespace and name, made legal.
fn repo_for(r: &AgentRecord, corpus: &str, taken: &mut HashMap<String, u32>) -> Result<RepoName> {
    let ns = {
        let s = slug(&r.identity.namespace);
        if s.is_empty() { corpus.to_owned() } else { s }
    };
    let name = {
        let s = slug(&r.identity.name);
        if s.is_empty() { "agent".to_owned() } else { s }
    };
    let base = format!("{ns}/{name}");
    let n = taken.entry(base.clone()).or_default();
    *n += 1;
    let full = if *n == 1 { base } else { format!("{base}-{n}") };
    RepoName::parse(&full).with_context(|| format!("repository name {full:?}"))
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    entries.sort();
    for p in entries {
        if p.is_dir() {
            json_files(&p, out)?;
        } else if p.extension().is_some_and(|e| e == "json") {
            out.push(p);
        }
    }
    Ok(())
}

/// Reads a corpus. Ids: the MCP server name for the seed file's entries, the path under the
/// corpus's `examples/` (without `.json`) for one-record files. Records the formats crate
/// refuses are counted, not indexed.
fn load_corpus(data: &Path, corpus: &'static str) -> Result<(Vec<Doc>, usize)> {
    let files: Vec<(PathBuf, PathBuf)> = match corpus {
        "mcp" => vec![(
            data.join("mcp/seed/seed_2025_05_16.json"),
            data.join("mcp/seed"),
        )],
        "a2a" | "oasf" => {
            let root = data.join(corpus).join("examples");
            let mut v = Vec::new();
            json_files(&root, &mut v)?;
            v.into_iter().map(|p| (p, root.clone())).collect()
        }
        other => bail!("unknown corpus {other:?} (known: mcp, a2a, oasf)"),
    };
    let mut docs = Vec::new();
    let mut refused = 0;
    let mut taken = HashMap::new();
    for (path, root) in files {
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let Ok(records) = read_document(&bytes, &ReadOptions::default()) else {
            refused += 1;
            continue;
        };
        let rel = path
            .strip_prefix(&root)
            .unwrap_or(&path)
            .with_extension("")
            .to_string_lossy()
            .into_owned();
        let many = records.len() > 1;
        for (i, rr) in records.into_iter().enumerate() {
            if !rr.report.valid {
                refused += 1;
                continue;
            }
            let r = rr.record;
            let id = if many {
                if r.identity.namespace.is_empty() {
                    r.identity.name.clone()
                } else {
                    format!("{}/{}", r.identity.namespace, r.identity.name)
                }
            } else {
                rel.clone()
            };
            let repo = repo_for(&r, corpus, &mut taken)?;
            let agent = IndexedAgent {
                manifest_digest: Digest::sha256(format!("{corpus}:{rel}:{i}").as_bytes()),
                repo,
                trust_tier: TrustTier::Basic,
                source_pod: "bench".into(),
                pushed_at: 1,
                record: r,
            };
            docs.push(Doc { id, corpus, agent });
        }
    }
    Ok((docs, refused))
}

fn load_queries(dir: &Path, corpus: &str, docs: &[Doc]) -> Result<Vec<Judged>> {
    let path = dir.join(format!("{corpus}.json"));
    let f: QueryFile = serde_json::from_slice(
        &std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?,
    )
    .with_context(|| format!("parsing {}", path.display()))?;
    for q in &f.queries {
        if q.targets.is_empty() {
            bail!("{}: query {} has no target", path.display(), q.id);
        }
        for t in &q.targets {
            if !docs.iter().any(|d| &d.id == t) {
                bail!(
                    "{}: query {} names target {t:?}, which is not a record of the corpus",
                    path.display(),
                    q.id
                );
            }
        }
    }
    Ok(f.queries)
}

fn load_model(m: &ModelArgs) -> Result<Arc<dyn Embedder>> {
    let precision = match m.precision.as_str() {
        "int8" => Precision::Int8,
        "f32" => Precision::F32,
        other => bail!("--precision: expected int8 or f32, got {other:?}"),
    };
    let e = MiniLmEmbedder::load_with(
        &m.model_dir,
        MiniLmOptions {
            precision,
            ..MiniLmOptions::default()
        },
    )
    .with_context(|| format!("loading the model from {}", m.model_dir.display()))?;
    Ok(Arc::new(e))
}

/// An index over `docs` in a temporary directory, vectors computed once by the caller.
struct Built {
    _dir: tempfile::TempDir,
    index: SearchIndex,
    /// Search item id (`repo@digest`) → judged id.
    ids: HashMap<String, String>,
}

fn build(
    docs: &[&Doc],
    vectors: &HashMap<String, Vec<f32>>,
    embedder: &Arc<dyn Embedder>,
    fusion: Fusion,
) -> Result<Built> {
    let dir = tempfile::tempdir()?;
    let index = SearchIndex::open(
        dir.path(),
        IndexOptions {
            embedder: Some(embedder.clone()),
            writer_memory: 0,
        },
    )?
    .with_fusion(fusion);
    let mut ids = HashMap::new();
    let mut agents = Vec::new();
    let mut vecs = Vec::new();
    for d in docs {
        ids.insert(
            format!("{}@{}", d.agent.repo, d.agent.manifest_digest),
            format!("{}:{}", d.corpus, d.id),
        );
        agents.push(d.agent.clone());
        vecs.push(
            vectors
                .get(&format!("{}:{}", d.corpus, d.id))
                .cloned()
                .context("vector missing")?,
        );
    }
    index.upsert_with_vectors(agents, Some(vecs))?;
    Ok(Built {
        _dir: dir,
        index,
        ids,
    })
}

const DEPTH: usize = 100;

/// The judged ids of a query's results, best first, with their scores.
fn run(b: &Built, text: &str, mode: SearchMode) -> Result<Vec<(f32, String)>> {
    let mut q = Query::new();
    q.text = Some(text.to_owned());
    q.mode = Some(mode);
    q.limit = DEPTH;
    let r = b.index.search(&q)?;
    Ok(r.items
        .into_iter()
        .map(|i| {
            let id = i.id();
            (i.score, b.ids.get(&id).cloned().unwrap_or(id))
        })
        .collect())
}

/// 1-based rank of the first target, if within the list.
fn rank_of(list: &[String], corpus: &str, targets: &[String]) -> Option<usize> {
    list.iter()
        .position(|id| targets.iter().any(|t| *id == format!("{corpus}:{t}")))
        .map(|p| p + 1)
}

#[derive(Default, Clone, Copy, Serialize)]
struct Metrics {
    n: usize,
    r1: f64,
    r5: f64,
    mrr: f64,
}

fn metrics(ranks: &[Option<usize>]) -> Metrics {
    let n = ranks.len();
    if n == 0 {
        return Metrics::default();
    }
    let f =
        |p: &dyn Fn(usize) -> f64| ranks.iter().map(|r| r.map_or(0.0, p)).sum::<f64>() / n as f64;
    Metrics {
        n,
        r1: f(&|r| if r == 1 { 1.0 } else { 0.0 }),
        r5: f(&|r| if r <= 5 { 1.0 } else { 0.0 }),
        mrr: f(&|r| 1.0 / r as f64),
    }
}

const MODES: [(SearchMode, &str); 3] = [
    (SearchMode::Text, "text"),
    (SearchMode::Semantic, "semantic"),
    (SearchMode::Hybrid, "hybrid"),
];

struct Setup {
    docs: BTreeMap<&'static str, Vec<Doc>>,
    /// By query set ([`SETS`]).
    queries: BTreeMap<&'static str, Vec<Judged>>,
    refused: BTreeMap<&'static str, usize>,
    vectors: HashMap<String, Vec<f32>>,
    embedder: Arc<dyn Embedder>,
}

fn setup(cli: &Cli, m: &ModelArgs) -> Result<Setup> {
    let embedder = load_model(m)?;
    let mut docs = BTreeMap::new();
    let mut queries = BTreeMap::new();
    let mut refused = BTreeMap::new();
    for c in CORPORA {
        let (d, r) = load_corpus(&cli.data, c)?;
        refused.insert(c, r);
        docs.insert(c, d);
    }
    for set in SETS {
        queries.insert(set, load_queries(&cli.queries, set, &docs[corpus_of(set)])?);
    }
    let mut vectors = HashMap::new();
    let all: Vec<&Doc> = docs.values().flatten().collect();
    let texts: Vec<String> = all
        .iter()
        .map(|d| agentry_search::embedding_text(&d.agent.record))
        .collect();
    eprintln!("embedding {} records", texts.len());
    for (chunk, ds) in texts.chunks(32).zip(all.chunks(32)) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let vs = embedder.embed(&refs)?;
        for (v, d) in vs.into_iter().zip(ds) {
            vectors.insert(format!("{}:{}", d.corpus, d.id), v);
        }
    }
    Ok(Setup {
        docs,
        queries,
        refused,
        vectors,
        embedder,
    })
}

/// The indexes a corpus's queries run against: the corpus alone, and every corpus together.
fn indexes(s: &Setup, fusion: Fusion) -> Result<(BTreeMap<&'static str, Built>, Built)> {
    let mut own = BTreeMap::new();
    for (c, d) in &s.docs {
        let docs: Vec<&Doc> = d.iter().collect();
        own.insert(*c, build(&docs, &s.vectors, &s.embedder, fusion)?);
    }
    let all: Vec<&Doc> = s.docs.values().flatten().collect();
    Ok((own, build(&all, &s.vectors, &s.embedder, fusion)?))
}

#[derive(Serialize)]
struct QueryResult {
    corpus: String,
    index: String,
    id: String,
    split: Split,
    q: String,
    ranks: BTreeMap<String, Option<usize>>,
    top: BTreeMap<String, Vec<String>>,
}

fn report(cli: &Cli, m: &ModelArgs, json: Option<&Path>, misses: bool, fusion: &str) -> Result<()> {
    let fusion = match fusion {
        "convex" => Fusion::default(),
        "rrf" => Fusion::Rrf { k: 60.0 },
        other => bail!("--fusion: expected convex or rrf, got {other:?}"),
    };
    let s = setup(cli, m)?;
    let (own, all) = indexes(&s, fusion)?;
    println!("hybrid rule: {fusion:?}\n");
    let mut results = Vec::new();
    for (set, qs) in &s.queries {
        let c = corpus_of(set);
        for (iname, b) in [("own", &own[c]), ("all", &all)] {
            for q in qs {
                let mut ranks = BTreeMap::new();
                let mut top = BTreeMap::new();
                for (mode, mname) in MODES {
                    let list: Vec<String> = run(b, &q.q, mode)?.into_iter().map(|x| x.1).collect();
                    ranks.insert(mname.to_owned(), rank_of(&list, c, &q.targets));
                    top.insert(mname.to_owned(), list.into_iter().take(5).collect());
                }
                results.push(QueryResult {
                    corpus: (*set).to_owned(),
                    index: iname.to_owned(),
                    id: q.id.clone(),
                    split: q.split,
                    q: q.q.clone(),
                    ranks,
                    top,
                });
            }
        }
    }
    println!(
        "| corpus (records) | index | queries | split | text R@1 | R@5 | MRR | semantic R@1 | R@5 | MRR | hybrid R@1 | R@5 | MRR |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut table = Vec::new();
    for set in SETS {
        let c = corpus_of(set);
        for iname in ["own", "all"] {
            for (split, sname) in [
                (Some(Split::Tune), "tune"),
                (Some(Split::Report), "report"),
                (None, "all"),
            ] {
                let sel: Vec<&QueryResult> = results
                    .iter()
                    .filter(|r| {
                        r.corpus == set && r.index == iname && split.is_none_or(|s| r.split == s)
                    })
                    .collect();
                let mut row = format!(
                    "| {set} ({}) | {} | {} | {sname} |",
                    s.docs[c].len(),
                    if iname == "own" {
                        "own corpus"
                    } else {
                        "all corpora"
                    },
                    sel.len()
                );
                let mut ms = BTreeMap::new();
                for (_, mname) in MODES {
                    let ranks: Vec<Option<usize>> = sel.iter().map(|r| r.ranks[mname]).collect();
                    let x = metrics(&ranks);
                    row.push_str(&format!(" {:.2} | {:.2} | {:.3} |", x.r1, x.r5, x.mrr));
                    ms.insert(mname, x);
                }
                println!("{row}");
                table.push(
                    serde_json::json!({"queries": set, "corpus": c, "index": iname, "split": sname, "metrics": ms}),
                );
            }
        }
    }
    println!(
        "\nrecords refused by agentry-formats (not indexed): {}",
        s.refused
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if misses {
        for r in &results {
            if r.ranks.values().any(|x| *x != Some(1)) {
                println!(
                    "{} [{}] {:?} text={:?} sem={:?} hyb={:?}\n   hybrid top: {:?}\n   sem top: {:?}\n   text top: {:?}",
                    r.id,
                    r.index,
                    r.q,
                    r.ranks["text"],
                    r.ranks["semantic"],
                    r.ranks["hybrid"],
                    r.top["hybrid"],
                    r.top["semantic"],
                    r.top["text"]
                );
            }
        }
    }
    if let Some(p) = json {
        std::fs::write(
            p,
            serde_json::to_vec_pretty(&serde_json::json!({"table": table, "queries": results}))?,
        )?;
    }
    Ok(())
}

/// The candidate rules `sweep` compares: (name, rule, lexical half without stop words,
/// lexical scores divided by the query's ceiling rather than the list's best).
fn candidates() -> Vec<(String, Fusion, bool, bool)> {
    let mut v = Vec::new();
    for stop in [false, true] {
        let tag = if stop { ", stop words out" } else { "" };
        for k in [10.0f32, 60.0] {
            v.push((format!("rrf k={k}{tag}"), Fusion::Rrf { k }, stop, false));
        }
        for ceil in [false, true] {
            let norm = if ceil { "÷ceiling" } else { "÷max" };
            for tau in [0.0f32, 0.25, 0.5, 0.75] {
                if tau > 0.0 && !ceil {
                    continue;
                }
                for w in [0.5f32, 0.6, 0.7, 0.8, 0.9, 0.95] {
                    v.push((
                        format!("convex {norm} semantic={w} min_match={tau}{tag}"),
                        Fusion::Convex {
                            semantic: w,
                            min_match: tau,
                        },
                        stop,
                        ceil,
                    ));
                }
                if ceil {
                    for l in [0.05f32, 0.1, 0.2, 0.3, 0.5, 0.8, 1.0] {
                        v.push((
                            format!("length-aware {norm} lexical={l}/n min_match={tau}{tag}"),
                            Fusion::LengthAware {
                                lexical: l,
                                min_match: tau,
                            },
                            stop,
                            ceil,
                        ));
                    }
                }
            }
        }
    }
    v
}

fn sweep(cli: &Cli, m: &ModelArgs) -> Result<()> {
    let s = setup(cli, m)?;
    let (own, all) = indexes(&s, Fusion::default())?;
    // Both halves of every tune query, as the index produces them for `mode=hybrid`.
    struct Lists {
        corpus: &'static str,
        set: &'static str,
        targets: Vec<String>,
        text: Vec<(f32, u32)>,
        ceiling: f32,
        raw_ceiling: f32,
        lex_q: String,
        raw_q: String,
        raw: Vec<(f32, u32)>,
        sem: Vec<(f32, u32)>,
        names: Vec<String>,
    }
    let mut lists = Vec::new();
    let mut mismatches = 0;
    for set in SETS {
        let c = corpus_of(set);
        let qs = &s.queries[set];
        for b in [&own[c], &all] {
            for q in qs.iter().filter(|q| q.split == Split::Tune) {
                let mut names: Vec<String> = Vec::new();
                let key = |id: String, names: &mut Vec<String>| -> u32 {
                    match names.iter().position(|n| *n == id) {
                        Some(p) => p as u32,
                        None => {
                            names.push(id);
                            (names.len() - 1) as u32
                        }
                    }
                };
                let text: Vec<(f32, u32)> =
                    run(b, &Fusion::default().lexical_text(&q.q), SearchMode::Text)?
                        .into_iter()
                        .map(|(sc, id)| (sc, key(id, &mut names)))
                        .collect();
                let raw: Vec<(f32, u32)> = run(b, &q.q, SearchMode::Text)?
                    .into_iter()
                    .map(|(sc, id)| (sc, key(id, &mut names)))
                    .collect();
                let sem: Vec<(f32, u32)> = run(b, &q.q, SearchMode::Semantic)?
                    .into_iter()
                    .map(|(sc, id)| (sc, key(id, &mut names)))
                    .collect();
                let ceiling = b
                    .index
                    .lexical_ceiling(&Fusion::default().lexical_text(&q.q))?;
                // The default rule must reproduce the index's own hybrid ranking.
                let rule = Fusion::default().resolve(&Fusion::default().lexical_text(&q.q));
                let ours: Vec<String> = fusion::fuse(&rule, &text, ceiling, &sem)
                    .into_iter()
                    .take(10)
                    .map(|(_, k)| names[k as usize].clone())
                    .collect();
                let theirs: Vec<String> = run(b, &q.q, SearchMode::Hybrid)?
                    .into_iter()
                    .take(10)
                    .map(|x| x.1)
                    .collect();
                if ours != theirs {
                    mismatches += 1;
                }
                lists.push(Lists {
                    corpus: c,
                    set,
                    targets: q.targets.clone(),
                    text,
                    ceiling,
                    raw_ceiling: b.index.lexical_ceiling(&q.q)?,
                    lex_q: Fusion::default().lexical_text(&q.q).into_owned(),
                    raw_q: q.q.clone(),
                    raw,
                    sem,
                    names,
                });
            }
        }
    }
    println!(
        "default rule vs mode=hybrid top-10 mismatches: {mismatches} of {}",
        lists.len()
    );
    println!(
        "| rule | paraphrase R@1 | R@5 | MRR | worst corpus R@5 − semantic | named R@1 | R@5 | MRR |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let sem_ranks: Vec<Option<usize>> = lists
        .iter()
        .map(|l| {
            let ids: Vec<String> = l
                .sem
                .iter()
                .map(|(_, k)| l.names[*k as usize].clone())
                .collect();
            rank_of(&ids, l.corpus, &l.targets)
        })
        .collect();
    let para = |rs: &[Option<usize>]| -> Vec<Option<usize>> {
        rs.iter()
            .zip(&lists)
            .filter(|(_, l)| l.set == l.corpus)
            .map(|(r, _)| *r)
            .collect()
    };
    let named = |rs: &[Option<usize>]| -> Vec<Option<usize>> {
        rs.iter()
            .zip(&lists)
            .filter(|(_, l)| l.set != l.corpus)
            .map(|(r, _)| *r)
            .collect()
    };
    let text_ranks: Vec<Option<usize>> = lists
        .iter()
        .map(|l| {
            let ids: Vec<String> = l
                .raw
                .iter()
                .map(|(_, k)| l.names[*k as usize].clone())
                .collect();
            rank_of(&ids, l.corpus, &l.targets)
        })
        .collect();
    for (label, rs) in [("semantic alone", &sem_ranks), ("text alone", &text_ranks)] {
        let (p, n) = (metrics(&para(rs)), metrics(&named(rs)));
        println!(
            "| {label} | {:.3} | {:.3} | {:.3} | | {:.3} | {:.3} | {:.3} |",
            p.r1, p.r5, p.mrr, n.r1, n.r5, n.mrr
        );
    }
    for (name, f, uses_stop, ceil) in candidates() {
        let ranks: Vec<Option<usize>> = lists
            .iter()
            .map(|l| {
                let (lex, c, lq) = if uses_stop {
                    (&l.text, l.ceiling, &l.lex_q)
                } else {
                    (&l.raw, l.raw_ceiling, &l.raw_q)
                };
                let rule = f.resolve(lq);
                let ids: Vec<String> = fusion::fuse(&rule, lex, if ceil { c } else { 0.0 }, &l.sem)
                    .into_iter()
                    .map(|(_, k)| l.names[k as usize].clone())
                    .collect();
                rank_of(&ids, l.corpus, &l.targets)
            })
            .collect();
        let x = metrics(&para(&ranks));
        let nx = metrics(&named(&ranks));
        let mut worst = f64::INFINITY;
        for c in CORPORA {
            let pick = |rs: &[Option<usize>]| -> Vec<Option<usize>> {
                rs.iter()
                    .zip(&lists)
                    .filter(|(_, l)| l.corpus == c && l.set == l.corpus)
                    .map(|(r, _)| *r)
                    .collect()
            };
            let d = metrics(&pick(&ranks)).r5 - metrics(&pick(&sem_ranks)).r5;
            worst = worst.min(d);
        }
        println!(
            "| {name} | {:.3} | {:.3} | {:.3} | {worst:+.3} | {:.3} | {:.3} | {:.3} |",
            x.r1, x.r5, x.mrr, nx.r1, nx.r5, nx.mrr
        );
    }
    Ok(())
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match &cli.cmd {
        Cmd::List { corpus } => {
            let c: &'static str = CORPORA
                .iter()
                .find(|c| **c == corpus.as_str())
                .copied()
                .with_context(|| format!("unknown corpus {corpus:?}"))?;
            let (docs, refused) = load_corpus(&cli.data, c)?;
            for d in &docs {
                println!(
                    "{}\t{}\t{}",
                    d.id,
                    d.agent.repo,
                    d.agent
                        .record
                        .description
                        .chars()
                        .take(100)
                        .collect::<String>()
                );
            }
            eprintln!("{} records, {refused} refused", docs.len());
            Ok(())
        }
        Cmd::Report {
            model,
            json,
            misses,
            fusion,
        } => report(&cli, model, json.as_deref(), *misses, fusion),
        Cmd::Sweep { model } => sweep(&cli, model),
    }
}
