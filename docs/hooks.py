"""MkDocs hook: fills ``{{ ops_table }}`` in api/ops.md with a table built from the op registry,
and ``{{ coverage_table }}`` in api/coverage.md with ``mx.backends.coverage()``."""
from __future__ import annotations

import html
import os
import sys
from collections import defaultdict

MARKER = "{{ ops_table }}"
COVERAGE_MARKER = "{{ coverage_table }}"


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


def coverage_table() -> str:
    """Op x backend status for every backend available where the site is built, then totals."""
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import mxplug
    from mxplug.testing.coverage import STATUSES, counts

    table = mxplug.backends.coverage()
    backends = list(next(iter(table.values())))
    absent = [f"`{b.name}` ({b.reason})" for b in mxplug.backends.list() if not b.available]
    out = ["Backends in this table: " + ", ".join(f"`{b}`" for b in backends) + "."]
    if absent:
        out[0] += " Unavailable where the site was built, so not shown: " + "; ".join(
            _cell(a) for a in absent) + "."
    out += ["", "| backend | " + " | ".join(STATUSES) + " |",
            "| --- |" + " --- |" * len(STATUSES)]
    for b in backends:
        n = counts(table, b)
        out.append(f"| `{b}` | " + " | ".join(str(n[s]) for s in STATUSES) + " |")
    out += ["", "| op | " + " | ".join(f"`{b}`" for b in backends) + " |",
            "| --- |" + " --- |" * len(backends)]
    for name, row in table.items():
        out.append(f"| `{name}` | " + " | ".join(row[b] for b in backends) + " |")
    return "\n".join(out)


def on_page_markdown(markdown, page, **kwargs):
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, ops_table())
    if COVERAGE_MARKER in markdown:
        markdown = markdown.replace(COVERAGE_MARKER, coverage_table())
    return markdown
