"""``base.atomic_write``: every user file mxplug writes goes through it."""

from __future__ import annotations

import os
import stat

import pytest

import mxplug as mx
from mxplug.base import MXNetFileError, atomic_write


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_writes_with_open_mode_and_leaves_nothing_behind(tmp_path):
    target = tmp_path / "f.bin"
    atomic_write(target, lambda f: f.write(b"abc"))
    assert target.read_bytes() == b"abc"
    mask = os.umask(0)
    os.umask(mask)
    assert _mode(target) == 0o666 & ~mask  # not mkstemp's 0600
    assert os.listdir(tmp_path) == ["f.bin"]


def test_a_failing_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")

    def broken(f):
        f.write(b"partial")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        atomic_write(target, broken)
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["f.bin"]


def test_a_missing_directory_names_the_file(tmp_path):
    with pytest.raises(MXNetFileError, match=r"symbol file .*nodir.*net-symbol\.json"):
        mx.sym.var("x").save(str(tmp_path / "nodir" / "net-symbol.json"))


def test_symbol_and_trainer_files_get_normal_modes(tmp_path):
    mx.sym.var("x").save(str(tmp_path / "a-symbol.json"))
    net = mx.gluon.nn.Dense(2, in_units=3)
    net.initialize()
    trainer = mx.gluon.Trainer(net.collect_params(), "sgd")
    trainer.save_states(str(tmp_path / "t.states"))
    mask = os.umask(0)
    os.umask(mask)
    for name in ("a-symbol.json", "t.states"):
        assert _mode(tmp_path / name) == 0o666 & ~mask


def test_kvstore_optimizer_states_go_through_atomic_write(tmp_path):
    kv = mx.kv.create("local")
    kv.set_optimizer(mx.optimizer.SGD(momentum=0.9))
    kv.init(0, mx.nd.ones((2,)))
    kv.push(0, mx.nd.ones((2,)))
    with pytest.raises(MXNetFileError, match=r"optimizer states file .*nodir"):
        kv.save_optimizer_states(str(tmp_path / "nodir" / "kv.states"))
    kv.save_optimizer_states(str(tmp_path / "kv.states"))
    assert os.listdir(tmp_path) == ["kv.states"]
    kv.load_optimizer_states(str(tmp_path / "kv.states"))
