"""Independent references for ``mxplug/ops/contrib_hawkes.py``: the Hawkes log likelihood and its
gradients in closed form — every intensity as an explicit sum over the earlier points of its
mark, every compensator as its integral, the derivatives of those written out — in Python floats,
from MXNet 1.x's documentation of ``hawkesll`` rather than from its recursion
(``tests/test_contrib_hawkes.py`` checks the op against MXNet 1.9.1's outputs too)."""
from __future__ import annotations

import math

import numpy as np


def _points(lags, marks, valid_length, i, k):
    """The times of row ``i``'s valid points of mark ``k``, in order."""
    t, out = 0.0, []
    for j in range(lags.shape[1]):
        if not j < float(valid_length[i]):
            break
        t += float(lags[i, j])
        if int(marks[i, j]) == k:
            out.append(t)
    return out


def _terms(lda, alpha, beta, state, lags, marks, valid_length, max_time, i, k):
    """Mark ``k`` of row ``i``: its log likelihood and the derivatives of it by lda, alpha, beta;
    its memory at max_time and that memory's derivative by beta."""
    mu, a, b, s0 = (float(lda[i, k]), float(alpha[k]), float(beta[k]), float(state[i, k]))
    big_t = float(max_time[i])
    times = _points(lags, marks, valid_length, i, k)
    ll = d_mu = d_a = d_b = 0.0
    for n, t in enumerate(times):
        # memory just before t and its derivative by beta
        e = s0 * math.exp(-b * t) + sum(math.exp(-b * (t - u)) for u in times[:n])
        de = -s0 * t * math.exp(-b * t) - sum((t - u) * math.exp(-b * (t - u))
                                             for u in times[:n])
        lam = mu + a * b * e
        ll += math.log(lam)
        d_mu += 1 / lam
        d_a += b * e / lam
        d_b += a * (e + b * de) / lam
    # compensator: integral of the intensity over (0, T]
    decays = [(s0, 0.0)] + [(1.0, u) for u in times]
    ll -= mu * big_t + a * sum(c * (1 - math.exp(-b * (big_t - u))) for c, u in decays)
    d_mu -= big_t
    d_a -= sum(c * (1 - math.exp(-b * (big_t - u))) for c, u in decays)
    d_b -= a * sum(c * (big_t - u) * math.exp(-b * (big_t - u)) for c, u in decays)
    memory = sum(c * math.exp(-b * (big_t - u)) for c, u in decays)
    d_memory = -sum(c * (big_t - u) * math.exp(-b * (big_t - u)) for c, u in decays)
    return ll, (d_mu, d_a, d_b), memory, d_memory


def _hawkesll(lda, alpha, beta, state, lags, marks, valid_length, max_time):
    n, k = lda.shape
    ll, mem = np.zeros(n), np.zeros((n, k))
    for i in range(n):
        for m in range(k):
            part, _, mem[i, m], _ = _terms(lda, alpha, beta, state, lags, marks, valid_length,
                                           max_time, i, m)
            ll[i] += part
    return ll.astype(lda.dtype), mem.astype(lda.dtype)


def _hawkesll_grad(g_ll, g_state, lda, alpha, beta, state, lags, marks, valid_length,
                   max_time):
    n, k = lda.shape
    g_lda, g_alpha, g_beta = np.zeros((n, k)), np.zeros(k), np.zeros(k)
    for i in range(n):
        for m in range(k):
            _, (d_mu, d_a, d_b), _, d_mem = _terms(lda, alpha, beta, state, lags, marks,
                                                   valid_length, max_time, i, m)
            w = float(g_ll[i])
            g_lda[i, m] = w * d_mu
            g_alpha[m] += w * d_a
            g_beta[m] += w * d_b + float(g_state[i, m]) * d_mem
    return tuple(x.astype(lda.dtype) for x in (g_lda, g_alpha, g_beta))


REFERENCES = {"_contrib_hawkesll": _hawkesll, "_contrib_backward_hawkesll": _hawkesll_grad}
