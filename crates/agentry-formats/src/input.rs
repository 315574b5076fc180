//! Turning untrusted bytes into a JSON value, safely.
//!
//! Every reader goes through here, so the limits live in one place: a size cap, strict UTF-8,
//! a nesting-depth cap, duplicate keys refused (serde_json and YAML loaders silently keep the
//! last one, which lets two tools read one document differently), and YAML alias expansion
//! bounded by the size of the document itself (the "billion laughs" bomb expands a few hundred
//! bytes into billions of nodes).

use std::cell::{Cell, RefCell};
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Limits applied while parsing a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest document accepted, in bytes.
    pub max_bytes: usize,
    /// Deepest nesting of objects and arrays accepted.
    pub max_depth: usize,
    /// Most nodes (scalars, arrays, objects) one document may produce. YAML aliases are
    /// additionally capped relative to the document size, see [`Limits::alias_budget`].
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 4 * 1024 * 1024,
            max_depth: 64,
            max_nodes: 1_000_000,
        }
    }
}

impl Limits {
    /// Nodes a document of `len` bytes may produce. A document without aliases produces at
    /// most one node per byte or so, so anything far beyond that came from alias expansion.
    fn node_budget(&self, len: usize) -> usize {
        self.max_nodes
            .min(len.saturating_mul(2).saturating_add(1024))
    }
}

/// The surface syntax of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Syntax {
    Json,
    Yaml,
}

/// Why bytes could not be turned into a JSON value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("document is {size} bytes; the limit is {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("document is empty")]
    Empty,
    #[error("document is not valid UTF-8 (invalid byte at offset {offset})")]
    NotUtf8 { offset: usize },
    #[error("duplicate key {key:?} at {pointer}")]
    DuplicateKey { key: String, pointer: String },
    #[error("nesting deeper than {limit} levels at {pointer}")]
    TooDeep { limit: usize, pointer: String },
    #[error(
        "document expands to more than {limit} nodes (a YAML alias bomb or an oversized document)"
    )]
    TooManyNodes { limit: usize },
    #[error("invalid {syntax}: {message}")]
    Syntax {
        syntax: &'static str,
        message: String,
    },
}

impl InputError {
    /// JSON pointer of the offending place, when known.
    pub fn pointer(&self) -> &str {
        match self {
            InputError::DuplicateKey { pointer, .. } | InputError::TooDeep { pointer, .. } => {
                pointer
            }
            _ => "",
        }
    }
}

/// Parses `bytes` as JSON or YAML (chosen by content: a document starting with `{` or `[` is
/// JSON), applying `limits`. A YAML stream of several documents is refused here; see
/// [`parse_stream`].
pub fn parse(bytes: &[u8], limits: &Limits) -> Result<(Value, Syntax), InputError> {
    let (mut docs, syntax) = parse_stream(bytes, limits)?;
    if docs.len() != 1 {
        return Err(InputError::Syntax {
            syntax: "YAML",
            message: format!("expected one document, found {}", docs.len()),
        });
    }
    Ok((docs.remove(0), syntax))
}

/// Parses `bytes` as one JSON value or a stream of YAML documents (`---` separated; empty
/// documents skipped), applying `limits` to the whole stream.
pub fn parse_stream(bytes: &[u8], limits: &Limits) -> Result<(Vec<Value>, Syntax), InputError> {
    let text = decode(bytes, limits)?;
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(InputError::Empty);
    }
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        parse_json_str(text, limits).map(|v| (vec![v], Syntax::Json))
    } else {
        let docs = parse_yaml_stream(text, limits)?;
        if docs.is_empty() {
            return Err(InputError::Empty);
        }
        Ok((docs, Syntax::Yaml))
    }
}

/// Checks size and UTF-8 and strips a byte-order mark.
pub fn decode<'a>(bytes: &'a [u8], limits: &Limits) -> Result<&'a str, InputError> {
    if bytes.len() > limits.max_bytes {
        return Err(InputError::TooLarge {
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| InputError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}

/// Parses JSON text strictly (duplicate keys refused, depth capped).
pub fn parse_json_str(text: &str, limits: &Limits) -> Result<Value, InputError> {
    let state = State::new(limits, text.len());
    let mut de = serde_json::Deserializer::from_str(text);
    // Our own depth cap is lower than serde_json's, so its recursion limit never fires first.
    let out = ValueSeed {
        state: &state,
        depth: 0,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v));
    out.map_err(|e| state.into_error(e.to_string(), "JSON"))
}

/// Parses a YAML stream strictly (duplicate keys refused, depth capped, alias expansion
/// bounded over the whole stream). Empty documents are skipped.
pub fn parse_yaml_stream(text: &str, limits: &Limits) -> Result<Vec<Value>, InputError> {
    let state = State::new(limits, text.len());
    let mut out = Vec::new();
    for de in serde_norway::Deserializer::from_str(text) {
        let v = ValueSeed {
            state: &state,
            depth: 0,
        }
        .deserialize(de);
        match v {
            Ok(Value::Null) => {}
            Ok(v) => out.push(v),
            Err(e) => return Err(state.into_error(e.to_string(), "YAML")),
        }
    }
    Ok(out)
}

/// Shared parse state: limits, node count, and the structured error (with its path) when one
/// of our own checks fails. The path is built on the way out of the recursion, so a
/// successful parse pays nothing for it.
struct State {
    max_depth: usize,
    node_budget: usize,
    nodes: Cell<usize>,
    failure: RefCell<Option<Failure>>,
    path: RefCell<Vec<String>>,
}

enum Failure {
    Duplicate(String),
    Deep,
    Nodes,
}

impl State {
    fn new(limits: &Limits, len: usize) -> State {
        State {
            max_depth: limits.max_depth,
            node_budget: limits.node_budget(len),
            nodes: Cell::new(0),
            failure: RefCell::new(None),
            path: RefCell::new(Vec::new()),
        }
    }

    fn count<E: de::Error>(&self) -> Result<(), E> {
        let n = self.nodes.get() + 1;
        self.nodes.set(n);
        if n > self.node_budget {
            self.fail(Failure::Nodes);
            return Err(E::custom("node limit exceeded"));
        }
        Ok(())
    }

    fn fail(&self, f: Failure) {
        let mut slot = self.failure.borrow_mut();
        if slot.is_none() {
            *slot = Some(f);
        }
    }

    fn note_segment(&self, seg: String) {
        if self.failure.borrow().is_some() {
            self.path.borrow_mut().push(seg);
        }
    }

    fn pointer(&self) -> String {
        let path = self.path.borrow();
        let mut s = String::new();
        for seg in path.iter().rev() {
            s.push('/');
            s.push_str(&seg.replace('~', "~0").replace('/', "~1"));
        }
        s
    }

    fn into_error(self, message: String, syntax: &'static str) -> InputError {
        let pointer = self.pointer();
        match self.failure.into_inner() {
            Some(Failure::Duplicate(key)) => InputError::DuplicateKey { key, pointer },
            Some(Failure::Deep) => InputError::TooDeep {
                limit: self.max_depth,
                pointer,
            },
            Some(Failure::Nodes) => InputError::TooManyNodes {
                limit: self.node_budget,
            },
            None => InputError::Syntax {
                syntax,
                message: clean_message(&message),
            },
        }
    }
}

fn clean_message(m: &str) -> String {
    let mut s = m.trim().to_owned();
    if s.len() > 300 {
        let mut cut = 300;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

struct ValueSeed<'a> {
    state: &'a State,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON-compatible value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.state.count()?;
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.state.count()?;
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.state.count()?;
        Ok(Value::Number(v.into()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        self.state.count()?;
        if let Ok(i) = i64::try_from(v) {
            return Ok(Value::Number(i.into()));
        }
        if let Ok(u) = u64::try_from(v) {
            return Ok(Value::Number(u.into()));
        }
        float(v as f64)
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        self.state.count()?;
        match u64::try_from(v) {
            Ok(u) => Ok(Value::Number(u.into())),
            Err(_) => float(v as f64),
        }
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.state.count()?;
        float(v)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.state.count()?;
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.state.count()?;
        Ok(Value::String(v))
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.state.count()?;
        Ok(Value::Null)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.state.count()?;
        Ok(Value::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_newtype_struct<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.state.count()?;
        if self.depth >= self.state.max_depth {
            self.state.fail(Failure::Deep);
            return Err(de::Error::custom("too deep"));
        }
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        loop {
            let seed = ValueSeed {
                state: self.state,
                depth: self.depth + 1,
            };
            match seq.next_element_seed(seed) {
                Ok(Some(v)) => out.push(v),
                Ok(None) => break,
                Err(e) => {
                    self.state.note_segment(out.len().to_string());
                    return Err(e);
                }
            }
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.state.count()?;
        if self.depth >= self.state.max_depth {
            self.state.fail(Failure::Deep);
            return Err(de::Error::custom("too deep"));
        }
        let mut out = Map::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if out.contains_key(&key) {
                self.state.fail(Failure::Duplicate(key));
                return Err(de::Error::custom("duplicate key"));
            }
            let seed = ValueSeed {
                state: self.state,
                depth: self.depth + 1,
            };
            match map.next_value_seed(seed) {
                Ok(v) => {
                    out.insert(key, v);
                }
                Err(e) => {
                    self.state.note_segment(key);
                    return Err(e);
                }
            }
        }
        Ok(Value::Object(out))
    }
}

fn float<E: de::Error>(v: f64) -> Result<Value, E> {
    Number::from_f64(v)
        .map(Value::Number)
        .ok_or_else(|| E::custom(format!("number {v} cannot be represented in JSON")))
}

/// Object keys: strings, or YAML scalars (numbers, booleans) that JSON spells as strings.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = String;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string, number or boolean object key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Ok("null".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Value, InputError> {
        parse(s.as_bytes(), &Limits::default()).map(|(v, _)| v)
    }

    #[test]
    fn json_and_yaml_parse_to_the_same_value() {
        let a = p(r#"{"a": [1, "x", true, null], "b": {"c": 1.5}}"#);
        let b = p("a: [1, x, true, null]\nb:\n  c: 1.5\n");
        assert_eq!(a, b);
    }

    #[test]
    fn duplicate_keys_are_refused_with_their_pointer() {
        let e = p(r#"{"a": {"b": [ {"c": 1, "c": 2} ]}}"#);
        assert_eq!(
            e,
            Err(InputError::DuplicateKey {
                key: "c".into(),
                pointer: "/a/b/0".into()
            })
        );
        let e = p("a: 1\nb:\n  x: 1\n  x: 2\n");
        assert!(
            matches!(&e, Err(InputError::DuplicateKey { key, pointer }) if key == "x" && pointer == "/b"),
            "{e:?}"
        );
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        assert!(matches!(p(&deep), Err(InputError::TooDeep { .. })));
        let deep_yaml = "a:\n".to_owned()
            + &(1..200)
                .map(|i| format!("{}b:\n", " ".repeat(i)))
                .collect::<String>();
        assert!(matches!(
            p(&deep_yaml),
            Err(InputError::TooDeep { .. }) | Err(InputError::Syntax { .. })
        ));
    }

    #[test]
    fn yaml_alias_bomb_is_refused() {
        let bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n\
                    b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n\
                    c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n\
                    d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n\
                    e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n\
                    f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n\
                    g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n\
                    h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n";
        let e = p(bomb);
        assert!(e.is_err(), "bomb accepted");
        // A modest alias use is fine.
        let ok = p("base: &b {x: 1}\nother: *b\n");
        assert_eq!(ok, p(r#"{"base": {"x": 1}, "other": {"x": 1}}"#));
    }

    #[test]
    fn non_utf8_and_oversized_are_refused() {
        let e = parse(b"{\"a\": \"\xff\"}", &Limits::default());
        assert_eq!(e, Err(InputError::NotUtf8 { offset: 7 }));
        let small = Limits {
            max_bytes: 10,
            ..Limits::default()
        };
        assert!(matches!(
            parse(b"{\"a\": \"0123456789\"}", &small),
            Err(InputError::TooLarge { .. })
        ));
        assert_eq!(parse(b"   \n", &Limits::default()), Err(InputError::Empty));
    }

    #[test]
    fn yaml_non_string_keys_become_strings_and_nan_is_refused() {
        assert_eq!(p("200: ok\ntrue: 1\n"), p(r#"{"200": "ok", "true": 1}"#));
        assert!(matches!(p("a: .nan\n"), Err(InputError::Syntax { .. })));
        assert!(matches!(
            p("a: 1\n---\nb: 2\n"),
            Err(InputError::Syntax { .. })
        ));
        let (docs, _) = parse_stream(b"a: 1\n---\nb: 2\n---\n", &Limits::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(docs.len(), 2);
    }
}
