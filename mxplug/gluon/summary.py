"""``Block.summary``: MXNet's table of layers, output shapes and parameter counts."""

from __future__ import annotations

from collections import OrderedDict

from ..ndarray import NDArray
from .block import HybridBlock, _CheckError
from .nested import _flatten, _regroup


def print_summary(block, inputs):
    """Run one forward of ``block`` on ``inputs`` with a hook on every layer and print
    the table (the block must not be hybridized)."""
    rows = OrderedDict()
    seen, hooks = set(), []

    def shape_str(args):
        flat, fmt = _flatten(args)
        shapes = [x.shape if isinstance(x, NDArray) else x for x in flat]
        grouped = _regroup(shapes, fmt)[0]
        return str(grouped)[1:-1] if isinstance(grouped, list) else str(grouped)

    def register(layer):
        if isinstance(layer, HybridBlock) and layer._active:
            raise _CheckError(f'"{layer.name}" must not be hybridized to print summary.')

        def hook(b, _, outputs):
            key = f"{type(b).__name__}-{len(rows)}"
            n = trainable = shared = 0
            for p in b._reg_params.values():
                size = p.data().size
                n += size
                trainable += 0 if p.grad_req == "null" else size
                if p in seen:
                    shared += size
                seen.add(p)
            rows[key] = (shape_str(outputs), n, trainable, shared)

        names = {c.__name__ for c in type(layer).__mro__}
        if not names & {"Sequential", "HybridSequential"}:
            hooks.append(layer.register_forward_hook(hook))

    rows["Input"] = (shape_str(inputs), 0, 0, 0)
    try:
        block.apply(register)
        block(*inputs)
        fmt = "{:>20}  {:>42} {:>15}"
        lines = ["-" * 80, fmt.format("Layer (type)", "Output Shape", "Param #"), "=" * 80]
        total = trainable = shared = 0
        for key, (shape, n, t, s) in rows.items():
            lines.append(fmt.format(key, shape, n))
            total, trainable, shared = total + n, trainable + t, shared + s
        lines += ["=" * 80, "Parameters in forward computation graph, duplicate included",
                  f"   Total params: {total}", f"   Trainable params: {trainable}",
                  f"   Non-trainable params: {total - trainable}",
                  f"Shared params in forward computation graph: {shared}",
                  f"Unique parameters in model: {total - shared}", "-" * 80]
        print("\n".join(lines))
    finally:
        for h in hooks:
            h.detach()
