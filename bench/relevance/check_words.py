#!/usr/bin/env python3
"""Lists query words that also occur (crudely: same first five letters) in a target's name,
description or other strings, so a judged query can be reworded to avoid its target's words.
Run from the repository root; prints nothing when every query is a paraphrase."""
import json, pathlib, re

STOP = set("a an the and or of to in on for with my me i is it be by at as from that this what which how can let do does will when where who your our into about any all some get out one two up so than then them they its are was were there here find show give need want make like just also new use using over via not no only each every other per through s".split())
def toks(s): return [w for w in re.findall(r"[a-z0-9]+", s.lower()) if w not in STOP]
def stem(w): return w[:5] if len(w) >= 5 else w
def strings(v, out):
    if isinstance(v, str): out.append(v)
    elif isinstance(v, dict):
        for k, x in v.items():
            if k not in ("examples", "url", "schema", "$schema", "inputSchema", "id"): strings(x, out)
    elif isinstance(v, list):
        for x in v: strings(x, out)
data = pathlib.Path("testdata/real")
text = {}
for x in json.load(open(data / "mcp/seed/seed_2025_05_16.json")):
    text["mcp:" + x["name"]] = " ".join([x["name"], x.get("description", "")])
for c in ["a2a", "oasf"]:
    root = data / c / "examples"
    for f in root.rglob("*.json"):
        out = []; strings(json.load(open(f)), out)
        text[c + ":" + str(f.relative_to(root).with_suffix(""))] = " ".join(out)
for c in ["mcp", "a2a", "oasf"]:
    for q in json.load(open(f"bench/relevance/queries/{c}.json"))["queries"]:
        qs = {stem(w) for w in toks(q["q"])}
        for t in q["targets"]:
            ov = qs & {stem(w) for w in toks(text[c + ":" + t])}
            if ov: print(q["id"], q["q"][:60], "|", t, sorted(ov))
