//! End-to-end tests of the discovery engine on hand-written and generated records.
//!
//! The embedder here is the hashing stand-in (feature `hashing`): it checks the semantic
//! plumbing (vectors stored, persisted, filtered, fused, model-id checks), not meaning. The
//! meaning-level checks (paraphrase recall) run with the real model in the benchmark and in
//! `tests/semantic_minilm.rs` when the model files are present.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use agentry_search::generator::{Generator, Samples};
use agentry_search::{
    CapabilityRequirement, IndexOptions, IndexedAgent, MatchRequest, Query, SearchError,
    SearchIndex, SemanticStatus, VersionSpec,
};
use agentry_types::embed::{Embedder, HashingEmbedder};
use agentry_types::record::{
    Identity, Platform, ProtocolEndpoint, ProtocolKind, Runtime, Skill, TaxonomyRef,
};
use agentry_types::{AgentRecord, ContextSpec, Digest, RepoName, TrustTier};

fn agent(
    repo: &str,
    version: &str,
    desc: &str,
    skills: &[(&str, Option<(u64, &str)>)],
) -> IndexedAgent {
    let repo = RepoName::parse(repo).unwrap_or_else(|e| panic!("{e}"));
    IndexedAgent {
        record: AgentRecord {
            identity: Identity {
                namespace: repo.namespace().into(),
                name: repo.basename().into(),
                version: version.into(),
                ..Identity::default()
            },
            description: desc.into(),
            skills: skills
                .iter()
                .map(|(name, tax)| Skill {
                    name: (*name).into(),
                    taxonomy: tax
                        .iter()
                        .map(|(id, path)| TaxonomyRef {
                            id: Some(*id),
                            name: Some((*path).into()),
                        })
                        .collect(),
                    ..Skill::default()
                })
                .collect(),
            protocols: vec![ProtocolEndpoint {
                kind: ProtocolKind::A2a,
                version: None,
                endpoint: None,
                transport: None,
            }],
            ..AgentRecord::default()
        },
        manifest_digest: Digest::sha256(format!("{repo}:{version}").as_bytes()),
        repo,
        trust_tier: TrustTier::Basic,
        source_pod: "local".into(),
        pushed_at: 1,
    }
}

fn hashing() -> Arc<dyn Embedder> {
    Arc::new(HashingEmbedder::new(64))
}

fn open(dir: &std::path::Path, embedder: Option<Arc<dyn Embedder>>) -> SearchIndex {
    SearchIndex::open(
        dir,
        IndexOptions {
            embedder,
            writer_memory: 20 << 20,
        },
    )
    .unwrap_or_else(|e| panic!("open: {e}"))
}

fn q(s: &str) -> Query {
    agentry_server::api::wire::search_query(Some(s)).unwrap_or_else(|e| panic!("{s}: {e:?}"))
}

fn names(idx: &SearchIndex, qs: &str) -> Vec<String> {
    idx.search(&q(qs))
        .unwrap_or_else(|e| panic!("{qs}: {e}"))
        .items
        .into_iter()
        .map(|i| format!("{}@{}", i.repo, i.version))
        .collect()
}

fn fixture() -> Vec<IndexedAgent> {
    let nlu = (
        10101,
        "natural_language_processing/natural_language_understanding/contextual_comprehension",
    );
    let mut fin = agent(
        "acme-corp/financial-analyst",
        "2.4.1",
        "Analyses quarterly earnings reports and balance sheets for investors.",
        &[("Financial analysis", None), ("Summarisation", Some(nlu))],
    );
    fin.trust_tier = TrustTier::Verified;
    fin.record.context = Some(ContextSpec {
        max_input_tokens: Some(128_000),
        required_tokens: Some(4_096),
        sliding_window_tokens: Some(32_768),
        retrieval_tokens: Some(16_384),
        ..ContextSpec::default()
    });
    fin.record.labels = BTreeMap::from([("team".to_string(), "finance".to_string())]);
    fin.record.runtime = Some(Runtime {
        platforms: vec![Platform {
            os: "linux".into(),
            arch: "amd64".into(),
        }],
        gpu: false,
        ..Runtime::default()
    });
    let mut fin_old = fin.clone();
    fin_old.record.identity.version = "2.3.0".into();
    fin_old.manifest_digest = Digest::sha256(b"fin-old");
    let mut fin_pre = fin.clone();
    fin_pre.record.identity.version = "2.5.0-beta.1".into();
    fin_pre.manifest_digest = Digest::sha256(b"fin-pre");
    let mut fin_v1 = fin.clone();
    fin_v1.record.identity.version = "1.9.0".into();
    fin_v1.manifest_digest = Digest::sha256(b"fin-v1");

    let mut translator = agent(
        "lingua/translator",
        "1.2.3",
        "Translates documents between English, French and German.",
        &[(
            "Translation",
            Some((
                10501,
                "natural_language_processing/language_translation/translation",
            )),
        )],
    );
    translator.record.protocols[0].kind = ProtocolKind::Mcp;
    translator.trust_tier = TrustTier::Standard;
    translator.record.identity.oasf_cid = Some("baeareiexamplecid".into());
    translator.record.context = Some(ContextSpec {
        max_input_tokens: Some(8_000),
        required_tokens: Some(1_000),
        sliding_window_tokens: Some(2_000),
        retrieval_tokens: Some(0),
        ..ContextSpec::default()
    });

    let mut vision = agent(
        "pixel/image-tagger",
        "0.3.0",
        "Detects objects in photos and tags them.",
        &[(
            "Object detection",
            Some((20102, "computer_vision/image_analysis/object_detection")),
        )],
    );
    vision.record.runtime = Some(Runtime {
        gpu: true,
        ..Runtime::default()
    });
    vec![fin, fin_old, fin_pre, fin_v1, translator, vision]
}

#[test]
fn exact_version_capability_text_and_filters() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let idx = open(dir.path(), None);
    idx.upsert_batch(fixture())
        .unwrap_or_else(|e| panic!("{e}"));

    // exact name, all versions
    assert_eq!(names(&idx, "name=acme-corp/financial-analyst").len(), 4);
    // latest excludes the pre-release; asked for, it wins
    assert_eq!(
        names(&idx, "name=acme-corp/financial-analyst@latest"),
        vec!["acme-corp/financial-analyst@2.4.1"]
    );
    assert_eq!(
        names(
            &idx,
            "name=acme-corp/financial-analyst&version=latest&prerelease=true"
        ),
        vec!["acme-corp/financial-analyst@2.5.0-beta.1"]
    );
    // ranges
    let r = idx
        .resolve(
            "acme-corp/financial-analyst",
            &VersionSpec::parse("^2.3").unwrap_or(VersionSpec::Latest),
            false,
        )
        .map(|i| i.version);
    assert_eq!(r.as_deref(), Some("2.4.1"));
    let r = idx
        .resolve(
            "acme-corp/financial-analyst",
            &VersionSpec::parse("~2.3").unwrap_or(VersionSpec::Latest),
            false,
        )
        .map(|i| i.version);
    assert_eq!(r.as_deref(), Some("2.3.0"));
    let r = idx
        .resolve(
            "acme-corp/financial-analyst",
            &VersionSpec::parse("^1").unwrap_or(VersionSpec::Latest),
            false,
        )
        .map(|i| i.version);
    assert_eq!(r.as_deref(), Some("1.9.0"));
    assert!(
        idx.resolve(
            "acme-corp/financial-analyst",
            &VersionSpec::parse("^3").unwrap_or(VersionSpec::Latest),
            false
        )
        .is_none()
    );
    let mut in_range = names(&idx, "name=acme-corp/financial-analyst@%5E2");
    in_range.sort();
    assert_eq!(in_range.len(), 2, "{in_range:?}");
    // by digest and CID
    let d = Digest::sha256(b"fin-old");
    assert_eq!(
        names(&idx, &format!("digest={d}")),
        vec!["acme-corp/financial-analyst@2.3.0"]
    );
    assert_eq!(
        names(&idx, "cid=baeareiexamplecid"),
        vec!["lingua/translator@1.2.3"]
    );

    // capability: category finds sub-skills, by path, leaf, id, skill name
    assert_eq!(
        names(&idx, "capability=natural_language_processing").len(),
        5
    );
    assert_eq!(
        names(&idx, "capability=computer_vision"),
        vec!["pixel/image-tagger@0.3.0"]
    );
    assert_eq!(
        names(&idx, "capability=object_detection"),
        vec!["pixel/image-tagger@0.3.0"]
    );
    assert_eq!(
        names(&idx, "capability=201"),
        vec!["pixel/image-tagger@0.3.0"]
    );
    assert_eq!(
        names(&idx, "capability=105"),
        vec!["lingua/translator@1.2.3"]
    );
    assert_eq!(names(&idx, "capability=financial%20analysis").len(), 4);
    assert_eq!(
        names(
            &idx,
            "capability=translation,computer_vision&capability_match=any"
        )
        .len(),
        2
    );
    assert!(names(&idx, "capability=translation,computer_vision").is_empty());
    assert_eq!(names(&idx, "protocol=mcp"), vec!["lingua/translator@1.2.3"]);

    // full-text: words, stems, prefix, typo
    assert_eq!(names(&idx, "q=translates")[0], "lingua/translator@1.2.3");
    assert_eq!(
        names(&idx, "q=earnings%20report")[0].split('@').next(),
        Some("acme-corp/financial-analyst")
    );
    assert_eq!(names(&idx, "q=transl")[0], "lingua/translator@1.2.3");
    assert_eq!(
        names(&idx, "q=balanse%20sheets")[0].split('@').next(),
        Some("acme-corp/financial-analyst")
    );
    assert_eq!(names(&idx, "q=objetcs")[0], "pixel/image-tagger@0.3.0");

    // filters
    assert_eq!(names(&idx, "min_trust=standard").len(), 5);
    assert_eq!(names(&idx, "min_trust=verified").len(), 4);
    assert_eq!(names(&idx, "label=team%3Dfinance").len(), 4);
    assert_eq!(names(&idx, "gpu=true"), vec!["pixel/image-tagger@0.3.0"]);
    assert_eq!(names(&idx, "gpu=false").len(), 5);
    assert_eq!(names(&idx, "os=linux&arch=amd64").len(), 4);
    assert_eq!(
        names(&idx, "namespace=lingua"),
        vec!["lingua/translator@1.2.3"]
    );
    // Formula 2: the analyst needs ≥ 16,384 of required in 25 %, i.e. ~65K; the translator fits 8K.
    let small: Vec<String> = names(&idx, "max_input_tokens=8000");
    assert!(small.contains(&"lingua/translator@1.2.3".to_string()));
    assert!(!small.iter().any(|n| n.starts_with("acme-corp")));
    assert!(
        names(&idx, "max_input_tokens=128000")
            .iter()
            .any(|n| n.starts_with("acme-corp"))
    );
    // combined: text + capability + filter
    assert_eq!(
        names(
            &idx,
            "q=documents&capability=natural_language_processing&protocol=mcp"
        ),
        vec!["lingua/translator@1.2.3"]
    );
}

#[test]
fn facets_cursors_and_match() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let idx = open(dir.path(), None);
    idx.upsert_batch(fixture())
        .unwrap_or_else(|e| panic!("{e}"));

    let r = idx
        .search(&q("facets=true"))
        .unwrap_or_else(|e| panic!("{e}"));
    let tiers = &r.facets["tier"];
    assert_eq!(tiers.iter().map(|f| f.count).sum::<u64>(), 6);
    assert!(
        r.facets["capability"]
            .iter()
            .any(|f| f.value == "natural_language_processing" && f.count == 5)
    );
    assert!(
        r.facets["namespace"]
            .iter()
            .any(|f| f.value == "acme-corp" && f.count == 4)
    );
    assert!(
        r.facets["protocol"]
            .iter()
            .any(|f| f.value == "mcp" && f.count == 1)
    );

    // Paging through everything two at a time visits each agent once, in a stable order.
    for base in [
        "limit=2",
        "q=analyses%20translates%20photos%20earnings&limit=2",
    ] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let qs = match &cursor {
                Some(c) => format!("{base}&cursor={c}"),
                None => base.to_string(),
            };
            let page = idx.search(&q(&qs)).unwrap_or_else(|e| panic!("{e}"));
            assert!(page.items.len() <= 2);
            seen.extend(page.items.iter().map(|i| i.id()));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let mut dedup = seen.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(dedup.len(), seen.len(), "{base}: repeated items {seen:?}");
        if base == "limit=2" {
            assert_eq!(seen.len(), 6);
        }
    }
    // A cursor from another query is refused, naming the parameter.
    let c = idx
        .search(&q("limit=1"))
        .unwrap_or_else(|e| panic!("{e}"))
        .next_cursor
        .unwrap_or_default();
    match idx.search(&q(&format!("q=photos&cursor={c}"))) {
        Err(SearchError::Param(p)) => assert_eq!(p.param, "cursor"),
        other => panic!("{other:?}"),
    }

    let m = idx
        .match_agents(&MatchRequest {
            capabilities: CapabilityRequirement {
                all: vec!["natural_language_processing".into()],
                any: vec!["translation".into(), "financial analysis".into()],
            },
            max_input_tokens: Some(128_000),
            min_trust_tier: Some(TrustTier::Standard),
            gpu: Some(false),
            ..MatchRequest::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!m.items.is_empty());
    let first = &m.items[0];
    assert!(
        first
            .why
            .iter()
            .any(|w| w.contains("via natural_language_processing/")),
        "{:?}",
        first.why
    );
    assert!(first.why.iter().any(|w| w.contains("128000")));

    let tree = idx
        .capabilities(Some("1.0.0"))
        .unwrap_or_else(|e| panic!("{e}"));
    let nlp = tree
        .categories
        .iter()
        .find(|c| c.name == "natural_language_processing")
        .map(|c| c.count);
    assert_eq!(nlp, Some(5));
    let newest = idx.capabilities(None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(newest.taxonomy, "1.1.0");
    assert!(
        newest
            .other
            .iter()
            .any(|o| o.value == "natural_language_processing")
    );
    assert!(idx.capabilities(Some("9.9")).is_err());
}

#[test]
fn semantic_needs_a_model_and_persists_without_reembedding() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    {
        let idx = open(dir.path(), None);
        idx.upsert_batch(fixture())
            .unwrap_or_else(|e| panic!("{e}"));
        match idx.search(&q("semantic=translate%20my%20letters")) {
            Err(SearchError::SemanticUnavailable(_)) => {}
            other => panic!("expected unavailable, got {other:?}"),
        }
        match idx.search(&q("q=translate&mode=hybrid")) {
            Err(SearchError::SemanticUnavailable(_)) => {}
            other => panic!("expected unavailable, got {other:?}"),
        }
        assert!(matches!(
            idx.semantic_status(),
            SemanticStatus::Unavailable { .. }
        ));
    }
    // With a model: rebuild embeds everything.
    {
        let idx = open(dir.path(), Some(hashing()));
        let n = idx
            .rebuild(fixture(), 4, |_| {})
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(n.indexed, 6);
        assert_eq!(idx.stats().vectors, 6);
        let r = idx
            .search(&q("semantic=translates%20documents%20french"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.items[0].repo.basename(), "translator");
        let r = idx
            .search(&q("q=photos&mode=hybrid"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.items[0].repo.basename(), "image-tagger");
        // Filters apply to semantic results.
        let r = idx
            .search(&q(
                "semantic=translates%20documents%20french&namespace=pixel",
            ))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.items.len(), 1);
        assert_eq!(r.items[0].repo.basename(), "image-tagger");
        // Added after the snapshot: must survive the restart via stored vectors.
        idx.upsert(agent(
            "late/comer",
            "1.0.0",
            "Writes haiku poems about the sea.",
            &[],
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let removed = idx
            .remove(
                &RepoName::parse("pixel/image-tagger").unwrap_or_else(|e| panic!("{e}")),
                &Digest::sha256(b"pixel/image-tagger:0.3.0"),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(removed);
    }
    // Reopen with an embedder that counts calls: nothing is re-embedded.
    struct Counting(HashingEmbedder, std::sync::atomic::AtomicUsize);
    impl Embedder for Counting {
        fn model_id(&self) -> &str {
            self.0.model_id()
        }
        fn dim(&self) -> usize {
            self.0.dim()
        }
        fn embed(&self, t: &[&str]) -> Result<Vec<Vec<f32>>, agentry_types::embed::EmbedError> {
            self.1
                .fetch_add(t.len(), std::sync::atomic::Ordering::SeqCst);
            self.0.embed(t)
        }
    }
    let counting = Arc::new(Counting(
        HashingEmbedder::new(64),
        std::sync::atomic::AtomicUsize::new(0),
    ));
    {
        let idx = open(dir.path(), Some(counting.clone()));
        assert_eq!(counting.1.load(std::sync::atomic::Ordering::SeqCst), 0);
        let st = idx.stats();
        assert_eq!((st.agents, st.vectors), (6, 6), "{st:?}");
        let r = idx
            .search(&q("semantic=haiku%20poems%20sea"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.items[0].repo.basename(), "comer");
        assert!(r.items.iter().all(|i| i.repo.basename() != "image-tagger"));
        assert_eq!(counting.1.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
    // A different model refuses semantic queries until reindex.
    {
        let idx = open(dir.path(), Some(Arc::new(HashingEmbedder::new(32))));
        assert!(matches!(
            idx.semantic_status(),
            SemanticStatus::Unavailable { .. }
        ));
        match idx.search(&q("semantic=haiku")) {
            Err(SearchError::SemanticUnavailable(m)) => assert!(m.contains("reindex"), "{m}"),
            other => panic!("{other:?}"),
        }
        // Non-semantic queries still work.
        assert_eq!(names(&idx, "q=haiku").len(), 1);
        idx.rebuild(fixture(), 100, |_| {})
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            idx.semantic_status(),
            SemanticStatus::Available { .. }
        ));
        assert!(idx.search(&q("semantic=haiku")).is_ok());
    }
}

#[test]
fn upsert_replaces_and_deadline_times_out() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let idx = open(dir.path(), None);
    let a = agent("x/y", "1.0.0", "first words", &[]);
    idx.upsert(a.clone()).unwrap_or_else(|e| panic!("{e}"));
    let mut b = a.clone();
    b.record.description = "second words".into();
    idx.upsert(b).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(idx.stats().agents, 1);
    assert!(names(&idx, "q=first").is_empty());
    assert_eq!(names(&idx, "q=second").len(), 1);

    let g = Generator::new(1, 2000, Samples::default());
    idx.upsert_batch(g.agents(0..2000).collect())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut query = q("q=data&facets=true");
    query.deadline = Some(std::time::Instant::now() - Duration::from_millis(1));
    assert!(matches!(idx.search(&query), Err(SearchError::Timeout(_))));
    // Reopen: everything reloads from disk.
    drop(idx);
    let idx = open(dir.path(), None);
    assert_eq!(idx.stats().agents, 2001);
}

/// Concurrent writers share group commits: every upsert is visible when its call returns,
/// interleaved removes and re-pushes of the same artifact keep only the final state, and all
/// of it survives a reopen (vectors included, without re-embedding).
#[test]
fn concurrent_writes_group_commit_and_keep_order() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let idx = Arc::new(open(dir.path(), Some(hashing())));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let idx = idx.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    let name = format!("team{t}/agent{i}");
                    let a = agent(&name, "1.0.0", &format!("widget{t}x{i} words"), &[]);
                    idx.upsert(a.clone()).unwrap_or_else(|e| panic!("{e}"));
                    // Visible as soon as the call returns.
                    assert_eq!(idx.version_strings(&name).len(), 1, "{name}");
                    if i % 5 == 0 {
                        assert!(
                            idx.remove(&a.repo, &a.manifest_digest)
                                .unwrap_or_else(|e| panic!("{e}"))
                        );
                        assert!(
                            !idx.remove(&a.repo, &a.manifest_digest)
                                .unwrap_or_else(|e| panic!("{e}"))
                        );
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join()
            .unwrap_or_else(|_| panic!("writer thread panicked"));
    }
    // 8 × 25 pushed, 8 × 5 removed.
    assert_eq!(idx.stats().agents, 160);
    assert_eq!(idx.stats().vectors, 160);
    assert!(idx.version_strings("team3/agent5").is_empty());
    assert_eq!(idx.version_strings("team3/agent6").len(), 1);
    assert_eq!(
        names(&idx, "q=widget3x6").first().map(String::as_str),
        Some("team3/agent6@1.0.0")
    );
    idx.flush().unwrap_or_else(|e| panic!("{e}"));
    drop(idx);
    let idx = open(dir.path(), Some(hashing()));
    assert_eq!(idx.stats().agents, 160);
    assert_eq!(idx.stats().vectors, 160);
    assert_eq!(idx.version_strings("team7/agent24").len(), 1);
}

#[test]
fn a_prefix_matches_the_32_words_it_starts_with_that_are_in_the_most_records() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let idx = open(dir.path(), None);
    // One word in three records, and forty words in one record each, all starting "zqx".
    let mut agents: Vec<IndexedAgent> = (0..3)
        .map(|i| {
            agent(
                &format!("pre/common-{i}"),
                "1.0.0",
                "handles zqxcommon jobs",
                &[],
            )
        })
        .collect();
    agents.extend((0..40).map(|i| {
        agent(
            &format!("pre/rare-{i:02}"),
            "1.0.0",
            &format!("handles zqxrare{i:02} jobs"),
            &[],
        )
    }));
    idx.upsert_batch(agents).unwrap_or_else(|e| panic!("{e}"));

    // The prefix becomes 32 words: the common one, then the rare ones in order (equal counts).
    let found = names(&idx, "q=zqx&limit=100");
    assert_eq!(found.len(), 3 + 31, "{found:?}");
    assert!(found.iter().any(|n| n == "pre/common-2@1.0.0"), "{found:?}");
    assert!(found.iter().any(|n| n == "pre/rare-30@1.0.0"), "{found:?}");
    assert!(!found.iter().any(|n| n == "pre/rare-31@1.0.0"), "{found:?}");
    // A longer prefix names fewer words, and the rare ones past the cap are found again: they
    // lead (an unknown token also matches within two edits, which brings the other rare words
    // in below them).
    let mut found = names(&idx, "q=zqxrare3&limit=10");
    found.sort();
    let want: Vec<String> = (30..40).map(|i| format!("pre/rare-{i}@1.0.0")).collect();
    assert_eq!(found, want);
}
