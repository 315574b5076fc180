//! Hybrid ranking: how the full-text and the semantic result lists become one.
//!
//! Both halves arrive as `(score, key)` lists, best first: BM25 scores (unbounded; their scale
//! depends on the query and the corpus) and cosine similarities of the embedded query (bounded,
//! comparable across queries). The fused list holds every key of either half.
//!
//! The default, [`Fusion::Convex`], is a score-normalised convex combination (Bruch, Gai and
//! Ingber, "An Analysis of Fusion Functions for Hybrid Retrieval", 2023, found it both better
//! and more sample-efficient to tune than reciprocal-rank fusion):
//!
//! ```text
//! score = w · cos + (1 − w) · lex      lex = max(0, (min(1, bm25 / ceiling) − τ) / (1 − τ))
//! ```
//!
//! * The cosine is used as it is: its range is the same for every query.
//! * BM25 is divided by the query's *ceiling*, what a document matching every word of the
//!   query once would score ([`SearchIndex::lexical_ceiling`](super::SearchIndex::lexical_ceiling)),
//!   not by the list's best score: dividing by the best score gives the top lexical hit full
//!   marks even when it matched one word of a six-word question, and that is what made hybrid
//!   lose to semantic alone. `bm25 / ceiling` is about the share of the query a document
//!   matches.
//! * A key only one half returned gets the other half's floor: 0 for BM25, and for the cosine
//!   the lowest one the semantic list holds (the key's own is no higher).
//! * That share counts only above `τ` (`min_match`, a search engine's minimum-should-match):
//!   a document matching less than half of the query gets no lexical credit at all.
//! * Before the lexical half runs, the query loses its stop words ([`lexical_query`]).
//!
//! * The lexical weight `1 − w` depends on the query's length ([`Fusion::LengthAware`], the
//!   default): `0.2 / n` for a lexical query of `n` words. "redis" is a lookup by name, where
//!   BM25 is the better judge (0.2); "let my helper retain facts about me between sessions"
//!   (5 words once stop words are out) describes a need, where the embedding is (0.04).
//!
//! `0.2` and `τ` = 0.5 were chosen on the tune half of the relevance benchmark
//! (`bench/relevance`, `SWEEP=1`) as the most lexical weight that loses nothing to semantic
//! alone on the paraphrase queries there; more (0.3) loses one paraphrase at recall@5
//! (BENCHMARKS.md §7).
//!
//! [`Fusion::Rrf`] (reciprocal-rank fusion, Cormack et al.) was hybrid search's first rule; it
//! is kept for comparison. On natural-language queries it ranks a document that is mediocre in
//! both halves above the semantic half's clear winner, because it ignores how far apart the
//! scores are (`BENCHMARKS.md`, relevance).

use std::borrow::Cow;
use std::collections::HashMap;

/// How the two halves are combined.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fusion {
    /// `Σ 1 / (k + rank)` over the halves a key appears in.
    Rrf { k: f32 },
    /// `semantic · cos + (1 − semantic) · lex`, where `lex` is BM25 over the query's ceiling,
    /// counted only above `min_match` (the share of the query a document must match before
    /// its lexical score counts, as a search engine's minimum-should-match) and rescaled to
    /// 0..1 from there.
    Convex { semantic: f32, min_match: f32 },
    /// [`Fusion::Convex`] with the lexical weight set per query from its length: `lexical / n`
    /// (at most 1) for a lexical query of `n` words ([`Fusion::resolve`]). A one- or two-word
    /// query names what it wants and BM25 is the better judge of that; a sentence describes
    /// it, and the embedding is. Fused without a query ([`fuse`]), `n` is taken as 1.
    LengthAware { lexical: f32, min_match: f32 },
}

/// The lexical weight of a one-word query under the default rule (tuned on the tune half,
/// `bench/relevance`); a query of `n` words gets `DEFAULT_LEXICAL_WEIGHT / n`.
pub const DEFAULT_LEXICAL_WEIGHT: f32 = 0.2;
/// The share of the lexical query a document must match before its BM25 counts.
pub const DEFAULT_MIN_MATCH: f32 = 0.5;

impl Fusion {
    /// The rule for one query whose lexical half searches `lexical_text`: a
    /// [`Fusion::LengthAware`] rule becomes the [`Fusion::Convex`] rule for its length.
    pub fn resolve(&self, lexical_text: &str) -> Fusion {
        match *self {
            Fusion::LengthAware { lexical, min_match } => {
                let n = lexical_text.split_whitespace().count().max(1) as f32;
                let l = if lexical.is_finite() {
                    (lexical / n).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                Fusion::Convex {
                    semantic: 1.0 - l,
                    min_match,
                }
            }
            other => other,
        }
    }

    /// The text this rule's full-text half searches for: [`lexical_query`] for the convex
    /// rule, the query unchanged for reciprocal-rank fusion (as it always ran).
    pub fn lexical_text<'q>(&self, query: &'q str) -> Cow<'q, str> {
        match self {
            Fusion::Rrf { .. } => Cow::Borrowed(query),
            Fusion::Convex { .. } | Fusion::LengthAware { .. } => lexical_query(query),
        }
    }
}

impl Default for Fusion {
    fn default() -> Fusion {
        Fusion::LengthAware {
            lexical: DEFAULT_LEXICAL_WEIGHT,
            min_match: DEFAULT_MIN_MATCH,
        }
    }
}

/// The fused list of `lexical` and `semantic` (each `(score, key)`, best first), best first,
/// ties broken by key. `ceiling` is what a document matching every word of the lexical query
/// would score ([`SearchIndex::lexical_ceiling`](super::SearchIndex::lexical_ceiling)); the
/// convex rule divides BM25 by it (capped at 1), or by the list's best score when it is not
/// positive. Non-finite scores count as absent.
pub fn fuse(
    fusion: &Fusion,
    lexical: &[(f32, u32)],
    ceiling: f32,
    semantic: &[(f32, u32)],
) -> Vec<(f32, u32)> {
    let mut m: HashMap<u32, f32> = HashMap::with_capacity(lexical.len() + semantic.len());
    let (w, tau) = match fusion.resolve("one") {
        Fusion::Rrf { k } => {
            for list in [lexical, semantic] {
                for (rank, (_, key)) in list.iter().enumerate() {
                    *m.entry(*key).or_default() += 1.0 / (k + rank as f32 + 1.0);
                }
            }
            (None, 0.0)
        }
        Fusion::Convex {
            semantic: w,
            min_match,
        } => (Some(w), min_match),
        // `resolve` never returns it; fused as semantic alone if it did.
        Fusion::LengthAware { min_match, .. } => (Some(1.0), min_match),
    };
    if let Some(w) = w {
        let min_match = tau;
        {
            let w = if w.is_finite() {
                w.clamp(0.0, 1.0)
            } else {
                1.0
            };
            let tau = if min_match.is_finite() {
                min_match.clamp(0.0, 0.99)
            } else {
                0.0
            };
            for (s, key) in semantic {
                let s = if s.is_finite() { *s } else { 0.0 };
                *m.entry(*key).or_default() += w * s;
            }
            // A key the semantic half did not return is at most as similar as the last one it
            // did: it is scored with that floor, not with 0 (which would sink a full name
            // match below every key of the semantic list).
            let floor = semantic
                .iter()
                .map(|(s, _)| *s)
                .filter(|s| s.is_finite())
                .fold(f32::INFINITY, f32::min);
            let floor = if floor.is_finite() { floor } else { 0.0 };
            for (_, key) in lexical {
                m.entry(*key).or_insert(w * floor);
            }
            let max = if ceiling.is_finite() && ceiling > 0.0 {
                ceiling
            } else {
                lexical
                    .iter()
                    .map(|(s, _)| *s)
                    .filter(|s| s.is_finite())
                    .fold(0.0f32, f32::max)
            };
            for (s, key) in lexical {
                // All-zero (or empty) lexical scores say nothing: every key keeps 0 there.
                let norm = if max > 0.0 && s.is_finite() {
                    (((s / max).clamp(0.0, 1.0) - tau) / (1.0 - tau)).max(0.0)
                } else {
                    0.0
                };
                *m.entry(*key).or_default() += (1.0 - w) * norm;
            }
        }
    }
    let mut out: Vec<(f32, u32)> = m.into_iter().map(|(k, s)| (s, k)).collect();
    out.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    out
}

/// English stop words: the Snowball project's English list as NLTK ships it (BSD-3-Clause),
/// without its contractions. tantivy's own English list is Lucene's 33 words, which keeps
/// "me", "my", "i", "what", "how" and "can": the words a person's question is made of.
const STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "me",
    "more",
    "most",
    "my",
    "myself",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "same",
    "she",
    "should",
    "so",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "very",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

/// The text the full-text half of a hybrid query searches for: the query without English stop
/// words ([`STOP_WORDS`]), lower-cased, words joined by spaces. A query of stop words only is
/// kept as it is, so it still finds what it names.
pub fn lexical_query(query: &str) -> Cow<'_, str> {
    use tantivy::tokenizer::{SimpleTokenizer, TokenStream, Tokenizer};
    let mut tok = SimpleTokenizer::default();
    let mut stream = tok.token_stream(query);
    let mut words: Vec<String> = Vec::new();
    let mut dropped = false;
    while stream.advance() {
        let w = stream.token().text.to_lowercase();
        if STOP_WORDS.binary_search(&w.as_str()).is_ok() {
            dropped = true;
        } else {
            words.push(w);
        }
    }
    if !dropped || words.is_empty() {
        return Cow::Borrowed(query);
    }
    let mut joined = words.join(" ");
    // A query typed up to a word boundary stays so (the last word is then not a prefix).
    if !query.chars().last().is_some_and(char::is_alphanumeric) {
        joined.push(' ');
    }
    Cow::Owned(joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(v: &[(f32, u32)]) -> Vec<u32> {
        v.iter().map(|(_, k)| *k).collect()
    }

    #[test]
    fn empty_halves_fuse_to_the_other_half() {
        let sem = [(0.9, 1), (0.5, 2)];
        let lex = [(7.0, 3), (2.0, 1)];
        for f in [Fusion::default(), Fusion::Rrf { k: 60.0 }] {
            assert_eq!(keys(&fuse(&f, &[], 0.0, &sem)), vec![1, 2]);
            assert_eq!(keys(&fuse(&f, &lex, 0.0, &[])), vec![3, 1]);
            assert!(fuse(&f, &[], 0.0, &[]).is_empty());
        }
    }

    #[test]
    fn all_equal_lexical_scores_neither_divide_by_zero_nor_reorder() {
        let sem = [(0.8, 5), (0.6, 4), (0.4, 3)];
        // Every lexical hit equal: each gets the same share, the semantic order stands.
        let lex = [(2.5, 3), (2.5, 4), (2.5, 5)];
        let out = fuse(&Fusion::default(), &lex, 0.0, &sem);
        assert_eq!(keys(&out), vec![5, 4, 3]);
        assert!(out.iter().all(|(s, _)| s.is_finite()));
        // All-zero lexical scores add nothing at all.
        let zero = [(0.0, 3), (0.0, 9)];
        let out = fuse(&Fusion::default(), &zero, 0.0, &sem);
        assert!(out.iter().all(|(s, _)| s.is_finite()));
        assert_eq!(keys(&out)[..3], [5, 4, 3]);
        // Non-finite scores count as absent rather than poisoning the sort.
        let bad = [(f32::NAN, 3), (f32::INFINITY, 4)];
        let out = fuse(&Fusion::default(), &bad, 0.0, &sem);
        assert!(out.iter().all(|(s, _)| s.is_finite()));
        assert_eq!(keys(&out), vec![5, 4, 3]);
    }

    /// The constructed case reciprocal-rank fusion gets wrong: the semantic half has a clear
    /// winner (cosine 0.62 against 0.30 and below) that shares no word with the query, and the
    /// lexical half is stop-word noise. Convex fusion keeps the winner first; RRF puts the key
    /// that is mediocre in both halves above it, below the better half.
    #[test]
    fn fusion_never_ranks_the_clear_winner_of_the_better_half_below_a_mediocre_key() {
        let sem = [(0.62, 1), (0.30, 2), (0.29, 3), (0.28, 4), (0.27, 5)];
        let lex = [(1.3, 4), (1.2, 6), (1.1, 7), (1.0, 2)];
        let convex = fuse(&Fusion::default(), &lex, 0.0, &sem);
        assert_eq!(convex[0].1, 1, "{convex:?}");
        let rrf = fuse(&Fusion::Rrf { k: 60.0 }, &lex, 0.0, &sem);
        assert_ne!(rrf[0].1, 1, "{rrf:?}");
        // And a key first in both halves is first fused, whatever the rule.
        let lex = [(9.0, 1), (1.0, 2)];
        for f in [
            Fusion::default(),
            Fusion::Rrf { k: 60.0 },
            Fusion::Convex {
                semantic: 0.0,
                min_match: 0.0,
            },
        ] {
            assert_eq!(fuse(&f, &lex, 0.0, &sem)[0].1, 1);
        }
    }

    /// With the query's ceiling, a document matching a sixth of the query gets no lexical
    /// credit (below `min_match`), and one matching all of it gets the full `1 − w`.
    #[test]
    fn partial_lexical_matches_below_min_match_count_nothing() {
        let sem = [(0.50, 1), (0.49, 2)];
        let ceiling = 12.0;
        let one_word = [(2.0, 2)];
        let rule = Fusion::Convex {
            semantic: 0.95,
            min_match: 0.5,
        };
        let out = fuse(&rule, &one_word, ceiling, &sem);
        assert_eq!(keys(&out), vec![1, 2]);
        assert!((out[1].0 - 0.95 * 0.49).abs() < 1e-6, "{out:?}");
        let every_word = [(12.0, 2)];
        let out = fuse(&rule, &every_word, ceiling, &sem);
        assert_eq!(keys(&out), vec![2, 1]);
        assert!((out[0].0 - (0.95 * 0.49 + 0.05)).abs() < 1e-6, "{out:?}");
    }

    /// The default rule weighs the lexical half by the query's length: a one-word query that
    /// fully matches lifts its match over a semantic lead of 0.1; in a five-word question the
    /// same full match does not outweigh it.
    #[test]
    fn lexical_weight_shrinks_with_query_length() {
        let f = Fusion::default();
        assert_eq!(
            f.resolve("redis"),
            Fusion::Convex {
                semantic: 0.8,
                min_match: DEFAULT_MIN_MATCH
            }
        );
        let five = f.resolve("helper retain facts between sessions");
        let Fusion::Convex { semantic, .. } = five else {
            panic!("{five:?}")
        };
        assert!((semantic - 0.96).abs() < 1e-6);
        let sem = [(0.60, 1), (0.50, 2)];
        let lex = [(4.0, 2)];
        assert_eq!(fuse(&f.resolve("redis"), &lex, 4.0, &sem)[0].1, 2);
        assert_eq!(fuse(&five, &lex, 4.0, &sem)[0].1, 1);
        // Reciprocal-rank fusion and explicit convex rules are their own resolution.
        let rrf = Fusion::Rrf { k: 60.0 };
        assert_eq!(rrf.resolve("anything at all"), rrf);
    }

    /// A full lexical match the semantic half did not return at all is scored with the
    /// semantic list's lowest cosine, not 0, so it can still rise above that list.
    #[test]
    fn a_key_missing_from_the_semantic_half_gets_its_floor() {
        let sem = [(0.40, 1), (0.35, 2), (0.30, 3)];
        let lex = [(4.0, 9)];
        let out = fuse(&Fusion::default().resolve("docker"), &lex, 4.0, &sem);
        assert_eq!(out[0].1, 9, "{out:?}");
        assert!((out[0].0 - (0.8 * 0.30 + 0.2)).abs() < 1e-6, "{out:?}");
    }

    #[test]
    fn weights_outside_the_unit_interval_are_clamped() {
        let sem = [(0.9, 1), (0.1, 2)];
        let lex = [(5.0, 2)];
        assert_eq!(
            fuse(
                &Fusion::Convex {
                    semantic: 7.0,
                    min_match: 0.0
                },
                &lex,
                0.0,
                &sem
            )[0]
            .1,
            1
        );
        assert_eq!(
            fuse(
                &Fusion::Convex {
                    semantic: -1.0,
                    min_match: 0.0
                },
                &lex,
                0.0,
                &sem
            )[0]
            .1,
            2
        );
        assert_eq!(
            fuse(
                &Fusion::Convex {
                    semantic: f32::NAN,
                    min_match: 0.0
                },
                &lex,
                0.0,
                &sem
            )[0]
            .1,
            1
        );
    }

    #[test]
    fn stop_word_list_is_sorted_for_binary_search() {
        assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn stop_words_leave_the_lexical_query() {
        assert_eq!(
            lexical_query("Find me a server that can read my calendar"),
            "find server read calendar"
        );
        // Nothing to drop: the query is kept verbatim (prefix behaviour unchanged).
        assert_eq!(lexical_query("pdf merg"), "pdf merg");
        // Only stop words: kept, so the query still finds what it names.
        assert_eq!(lexical_query("the"), "the");
        // A trailing boundary stays a boundary.
        assert_eq!(lexical_query("the weather "), "weather ");
        assert_eq!(lexical_query(""), "");
    }
}
