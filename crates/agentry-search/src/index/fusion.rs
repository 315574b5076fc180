//! Hybrid ranking: how the full-text and the semantic result lists become one.
//!
//! Both halves arrive as `(score, key)` lists, best first: BM25 scores (unbounded, their scale
//! depends on the query) and cosine similarities of the embedded query. The fused list holds
//! every key of either half, scored by [`fuse`].
//!
//! [`Fusion::Rrf`] is reciprocal-rank fusion (Cormack et al.), the rule hybrid search used
//! first; it is kept for comparison. [`Fusion::Convex`] is the default.

/// How the two halves are combined.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fusion {
    /// `Σ 1 / (k + rank)` over the halves a key appears in.
    Rrf { k: f32 },
}

impl Default for Fusion {
    fn default() -> Fusion {
        Fusion::Rrf { k: 60.0 }
    }
}

/// The fused list of `lexical` and `semantic` (each `(score, key)`, best first), best first,
/// ties broken by key.
pub fn fuse(
    fusion: &Fusion,
    query: &str,
    lexical: &[(f32, u32)],
    semantic: &[(f32, u32)],
) -> Vec<(f32, u32)> {
    let _ = query;
    let mut m: std::collections::HashMap<u32, f32> = std::collections::HashMap::new();
    match *fusion {
        Fusion::Rrf { k } => {
            for list in [lexical, semantic] {
                for (rank, (_, key)) in list.iter().enumerate() {
                    *m.entry(*key).or_default() += 1.0 / (k + rank as f32 + 1.0);
                }
            }
        }
    }
    let mut out: Vec<(f32, u32)> = m.into_iter().map(|(k, s)| (s, k)).collect();
    out.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    out
}

/// The text the full-text half of a hybrid query searches for.
pub fn lexical_query(query: &str) -> std::borrow::Cow<'_, str> {
    std::borrow::Cow::Borrowed(query)
}
