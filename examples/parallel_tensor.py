"""Tensor-parallel training of a digits MLP: the wide middle layers split across the ranks.

The MLP is 64 -> 128 -> 256 -> 64 -> 10 (relu between). Its two middle matrices are a
``ColumnParallelDense`` (each rank computes its block of the 256 hidden units) followed by a
``RowParallelDense`` (each rank multiplies its block by its columns of the next weight, and one
allreduce sums the partial outputs). Every rank sees the same batches; the first and last layers
are replicated, made identical on every rank at the start and kept identical by identical
gradients, so a plain Trainer per rank suffices. At the end the blocks are gathered and the
whole MLP in one process must give the same output.

    mxplug launch -n 2 examples/parallel_tensor.py [--epochs 20]
    python examples/parallel_tensor.py            # one rank holds the whole layers
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import mxplug as mx
from mxplug import autograd, demo, gluon, parallel

nn = gluon.nn


def model(parallel_middle=True):
    net = nn.Sequential()  # Sequential, not Hybrid: collectives run imperatively
    middle = ([parallel.ColumnParallelDense(256, in_units=128, activation="relu"),
               parallel.RowParallelDense(64, in_units=256, activation="relu")]
              if parallel_middle else
              [nn.Dense(256, in_units=128, activation="relu"),
               nn.Dense(64, in_units=256, activation="relu")])
    net.add(nn.Dense(128, in_units=64, activation="relu"), *middle, nn.Dense(10, in_units=64))
    return net


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    comm = parallel.init()
    mx.random.seed(args.seed)

    net = model()
    net.initialize(mx.init.Xavier())  # split layers: blocks of rank 0's full draw
    replicated = [p for p in net.collect_params().values()
                  if not isinstance(p, parallel.ShardedParameter)]
    parallel.broadcast_parameters(replicated)  # the rest: rank 0's values everywhere
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.05, "momentum": 0.9})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()

    train_set, test_set = demo.digits(True, (-1,)), demo.digits(False, (-1,))
    sampler = parallel.DistributedSampler(len(train_set), num_replicas=1, rank=0)  # same batches
    loader = gluon.data.DataLoader(train_set, batch_size=args.batch_size, sampler=sampler)
    start = time.perf_counter()
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        for x, y in loader:
            with autograd.record():
                loss = loss_fn(net(x), y)
            loss.backward()
            trainer.step(x.shape[0])
    seconds = time.perf_counter() - start

    images = mx.nd.stack(*[test_set[i][0] for i in range(len(test_set))])
    labels = np.array([test_set[i][1] for i in range(len(test_set))])
    out = net(images)
    acc = float((out.argmax(axis=1).asnumpy() == labels).mean())
    # the whole MLP in one process, from the gathered blocks
    dense0, col, row, dense3 = net
    full = [dense0.weight.data(), dense0.bias.data(), comm.allgather(col.weight.data()),
            comm.allgather(col.bias.data()), comm.allgather(row.weight.data().T).T,
            row.bias.data(), dense3.weight.data(), dense3.bias.data()]
    whole = model(parallel_middle=False)
    whole.initialize()
    for p, v in zip(whole.collect_params().values(), full):
        p.set_data(v)
    diff = float(np.abs(whole(images).asnumpy() - out.asnumpy()).max())
    same = comm.allgather_object(float(out.asnumpy().sum()))
    if comm.rank == 0:
        print(f"tensor parallel: {comm.size} rank(s), {args.epochs} epochs in {seconds:.1f} s, "
              f"test accuracy {acc:.4f}")
        print(f"tensor-parallel output equals the MLP in one process: {diff < 1e-4} "
              f"(max difference {diff:.1e})")
        print(f"output identical on every rank: {len(set(same)) == 1}")


if __name__ == "__main__":
    main()
