//! The discovery engine of an agentry pod.
//!
//! [`SearchIndex`] is derived from the store: the pod calls [`SearchIndex::upsert`] in the
//! request that stores an agent (so it is findable when the push returns) and
//! [`SearchIndex::remove`] when a manifest is deleted; `agentry reindex` calls
//! [`SearchIndex::rebuild`] with every stored record. It answers, combinably:
//!
//! * exact lookups (`namespace/name`, `@version`, digest, OASF CID) and semver ranges;
//! * capability queries over the OASF skill taxonomy (a category finds its sub-skills);
//! * BM25 full-text with prefix and typo tolerance (tantivy);
//! * semantic nearest neighbours over sentence embeddings (usearch HNSW), and hybrid
//!   score-normalised convex fusion of both ([`index::fusion`]);
//! * filters (trust tier, namespace, publisher, labels, platform, GPU, protocol, Formula-2
//!   context fit), facets and cursor pagination;
//! * structured matching with reasons, and a taxonomy browse with counts.
//!
//! Queries ([`Query`]) and answers ([`SearchPage`] of [`AgentHit`]s) are typed values; the
//! server parses query strings into them and shapes them as JSON (`agentry-server`'s
//! `api::wire`). Without an embedding
//! model, semantic and hybrid queries fail with [`SearchError::SemanticUnavailable`]; they never
//! fall back to something else.
//!
//! `generator` (feature `generator`) builds realistic synthetic records, deterministically by
//! seed, for tests and the benchmark crate `agentry-search-bench`.

pub mod error;
#[cfg(feature = "generator")]
pub mod generator;
pub mod index;
pub mod query;
pub mod response;
pub mod taxonomy;

use agentry_types::{AgentRecord, Digest, RepoName, TrustTier};
use serde::{Deserialize, Serialize};

pub use error::{ParamError, SearchError, SearchResult};
pub use index::{
    IndexOptions, IndexStats, RebuildProgress, SearchIndex, SemanticStatus, stored_model_id,
};
pub use query::{
    CapabilityMatch, Cursor, DEFAULT_LIMIT, MAX_LIMIT, MAX_TEXT_LEN, Query, SearchMode, VersionSpec,
};
pub use response::{
    AgentHit, CapabilityNode, CapabilityRequirement, CapabilityTree, FacetCount, MatchRequest,
    SearchPage,
};

/// Where a pod keeps its discovery index inside its data directory
/// ([`agentry_types::DataDir::search`]).
pub fn index_dir(data: &std::path::Path) -> std::path::PathBuf {
    agentry_types::DataDir::new(data).search()
}

/// One agent as the index receives it: the extracted record and where it is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexedAgent {
    pub record: AgentRecord,
    /// Repository the manifest was pushed to (`namespace/name`).
    pub repo: RepoName,
    /// Digest of the manifest the record was extracted from.
    pub manifest_digest: Digest,
    pub trust_tier: TrustTier,
    /// The pod the record came from (this pod's name for local pushes).
    pub source_pod: String,
    /// Unix seconds of the push.
    pub pushed_at: i64,
}

/// Characters of an embedding text after which no further skill names are added: about 128
/// word pieces, the input length the model was trained on (all-MiniLM-L6-v2's fine-tuning
/// truncated at 128; it reads up to 256). Name and description always go in whole; a list of
/// dozens of skill names adds little meaning to a mean-pooled vector, dilutes the description's,
/// and costs forward-pass time in proportion to its length.
pub const EMBED_TEXT_SKILLS_UNTIL: usize = 512;

/// The text embedded for an agent: what it is called, what it says it does, and its skills
/// (each distinct name once, while the text is shorter than [`EMBED_TEXT_SKILLS_UNTIL`]).
pub fn embedding_text(r: &AgentRecord) -> String {
    let mut s = String::new();
    s.push_str(
        r.identity
            .display_name
            .as_deref()
            .unwrap_or(&r.identity.name),
    );
    s.push_str(": ");
    s.push_str(&r.description);
    let mut skills: Vec<&str> = Vec::new();
    let mut len = s.len() + " Skills: .".len();
    for name in r.skills.iter().map(|k| k.name.as_str()) {
        if name.is_empty() || skills.contains(&name) {
            continue;
        }
        let add = name.len() + if skills.is_empty() { 0 } else { 2 };
        if !skills.is_empty() && len + add > EMBED_TEXT_SKILLS_UNTIL {
            break;
        }
        len += add;
        skills.push(name);
    }
    if !skills.is_empty() {
        s.push_str(" Skills: ");
        s.push_str(&skills.join(", "));
        s.push('.');
    }
    s
}

/// Full-text "name" field: repository, short name and display name, with `-`/`_` as spaces.
pub(crate) fn name_text(r: &AgentRecord, repo: &str) -> String {
    let mut s = repo.replace(['/', '-', '_', '.'], " ");
    if let Some(d) = &r.identity.display_name {
        s.push(' ');
        s.push_str(d);
    }
    if !r.identity.name.is_empty() && !repo.ends_with(&r.identity.name) {
        s.push(' ');
        s.push_str(&r.identity.name.replace(['-', '_'], " "));
    }
    s
}

/// Full-text "skills" field: skill names, descriptions, tags, and the captions of their
/// taxonomy classes.
pub(crate) fn skills_text(r: &AgentRecord, tax: &taxonomy::Taxonomies) -> String {
    let mut s = String::new();
    for k in &r.skills {
        s.push_str(&k.name.replace(['-', '_'], " "));
        s.push_str(". ");
        s.push_str(&k.description);
        s.push(' ');
        for t in &k.tags {
            s.push_str(t);
            s.push(' ');
        }
        for t in &k.taxonomy {
            let class = t
                .name
                .as_deref()
                .and_then(|n| tax.class_by_path(&taxonomy::normalize_path(n)));
            match class {
                Some(c) => {
                    s.push_str(&c.caption);
                    s.push(' ');
                }
                None => {
                    if let Some(n) = &t.name {
                        s.push_str(&n.replace(['/', '_'], " "));
                        s.push(' ');
                    }
                }
            }
        }
    }
    for d in &r.domains {
        if let Some(n) = &d.name {
            s.push_str(&n.replace(['/', '_'], " "));
            s.push(' ');
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(description: &str, skills: &[&str]) -> AgentRecord {
        let mut r = AgentRecord::default();
        r.identity.name = "ledger-bot".into();
        r.description = description.into();
        r.skills = skills
            .iter()
            .map(|n| agentry_types::record::Skill {
                name: (*n).into(),
                ..agentry_types::record::Skill::default()
            })
            .collect();
        r
    }

    #[test]
    fn embedding_text_keeps_name_description_and_each_skill_once() {
        let r = record(
            "Books invoices.",
            &["pay-invoice", "", "pay-invoice", "refund"],
        );
        assert_eq!(
            embedding_text(&r),
            "ledger-bot: Books invoices. Skills: pay-invoice, refund."
        );
    }

    #[test]
    fn embedding_text_stops_adding_skill_names_at_the_budget() {
        let names: Vec<String> = (0..200).map(|i| format!("skill-number-{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let text = embedding_text(&record("Does many things.", &refs));
        assert!(
            text.len() <= EMBED_TEXT_SKILLS_UNTIL,
            "{} chars",
            text.len()
        );
        assert!(text.starts_with("ledger-bot: Does many things. Skills: skill-number-0, "));
        assert!(text.ends_with('.'));
        // A description longer than the budget still goes in whole, with its first skill.
        let long = "word ".repeat(200);
        let text = embedding_text(&record(&long, &refs));
        assert!(text.contains(long.trim_end()));
        assert!(text.ends_with("Skills: skill-number-0."));
    }
}
