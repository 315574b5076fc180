//! The pages: view models in, [`Markup`] out.

use maud::{DOCTYPE, Markup, html};

use crate::query::{Filters, encode_component};

/// Which top-level section a page belongs to (marked `aria-current` in the navigation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Search,
    Agent,
    Namespace,
    Mesh,
    Error,
}

/// What every page shows around its content.
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    /// The pod's name (mesh pod id or host), shown in the header.
    pub pod: String,
    /// Whether the mesh/switchboard view exists on this pod.
    pub mesh_view: bool,
}

/// The HTML document around `main`.
pub fn layout(chrome: &Chrome, section: Section, title: &str, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) " · agentry" }
                link rel="stylesheet" href={ (crate::CSS_PATH) "?v=" (format!("{:016x}", crate::CSS_VERSION)) };
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/" { "agentry" }
                    @if !chrome.pod.is_empty() { span.pod { (chrome.pod) } }
                    nav aria-label="Sections" {
                        ul {
                            li { a href="/" aria-current=[(section == Section::Search).then_some("page")] { "Search" } }
                            @if chrome.mesh_view {
                                li { a href="/mesh" aria-current=[(section == Section::Mesh).then_some("page")] { "Mesh" } }
                            }
                            li { a href="/api/v1/openapi.json" { "API" } }
                        }
                    }
                }
                main #main tabindex="-1" { (main) }
                footer.bottom {
                    p { "Served by this agentry pod. Every page is also a REST call: "
                        a href="/api/v1/openapi.json" { "OpenAPI" } "." }
                }
            }
        }
    }
}

/// One agent in a result list.
#[derive(Debug, Clone, Default)]
pub struct ResultItem {
    pub namespace: String,
    pub name: String,
    pub version: String,
    pub description: String,
    pub capabilities: Vec<String>,
    pub protocols: Vec<String>,
    pub trust_tier: String,
    pub source_pod: String,
}

impl ResultItem {
    pub fn href(&self) -> String {
        agent_href(&self.namespace, &self.name, Some(&self.version))
    }
}

/// `/agents/{namespace}/{name}[/{version}]`, each part one encoded path segment (a namespace
/// of several components is one segment, its `/` written `%2F`).
pub fn agent_href(namespace: &str, name: &str, version: Option<&str>) -> String {
    let mut h = format!(
        "/agents/{}/{}",
        encode_component(namespace),
        encode_component(name)
    );
    if let Some(v) = version {
        h.push('/');
        h.push_str(&encode_component(v));
    }
    h
}

/// `/namespaces/{namespace}`.
pub fn namespace_href(namespace: &str) -> String {
    let ns: Vec<String> = namespace.split('/').map(encode_component).collect();
    format!("/namespaces/{}", ns.join("/"))
}

/// A count of matches for one facet value.
#[derive(Debug, Clone)]
pub struct FacetValue {
    pub value: String,
    pub count: u64,
}

/// Counts per value of one field (`capability`, `protocol`, `tier`, `namespace`).
#[derive(Debug, Clone)]
pub struct Facet {
    pub field: String,
    pub values: Vec<FacetValue>,
}

/// A class of the OASF skill taxonomy with the number of agents under it.
#[derive(Debug, Clone)]
pub struct CapNode {
    /// Slash path, usable as `capability=`.
    pub name: String,
    pub caption: String,
    pub count: u64,
    pub children: Vec<CapNode>,
}

/// A peer that did not answer a federated search.
#[derive(Debug, Clone)]
pub struct PeerFailure {
    pub pod: String,
    pub reason: String,
}

/// The search page.
#[derive(Debug, Clone, Default)]
pub struct SearchPage {
    pub filters: Filters,
    pub items: Vec<ResultItem>,
    pub facets: Vec<Facet>,
    /// The capability tree (categories with at least one agent, and their classes).
    pub capabilities: Vec<CapNode>,
    pub next_cursor: Option<String>,
    /// With `scope=federated`: the peers that failed (a partial result when not empty).
    pub failed: Vec<PeerFailure>,
    /// Whether this pod is in a mesh (offers the federated scope).
    pub mesh: bool,
    /// A heading above the results (namespace pages).
    pub heading: Option<String>,
}

const TIERS: &[(&str, &str)] = &[
    ("", "any"),
    ("basic", "basic"),
    ("standard", "standard"),
    ("verified", "verified"),
];

const PROTOCOLS: &[&str] = &["a2a", "mcp", "rest", "grpc", "ossa", "nanda"];

/// The search page: form, filters, facets, results, next page.
pub fn search_page(chrome: &Chrome, p: &SearchPage) -> Markup {
    let f = &p.filters;
    let title = if !f.q.is_empty() {
        format!("{} — search", f.q)
    } else if let Some(h) = &p.heading {
        h.clone()
    } else {
        "Search agents".to_owned()
    };
    let main = html! {
        @if let Some(h) = &p.heading { h1 { (h) } } @else { h1 { "Find an agent" } }
        form.search role="search" method="get" action="/" aria-label="Search agents" {
            div.row {
                label for="q" { "Words" }
                input #q type="search" name="q" value=(f.q) placeholder="invoice pdf" maxlength="1024";
            }
            div.row {
                label for="semantic" { "Meaning" }
                input #semantic type="search" name="semantic" value=(f.semantic) placeholder="an agent that reads invoices" maxlength="1024";
            }
            details.filters open[filters_open(f)] {
                summary { "Filters" }
                div.grid {
                    div.row {
                        label for="capability" { "Capability" }
                        select #capability name="capability" {
                            option value="" { "any" }
                            @for c in &p.capabilities {
                                (cap_options(c, f, 0))
                            }
                            @for c in &f.capability {
                                @if !tree_has(&p.capabilities, c) {
                                    option value=(c) selected { (c) }
                                }
                            }
                        }
                    }
                    div.row {
                        label for="protocol" { "Protocol" }
                        select #protocol name="protocol" {
                            option value="" { "any" }
                            @for pr in PROTOCOLS {
                                option value=(pr) selected[f.has("protocol", pr)] { (pr) }
                            }
                        }
                    }
                    div.row {
                        label for="min_trust" { "Trust tier at least" }
                        select #min_trust name="min_trust" {
                            @for (v, label) in TIERS {
                                option value=(v) selected[f.min_trust == *v] { (label) }
                            }
                        }
                    }
                    div.row {
                        label for="namespace" { "Namespace" }
                        input #namespace type="text" name="namespace" value=(f.namespace) maxlength="255";
                    }
                    div.row {
                        label for="os" { "Runtime OS" }
                        input #os type="text" name="os" value=(f.os) placeholder="linux" maxlength="64";
                    }
                    div.row {
                        label for="arch" { "Architecture" }
                        input #arch type="text" name="arch" value=(f.arch) placeholder="amd64" maxlength="64";
                    }
                    div.row {
                        label for="gpu" { "GPU" }
                        select #gpu name="gpu" {
                            option value="" { "either" }
                            option value="true" selected[f.gpu == "true"] { "needs a GPU" }
                            option value="false" selected[f.gpu == "false"] { "runs without" }
                        }
                    }
                    div.row {
                        label for="max_input_tokens" { "Context window (tokens)" }
                        input #max_input_tokens type="number" min="1" name="max_input_tokens" value=(f.max_input_tokens) inputmode="numeric";
                    }
                    @if p.mesh {
                        div.row {
                            label for="scope" { "Where" }
                            select #scope name="scope" {
                                option value="" { "this pod" }
                                option value="federated" selected[f.scope == "federated"] { "every pod in the mesh" }
                            }
                        }
                    }
                }
            }
            button type="submit" { "Search" }
        }
        @if !p.failed.is_empty() {
            div.notice role="status" {
                strong { "Partial result: " }
                (p.failed.len()) " peer" @if p.failed.len() != 1 { "s" } " did not answer: "
                @for (i, fl) in p.failed.iter().enumerate() {
                    @if i > 0 { ", " }
                    span.peer { (fl.pod) } " (" (fl.reason) ")"
                }
            }
        }
        div.layout {
            @if !p.facets.is_empty() {
                aside.facets aria-label="Refine" {
                    h2 { "Refine" }
                    @for facet in &p.facets {
                        @if !facet.values.is_empty() {
                            section {
                                h3 { (facet_title(&facet.field)) }
                                ul {
                                    @for v in facet.values.iter().take(12) {
                                        li {
                                            @let on = f.has(&facet.field, &v.value);
                                            a href=(f.toggled(&facet.field, &v.value).href()) aria-current=[on.then_some("true")] {
                                                (v.value) " " span.count { "(" (v.count) ")" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section.results aria-label="Results" {
                h2.sr { "Results" }
                @if p.items.is_empty() {
                    p.empty { "No agent matches. Loosen a filter or try other words." }
                } @else {
                    ol.items {
                        @for it in &p.items { li { (result(it)) } }
                    }
                }
                @if let Some(c) = &p.next_cursor {
                    nav.pager aria-label="Pages" {
                        a rel="next" href=(f.next_href(c)) { "Next page →" }
                    }
                }
            }
        }
    };
    layout(
        chrome,
        if p.heading.is_some() {
            Section::Namespace
        } else {
            Section::Search
        },
        &title,
        main,
    )
}

fn filters_open(f: &Filters) -> bool {
    !(f.capability.is_empty()
        && f.protocol.is_empty()
        && f.min_trust.is_empty()
        && f.namespace.is_empty()
        && f.os.is_empty()
        && f.arch.is_empty()
        && f.gpu.is_empty()
        && f.max_input_tokens.is_empty()
        && f.scope.is_empty())
}

fn tree_has(nodes: &[CapNode], name: &str) -> bool {
    nodes
        .iter()
        .any(|n| n.name == name || tree_has(&n.children, name))
}

fn cap_options(c: &CapNode, f: &Filters, depth: usize) -> Markup {
    html! {
        option value=(c.name) selected[f.has("capability", &c.name)] {
            @for _ in 0..depth { "\u{a0}\u{a0}" }
            (c.caption) " (" (c.count) ")"
        }
        @for child in c.children.iter().filter(|n| n.count > 0) {
            (cap_options(child, f, depth + 1))
        }
    }
}

fn facet_title(field: &str) -> &str {
    match field {
        "capability" => "Capability",
        "protocol" => "Protocol",
        "tier" => "Trust tier",
        "namespace" => "Namespace",
        other => other,
    }
}

fn tier_badge(tier: &str) -> Markup {
    html! { span class={ "tier tier-" (tier) } { (tier) } }
}

fn result(it: &ResultItem) -> Markup {
    html! {
        article.item {
            h3 {
                a href=(it.href()) { (it.namespace) "/" (it.name) }
                " " span.version { (it.version) }
            }
            p.desc { (it.description) }
            p.meta {
                (tier_badge(&it.trust_tier))
                @for pr in &it.protocols { " " span.proto { (pr) } }
                @for c in it.capabilities.iter().take(6) { " " span.cap { (c) } }
                @if it.source_pod != "local" && !it.source_pod.is_empty() {
                    " " span.src { "from " (it.source_pod) }
                }
            }
        }
    }
}

/// One skill of an agent.
#[derive(Debug, Clone, Default)]
pub struct SkillView {
    pub name: String,
    pub description: String,
    /// Taxonomy classes (paths or ids).
    pub classes: Vec<String>,
    /// Pretty-printed JSON Schemas.
    pub input_schema: Option<String>,
    pub output_schema: Option<String>,
}

/// One protocol an agent speaks.
#[derive(Debug, Clone, Default)]
pub struct EndpointView {
    pub kind: String,
    pub version: Option<String>,
    pub endpoint: Option<String>,
    pub transport: Option<String>,
}

/// One trust check.
#[derive(Debug, Clone, Default)]
pub struct CheckView {
    pub name: String,
    /// The lowest tier needing it.
    pub tier: String,
    /// pass, fail or unknown.
    pub status: String,
    pub reason: String,
}

/// The trust chain of an agent version.
#[derive(Debug, Clone, Default)]
pub struct TrustView {
    pub tier: String,
    pub domain: Option<String>,
    pub checks: Vec<CheckView>,
    pub signed_by: Vec<String>,
}

/// The trust chain of a version, or why it could not be judged.
#[derive(Debug, Clone)]
pub enum Judged {
    Chain(TrustView),
    Unavailable(String),
}

impl Default for Judged {
    fn default() -> Judged {
        Judged::Unavailable("not judged".to_owned())
    }
}

/// An artifact attached to the agent's manifest (OCI referrers).
#[derive(Debug, Clone, Default)]
pub struct ReferrerView {
    /// signature, SBOM, provenance or attachment.
    pub kind: String,
    pub artifact_type: String,
    pub digest: String,
}

/// The agent page.
#[derive(Debug, Clone, Default)]
pub struct AgentPage {
    pub namespace: String,
    pub name: String,
    pub version: String,
    pub digest: String,
    pub description: String,
    pub publisher: Option<String>,
    pub trust_tier: String,
    pub source_pod: String,
    /// Every version, highest first.
    pub versions: Vec<String>,
    pub skills: Vec<SkillView>,
    pub endpoints: Vec<EndpointView>,
    /// The trust chain, or why it could not be judged.
    pub trust: Judged,
    pub referrers: Vec<ReferrerView>,
    /// `host[:port]` clients pull from.
    pub registry: String,
}

impl AgentPage {
    /// The commands that pull this version: agentry, skopeo, ORAS.
    pub fn pull_commands(&self) -> Vec<(&'static str, String)> {
        let r = format!(
            "{}/{}/{}:{}",
            self.registry, self.namespace, self.name, self.version
        );
        vec![
            ("agentry", format!("agentry pull {r} -o ./{}", self.name)),
            (
                "skopeo",
                format!(
                    "skopeo copy --src-tls-verify=false docker://{r} oci:{}:{}",
                    self.name, self.version
                ),
            ),
            (
                "ORAS",
                format!("oras pull --plain-http {r} -o ./{}", self.name),
            ),
        ]
    }
}

/// The agent page: what it does, how to reach it, whether to trust it, how to pull it.
pub fn agent_page(chrome: &Chrome, a: &AgentPage) -> Markup {
    let full = format!("{}/{}", a.namespace, a.name);
    let main = html! {
        nav.crumbs aria-label="Breadcrumb" {
            ol {
                li { a href="/" { "Search" } }
                li { a href=(namespace_href(&a.namespace)) { (a.namespace) } }
                li { a href=(agent_href(&a.namespace, &a.name, None)) aria-current="page" { (a.name) } }
            }
        }
        h1 { (full) " " span.version { (a.version) } }
        p.meta {
            (tier_badge(&a.trust_tier))
            @if let Some(p) = &a.publisher { " published by " span.pub { (p) } }
            @if a.source_pod != "local" && !a.source_pod.is_empty() { " · from pod " (a.source_pod) }
        }
        p.desc { (a.description) }
        p.digest { "Digest " code { (a.digest) } }

        section aria-labelledby="h-pull" {
            h2 #h-pull { "Pull" }
            @for (tool, cmd) in a.pull_commands() {
                div.cmd {
                    label for={ "pull-" (tool) } { (tool) }
                    input id={ "pull-" (tool) } type="text" readonly value=(cmd) spellcheck="false";
                }
            }
        }

        section aria-labelledby="h-skills" {
            h2 #h-skills { "Skills" }
            @if a.skills.is_empty() { p { "This record lists no skills." } }
            @for s in &a.skills {
                article.skill {
                    h3 { (s.name) }
                    @if !s.classes.is_empty() {
                        p.meta { @for c in &s.classes {
                            a.cap href=(Filters::default().toggled("capability", c).href()) { (c) } " "
                        } }
                    }
                    @if !s.description.is_empty() { p { (s.description) } }
                    @if let Some(schema) = &s.input_schema {
                        details { summary { "Input schema" } pre tabindex="0" { code { (schema) } } }
                    }
                    @if let Some(schema) = &s.output_schema {
                        details { summary { "Output schema" } pre tabindex="0" { code { (schema) } } }
                    }
                }
            }
        }

        section aria-labelledby="h-proto" {
            h2 #h-proto { "Protocols and endpoints" }
            @if a.endpoints.is_empty() { p { "No endpoint is declared." } } @else {
                table {
                    thead { tr { th scope="col" { "Protocol" } th scope="col" { "Version" } th scope="col" { "Endpoint" } th scope="col" { "Transport" } } }
                    tbody {
                        @for e in &a.endpoints {
                            tr {
                                td { (e.kind) }
                                td { (e.version.as_deref().unwrap_or("—")) }
                                td { @if let Some(u) = &e.endpoint { code { (u) } } @else { "—" } }
                                td { (e.transport.as_deref().unwrap_or("—")) }
                            }
                        }
                    }
                }
            }
        }

        section aria-labelledby="h-trust" {
            h2 #h-trust { "Trust chain" }
            @match &a.trust {
                Judged::Chain(t) => {
                    p { "Judged now: " (tier_badge(&t.tier))
                        @if let Some(d) = &t.domain { " for domain " code { (d) } } }
                    table.checks {
                        thead { tr { th scope="col" { "Check" } th scope="col" { "Needed for" } th scope="col" { "Result" } th scope="col" { "Why" } } }
                        tbody {
                            @for c in &t.checks {
                                tr {
                                    th scope="row" { (c.name) }
                                    td { (c.tier) }
                                    td { span class={ "st st-" (c.status) } { (c.status) } }
                                    td { (c.reason) }
                                }
                            }
                        }
                    }
                    @if !t.signed_by.is_empty() {
                        p { "Signed by keys the publisher's DNS lists: "
                            @for k in &t.signed_by { code.key { (k) } " " } }
                    }
                }
                Judged::Unavailable(why) => { p.notice { "The trust chain could not be judged: " (why) } }
            }
        }

        section aria-labelledby="h-refs" {
            h2 #h-refs { "Referrers" }
            @if a.referrers.is_empty() { p { "Nothing is attached to this manifest (no signature, SBOM or provenance)." } } @else {
                table {
                    thead { tr { th scope="col" { "Kind" } th scope="col" { "Artifact type" } th scope="col" { "Digest" } } }
                    tbody {
                        @for r in &a.referrers {
                            tr { td { (r.kind) } td { code { (r.artifact_type) } } td { code { (r.digest) } } }
                        }
                    }
                }
            }
        }

        section aria-labelledby="h-versions" {
            h2 #h-versions { "Versions" }
            ul.versions {
                @for v in &a.versions {
                    li {
                        @if *v == a.version {
                            a href=(agent_href(&a.namespace, &a.name, Some(v))) aria-current="page" { (v) }
                        } @else {
                            a href=(agent_href(&a.namespace, &a.name, Some(v))) { (v) }
                        }
                    }
                }
            }
        }
    };
    layout(
        chrome,
        Section::Agent,
        &format!("{full} {}", a.version),
        main,
    )
}

/// One mesh member.
#[derive(Debug, Clone, Default)]
pub struct PeerView {
    pub pod: String,
    pub api: String,
    pub state: String,
    pub last_contact_ms_ago: Option<u64>,
    pub lag_events: u64,
}

/// One switchboard source.
#[derive(Debug, Clone, Default)]
pub struct SourceView {
    pub prefix: String,
    pub kind: String,
    pub urls: Vec<String>,
    /// healthy, failing, unknown… with the last error when there is one.
    pub health: String,
    pub detail: String,
}

/// The mesh and switchboard page.
#[derive(Debug, Clone, Default)]
pub struct MeshPage {
    /// This pod's mesh identity, role and counts; `None` when it is not in a mesh.
    pub mesh: Option<MeshSelf>,
    pub peers: Vec<PeerView>,
    pub sources: Vec<SourceView>,
}

#[derive(Debug, Clone, Default)]
pub struct MeshSelf {
    pub pod: String,
    pub role: String,
    pub api: String,
    pub gossip: String,
    /// Agent versions held, by origin pod.
    pub records: Vec<(String, usize)>,
    pub tombstones: usize,
}

pub fn mesh_page(chrome: &Chrome, m: &MeshPage) -> Markup {
    let main = html! {
        h1 { "Mesh and switchboard" }
        section aria-labelledby="h-mesh" {
            h2 #h-mesh { "Mesh" }
            @match &m.mesh {
                None => { p { "This pod is not in a mesh." } }
                Some(s) => {
                    dl.kv {
                        dt { "Pod" } dd { (s.pod) }
                        dt { "Role" } dd { (s.role) }
                        dt { "API" } dd { code { (s.api) } }
                        dt { "Gossip" } dd { code { (s.gossip) } }
                        dt { "Records" } dd {
                            @for (i, (pod, n)) in s.records.iter().enumerate() {
                                @if i > 0 { ", " } (n) " from " (pod)
                            }
                            @if s.records.is_empty() { "none" }
                            " · " (s.tombstones) " tombstones"
                        }
                    }
                    @if m.peers.is_empty() { p { "No peer is known yet." } } @else {
                        table {
                            caption { "Peers" }
                            thead { tr { th scope="col" { "Pod" } th scope="col" { "State" } th scope="col" { "Last contact" } th scope="col" { "Lag (events)" } th scope="col" { "API" } } }
                            tbody {
                                @for p in &m.peers {
                                    tr {
                                        th scope="row" { (p.pod) }
                                        td { span class={ "st st-" (p.state) } { (p.state) } }
                                        td { @if let Some(ms) = p.last_contact_ms_ago { (ms) " ms ago" } @else { "never" } }
                                        td { (p.lag_events) }
                                        td { code { (p.api) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="h-sb" {
            h2 #h-sb { "Switchboard sources" }
            @if m.sources.is_empty() { p { "No switchboard source is configured." } } @else {
                table {
                    thead { tr { th scope="col" { "Prefix" } th scope="col" { "Kind" } th scope="col" { "URLs" } th scope="col" { "Health" } } }
                    tbody {
                        @for s in &m.sources {
                            tr {
                                th scope="row" { "@" (s.prefix) }
                                td { (s.kind) }
                                td { @for u in &s.urls { code { (u) } " " } }
                                td { span class={ "st st-" (s.health) } { (s.health) } @if !s.detail.is_empty() { " " (s.detail) } }
                            }
                        }
                    }
                }
            }
        }
    };
    layout(chrome, Section::Mesh, "Mesh", main)
}

/// An error page: the status, what went wrong and, for a bad parameter, which one.
pub fn error_page(
    chrome: &Chrome,
    status: u16,
    title: &str,
    detail: &str,
    field: Option<&str>,
) -> Markup {
    let main = html! {
        h1 { (status) " " (title) }
        div.notice role="alert" {
            @if let Some(f) = field { p { "Parameter " code.field { (f) } ": " (detail) } }
            @else { p { (detail) } }
        }
        p { a href="/" { "Back to search" } }
    };
    layout(chrome, Section::Error, title, main)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is a test's failure report
mod tests {
    use super::*;

    fn chrome() -> Chrome {
        Chrome {
            pod: "pod-a".into(),
            mesh_view: true,
        }
    }

    fn item(desc: &str) -> ResultItem {
        ResultItem {
            namespace: "acme".into(),
            name: "bot".into(),
            version: "1.0.0".into(),
            description: desc.into(),
            capabilities: vec!["nlp/summarization".into()],
            protocols: vec!["a2a".into()],
            trust_tier: "basic".into(),
            source_pod: "local".into(),
        }
    }

    #[test]
    fn record_text_is_escaped() {
        let page = SearchPage {
            items: vec![item("<script>alert(1)</script> & \"quotes\"")],
            ..SearchPage::default()
        };
        let html = search_page(&chrome(), &page).into_string();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;"));

        let a = AgentPage {
            namespace: "acme".into(),
            name: "bot".into(),
            version: "1.0.0".into(),
            description: "<img src=x onerror=alert(1)>".into(),
            skills: vec![SkillView {
                name: "<b>x</b>".into(),
                input_schema: Some("{\"a\":\"</code><script>\"}".into()),
                ..SkillView::default()
            }],
            trust: Judged::Unavailable("<i>no</i>".into()),
            versions: vec!["1.0.0".into()],
            registry: "localhost:5000".into(),
            ..AgentPage::default()
        };
        let html = agent_page(&chrome(), &a).into_string();
        assert!(!html.contains("<img src=x"));
        assert!(!html.contains("<script>"));
        assert!(!html.contains("<b>x</b>"));
        assert!(!html.contains("<i>no</i>"));
    }

    #[test]
    fn pages_have_landmarks_labels_and_a_skip_link() {
        let html = search_page(&chrome(), &SearchPage::default()).into_string();
        assert!(html.starts_with("<!DOCTYPE html><html lang=\"en\">"));
        assert!(html.contains("<a class=\"skip\" href=\"#main\">"));
        assert!(html.contains("<main id=\"main\""));
        assert!(html.contains("<nav aria-label=\"Sections\">"));
        assert!(html.contains("role=\"search\""));
        // Every input and select has a label pointing at it.
        for id in [
            "q",
            "semantic",
            "capability",
            "protocol",
            "min_trust",
            "namespace",
            "os",
            "arch",
            "gpu",
            "max_input_tokens",
        ] {
            assert!(html.contains(&format!("<label for=\"{id}\">")), "{id}");
            assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
        }
        assert!(html.contains("aria-current=\"page\">Search</a>"));
        // No script and nothing from elsewhere.
        assert!(!html.contains("<script"));
        assert!(!html.contains("http://") && !html.contains("https://"));
    }

    #[test]
    fn partial_federated_results_name_the_failed_peers() {
        let page = SearchPage {
            failed: vec![PeerFailure {
                pod: "pod-b".into(),
                reason: "connection refused".into(),
            }],
            mesh: true,
            ..SearchPage::default()
        };
        let html = search_page(&chrome(), &page).into_string();
        assert!(html.contains("Partial result"));
        assert!(html.contains("pod-b"));
        assert!(html.contains("connection refused"));
        assert!(html.contains("name=\"scope\""));
    }

    #[test]
    fn agent_page_links_versions_and_pull_commands() {
        let a = AgentPage {
            namespace: "acme/team".into(),
            name: "bot".into(),
            version: "2.0.0".into(),
            versions: vec!["2.0.0".into(), "1.0.0".into()],
            registry: "localhost:5000".into(),
            trust: Judged::Chain(TrustView {
                tier: "basic".into(),
                checks: vec![CheckView {
                    name: "digest".into(),
                    tier: "basic".into(),
                    status: "pass".into(),
                    reason: "ok".into(),
                }],
                ..TrustView::default()
            }),
            ..AgentPage::default()
        };
        let html = agent_page(&chrome(), &a).into_string();
        assert!(html.contains("href=\"/agents/acme%2Fteam/bot/1.0.0\""));
        assert!(html.contains("agentry pull localhost:5000/acme/team/bot:2.0.0"));
        assert!(html.contains("skopeo copy"));
        assert!(html.contains("oras pull"));
        assert!(html.contains("<th scope=\"row\">digest</th>"));
        assert!(html.contains("href=\"/namespaces/acme/team\""));
    }

    #[test]
    fn next_page_link_carries_the_filters_and_cursor() {
        let page = SearchPage {
            filters: Filters {
                q: "pdf".into(),
                ..Filters::default()
            },
            next_cursor: Some("abc".into()),
            ..SearchPage::default()
        };
        let html = search_page(&chrome(), &page).into_string();
        assert!(html.contains("href=\"/?q=pdf&amp;cursor=abc\""));
    }

    #[test]
    fn error_pages_name_the_field() {
        let html = error_page(
            &chrome(),
            400,
            "Bad Request",
            "expected all or any",
            Some("capability_match"),
        )
        .into_string();
        assert!(html.contains("400 Bad Request"));
        assert!(html.contains("capability_match"));
    }

    #[test]
    fn the_stylesheet_is_small() {
        assert!(crate::CSS.len() < 10 * 1024, "{}", crate::CSS.len());
        assert!(crate::CSS.contains(":focus-visible"));
    }
}
