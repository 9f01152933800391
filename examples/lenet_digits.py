"""MXNet 1.x's Gluon LeNet tutorial, unchanged apart from the import and the data set.

The classic tutorial trains LeNet on MNIST; here the images are scikit-learn's bundled digits
upscaled to 28x28 (no download). Swap ``import mxplug as mx`` for ``import mxnet as mx`` and
``Digits(size=28, ...)`` for ``MNIST(...)`` and it is the MXNet tutorial.

    python examples/lenet_digits.py [--epochs 10]
"""

import argparse

import numpy as np

import mxplug as mx
from mxplug import autograd, gluon, nd
from mxplug.gluon import nn


def transform(data, label):
    return nd.transpose(data.astype(np.float32), (2, 0, 1)) / 255, label.astype(np.float32)


def evaluate_accuracy(data_iterator, net, ctx):
    acc = mx.metric.Accuracy()
    for data, label in data_iterator:
        output = net(data.as_in_context(ctx))
        predictions = nd.argmax(output, axis=1)
        acc.update(preds=predictions, labels=label.as_in_context(ctx))
    return acc.get()[1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)
    ctx = mx.current_context()
    mx.random.seed(1)

    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Conv2D(channels=20, kernel_size=5, activation="relu"))
        net.add(nn.MaxPool2D(pool_size=2, strides=2))
        net.add(nn.Conv2D(channels=50, kernel_size=5, activation="relu"))
        net.add(nn.MaxPool2D(pool_size=2, strides=2))
        net.add(nn.Flatten())
        net.add(nn.Dense(500, activation="relu"))
        net.add(nn.Dense(10))
    net.collect_params().initialize(mx.init.Xavier(magnitude=2.24), ctx=ctx)
    net.hybridize()

    train_data = gluon.data.DataLoader(
        gluon.data.vision.datasets.Digits(train=True, size=28).transform(transform),
        args.batch_size, shuffle=True)
    test_data = gluon.data.DataLoader(
        gluon.data.vision.datasets.Digits(train=False, size=28).transform(transform),
        args.batch_size, shuffle=False)

    softmax_cross_entropy = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})

    for e in range(args.epochs):
        cumulative_loss = 0.0
        for data, label in train_data:
            data = data.as_in_context(ctx)
            label = label.as_in_context(ctx)
            with autograd.record():
                output = net(data)
                loss = softmax_cross_entropy(output, label)
            loss.backward()
            trainer.step(data.shape[0])
            cumulative_loss += nd.sum(loss).asscalar()
        test_accuracy = evaluate_accuracy(test_data, net, ctx)
        print(f"Epoch {e}. Loss: {cumulative_loss / len(train_data._dataset):.4f}, "
              f"Test_acc {test_accuracy:.4f}")
    print(f"test accuracy: {test_accuracy:.4f}")
    return test_accuracy


if __name__ == "__main__":
    main()
