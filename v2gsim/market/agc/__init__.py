"""AGC regulation signals: a synthetic RegD-like generator, a reader for PJM files, mileage, and
signal following by a power- and energy-limited fleet.

Sign convention (whole package): the normalized AGC signal ``s`` lies in ``[-1, 1]``; ``+1`` is full
regulation UP (the fleet injects power / reduces its load, i.e. discharges relative to its base
point), ``-1`` is full regulation DOWN (the fleet absorbs / charges). A bid of ``C`` kW asks the
fleet for ``r = C * s`` kW at every sample.

*Mileage* is PJM's measure of how much a signal moves: the sum of absolute changes between
consecutive samples, ``sum |s[k] - s[k-1]|``, in per-unit of the assigned regulation capacity (ΔMW
per MW). It is counted per clock hour over the consecutive samples that both lie in that hour (1799
differences per hour at 2 s), which is how the hourly values in ``pjm_regd_2s_2020-07/SOURCE.md``
were computed.

Modules (pure numpy/scipy/pandas, no Mesa, vectorized over samples; the only Python loops are over
calibration iterations, hours, or bound-switching episodes, never over 2-s samples):

* :mod:`~v2gsim.market.agc.mileage`: samples per hour, per-hour rows, :func:`hourly_mileage`;
* :mod:`~v2gsim.market.agc.synthetic`: :func:`synthetic_regd`, with the energy-neutrality steps in
  :mod:`~v2gsim.market.agc.neutrality`;
* :mod:`~v2gsim.market.agc.io`: :func:`read_pjm_regd`;
* :mod:`~v2gsim.market.agc.dispatch`: :func:`follow_signal` and its :class:`FollowResult`;
* :mod:`~v2gsim.market.agc.performance`: PJM's composite performance score
  (:func:`composite_score`: accuracy, delay, precision) and the threshold rule.

This package re-exports their public API.
"""

from v2gsim.market.agc.dispatch import FollowResult, follow_signal
from v2gsim.market.agc.io import read_pjm_regd
from v2gsim.market.agc.mileage import hourly_mileage
from v2gsim.market.agc.performance import CompositeScore, composite_score
from v2gsim.market.agc.synthetic import synthetic_regd

__all__ = [
    "CompositeScore",
    "FollowResult",
    "composite_score",
    "follow_signal",
    "hourly_mileage",
    "read_pjm_regd",
    "synthetic_regd",
]
