"""Pipeline-parallel training of the digits MLP: two stages on two ranks, batches in micro-batches.

Stage 0 (the two hidden layers of ``mxplug demo``'s MLP) runs on rank 0, stage 1 (the output
layer) on rank 1. ``parallel.Pipeline`` splits every batch into micro-batches and runs GPipe's
schedule: rank 0 sends each micro-batch's activations on as soon as they are ready, rank 1
computes the loss, and the backward pass sends the gradients back. Every rank trains its own
stage with a plain Trainer. At the end the stages are gathered on the last rank, which checks
that the pipeline computes exactly what the whole MLP computes in one process.

    mxplug launch -n 2 examples/parallel_pipeline.py [--epochs 20] [--micro-batches 4]
    python examples/parallel_pipeline.py          # one process runs both stages
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import mxplug as mx
from mxplug import autograd, demo, gluon, parallel


def stages():
    """The digits MLP cut in two: its hidden layers, and its output layer."""
    mlp = demo.mlp()
    hidden = gluon.nn.HybridSequential(prefix="hidden_")
    hidden.add(mlp[0], mlp[1])
    return [hidden, mlp[2]]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--micro-batches", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    comm = parallel.init()
    mx.random.seed(args.seed)

    parts = stages()
    pipe = parallel.Pipeline(parts, micro_batches=args.micro_batches)
    pipe.initialize(mx.init.Xavier())  # each rank its own stage: shapes come with the data
    pipe.hybridize()
    trainer = gluon.Trainer(pipe.collect_params(), "sgd",
                            {"learning_rate": 0.05, "momentum": 0.9})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()

    train_set, test_set = demo.digits(True, (-1,)), demo.digits(False, (-1,))
    # every rank walks the same batches: rank 0 needs the images, the last rank the labels
    sampler = parallel.DistributedSampler(len(train_set), num_replicas=1, rank=0)
    loader = gluon.data.DataLoader(train_set, batch_size=args.batch_size, sampler=sampler)
    start = time.perf_counter()
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        for x, y in loader:
            if x.shape[0] < args.micro_batches:
                continue  # a last batch too small to split
            with autograd.record():
                out = pipe(x)
                loss = loss_fn(out, y) if pipe.is_last else None
            pipe.backward(loss)
            trainer.step(x.shape[0])
    seconds = time.perf_counter() - start

    images = mx.nd.stack(*[test_set[i][0] for i in range(len(test_set))])
    labels = np.array([test_set[i][1] for i in range(len(test_set))])
    out = pipe(images)  # prediction: the output lands on the last rank
    # gather every stage's parameters on every rank, to compare with the MLP in one process
    mine = {i: [p.data().asnumpy() for p in parts[i].collect_params().values()]
            for i in pipe.stage_ids}
    values = {i: v for theirs in comm.allgather_object(mine) for i, v in theirs.items()}
    if pipe.is_last:
        acc = float((out.argmax(axis=1).asnumpy() == labels).mean())
        print(f"pipeline: {len(parts)} stages on {comm.size} rank(s), {args.micro_batches} "
              f"micro-batches, {args.epochs} epochs in {seconds:.1f} s, test accuracy {acc:.4f}")
        whole = gluon.nn.HybridSequential()
        whole.add(*stages())
        whole.initialize()
        whole(images)
        for i, part in enumerate(whole):
            for p, v in zip(part.collect_params().values(), values[i]):
                p.set_data(mx.nd.array(v))
        diff = float(np.abs(whole(images).asnumpy() - out.asnumpy()).max())
        print(f"pipeline output equals the MLP in one process: {diff < 1e-4} "
              f"(max difference {diff:.1e})")


if __name__ == "__main__":
    main()
