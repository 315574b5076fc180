//! Exact lookups: a name at a version spec, a name's versions, an artifact by digest.

use agentry_types::Digest;

use super::filter::{version_rank, versions_matching};
use super::state::DocMeta;
use super::{SearchIndex, item};
use crate::query::VersionSpec;
use crate::response::AgentHit;

impl SearchIndex {
    /// `namespace/name` at a version spec: the highest matching version (`GET
    /// /agents/{ns}/{name}`, `…/{version}`, `…@{range}`).
    pub fn resolve(
        &self,
        repo: &str,
        spec: &VersionSpec,
        include_prerelease: bool,
    ) -> Option<AgentHit> {
        let st = self.state.read();
        let of = st.term(&format!("name:{}", repo.to_ascii_lowercase()))?;
        let mut keys = versions_matching(&st, of, spec, include_prerelease);
        if !matches!(spec, VersionSpec::Latest) && keys.len() > 1 {
            keys = versions_matching(&st, &keys, &VersionSpec::Latest, include_prerelease);
        }
        let k = keys.min()?;
        st.doc(k).map(|d| item(d, 1.0))
    }

    /// The version strings of `namespace/name`, highest first (the exact-lookup path lists
    /// them; [`resolve`](Self::resolve) picks one).
    pub fn version_strings(&self, repo: &str) -> Vec<String> {
        let st = self.state.read();
        let Some(of) = st.term(&format!("name:{}", repo.to_ascii_lowercase())) else {
            return Vec::new();
        };
        let mut v: Vec<&DocMeta> = of.iter().filter_map(|k| st.doc(k)).collect();
        v.sort_by(|a, b| version_rank(b, true).cmp(&version_rank(a, true)));
        v.into_iter().map(|d| d.version.to_string()).collect()
    }

    /// Every indexed artifact with this manifest (or record) digest.
    pub fn by_digest(&self, digest: &Digest) -> Vec<AgentHit> {
        let st = self.state.read();
        st.term(&format!("digest:{digest}"))
            .map(|b| {
                b.iter()
                    .filter_map(|k| st.doc(k).map(|d| item(d, 1.0)))
                    .collect()
            })
            .unwrap_or_default()
    }
}
