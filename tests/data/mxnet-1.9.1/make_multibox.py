"""Write ``multibox.npz``: inputs, attributes and outputs of MXNet 1.9.1's MultiBoxPrior,
MultiBoxTarget, MultiBoxDetection, box_encode and box_decode (CPU) for seeded random cases. Run
with MXNet 1.9.1:

    python tests/data/mxnet-1.9.1/make_multibox.py   # in an environment with mxnet==1.9.1

Each case ``k`` stores ``{k}/in{i}`` (inputs), ``{k}/out{i}`` (outputs) and ``{k}/attrs`` (the
keyword arguments as a JSON string, with the op name under ``op``).
"""

import json
import os

import mxnet as mx
import numpy as np

rng = np.random.RandomState(1991)
cases = []


def add(op, inputs, **attrs):
    fn = getattr(mx.nd.contrib, op)
    outs = fn(*[mx.nd.array(a, dtype=a.dtype) for a in inputs], **attrs)
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    cases.append((op, inputs, attrs, [o.asnumpy() for o in outs]))


def boxes(n, lo=0.0, hi=1.0):
    """n random corner boxes inside [lo, hi]."""
    a = rng.uniform(lo, hi, (n, 2, 2))
    return np.concatenate([a.min(axis=1), a.max(axis=1) + 0.02], axis=1).astype(np.float32)


feat = np.zeros((1, 2, 3, 4), np.float32)
for kw in [dict(), dict(sizes=(0.5, 0.25), ratios=(1, 2, 0.5)),
           dict(sizes=(0.7, 0.3), ratios=(1.0, 3.0), clip=True, steps=(0.4, 0.3),
                offsets=(0.2, 0.6))]:
    add("MultiBoxPrior", [feat], **kw)

anchor = mx.nd.contrib.MultiBoxPrior(mx.nd.zeros((1, 1, 4, 4)), sizes=(0.3, 0.6),
                                     ratios=(1, 2, 0.5), clip=True).asnumpy()   # (1, 64, 4)
A = anchor.shape[1]
label = np.full((3, 5, 5), -1, np.float32)
for b, count in enumerate((4, 1, 0)):     # the last image has no box
    label[b, :count, 0] = rng.randint(0, 3, count)
    label[b, :count, 1:] = boxes(count)
cls_pred = rng.randn(3, 4, A).astype(np.float32)
for kw in [dict(), dict(overlap_threshold=0.3),
           dict(negative_mining_ratio=3.0, negative_mining_thresh=0.5),
           dict(negative_mining_ratio=1.0, negative_mining_thresh=0.4, minimum_negative_samples=5,
                ignore_label=-2.0),
           dict(variances=(0.2, 0.2, 0.5, 0.5), overlap_threshold=0.6)]:
    add("MultiBoxTarget", [anchor, label, cls_pred], **kw)

logits = rng.randn(3, 4, A).astype(np.float32) * 2
prob = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
prob[2, :, :10] = prob[2, :, :1]          # ties: equal scores keep the anchor order
loc = (rng.randn(3, 4 * A) * 0.5).astype(np.float32)
for kw in [dict(), dict(threshold=0.4), dict(force_suppress=True, nms_threshold=0.3),
           dict(nms_topk=7), dict(nms_threshold=0.0), dict(clip=False, nms_threshold=0.7),
           dict(variances=(0.2, 0.2, 0.4, 0.4), threshold=0.2, nms_topk=20)]:
    add("MultiBoxDetection", [prob.astype(np.float32), loc, anchor], **kw)

samples = rng.choice([-1.0, 0.0, 1.0], (2, 64)).astype(np.float32)
matches = rng.randint(0, 5, (2, 64)).astype(np.float32)
refs = np.stack([boxes(5), boxes(5)])
for means, stds in [((0, 0, 0, 0), (0.1, 0.1, 0.2, 0.2)), ((0.1, -0.1, 0.05, 0), (1, 1, 1, 1))]:
    add("box_encode", [samples, matches, np.concatenate([anchor, anchor]), refs,
                       np.array(means, np.float32), np.array(stds, np.float32)])
deltas = (rng.randn(2, A, 4) * 0.7).astype(np.float32)
centres = np.concatenate([(anchor[..., :2] + anchor[..., 2:]) / 2,
                          anchor[..., 2:] - anchor[..., :2]], axis=-1)
for kw, anchors in [(dict(), centres), (dict(format="corner"), anchor),
                    (dict(std0=0.1, std1=0.1, std2=0.2, std3=0.2, clip=0.3, format="corner"),
                     anchor)]:
    add("box_decode", [deltas, anchors], **kw)

arrays = {}
for k, (op, inputs, attrs, outs) in enumerate(cases):
    arrays[f"{k}/attrs"] = np.array(json.dumps({"op": op, **attrs}))
    for i, a in enumerate(inputs):
        arrays[f"{k}/in{i}"] = a
    for i, a in enumerate(outs):
        arrays[f"{k}/out{i}"] = a
np.savez_compressed(os.path.join(os.path.dirname(os.path.abspath(__file__)), "multibox.npz"),
                    **arrays)
print(f"{len(cases)} cases")
