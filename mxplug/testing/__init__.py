"""The backend conformance kit: what a backend (a plugin or an in-tree one) must get right.

``python -m mxplug.testing --backend NAME [--device-type T] [--quick]`` runs, on the backend's
device 0, every op sample of the registry against the same call on the NumPy backend, gradient
checks (VJP against finite differences), hybridized against eager networks, a short Gluon
training run, transfers to and from NumPy, and random reproducibility; it prints the op x
(native / generic / composite / host-fallback / missing) coverage table and a pass/fail summary,
and exits 0 only when everything passed. From Python: ``mxplug.testing.run("mydev").passed``.
"""
from .checks import CHECKS, Result
from .kit import Report, main, run

__all__ = ["CHECKS", "Report", "Result", "main", "run"]
