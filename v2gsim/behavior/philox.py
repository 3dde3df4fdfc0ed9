"""Counter-based random numbers for compiled kernels: Philox4x32-10 and a 256-layer ziggurat.

The compiled path-choice kernel (:mod:`v2gsim.behavior.compiled`) gives every driver its own
random stream: word ``w`` of driver ``i`` under the day's key ``(k0, k1)`` is output ``w mod 4``
of the Philox4x32-10 block cipher (Salmon et al., SC'11, "Parallel random numbers: as easy as
1, 2, 3") applied to the counter ``(w // 4, i mod 2^32, i // 2^32, purpose)``. The draws of a driver
depend only on (key, driver index), so they are the same in one block, in chunks, on any number of
threads, in any order. The implementation is checked against the Random123 known-answer vectors.

Standard normals use the ziggurat method of Marsaglia & Tsang (J. Stat. Softw. 5(8), 2000) with
256 layers of equal area and a 32-bit word per attempt: 8 bits choose the layer, 1 bit the sign and
23 bits the abscissa (separate bits, unlike the original SHR3 variant). 98.5 % of the draws
take one word and no transcendental function; the wedge and tail rejections take further words of
the same driver's stream. The method is exact (the tables only decide acceptance; the accepted
points are uniform under the density), up to the 23-bit grid of the abscissa.
"""

from __future__ import annotations

import math

import numpy as np

from v2gsim.core.jit import njit_cached

__all__ = [
    "STREAM_BUFFER",
    "ZIGGURAT_LAYERS",
    "ZIGGURAT_R",
    "philox4x32_10",
    "stream_arrays",
    "stream_fill",
    "stream_normal",
    "stream_start",
    "stream_uniform",
    "stream_word",
    "ziggurat_fast",
    "ziggurat_tables",
]

_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint64(0x9E3779B9)
_W1 = np.uint64(0xBB67AE85)
_MASK = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)

ZIGGURAT_LAYERS = 256
ZIGGURAT_R = 3.6541528853610088
"""Abscissa of the base layer's right edge for 256 layers (Marsaglia & Tsang's r for n = 256)."""

_MAG_BITS = 23
_M1_SCALE = float(2**_MAG_BITS)
_U24 = 1.0 / 16_777_216.0  # 2**-24


@njit_cached(nogil=True)
def philox4x32_10(c0: int, c1: int, c2: int, c3: int, k0: int, k1: int) -> tuple[int, int, int, int]:
    """Philox4x32 with 10 rounds: four 32-bit output words of the counter (c0..c3) under key (k0, k1).

    Args:
        c0, c1, c2, c3: counter words (uint64 values below 2^32).
        k0, k1: key words (uint64 values below 2^32).

    Returns:
        The four output words (uint64 values below 2^32), Random123's ``philox4x32_R(10, ctr, key)``.
    """
    c0 = np.uint64(c0)
    c1 = np.uint64(c1)
    c2 = np.uint64(c2)
    c3 = np.uint64(c3)
    k0 = np.uint64(k0)
    k1 = np.uint64(k1)
    for _ in range(10):
        p0 = _M0 * c0
        p1 = _M1 * c2
        n0 = (p1 >> _S32) ^ c1 ^ k0
        n2 = (p0 >> _S32) ^ c3 ^ k1
        c0 = n0 & _MASK
        c1 = p1 & _MASK
        c2 = n2 & _MASK
        c3 = p0 & _MASK
        k0 = (k0 + _W0) & _MASK
        k1 = (k1 + _W1) & _MASK
    return c0, c1, c2, c3


def ziggurat_tables(layers: int = ZIGGURAT_LAYERS, r: float = ZIGGURAT_R) -> tuple[np.ndarray, ...]:
    """Tables of the ziggurat for the unnormalized density f(x) = exp(-x^2 / 2), x >= 0.

    Layer 0 is the base (the rectangle [0, r] x [0, f(r)] plus the tail beyond r, drawn as a pseudo
    rectangle of width q = v / f(r)); layer i >= 1 is [0, x_i] x [f(x_i), f(x_{i-1})] with x_0 = 0,
    x_{layers-1} = r and every layer of area v = r f(r) + integral_r^inf f.

    Returns:
        ``(kn, wn, fn, closure)``: acceptance thresholds on the 23-bit abscissa (uint32), abscissa
        scale per unit of the 23-bit grid, f at each layer's right edge, and the top layer's area
        minus v (how well the recursion closes; ~1e-12 for the default r).
    """
    f = lambda x: math.exp(-0.5 * x * x)  # noqa: E731
    v = r * f(r) + math.sqrt(math.pi / 2.0) * math.erfc(r / math.sqrt(2.0))
    x = np.zeros(layers)
    x[layers - 1] = r
    for i in range(layers - 2, 0, -1):
        x[i] = math.sqrt(-2.0 * math.log(v / x[i + 1] + f(x[i + 1])))
    q = v / f(r)
    kn = np.zeros(layers, dtype=np.uint32)
    wn = np.zeros(layers)
    fn = np.zeros(layers)
    kn[0] = math.floor(r / q * _M1_SCALE)
    wn[0] = q / _M1_SCALE
    fn[0] = 1.0
    for i in range(1, layers):
        kn[i] = 0 if i == 1 else math.floor(x[i - 1] / x[i] * _M1_SCALE)
        wn[i] = x[i] / _M1_SCALE
        fn[i] = f(x[i])
    closure = x[1] * (1.0 - f(x[1])) - v
    return kn, wn, fn, float(closure)


_KN, _WN, _FN, _ = ziggurat_tables()
_R = ZIGGURAT_R
_INV_R = 1.0 / ZIGGURAT_R

STREAM_BUFFER = 64
"""Default number of buffered words of a stream (16 Philox blocks generated at once)."""


def stream_arrays(words: int = STREAM_BUFFER) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scratch of one stream: ``ctx`` (5,) uint64, ``buf`` (words,) uint32 and ``keys`` (2, 10) uint32.

    ``words`` must be a positive multiple of 4. ``ctx`` is ``[k0, k1, driver, purpose, next_block]``;
    ``keys`` holds the ten round keys of ``(k0, k1)`` (filled by :func:`stream_start`).
    """
    if words < 4 or words % 4:
        raise ValueError(f"a stream buffers a positive multiple of 4 words, got {words}")
    return (np.zeros(5, dtype=np.uint64), np.zeros(words, dtype=np.uint32),
            np.zeros((2, 10), dtype=np.uint32))


@njit_cached(nogil=True)
def stream_fill(ctx: np.ndarray, buf: np.ndarray, keys: np.ndarray) -> None:
    """Fill ``buf`` with the next ``buf.size // 4`` blocks of the stream ``ctx``.

    Word ``w`` of the stream is output ``w mod 4`` of Philox4x32-10 on the counter
    ``(w // 4, driver mod 2^32, driver // 2^32, purpose)`` under the key ``(k0, k1)`` of ``ctx``,
    whose round keys are ``keys``. Each block's ten rounds are straight-line code over uint32
    words (32 x 32 -> 64-bit products), so the compiler vectorizes the loop over blocks; the result
    equals :func:`philox4x32_10` block by block.
    """
    nb = buf.size // 4
    d_lo = np.uint32(ctx[2] & _MASK)
    d_hi = np.uint32(ctx[2] >> _S32)
    purpose = np.uint32(ctx[3])
    j0 = ctx[4]
    for j in range(nb):
        c0 = np.uint32((j0 + np.uint64(j)) & _MASK)
        c1 = d_lo
        c2 = d_hi
        c3 = purpose
        for r in range(10):
            p0 = _M0 * np.uint64(c0)
            p1 = _M1 * np.uint64(c2)
            n0 = np.uint32(p1 >> _S32) ^ c1 ^ keys[0, r]
            n2 = np.uint32(p0 >> _S32) ^ c3 ^ keys[1, r]
            c0 = n0
            c1 = np.uint32(p1 & _MASK)
            c2 = n2
            c3 = np.uint32(p0 & _MASK)
        buf[4 * j] = c0
        buf[4 * j + 1] = c1
        buf[4 * j + 2] = c2
        buf[4 * j + 3] = c3
    ctx[4] = j0 + np.uint64(nb)


@njit_cached(nogil=True)
def stream_start(ctx: np.ndarray, buf: np.ndarray, keys: np.ndarray, k0: int, k1: int,
                 driver: int, purpose: int) -> int:
    """Start the stream of ``driver`` under key (k0, k1): fills ``keys`` and ``buf``, returns 0."""
    for r in range(10):
        keys[0, r] = np.uint32((np.uint64(k0) + np.uint64(r) * _W0) & _MASK)
        keys[1, r] = np.uint32((np.uint64(k1) + np.uint64(r) * _W1) & _MASK)
    ctx[0] = k0
    ctx[1] = k1
    ctx[2] = driver
    ctx[3] = purpose
    ctx[4] = 0
    stream_fill(ctx, buf, keys)
    return 0


@njit_cached(nogil=True, inline="always")
def stream_word(ctx: np.ndarray, buf: np.ndarray, keys: np.ndarray, pos: int) -> tuple[int, int]:
    """Next 32-bit word of the stream and the new position (refills ``buf`` when it is used up)."""
    if pos >= buf.size:
        stream_fill(ctx, buf, keys)
        pos = 0
    return buf[pos], pos + 1


@njit_cached(nogil=True, inline="always")
def stream_uniform(ctx: np.ndarray, buf: np.ndarray, keys: np.ndarray, pos: int) -> tuple[float, int]:
    """Uniform draw in the open interval (0, 1) on a 2^-24 grid (one word) and the new position."""
    w, pos = stream_word(ctx, buf, keys, pos)
    return (float(w >> np.uint64(8)) + 0.5) * _U24, pos


@njit_cached(nogil=True, inline="always")
def ziggurat_fast(w: int) -> tuple[bool, float]:
    """The ziggurat's one-word test: (accepted, signed abscissa); 98.5 % of words are accepted."""
    idx = w & np.uint64(0xFF)
    mag = w >> np.uint64(9)
    x = float(mag) * _WN[idx]
    if (w >> np.uint64(8)) & np.uint64(1):
        x = -x
    return mag < _KN[idx], x


@njit_cached(nogil=True)
def stream_normal(ctx: np.ndarray, buf: np.ndarray, keys: np.ndarray, pos: int) -> tuple[float, int]:
    """Standard normal draw by the 256-layer ziggurat (module docstring) and the new position."""
    while True:
        w, pos = stream_word(ctx, buf, keys, pos)
        ok, x = ziggurat_fast(w)
        if ok:
            return x, pos
        idx = w & np.uint64(0xFF)
        neg = (w >> np.uint64(8)) & np.uint64(1)
        if idx == 0:  # the tail beyond r (Marsaglia's exponential rejection)
            while True:
                u1, pos = stream_uniform(ctx, buf, keys, pos)
                u2, pos = stream_uniform(ctx, buf, keys, pos)
                xt = -math.log(u1) * _INV_R
                if -2.0 * math.log(u2) >= xt * xt:
                    return (-(_R + xt) if neg else _R + xt), pos
        u, pos = stream_uniform(ctx, buf, keys, pos)
        if _FN[idx] + u * (_FN[idx - 1] - _FN[idx]) < math.exp(-0.5 * x * x):
            return x, pos
