"""The optimizer functions of MXNet 1.9.1's ``ndarray/contrib.py`` and ``symbol/contrib.py``:
``adamw_update``, ``mp_adamw_update`` and, in ``mx.nd.contrib``, the multi-tensor
``multi_adamw_update``, ``multi_mp_adamw_update``, ``multi_lamb_update``,
``multi_mp_lamb_update``.

They are thin front ends of the registry's ops: ``rescale_grad`` may be a number (made a
one-element array on the weight's context, as MXNet does) and the per-tensor arrays come as lists
that the ops take interleaved.
"""

from __future__ import annotations

__all__ = ["optimizer_functions_for"]


def _interleave(*lists):
    return [x for group in zip(*lists) for x in group]


def optimizer_functions_for(ns, symbolic):
    """The functions for ``ns`` (``mx.nd``, or ``mx.sym`` with ``symbolic``)."""
    internal = ns._internal

    def scale_of(rescale_grad, weight):
        if symbolic:
            return rescale_grad if isinstance(rescale_grad, ns.Symbol) \
                else ns.full(shape=(1,), val=rescale_grad)
        if isinstance(rescale_grad, ns.NDArray):
            return rescale_grad.as_in_context(weight.context)
        return ns.full((1,), rescale_grad, ctx=weight.context)

    def adamw_update(weight, grad, mean, var, rescale_grad, lr, eta, beta1=0.9, beta2=0.999,
                     epsilon=1e-8, wd=0, clip_gradient=-1, out=None, name=None, **kwargs):
        return internal._contrib_adamw_update(
            weight, grad, mean, var, scale_of(rescale_grad, weight), lr=lr, eta=eta,
            beta1=beta1, beta2=beta2, epsilon=epsilon, wd=wd, clip_gradient=clip_gradient,
            out=out, name=name, **kwargs)

    def mp_adamw_update(weight, grad, mean, var, weight32, rescale_grad, lr, eta, beta1=0.9,
                        beta2=0.999, epsilon=1e-8, wd=0, clip_gradient=-1, out=None, name=None,
                        **kwargs):
        return internal._contrib_mp_adamw_update(
            weight, grad, mean, var, weight32, scale_of(rescale_grad, weight), lr=lr, eta=eta,
            beta1=beta1, beta2=beta2, epsilon=epsilon, wd=wd, clip_gradient=clip_gradient,
            out=out, name=name, **kwargs)

    functions = {"adamw_update": adamw_update, "mp_adamw_update": mp_adamw_update}
    if symbolic:  # MXNet's symbol/contrib.py has only the two single-tensor forms
        return functions

    def multi_adamw_update(weights, grads, mean, var, rescale_grad, lrs, wds, etas, out=None,
                           name=None, size=0, **kwargs):
        return internal._multi_adamw_update(
            *_interleave(weights, grads, mean, var), scale_of(rescale_grad, weights[0]),
            out=out, num_weights=size or len(weights), lrs=lrs, wds=wds, etas=etas, **kwargs)

    def multi_mp_adamw_update(weights, grads, mean, var, weights32, rescale_grad, lrs, wds,
                              etas, out=None, name=None, size=0, **kwargs):
        return internal._multi_mp_adamw_update(
            *_interleave(weights, grads, mean, var, weights32),
            scale_of(rescale_grad, weights[0]), out=out, num_weights=size or len(weights),
            lrs=lrs, wds=wds, etas=etas, **kwargs)

    def multi_lamb_update(weights, grads, mean, var, step_count, lrs, wds, out=None,
                          num_tensors=0, **kwargs):
        return internal._multi_lamb_update(
            *_interleave(weights, grads, mean, var), out=out,
            num_tensors=num_tensors or len(weights), step_count=step_count,
            learning_rates=lrs, wds=wds, **kwargs)

    def multi_mp_lamb_update(weights, grads, mean, var, weights32, step_count, lrs, wds,
                             out=None, num_tensors=0, **kwargs):
        return internal._multi_mp_lamb_update(
            *_interleave(weights, grads, mean, var, weights32), out=out,
            num_tensors=num_tensors or len(weights), step_count=step_count,
            learning_rates=lrs, wds=wds, **kwargs)

    functions.update(multi_adamw_update=multi_adamw_update,
                     multi_mp_adamw_update=multi_mp_adamw_update,
                     multi_lamb_update=multi_lamb_update,
                     multi_mp_lamb_update=multi_mp_lamb_update)
    return functions
