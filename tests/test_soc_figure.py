"""Issue 31 item 10: the SOC figure of a run draws quantile bands (checked by hand) and a few EVs."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from v2gsim.reporting.figures import soc_quantiles, soc_trajectories


def hand_made() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """2 days x 3 hours; model a: 5 EVs, model b: 2 EVs; SOC[driver, step] chosen by hand."""
    a = np.array([[0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
                  [0.2, 0.2, 0.2, 0.2, 0.2, 0.2],
                  [0.9, 0.8, 0.7, 0.6, 0.5, 0.4],
                  [0.5, 0.5, 0.6, 0.6, 0.7, 0.7],
                  [0.3, 0.4, 0.5, 0.6, 0.7, 0.8]])
    b = np.array([[0.5, 0.6, 0.7, 0.8, 0.9, 0.95],
                  [0.3, 0.3, 0.3, 0.3, 0.3, 0.3]])
    rows = []
    for model, arr, first in (("a", a, 0), ("b", b, 10)):
        for i, traj in enumerate(arr):
            for step, s in enumerate(traj):
                rows.append({"day": step // 3, "hour": step % 3, "driver": first + i, "model": model,
                             "soc": s})
    return pd.DataFrame(rows).sample(frac=1.0, random_state=0), a, b  # order must not matter


def test_soc_quantiles_by_hand():
    soc, a, b = hand_made()
    q = soc_quantiles(soc)
    qa = q[q["model"] == "a"]
    np.testing.assert_allclose(qa["t"], [(s + 1) / 3 for s in range(6)])
    # 5 EVs, linear interpolation: q10 = 0.6 * 1st + 0.4 * 2nd smallest, q50 = the 3rd,
    # q90 = 0.4 * 4th + 0.6 * 5th
    srt = np.sort(a, axis=0)
    np.testing.assert_allclose(qa["q10"], 0.6 * srt[0] + 0.4 * srt[1])
    np.testing.assert_allclose(qa["q50"], srt[2])
    np.testing.assert_allclose(qa["q90"], 0.4 * srt[3] + 0.6 * srt[4])
    assert qa["q50"].iloc[0] == pytest.approx(0.3) and qa["q10"].iloc[0] == pytest.approx(0.14)
    qb = q[q["model"] == "b"]
    np.testing.assert_allclose(qb["q50"], b.mean(axis=0))
    assert (q["n"] == np.where(q["model"] == "a", 5, 2)).all()


def test_soc_figure_draws_the_bands_and_a_few_evs():
    soc, a, b = hand_made()
    fig = soc_trajectories(soc, samples=2)
    fig.savefig(io.BytesIO(), format="png", dpi=50)
    ax = fig.axes[0]
    bands = [c for c in ax.collections if c.get_label().endswith("EVs") and "10-90" in c.get_label()]
    assert [c.get_label() for c in bands] == ["a: 10-90 % of 5 EVs", "b: 10-90 % of 2 EVs"]
    t = np.array([(s + 1) / 3 for s in range(6)])
    srt = np.sort(a, axis=0)
    verts = bands[0].get_paths()[0].vertices
    for k, x in enumerate(t):
        ys = verts[np.isclose(verts[:, 0], x), 1]
        assert ys.min() == pytest.approx(0.6 * srt[0, k] + 0.4 * srt[1, k])
        assert ys.max() == pytest.approx(0.4 * srt[3, k] + 0.6 * srt[4, k])
    medians = {ln.get_label(): ln.get_ydata() for ln in ax.get_lines() if ln.get_label().endswith("median")}
    np.testing.assert_allclose(medians["a: median"], srt[2])
    np.testing.assert_allclose(medians["b: median"], b.mean(axis=0))
    # a few EVs, not all of them: 2 of model a (drivers 0, 1) and both of b
    evs = [ln for ln in ax.get_lines() if ln.get_label().startswith("_") and len(ln.get_xdata()) == 6]
    assert len(evs) == 4
    np.testing.assert_allclose(evs[0].get_ydata(), a[0])
    np.testing.assert_allclose(evs[1].get_ydata(), a[1])
    # the legend is outside the data area
    box = ax.get_legend().get_window_extent()
    assert not box.overlaps(ax.get_window_extent())
