"""Run the conformance checks on one backend and report: ``python -m mxplug.testing``."""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field

from .checks import CHECKS, Result
from .coverage import format_backend

__all__ = ["Report", "run", "main"]

#: Lines of a failure's message the summary shows.
MAX_DETAIL_LINES = 8


@dataclass
class Report:
    """What :func:`run` found: every check's :class:`~mxplug.testing.checks.Result`, the
    backend's coverage column (``{op: status}``), and seconds per category."""

    backend: str
    context: str
    results: list = field(default_factory=list)
    coverage: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)

    @property
    def failures(self) -> list:
        return [r for r in self.results if r.status == "fail"]

    @property
    def passed(self) -> bool:
        """True when no check failed (skips, for dtypes the device lacks, are not failures)."""
        return not self.failures and bool(self.results)

    def summary(self) -> str:
        """One line per category with pass/fail/skip counts, then each failure."""
        lines = [f"conformance of backend {self.backend!r} on {self.context}:"]
        for cat in dict.fromkeys(r.category for r in self.results):
            rs = [r for r in self.results if r.category == cat]
            n = {s: sum(r.status == s for r in rs) for s in ("pass", "fail", "skip")}
            lines.append(f"  {cat:<10} {n['pass']:4d} passed  {n['fail']:4d} failed  "
                         f"{n['skip']:4d} skipped  ({self.seconds.get(cat, 0):.1f} s)")
        for r in self.failures:
            # NumPy's assertion messages run to a dozen lines: the first few locate the error.
            detail = [ln for ln in r.detail.splitlines() if ln.strip()]
            lines.append(f"FAIL {r.category}: {r.name}: " + (detail[0] if detail else ""))
            lines += [f"     {ln}" for ln in detail[1:MAX_DETAIL_LINES]]
        verdict = "PASSED" if self.passed else "FAILED"
        lines.append(f"{verdict}: {sum(r.status == 'pass' for r in self.results)} passed, "
                     f"{len(self.failures)} failed, "
                     f"{sum(r.status == 'skip' for r in self.results)} skipped")
        return "\n".join(lines)


def _context_for(backend_name: str, device_type: str | None, device_id: int):
    from .. import Context, backends

    be = backends.get(backend_name)  # raises, naming the reason, when it is unavailable
    dtype = device_type or be.device_type
    if dtype != be.device_type:
        raise backends.registry.MXNetValueError(
            f"backend {backend_name!r} serves device type {be.device_type!r}, not {dtype!r}")
    ctx = Context(dtype, device_id)
    if ctx.backend is not be:
        raise backends.registry.MXNetValueError(
            f"{ctx} is served by backend {ctx.backend.name!r}, not {backend_name!r} "
            f"(set MXPLUG_BACKEND_{dtype.upper()}={backend_name})")
    return ctx


def run(backend: str, device_type: str | None = None, device_id: int = 0, quick: bool = False,
        only: tuple = (), progress=None) -> Report:
    """Run the checks (all, or the categories in ``only``) on ``backend``'s device.

    Parameters
    ----------
    backend : str
        A backend name as ``mxplug info`` lists it (``numpy``, ``opencl``, a plugin's name).
    device_type : str, optional
        The context type to test; default: the one the backend serves.
    device_id : int
        Which device of that type (default 0).
    quick : bool
        Float32 op samples only, gradients of a dozen ops, shorter training: for CI.
    only : tuple of str
        Categories of :data:`~mxplug.testing.checks.CHECKS` to run (default: all).
    progress : callable, optional
        Called with each category's name before it runs.
    """
    from .. import backends, random

    ctx = _context_for(backend, device_type, device_id)
    report = Report(backend, str(ctx))
    report.coverage = {op: row[backend] for op, row in backends.coverage(backend).items()}
    state = random.get_state()  # the checks seed mxplug's generator: leave the caller's alone
    try:
        for cat, check in CHECKS.items():
            if only and cat not in only:
                continue
            if progress is not None:
                progress(cat)
            t0 = time.perf_counter()
            try:
                report.results += check(ctx, quick)
            except Exception as e:  # a check's own setup failed: report it, run the others
                report.results.append(Result(cat, "setup", "fail", f"{type(e).__name__}: {e}"))
            report.seconds[cat] = time.perf_counter() - t0
    finally:
        random.set_state(state)
    return report


def main(argv=None) -> int:
    """``python -m mxplug.testing --backend NAME [--device-type T] [--quick]``; exit status 0
    only when every check passed."""
    p = argparse.ArgumentParser(
        prog="python -m mxplug.testing",
        description="mxplug's backend conformance kit: op samples, gradients, hybridize vs "
                    "eager, Gluon training, transfers and random streams against the NumPy "
                    "backend, and the op coverage table.")
    p.add_argument("--backend", required=True, help="backend name, as `mxplug info` lists it")
    p.add_argument("--device-type", help="context type to test (default: the backend's own)")
    p.add_argument("--device-id", type=int, default=0, help="device id (default 0)")
    p.add_argument("--quick", action="store_true",
                   help="float32 samples, a dozen gradient checks, short training (CI)")
    p.add_argument("--only", action="append", choices=list(CHECKS), default=[],
                   help="run only this category (repeatable)")
    p.add_argument("--no-table", action="store_true", help="leave out the coverage table")
    p.add_argument("-v", "--verbose", action="store_true", help="list every check's result")
    args = p.parse_args(argv)

    from ..base import MXNetError

    def progress(cat):
        print(f"running {cat} ...", file=sys.stderr, flush=True)

    try:
        report = run(args.backend, args.device_type, args.device_id, args.quick,
                     tuple(args.only), progress)
    except MXNetError as e:
        print(f"python -m mxplug.testing: {e}", file=sys.stderr)
        return 2
    if not args.no_table:
        table = {op: {args.backend: s} for op, s in report.coverage.items()}
        print(format_backend(table, args.backend))
        print()
    if args.verbose:
        for r in report.results:
            print(f"{r.status.upper():4} {r.category}: {r.name}" + (f"  {r.detail}"
                                                                     if r.detail else ""))
        print()
    print(report.summary())
    return 0 if report.passed else 1
