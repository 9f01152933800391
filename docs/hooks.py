"""MkDocs hook: fills ``{{ ops_table }}`` in api/ops.md with a table built from the op registry."""
from __future__ import annotations

import html
import os
import sys
from collections import defaultdict

MARKER = "{{ ops_table }}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _family(op) -> str:
    body = op.generic or op.composite or next(iter(op.kernels.values()), None)
    return body.__module__.rsplit(".", 1)[-1] if body is not None else "declared only"


def ops_table() -> str:
    """One section per op family: name, aliases, inputs, attributes with defaults, summary."""
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from mxplug.ops import REGISTRY

    families = defaultdict(list)
    for name, op in REGISTRY.items():
        if name == op.name:                       # aliases are listed with their op
            families[_family(op)].append(op)
    total = sum(map(len, families.values()))
    out = [f"{total} ops are registered ({len(REGISTRY)} names with aliases).", ""]
    for fam in sorted(families):
        out += [f"## {fam}", "", "| op | aliases | inputs | attributes | summary |",
                "| --- | --- | --- | --- | --- |"]
        for op in sorted(families[fam], key=lambda o: o.name):
            aliases = ", ".join(f"`{a}`" for a in op.aliases)
            inputs = ", ".join(op.inputs) + (" ..." if op.variadic else "")
            attrs = ", ".join(f"{k}={v!r}" for k, v in op.defaults.items())
            summary = html.escape((op.doc or "").strip().split("\n")[0])
            out.append("| " + " | ".join(_cell(c) for c in (
                f"`{op.name}`", aliases, f"`{inputs}`" if inputs else "",
                f"`{attrs}`" if attrs else "", summary)) + " |")
        out.append("")
    return "\n".join(out)


def on_page_markdown(markdown, page, **kwargs):
    if MARKER in markdown:
        return markdown.replace(MARKER, ops_table())
    return markdown
