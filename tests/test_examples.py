"""The README's main job: examples/quickstart.py trains a real model (digits MLP) end to end."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

QUICKSTART = Path(__file__).resolve().parent.parent / "examples" / "quickstart.py"


def test_quickstart_trains_digits_mlp(capsys):
    pytest.importorskip("sklearn", reason="the digits data ships with scikit-learn ([demo] extra)")
    spec = importlib.util.spec_from_file_location("quickstart", QUICKSTART)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--epochs", "15"])
    out = capsys.readouterr().out
    last = out.strip().splitlines()[-1]
    match = re.fullmatch(r"test accuracy: (\d\.\d+)", last)
    assert match, f"unexpected last line: {last!r}"
    assert float(match.group(1)) >= 0.93


def test_mxplug_demo_reaches_96_percent(capsys):
    """The README's main job: `mxplug demo` (Gluon MLP + CNN on digits, hybridized)."""
    pytest.importorskip("sklearn", reason="the digits data ships with scikit-learn ([demo] extra)")
    from mxplug import demo

    acc = demo.main(progress=False)
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.fullmatch(r"test accuracy: \d\.\d{4}", last), last
    assert acc >= 0.96


def test_lenet_tutorial_script_runs_unchanged_but_the_import(capsys):
    """MXNet's Gluon LeNet tutorial (digits upscaled to 28x28): it learns."""
    pytest.importorskip("sklearn", reason="the digits data ships with scikit-learn ([demo] extra)")
    path = Path(__file__).resolve().parent.parent / "examples" / "lenet_digits.py"
    spec = importlib.util.spec_from_file_location("lenet_digits", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    acc = module.main(["--epochs", "4"])
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("test accuracy: ")
    assert acc > 0.8
