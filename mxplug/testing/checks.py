"""The conformance checks: each compares a backend's context with the NumPy backend (``cpu``).

Every check function takes the context under test and ``quick`` and returns a list of
:class:`Result`; a check that raises is recorded as a failure with the exception, never lets it
escape, so one broken op does not hide the rest of the report.
"""
from __future__ import annotations

import traceback
from dataclasses import dataclass

import numpy as np

from .samples import as_tuple, cast_inputs, float_positions, make_sample, ops, to_nd

__all__ = ["Result", "CHECKS", "op_samples", "gradients", "hybridize", "gluon_training",
           "transfers", "random_streams"]

#: Tolerances against the NumPy backend, per dtype: one ulp-level difference in a reduction's
#: order, or a device's own transcendental functions, must pass; a wrong result must not.
TOL = {"float16": dict(rtol=2e-3, atol=2e-3), "float32": dict(rtol=1e-4, atol=1e-5),
       "float64": dict(rtol=1e-9, atol=1e-10)}
#: Ops whose gradient ``--quick`` checks: one of each kind of rule (elementwise, broadcasting,
#: reduction, linear algebra, layers, indexing, normalisation, loss).
QUICK_GRAD_OPS = ("tanh", "broadcast_mul", "sum", "dot", "FullyConnected", "Convolution",
                  "Pooling", "softmax", "LayerNorm", "take", "transpose", "log_softmax")
#: Step of the central differences (float64 on the NumPy backend).
FINITE_DIFFERENCE_EPS = 1e-6


@dataclass
class Result:
    """One check's outcome: ``status`` is "pass", "fail" or "skip"; ``detail`` says why."""

    category: str
    name: str
    status: str
    detail: str = ""


def _guard(category, name, fn) -> Result:
    try:
        detail = fn()
    except _Skip as s:
        return Result(category, name, "skip", str(s))
    except Exception as e:
        last = traceback.extract_tb(e.__traceback__)[-1]
        where = f" ({last.filename.rsplit('/', 1)[-1]}:{last.lineno})"
        return Result(category, name, "fail", f"{type(e).__name__}: {e}{where}")
    return Result(category, name, "pass", detail or "")


class _Skip(Exception):
    """A case the backend cannot run by design (a dtype the device lacks)."""


def _compare(got, ref, what):
    got, ref = np.asarray(got), np.asarray(ref)
    if got.shape != ref.shape:
        raise AssertionError(f"{what}: shape {got.shape}, NumPy backend {ref.shape}")
    if got.dtype != ref.dtype:
        raise AssertionError(f"{what}: dtype {got.dtype}, NumPy backend {ref.dtype}")
    if got.dtype.kind in "fc":
        np.testing.assert_allclose(got, ref, err_msg=what, equal_nan=True,
                                   **TOL.get(got.dtype.name, TOL["float32"]))
    else:
        np.testing.assert_array_equal(got, ref, err_msg=what)


def _dtypes_of(ctx):
    return set(ctx.backend.dtypes)


# -- every op sample ----------------------------------------------------------------------------
def op_samples(ctx, quick=False) -> list:
    """Every sample of every op, its outputs against the same call on the NumPy backend."""
    from .. import cpu
    from ..ops import apply

    dtypes = ["float32"] if quick else ["float32", "float64"]
    have = _dtypes_of(ctx)
    results = []
    for op in ops():
        for i in range(len(op.sample_fns)):
            for dtype in dtypes:
                def case(op=op, i=i, dtype=dtype):
                    sample = make_sample(op, i)
                    inputs = cast_inputs(sample, dtype)
                    lacking = {x.dtype.name for x in inputs if isinstance(x, np.ndarray)} - have
                    if lacking:
                        raise _Skip(f"{ctx} has no {', '.join(sorted(lacking))}")
                    attrs = op.parse_attrs(sample.attrs)
                    with cpu():  # ops that create arrays (zeros, random_*) use the default
                        ref = as_tuple(apply(op, *to_nd(inputs, cpu()), **dict(attrs)))
                    lacking = {np.dtype(r.dtype).name for r in ref} - have
                    if lacking:
                        raise _Skip(f"{ctx} has no {', '.join(sorted(lacking))}")
                    with ctx:
                        got = as_tuple(apply(op, *to_nd(inputs, ctx), **dict(attrs)))
                    if len(got) != len(ref):
                        raise AssertionError(f"{len(got)} outputs, NumPy backend {len(ref)}")
                    for k, (g, r) in enumerate(zip(got, ref)):
                        if g.context != ctx:
                            raise AssertionError(f"output {k} is on {g.context}, not {ctx}")
                        _compare(g.asnumpy(), r.asnumpy(), f"output {k}")
                results.append(_guard("ops", f"{op.name}[{i}] {dtype}", case))
    return results


# -- gradients ----------------------------------------------------------------------------------
def numeric_grad(loss, inputs, k, eps=FINITE_DIFFERENCE_EPS):
    """Central finite differences of ``loss(inputs)`` (a float) with respect to ``inputs[k]``
    (a NumPy array, perturbed in place and restored)."""
    x = inputs[k]
    grad = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        orig = x[idx]
        x[idx] = orig + eps
        up = loss(inputs)
        x[idx] = orig - eps
        down = loss(inputs)
        x[idx] = orig
        grad[idx] = (up - down) / (2 * eps)
    return grad


def gradients(ctx, quick=False) -> list:
    """VJPs on ``ctx`` against central finite differences of the NumPy backend's forward
    (float64 where the device has it), for sample 0 of each differentiable op
    (:data:`QUICK_GRAD_OPS` only with ``quick``)."""
    from .. import autograd, cpu, nd
    from ..ops import REGISTRY, apply

    chosen = [REGISTRY[n] for n in QUICK_GRAD_OPS if n in REGISTRY] if quick else [
        op for op in ops() if op.differentiable and not op.random and op.sample_fns]
    dtype = "float64" if "float64" in _dtypes_of(ctx) else "float32"
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float64" else dict(rtol=2e-2, atol=2e-3)
    results = []
    for op in chosen:
        def case(op=op):
            sample = make_sample(op, 0)
            if not sample.grad:
                raise _Skip("sample 0 is marked non-differentiable at its inputs")
            inputs = [x.astype(np.float64) if isinstance(x, np.ndarray) and x.dtype.kind == "f"
                      else x for x in sample.inputs]
            sample.inputs = inputs
            positions = float_positions(op, sample)
            if not positions:
                raise _Skip("no float inputs to differentiate")
            attrs = op.parse_attrs(sample.attrs)
            with ctx:
                args = to_nd([x.astype(dtype) if i in positions else x
                              for i, x in enumerate(inputs)], ctx)
                for k in positions:
                    args[k].attach_grad()
                with autograd.record():
                    outs = as_tuple(apply(op, *args, **dict(attrs)))
                rng = np.random.default_rng(0)
                weights = [rng.uniform(-1, 1, o.shape) if np.dtype(o.dtype).kind == "f" else None
                           for o in outs]
                heads = [o for o, w in zip(outs, weights) if w is not None]
                head_grads = [nd.array(w, ctx=ctx, dtype=o.dtype)
                              for o, w in zip(outs, weights) if w is not None]
                grads = autograd.grad(heads, [args[k] for k in positions],
                                      head_grads=head_grads)

            def loss(values):
                with cpu(), autograd.train_mode():  # as recorded: record() means training
                    res = as_tuple(apply(op, *to_nd(values, cpu()), **dict(attrs)))
                return sum(float(np.sum(o.asnumpy().astype(np.float64) * w))
                           for o, w in zip(res, weights) if w is not None)

            for k, g in zip(positions, grads):
                np.testing.assert_allclose(g.asnumpy().astype(np.float64),
                                           numeric_grad(loss, inputs, k),
                                           err_msg=f"gradient of input {k}", **tol)
        results.append(_guard("gradients", f"{op.name}[0] {dtype}", case))
    return results


# -- hybridize vs eager -------------------------------------------------------------------------
def _graphs():
    """A few small networks: name -> (build() -> HybridBlock, input shape)."""
    from ..gluon import nn

    def mlp():
        net = nn.HybridSequential()
        net.add(nn.Dense(16, activation="relu"), nn.Dense(8, activation="tanh"), nn.Dense(3))
        return net

    def cnn():
        net = nn.HybridSequential()
        net.add(nn.Conv2D(4, kernel_size=3, padding=1, activation="relu"),
                nn.MaxPool2D(pool_size=2), nn.Flatten(), nn.Dense(5))
        return net

    def normed():
        net = nn.HybridSequential()
        net.add(nn.Dense(12), nn.LayerNorm(), nn.Activation("sigmoid"), nn.Dense(4))
        return net

    return {"mlp": (mlp, (6, 10)), "cnn": (cnn, (2, 1, 8, 8)), "layernorm": (normed, (5, 7))}


def _forward_backward(net, x):
    from .. import autograd

    with autograd.record():
        y = net(x)
        loss = (y * y).sum()
    loss.backward()
    grads = {k: p.grad().asnumpy() for k, p in sorted(net.collect_params().items())}
    return y.asnumpy(), grads


def hybridize(ctx, quick=False) -> list:
    """Each network's output and parameter gradients, eager and hybridized, on ``ctx``."""
    from .. import init, nd, random

    results = []
    for name, (build, shape) in _graphs().items():
        def case(build=build, shape=shape):
            with ctx:
                random.seed(0)
                net = build()
                net.initialize(init.Xavier(), ctx=ctx)
                x = nd.array(np.random.default_rng(1).normal(size=shape), ctx=ctx,
                             dtype="float32")
                eager_y, eager_g = _forward_backward(net, x)
                net.hybridize()
                hyb_y, hyb_g = _forward_backward(net, x)
                hyb_y2, _ = _forward_backward(net, x)  # the cached graph, run again
            _compare(hyb_y, eager_y, "hybridized output")
            _compare(hyb_y2, eager_y, "hybridized output, second call")
            for k in eager_g:
                _compare(hyb_g[k], eager_g[k], f"gradient of {k}")
        results.append(_guard("hybridize", name, case))
    return results


# -- Gluon training -----------------------------------------------------------------------------
def gluon_training(ctx, quick=False) -> list:
    """A Gluon MLP trained with SGD on a separable 3-class problem: its loss must fall, and
    match the NumPy backend's loss step by step from the same initial weights."""
    def run(c, steps, init_params=None):
        from .. import autograd, gluon, nd

        rng = np.random.default_rng(0)
        centers = rng.normal(0, 2, (3, 8))
        labels = rng.integers(0, 3, 96)
        data = centers[labels] + rng.normal(0, 0.5, (96, 8))
        with c:
            net = gluon.nn.HybridSequential()
            net.add(gluon.nn.Dense(16, activation="relu"), gluon.nn.Dense(3))
            net.initialize(ctx=c)
            net(nd.zeros((1, 8), ctx=c))
            # Layer names differ between the two networks (dense0 vs dense2): match by order.
            params = list(net.collect_params().values())
            if init_params is None:
                init_params = [np.random.default_rng(i).normal(0, 0.3, p.shape)
                               .astype(np.float32) for i, p in enumerate(params)]
            for p, value in zip(params, init_params):
                p.set_data(nd.array(value, ctx=c))
            trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.2})
            loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
            x = nd.array(data, ctx=c, dtype="float32")
            y = nd.array(labels, ctx=c, dtype="float32")
            losses = []
            for _ in range(steps):
                with autograd.record():
                    loss = loss_fn(net(x), y)
                loss.backward()
                trainer.step(x.shape[0])
                losses.append(float(loss.mean().asscalar()))
        return losses, init_params

    def case():
        from .. import cpu

        steps = 15 if quick else 40
        ref, init_params = run(cpu(), steps)
        got, _ = run(ctx, steps, init_params)
        if not got[-1] < 0.5 * got[0]:
            raise AssertionError(f"loss did not fall: {got[0]:.4f} -> {got[-1]:.4f}")
        np.testing.assert_allclose(got, ref, rtol=1e-3, atol=1e-4,
                                   err_msg="losses against the NumPy backend's")
        return f"loss {got[0]:.3f} -> {got[-1]:.3f} in {steps} steps"

    return [_guard("gluon", "MLP training", case)]


# -- transfers ----------------------------------------------------------------------------------
def transfers(ctx, quick=False) -> list:
    """NumPy -> device -> NumPy round trips for every dtype the backend has, copies between the
    device and the CPU both ways, and in-place writes through slices."""
    from .. import cpu, nd

    rng = np.random.default_rng(3)
    results = []
    for dtype in ctx.backend.dtypes:
        def case(dtype=dtype):
            h = (rng.normal(0, 4, (3, 5)) > 0) if dtype == "bool" else \
                rng.integers(0, 100, (3, 5)).astype(dtype) if np.dtype(dtype).kind in "iu" \
                else rng.normal(0, 1, (3, 5)).astype(dtype)
            a = nd.array(h, ctx=ctx, dtype=dtype)
            if a.context != ctx or np.dtype(a.dtype) != np.dtype(dtype):
                raise AssertionError(f"array is {a.context} {a.dtype}, asked {ctx} {dtype}")
            _compare(a.asnumpy(), h, "asnumpy()")
            on_cpu = a.as_in_context(cpu())
            _compare(on_cpu.asnumpy(), h, "copy to cpu")
            back = on_cpu.as_in_context(ctx)
            if back.context != ctx:
                raise AssertionError(f"copy back is on {back.context}")
            _compare(back.asnumpy(), h, "copy back from cpu")
        results.append(_guard("transfers", f"round trip {dtype}", case))

    def writes():
        a = nd.zeros((4, 6), ctx=ctx)
        a[1:3, ::2] = nd.ones((2, 3), ctx=cpu()) * 5
        a[0] = 2.0
        ref = np.zeros((4, 6), np.float32)
        ref[1:3, ::2] = 5
        ref[0] = 2
        _compare(a.asnumpy(), ref, "slice writes")
        b = nd.array(np.arange(24, dtype=np.float32).reshape(4, 6), ctx=ctx)
        a.copyto(b)
        _compare(b.asnumpy(), ref, "copyto")
        nd.waitall()
    results.append(_guard("transfers", "in-place writes and copyto", writes))
    return results


# -- random numbers -----------------------------------------------------------------------------
def random_streams(ctx, quick=False) -> list:
    """The same seed gives the NumPy backend's numbers: uniform and integer draws bit for bit,
    normals to within float rounding; and a second seeding repeats the stream."""
    from .. import cpu, nd, random

    draws = {
        "uniform": (lambda c: nd.random.uniform(-1, 2, shape=(4, 7), ctx=c), True),
        "randint": (lambda c: nd.random.randint(0, 50, shape=(3, 9), ctx=c), True),
        "normal": (lambda c: nd.random.normal(1, 3, shape=(5, 5), ctx=c), False),
    }
    results = []
    for name, (draw, exact) in draws.items():
        def case(draw=draw, exact=exact):
            random.seed(42)
            ref = draw(cpu()).asnumpy()
            random.seed(42)
            got = draw(ctx).asnumpy()
            random.seed(42)
            again = draw(ctx).asnumpy()
            np.testing.assert_array_equal(again, got, err_msg="same seed, different numbers")
            if exact:
                np.testing.assert_array_equal(got, ref, err_msg="against the NumPy backend")
            else:
                _compare(got, ref, "against the NumPy backend")
        results.append(_guard("random", name, case))
    return results


#: The checks in the order the kit runs them: category -> function(ctx, quick) -> [Result].
CHECKS = {"transfers": transfers, "ops": op_samples, "gradients": gradients,
          "hybridize": hybridize, "gluon": gluon_training, "random": random_streams}
