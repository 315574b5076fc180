//! The full-text side of the index (tantivy): BM25 over name, description and skills, with
//! prefix and typo tolerance. It also holds, as stored fields, the compact form of every
//! indexed agent and its embedding, so the whole index reloads from this one directory.

use std::collections::{BinaryHeap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use roaring::RoaringBitmap;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::query::{BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer,
};
use tantivy::{
    DocId, Index, IndexReader, IndexWriter, ReloadPolicy, Score, SegmentReader, TantivyDocument,
    Term,
};

use crate::error::{SearchError, SearchResult};

const TOKENIZER: &str = "agentry_en";

/// Field handles of the schema.
#[derive(Clone, Copy)]
pub(crate) struct Fields {
    pub key: Field,
    pub name: Field,
    pub description: Field,
    pub skills: Field,
    pub payload: Field,
    pub vector: Field,
}

/// What one agent contributes to the full-text index.
pub(crate) struct TextDoc {
    pub key: u32,
    pub name: String,
    pub description: String,
    pub skills: String,
    pub payload: Vec<u8>,
    pub vector: Option<Vec<u8>>,
}

/// One change to the full-text index; a batch of them is applied in order and committed once.
pub(crate) enum TextOp {
    Delete(u32),
    Add(TextDoc),
}

pub(crate) struct TextIndex {
    /// Kept so the index (and its tokenizer registry) lives as long as its reader and writer.
    _index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    pub fields: Fields,
}

/// Most words a prefix expands to: the ones in the most documents, as a search engine's
/// "top terms" rewrite does.
const PREFIX_TERMS: usize = 32;

/// Indexed words of `field` that start with `prefix` (and are longer than it), the
/// [`PREFIX_TERMS`] in the most documents, summed over segments.
fn prefix_terms(
    searcher: &tantivy::Searcher,
    field: tantivy::schema::Field,
    prefix: &str,
) -> SearchResult<Vec<String>> {
    let mut freq: HashMap<String, u64> = HashMap::new();
    for seg in searcher.segment_readers() {
        let inverted = seg.inverted_index(field)?;
        let mut stream = inverted
            .terms()
            .range()
            .gt(prefix.as_bytes())
            .into_stream()?;
        while stream.advance() {
            let Ok(word) = std::str::from_utf8(stream.key()) else {
                continue;
            };
            if !word.starts_with(prefix) {
                break;
            }
            *freq.entry(word.to_owned()).or_default() += u64::from(stream.value().doc_freq);
        }
    }
    let mut words: Vec<(u64, String)> = freq.into_iter().map(|(w, f)| (f, w)).collect();
    words.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    words.truncate(PREFIX_TERMS);
    Ok(words.into_iter().map(|(_, w)| w).collect())
}

fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(Stemmer::new(Language::English))
        .build()
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let key = b.add_u64_field("key", INDEXED | FAST | STORED);
    let name = b.add_text_field("name", text.clone());
    let description = b.add_text_field("description", text.clone());
    let skills = b.add_text_field("skills", text);
    let payload = b.add_bytes_field("payload", STORED);
    let vector = b.add_bytes_field("vector", STORED);
    (
        b.build(),
        Fields {
            key,
            name,
            description,
            skills,
            payload,
            vector,
        },
    )
}

/// Field boosts: a word in the name says more than one in a skill description.
const BOOSTS: [(usize, f32); 3] = [(0, 3.0), (1, 1.0), (2, 1.5)];

impl TextIndex {
    /// Open or create the index under `dir`. `writer_memory` bounds the indexing arena.
    pub fn open(dir: &Path, writer_memory: usize) -> SearchResult<TextIndex> {
        std::fs::create_dir_all(dir)?;
        let (schema, fields) = schema();
        let mmap = tantivy::directory::MmapDirectory::open(dir)?;
        let index = Index::open_or_create(mmap, schema.clone())?;
        if index.schema() != schema {
            return Err(SearchError::Corrupt(format!(
                "full-text index at {} has another schema; run `agentry reindex`",
                dir.display()
            )));
        }
        index.tokenizers().register(TOKENIZER, analyzer());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let writer = index.writer_with_num_threads(1, writer_memory.max(15_000_000))?;
        Ok(TextIndex {
            _index: index,
            reader,
            writer: Mutex::new(writer),
            fields,
        })
    }

    /// Apply `ops` in order, commit once, and make the change visible to searches. A failed
    /// commit is rolled back: nothing of `ops` stays staged in the writer.
    pub fn apply(&self, ops: Vec<TextOp>) -> SearchResult<()> {
        let mut w = self.writer.lock();
        let staged = (|| -> SearchResult<()> {
            for op in ops {
                match op {
                    TextOp::Delete(k) => {
                        w.delete_term(Term::from_field_u64(self.fields.key, u64::from(k)));
                    }
                    TextOp::Add(d) => {
                        let mut doc = TantivyDocument::default();
                        doc.add_u64(self.fields.key, u64::from(d.key));
                        doc.add_text(self.fields.name, &d.name);
                        doc.add_text(self.fields.description, &d.description);
                        doc.add_text(self.fields.skills, &d.skills);
                        doc.add_bytes(self.fields.payload, &d.payload);
                        if let Some(v) = &d.vector {
                            doc.add_bytes(self.fields.vector, v);
                        }
                        w.add_document(doc)?;
                    }
                }
            }
            w.commit()?;
            Ok(())
        })();
        if let Err(e) = staged {
            if let Err(re) = w.rollback() {
                tracing::error!(error = %re, "rolling back the full-text writer failed");
            }
            return Err(e);
        }
        drop(w);
        self.reader.reload()?;
        Ok(())
    }

    /// Remove every document (start of a rebuild).
    pub fn clear(&self) -> SearchResult<()> {
        let mut w = self.writer.lock();
        w.delete_all_documents()?;
        w.commit()?;
        drop(w);
        self.reader.reload()?;
        Ok(())
    }

    /// Visit every live document's key, payload and vector bytes (index load).
    pub fn for_each_stored(
        &self,
        mut f: impl FnMut(u32, &[u8], Option<&[u8]>) -> SearchResult<()>,
    ) -> SearchResult<()> {
        let searcher = self.reader.searcher();
        for (ord, seg) in searcher.segment_readers().iter().enumerate() {
            let store = seg.get_store_reader(64)?;
            let alive = seg.alive_bitset();
            for doc in 0..seg.max_doc() {
                if alive.is_some_and(|a| !a.is_alive(doc)) {
                    continue;
                }
                let d: TantivyDocument = store.get(doc)?;
                let key = d
                    .get_first(self.fields.key)
                    .and_then(|v| v.as_u64())
                    .and_then(|k| u32::try_from(k).ok());
                let payload = d.get_first(self.fields.payload).and_then(|v| v.as_bytes());
                let (Some(key), Some(payload)) = (key, payload) else {
                    return Err(SearchError::Corrupt(format!(
                        "document {doc} of segment {ord} lacks key or payload"
                    )));
                };
                let vector = d.get_first(self.fields.vector).and_then(|v| v.as_bytes());
                f(key, payload, vector)?;
            }
        }
        Ok(())
    }

    /// Build the BM25 query for `text`: every token in any field (OR), the last token also as a
    /// prefix, and tokens absent from the index also within one edit (two for long tokens).
    fn build_query(&self, text: &str) -> SearchResult<Option<Box<dyn Query>>> {
        let searcher = self.reader.searcher();
        let fields = [
            self.fields.name,
            self.fields.description,
            self.fields.skills,
        ];
        let mut analyzer = analyzer();
        let mut tokens: Vec<(String, String)> = Vec::new(); // (stemmed, lowercased raw)
        {
            let mut raw = SimpleTokenizer::default();
            let mut raw_tokens = Vec::new();
            {
                use tantivy::tokenizer::{TokenStream, Tokenizer};
                let mut s = raw.token_stream(text);
                while s.advance() {
                    raw_tokens.push(s.token().text.to_lowercase());
                }
            }
            for r in raw_tokens.into_iter().take(32) {
                use tantivy::tokenizer::TokenStream;
                let stem = {
                    let mut s = analyzer.token_stream(&r);
                    s.advance().then(|| s.token().text.clone())
                };
                if let Some(stem) = stem {
                    tokens.push((stem, r));
                }
            }
        }
        if tokens.is_empty() {
            return Ok(None);
        }
        let ends_in_word = text.chars().last().is_some_and(|c| c.is_alphanumeric());
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let last = tokens.len() - 1;
        for (i, (stem, raw)) in tokens.iter().enumerate() {
            let mut known = false;
            for &(fi, boost) in &BOOSTS {
                let term = Term::from_field_text(fields[fi], stem);
                if searcher.doc_freq(&term)? > 0 {
                    known = true;
                    let q: Box<dyn Query> =
                        Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs));
                    clauses.push((Occur::Should, Box::new(BoostQuery::new(q, boost))));
                }
            }
            let chars = raw.chars().count();
            if i == last && ends_in_word && chars >= 3 {
                // The words the last token may be the start of, as plain term queries: a
                // prefix automaton is not a term scorer, and one such clause makes tantivy
                // give up block-max WAND pruning for the whole query.
                for &(fi, boost) in &BOOSTS {
                    for word in prefix_terms(&searcher, fields[fi], raw)? {
                        let term = Term::from_field_text(fields[fi], &word);
                        let q: Box<dyn Query> =
                            Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs));
                        clauses.push((Occur::Should, Box::new(BoostQuery::new(q, boost * 0.5))));
                    }
                }
            }
            if !known && chars >= 4 {
                // Typos are matched against the stemmed vocabulary, so the stem of the typo
                // is what is compared ("objetcs" → "objetc" ~ "object").
                let distance = if chars >= 8 { 2 } else { 1 };
                for &(fi, boost) in &BOOSTS {
                    let term = Term::from_field_text(fields[fi], stem);
                    let q: Box<dyn Query> = Box::new(FuzzyTermQuery::new(term, distance, true));
                    clauses.push((Occur::Should, Box::new(BoostQuery::new(q, boost * 0.5))));
                }
            }
        }
        if clauses.is_empty() {
            return Ok(None);
        }
        Ok(Some(Box::new(BooleanQuery::new(clauses))))
    }

    /// The BM25 score a document would get for matching every word of `text` once, each in
    /// its best field at average length: `Σ max_field(boost · idf)` over the query's distinct
    /// indexed words (tantivy's idf; `tf / (tf + k1 · norm)` is `1 / (1 + k1)` at tf 1 and
    /// average length, which cancels BM25's `(1 + k1)`). Hybrid fusion divides by it, so a
    /// document matching one word of six counts for about a sixth however the list ranks it.
    /// 0 when no word of `text` is indexed.
    pub fn score_ceiling(&self, text: &str) -> SearchResult<f32> {
        use tantivy::tokenizer::{TokenStream, Tokenizer};
        let searcher = self.reader.searcher();
        let n = searcher.num_docs();
        let fields = [
            self.fields.name,
            self.fields.description,
            self.fields.skills,
        ];
        let mut analyzer = analyzer();
        let mut raw = SimpleTokenizer::default();
        let mut words: Vec<String> = Vec::new();
        let mut s = raw.token_stream(text);
        while s.advance() {
            let r = s.token().text.to_lowercase();
            let mut st = analyzer.token_stream(&r);
            if st.advance() && !words.contains(&st.token().text) {
                words.push(st.token().text.clone());
            }
        }
        let mut ceiling = 0.0f32;
        for w in words.iter().take(32) {
            let mut best = 0.0f32;
            for &(fi, boost) in &BOOSTS {
                let df = searcher.doc_freq(&Term::from_field_text(fields[fi], w))?;
                if df > 0 && n >= df {
                    let x = ((n - df) as f32 + 0.5) / (df as f32 + 0.5);
                    best = best.max(boost * (1.0 + x).ln());
                }
            }
            ceiling += best;
        }
        Ok(ceiling)
    }

    /// The `depth` best (score, key) pairs for `text` among keys passing `allow` (all when
    /// `None`), best first with ties broken by key; and, when `want_all`, every matching key.
    pub fn search(
        &self,
        text: &str,
        allow: Option<Arc<RoaringBitmap>>,
        depth: usize,
        want_all: bool,
        deadline: Option<Instant>,
    ) -> SearchResult<TextHits> {
        let Some(query) = self.build_query(text)? else {
            return Ok((Vec::new(), want_all.then(RoaringBitmap::new)));
        };
        let searcher = self.reader.searcher();
        let collector = KeyTopCollector {
            depth,
            allow,
            want_all,
            deadline,
        };
        let (top, all, timed_out) = searcher.search(query.as_ref(), &collector)?;
        if timed_out {
            return Err(SearchError::Timeout(0));
        }
        Ok((top, all))
    }

    /// Bytes on disk.
    pub fn disk_bytes(dir: &Path) -> u64 {
        fn walk(p: &Path) -> u64 {
            let Ok(rd) = std::fs::read_dir(p) else {
                return 0;
            };
            rd.flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => walk(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        }
        walk(dir)
    }
}

/// Best (score, key) pairs, best first, and optionally every matching key.
pub(crate) type TextHits = (Vec<(f32, u32)>, Option<RoaringBitmap>);

/// Heap entry ordered so that the *worst* hit is on top (min-heap on score, then max key).
#[derive(PartialEq)]
struct Hit(f32, u32);
impl Eq for Hit {}
impl PartialOrd for Hit {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Hit {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        // "Greater" = worse: lower score, or equal score and larger key.
        o.0.total_cmp(&self.0).then(self.1.cmp(&o.1))
    }
}

/// Collects the best hits by (score desc, key asc), filtered by an allowed-key bitmap, reading
/// keys from the fast field; optionally every matching key (for facets).
struct KeyTopCollector {
    depth: usize,
    allow: Option<Arc<RoaringBitmap>>,
    want_all: bool,
    deadline: Option<Instant>,
}

struct KeyTopSegment {
    keys: tantivy::columnar::Column<u64>,
    depth: usize,
    allow: Option<Arc<RoaringBitmap>>,
    heap: BinaryHeap<Hit>,
    all: Option<RoaringBitmap>,
    deadline: Option<Instant>,
    seen: u32,
    timed_out: bool,
}

impl Collector for KeyTopCollector {
    type Fruit = (Vec<(f32, u32)>, Option<RoaringBitmap>, bool);
    type Child = KeyTopSegment;

    fn for_segment(&self, _ord: u32, seg: &SegmentReader) -> tantivy::Result<KeyTopSegment> {
        Ok(KeyTopSegment {
            keys: seg.fast_fields().u64("key")?,
            depth: self.depth,
            allow: self.allow.clone(),
            heap: BinaryHeap::with_capacity(self.depth + 1),
            all: self.want_all.then(RoaringBitmap::new),
            deadline: self.deadline,
            seen: 0,
            timed_out: false,
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    /// With a bounded top-k and no need for every match, let the scorer skip documents that
    /// cannot beat the current k-th score (block-max WAND), as tantivy's own `TopDocs` does.
    fn collect_segment(
        &self,
        weight: &dyn tantivy::query::Weight,
        segment_ord: u32,
        reader: &SegmentReader,
    ) -> tantivy::Result<<KeyTopSegment as SegmentCollector>::Fruit> {
        let mut seg = self.for_segment(segment_ord, reader)?;
        let alive = reader.alive_bitset();
        if self.want_all || self.depth == 0 {
            weight.for_each(reader, &mut |doc, score| {
                if alive.is_none_or(|a| a.is_alive(doc)) {
                    seg.collect(doc, score);
                }
            })?;
        } else {
            weight.for_each_pruning(Score::MIN, reader, &mut |doc, score| {
                if alive.is_none_or(|a| a.is_alive(doc)) {
                    seg.collect(doc, score);
                }
                if seg.timed_out {
                    // Nothing can beat an infinite threshold: the scorer stops early.
                    return Score::INFINITY;
                }
                if seg.heap.len() >= seg.depth {
                    seg.heap.peek().map_or(Score::MIN, |h| h.0)
                } else {
                    Score::MIN
                }
            })?;
        }
        Ok(seg.harvest())
    }

    fn merge_fruits(
        &self,
        fruits: Vec<(Vec<(f32, u32)>, Option<RoaringBitmap>, bool)>,
    ) -> tantivy::Result<Self::Fruit> {
        let mut top = Vec::new();
        let mut all = self.want_all.then(RoaringBitmap::new);
        let mut timed_out = false;
        for (t, a, to) in fruits {
            top.extend(t);
            if let (Some(all), Some(a)) = (all.as_mut(), a) {
                *all |= a;
            }
            timed_out |= to;
        }
        top.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        top.truncate(self.depth);
        Ok((top, all, timed_out))
    }
}

impl SegmentCollector for KeyTopSegment {
    type Fruit = (Vec<(f32, u32)>, Option<RoaringBitmap>, bool);

    fn collect(&mut self, doc: DocId, score: Score) {
        if self.timed_out {
            return;
        }
        self.seen = self.seen.wrapping_add(1);
        if self.seen.is_multiple_of(4096) && self.deadline.is_some_and(|d| Instant::now() > d) {
            self.timed_out = true;
            return;
        }
        let Some(key) = self.keys.first(doc).and_then(|k| u32::try_from(k).ok()) else {
            return;
        };
        if let Some(allow) = &self.allow
            && !allow.contains(key)
        {
            return;
        }
        if let Some(all) = &mut self.all {
            all.insert(key);
        }
        if self.depth == 0 {
            return;
        }
        if self.heap.len() < self.depth {
            self.heap.push(Hit(score, key));
        } else if let Some(worst) = self.heap.peek()
            && Hit(score, key) < *worst
        {
            self.heap.pop();
            self.heap.push(Hit(score, key));
        }
    }

    fn harvest(self) -> Self::Fruit {
        let top = self.heap.into_iter().map(|h| (h.0, h.1)).collect();
        (top, self.all, self.timed_out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full-text index of `(key, description)` documents.
    fn index_of(docs: &[(u32, &str)]) -> (tempfile::TempDir, TextIndex) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let idx = TextIndex::open(dir.path(), 20 << 20).unwrap_or_else(|e| panic!("{e}"));
        let ops = docs
            .iter()
            .map(|(k, d)| {
                TextOp::Add(TextDoc {
                    key: *k,
                    name: format!("agent{k}"),
                    description: (*d).to_owned(),
                    skills: String::new(),
                    payload: Vec::new(),
                    vector: None,
                })
            })
            .collect();
        idx.apply(ops).unwrap_or_else(|e| panic!("{e}"));
        (dir, idx)
    }

    fn found(idx: &TextIndex, text: &str) -> Vec<u32> {
        let (hits, _) = idx
            .search(text, None, 100, false, None)
            .unwrap_or_else(|e| panic!("{text}: {e}"));
        let mut keys: Vec<u32> = hits.into_iter().map(|(_, k)| k).collect();
        keys.sort_unstable();
        keys
    }

    #[test]
    fn the_last_word_expands_as_a_prefix_from_three_letters() {
        let (_d, idx) = index_of(&[(1, "translates letters"), (2, "transforms images")]);
        assert_eq!(found(&idx, "transl"), vec![1]);
        assert_eq!(found(&idx, "tran"), vec![1, 2]);
        assert!(found(&idx, "tr").is_empty(), "two letters do not expand");
        // Only the word being typed expands: `tran` followed by more words is a whole word.
        assert!(found(&idx, "tran zzz").is_empty());
        // A finished word (trailing space or punctuation) does not expand.
        assert!(found(&idx, "transl ").is_empty());
    }

    #[test]
    fn a_prefix_expands_to_the_words_in_the_most_documents() {
        let searcher = |idx: &TextIndex| idx.reader.searcher();
        let mut docs: Vec<(u32, String)> = Vec::new();
        // `pre0` … `pre39`: word i is in i + 1 documents.
        let mut key = 0;
        for i in 0..40u32 {
            for _ in 0..=i {
                docs.push((key, format!("pre{i}")));
                key += 1;
            }
        }
        let refs: Vec<(u32, &str)> = docs.iter().map(|(k, d)| (*k, d.as_str())).collect();
        let (_d, idx) = index_of(&refs);
        let words = prefix_terms(&searcher(&idx), idx.fields.description, "pre")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(words.len(), PREFIX_TERMS);
        let want: Vec<String> = (8..40u32).rev().map(|i| format!("pre{i}")).collect();
        assert_eq!(words, want);
    }

    #[test]
    fn unknown_words_match_within_one_edit_or_two_when_long() {
        let (_d, idx) = index_of(&[
            (1, "detects objects in photos"),
            (2, "summarises quarterly statements"),
        ]);
        assert_eq!(found(&idx, "objetcs"), vec![1], "one transposition");
        assert_eq!(found(&idx, "quartarly"), vec![2]);
        assert_eq!(
            found(&idx, "staetmentz"),
            vec![2],
            "two edits in a long word"
        );
        assert!(found(&idx, "objxxcs").is_empty(), "three edits");
        assert!(found(&idx, "fotos").is_empty(), "two edits in a short word");
    }

    #[test]
    fn short_unknown_words_are_not_fuzzy_and_known_words_only_exact() {
        let (_d, idx) = index_of(&[(1, "cat"), (2, "car"), (3, "cart")]);
        // `cot` (three letters) is one edit from `cat` but too short for typo tolerance.
        assert!(found(&idx, "cot ").is_empty());
        // `car` is a known word: no typo clause adds `cat` or `cart`.
        assert_eq!(found(&idx, "car "), vec![2]);
    }
}
