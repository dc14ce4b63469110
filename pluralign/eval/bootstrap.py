"""Seeded percentile bootstrap over units (debates or items).

Several outputs per unit (`--samples K`) are averaged into one value per unit first: the unit,
not the output, is what was sampled from the population, so it is what the bootstrap resamples.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

N_RESAMPLES = 1000
CONFIDENCE = 0.95


def resample_indices(n: int, seed: int, n_resamples: int = N_RESAMPLES) -> np.ndarray:
    """(n_resamples, n) indices drawn with replacement; the same seed gives the same draws."""
    return np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))


def percentile_interval(draws: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return float(low), float(high)


def mean_ci(values: Sequence[float], seed: int = 0, n_resamples: int = N_RESAMPLES) -> dict:
    """`{"mean", "ci_low", "ci_high", "n"}` for the mean of one value per unit (NaNs are left out
    and counted in `n_missing`)."""
    values = np.asarray(values, dtype=float)
    missing = int(np.isnan(values).sum())
    values = values[~np.isnan(values)]
    out = {"mean": None, "ci_low": None, "ci_high": None, "n": int(len(values))}
    if missing:
        out["n_missing"] = missing
    if len(values) == 0:
        return out
    mean = float(values.mean())
    if len(values) == 1 or np.ptp(values) == 0:
        low = high = mean  # nothing to resample (and no rounding noise around a constant)
    else:
        draws = values[resample_indices(len(values), seed, n_resamples)].mean(axis=1)
        low, high = percentile_interval(draws)
    out.update(mean=mean, ci_low=low, ci_high=high)
    return out


def statistic_ci(n_units: int, statistic: Callable[[np.ndarray], np.ndarray], seed: int = 0,
                 n_resamples: int = N_RESAMPLES) -> dict:
    """`{"value", "ci_low", "ci_high", "n"}` for any statistic of the units. `statistic` maps a
    2-D index array (one resample a row; the full sample is `np.arange(n_units)[None]`) to one
    value per row, so that all resamples are computed at once. Resamples where the statistic is
    undefined (NaN, e.g. a group drawn zero times) are left out of the interval.

    A gap (max − min of group means) is biased upwards under resampling, so its percentile
    interval can miss the estimate when groups barely differ; the interval is then widened to
    reach it (conservative) and `widened` says so."""
    value = float(statistic(np.arange(n_units)[None, :])[0])
    out = {"value": value, "ci_low": value, "ci_high": value, "n": n_units}
    if n_units < 2 or np.isnan(value):
        return out
    draws = np.asarray(statistic(resample_indices(n_units, seed, n_resamples)), dtype=float)
    draws = draws[~np.isnan(draws)]
    if len(draws):
        low, high = percentile_interval(draws)
        out.update(ci_low=min(low, value), ci_high=max(high, value))
        if not low <= value <= high:
            out["widened"] = True
    return out


def per_unit_means(units: Sequence[str], values: Sequence[float]) -> tuple[list[str], np.ndarray]:
    """Average the values that share a unit id; units in first-seen order."""
    sums: dict[str, list[float]] = {}
    for unit, value in zip(units, values, strict=True):
        sums.setdefault(unit, []).append(float(value))
    keys = list(sums)
    return keys, np.array([np.nanmean(v) if not np.all(np.isnan(v)) else np.nan for v in sums.values()])
