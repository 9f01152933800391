"""mx.mod.BucketingModule and SequentialModule, inference-only binding, dist_sync over MPI ranks
and MXNet tutorials' Module idioms (the plain Module is ``test_module.py``)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import mxplug as mx

from .module_helpers import (
    N_HID,
    N_IN,
    N_OUT,
    _batch,
    _dataset,
    _mlp,
    _nd_params,
    _np_forward,
    _np_grads,
    _params,
)


# -- BucketingModule -----------------------------------------------------------------------------
def _sym_gen(seq_len):
    data = mx.sym.Variable("data")  # (batch, seq_len, N_IN): parameters do not depend on seq_len
    fc = mx.sym.FullyConnected(mx.sym.mean(data, axis=1), num_hidden=N_OUT, name="fc")
    return mx.sym.SoftmaxOutput(fc, name="softmax"), ("data",), ("softmax_label",)


class _BucketIter(mx.io.DataIter):
    def __init__(self, batches):
        super().__init__(batch_size=batches[0].data[0].shape[0])
        self.batches, self.i = batches, 0
        first = batches[0]
        self.provide_data, self.provide_label = first.provide_data, first.provide_label

    def reset(self):
        self.i = 0

    def next(self):
        if self.i == len(self.batches):
            raise StopIteration
        self.i += 1
        return self.batches[self.i - 1]


def _bucket_batch(rng, seq_len, batch=8):
    x = rng.randn(batch, seq_len, N_IN).astype(np.float32)
    y = rng.randint(0, N_OUT, batch).astype(np.float32)
    return mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)], bucket_key=seq_len,
                           provide_data=[mx.io.DataDesc("data", x.shape)],
                           provide_label=[mx.io.DataDesc("softmax_label", y.shape)])


def test_bucketing_module_shares_parameters():
    rng = np.random.RandomState(0)
    batches = [_bucket_batch(rng, n) for n in (5, 3, 5, 2)]
    mod = mx.mod.BucketingModule(_sym_gen, default_bucket_key=5)
    mod.bind(batches[0].provide_data, batches[0].provide_label)
    w0 = rng.randn(N_OUT, N_IN).astype(np.float32)
    mod.init_params(arg_params={"fc_weight": mx.nd.array(w0), "fc_bias": mx.nd.zeros(N_OUT)})
    mod.init_optimizer(optimizer_params={"learning_rate": 0.5})
    w, b = w0.astype(np.float64), np.zeros(N_OUT)
    for batch in batches:  # each step equals plain SGD on the batch's mean features
        mod.forward_backward(batch)
        mod.update()
        x = batch.data[0].asnumpy().mean(1)
        z = x @ w.T + b
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        dz = (p - np.eye(N_OUT)[batch.label[0].asnumpy().astype(int)]) / 8
        w, b = w - 0.5 * dz.T @ x, b - 0.5 * dz.sum(0)
        assert mod.get_outputs()[0].shape == (8, N_OUT)
    assert sorted(mod._buckets) == [2, 3, 5]
    args, _ = mod.get_params()
    np.testing.assert_allclose(args["fc_weight"].asnumpy(), w, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(args["fc_bias"].asnumpy(), b, rtol=1e-4, atol=1e-5)
    shared = {id(m._exec_group.execs[0].arg_dict["fc_weight"]) for m in mod._buckets.values()}
    assert len(shared) == 1  # one weight array for every bucket


def test_bucketing_module_fit_and_score():
    rng = np.random.RandomState(1)
    w = rng.randn(N_OUT, N_IN)
    batches = []
    for n in (4, 2, 4, 3) * 3:
        x = rng.randn(8, n, N_IN).astype(np.float32) + 0.5 * rng.randn(8, 1, N_IN)
        y = (x.mean(1) @ w.T).argmax(1).astype(np.float32)
        batches.append(mx.io.DataBatch(
            [mx.nd.array(x)], [mx.nd.array(y)], bucket_key=n,
            provide_data=[mx.io.DataDesc("data", x.shape)],
            provide_label=[mx.io.DataDesc("softmax_label", y.shape)]))
    it = _BucketIter(batches)
    mod = mx.mod.BucketingModule(_sym_gen, default_bucket_key=4)
    mod.fit(it, num_epoch=15, optimizer_params={"learning_rate": 1.0})
    ((_, acc),) = mod.score(it, "acc")
    assert acc > 0.7 and sorted(mod._buckets) == [2, 3, 4]
    assert mod.symbol.list_arguments() == ["data", "fc_weight", "fc_bias", "softmax_label"]


# -- SequentialModule ----------------------------------------------------------------------------
def test_sequential_module_equals_one_module():
    x, y = _dataset(10)
    p = _params()
    hidden = mx.sym.Activation(mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=N_HID,
                                                     name="fc1"), act_type="relu")
    head = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(mx.sym.Variable("hidden"),
                                                      num_hidden=N_OUT, name="fc2"),
                                name="softmax")
    seq = mx.mod.SequentialModule()
    seq.add(mx.mod.Module(hidden, label_names=None)).add(
        mx.mod.Module(head, data_names=["hidden"]), take_labels=True, auto_wiring=True)
    seq.bind([("data", (10, N_IN))], [("softmax_label", (10,))])
    seq.init_params(arg_params=_nd_params(p), allow_extra=True)
    seq.init_optimizer(optimizer_params={"learning_rate": 0.1})
    seq.forward_backward(_batch(x, y))
    np.testing.assert_allclose(seq.get_outputs()[0].asnumpy(), _np_forward(p, x), rtol=1e-5,
                               atol=1e-6)
    seq.update()
    want = _np_grads(p, x, y)
    args, _ = seq.get_params()
    assert sorted(args) == sorted(p)
    for name in p:  # the gradient went through both modules
        np.testing.assert_allclose(args[name].asnumpy(), p[name] - 0.1 * want[name] / 10,
                                   rtol=1e-4, atol=1e-6)
    metric = mx.metric.Accuracy()
    seq.update_metric(metric, [mx.nd.array(y)])
    assert metric.num_inst == 10 and seq.output_shapes == [("softmax_output", (10, N_OUT))]
    with pytest.raises(ValueError, match="Unknown meta"):
        seq.add(mx.mod.Module(head, data_names=["hidden"]), take_label=True)


# -- inference without labels --------------------------------------------------------------------
def test_bind_for_inference_without_label_shapes():
    x, _ = _dataset(7)
    p = _params()
    mod = mx.mod.Module(_mlp())
    with pytest.warns(UserWarning, match="don't match names specified by label_names"):
        mod.bind([("data", (10, N_IN))], for_training=False)
    mod.set_params(_nd_params(p), {})
    assert mod.label_shapes is None
    with pytest.warns(UserWarning, match="label_names"):  # each re-shape warns, as in MXNet
        out = mod.predict(mx.nd.array(x))  # 7 rows: re-shaped without labels
    np.testing.assert_allclose(out.asnumpy(), _np_forward(p, x), rtol=1e-5, atol=1e-6)
    with pytest.warns(UserWarning, match="label_names"):
        out = mod.predict(mx.io.NDArrayIter(x, batch_size=10))
    np.testing.assert_allclose(out.asnumpy(), _np_forward(p, x), rtol=1e-5, atol=1e-6)


# -- dist_sync over MPI ranks ------------------------------------------------------------------
_MPIEXEC = Path(sys.executable).parent / "mpiexec"


@pytest.mark.skipif(importlib.util.find_spec("mpi4py") is None or not _MPIEXEC.exists(),
                    reason="needs mpi4py and an mpiexec next to the Python")
def test_fit_dist_sync_on_2_ranks(tmp_path):
    """Each rank fits its half of the data; gradients are summed over the ranks, so both end
    with the same weights, and rescale_grad counts both ranks' samples."""
    script = tmp_path / "fit.py"
    script.write_text(textwrap.dedent(f"""
        import json, sys
        import numpy as np
        import mxplug as mx
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from module_helpers import _dataset, _mlp
        kv = mx.kv.create("dist_sync")
        x, y = _dataset(120)
        r, n = kv.rank, kv.num_workers
        it = mx.io.NDArrayIter(x[r::n], y[r::n], batch_size=20)
        mod = mx.mod.Module(_mlp())
        mod.fit(it, num_epoch=4, kvstore=kv, optimizer_params={{"learning_rate": 0.5}},
                initializer=mx.init.Xavier())
        w = mod.get_params()[0]["fc1_weight"]
        both = kv.comm.allgather(w).asnumpy()
        row = {{"rank": r, "size": n, "rescale": mod._optimizer.rescale_grad,
               "acc": mod.score(it, "acc")[0][1],
               "diff": float(np.abs(both[:len(both) // 2] - both[len(both) // 2:]).max())}}
        with open({str(tmp_path)!r} + f"/rank{{r}}.json", "w") as f:
            json.dump(row, f)
    """))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PMI_", "PMIX_", "OMPI_", "MPIR_", "HYDRA_"))}
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MPIEXEC_TIMEOUT="100")
    res = subprocess.run([str(_MPIEXEC), "-n", "2", sys.executable, "-m", "mpi4py", str(script)],
                         env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    rows = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    assert [d["rank"] for d in rows] == [0, 1] and all(d["size"] == 2 for d in rows)
    assert all(d["rescale"] == 1 / 40 and d["diff"] == 0 and d["acc"] > 0.7 for d in rows)


def test_mxnet_tutorial_idioms_batches_without_labels_and_shape_tuples():
    # MXNet's prediction tutorials feed namedtuple('Batch', ['data']) batches
    from collections import namedtuple

    from mxplug.module.executor_group import DataParallelExecutorGroup
    s = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=2, name="fc")
    m = mx.mod.Module(s, label_names=None)
    m.bind([("data", (2, 3))], for_training=False)
    m.init_params(mx.init.One())
    m.forward(namedtuple("Batch", ["data"])([mx.nd.ones((2, 3))]))
    np.testing.assert_array_equal(m.get_outputs()[0].asnumpy(), np.full((2, 2), 3.0))
    group = DataParallelExecutorGroup(s, [mx.cpu()], [1], [("data", (2, 3))], None,
                                      ["fc_weight", "fc_bias"], True, False, None)
    assert group.data_names == ["data"]


def test_bucketing_module_names_every_bucket_from_a_fresh_name_manager():
    def gen(key):
        return mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=2), ("data",), None
    mx.sym.FullyConnected(mx.sym.var("z"), num_hidden=1)  # advances the global counter
    bm = mx.mod.BucketingModule(gen, default_bucket_key=3)
    bm.bind([("data", (2, 3))], for_training=False)
    bm.init_params()
    assert sorted(bm.get_params()[0]) == ["fullyconnected0_bias", "fullyconnected0_weight"]
