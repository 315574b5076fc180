//! The discovery query: structured filter, then an unranked page in key order or a ranked page
//! (full-text, semantic, or both fused), resumed after a cursor, with facets.

use std::sync::Arc;
use std::time::Instant;

use roaring::RoaringBitmap;

use super::facets::facets;
use super::filter::filter;
use super::fusion;
use super::state::State;
use super::{Neighbours, SearchIndex, Semantic, SemanticStatus, check_deadline, item};
use crate::error::{ParamError, SearchError, SearchResult};
use crate::query::{Cursor, MAX_LIMIT, MAX_RANKED_DEPTH, Query};
use crate::response::{AgentHit, SearchPage};

impl SearchIndex {
    /// The same index, answering hybrid queries with `fusion` (the relevance benchmark
    /// compares rules this way; a pod uses the default).
    pub fn with_fusion(mut self, fusion: fusion::Fusion) -> SearchIndex {
        self.fusion = fusion;
        self
    }

    /// What a document matching every word of `text` once would score in full text
    /// ([`fusion::fuse`] normalises the lexical half by it).
    pub fn lexical_ceiling(&self, text: &str) -> SearchResult<f32> {
        self.text.score_ceiling(text)
    }

    fn embed_query(&self, text: &str) -> SearchResult<Vec<f32>> {
        let embedder = match &*self.semantic.read() {
            Semantic::Ready { embedder, .. } => embedder.clone(),
            _ => {
                let SemanticStatus::Unavailable { reason } = self.semantic_status() else {
                    return Err(SearchError::SemanticUnavailable("unknown".into()));
                };
                return Err(SearchError::SemanticUnavailable(reason));
            }
        };
        let mut v = embedder
            .embed(&[text])
            .map_err(|e| SearchError::Embed(e.to_string()))?;
        v.pop()
            .ok_or_else(|| SearchError::Embed("the model returned no vector".into()))
    }

    /// The `k` nearest agents of `query` by the ANN graph and by brute force over the same
    /// vectors: the recall benchmark's probe.
    pub fn recall_probe(&self, query: &[f32], k: usize) -> SearchResult<(Neighbours, Neighbours)> {
        let sem = self.semantic.read();
        let Semantic::Ready { vectors, .. } = &*sem else {
            return Err(SearchError::SemanticUnavailable("no vectors".into()));
        };
        Ok((
            vectors.search(query, k, |_| true)?,
            vectors.exact(query, k)?,
        ))
    }

    /// Answer a discovery query.
    pub fn search(&self, q: &Query) -> SearchResult<SearchPage> {
        let start = Instant::now();
        let fingerprint = q.fingerprint();
        if let Some(c) = &q.cursor
            && c.fingerprint != fingerprint
        {
            return Err(ParamError::new(
                "cursor",
                "belongs to a different query; repeat the query without it",
            )
            .into());
        }
        let limit = q.limit.clamp(1, MAX_LIMIT);
        let lexical = q.lexical_text();
        // Embed before taking any lock (it is the slowest step).
        let qvec = match q.semantic_text() {
            Some(s) => Some(self.embed_query(s)?),
            None => None,
        };
        check_deadline(q.deadline, start)?;
        let st = self.state.read();
        let allow = filter(&st, q);
        check_deadline(q.deadline, start)?;
        let offset = q.cursor.as_ref().map_or(0, |c| c.offset);
        let page = if lexical.is_none() && qvec.is_none() {
            unranked_page(allow.as_ref().unwrap_or(&st.alive), q, limit)
        } else {
            self.ranked_page(&st, allow, q, lexical, qvec.as_deref(), start)?
        };
        check_deadline(q.deadline, start)?;
        let items: Vec<AgentHit> = page
            .hits
            .iter()
            .filter_map(|(s, k)| st.doc(*k).map(|d| item(d, *s)))
            .collect();
        let next_cursor = if page.more {
            page.hits.last().map(|(s, k)| {
                Cursor {
                    fingerprint,
                    offset: offset + page.hits.len(),
                    score: (lexical.is_some() || qvec.is_some()).then_some(*s),
                    key: *k,
                }
                .encode()
            })
        } else {
            None
        };
        let facets = match page.facet_base {
            Some(b) => facets(&st, &b, q.deadline, start)?,
            None => Default::default(),
        };
        Ok(SearchPage {
            items,
            next_cursor,
            facets,
        })
    }

    /// A ranked page: full-text hits, nearest neighbours, or both fused, among the keys in
    /// `allow` (every agent when `None`), resumed strictly after the cursor's position.
    fn ranked_page(
        &self,
        st: &State,
        allow: Option<RoaringBitmap>,
        q: &Query,
        lexical: Option<&str>,
        qvec: Option<&[f32]>,
        start: Instant,
    ) -> SearchResult<Page> {
        let limit = q.limit.clamp(1, MAX_LIMIT);
        let offset = q.cursor.as_ref().map_or(0, |c| c.offset);
        let depth = (offset + limit + 1).min(MAX_RANKED_DEPTH + 1);
        let mut facet_base: Option<RoaringBitmap> = None;
        let text_hits = match lexical {
            Some(t) => {
                let want_all = q.facets && qvec.is_none();
                // Fusion needs both lists deep enough to overlap.
                let d = if qvec.is_some() {
                    depth.max(100)
                } else {
                    depth
                };
                // The hybrid's lexical half searches what its fusion rule asks for.
                let t = if qvec.is_some() {
                    self.fusion.lexical_text(t)
                } else {
                    std::borrow::Cow::Borrowed(t)
                };
                let (hits, all) = self
                    .text
                    .search(&t, allow.clone().map(Arc::new), d, want_all, q.deadline)
                    .map_err(|e| match e {
                        SearchError::Timeout(_) => {
                            SearchError::Timeout(q.deadline.map_or(0, |d| {
                                d.saturating_duration_since(start).as_millis() as u64
                            }))
                        }
                        e => e,
                    })?;
                if let Some(all) = all {
                    facet_base = Some(all);
                }
                Some(hits)
            }
            None => None,
        };
        check_deadline(q.deadline, start)?;
        let sem_hits = match qvec {
            Some(v) => {
                let sem = self.semantic.read();
                let Semantic::Ready { vectors, .. } = &*sem else {
                    return Err(SearchError::SemanticUnavailable(
                        "semantic index unavailable".into(),
                    ));
                };
                let d = if lexical.is_some() {
                    depth.max(100)
                } else {
                    depth
                };
                let allow_ref = allow.as_ref();
                let hits = vectors.search(v, d, |k| match allow_ref {
                    Some(a) => a.contains(k),
                    None => st.alive.contains(k),
                })?;
                if q.facets {
                    facet_base = Some(allow.unwrap_or_else(|| st.alive.clone()));
                }
                Some(hits)
            }
            None => None,
        };
        let mut fused = match (text_hits, sem_hits) {
            (Some(t), None) => t,
            (None, Some(s)) => s,
            (Some(t), Some(s)) => {
                let lex = self.fusion.lexical_text(lexical.unwrap_or_default());
                let rule = self.fusion.resolve(&lex);
                fusion::fuse(&rule, &t, self.lexical_ceiling(&lex)?, &s)
            }
            (None, None) => Vec::new(),
        };
        fused.retain(|(_, k)| st.doc(*k).is_some());
        fused.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let rest = &fused[resume_at(&fused, q.cursor.as_ref())..];
        Ok(Page {
            more: rest.len() > limit && offset + limit < MAX_RANKED_DEPTH,
            hits: rest.iter().take(limit).copied().collect(),
            facet_base,
        })
    }
}

/// One page of (score, key) hits, whether more follow, and the key set facets count over.
#[derive(Debug)]
struct Page {
    hits: Vec<(f32, u32)>,
    more: bool,
    facet_base: Option<RoaringBitmap>,
}

/// An unranked page: keys of `base` in ascending order, strictly after the cursor's key,
/// every score 1.0.
fn unranked_page(base: &RoaringBitmap, q: &Query, limit: usize) -> Page {
    let after = q.cursor.as_ref().map(|c| c.key);
    let mut it = base.iter();
    if let Some(a) = after {
        it.advance_to(a.saturating_add(1));
    }
    let mut hits: Vec<(f32, u32)> = it
        .filter(|k| after.is_none_or(|a| *k > a))
        .take(limit + 1)
        .map(|k| (1.0, k))
        .collect();
    let more = hits.len() > limit;
    hits.truncate(limit);
    Page {
        hits,
        more,
        facet_base: q.facets.then(|| base.clone()),
    }
}

/// Where a ranked list (sorted by score descending, then key ascending) resumes after
/// `cursor`: the first entry strictly after its (score, key) position.
fn resume_at(ranked: &[(f32, u32)], cursor: Option<&Cursor>) -> usize {
    match cursor {
        Some(c) => {
            let cs = c.score.unwrap_or(f32::INFINITY);
            ranked
                .iter()
                .position(|(s, k)| *s < cs || (*s == cs && *k > c.key))
                .unwrap_or(ranked.len())
        }
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(score: Option<f32>, key: u32) -> Cursor {
        Cursor {
            fingerprint: 0,
            offset: 0,
            score,
            key,
        }
    }

    fn pages(base: &RoaringBitmap, limit: usize) -> Vec<Vec<u32>> {
        let mut q = Query::new();
        let mut out = Vec::new();
        loop {
            let p = unranked_page(base, &q, limit);
            out.push(p.hits.iter().map(|(_, k)| *k).collect());
            if !p.more {
                return out;
            }
            let last = p
                .hits
                .last()
                .map(|(_, k)| *k)
                .unwrap_or_else(|| panic!("empty"));
            q.cursor = Some(cursor(None, last));
        }
    }

    #[test]
    fn unranked_pages_cover_every_key_once_in_order() {
        let base: RoaringBitmap = [0u32, 3, 4, 9, 10, 11, 500, u32::MAX].into_iter().collect();
        let p = pages(&base, 3);
        assert_eq!(p.len(), 3);
        assert_eq!(p.concat(), base.iter().collect::<Vec<_>>());
        let p = pages(&base, 8);
        assert_eq!(
            p,
            vec![base.iter().collect::<Vec<_>>()],
            "exactly one full page"
        );
    }

    #[test]
    fn an_unranked_cursor_is_stable_when_keys_change_around_it() {
        let mut base: RoaringBitmap = (0u32..10).collect();
        let mut q = Query::new();
        let first = unranked_page(&base, &q, 4);
        q.cursor = Some(cursor(None, 3));
        // A removal before the cursor and an insertion after it: the next page neither
        // repeats nor skips what it had not yet shown.
        base.remove(1);
        base.insert(20);
        let second = unranked_page(&base, &q, 4);
        assert_eq!(
            first.hits.iter().map(|h| h.1).collect::<Vec<_>>(),
            [0, 1, 2, 3]
        );
        assert_eq!(
            second.hits.iter().map(|h| h.1).collect::<Vec<_>>(),
            [4, 5, 6, 7]
        );
        q.cursor = Some(cursor(None, u32::MAX));
        assert!(unranked_page(&base, &q, 4).hits.is_empty());
    }

    #[test]
    fn a_ranked_cursor_resumes_strictly_after_its_score_and_key() {
        // Sorted by score descending, ties by key ascending.
        let ranked = [(3.0, 7), (2.0, 1), (2.0, 4), (2.0, 9), (1.0, 0)];
        assert_eq!(resume_at(&ranked, None), 0);
        assert_eq!(resume_at(&ranked, Some(&cursor(Some(2.0), 4))), 3);
        assert_eq!(resume_at(&ranked, Some(&cursor(Some(2.0), 9))), 4);
        // The cursor's own item disappeared: resume at the next position, not the start.
        assert_eq!(resume_at(&ranked, Some(&cursor(Some(2.0), 2))), 2);
        assert_eq!(resume_at(&ranked, Some(&cursor(Some(0.5), 0))), 5);
    }
}
