//! The agentry web UI's pages, rendered on the server with [maud].
//!
//! I/O-free: every view takes a plain view-model struct (filled by `agentry-server`'s `ui`
//! module from the same code the REST API runs) and returns [`Markup`]. maud escapes every
//! interpolated string, so text from records (descriptions, skill names, schemas) is shown,
//! never executed. The pages need no JavaScript, load nothing from elsewhere (one stylesheet,
//! [`CSS`], served by the pod) and work under a `default-src 'none'` CSP ([`CSP`]).

mod query;
mod views;

pub use maud::{Markup, PreEscaped};
pub use query::{Filters, encode_component};
pub use views::*;

/// The one stylesheet.
pub const CSS: &str = include_str!("style.css");

/// A fingerprint of [`CSS`] (FNV-1a), put in its URL so that it can be cached forever.
pub const CSS_VERSION: u64 = fnv1a(CSS.as_bytes());

/// Where the pages link the stylesheet from (the server routes `/ui/style.css`).
pub const CSS_PATH: &str = "/ui/style.css";

/// The Content-Security-Policy every UI answer carries: nothing but the pod's own stylesheet
/// and inline `data:` images; no scripts at all; forms post only to the pod; no framing.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                       form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    h
}
