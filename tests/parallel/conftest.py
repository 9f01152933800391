"""Under ``mpiexec``, every rank writes its own pytest tally to ``$MXPLUG_PARALLEL_REPORT/
rank<r>.json``, so tests/test_parallel.py reads per-rank results instead of parsing the ranks'
interleaved terminal output."""

from __future__ import annotations

import json
import os


def pytest_terminal_summary(terminalreporter, exitstatus):
    report_dir = os.environ.get("MXPLUG_PARALLEL_REPORT")
    if not report_dir:
        return
    stats = terminalreporter.stats
    tally = {kind: len(stats.get(kind, [])) for kind in ("passed", "failed", "error", "skipped")}
    tally["exitstatus"] = int(exitstatus)
    tally["failures"] = [r.nodeid for r in stats.get("failed", []) + stats.get("error", [])]
    rank = os.environ.get("PMI_RANK") or os.environ.get("OMPI_COMM_WORLD_RANK") or "0"
    with open(os.path.join(report_dir, f"rank{rank}.json"), "w") as f:
        json.dump(tally, f)
