"""Data parallelism over MPI: (1) the bucketed gradient allreduce of a ResNet-18-sized parameter
set against one raw mpi4py ``Allreduce`` of the same bytes in one buffer; (2) data-parallel MLP
training (784-256-256-10, per-rank batch 128, SGD with momentum), 2 ranks x 1 thread against
1 rank x 1 thread, in samples per second.

    mpiexec -n 2 python -m mpi4py benchmarks/bench_parallel.py [--reps 15] [--steps 100]
        [--rounds 5] [--only allreduce|training]

(use the ``mpiexec`` next to the Python that has mpi4py: ``.venv/bin/mpiexec``). Both parts run in
the same job: the 1-rank baseline runs on rank 0 while the other ranks wait (sleeping, see
docs/parallel.md). BLAS is pinned to one thread per rank. Random data: the figures are speed,
not accuracy.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before NumPy loads its BLAS: 1 thread per rank

import argparse
import sys
import time

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
sys.path.append(os.path.dirname(_HERE))
from _common import machine, numpy_threads, table, thread_env

import mxplug as mx
from mxplug import autograd, gluon, parallel


def resnet18_shapes() -> list[tuple]:
    """The 62 parameter shapes of torchvision's ResNet-18 (11.69 M float32)."""
    shapes = [(64, 3, 7, 7), (64,), (64,)]
    c_in = 64
    for stage, c in enumerate((64, 128, 256, 512)):
        for block in range(2):
            first = block == 0 and stage > 0
            shapes += [(c, c_in if block == 0 else c, 3, 3), (c,), (c,), (c, c, 3, 3), (c,), (c,)]
            if first:
                shapes += [(c, c_in, 1, 1), (c,), (c,)]
        c_in = c
    return shapes + [(1000, 512), (1000,)]


def bench_allreduce(comm, reps):
    from mpi4py import MPI

    shapes = resnet18_shapes()
    total = sum(int(np.prod(s)) for s in shapes)
    raw = np.ones(total, np.float32)
    world = MPI.COMM_WORLD
    rows = []
    sizes = [1 << 20, 4 << 20, 16 << 20, 64 << 20]
    grads = {b: [mx.nd.ones(s) for s in shapes] for b in sizes}
    buckets = {b: parallel.GradientBuckets(grads[b], comm, bucket_bytes=b) for b in sizes}
    per_tensor = [mx.nd.ones(s) for s in shapes]
    times: dict = {k: [] for k in ["raw", *sizes, "per-tensor"]}

    def timed(key, fn):
        comm.barrier()
        t0 = time.perf_counter()
        fn()
        times[key].append(time.perf_counter() - t0)

    for rep in range(reps + 1):  # interleaved, so drift hits every variant alike
        timed("raw", lambda: world.Allreduce(MPI.IN_PLACE, raw, MPI.SUM))
        for b in sizes:
            timed(b, buckets[b].allreduce)
        timed("per-tensor", lambda: [comm.allreduce(g, out=g) for g in per_tensor])
        if rep == 0:
            for v in times.values():
                v.clear()  # warm-up round
    nbytes = total * 4
    base = np.median(times["raw"])
    for key, label in [("raw", "raw mpi4py Allreduce, 1 buffer"),
                       *[(b, f"mxplug buckets of {b >> 20} MiB "
                          f"({len(buckets[b].buckets)} calls)") for b in sizes],
                       ("per-tensor", f"mxplug, one allreduce per tensor ({len(shapes)} calls)")]:
        t = float(np.median(times[key]))
        rows.append([label, f"{t * 1e3:.1f}", f"{nbytes / t / 1e9:.2f}", f"{base / t:.0%}"])
    return total, len(shapes), rows


def _mlp():
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(256, activation="relu", in_units=784),
            gluon.nn.Dense(256, activation="relu", in_units=256),
            gluon.nn.Dense(10, in_units=256))
    net.initialize(mx.init.Xavier())
    net.hybridize()
    return net


def _train_rate(net, trainer, steps, batch):
    rng = np.random.default_rng(0)
    x = mx.nd.array(rng.normal(size=(batch, 784)).astype(np.float32))
    y = mx.nd.array(rng.integers(0, 10, batch).astype(np.float32))
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()

    def step():
        with autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(batch)

    for _ in range(5):
        step()  # warm-up: hybridize trace, buckets, optimizer state
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return time.perf_counter() - t0


def bench_training(comm, steps, rounds, batch=128):
    """Median samples/s of ``rounds`` alternating runs: 1 rank (the others wait, asleep, in a
    barrier), then all ranks."""
    opt = {"learning_rate": 0.01, "momentum": 0.9}
    ones, manys = [], []
    for _ in range(rounds):
        if comm.rank == 0:
            net = _mlp()
            trainer = gluon.Trainer(net.collect_params(), "sgd", dict(opt), kvstore="device")
            ones.append(steps * batch / _train_rate(net, trainer, steps, batch))
        comm.barrier()
        net = _mlp()
        trainer = parallel.DistributedTrainer(net.collect_params(), "sgd", dict(opt))
        dt = _train_rate(net, trainer, steps, batch)
        dt = comm.allreduce(mx.nd.array([dt]), "max").asscalar()  # the slowest rank's pace
        manys.append(steps * batch * comm.size / dt)
    return (float(np.median(ones)) if ones else None), float(np.median(manys))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=15, help="allreduce repetitions (median)")
    ap.add_argument("--steps", type=int, default=100, help="timed training steps per run")
    ap.add_argument("--rounds", type=int, default=5, help="training runs of each kind (median)")
    ap.add_argument("--only", choices=["allreduce", "training"], help="run one part")
    args = ap.parse_args()
    comm = parallel.init()
    if comm.size < 2:
        sys.exit("bench_parallel.py compares ranks: run it with "
                 "mpiexec -n 2 python -m mpi4py benchmarks/bench_parallel.py")
    if comm.rank == 0:
        from mpi4py import MPI

        print(f"# {machine()}; {comm.size} ranks; {MPI.Get_library_version().splitlines()[0]}")
        print(f"# {numpy_threads()}; {thread_env()}")
    if args.only != "training":
        total, count, rows = bench_allreduce(comm, args.reps)
        if comm.rank == 0:
            print(f"\n(1) allreduce of {count} tensors, {total / 1e6:.2f} M float32 "
                  f"({total * 4 / 2**20:.1f} MiB), median of {args.reps}:\n")
            print(table(["path", "ms", "GB/s", "vs raw"], rows), flush=True)
    if args.only != "allreduce":
        one, many = bench_training(comm, args.steps, args.rounds)
        if comm.rank == 0:
            print(f"\n(2) MLP 784-256-256-10, batch 128 per rank, SGD momentum, "
                  f"{args.steps} steps, median of {args.rounds} runs:\n")
            print(table(["run", "samples/s", "speed-up"],
                        [["1 rank x 1 thread", f"{one:.0f}", "1.00x"],
                         [f"{comm.size} ranks x 1 thread (DistributedTrainer)", f"{many:.0f}",
                          f"{many / one:.2f}x"]]))


if __name__ == "__main__":
    main()
