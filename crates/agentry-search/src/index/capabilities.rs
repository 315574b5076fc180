//! `GET /capabilities`: the taxonomy browse with counts.

use super::SearchIndex;
use crate::error::{ParamError, SearchError, SearchResult};
use crate::response::{CapabilityNode, CapabilityTree, FacetCount};
use crate::taxonomy;

impl SearchIndex {
    /// `GET /capabilities`: the taxonomy tree of `version` (default newest) with the number of
    /// agents under each class, and record classes outside it.
    pub fn capabilities(&self, version: Option<&str>) -> SearchResult<CapabilityTree> {
        let tax = match version {
            Some(v) => self.tax.version(v).ok_or_else(|| {
                ParamError::new(
                    "taxonomy",
                    format!(
                        "unknown taxonomy version {v:?} (known: {})",
                        taxonomy::VERSIONS.join(", ")
                    ),
                )
            })?,
            None => self
                .tax
                .versions
                .last()
                .ok_or_else(|| SearchError::Corrupt("no taxonomy compiled in".into()))?,
        };
        let st = self.state.read();
        let count = |path: &str| st.term(&format!("cap:{path}")).map_or(0, |b| b.len());
        fn children(
            tax: &taxonomy::Taxonomy,
            parent: &str,
            level: u32,
            count: &dyn Fn(&str) -> u64,
        ) -> Vec<CapabilityNode> {
            tax.classes
                .iter()
                .filter(|c| {
                    c.level == level
                        && match c.name.rsplit_once('/') {
                            Some((p, _)) => p == parent,
                            None => parent.is_empty(),
                        }
                })
                .map(|c| CapabilityNode {
                    id: c.id,
                    name: c.name.clone(),
                    caption: c.caption.clone(),
                    description: c.description.clone(),
                    count: count(&c.name),
                    children: children(tax, &c.name, level + 1, count),
                })
                .collect()
        }
        let categories = children(tax, "", 1, &count);
        let mut other: Vec<FacetCount> = st.facet_terms[0]
            .iter()
            .filter_map(|&t| {
                let path = &st.term_names[t as usize]["cap:".len()..];
                if path.contains('/') || tax.by_path(path).is_some() {
                    return None;
                }
                let c = st.postings[t as usize].len();
                (c > 0).then(|| FacetCount {
                    value: path.to_owned(),
                    count: c,
                })
            })
            .collect();
        other.sort_by(|a, b| b.count.cmp(&a.count).then(a.value.cmp(&b.value)));
        other.truncate(100);
        Ok(CapabilityTree {
            taxonomy: tax.version.to_owned(),
            categories,
            other,
        })
    }
}
