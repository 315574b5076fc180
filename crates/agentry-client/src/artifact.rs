//! The agent artifact layout (whitepaper §5.1, Figure 8): packing a folder or a single
//! description file into config + layers, and writing a pulled artifact back to disk safely.
//!
//! A folder becomes:
//!
//! | layer | media type | from |
//! |---|---|---|
//! | `manifest.yaml` | `application/vnd.ossa.manifest.v1+yaml` | the folder's `manifest.yaml` / `.yml` |
//! | other descriptions | the format's registered type | top-level files a [`Detector`] recognises (A2A card, OASF record, MCP `server.json`, NANDA, simple JSON) |
//! | `capabilities.json` | `application/vnd.ossa.capabilities.v1+json` | the folder's `capabilities.json` |
//! | `code-bundle.tar.gz` | `application/gzip` | the folder's own `code-bundle.tar.gz`, else every remaining file packed deterministically |
//! | `context.tar.gz` | `application/gzip` | the folder's `context.tar.gz`, else its `context/` folder packed |
//!
//! Packing is deterministic: entries sorted by path, fixed mtime, uid/gid 0, modes normalised
//! to 0644/0755, gzip header without name or time. Identical folders give identical layer
//! digests, so a re-push uploads nothing (the registry already has every blob). Hidden files
//! and folders (`.git`, `.env`…) are never packed.
//!
//! On pull, layer titles come from a registry and may be hostile: [`safe_title`] refuses
//! anything but a plain file name.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use agentry_types::{Digest, DigestAlgorithm};
use bytes::Bytes;
use serde::Serialize;

use crate::blobs::{BlobSource, digest_file};
use crate::error::{Error, Result};
use agentry_oci::media;
use agentry_oci::{Descriptor, ImageManifest};

/// Name of the OSSA manifest layer.
pub const MANIFEST_YAML: &str = "manifest.yaml";
pub const CAPABILITIES_JSON: &str = "capabilities.json";
pub const CODE_BUNDLE: &str = "code-bundle.tar.gz";
pub const CONTEXT_TARBALL: &str = "context.tar.gz";
pub const CONTEXT_DIR: &str = "context";

/// What a description file is, as a [`Detector`] reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Detected {
    /// The layer media type of the format (`application/vnd.a2a.card.v1+json`, …).
    pub media_type: String,
    /// Short format name (`ossa`, `a2a`, `oasf`, `mcp`, `nanda`, `simple`).
    pub format: String,
}

/// Recognises agent description documents. The `agentry` binary plugs in the format
/// detection of `agentry-formats`; [`BasicDetector`] knows only OSSA by file name.
pub trait Detector: Send + Sync {
    /// `Some` if `bytes` (the content of a file called `file_name`) is an agent description.
    fn detect(&self, file_name: &str, bytes: &[u8]) -> Option<Detected>;
}

/// Knows only the whitepaper's OSSA `manifest.yaml` (by name).
#[derive(Debug, Default, Clone, Copy)]
pub struct BasicDetector;

impl Detector for BasicDetector {
    fn detect(&self, file_name: &str, _bytes: &[u8]) -> Option<Detected> {
        matches!(file_name, "manifest.yaml" | "manifest.yml").then(|| Detected {
            media_type: media::OSSA_MANIFEST_YAML.to_owned(),
            format: "ossa".to_owned(),
        })
    }
}

/// The role a layer plays in the artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Description,
    Capabilities,
    Code,
    Context,
}

/// One layer, ready to push.
#[derive(Debug, Clone)]
pub struct Layer {
    pub title: String,
    pub media_type: String,
    pub role: Role,
    pub digest: Digest,
    pub size: u64,
    pub source: BlobSource,
    /// For description layers: the detected format.
    pub format: Option<String>,
}

impl Layer {
    pub fn descriptor(&self) -> Descriptor {
        let mut d = Descriptor::new(self.media_type.clone(), self.digest.clone(), self.size);
        d.annotations
            .insert(media::ANNOTATION_TITLE.to_owned(), self.title.clone());
        d
    }
}

/// The config blob of an agent artifact (`application/vnd.ossa.agent.config.v1+json`): what
/// each layer is for, so a reader need not guess from titles.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentConfig {
    pub schema_version: u32,
    /// Title of the primary description layer and its format.
    pub description: Option<ConfigDescription>,
    pub layers: Vec<ConfigLayer>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConfigDescription {
    pub title: String,
    pub format: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConfigLayer {
    pub title: String,
    pub role: Role,
}

/// A packed artifact: config, layers and the manifest that ties them.
#[derive(Debug)]
pub struct Packed {
    pub config: Bytes,
    pub config_digest: Digest,
    pub layers: Vec<Layer>,
    /// Keeps generated tarballs alive until the push is done.
    _workdir: Option<tempfile::TempDir>,
}

impl Packed {
    /// The OCI image manifest, with `artifactType`, a title per layer and `created`.
    pub fn manifest(&self, created: &str) -> ImageManifest {
        let mut annotations = BTreeMap::new();
        annotations.insert(media::ANNOTATION_CREATED.to_owned(), created.to_owned());
        ImageManifest {
            schema_version: 2,
            media_type: Some(media::OCI_MANIFEST.to_owned()),
            artifact_type: Some(media::OSSA_AGENT_ARTIFACT.to_owned()),
            config: Descriptor::new(
                media::OSSA_AGENT_CONFIG,
                self.config_digest.clone(),
                self.config.len() as u64,
            ),
            layers: self.layers.iter().map(Layer::descriptor).collect(),
            subject: None,
            annotations,
        }
    }
}

/// `org.opencontainers.image.created` for now: RFC 3339, UTC, seconds. Honours
/// `SOURCE_DATE_EPOCH` so reproducible builds get reproducible manifests.
pub fn created_now() -> String {
    let t = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or_else(time::OffsetDateTime::now_utc);
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

fn is_hidden(name: &str) -> bool {
    name.starts_with('.')
}

/// Largest description or capabilities file read into memory for detection.
const MAX_DESCRIPTION: u64 = 8 * 1024 * 1024;

/// Pack `path` (a folder or a single description file).
pub async fn pack(path: &Path, detector: &dyn Detector) -> Result<Packed> {
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|e| Error::io("reading", path, e))?;
    if meta.is_dir() {
        pack_folder(path, detector).await
    } else {
        pack_file(path, detector).await
    }
}

fn file_name_of(path: &Path) -> Result<String> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .ok_or_else(|| Error::Invalid(format!("{} has no UTF-8 file name", path.display())))
}

async fn read_small(path: &Path) -> Result<Vec<u8>> {
    let len = tokio::fs::metadata(path)
        .await
        .map_err(|e| Error::io("reading", path, e))?
        .len();
    if len > MAX_DESCRIPTION {
        return Err(Error::Invalid(format!(
            "{} is {len} bytes; description and capabilities files are limited to {MAX_DESCRIPTION}",
            path.display()
        )));
    }
    tokio::fs::read(path)
        .await
        .map_err(|e| Error::io("reading", path, e))
}

fn bytes_layer(title: &str, media_type: &str, role: Role, bytes: Vec<u8>) -> Layer {
    let digest = Digest::sha256(&bytes);
    Layer {
        title: title.to_owned(),
        media_type: media_type.to_owned(),
        role,
        size: bytes.len() as u64,
        digest,
        source: BlobSource::Bytes(Bytes::from(bytes)),
        format: None,
    }
}

async fn file_layer(path: &Path, title: &str, media_type: &str, role: Role) -> Result<Layer> {
    let (digest, size) = digest_file(path, DigestAlgorithm::Sha256).await?;
    Ok(Layer {
        title: title.to_owned(),
        media_type: media_type.to_owned(),
        role,
        digest,
        size,
        source: BlobSource::File {
            path: path.to_path_buf(),
            size,
        },
        format: None,
    })
}

async fn pack_file(path: &Path, detector: &dyn Detector) -> Result<Packed> {
    let name = file_name_of(path)?;
    let bytes = read_small(path).await?;
    let detected = detector.detect(&name, &bytes).ok_or_else(|| {
        Error::Invalid(format!(
            "{}: not a recognised agent description (OSSA manifest.yaml, A2A card, OASF record, MCP server.json, NANDA AgentFacts or simple agent JSON)",
            path.display()
        ))
    })?;
    let mut layer = bytes_layer(&name, &detected.media_type, Role::Description, bytes);
    layer.format = Some(detected.format);
    finish(vec![layer], None)
}

async fn pack_folder(dir: &Path, detector: &dyn Detector) -> Result<Packed> {
    let mut entries: Vec<(String, PathBuf, bool)> = Vec::new();
    let mut rd = tokio::fs::read_dir(dir)
        .await
        .map_err(|e| Error::io("listing", dir, e))?;
    while let Some(e) = rd
        .next_entry()
        .await
        .map_err(|e| Error::io("listing", dir, e))?
    {
        let path = e.path();
        let Some(name) = e.file_name().to_str().map(str::to_owned) else {
            return Err(Error::Invalid(format!(
                "{}: file names must be UTF-8",
                path.display()
            )));
        };
        let is_file = e
            .file_type()
            .await
            .map_err(|err| Error::io("reading", &path, err))?
            .is_file();
        entries.push((name, path, is_file));
    }
    entries.sort();

    let mut layers = Vec::new();
    let mut taken: BTreeSet<String> = BTreeSet::new();
    // Descriptions: manifest.yaml first, then any top-level document the detector recognises.
    for (name, path, is_file) in &entries {
        if !*is_file || is_hidden(name) || name == CAPABILITIES_JSON {
            continue;
        }
        let lower = name.to_ascii_lowercase();
        let candidate =
            lower.ends_with(".json") || lower.ends_with(".yaml") || lower.ends_with(".yml");
        if !candidate {
            continue;
        }
        let len = tokio::fs::metadata(path)
            .await
            .map_err(|e| Error::io("reading", path, e))?
            .len();
        if len > MAX_DESCRIPTION {
            continue;
        }
        let bytes = read_small(path).await?;
        let Some(detected) = detector.detect(name, &bytes) else {
            continue;
        };
        let mut layer = bytes_layer(name, &detected.media_type, Role::Description, bytes);
        layer.format = Some(detected.format);
        taken.insert(name.clone());
        layers.push(layer);
    }
    // manifest.yaml leads.
    layers.sort_by_key(|l| {
        (
            l.title != MANIFEST_YAML && l.title != "manifest.yml",
            l.title.clone(),
        )
    });
    if layers.is_empty() {
        return Err(Error::Invalid(format!(
            "{}: no agent description found (expected manifest.yaml, or an A2A card, OASF record, MCP server.json, NANDA or simple agent JSON file)",
            dir.display()
        )));
    }
    let has = |n: &str| entries.iter().any(|(name, _, f)| name == n && *f);
    if has(CAPABILITIES_JSON) {
        let p = dir.join(CAPABILITIES_JSON);
        let bytes = read_small(&p).await?;
        if let Err(e) = serde_json::from_slice::<serde_json::Value>(&bytes) {
            return Err(Error::Invalid(format!(
                "{}: not valid JSON: {e}",
                p.display()
            )));
        }
        layers.push(bytes_layer(
            CAPABILITIES_JSON,
            media::OSSA_CAPABILITIES,
            Role::Capabilities,
            bytes,
        ));
        taken.insert(CAPABILITIES_JSON.to_owned());
    }

    let workdir = tempfile::Builder::new()
        .prefix("agentry-pack-")
        .tempdir()
        .map_err(|e| Error::io("creating a temp dir in", std::env::temp_dir(), e))?;

    // Code bundle.
    if has(CODE_BUNDLE) {
        layers
            .push(file_layer(&dir.join(CODE_BUNDLE), CODE_BUNDLE, media::GZIP, Role::Code).await?);
    } else {
        let mut skip = taken.clone();
        skip.insert(CONTEXT_DIR.to_owned());
        skip.insert(CONTEXT_TARBALL.to_owned());
        let out = workdir.path().join(CODE_BUNDLE);
        let count = tarball(dir.to_path_buf(), out.clone(), skip).await?;
        if count > 0 {
            layers.push(file_layer(&out, CODE_BUNDLE, media::GZIP, Role::Code).await?);
        }
    }
    // Context.
    if has(CONTEXT_TARBALL) {
        layers.push(
            file_layer(
                &dir.join(CONTEXT_TARBALL),
                CONTEXT_TARBALL,
                media::GZIP,
                Role::Context,
            )
            .await?,
        );
    } else if tokio::fs::metadata(dir.join(CONTEXT_DIR))
        .await
        .map(|m| m.is_dir())
        .unwrap_or(false)
    {
        let out = workdir.path().join(CONTEXT_TARBALL);
        tarball(dir.join(CONTEXT_DIR), out.clone(), BTreeSet::new()).await?;
        layers.push(file_layer(&out, CONTEXT_TARBALL, media::GZIP, Role::Context).await?);
    }
    finish(layers, Some(workdir))
}

fn finish(layers: Vec<Layer>, workdir: Option<tempfile::TempDir>) -> Result<Packed> {
    let description = layers
        .iter()
        .find(|l| l.role == Role::Description)
        .map(|l| ConfigDescription {
            title: l.title.clone(),
            format: l.format.clone().unwrap_or_default(),
        });
    let config = AgentConfig {
        schema_version: 1,
        description,
        layers: layers
            .iter()
            .map(|l| ConfigLayer {
                title: l.title.clone(),
                role: l.role,
            })
            .collect(),
    };
    let config = serde_json::to_vec(&config)
        .map_err(|e| Error::Invalid(format!("encoding the agent config: {e}")))?;
    Ok(Packed {
        config_digest: Digest::sha256(&config),
        config: Bytes::from(config),
        layers,
        _workdir: workdir,
    })
}

/// Pack `root` (minus hidden entries and the top-level names in `skip`) into a deterministic
/// `.tar.gz` at `out`. Returns the number of files packed.
async fn tarball(root: PathBuf, out: PathBuf, skip: BTreeSet<String>) -> Result<usize> {
    tokio::task::spawn_blocking(move || tarball_blocking(&root, &out, &skip))
        .await
        .map_err(|e| Error::Invalid(format!("packing task failed: {e}")))?
}

fn tarball_blocking(root: &Path, out: &Path, skip: &BTreeSet<String>) -> Result<usize> {
    let file = std::fs::File::create(out).map_err(|e| Error::io("creating", out, e))?;
    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(
            std::io::BufWriter::new(file),
            flate2::Compression::default(),
        );
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    tar.follow_symlinks(false);
    let mut files = 0;
    let walker = walkdir::WalkDir::new(root)
        .min_depth(1)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            !(is_hidden(&name) || (e.depth() == 1 && skip.contains(name.as_ref())))
        });
    for entry in walker {
        let entry = entry.map_err(|e| {
            let path = e.path().map(Path::to_path_buf).unwrap_or_default();
            Error::io("walking", path, e.into())
        })?;
        let rel = entry.path().strip_prefix(root).map_err(|_| {
            Error::Invalid(format!("{} escaped the folder", entry.path().display()))
        })?;
        let Some(rel_str) = rel.to_str() else {
            return Err(Error::Invalid(format!(
                "{}: file names must be UTF-8",
                entry.path().display()
            )));
        };
        let ft = entry.file_type();
        if ft.is_dir() {
            tar.append_dir(rel_str, entry.path())
                .map_err(|e| Error::io("packing", entry.path(), e))?;
        } else if ft.is_file() || ft.is_symlink() {
            tar.append_path_with_name(entry.path(), rel_str)
                .map_err(|e| Error::io("packing", entry.path(), e))?;
            files += 1;
        }
        // Sockets, FIFOs and devices have no place in an agent bundle: skipped.
    }
    let gz = tar
        .into_inner()
        .map_err(|e| Error::io("finishing", out, e))?;
    let w = gz.finish().map_err(|e| Error::io("finishing", out, e))?;
    let file = w
        .into_inner()
        .map_err(|e| Error::io("finishing", out, e.into_error()))?;
    file.sync_all().map_err(|e| Error::io("syncing", out, e))?;
    Ok(files)
}

/// A layer title that is safe to use as a file name in the output folder: one plain path
/// component, no separators, no `..`, nothing absolute, no control characters.
pub fn safe_title(title: &str) -> Result<&str> {
    let bad = title.is_empty()
        || title == "."
        || title == ".."
        || title.len() > 255
        || title.contains(['/', '\\', '\0'])
        || title.chars().any(char::is_control)
        || (title.len() >= 2 && title.as_bytes()[1] == b':')
        || Path::new(title).is_absolute();
    if bad {
        Err(Error::Invalid(format!(
            "refusing layer title {:?}: titles must be plain file names (no '/', '\\', '..', absolute paths or control characters)",
            title.chars().take(100).collect::<String>()
        )))
    } else {
        Ok(title)
    }
}

/// Files to write (title, descriptor) and layers without a title.
pub type FilePlan = (Vec<(String, Descriptor)>, Vec<Descriptor>);

/// Check every layer title of a pulled manifest before anything is written: all safe, none
/// repeated. Returns (title, descriptor) pairs; layers without a title are returned apart.
pub fn plan_files(manifest: &ImageManifest) -> Result<FilePlan> {
    let mut seen = BTreeSet::new();
    let mut files = Vec::new();
    let mut untitled = Vec::new();
    for d in &manifest.layers {
        match d.title() {
            Some(t) => {
                let t = safe_title(t)?;
                if !seen.insert(t.to_owned()) {
                    return Err(Error::Invalid(format!(
                        "manifest has two layers titled {t:?}"
                    )));
                }
                files.push((t.to_owned(), d.clone()));
            }
            None => untitled.push(d.clone()),
        }
    }
    Ok((files, untitled))
}

/// Unpack a pulled `.tar.gz` layer into `dest` (for `pull --extract`). The tar crate refuses
/// entries that would land outside `dest` (`..`, absolute paths, through symlinks).
pub async fn extract_tarball(tarball: PathBuf, dest: PathBuf) -> Result<()> {
    tokio::task::spawn_blocking(move || {
        let f = std::fs::File::open(&tarball).map_err(|e| Error::io("opening", &tarball, e))?;
        let mut archive =
            tar::Archive::new(flate2::read::GzDecoder::new(std::io::BufReader::new(f)));
        archive.set_preserve_permissions(true);
        archive.set_overwrite(false);
        for entry in archive
            .entries()
            .map_err(|e| Error::io("reading", &tarball, e))?
        {
            let mut entry = entry.map_err(|e| Error::io("reading", &tarball, e))?;
            let ok = entry
                .unpack_in(&dest)
                .map_err(|e| Error::io("extracting into", &dest, e))?;
            if !ok {
                let p = entry
                    .path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                return Err(Error::Invalid(format!(
                    "{}: refusing entry {p:?} that would land outside {}",
                    tarball.display(),
                    dest.display()
                )));
            }
        }
        Ok(())
    })
    .await
    .map_err(|e| Error::Invalid(format!("extraction task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, content: &[u8]) {
        let p = dir.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(p, content).unwrap_or_else(|e| panic!("{e}"));
    }

    fn agent_folder() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        write(
            d.path(),
            "manifest.yaml",
            b"apiVersion: ossa/v0.4.6\nkind: Agent\n",
        );
        write(d.path(), "capabilities.json", br#"{"skills":[]}"#);
        write(d.path(), "src/main.py", b"print('hi')\n");
        write(d.path(), "src/util/x.py", b"x = 1\n");
        write(d.path(), "README.md", b"# agent\n");
        write(d.path(), ".env", b"SECRET=1\n");
        write(d.path(), ".git/config", b"[core]\n");
        write(
            d.path(),
            "context/prompts/system.txt",
            b"You are helpful.\n",
        );
        d
    }

    #[tokio::test]
    async fn identical_folders_pack_to_identical_digests() -> Result<()> {
        let a = agent_folder();
        let b = agent_folder();
        // Different mtimes must not matter.
        std::thread::sleep(std::time::Duration::from_millis(20));
        write(b.path(), "README.md", b"# agent\n");
        let pa = pack(a.path(), &BasicDetector).await?;
        let pb = pack(b.path(), &BasicDetector).await?;
        let titles: Vec<&str> = pa.layers.iter().map(|l| l.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                MANIFEST_YAML,
                CAPABILITIES_JSON,
                CODE_BUNDLE,
                CONTEXT_TARBALL
            ]
        );
        let da: Vec<&Digest> = pa.layers.iter().map(|l| &l.digest).collect();
        let db: Vec<&Digest> = pb.layers.iter().map(|l| &l.digest).collect();
        assert_eq!(da, db);
        assert_eq!(pa.config_digest, pb.config_digest);
        let m = pa.manifest("2026-01-01T00:00:00Z");
        assert_eq!(m.artifact_type.as_deref(), Some(media::OSSA_AGENT_ARTIFACT));
        assert_eq!(m.config.media_type, media::OSSA_AGENT_CONFIG);
        assert_eq!(m.layers[0].media_type, media::OSSA_MANIFEST_YAML);
        assert_eq!(m.layers[1].media_type, media::OSSA_CAPABILITIES);

        // The code bundle holds the code, not the descriptions, context or hidden files.
        let BlobSource::File { path, .. } = &pa.layers[2].source else {
            panic!("code bundle should be a file");
        };
        let mut names = Vec::new();
        let f = std::fs::File::open(path).map_err(|e| Error::io("open", path, e))?;
        let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(f));
        for e in ar.entries().map_err(|e| Error::io("read", path, e))? {
            let e = e.map_err(|e| Error::io("read", path, e))?;
            names.push(
                e.path()
                    .map_err(|e| Error::io("read", path, e))?
                    .display()
                    .to_string(),
            );
        }
        assert_eq!(
            names,
            [
                "README.md",
                "src",
                "src/main.py",
                "src/util",
                "src/util/x.py"
            ]
        );

        // A changed file changes the bundle digest.
        write(b.path(), "src/main.py", b"print('bye')\n");
        let pb = pack(b.path(), &BasicDetector).await?;
        assert_ne!(pa.layers[2].digest, pb.layers[2].digest);
        assert_eq!(pa.layers[0].digest, pb.layers[0].digest);
        Ok(())
    }

    #[tokio::test]
    async fn folders_without_a_description_and_bad_capabilities_are_refused() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        write(d.path(), "main.py", b"");
        let e = pack(d.path(), &BasicDetector)
            .await
            .err()
            .map(|e| e.to_string());
        assert!(e.unwrap_or_default().contains("no agent description"));
        write(d.path(), "manifest.yaml", b"kind: Agent\n");
        write(d.path(), "capabilities.json", b"{nope");
        let e = pack(d.path(), &BasicDetector)
            .await
            .err()
            .map(|e| e.to_string());
        assert!(e.unwrap_or_default().contains("capabilities.json"));
    }

    #[test]
    fn hostile_titles_are_refused() {
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            "/etc/passwd",
            "a\\b",
            "C:x",
            "x\0y",
            "x\ny",
            &"a".repeat(256),
        ] {
            assert!(safe_title(bad).is_err(), "{bad:?}");
        }
        for ok in ["manifest.yaml", "code-bundle.tar.gz", "..hidden", "a b"] {
            assert!(safe_title(ok).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn duplicate_titles_are_refused() {
        let d = Digest::sha256(b"x");
        let mut l = Descriptor::new("a/b", d.clone(), 1);
        l.annotations
            .insert(media::ANNOTATION_TITLE.into(), "f".into());
        let m = ImageManifest {
            schema_version: 2,
            media_type: None,
            artifact_type: None,
            config: Descriptor::new("c", d, 1),
            layers: vec![l.clone(), l],
            subject: None,
            annotations: BTreeMap::new(),
        };
        assert!(plan_files(&m).is_err());
    }

    #[test]
    fn created_is_rfc3339() {
        let c = created_now();
        assert!(
            time::OffsetDateTime::parse(&c, &time::format_description::well_known::Rfc3339).is_ok(),
            "{c}"
        );
    }
}
