"""mx.profiler: Chrome traces, aggregate statistics, user annotations, and no cost when off."""

from __future__ import annotations

import json
import os
import threading
import time

import numpy as np
import pytest

import mxplug as mx
from mxplug import profiler
from mxplug.base import MXNetError, MXNetNotImplementedError, MXNetValueError
from mxplug.gluon import nn
from mxplug.ops import REGISTRY, registry


@pytest.fixture(autouse=True)
def fresh_profiler():
    profiler._reset()
    yield
    profiler._reset()


def _run(fn, tmp_path, **config):
    """Run ``fn`` under the profiler; returns (dumped trace, dumps JSON, wall seconds)."""
    path = str(tmp_path / "trace.json")
    profiler.set_config(filename=path, aggregate_stats=True, **config)
    profiler.set_state("run")
    t0 = time.perf_counter()
    fn()
    mx.nd.waitall()
    wall = time.perf_counter() - t0
    profiler.set_state("stop")
    stats = json.loads(profiler.dumps(format="json"))
    profiler.dump()
    with open(path) as f:
        trace = json.load(f)
    return trace, stats, wall


def _ops(trace, cat="operator"):
    return [e for e in trace["traceEvents"] if e["ph"] == "X" and e["cat"] == cat]


def _check_nesting(events):
    """On each (pid, tid) track, two events are either disjoint or one contains the other."""
    tracks: dict = {}
    for e in events:
        tracks.setdefault((e["pid"], e["tid"]), []).append(e)
    eps = 1e-3  # microseconds: ts and dur come from integer nanoseconds
    for evs in tracks.values():
        evs.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack = []
        for e in evs:
            while stack and e["ts"] >= stack[-1]["ts"] + stack[-1]["dur"] - eps:
                stack.pop()
            if stack:
                outer = stack[-1]
                assert e["ts"] + e["dur"] <= outer["ts"] + outer["dur"] + eps, (outer, e)
            stack.append(e)


def _train_step(ctx, hybridize=False):
    net = nn.HybridSequential()
    net.add(nn.Dense(8, activation="relu"), nn.Dense(3))
    net.initialize(mx.init.Xavier(), ctx=ctx)
    if hybridize:
        net.hybridize()
    trainer = mx.gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
    loss_fn = mx.gluon.loss.SoftmaxCrossEntropyLoss()
    x = mx.nd.array(np.linspace(-1, 1, 30).reshape(5, 6), ctx=ctx)
    y = mx.nd.array([0, 1, 2, 0, 1], ctx=ctx)

    def step():
        with mx.autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(5)
    return step


# -- traces ----------------------------------------------------------------------------------
def test_gluon_training_step_trace(ctx, tmp_path):
    step = _train_step(ctx)
    step()  # build and warm up outside the profile
    trace, stats, wall = _run(step, tmp_path)
    ops = _ops(trace)
    names = {e["name"] for e in ops}
    assert {"FullyConnected", "multi_sgd_update"} <= names, names
    for e in trace["traceEvents"]:
        assert isinstance(e["pid"], int) and isinstance(e["tid"], int)
    for e in ops:
        assert 0 <= e["dur"] <= wall * 1e6 and e["args"]["mode"] == "imperative"
    # the first layer's forward saw the (5, 6) float32 batch and wrote (5, 8)
    fc = [e for e in ops if e["name"] == "FullyConnected" and "float32(5, 6)" in
          e["args"]["inputs"]]
    assert fc and fc[0]["args"]["outputs"] == ["float32(5, 8)"]
    # two Dense layers forward, the 4 parameters updated in one multi-tensor call (MXNet's
    # aggregated SGD): counts match the trace
    assert stats["Time"]["operator"]["FullyConnected"]["Count"] == 2
    assert stats["Time"]["operator"]["multi_sgd_update"]["Count"] == 1
    assert sum(e["name"] == "multi_sgd_update" for e in ops) == 1
    _check_nesting(_ops(trace) + _ops(trace, "kernel"))
    # the ops ran on the device's process, named after it
    procs = {e["pid"]: e["args"]["name"] for e in trace["traceEvents"]
             if e["ph"] == "M" and e["name"] == "process_name"}
    label = f"{ctx.device_type}/{ctx.device_id}"
    assert {procs[e["pid"]].split()[0] for e in ops} == {label}
    if ctx.device_type in ("opencl", "gpu"):  # kernel time from OpenCL / CUDA events
        kernels = _ops(trace, "kernel")
        assert kernels and all(e["args"]["kernel_us"] > 0 for e in kernels)
        assert f"Device kernels: {label}" in stats["Time"]


def test_composite_nests_its_primitives(ctx, tmp_path):
    assert REGISTRY["Activation"].plain_composite is not None  # written in mxplug ops
    x = mx.nd.array(np.linspace(-1, 1, 20).reshape(4, 5), ctx=ctx)
    mx.nd.Activation(x, act_type="tanh").wait_to_read()
    trace, stats, _ = _run(lambda: mx.nd.Activation(x, act_type="tanh"), tmp_path)
    ops = _ops(trace)
    outer = [e for e in ops if e["name"] == "Activation"]
    assert len(outer) == 1 and stats["Time"]["operator"]["Activation"]["Count"] == 1
    o = outer[0]
    inner = [e for e in ops if e is not o]
    assert [e["name"] for e in inner] == ["tanh"]
    assert o["ts"] <= inner[0]["ts"] and \
        inner[0]["ts"] + inner[0]["dur"] <= o["ts"] + o["dur"] + 1e-3
    _check_nesting(ops + _ops(trace, "kernel"))


def test_dot_counts_and_stats(ctx, tmp_path):
    a = mx.nd.ones((8, 8), ctx=ctx)
    mx.nd.dot(a, a).wait_to_read()  # compile outside the profile
    _, stats, _ = _run(lambda: [mx.nd.dot(a, a) for _ in range(3)], tmp_path)
    dot = stats["Time"]["operator"]["dot"]
    assert dot["Count"] == 3
    assert dot["Min"] <= dot["Avg"] <= dot["Max"]
    assert dot["Total"] == pytest.approx(dot["Avg"] * 3)
    table = profiler.dumps()
    row = next(line for line in table.splitlines() if line.startswith("dot "))
    assert row.split()[1] == "3"
    assert stats["Unit"] == {"Time": "ms", "Memory": "kB"}


def test_scalar_operands_get_mxnet_names(ctx, tmp_path):
    x = mx.nd.zeros((10, 10), ctx=ctx)

    def run():
        mx.nd.sqrt(x)
        y = x + 1
        y = y + 1
        1 - y
        y * y
    _, stats, _ = _run(run, tmp_path)
    counts = {k: v["Count"] for k, v in stats["Time"]["operator"].items()}
    # MXNet's names: NDArray operators between two arrays are its broadcast_* ops
    assert counts == {"sqrt": 1, "_plus_scalar": 2, "_rminus_scalar": 1, "broadcast_mul": 1}


def test_dumps_sorting_and_reset(tmp_path):
    a = mx.nd.ones((4,))

    def run():
        for _ in range(3):
            a + a
        mx.nd.exp(a)
    _run(run, tmp_path)
    by_count = json.loads(profiler.dumps(format="json", sort_by="count"))
    names = list(by_count["Time"]["operator"])
    assert names.index("broadcast_add") < names.index("exp")
    asc = json.loads(profiler.dumps(format="json", sort_by="count", ascending=True))
    asc_names = list(asc["Time"]["operator"])
    assert asc_names.index("broadcast_add") > asc_names.index("exp")
    profiler.dumps(reset=True)
    assert "broadcast_add" not in profiler.dumps()


# -- graphs ----------------------------------------------------------------------------------
def test_hybridized_ops_are_profiled(ctx, tmp_path):
    step = _train_step(ctx, hybridize=True)
    step()
    trace, stats, _ = _run(step, tmp_path)
    symbolic = [e for e in _ops(trace) if e["args"]["mode"] == "symbolic"]
    # the bound graph: two Dense forwards, and the backward's dot / sum steps
    assert {"FullyConnected", "dot", "sum"} <= {e["name"] for e in symbolic}, symbolic
    assert sum(e["name"] == "FullyConnected" for e in symbolic) == 2
    assert stats["Time"]["operator"]["multi_sgd_update"]["Count"] == 1  # the eager optimizer
    _check_nesting(_ops(trace))
    # the same step with profile_symbolic off records only the eager ops (loss, optimizer)
    profiler._reset()
    trace, _, _ = _run(step, tmp_path, profile_symbolic=False)
    assert _ops(trace) and all(e["args"]["mode"] == "imperative" for e in _ops(trace))
    profiler._reset()
    trace, _, _ = _run(step, tmp_path, profile_imperative=False)
    assert _ops(trace) and all(e["args"]["mode"] == "symbolic" for e in _ops(trace))


def test_executor_bound_before_profiling(tmp_path):
    a, b, c = (mx.sym.var(n) for n in "abc")
    sym = mx.sym.relu(a * b + c)
    arrays = {n: mx.nd.array(np.arange(6, dtype="float32").reshape(2, 3) - k)
              for k, n in enumerate("abc")}
    exe = sym.bind(mx.cpu(), arrays)
    expected = np.maximum(arrays["a"].asnumpy() * arrays["b"].asnumpy()
                          + arrays["c"].asnumpy(), 0)
    np.testing.assert_allclose(exe.forward()[0].asnumpy(), expected)
    plain = [s.fn for s in exe._plain.fwd_steps]

    def run():
        for _ in range(2):
            out = exe.forward()[0]
        np.testing.assert_allclose(out.asnumpy(), expected)
    trace, stats, _ = _run(run, tmp_path)
    ops = _ops(trace)
    assert ops and all(e["args"]["mode"] == "symbolic" for e in ops)
    # each run times each of its steps once (fused or not)
    steps = len(exe._plain.fwd_steps)
    assert sum(v["Count"] for v in stats["Time"]["operator"].values()) == 2 * steps
    exe.forward()  # stopped: the steps are recompiled without the wrappers
    assert all(s.fn.__name__ != "timed_step" for s in exe._plain.fwd_steps)
    assert len(plain) == steps


def test_executor_gradients_stay_pinned_across_profiling(tmp_path):
    x, w = mx.sym.var("x"), mx.sym.var("w")
    sym = mx.sym.sum(mx.sym.FullyConnected(x, w, num_hidden=3, no_bias=True) ** 2)
    rng = np.random.default_rng(0)
    xv, wv = rng.normal(size=(4, 5)).astype("float32"), rng.normal(size=(3, 5)).astype("float32")
    exe = sym.bind(mx.cpu(), {"x": mx.nd.array(xv), "w": mx.nd.array(wv)},
                   args_grad={"x": mx.nd.zeros((4, 5)), "w": mx.nd.zeros((3, 5))})
    expected_w = 2 * (xv @ wv.T).T @ xv  # d/dw sum((x w^T)^2)
    grad_w = exe.grad_dict["w"]

    def step():
        exe.forward(is_train=True)
        exe.backward()
        np.testing.assert_allclose(grad_w.asnumpy(), expected_w, rtol=1e-4, atol=1e-4)
        assert exe.grad_dict["w"] is grad_w
    step()
    trace, stats, _ = _run(step, tmp_path)
    assert stats["Time"]["operator"]["FullyConnected"]["Count"] == 1
    assert all(e["args"]["mode"] == "symbolic" for e in _ops(trace))
    grad_w[:] = 0
    step()  # stopped: recompiled without the profiler, still writing into grad_dict


# -- nothing left behind -----------------------------------------------------------------------
def test_stop_restores_the_plain_kernels(ctx, tmp_path):
    a = mx.nd.ones((3, 3), ctx=ctx)
    be = ctx.backend
    dot = REGISTRY["dot"]
    mx.nd.dot(a, a)
    plain = dot._resolved[be]
    queue = be.runtime(0).queue if ctx.device_type == "opencl" else None
    profiler.set_config(filename=str(tmp_path / "t.json"))
    profiler.set_state("run")
    assert profiler.state == "run" and profiler.get_state() == "run"
    mx.nd.dot(a, a).wait_to_read()
    assert dot._resolved[be] is not plain  # handed out a timing wrapper
    profiler.set_state("stop")
    assert profiler.state == "stop"
    assert registry.kernel_wrapper() is None
    mx.nd.dot(a, a)
    again = dot._resolved[be]  # the same kernel again (partials are rebuilt, not equal)
    assert getattr(again, "func", again) is getattr(plain, "func", plain)
    assert getattr(again, "args", ()) == getattr(plain, "args", ())
    for op in REGISTRY.values():
        assert op.composite is op.plain_composite
        assert op.out_kernels is op.plain_out_kernels
        assert all(not getattr(f, "__qualname__", "").startswith("Recorder.")
                   for f in op._resolved.values())
    if queue is not None:
        rt = be.runtime(0)
        assert rt.queue is queue and "kernel" not in vars(rt)


def test_pause_and_resume(tmp_path):
    a = mx.nd.ones((4,))

    def run():
        mx.nd.exp(a)
        profiler.pause()
        mx.nd.exp(a)
        mx.nd.exp(a)
        profiler.resume()
        mx.nd.exp(a)
    _, stats, _ = _run(run, tmp_path)
    assert stats["Time"]["operator"]["exp"]["Count"] == 2


def test_run_clears_an_earlier_pause(tmp_path):
    # MXNet's Profiler::SetState('run') unpauses: a pause() left over from an earlier
    # profiling session must not silence the next one (MXNet's test_profile_tune_pause_resume
    # followed by test_aggregate_duplication).
    profiler.set_config(filename=str(tmp_path / "a.json"), aggregate_stats=True)
    profiler.set_state("run")
    profiler.pause()
    profiler.set_state("stop")
    inp = mx.nd.zeros((4, 4))
    profiler.set_state("run")
    profiler.dumps(reset=True)
    mx.nd.sqrt(inp)
    inp = inp + 1
    inp = inp + 1
    profiler.dump(False)
    stats = json.loads(profiler.dumps(format="json"))["Time"]["operator"]
    profiler.set_state("stop")
    assert stats["sqrt"]["Count"] == 1
    assert stats["_plus_scalar"]["Count"] == 2


def test_ops_are_listed_under_mxnet_names(tmp_path):
    # what MXNet's profiler calls them (its registered op names)
    a = mx.nd.ones((2, 4))

    def run():
        mx.nd.zeros((2, 4))
        a - a
        a.reshape((8,))
        mx.nd.split(a, num_outputs=2, axis=1)
        mx.nd.random.uniform(shape=(2,))
        a.astype("float16")
    _, stats, _ = _run(run, tmp_path)
    names = set(stats["Time"]["operator"])
    assert {"_zeros", "broadcast_sub", "Reshape", "SliceChannel", "_random_uniform",
            "Cast"} <= names, names


class _AddOne(mx.operator.CustomOp):
    def forward(self, is_train, req, in_data, out_data, aux):
        self.assign(out_data[0], req[0], in_data[0] + 1)

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.assign(in_grad[0], req[0], out_grad[0] * 2)


@mx.operator.register("ProfAddOne")
class _AddOneProp(mx.operator.CustomOpProp):
    def __init__(self):
        super().__init__(need_top_grad=True)

    def list_arguments(self):
        return ["data"]

    def list_outputs(self):
        return ["output"]

    def infer_shape(self, in_shape):
        return [in_shape[0]], [in_shape[0]], []

    def create_operator(self, ctx, shapes, dtypes):
        return _AddOne()


def test_custom_ops_are_grouped_as_mxnet_groups_them(tmp_path):
    # MXNet: a custom op's call is "<op_type>::pure_python" (its gradient
    # "_backward_<op_type>::pure_python") under "Custom Operator", with the ops its Python code
    # runs there as "<op_type>::<op>" instead of under "operator"
    def fn():
        x = mx.nd.ones((3, 4))
        x.attach_grad()
        with mx.autograd.record():
            y = mx.nd.Custom(x, op_type="ProfAddOne")
        y.backward()
        ex = mx.sym.Custom(mx.sym.var("a"), op_type="ProfAddOne").bind(mx.cpu(), {"a": x})
        ex.forward()
        mx.nd.sqrt(x)  # outside any custom op: still an operator
    trace, stats, _ = _run(fn, tmp_path)
    custom = stats["Time"]["Custom Operator"]
    assert custom["ProfAddOne::pure_python"]["Count"] == 2  # eager and bound
    assert custom["_backward_ProfAddOne::pure_python"]["Count"] == 1
    assert custom["ProfAddOne::_plus_scalar"]["Count"] == 2
    assert custom["_backward_ProfAddOne::_mul_scalar"]["Count"] == 1
    ops = stats["Time"]["operator"]
    assert "sqrt" in ops and not {"Custom", "_backward_Custom", "_plus_scalar"} & set(ops)
    events = {e["name"] for e in _ops(trace, "Custom Operator")}
    assert {"ProfAddOne::pure_python", "ProfAddOne::_plus_scalar"} <= events
    assert "ProfAddOne::pure_python" not in {e["name"] for e in _ops(trace)}


def test_bad_choices_raise_what_mxnet_raises():
    # MXNet: set_state looks the state up in a dict (KeyError); dumps asserts its arguments
    with pytest.raises(KeyError, match="'run' or 'stop'"):
        profiler.set_state("go")
    with pytest.raises(AssertionError, match="format"):
        profiler.dumps(format="xml")
    with pytest.raises(AssertionError, match="sort_by"):
        profiler.dumps(sort_by="median")


# -- errors ------------------------------------------------------------------------------------
def test_state_errors():
    with pytest.raises(MXNetValueError, match="'run' or 'stop'"):
        profiler.set_state("go")
    with pytest.raises(MXNetError, match="set_config"):
        profiler.dump()
    with pytest.raises(MXNetValueError, match="bogus"):
        profiler.set_config(bogus=True)
    with pytest.raises(MXNetValueError, match="aggregate_stats must be a bool"):
        profiler.set_config(aggregate_stats="maybe")
    with pytest.raises(MXNetValueError, match="format"):
        profiler.dumps(format="xml")
    with pytest.raises(MXNetValueError, match="sort_by"):
        profiler.dumps(sort_by="median")
    with pytest.raises(MXNetNotImplementedError, match="server"):
        profiler.set_state("run", profile_process="server")
    with pytest.raises(MXNetError, match="stop\\(\\) without start"):
        profiler.Task(profiler.Domain("d"), "t").stop()
    with pytest.raises(MXNetValueError, match="Domain"):
        profiler.Task("not a domain", "t")
    assert profiler.state == "stop"


def test_dumps_without_aggregate_stats_says_so():
    profiler.set_config(aggregate_stats=False)
    profiler.set_state("run")
    mx.nd.exp(mx.nd.ones((2,)))
    profiler.set_state("stop")
    assert "aggregate_stats=True" in profiler.dumps()


# -- user annotations, memory, threads, files -----------------------------------------------------
def test_profiling_objects_and_scope(tmp_path):
    a = mx.nd.ones((4,))
    domain = profiler.Domain("train")
    task, frame = domain.new_task("batch"), domain.new_frame("frame")
    counter, marker = domain.new_counter("samples", 5), domain.new_marker("here")
    event = profiler.Event("custom")

    def run():
        nonlocal counter
        task.start()
        with profiler.scope("net"):
            with profiler.scope("dense0", append_mode=True) as name:
                assert name == "net:dense0:"
                mx.nd.exp(a)
        task.stop()
        frame.start()
        frame.stop()
        with event:
            counter.set_value(7)
            counter += 3
            counter -= 1
        marker.mark("global")
    trace, stats, _ = _run(run, tmp_path)
    xs = {e["name"]: e for e in trace["traceEvents"] if e["ph"] == "X"}
    assert xs["batch"]["cat"] == "train" and xs["frame"]["cat"] == "train"
    assert xs["custom"]["cat"] == "event"
    assert xs["exp"]["args"]["scope"] == "net:dense0:"
    b = xs["batch"]
    assert b["ts"] <= xs["net:dense0:"]["ts"] and \
        xs["net:"]["ts"] + xs["net:"]["dur"] <= b["ts"] + b["dur"] + 1e-3
    values = [e["args"]["samples"] for e in trace["traceEvents"]
              if e["ph"] == "C" and e["name"] == "samples"]
    assert values == [7, 10, 9]  # the initial 5 was set before the profiler ran
    marks = [e for e in trace["traceEvents"] if e["ph"] == "i"]
    assert marks[0]["name"] == "here" and marks[0]["s"] == "g"
    assert stats["Time"]["train"]["batch"]["Count"] == 1
    assert stats["Time"]["train"]["samples"]["Max"] == 10
    _check_nesting([e for e in trace["traceEvents"] if e["ph"] == "X"])


def test_memory_counts_output_bytes(ctx, tmp_path):
    a = mx.nd.ones((10, 10), ctx=ctx)
    holder = []

    def run():
        holder.append(a + a)
        holder.append(a.reshape((100,)))
        temp = a * a
        del temp  # released: the live count goes back down
    trace, stats, _ = _run(run, tmp_path)
    ops = {e["name"]: e for e in _ops(trace)}
    assert ops["broadcast_add"]["args"]["bytes"] == 400
    label = f"{ctx.device_type}/{ctx.device_id}"
    if "Reshape" in ops and ctx.device_type != "strict":  # a view: nothing allocated
        assert ops["Reshape"]["args"]["bytes"] == 0
    counters = [e["args"]["bytes"] for e in trace["traceEvents"]
                if e["ph"] == "C" and e["name"] == f"Memory: {label}"]
    r = ops["Reshape"]["args"]["bytes"] if "Reshape" in ops else 0
    expected = [400] + ([400 + r] if r else []) + [800 + r, 400 + r]  # a view changes nothing
    assert counters[:len(expected)] == expected
    assert stats["Memory"]["Device Storage"][f"Memory: {label}"]["Max"] >= 0.4


def test_threads_get_their_own_tid(tmp_path):
    a = mx.nd.ones((4,))

    def run():
        t = threading.Thread(target=lambda: mx.nd.exp(a), name="worker-1")
        mx.nd.exp(a)
        t.start()
        t.join()
    trace, _, _ = _run(run, tmp_path)
    tids = {e["tid"] for e in _ops(trace) if e["name"] == "exp"}
    assert len(tids) == 2
    names = {e["args"]["name"] for e in trace["traceEvents"] if e["name"] == "thread_name"}
    assert "worker-1" in names


def test_dump_is_atomic_and_finished_starts_a_new_trace(tmp_path):
    a = mx.nd.ones((4,))
    path = tmp_path / "p.json"
    profiler.set_config(filename=str(path))
    profiler.set_state("run")
    mx.nd.exp(a)
    profiler.dump(finished=False)
    mx.nd.exp(a)
    profiler.dump(finished=True)
    first = json.loads(path.read_text())
    assert sum(e["name"] == "exp" for e in _ops(first)) == 2
    with pytest.raises(MXNetError, match="already written"):  # finished, as in MXNet
        profiler.dump()
    profiler.set_state("run")  # already running: starts a new trace
    mx.nd.exp(a)
    profiler.set_state("stop")
    profiler.dump()
    assert sum(e["name"] == "exp" for e in _ops(json.loads(path.read_text()))) == 1
    assert os.listdir(tmp_path) == ["p.json"]  # no temporary file left behind


def test_periodic_dump(tmp_path):
    path = tmp_path / "periodic.json"
    profiler.set_config(filename=str(path), continuous_dump=True, dump_period=1e-6)
    profiler.set_state("run")
    a = mx.nd.ones((4,))
    mx.nd.exp(a)
    mx.nd.exp(a)
    profiler.set_state("stop")
    assert path.exists() and _ops(json.loads(path.read_text()))


def test_sync_includes_the_device_work(tmp_path):
    if "opencl" not in {b.name for b in mx.backends.list() if b.available}:
        pytest.skip("needs the OpenCL backend: only it runs ops asynchronously here")
    ctx = mx.opencl(0)
    a = mx.nd.ones((64, 64), ctx=ctx)
    mx.nd.dot(a, a).wait_to_read()
    trace, _, _ = _run(lambda: [mx.nd.dot(a, a) for _ in range(3)], tmp_path, profile_all=True)
    dots = [e for e in _ops(trace) if e["name"] == "dot"]
    assert len(dots) == 3
    for e in dots:  # synchronised before and after: the kernels ran inside the host span
        assert 0 < e["args"]["kernel_us"] <= e["dur"] + 1e-3


def test_undumped_trace_is_written_at_exit(tmp_path):
    import subprocess
    import sys
    path = tmp_path / "exit.json"
    code = ("import mxplug as mx\n"
            f"mx.profiler.set_config(filename={str(path)!r})\n"
            "mx.profiler.set_state('run')\n"
            "mx.nd.exp(mx.nd.ones((3,)))\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    assert [e["name"] for e in _ops(json.loads(path.read_text()))] == ["_ones", "exp"]


def test_cuda_timer_places_spans_with_cuda_events():
    """The CuPy timer's arithmetic, on a stand-in for ``cupy.cuda`` (no GPU in CI): events get
    device timestamps, ``get_elapsed_time`` returns milliseconds between two of them."""
    from mxplug.profiler.cuda_timer import CudaTimer

    clock = {"t": 5_000_000}  # device nanoseconds

    class Event:
        def record(self, stream=None):
            clock["t"] += 1_000_000
            self.t = clock["t"]

        def synchronize(self):
            pass

    class Device:
        def __init__(self, i=0):
            self.id = i

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

    class cuda:  # noqa: N801 - stands for the module cupy.cuda
        pass
    cuda.Event, cuda.Device = Event, Device
    cuda.get_elapsed_time = staticmethod(lambda a, b: (b.t - a.t) / 1e6)

    class cp:  # noqa: N801 - stands for the module cupy
        pass
    cp.cuda = cuda

    timer = CudaTimer(cp)
    host0 = time.perf_counter_ns()
    span = timer.end(timer.begin([]))  # ref at 6 ms, start at 7 ms, stop at 8 ms
    start, end, busy = span.times()
    assert busy == 1_000_000 and end - start == busy
    assert start - timer._ref[0][1] == 1_000_000 and timer._ref[0][1] >= host0
    assert span.times() == (start, end, busy)  # read once, kept
