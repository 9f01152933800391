"""The benchmark scripts still run and still check what they time (no timings are asserted:
speed is measured by running them, see benchmarks/README.md)."""

from __future__ import annotations

import argparse
import os
import sys

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")


@pytest.fixture(autouse=True)
def _bench_path(monkeypatch):
    monkeypatch.syspath_prepend(BENCH)


def test_bench_ops_results_match_the_reference(ctx):
    import bench_ops

    args = argparse.Namespace(repeat=1, ctx=str(ctx), no_torch=True, no_import=True)
    results = bench_ops.run(args)["results"]
    assert len(results) >= 6
    for r in results:  # every row ran and agreed with NumPy (a mismatch is noted, not raised)
        assert r["note"] == "" and r["mxplug_us"] > 0, r


@pytest.mark.parametrize("hybridize", [False, True])
def test_profile_gluon_prints_phases_and_the_profile(capsys, hybridize):
    import profile_gluon

    profile_gluon.main(["--steps", "2", "--top", "3"] + (["--hybridize"] if hybridize else []))
    out = capsys.readouterr().out
    assert "forward" in out and "backward" in out and "update" in out and "samples/s" in out
    assert "ncalls" in out and "tottime" in out
    assert sys.modules["profile_gluon"].MODELS.keys() == {"mlp", "lenet"}
