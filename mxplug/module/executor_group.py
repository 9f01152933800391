"""``DataParallelExecutorGroup``: one executor per context, each on its share of the batch.

MXNet 1.x's data parallelism inside one process: the batch is split along its batch axis
(``N`` of the layout) in proportion to ``work_load_list``, each context's executor runs its
slice, outputs are concatenated back, and the module sums gradients over the contexts (kvstore)
before updating. With one context the batch's arrays are handed to the executor as they are
(no slicing, and no copy when context and dtype already match).
"""

from __future__ import annotations

import logging
from collections import OrderedDict

import numpy as np

from .. import ndarray as nd
from ..base import MXNetValueError
from ..context import Context, cpu
from ..io import DataDesc
from .base_module import ModuleStateError

__all__ = ["DataParallelExecutorGroup", "split_input_slice"]

#: Re-shaped executor sets kept for reuse (a last smaller batch, bucket-like shapes); each
#: holds its own buffers, so the cache is bounded.
_MAX_SHAPES = 8


def split_input_slice(batch_size, work_load_list):
    """Slices of ``range(batch_size)`` in proportion to ``work_load_list`` (MXNet's rounding:
    the last one takes what rounding left over)."""
    total = sum(work_load_list)
    counts = [round(w * batch_size / total) for w in work_load_list]
    if sum(counts) < batch_size:
        counts[-1] += batch_size - sum(counts)
    slices, end = [], 0
    for n in counts:
        begin = int(min(end, batch_size))
        end = int(min(begin + n, batch_size))
        if begin >= end:
            raise MXNetValueError(f"Too many slices: batch size {batch_size} split by "
                                  f"work_load_list {list(work_load_list)} leaves some empty")
        slices.append(slice(begin, end))
    return slices


def _batch_axes(descs):
    return [DataDesc.get_batch_axis(getattr(d, "layout", None)) for d in descs]


def _sliced_shape(desc, axis, islice):
    shape = list(desc.shape)
    if axis >= 0:
        shape[axis] = islice.stop - islice.start
    return tuple(shape)


def _take(arr, axis, islice):
    """``arr``'s part ``islice`` along ``axis`` (itself when that is all of it)."""
    if axis < 0 or (islice.start == 0 and islice.stop == arr.shape[axis]):
        return arr
    if axis == 0:
        return arr[islice.start:islice.stop]
    return nd.slice_axis(arr, axis=axis, begin=islice.start, end=islice.stop)


def _merge(per_exec, axes):
    """One array per output: the contexts' parts concatenated along the batch axis (on the
    first context), or the first part where there is no batch axis."""
    merged = []
    for parts, axis in zip(per_exec, axes):
        if axis >= 0 and len(parts) > 1:
            first = parts[0].context
            merged.append(nd.concat(*[p.as_in_context(first) for p in parts], dim=axis))
        else:
            merged.append(parts[0])
    return merged


class DataParallelExecutorGroup:
    """Executors of ``symbol`` on ``contexts`` sharing each batch (see the module docstring).

    Parameters mirror MXNet's: ``param_names`` are the arguments the optimizer updates,
    ``fixed_param_names`` those it must not (no gradient), ``state_names`` inputs kept across
    batches (no gradient, not split), ``shared_group`` another group whose parameter arrays
    this one uses (BucketingModule).
    """

    def __init__(self, symbol, contexts, workload, data_shapes, label_shapes, param_names,
                 for_training, inputs_need_grad, shared_group=None, logger=logging,
                 fixed_param_names=None, grad_req="write", state_names=None, group2ctxs=None):
        self.symbol = symbol
        self.contexts = [Context(c) for c in contexts]
        self.workload = list(workload)
        self.param_names = list(param_names)
        self.arg_names = symbol.list_arguments()
        self.aux_names = symbol.list_auxiliary_states()
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self.logger = logger
        self.fixed_param_names = list(fixed_param_names or [])
        self.state_names = list(state_names or [])
        self.group2ctxs = _group2ctxs(group2ctxs, len(self.contexts))
        self.output_names = symbol.list_outputs()
        self.output_layouts = [DataDesc.get_batch_axis(symbol[i].attr("__layout__"))
                               for i in range(len(self.output_names))]
        # (name, shape) pairs are DataDescs, as MXNet converts them
        data_shapes = [d if isinstance(d, DataDesc) else DataDesc(*d) for d in data_shapes]
        if label_shapes is not None:
            label_shapes = [d if isinstance(d, DataDesc) else DataDesc(*d) for d in label_shapes]
        data_names = [d[0] for d in data_shapes]
        self.grad_req = self._grad_req_dict(grad_req, data_names)
        self.execs = []
        self._total_exec_bytes = 0
        self._cache = {}  # input shapes -> (execs, slices, batch size) of reshape()
        self.bind_exec(data_shapes, label_shapes, shared_group)

    def _grad_req_dict(self, grad_req, data_names):
        """Per-argument requests, MXNet's rules: parameters get ``grad_req`` (fixed ones
        'null'), data only with ``inputs_need_grad``, labels and states never."""
        if not self.for_training:
            return dict.fromkeys(self.arg_names, "null")
        fixed = set(self.fixed_param_names)

        def default(name, req):
            if name in self.param_names:
                return "null" if name in fixed else req
            if name in data_names:
                return req if self.inputs_need_grad else "null"
            return "null"
        if isinstance(grad_req, str):
            return {n: default(n, grad_req) for n in self.arg_names}
        if isinstance(grad_req, (list, tuple)):
            if len(grad_req) != len(self.arg_names):
                raise MXNetValueError(f"bind: grad_req has {len(grad_req)} entries for "
                                      f"{len(self.arg_names)} arguments {self.arg_names}")
            return dict(zip(self.arg_names, grad_req))
        if isinstance(grad_req, dict):
            reqs = {n: default(n, "write") for n in self.arg_names}
            reqs.update(grad_req)
            return reqs
        raise MXNetValueError(f"bind: grad_req must be a str, list or dict, got {grad_req!r}")

    # -- binding ------------------------------------------------------------------------------
    def decide_slices(self, data_shapes):
        """The batch size and each context's slice of it."""
        axes = _batch_axes(data_shapes)
        sizes = [(d, d.shape[a]) for d, a in zip(data_shapes, axes) if a != -1]
        if not sizes:
            raise MXNetValueError(f"bind: no data input has a batch axis: {data_shapes}")
        batch_size = sizes[0][1]
        for d, size in sizes:
            if size != batch_size:
                raise MXNetValueError(
                    f"all data must have the same batch size: batch_size = {batch_size}, but "
                    f"{d.name} has shape {d.shape}")
        self.batch_size = batch_size
        self.slices = split_input_slice(batch_size, self.workload)
        return axes

    def bind_exec(self, data_shapes, label_shapes, shared_group=None, reshape=False):
        """Bind (or, with ``reshape``, re-shape) one executor per context."""
        self.data_shapes, self.label_shapes = list(data_shapes), label_shapes
        self.data_names = [d.name for d in data_shapes]
        self.label_names = [d.name for d in label_shapes] if label_shapes else []
        self.data_layouts = self.decide_slices(data_shapes)
        self.label_layouts = _batch_axes(label_shapes) if label_shapes else []
        inputs = list(data_shapes) + list(label_shapes or [])
        layouts = self.data_layouts + self.label_layouts
        key = tuple((d.name, tuple(d.shape)) for d in inputs)
        if reshape:
            cached = self._cache.get(key)
            if cached is None:
                execs = [ex.reshape(partial_shaping=True, allow_up_sizing=True, **{
                    d.name: _sliced_shape(d, a, s) for d, a in zip(inputs, layouts)})
                    for ex, s in zip(self._cache[self._bound_key][0], self.slices)]
                if len(self._cache) >= _MAX_SHAPES:  # forget the oldest re-shaped set
                    del self._cache[next(k for k in self._cache if k != self._bound_key)]
                cached = self._cache[key] = (execs, self.slices, self.batch_size)
            self.execs, self.slices, self.batch_size = cached
            self._list_arrays()
            return
        self.execs = []
        for i, ctx in enumerate(self.contexts):
            shared = shared_group.execs[i] if shared_group is not None else None
            shapes = {d.name: _sliced_shape(d, a, self.slices[i])
                      for d, a in zip(inputs, layouts)}
            types = {d.name: np.dtype(getattr(d, "dtype", np.float32)) for d in inputs}
            self.execs.append(self._bind_ith_exec(ctx, shapes, types, self.group2ctxs[i],
                                                  shared))
        self._bound_key = key
        self._cache = {key: (self.execs, self.slices, self.batch_size)}
        self._list_arrays()

    def _bind_ith_exec(self, ctx, shapes, types, group2ctx, shared):
        """An executor with every array allocated here, parameters (and their gradients)
        taken from ``shared`` where it has them."""
        sym = self.symbol
        arg_shapes, _, aux_shapes = sym.infer_shape(**shapes)
        if arg_shapes is None:
            known = sym.infer_shape_partial(**shapes)[0]
            unknown = [n for n, s in zip(self.arg_names, known) if not s]
            raise MXNetValueError(f"bind: cannot infer the shapes of {unknown} from {shapes}")
        attrs = sym.attr_dict()
        type_dict = {n: np.float32 for n in self.arg_names
                     if "__dtype__" not in attrs.get(n, {})}
        type_dict.update(types)
        arg_types, _, aux_types = sym.infer_type(**type_dict)
        args, grads, aux = {}, {}, {}
        # BucketingModule: a bucket uses the default bucket's parameters (same name and shape)
        s_args, s_grads, s_aux = (shared.arg_dict, shared.grad_dict, shared.aux_dict) \
            if shared is not None else ({}, {}, {})

        def reuse(table, name, shape):
            old = table.get(name)
            return old if old is not None and tuple(old.shape) == tuple(shape) else None

        def home(name):  # a variable of a ctx_group lives on the group's context (MXNet)
            group = attrs.get(name, {}).get("__ctx_group__")
            return Context(group2ctx[group]) if group2ctx and group in group2ctx else ctx

        for name, shape, dtype in zip(self.arg_names, arg_shapes, arg_types):
            old = reuse(s_args, name, shape) if name in self.param_names else None
            where = home(name)
            args[name] = old if old is not None else nd.zeros(shape, ctx=where, dtype=dtype)
            if self.grad_req[name] != "null":
                g = reuse(s_grads, name, shape) if old is not None else None
                grads[name] = g if g is not None else nd.zeros(shape, ctx=where, dtype=dtype)
        for name, shape, dtype in zip(self.aux_names, aux_shapes, aux_types):
            old = reuse(s_aux, name, shape)
            aux[name] = old if old is not None else nd.zeros(shape, ctx=home(name),
                                                             dtype=dtype)
        self._total_exec_bytes += sum(
            a.size * np.dtype(a.dtype).itemsize for a in [*args.values(), *grads.values(),
                                                           *aux.values()])
        return sym.bind(ctx, args, args_grad=grads, grad_req=self.grad_req, aux_states=aux,
                        group2ctx=group2ctx)

    def reshape(self, data_shapes, label_shapes):
        """Executors for new input shapes, sharing the parameters (cached per shapes)."""
        if list(data_shapes) == self.data_shapes and label_shapes == self.label_shapes:
            return
        self.bind_exec(data_shapes, label_shapes, reshape=True)

    # -- the arrays, as MXNet's group lists them (per name, per context) ------------------------
    def _list_arrays(self):
        """``param_arrays``, ``grad_arrays`` (None where no gradient), ``aux_arrays`` and
        ``state_arrays`` of the current executors, and ``version`` (bumped when they change),
        listed once per bind / reshape rather than per step."""
        execs = self.execs
        self.param_arrays = [[ex.arg_dict[n] for ex in execs] for n in self.param_names]
        self.grad_arrays = [[ex.grad_dict.get(n) for ex in execs] for n in self.param_names] \
            if self.for_training else []
        self.aux_arrays = [[ex.aux_dict[n] for ex in execs] for n in self.aux_names]
        self.state_arrays = [[ex.arg_dict[n] for ex in execs] for n in self.state_names]
        self.version = getattr(self, "version", 0) + 1

    def set_params(self, arg_params, aux_params, allow_extra=False):
        """Copy ``arg_params``/``aux_params`` into every context's arrays."""
        for ex in self.execs:
            ex.copy_params_from(arg_params, aux_params, allow_extra_params=allow_extra)

    def get_params(self, arg_params, aux_params):
        """Write the parameters, averaged over the contexts, into ``arg_params`` /
        ``aux_params`` (arrays on the CPU)."""
        for names, blocks, dst in ((self.param_names, self.param_arrays, arg_params),
                                   (self.aux_names, self.aux_arrays, aux_params)):
            for name, block in zip(names, blocks):
                if len(block) == 1:
                    dst[name][:] = block[0]
                    continue
                total = block[0].as_in_context(cpu()).astype("float64")
                for w in block[1:]:
                    total = total + w.as_in_context(cpu()).astype("float64")
                dst[name][:] = (total / len(block)).astype(dst[name].dtype)

    # -- computation --------------------------------------------------------------------------
    def _load(self, arrays, names, axes):
        """Give each executor its slice of ``arrays`` as its input ``names``. The executor
        reads its inputs by name at every run, so the slice itself becomes the input: no copy
        when it already has the bound context and dtype, one transfer (or cast) otherwise."""
        for k, (ex, islice) in enumerate(zip(self.execs, self.slices)):
            arg_dict = ex.arg_dict
            for name, src, axis in zip(names, arrays, axes):
                # a list holds one pre-sliced array per executor
                src = src[k] if isinstance(src, (list, tuple)) else _take(src, axis, islice)
                dst = arg_dict[name]
                if src.shape != dst.shape:
                    raise MXNetValueError(
                        f"forward: input {name!r} has shape {tuple(src.shape)}, the executor "
                        f"on {ex._ctx} was bound for {tuple(dst.shape)} (reshape the module, "
                        f"or give the batch provide_data / provide_label)")
                if src.context is not dst.context:  # the bound context (or ctx_group's)
                    src = src.as_in_context(dst.context)
                if src.dtype != dst.dtype:
                    src = src.astype(dst.dtype)
                arg_dict[name] = src

    def forward(self, data_batch, is_train=None):
        """Load the batch (split over the contexts) and run every executor's forward."""
        if isinstance(data_batch, list):  # one DataBatch per context
            data = [list(x) for x in zip(*[db.data for db in data_batch])]
            label = ([list(x) for x in zip(*[db.label for db in data_batch])]
                     if data_batch and data_batch[0].label else None)
        else:  # a batch without labels (namedtuple('Batch', ['data'])) is fine, as in MXNet
            data, label = data_batch.data, getattr(data_batch, "label", None)
        self._load(data, self.data_names, self.data_layouts)
        if is_train is None:
            is_train = self.for_training
        if self.label_names and label:
            self._load(label, self.label_names, self.label_layouts)
        for ex in self.execs:
            ex.forward(is_train=is_train)

    def backward(self, out_grads=None):
        """Every executor's backward, with its slice of ``out_grads``."""
        if not self.for_training:
            raise ModuleStateError("backward: re-bind with for_training=True to run backward")
        if isinstance(out_grads, nd.NDArray):
            out_grads = [out_grads]
        if all(r == "null" for r in self.grad_req.values()):
            return  # nothing to differentiate (MXNet runs an empty backward)
        for ex, islice in zip(self.execs, self.slices):
            if not out_grads:
                ex.backward()
                continue
            parts = [_take(g, axis, islice).as_in_context(ex._ctx)
                     for g, axis in zip(out_grads, self.output_layouts)]
            ex.backward(out_grads=parts)

    def get_output_shapes(self):
        """``[(name, shape)]`` of the merged outputs (the whole batch)."""
        shapes = []
        for name, out, axis in zip(self.output_names, self.execs[0].outputs,
                                   self.output_layouts):
            shape = list(out.shape)
            if axis >= 0:
                shape[axis] = self.batch_size
            shapes.append((name, tuple(shape)))
        return shapes

    def get_outputs(self, merge_multi_context=True, begin=0, end=None):
        end = len(self.output_names) if end is None else end
        outputs = [[ex.outputs[i] for ex in self.execs] for i in range(begin, end)]
        if merge_multi_context:
            return _merge(outputs, self.output_layouts[begin:end])
        return outputs

    def get_input_grads(self, merge_multi_context=True):
        if not self.inputs_need_grad:
            raise ModuleStateError("get_input_grads: bind with inputs_need_grad=True first")
        grads = [[ex.grad_dict[n] for ex in self.execs] for n in self.data_names]
        if merge_multi_context:
            return _merge(grads, self.data_layouts)
        return grads

    def get_states(self, merge_multi_context=True):
        states = self.state_arrays
        if merge_multi_context:
            return _merge(states, [-1] * len(states))
        return states

    def set_states(self, states=None, value=None):
        if states is not None:
            if value is not None:
                raise MXNetValueError("set_states: give states or value, not both")
            for name, per_ctx in zip(self.state_names, states):
                for ex, src in zip(self.execs, per_ctx):
                    ex.arg_dict[name][:] = src
        else:
            if value is None:
                raise MXNetValueError("set_states: give states or value")
            for name in self.state_names:
                for ex in self.execs:
                    ex.arg_dict[name][:] = value

    def update_metric(self, eval_metric, labels, pre_sliced=False):
        """Feed each context's outputs and its slice of ``labels`` to ``eval_metric``."""
        for k, (ex, islice) in enumerate(zip(self.execs, self.slices)):
            if pre_sliced:
                parts = labels[k]
            else:
                parts = [_take(lab, axis, islice) if axis >= 0 else lab
                         for lab, axis in zip(labels, self.label_layouts or [0] * len(labels))]
            eval_metric.update_dict(OrderedDict(zip(self.label_names, parts)),
                                    OrderedDict(zip(self.output_names, ex.outputs)))

    def install_monitor(self, mon):
        for ex in self.execs:
            mon.install(ex)


def _group2ctxs(group2ctxs, n):
    """Per context, its ``group2ctx`` dict. MXNet takes a list of dicts (one per context), or
    one dict whose values are a context (for every context), or a list of one or ``n``."""
    if group2ctxs is None:
        return [None] * n
    if isinstance(group2ctxs, list):
        if len(group2ctxs) != n:
            raise MXNetValueError(f"group2ctxs: length of group2ctxs should be {n}, got "
                                  f"{len(group2ctxs)}")
        return group2ctxs
    out = [{} for _ in range(n)]
    for group, ctxs in group2ctxs.items():
        ctxs = list(ctxs) if isinstance(ctxs, (list, tuple)) else [ctxs]
        if len(ctxs) == 1:
            ctxs = ctxs * n
        if len(ctxs) != n:
            raise MXNetValueError(f"group2ctxs: length of group2ctxs[{group!r}] should be {n} "
                                  f"or 1, got {len(ctxs)}")
        for i, c in enumerate(ctxs):
            out[i][group] = c
    return out
