"""Data-parallel training of the digits MLP and the small CNN of ``mxplug demo`` over MPI ranks.

Each rank trains on its own part of every batch (``parallel.DistributedSampler``) and the
gradients are combined before each update: the MLP with MXNet's ``kvstore='dist_sync'`` (sums,
step with the global batch), the CNN with Horovod-style ``parallel.DistributedTrainer``
(averages, step with the local batch). Both train like one process on the global batch, so
the accuracy does not depend on the number of ranks. The test set is split over the ranks too
and the correct answers are summed; rank 0 prints the results.

    mxplug launch -n 2 examples/parallel_data.py [--epochs 20] [--cnn-epochs 10]
    python examples/parallel_data.py                 # the same script as one process
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import mxplug as mx
from mxplug import autograd, demo, gluon, parallel


def accuracy(net, dataset, comm):
    """Test accuracy over the whole set: each rank scores every ``size``-th sample."""
    mine = [dataset[i] for i in range(comm.rank, len(dataset), comm.size)]
    images = mx.nd.stack(*[x for x, _ in mine])
    labels = np.array([y for _, y in mine])
    pred = net(images).argmax(axis=1).asnumpy()
    counts = mx.nd.array([float((pred == labels).sum()), float(len(pred))])
    correct, total = comm.allreduce(counts).asnumpy()
    return correct / total


def same_on_every_rank(net, comm):
    """Whether every rank holds bit-identical parameters (data parallelism keeps them so)."""
    mine = [p.data().asnumpy() for p in net.collect_params().values()]
    return all(all(np.array_equal(a, b) for a, b in zip(theirs, mine))
               for theirs in comm.allgather_object(mine))


def train(name, net, image_shape, epochs, batch_size, lr, comm, averaging):
    """Train on the digits with a global batch of ``batch_size``; returns the test accuracy."""
    train_set = demo.digits(True, image_shape)
    test_set = demo.digits(False, image_shape)
    local_batch = batch_size // comm.size
    sampler = parallel.DistributedSampler(len(train_set))  # the seed of mx.random.seed
    loader = gluon.data.DataLoader(train_set, batch_size=local_batch, sampler=sampler)
    net.initialize(mx.init.Xavier())  # rank 0's values are broadcast by the trainer
    net.hybridize()
    opt = {"learning_rate": lr, "momentum": 0.9}
    if averaging:
        trainer = parallel.DistributedTrainer(net.collect_params(), "sgd", opt)
    else:
        trainer = gluon.Trainer(net.collect_params(), "sgd", opt, kvstore="dist_sync")
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    start = time.perf_counter()
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        for x, y in loader:
            with autograd.record():
                loss = loss_fn(net(x), y)
            loss.backward()
            # DistributedTrainer averages: the local batch; dist_sync sums: the global one
            trainer.step(x.shape[0] if averaging else x.shape[0] * comm.size)
    seconds = time.perf_counter() - start
    acc = accuracy(net, test_set, comm)
    same = same_on_every_rank(net, comm)
    if comm.rank == 0:
        how = "DistributedTrainer" if averaging else "dist_sync"
        print(f"{name}: {comm.size} rank(s), {how}, {epochs} epochs in {seconds:.1f} s, "
              f"test accuracy {acc:.4f}")
        print(f"{name}: parameters identical on every rank: {same}")
    return acc


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20, help="MLP epochs")
    parser.add_argument("--cnn-epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64, help="global batch size")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    comm = parallel.init()
    mx.random.seed(args.seed)
    train("mlp", demo.mlp(), (-1,), args.epochs, args.batch_size, 0.05, comm,
          averaging=False)
    train("cnn", demo.cnn(), (1, 8, 8), args.cnn_epochs, args.batch_size, 0.05, comm,
          averaging=True)


if __name__ == "__main__":
    main()
