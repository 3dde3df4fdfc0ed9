"""Willingness (W) of seed 003: closed forms, cluster evaluation, sampled shares within 3 SE."""

from __future__ import annotations

import numpy as np
import pytest

from v2gsim.optimize.eva.willingness import ClusterWillingness, Logit, PiecewiseLinear, sample_responses


def test_piecewise_linear_hand_values():
    w = PiecewiseLinear(dead=0.02, saturation=0.12, pi_max=0.6)
    assert np.allclose(w.prob([0.0, 0.02, 0.07, 0.12, 0.5]), [0.0, 0.0, 0.3, 0.6, 0.6])
    with pytest.raises(ValueError, match="saturation"):
        PiecewiseLinear(dead=0.1, saturation=0.1, pi_max=0.8)


def test_logit_hand_values():
    w = Logit(beta0=-2.0, beta1=20.0, beta2=1.0, inconvenience=1.0, pi_max=0.9)
    assert np.isclose(w.prob(0.15), 0.9 / (1 + np.exp(-(-2 + 3 - 1))))  # = 0.45
    assert np.isclose(w.prob(0.15), 0.45)
    assert np.all(np.diff(w.prob(np.linspace(0, 1, 50))) > 0)


def test_clusters_per_model():
    cw = ClusterWillingness({"suv": PiecewiseLinear(0.0, 0.1, 1.0), "city": Logit(0.0, 0.0, 0.0, 0.0, 1.0)})
    labels = np.array(["suv", "city", "suv"])
    assert np.allclose(cw.prob(0.05, labels), [0.5, 0.5, 0.5])
    assert np.allclose(cw.prob(0.2, labels), [1.0, 0.5, 1.0])
    assert np.isclose(cw.share(0.2, labels), 2.5 / 3)
    with pytest.raises(ValueError, match="van"):
        cw.prob(0.1, np.array(["van"]))


@pytest.mark.parametrize("logit", [False, True])
@pytest.mark.parametrize("delta", [0.0, 0.02, 0.05, 0.1, 0.15, 0.25])
def test_sampled_share_within_three_standard_errors(delta, logit):
    w = (Logit(beta0=-3.0, beta1=25.0, beta2=1.0, inconvenience=0.0, pi_max=0.9) if logit
         else PiecewiseLinear(0.03, 0.2, 0.7))
    n = 20_000
    p = float(w.prob(delta))
    hits = sample_responses(np.full(n, p), np.random.default_rng(int(delta * 1000) + 7 * logit))
    se = np.sqrt(p * (1 - p) / n)
    assert abs(hits.mean() - p) <= 3 * se + 1.0 / n  # the 1/n term makes p = 0 exact
    if p > 0.05:  # the check has teeth: a biased probability is caught
        assert abs(hits.mean() - 1.1 * p) > 3 * se
