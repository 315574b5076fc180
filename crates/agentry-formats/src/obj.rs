//! Consuming a JSON object field by field, so whatever a reader did not map is kept.
//!
//! A reader opens an object, takes the fields it understands (a field of the wrong type is
//! left in place), and when it is done every field left over is stored in the record's
//! `extensions` under `<format>:<pointer>`. Writers put those entries back at the same
//! pointers. That is what makes read → write → read lossless without each reader listing
//! every field of every version.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Escapes one RFC 6901 pointer segment.
pub fn esc(seg: &str) -> String {
    if seg.contains(['~', '/']) {
        seg.replace('~', "~0").replace('/', "~1")
    } else {
        seg.to_owned()
    }
}

/// Unescapes one RFC 6901 pointer segment.
pub fn unesc(seg: &str) -> String {
    if seg.contains('~') {
        seg.replace("~1", "/").replace("~0", "~")
    } else {
        seg.to_owned()
    }
}

/// An object being read, with its pointer inside the document.
pub struct Obj {
    pub map: Map<String, Value>,
    pub ptr: String,
}

impl Obj {
    pub fn new(map: Map<String, Value>, ptr: impl Into<String>) -> Obj {
        Obj {
            map,
            ptr: ptr.into(),
        }
    }

    /// Opens `v` if it is an object.
    pub fn of(v: Value, ptr: impl Into<String>) -> Option<Obj> {
        match v {
            Value::Object(map) => Some(Obj::new(map, ptr)),
            _ => None,
        }
    }

    pub fn child_ptr(&self, key: &str) -> String {
        format!("{}/{}", self.ptr, esc(key))
    }

    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    pub fn peek(&self, key: &str) -> Option<&Value> {
        self.map.get(key)
    }

    pub fn peek_str(&self, key: &str) -> Option<&str> {
        self.map.get(key).and_then(Value::as_str)
    }

    /// Takes a string field; a non-string is left in place.
    pub fn str(&mut self, key: &str) -> Option<String> {
        match self.map.get(key) {
            Some(Value::String(_)) => match self.map.remove(key) {
                Some(Value::String(s)) => Some(s),
                _ => None,
            },
            _ => None,
        }
    }

    /// Takes a non-negative integer field.
    pub fn u64(&mut self, key: &str) -> Option<u64> {
        let n = self.map.get(key).and_then(Value::as_u64)?;
        self.map.remove(key);
        Some(n)
    }

    pub fn bool(&mut self, key: &str) -> Option<bool> {
        let b = self.map.get(key).and_then(Value::as_bool)?;
        self.map.remove(key);
        Some(b)
    }

    /// Takes an array of strings; an array with any non-string is left in place.
    pub fn strings(&mut self, key: &str) -> Vec<String> {
        let ok =
            matches!(self.map.get(key), Some(Value::Array(a)) if a.iter().all(Value::is_string));
        if !ok {
            return Vec::new();
        }
        match self.map.remove(key) {
            Some(Value::Array(a)) => a
                .into_iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Takes any value.
    pub fn any(&mut self, key: &str) -> Option<Value> {
        self.map.remove(key)
    }

    /// Takes an object field as a new `Obj`; a non-object is left in place.
    pub fn obj(&mut self, key: &str) -> Option<Obj> {
        if !matches!(self.map.get(key), Some(Value::Object(_))) {
            return None;
        }
        let ptr = self.child_ptr(key);
        self.map.remove(key).and_then(|v| Obj::of(v, ptr))
    }

    /// Takes an array field whose items are all objects.
    pub fn objs(&mut self, key: &str) -> Option<Vec<Obj>> {
        let ok =
            matches!(self.map.get(key), Some(Value::Array(a)) if a.iter().all(Value::is_object));
        if !ok {
            return None;
        }
        let ptr = self.child_ptr(key);
        match self.map.remove(key) {
            Some(Value::Array(a)) => Some(
                a.into_iter()
                    .enumerate()
                    .filter_map(|(i, v)| Obj::of(v, format!("{ptr}/{i}")))
                    .collect(),
            ),
            _ => None,
        }
    }

    /// Takes a map of string values (labels, annotations).
    pub fn string_map(&mut self, key: &str) -> BTreeMap<String, String> {
        let ok =
            matches!(self.map.get(key), Some(Value::Object(m)) if m.values().all(Value::is_string));
        if !ok {
            return BTreeMap::new();
        }
        match self.map.remove(key) {
            Some(Value::Object(m)) => m
                .into_iter()
                .filter_map(|(k, v)| match v {
                    Value::String(s) => Some((k, s)),
                    _ => None,
                })
                .collect(),
            _ => BTreeMap::new(),
        }
    }

    /// Stores every field left over into `ext` as `<prefix>:<pointer>`.
    pub fn finish(self, prefix: &str, ext: &mut BTreeMap<String, Value>) {
        for (k, v) in self.map {
            ext.insert(format!("{prefix}:{}/{}", self.ptr, esc(&k)), v);
        }
    }
}

/// Builder for an output object that skips empty values, so writers stay short.
#[derive(Default)]
pub struct Out(pub Map<String, Value>);

impl Out {
    pub fn new() -> Out {
        Out(Map::new())
    }
    pub fn set(&mut self, key: &str, v: impl Into<Value>) -> &mut Out {
        self.0.insert(key.to_owned(), v.into());
        self
    }
    pub fn opt_str(&mut self, key: &str, v: &Option<String>) -> &mut Out {
        if let Some(s) = v {
            self.0.insert(key.to_owned(), Value::String(s.clone()));
        }
        self
    }
    pub fn non_empty(&mut self, key: &str, v: &str) -> &mut Out {
        if !v.is_empty() {
            self.0.insert(key.to_owned(), Value::String(v.to_owned()));
        }
        self
    }
    pub fn strings(&mut self, key: &str, v: &[String]) -> &mut Out {
        if !v.is_empty() {
            self.0.insert(
                key.to_owned(),
                Value::Array(v.iter().cloned().map(Value::String).collect()),
            );
        }
        self
    }
    pub fn obj(&mut self, key: &str, o: Out) -> &mut Out {
        if !o.0.is_empty() {
            self.0.insert(key.to_owned(), Value::Object(o.0));
        }
        self
    }
    pub fn arr(&mut self, key: &str, a: Vec<Value>) -> &mut Out {
        if !a.is_empty() {
            self.0.insert(key.to_owned(), Value::Array(a));
        }
        self
    }
    pub fn string_map(&mut self, key: &str, m: &BTreeMap<String, String>) -> &mut Out {
        if !m.is_empty() {
            let o = m
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            self.0.insert(key.to_owned(), Value::Object(o));
        }
        self
    }
    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }
}

/// Puts the record's extensions of `prefix` back into `doc` at their pointers. Returns the
/// pointers that could not be placed (the document's shape no longer has room for them).
pub fn reinsert(doc: &mut Value, prefix: &str, ext: &BTreeMap<String, Value>) -> Vec<String> {
    let mut failed = Vec::new();
    let want = format!("{prefix}:");
    for (key, v) in ext {
        let Some(ptr) = key.strip_prefix(&want) else {
            continue;
        };
        if !set_pointer(doc, ptr, v.clone()) {
            failed.push(ptr.to_owned());
        }
    }
    failed
}

/// Sets `value` at `ptr`, creating objects on the way. An existing value there is kept (the
/// model's own mapping wins over a stale extension).
pub fn set_pointer(doc: &mut Value, ptr: &str, value: Value) -> bool {
    if ptr.is_empty() {
        return false;
    }
    let segs: Vec<String> = ptr.split('/').skip(1).map(unesc).collect();
    let mut cur = doc;
    for (i, seg) in segs.iter().enumerate() {
        let last = i + 1 == segs.len();
        match cur {
            Value::Object(m) => {
                if last {
                    if !m.contains_key(seg) {
                        m.insert(seg.clone(), value);
                    }
                    return true;
                }
                cur = m
                    .entry(seg.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
            }
            Value::Array(a) => {
                let Ok(idx) = seg.parse::<usize>() else {
                    return false;
                };
                if last {
                    if idx == a.len() {
                        a.push(value);
                    }
                    return idx <= a.len();
                }
                if idx > a.len() {
                    return false;
                }
                if idx == a.len() {
                    a.push(Value::Object(Map::new()));
                }
                cur = &mut a[idx];
            }
            _ => return false,
        }
    }
    false
}

/// Lower-case machine name from a human one: `Recipe Agent` → `recipe-agent`.
pub fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut dash = false;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c.to_ascii_lowercase());
        } else {
            dash = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn leftovers_go_to_extensions_and_come_back() {
        let doc = json!({"a": 1, "b": {"c": "x", "d": [1, 2]}, "e/f": true});
        let mut o = Obj::of(doc.clone(), "").unwrap_or_else(|| unreachable!());
        let mut ext = BTreeMap::new();
        let mut b = o.obj("b").unwrap_or_else(|| unreachable!());
        assert_eq!(b.str("c").as_deref(), Some("x"));
        b.finish("t", &mut ext);
        o.finish("t", &mut ext);
        assert_eq!(ext.len(), 3);
        assert!(ext.contains_key("t:/e~1f"));
        let mut out = json!({"b": {"c": "x"}});
        assert!(reinsert(&mut out, "t", &ext).is_empty());
        assert_eq!(out, doc);
    }

    #[test]
    fn pointers_into_arrays() {
        let mut doc = json!({"s": [{"a": 1}]});
        assert!(set_pointer(&mut doc, "/s/0/b", json!(2)));
        assert!(set_pointer(&mut doc, "/s/1", json!("x")));
        assert!(!set_pointer(&mut doc, "/s/5/b", json!(2)));
        assert_eq!(doc, json!({"s": [{"a": 1, "b": 2}, "x"]}));
        assert_eq!(slug("Recipe Agent (v2)"), "recipe-agent-v2");
    }
}
