#!/usr/bin/env python3
"""Print the discovery benchmark results (bench/search/run) as a Markdown table."""
import json, pathlib, sys

d = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "/work/bench-data/search/results")
# Which encoder's semantic results to show: int8 (default, as a new pod embeds) or f32 (PRECISION=f32 bench/search/run).
precision = sys.argv[2] if len(sys.argv) > 2 else "int8"

def load(name):
    p = d / name
    return json.loads(p.read_text()) if p.exists() and p.stat().st_size else None

sizes = sorted({int(p.stem.split("-")[-1]) for p in d.glob("*.json")})
def lat(q, k):
    v = (q or {}).get(k, {}).get("latency") if q else None
    return f"{v['p50_ms']:.3f} / {v['p99_ms']:.3f}" if v else "–"

rows = [
    ("exact: name@latest (p50/p99 ms)", lambda n, q, s, i, si, pg: lat(q, "exact_name_latest")),
    ("exact: name@^1 range", lambda n, q, s, i, si, pg: lat(q, "exact_version_range")),
    ("exact: digest", lambda n, q, s, i, si, pg: lat(q, "exact_digest")),
    ("capability", lambda n, q, s, i, si, pg: lat(q, "capability")),
    ("capability + 3 filters", lambda n, q, s, i, si, pg: lat(q, "capability_filtered")),
    ("capability + facets", lambda n, q, s, i, si, pg: lat(q, "capability_facets")),
    ("full-text (BM25, top 10)", lambda n, q, s, i, si, pg: lat(q, "fulltext")),
    ("PostgreSQL ts_rank + GIN, same queries", lambda n, q, s, i, si, pg: (f"{pg['fulltext']['latency']['p50_ms']:.2f} / {pg['fulltext']['latency']['p99_ms']:.2f}" if pg else "–")),
    ("full-text + 2 filters", lambda n, q, s, i, si, pg: lat(q, "fulltext_filtered")),
    ("semantic incl. query embedding", lambda n, q, s, i, si, pg: lat(s, "semantic")),
    ("hybrid (RRF) incl. embedding", lambda n, q, s, i, si, pg: lat(s, "hybrid")),
    ("query embedding alone", lambda n, q, s, i, si, pg: (f"{s['query_embedding']['p50_ms']:.2f} / {s['query_embedding']['p99_ms']:.2f}" if s else "–")),
    ("recall@10 vs brute force", lambda n, q, s, i, si, pg: (f"{s['recall_at_10']:.3f}" if s else "–")),
    ("recall@10, ties counted (ann-benchmarks)", lambda n, q, s, i, si, pg: (f"{s['recall_at_10_with_ties']:.3f}" if s and 'recall_at_10_with_ties' in s else "–")),
    ("ingest without embedding (records/s)", lambda n, q, s, i, si, pg: (f"{i['ingest_records_per_s_without_embedding']:,.0f}" if i else "–")),
    ("batched embedding (records/s, per core)", lambda n, q, s, i, si, pg: (f"{si['embed_records_per_s']:,.0f} ({si['embed_records_per_s_per_core']:,.0f}/core)" if si and si.get('embed_records_per_s') else "–")),
    ("single push upsert p50/p99 ms", lambda n, q, s, i, si, pg: (f"{i['single_upsert_push_path']['p50_ms']:.1f} / {i['single_upsert_push_path']['p99_ms']:.1f}" if i else "–")),
    ("index on disk, lexical (bytes/agent)", lambda n, q, s, i, si, pg: (f"{i['disk_bytes']/1e6:,.0f} MB ({i['disk_bytes_per_agent']:,.0f})" if i else "–")),
    ("index on disk, with vectors", lambda n, q, s, i, si, pg: (f"{si['disk_bytes']/1e6:,.0f} MB ({si['disk_bytes_per_agent']:,.0f})" if si else "–")),
    ("PostgreSQL table + GIN on disk", lambda n, q, s, i, si, pg: (f"{pg['table_bytes']/1e6:,.0f} MB" if pg else "–")),
    ("RSS per agent, lexical (anon)", lambda n, q, s, i, si, pg: (f"{q['rss_bytes_per_agent']:,.0f} B ({q['anon_rss_bytes_per_agent']:,.0f} B)" if q else "–")),
    ("RSS per agent, with vectors (anon)", lambda n, q, s, i, si, pg: (f"{s['rss_bytes_per_agent']:,.0f} B ({s['anon_rss_bytes_per_agent']:,.0f} B)" if s else "–")),
    ("cold open of the index (s)", lambda n, q, s, i, si, pg: (f"{q['open_s']:.1f}" + (f" / {s['open_s']:.1f} with vectors" if s else "")) if q else "–"),
]
print("| | " + " | ".join(f"{n:,} agents" for n in sizes) + " |")
print("|---|" + "---|" * len(sizes))
for label, f in rows:
    cells = []
    for n in sizes:
        try:
            cells.append(f(n, load(f"query-lex-{n}.json"), load(f"query-sem-{precision}-{n}.json"), load(f"ingest-lex-{n}.json"), load(f"ingest-sem-{precision}-{n}.json"), load(f"pg-{n}.json")))
        except Exception as e:  # a missing or partial result file
            cells.append("–")
    print(f"| {label} | " + " | ".join(cells) + " |")
