"""mxplug op -> ONNX translations: resampling and detection ops (MXNet's ``contrib`` vision ops
and ``UpSampling``).

Registered in :data:`mxplug.onnx.translations.TRANSLATIONS` (see there for the calling
convention). The resampling ops are separable linear maps, ``out[n, c] = Wy @ x[n, c] @ Wx.T``,
whose weights depend only on the (static) spatial sizes: the translation computes them with the
op's own weight functions and emits two MatMuls, so ONNX computes what mxplug does.
"""

from __future__ import annotations

import numpy as np

from ..ops import contrib_resample as _resample
from .graph import onnx_dtype
from .translations import translates, unsupported


def _spatial(g, node):
    """(H, W) of the data, which the weights are built for: fixed at export."""
    if g.input_varying_axes(node, 0) & {2, 3}:
        raise unsupported(node, "dynamic height or width")
    return g.arg_specs(node)[0].shape[2:]


def _separable(g, node, x, wy, wx, out):
    """``wy (OH, H) @ x (N, C, H, W) @ wx.T (W, OW)``."""
    dt = g.spec(node).dtype
    rows = g.add("MatMul", [g.const(wy.astype(dt), hint=f"{node.name}_wy"), x], hint=node.name)
    g.add("MatMul", [rows, g.const(wx.T.astype(dt), hint=f"{node.name}_wx")], out, node.name)


@translates("_contrib_BilinearResize2D")
def _bilinear_resize(g, node, args, out):
    (h, w), (oh, ow) = _spatial(g, node), g.spec(node).shape[2:]
    like = np.zeros(0, g.spec(node).dtype)
    corners = node.attrs["align_corners"]
    _separable(g, node, args[0], _resample._bilinear_weights(np, h, oh, corners, like),
               _resample._bilinear_weights(np, w, ow, corners, like), out)


@translates("_contrib_AdaptiveAvgPooling2D")
def _adaptive_avg_pooling(g, node, args, out):
    (h, w), (oh, ow) = _spatial(g, node), g.spec(node).shape[2:]
    like = np.zeros(0, g.spec(node).dtype)
    _separable(g, node, args[0], _resample._adaptive_weights(np, h, oh, like),
               _resample._adaptive_weights(np, w, ow, like), out)


@translates("UpSampling")
def _upsampling(g, node, args, out):
    """Nearest: each input (N, C, h, w) repeated up to the output's size (``scale`` times the
    first input's), then concatenated on the channels or summed."""
    a = node.attrs
    if a["sample_type"] != "nearest":
        raise unsupported(node, f"sample_type={a['sample_type']!r}")
    oh, ow = g.spec(node).shape[2:]
    parts = []
    for x, xs in zip(args, g.arg_specs(node)):
        h, w = xs.shape[2:]
        scales = g.const([1, 1, oh / h, ow / w], np.float32, hint=f"{node.name}_scales")
        parts.append(g.add("Resize", [x, "", scales], hint=node.name, mode="nearest",
                           coordinate_transformation_mode="asymmetric", nearest_mode="floor"))
    if len(parts) == 1:
        g.add("Identity", parts, out, node.name)
    elif a["multi_input_mode"] == "sum":
        g.add("Sum", parts, out, node.name)
    else:
        g.add("Concat", parts, out, node.name, axis=1)


@translates("_contrib_ROIAlign")
def _roi_align(g, node, args, out):
    """ONNX RoiAlign: rois (R, 5) [batch index, x1, y1, x2, y2] split into boxes and int64
    indices; MXNet's ``sample_ratio=-1`` (adaptive) is ONNX's 0. Without ``aligned`` the boxes
    are not shifted by half a pixel: opset 10's behaviour, opset 16's 'output_half_pixel'."""
    a = node.attrs
    if a["position_sensitive"]:
        raise unsupported(node, "position_sensitive=True")
    if a["aligned"] and g.opset < 16:
        raise unsupported(node, "aligned=True below opset 16")
    x, rois = args
    ph, pw = a["pooled_size"]
    index = g.add("Slice", [rois, g.ints([0]), g.ints([1]), g.ints([1])], hint=node.name)
    index = g.add("Cast", [g.add("Reshape", [index, g.ints([-1])], hint=node.name)],
                  hint=node.name, to=onnx_dtype(np.int64))
    boxes = g.add("Slice", [rois, g.ints([1]), g.ints([5]), g.ints([1])], hint=node.name)
    mode = {}
    if g.opset >= 16:
        mode["coordinate_transformation_mode"] = "half_pixel" if a["aligned"] else \
            "output_half_pixel"
    g.add("RoiAlign", [x, boxes, index], out, node.name, mode="avg", output_height=ph,
          output_width=pw, sampling_ratio=max(0, a["sample_ratio"]),
          spatial_scale=float(a["spatial_scale"]), **mode)


# -- boxes ----------------------------------------------------------------------------------------
def _coords(g, node, boxes):
    """The four (.., 1) columns of boxes (.., 4)."""
    return g.add("Split", [boxes, g.ints([1, 1, 1, 1])], 4, node.name, axis=-1)


def _centre_size(g, node, boxes, fmt):
    """(x, y, w, h) columns of boxes given as corners or as ``center`` (x, y, w, h)."""
    a, b, c, d = _coords(g, node, boxes)
    if fmt == "center":
        return a, b, c, d
    half = g.const(0.5, g.spec(node).dtype)
    return (g.add("Mul", [g.add("Add", [a, c], hint=node.name), half], hint=node.name),
            g.add("Mul", [g.add("Add", [b, d], hint=node.name), half], hint=node.name),
            g.add("Sub", [c, a], hint=node.name), g.add("Sub", [d, b], hint=node.name))


@translates("_contrib_box_decode")
def _box_decode(g, node, args, out):
    """Corner boxes from offsets against anchors, as mxplug's ``decode``."""
    a, dt = node.attrs, g.spec(node).dtype
    data, anchors = args
    if g.arg_specs(node)[1].dtype != dt:
        anchors = g.add("Cast", [anchors], hint=node.name, to=onnx_dtype(dt))
    ax, ay, aw, ah = _centre_size(g, node, anchors, a["format"])
    d = _coords(g, node, data)

    def mul(*xs):
        r = xs[0]
        for v in xs[1:]:
            r = g.add("Mul", [r, v], hint=node.name)
        return r

    std = [g.const(a[f"std{i}"], dt) for i in range(4)]
    x = g.add("Add", [mul(d[0], std[0], aw), ax], hint=node.name)
    y = g.add("Add", [mul(d[1], std[1], ah), ay], hint=node.name)
    dw, dh = mul(d[2], std[2]), mul(d[3], std[3])
    if a["clip"] > 0:
        clip = g.const(a["clip"], dt)
        dw, dh = (g.add("Min", [v, clip], hint=node.name) for v in (dw, dh))
    half = g.const(0.5, dt)
    hw = mul(g.add("Exp", [dw], hint=node.name), aw, half)
    hh = mul(g.add("Exp", [dh], hint=node.name), ah, half)
    g.add("Concat", [g.add("Sub", [x, hw], hint=node.name), g.add("Sub", [y, hh], hint=node.name),
                     g.add("Add", [x, hw], hint=node.name), g.add("Add", [y, hh], hint=node.name)],
          out, node.name, axis=-1)


def _convert(g, node, rows, cs, to):
    """Rows (S, K) with coordinates at ``cs`` converted to ``to`` ('corner' or 'center')."""
    dt = g.spec(node).dtype
    k = g.arg_specs(node)[0].shape[-1]
    head = g.add("Slice", [rows, g.ints([0]), g.ints([cs]), g.ints([1])], hint=node.name)
    tail = g.add("Slice", [rows, g.ints([cs + 4]), g.ints([k]), g.ints([1])], hint=node.name)
    coords = g.add("Slice", [rows, g.ints([cs]), g.ints([cs + 4]), g.ints([1])], hint=node.name)
    a, b, c, d = _coords(g, node, coords)
    half = g.const(0.5, dt)
    if to == "center":
        new = _centre_size(g, node, coords, "corner")
    else:
        hw, hh = (g.add("Mul", [v, half], hint=node.name) for v in (c, d))
        new = (g.add("Sub", [a, hw], hint=node.name), g.add("Sub", [b, hh], hint=node.name),
               g.add("Add", [a, hw], hint=node.name), g.add("Add", [b, hh], hint=node.name))
    return g.add("Concat", [head, *new, tail], hint=node.name, axis=1)


@translates("_contrib_box_nms")
def _box_nms(g, node, args, out):
    """ONNX NonMaxSuppression on one class per batch element (``force_suppress``, or no class
    ids), its candidates limited to the ``topk`` best scores first; the survivors' rows are
    scattered to the front of a tensor of -1s in the order NMS picked them (descending score).
    A survivor's position is the count of survivors of the same batch element picked before it."""
    from onnx import numpy_helper
    a = node.attrs
    xs = g.arg_specs(node)[0]
    if a["id_index"] >= 0 and not a["force_suppress"]:
        raise unsupported(node, "per-class suppression (id_index without force_suppress)")
    if a["topk"] == 0:                                  # MXNet: the data unchanged
        g.add("Identity", args[:1], out, node.name)
        return
    n, k, cs, dt = xs.shape[-2], xs.shape[-1], a["coord_start"], xs.dtype
    x = g.add("Reshape", [args[0], g.ints([-1, n, k])], hint=node.name)       # (B, n, k)
    f32 = onnx_dtype(np.float32)
    score = g.add("Gather", [x, g.const(a["score_index"], np.int64)], hint=node.name, axis=2)
    score = g.add("Cast", [score], hint=node.name, to=f32)                     # (B, n)
    low = g.const(np.finfo(np.float32).min, np.float32)
    if a["id_index"] >= 0:
        cls = g.add("Gather", [x, g.const(a["id_index"], np.int64)], hint=node.name, axis=2)
        bg = g.add("Equal", [cls, g.const(a["background_id"], dt)], hint=node.name)
        score = g.add("Where", [bg, low, score], hint=node.name)
    if 0 < a["topk"] < n:          # only the topk best-scored boxes are candidates
        _, best = g.add("TopK", [score, g.ints([a["topk"]])], 2, node.name, axis=1)
        zeros = g.add("ConstantOfShape", [g.add("Shape", [score], hint=node.name)],
                      hint=node.name, value=numpy_helper.from_array(np.zeros(1, np.float32)))
        ones = g.add("Expand", [g.const(1, np.float32), g.add("Shape", [best], hint=node.name)],
                     hint=node.name)
        keep = g.add("ScatterElements", [zeros, best, ones], hint=node.name, axis=1)
        score = g.add("Where", [g.add("Cast", [keep], hint=node.name, to=onnx_dtype(np.bool_)),
                                score, low], hint=node.name)
    boxes = g.add("Slice", [x, g.ints([cs]), g.ints([cs + 4]), g.ints([2])], hint=node.name)
    boxes = g.add("Cast", [boxes], hint=node.name, to=f32)
    sel = g.add("NonMaxSuppression", [boxes, g.axes_op("Unsqueeze", score, [1], hint=node.name),
                                      g.ints([n]), g.const([a["overlap_thresh"]], np.float32),
                                      g.const([a["valid_thresh"]], np.float32)],
                hint=node.name, center_point_box=int(a["in_format"] == "center"))
    batch = g.add("Gather", [sel, g.const(0, np.int64)], hint=node.name, axis=1)      # (S,)
    index = g.add("Gather", [sel, g.const(2, np.int64)], hint=node.name, axis=1)
    same = g.add("Equal", [g.axes_op("Unsqueeze", batch, [1], hint=node.name),
                           g.axes_op("Unsqueeze", batch, [0], hint=node.name)], hint=node.name)
    s = g.add("Range", [g.const(0, np.int64), g.add("Size", [batch], hint=node.name),
                        g.const(1, np.int64)], hint=node.name)
    before = g.add("Less", [g.axes_op("Unsqueeze", s, [0], hint=node.name),
                            g.axes_op("Unsqueeze", s, [1], hint=node.name)], hint=node.name)
    rank = g.axes_op("ReduceSum", g.add("Cast", [g.add("And", [same, before], hint=node.name)],
                                        hint=node.name, to=onnx_dtype(np.int64)),
                     [1], hint=node.name, keepdims=0)
    pair = [g.axes_op("Unsqueeze", v, [1], hint=node.name) for v in (batch, index)]
    rows = g.add("GatherND", [x, g.add("Concat", pair, hint=node.name, axis=1)], hint=node.name)
    if a["in_format"] != a["out_format"]:
        rows = _convert(g, node, rows, cs, a["out_format"])
    where = g.add("Concat", [pair[0], g.axes_op("Unsqueeze", rank, [1], hint=node.name)],
                  hint=node.name, axis=1)
    blank = g.add("Expand", [g.const(-1, dt), g.add("Shape", [x], hint=node.name)],
                  hint=node.name)
    res = g.add("ScatterND", [blank, where, rows], hint=node.name)
    g.add("Reshape", [res, g.add("Shape", [args[0]], hint=node.name)], out, node.name)
