"""Compiled path choice: each driver's arc utilities drawn and its longest path solved in one pass.

This is the drivers' hot path (issue #16, item 8). For ``normal``, ``uniform`` and ``two_point``
utilities it replaces :func:`v2gsim.behavior.sampling.sample_utilities` followed by
:func:`v2gsim.behavior.sampling.longest_paths` (eq. D1) with a numba kernel that, driver by driver,

1. draws the driver's A arc utilities ``v_a = mu_a + rebate_a + sigma_a z_a`` (float32, same
   arithmetic as the numpy path) from the driver's own Philox stream (:mod:`v2gsim.behavior.philox`),
2. runs the longest-path recursion over the topological order (ties to the first incoming arc, as
   in :func:`~v2gsim.behavior.sampling.longest_paths`), and
3. backtracks the arc occupied in each hour.

No (arcs x drivers) array is formed, so memory is O(M T) for the result only, and the drivers are
split over threads (the kernel releases the GIL). Because every driver's draws depend only on the
day's key and the driver's index, the result does not depend on the number of threads or chunks.
:func:`draw_utilities` returns the same utilities as an (A, M) array, so the kernel can be checked
against the vectorized numpy DP.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba.core import entrypoints

from v2gsim.behavior.philox import stream_normal, stream_start, stream_word, ziggurat_fast
from v2gsim.behavior.sampling import PathChoice
from v2gsim.core.jit import njit_cached
from v2gsim.core.network import ActivityNetwork

__all__ = ["KERNEL_DISTRIBUTIONS", "choose_paths", "draw_utilities", "kernel_threads"]

# numba scans the installed packages' entry points (their metadata files) before its first
# compilation or cache load; doing it at import keeps a run's file accesses to its own files.
entrypoints.init_all()

#: Utility distributions the kernel draws (``extremal`` stays on the numpy sampler).
KERNEL_DISTRIBUTIONS = ("normal", "uniform", "two_point")
_DIST_CODE = {name: i for i, name in enumerate(KERNEL_DISTRIBUTIONS)}
_PURPOSE_UTILITIES = 0  # fourth counter word of the drivers' utility streams
_SQRT3 = np.float32(np.sqrt(3.0))
_U24 = 2.0**-24
_LANES = 16  # drivers solved side by side (one cache-resident (A, 16) block of utilities)
_MIN_PER_THREAD = 8_192  # smaller fleets run on one thread (thread start-up would dominate)


def kernel_threads() -> int:
    """Threads the kernel uses: ``V2GSIM_THREADS`` if set, else the CPUs this process may run on."""
    env = os.environ.get("V2GSIM_THREADS", "").strip()
    if env:
        try:
            n = int(env)
        except ValueError:
            raise ValueError(f"V2GSIM_THREADS must be a positive integer, got {env!r}") from None
        if n < 1:
            raise ValueError(f"V2GSIM_THREADS must be a positive integer, got {env!r}")
        return n
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _buffer_words(n_arcs: int) -> int:
    """Words buffered per driver: every arc's first word plus room for a few rejections."""
    return 4 * ((n_arcs + 12 + 3) // 4)


@njit_cached(nogil=True)
def _kernel(k0: int, k1: int, dist: int, mean: np.ndarray, sigma: np.ndarray, order: np.ndarray,
            in_ptr: np.ndarray, in_arcs: np.ndarray, tail: np.ndarray, hour: np.ndarray,
            duration: np.ndarray, source: int, sink: int, lo: int, hi: int, words: int, solve: bool,
            value: np.ndarray, arc_at_hour: np.ndarray, out: np.ndarray) -> None:
    """Drivers lo..hi-1: draw the utilities, then solve (eq. D1) and backtrack, or store them.

    Driver i's utilities ``v_a = z_a sigma_a + mean_a`` (float32) are drawn in arc order from its
    stream (key (k0, k1), driver i, purpose 0): ``z`` standard normal (``dist`` 0, ziggurat),
    uniform on +-sqrt(3) (1) or +-1 with probability 1/2 each (2). With ``solve`` the longest path
    goes to ``value[i]`` and row i of ``arc_at_hour``; otherwise the utilities go to column
    ``i - lo`` of ``out`` (A, hi - lo). The per-arc loop reads the buffered words directly (no
    calls with array arguments, which cost reference counting per call); a rejected ziggurat word
    or an exhausted buffer is handed to the stream functions at the same position, so the draws
    equal :func:`~v2gsim.behavior.philox.stream_normal` (``stream_uniform``, ``stream_word``)
    called arc by arc.
    """
    ctx = np.zeros(5, dtype=np.uint64)
    buf = np.empty(words, dtype=np.uint32)
    keys = np.zeros((2, 10), dtype=np.uint32)
    n_nodes = in_ptr.size - 1
    v = np.empty((mean.size, _LANES), dtype=np.float32)
    best = np.zeros((n_nodes, _LANES), dtype=np.float32)
    pred = np.zeros((n_nodes, _LANES), dtype=np.int32)
    n_buf = buf.size
    for i0 in range(lo, hi, _LANES):
        n_lanes = min(_LANES, hi - i0)
        for lane in range(n_lanes):
            i = i0 + lane
            pos = stream_start(ctx, buf, keys, k0, k1, i, _PURPOSE_UTILITIES)
            for a in range(mean.size):
                if dist == 0:
                    ok = False
                    if pos < n_buf:
                        ok, x = ziggurat_fast(buf[pos])
                    if ok:
                        pos += 1
                    else:
                        x, pos = stream_normal(ctx, buf, keys, pos)
                    z = np.float32(x)
                else:
                    if pos >= n_buf:
                        w, pos = stream_word(ctx, buf, keys, pos)
                    else:
                        w = buf[pos]
                        pos += 1
                    if dist == 1:
                        u = np.float32((float(w >> np.uint32(8)) + 0.5) * _U24)  # as stream_uniform
                        z = (np.float32(2.0) * u - np.float32(1.0)) * _SQRT3
                    else:
                        z = np.float32(-1.0) if w >> np.uint32(31) else np.float32(1.0)
                v[a, lane] = z * sigma[a] + mean[a]
            if not solve:
                out[:, i - lo] = v[:, lane]
        if solve:
            _solve_block(v, best, pred, order, in_ptr, in_arcs, tail, source)
            for lane in range(n_lanes):
                i = i0 + lane
                value[i] = best[sink, lane]
                node = sink
                while node != source:
                    a = pred[node, lane]
                    for d in range(duration[a]):
                        arc_at_hour[i, hour[a] + d] = a
                    node = tail[a]


@njit_cached(nogil=True)
def _solve_block(v: np.ndarray, best: np.ndarray, pred: np.ndarray, order: np.ndarray,
                 in_ptr: np.ndarray, in_arcs: np.ndarray, tail: np.ndarray, source: int) -> None:
    """Longest paths (eq. D1) of a block of drivers side by side: ``v`` (A, L), ``best``/``pred`` (N, L).

    The lanes of a block are independent drivers, so the innermost loops run over lanes and
    vectorize; ties stay with the earlier incoming arc, as in the numpy DP.
    """
    n_lanes = v.shape[1]
    best[source, :] = 0.0
    for k in range(order.size):
        node = order[k]
        if node == source:
            continue
        a = in_arcs[in_ptr[node]]
        t = tail[a]
        for lane in range(n_lanes):
            best[node, lane] = best[t, lane] + v[a, lane]
            pred[node, lane] = a
        for q in range(in_ptr[node] + 1, in_ptr[node + 1]):
            a = in_arcs[q]
            t = tail[a]
            for lane in range(n_lanes):
                c = best[t, lane] + v[a, lane]
                if c > best[node, lane]:  # strict: ties stay with the earlier arc
                    best[node, lane] = c
                    pred[node, lane] = a


def _key_words(key: tuple[int, int] | np.ndarray) -> tuple[int, int]:
    k = np.asarray(key, dtype=np.uint64).ravel()
    if k.size != 2 or np.any(k >= np.uint64(2**32)):
        raise ValueError(f"key must be two 32-bit words, got {key!r}")
    return int(k[0]), int(k[1])


def _means(net: ActivityNetwork, rebate: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    mean = net.mu if rebate is None else net.mu + np.asarray(rebate, dtype=float)
    return (np.ascontiguousarray(mean, dtype=np.float32),
            np.ascontiguousarray(net.sigma, dtype=np.float32))


def _dist_code(distribution: str) -> int:
    if distribution not in _DIST_CODE:
        raise ValueError(f"unknown distribution {distribution!r}; the compiled kernel draws "
                         f"{', '.join(KERNEL_DISTRIBUTIONS)}")
    return _DIST_CODE[distribution]


def draw_utilities(key: tuple[int, int] | np.ndarray, net: ActivityNetwork, n_drivers: int,
                   distribution: str = "normal", rebate: np.ndarray | None = None) -> np.ndarray:
    """The (A, M) float32 utilities ($) that :func:`choose_paths` draws for the same arguments.

    Args:
        key: the day's two 32-bit key words.
        net: activity network with ``mu`` and ``sigma`` ($).
        n_drivers: fleet size M.
        distribution: ``normal``, ``uniform`` or ``two_point`` (mean mu_a, standard deviation
            sigma_a, independent across arcs and drivers, as in
            :func:`v2gsim.behavior.sampling.sample_utilities`).
        rebate: optional (A,) rebate ($) added to the mean of each arc.
    """
    k0, k1 = _key_words(key)
    mean, sigma = _means(net, rebate)
    out = np.empty((net.n_arcs, int(n_drivers)), dtype=np.float32)
    value = np.empty(0, dtype=np.float32)
    arc_at_hour = np.empty((0, 0), dtype=np.int32)
    _kernel(k0, k1, _dist_code(distribution), mean, sigma, *_graph_arrays(net), 0, int(n_drivers),
            _buffer_words(net.n_arcs), False, value, arc_at_hour, out)
    return out


def choose_paths(key: tuple[int, int] | np.ndarray, net: ActivityNetwork, n_drivers: int,
                 distribution: str = "normal", rebate: np.ndarray | None = None,
                 threads: int | None = None) -> PathChoice:
    """Sample every driver's utilities and solve its longest path (eq. D1) in the compiled kernel.

    Args:
        key: the day's two 32-bit key words (e.g. drawn from the drivers' generator).
        net: activity network.
        n_drivers: fleet size M.
        distribution: ``normal``, ``uniform`` or ``two_point``.
        rebate: optional (A,) rebate ($) added to the mean of each arc (zero off plug-in arcs, D5).
        threads: threads to split the drivers over (default :func:`kernel_threads`); the result
            does not depend on it.

    Returns:
        The chosen paths; equal to ``longest_paths(net, draw_utilities(key, net, ...))``.
    """
    k0, k1 = _key_words(key)
    code = _dist_code(distribution)
    mean, sigma = _means(net, rebate)
    m = int(n_drivers)
    value = np.empty(m, dtype=np.float32)
    arc_at_hour = np.empty((m, net.hours), dtype=np.int32)
    graph = _graph_arrays(net)
    words = _buffer_words(net.n_arcs)
    out = np.empty((0, 0), dtype=np.float32)
    n_threads = max(1, min(threads or kernel_threads(), m // _MIN_PER_THREAD))
    bounds = np.linspace(0, m, n_threads + 1).astype(np.int64)

    def run(part: int) -> None:
        _kernel(k0, k1, code, mean, sigma, *graph, int(bounds[part]), int(bounds[part + 1]),
                words, True, value, arc_at_hour, out)

    if n_threads == 1:
        run(0)
    else:
        with ThreadPoolExecutor(max_workers=n_threads) as pool:
            list(pool.map(run, range(n_threads)))
    return PathChoice(value=value.astype(float), arc_at_hour=arc_at_hour)


def _graph_arrays(net: ActivityNetwork) -> tuple:
    """The network as the kernel's flat int64 arrays (topological order, incoming-arc CSR, ...)."""
    in_ptr, in_arcs = net.in_csr
    as64 = lambda x: np.ascontiguousarray(x, dtype=np.int64)  # noqa: E731
    return (as64(net.topological_order), in_ptr, in_arcs, as64(net.tail), as64(net.hour),
            as64(net.duration), int(net.source), int(net.sink))
