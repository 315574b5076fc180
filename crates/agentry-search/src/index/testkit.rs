//! Records and states for the index modules' unit tests.

use agentry_types::record::{Identity, ProtocolEndpoint, ProtocolKind, Skill, TaxonomyRef};
use agentry_types::{AgentRecord, Digest, RepoName, TrustTier};

use super::state::State;
use crate::IndexedAgent;
use crate::taxonomy::Taxonomies;

/// An agent of `repo` at `version` with a description and skills (name, optional taxonomy
/// path), speaking A2A, trust tier basic.
pub(crate) fn agent(
    repo: &str,
    version: &str,
    description: &str,
    skills: &[(&str, Option<&str>)],
) -> IndexedAgent {
    let repo = RepoName::parse(repo).unwrap_or_else(|e| panic!("{repo}: {e}"));
    IndexedAgent {
        record: AgentRecord {
            identity: Identity {
                namespace: repo.namespace().into(),
                name: repo.basename().into(),
                version: version.into(),
                ..Identity::default()
            },
            description: description.into(),
            skills: skills
                .iter()
                .map(|(name, path)| Skill {
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

/// The structured state holding `agents` under keys 0, 1, 2…
pub(crate) fn state_of(agents: &[IndexedAgent]) -> State {
    let tax = Taxonomies::shipped();
    let mut st = State::default();
    for (k, a) in agents.iter().enumerate() {
        st.insert(k as u32, a, &tax);
    }
    st
}
