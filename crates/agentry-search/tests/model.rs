//! The index against a brute-force reference model, as redb fuzzes its tree against a
//! `BTreeMap`: random batches of upserts (with re-pushes of the same artifact) and removals,
//! then random queries. Exact, version, capability and filter queries must return exactly the
//! agents the model selects, in key order, across every page of their cursors; facet counts
//! must equal the model's; full-text results must be a subset of what the model's filters
//! admit, without repeats across pages.

use std::collections::{BTreeMap, BTreeSet};

use agentry_search::{
    CapabilityMatch, IndexOptions, IndexedAgent, Query, SearchIndex, VersionSpec,
};
use agentry_types::record::{
    Identity, Platform, ProtocolEndpoint, ProtocolKind, Runtime, Skill, TaxonomyRef,
};
use agentry_types::{AgentRecord, ContextSpec, Digest, RepoName, TrustTier};
use proptest::prelude::*;

const VERSIONS: [&str; 7] = [
    "1.0.0",
    "1.2.0",
    "2.0.0",
    "2.1.0-beta.1",
    "0.9.0",
    "v3.0.0",
    "nightly",
];
const PROTOCOLS: [ProtocolKind; 4] = [
    ProtocolKind::A2a,
    ProtocolKind::Mcp,
    ProtocolKind::Rest,
    ProtocolKind::Grpc,
];
/// (skill name, taxonomy path).
const SKILLS: [(&str, Option<&str>); 4] = [
    ("Data Cleaning", None),
    ("ocr", Some("zz_vision/ocr")),
    ("summarise", Some("zz_nlp/summarization/abstractive")),
    ("translate", Some("zz_nlp/translation")),
];
const CAPABILITY_QUERIES: [&str; 8] = [
    "data cleaning",
    "Data-Cleaning",
    "zz_vision",
    "zz_nlp",
    "ZZ_NLP/Summarization",
    "ocr",
    "translate",
    "abstractive",
];
const WORDS: [&str; 6] = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];
const TEXT_QUERIES: [&str; 6] = [
    "alpha",
    "brav",
    "charlie delta",
    "ecko",
    "zulu",
    "foxtrot alpha",
];
const VERSION_SPECS: [&str; 7] = [
    "latest", "^1", "^2", "1.2.0", "v3.0.0", "nightly", ">=1, <3",
];
const CONTEXTS: [(u64, u64); 3] = [(8_000, 1_000), (128_000, 4_096), (32_000, 30_000)];

/// One generated agent, as small choices.
#[derive(Debug, Clone)]
struct Spec {
    ns: u8,
    name: u8,
    version: usize,
    /// Pushes of the same version with different content have different digests.
    variant: u8,
    tier: usize,
    protocols: Vec<bool>,
    skills: Vec<bool>,
    team: Option<bool>,
    platform: Option<(bool, bool)>,
    gpu: bool,
    context: Option<usize>,
    words: Vec<usize>,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        (0u8..3, 0u8..2, 0..VERSIONS.len(), 0u8..2, 0usize..4),
        (
            prop::collection::vec(any::<bool>(), 4),
            prop::collection::vec(any::<bool>(), 4),
            prop::option::of(any::<bool>()),
            prop::option::of((any::<bool>(), any::<bool>())),
            any::<bool>(),
            prop::option::of(0..CONTEXTS.len()),
            prop::collection::vec(0..WORDS.len(), 1..4),
        ),
    )
        .prop_map(
            |(
                (ns, name, version, variant, tier),
                (protocols, skills, team, platform, gpu, context, words),
            )| Spec {
                ns,
                name,
                version,
                variant,
                tier,
                protocols,
                skills,
                team,
                platform,
                gpu,
                context,
                words,
            },
        )
}

fn repo_of(ns: u8, name: u8) -> String {
    format!("ns{ns}/agent{name}")
}

fn digest_of(ns: u8, name: u8, version: usize, variant: u8) -> Digest {
    Digest::sha256(format!("{}:{}:{variant}", repo_of(ns, name), VERSIONS[version]).as_bytes())
}

fn build(s: &Spec) -> IndexedAgent {
    let repo = RepoName::parse(&repo_of(s.ns, s.name)).unwrap_or_else(|e| panic!("{e}"));
    let mut labels = BTreeMap::new();
    if let Some(t) = s.team {
        labels.insert(
            "team".to_owned(),
            if t { "finance" } else { "legal" }.to_owned(),
        );
    }
    let record = AgentRecord {
        identity: Identity {
            namespace: repo.namespace().into(),
            name: repo.basename().into(),
            version: VERSIONS[s.version].into(),
            ..Identity::default()
        },
        description: s
            .words
            .iter()
            .map(|w| WORDS[*w])
            .collect::<Vec<_>>()
            .join(" "),
        skills: SKILLS
            .iter()
            .zip(&s.skills)
            .filter(|(_, on)| **on)
            .map(|((name, path), _)| Skill {
                name: (*name).into(),
                taxonomy: path
                    .iter()
                    .map(|p| TaxonomyRef {
                        id: None,
                        name: Some((*p).into()),
                    })
                    .collect(),
                ..Skill::default()
            })
            .collect(),
        protocols: PROTOCOLS
            .iter()
            .zip(&s.protocols)
            .filter(|(_, on)| **on)
            .map(|(k, _)| ProtocolEndpoint {
                kind: k.clone(),
                version: None,
                endpoint: None,
                transport: None,
            })
            .collect(),
        labels,
        runtime: Some(Runtime {
            platforms: s
                .platform
                .iter()
                .map(|(linux, arm)| Platform {
                    os: if *linux { "Linux" } else { "darwin" }.into(),
                    arch: if *arm { "arm64" } else { "amd64" }.into(),
                })
                .collect(),
            gpu: s.gpu,
            ..Runtime::default()
        }),
        context: s.context.map(|c| ContextSpec {
            max_input_tokens: Some(CONTEXTS[c].0),
            required_tokens: Some(CONTEXTS[c].1),
            ..ContextSpec::default()
        }),
        ..AgentRecord::default()
    };
    IndexedAgent {
        record,
        manifest_digest: digest_of(s.ns, s.name, s.version, s.variant),
        repo,
        trust_tier: TrustTier::ALL[s.tier],
        source_pod: "local".into(),
        pushed_at: 1_700_000_000,
    }
}

#[derive(Debug, Clone)]
enum Op {
    Upsert(Vec<Spec>),
    /// Remove the artifact of this spec, indexed or not.
    Remove(u8, u8, usize, u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => prop::collection::vec(spec(), 1..6).prop_map(Op::Upsert),
        1 => (0u8..3, 0u8..2, 0..VERSIONS.len(), 0u8..2)
            .prop_map(|(a, b, c, d)| Op::Remove(a, b, c, d)),
    ]
}

/// A generated query, as small choices.
#[derive(Debug, Clone)]
struct QSpec {
    name: Option<(u8, u8, Option<usize>)>,
    prerelease: bool,
    digest: Option<(u8, u8, usize, u8)>,
    capabilities: Vec<usize>,
    any: bool,
    protocols: Vec<usize>,
    min_tier: Option<usize>,
    namespace: Option<u8>,
    team: Option<bool>,
    os: Option<bool>,
    arch: Option<bool>,
    gpu: Option<bool>,
    max_input_tokens: Option<u64>,
    text: Option<usize>,
    limit: usize,
}

fn qspec() -> impl Strategy<Value = QSpec> {
    (
        (
            prop::option::weighted(
                0.3,
                (0u8..3, 0u8..2, prop::option::of(0..VERSION_SPECS.len())),
            ),
            any::<bool>(),
            prop::option::weighted(0.1, (0u8..3, 0u8..2, 0..VERSIONS.len(), 0u8..2)),
            prop::collection::vec(0..CAPABILITY_QUERIES.len(), 0..3),
            any::<bool>(),
            prop::collection::vec(0..PROTOCOLS.len(), 0..3),
            prop::option::weighted(0.3, 0usize..4),
        ),
        (
            prop::option::weighted(0.2, 0u8..3),
            prop::option::weighted(0.2, any::<bool>()),
            prop::option::weighted(0.2, any::<bool>()),
            prop::option::weighted(0.2, any::<bool>()),
            prop::option::weighted(0.2, any::<bool>()),
            prop::option::weighted(
                0.2,
                prop::sample::select(vec![1_000u64, 8_000, 20_000, 128_000]),
            ),
            prop::option::weighted(0.3, 0..TEXT_QUERIES.len()),
            prop::sample::select(vec![1usize, 2, 3, 7, 100]),
        ),
    )
        .prop_map(
            |(
                (name, prerelease, digest, capabilities, any, protocols, min_tier),
                (namespace, team, os, arch, gpu, max_input_tokens, text, limit),
            )| QSpec {
                name,
                prerelease,
                digest,
                capabilities,
                any,
                protocols,
                min_tier,
                namespace,
                team,
                os,
                arch,
                gpu,
                max_input_tokens,
                text,
                limit,
            },
        )
}

fn query_of(s: &QSpec) -> Query {
    let mut q = Query::new();
    if let Some((ns, name, v)) = s.name {
        q.name = Some(repo_of(ns, name));
        q.version =
            v.map(|v| VersionSpec::parse(VERSION_SPECS[v]).unwrap_or_else(|e| panic!("{e}")));
    }
    q.include_prerelease = s.prerelease;
    q.digest = s.digest.map(|(a, b, c, d)| digest_of(a, b, c, d));
    q.capabilities = s
        .capabilities
        .iter()
        .map(|c| CAPABILITY_QUERIES[*c].to_owned())
        .collect();
    q.capability_match = if s.any {
        CapabilityMatch::Any
    } else {
        CapabilityMatch::All
    };
    q.protocols = s
        .protocols
        .iter()
        .map(|p| PROTOCOLS[*p].as_str().to_owned())
        .collect();
    q.min_tier = s.min_tier.map(|t| TrustTier::ALL[t]);
    q.namespace = s.namespace.map(|n| format!("ns{n}"));
    q.labels = s
        .team
        .map(|t| {
            (
                "team".to_owned(),
                if t { "finance" } else { "legal" }.to_owned(),
            )
        })
        .into_iter()
        .collect();
    q.os = s.os.map(|l| if l { "linux" } else { "darwin" }.to_owned());
    q.arch = s.arch.map(|a| if a { "arm64" } else { "amd64" }.to_owned());
    q.gpu = s.gpu;
    q.max_input_tokens = s.max_input_tokens;
    q.text = s.text.map(|t| TEXT_QUERIES[t].to_owned());
    q.limit = s.limit;
    q.facets = true;
    q
}

/// The reference: alive agents by key, and the next key the index will hand out.
#[derive(Default)]
struct Model {
    agents: BTreeMap<u32, IndexedAgent>,
    next_key: u32,
}

fn id(a: &IndexedAgent) -> String {
    format!("{}@{}", a.repo, a.manifest_digest)
}

impl Model {
    fn upsert(&mut self, batch: &[IndexedAgent]) {
        for a in batch {
            self.agents.retain(|_, b| id(b) != id(a));
            self.agents.insert(self.next_key, a.clone());
            self.next_key += 1;
        }
    }

    fn remove(&mut self, id_: &str) -> bool {
        let before = self.agents.len();
        self.agents.retain(|_, b| id(b) != id_);
        before != self.agents.len()
    }

    /// Keys selected by everything but the text, in key order.
    fn select(&self, q: &Query) -> Vec<u32> {
        let latest = q.name.as_ref().and_then(|n| {
            let named: Vec<(&u32, &IndexedAgent)> = self
                .agents
                .iter()
                .filter(|(_, a)| a.repo.as_str() == n)
                .collect();
            matches!(q.version, Some(VersionSpec::Latest)).then(|| {
                named
                    .iter()
                    .max_by(|(ka, a), (kb, b)| {
                        rank(a, q.include_prerelease)
                            .cmp(&rank(b, q.include_prerelease))
                            .then(kb.cmp(ka))
                    })
                    .map(|(k, _)| **k)
            })
        });
        self.agents
            .iter()
            .filter(|(k, a)| {
                let r = &a.record;
                let name_ok = match &q.name {
                    None => true,
                    Some(n) => {
                        a.repo.as_str() == n
                            && match &q.version {
                                None => true,
                                Some(VersionSpec::Latest) => latest == Some(Some(**k)),
                                Some(VersionSpec::Exact(v)) => {
                                    r.identity.version.trim_start_matches('v') == v
                                }
                                Some(VersionSpec::Range(req)) => match r.semver() {
                                    None => false,
                                    Some(v) if v.pre.is_empty() => req.matches(&v),
                                    Some(v) => {
                                        q.include_prerelease
                                            && (req.matches(&v)
                                                || req.matches(&semver::Version::new(
                                                    v.major, v.minor, v.patch,
                                                )))
                                    }
                                },
                            }
                    }
                };
                let caps: Vec<bool> = q
                    .capabilities
                    .iter()
                    .map(|c| has_capability(r, c))
                    .collect();
                let caps_ok = caps.is_empty()
                    || match q.capability_match {
                        CapabilityMatch::All => caps.iter().all(|b| *b),
                        CapabilityMatch::Any => caps.iter().any(|b| *b),
                    };
                let platforms = r.runtime.iter().flat_map(|rt| &rt.platforms);
                let gpu = r.runtime.as_ref().is_some_and(|rt| rt.gpu);
                name_ok
                    && q.digest.as_ref().is_none_or(|d| a.manifest_digest == *d)
                    && caps_ok
                    && (q.protocols.is_empty()
                        || q.protocols.iter().any(|p| {
                            r.protocols
                                .iter()
                                .any(|e| e.kind.as_str() == ProtocolKind::parse(p).as_str())
                        }))
                    && q.min_tier.is_none_or(|m| a.trust_tier >= m)
                    && q.namespace
                        .as_deref()
                        .is_none_or(|n| a.repo.namespace() == n)
                    && q.labels.iter().all(|(k, v)| r.labels.get(k) == Some(v))
                    && q.os
                        .as_deref()
                        .is_none_or(|os| platforms.clone().any(|p| p.os.to_ascii_lowercase() == os))
                    && q.arch
                        .as_deref()
                        .is_none_or(|ar| platforms.clone().any(|p| p.arch == ar))
                    && q.gpu.is_none_or(|g| g == gpu)
                    && q.max_input_tokens
                        .is_none_or(|n| r.context.as_ref().is_none_or(|c| c.fits_within(n)))
            })
            .map(|(k, _)| *k)
            .collect()
    }
}

/// "Highest version" order: stable semver, then non-semver, then pre-releases (which count as
/// stable when pre-releases are asked for).
fn rank(a: &IndexedAgent, include_pre: bool) -> (u8, Option<semver::Version>) {
    match a.record.semver() {
        Some(v) if v.pre.is_empty() || include_pre => (2, Some(v)),
        Some(v) => (0, Some(v)),
        None => (1, None),
    }
}

fn has_capability(r: &AgentRecord, c: &str) -> bool {
    let path = c.trim().to_ascii_lowercase();
    let skill_key = |s: &str| s.to_lowercase().replace([' ', '-'], "_");
    r.skills.iter().any(|s| {
        skill_key(&s.name) == skill_key(c)
            || s.taxonomy
                .iter()
                .filter_map(|t| t.name.as_deref())
                .any(|p| {
                    p == path
                        || p.starts_with(&format!("{path}/"))
                        || (!path.contains('/') && p.rsplit('/').next() == Some(path.as_str()))
                })
    })
}

/// Every page of `q`, following cursors.
/// Facet counts as (value, count) per group.
type Facets = BTreeMap<String, Vec<(String, u64)>>;

fn all_pages(idx: &SearchIndex, q: &Query) -> (Vec<String>, Facets) {
    let mut q = q.clone();
    let mut ids = Vec::new();
    let mut facets = BTreeMap::new();
    for page in 0.. {
        let r = idx.search(&q).unwrap_or_else(|e| panic!("{e}"));
        if page == 0 {
            facets = r
                .facets
                .iter()
                .map(|(g, v)| {
                    (
                        g.clone(),
                        v.iter().map(|c| (c.value.clone(), c.count)).collect(),
                    )
                })
                .collect();
        }
        assert!(r.items.len() <= q.limit);
        ids.extend(r.items.iter().map(|i| i.id()));
        match r.next_cursor {
            Some(c) => {
                q.cursor =
                    Some(agentry_search::Cursor::decode(&c).unwrap_or_else(|e| panic!("{e}")))
            }
            None => break,
        }
        assert!(page < 1000, "cursor loop");
    }
    (ids, facets)
}

fn counts(values: impl Iterator<Item = String>) -> Vec<(String, u64)> {
    let mut m: BTreeMap<String, u64> = BTreeMap::new();
    for v in values {
        *m.entry(v).or_default() += 1;
    }
    let mut v: Vec<(String, u64)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

fn check(ops: &[Op], queries: &[QSpec]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let idx = SearchIndex::open(
        dir.path(),
        IndexOptions {
            embedder: None,
            writer_memory: 15 << 20,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut model = Model::default();
    for op in ops {
        match op {
            Op::Upsert(specs) => {
                let batch: Vec<IndexedAgent> = specs.iter().map(build).collect();
                model.upsert(&batch);
                idx.upsert_batch(batch).unwrap_or_else(|e| panic!("{e}"));
            }
            Op::Remove(a, b, c, d) => {
                let repo = RepoName::parse(&repo_of(*a, *b)).unwrap_or_else(|e| panic!("{e}"));
                let digest = digest_of(*a, *b, *c, *d);
                let want = model.remove(&format!("{repo}@{digest}"));
                prop_assert_eq!(
                    idx.remove(&repo, &digest).unwrap_or_else(|e| panic!("{e}")),
                    want
                );
            }
        }
    }
    prop_assert_eq!(idx.stats().agents, model.agents.len() as u64);
    for qs in queries {
        let q = query_of(qs);
        let selected = model.select(&q);
        let want_ids: Vec<String> = selected.iter().map(|k| id(&model.agents[k])).collect();
        let (got, facets) = all_pages(&idx, &q);
        let unique: BTreeSet<&String> = got.iter().collect();
        prop_assert_eq!(
            unique.len(),
            got.len(),
            "no item twice across pages: {:?}",
            got
        );
        if q.text.is_some() {
            let allowed: BTreeSet<&String> = want_ids.iter().collect();
            prop_assert!(
                got.iter().all(|g| allowed.contains(g)),
                "text results {:?} outside {:?} for {:?}",
                got,
                want_ids,
                qs
            );
        } else {
            prop_assert_eq!(&got, &want_ids, "query {:?}", qs);
            let chosen = || selected.iter().map(|k| &model.agents[k]);
            prop_assert_eq!(
                facets.get("tier").cloned().unwrap_or_default(),
                counts(chosen().map(|a| a.trust_tier.to_string()))
            );
            prop_assert_eq!(
                facets.get("namespace").cloned().unwrap_or_default(),
                counts(chosen().map(|a| a.repo.namespace().to_owned()))
            );
            prop_assert_eq!(
                facets.get("protocol").cloned().unwrap_or_default(),
                counts(chosen().flat_map(|a| {
                    let mut p: Vec<String> = a
                        .record
                        .protocols
                        .iter()
                        .map(|e| e.kind.as_str().to_owned())
                        .collect();
                    p.dedup();
                    p
                }))
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_index_answers_as_the_model(
        ops in prop::collection::vec(op(), 1..8),
        queries in prop::collection::vec(qspec(), 1..12),
    ) {
        check(&ops, &queries)?;
    }
}
