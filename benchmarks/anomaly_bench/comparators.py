"""Comparator detectors: per-bucket boolean flags, causal (bucket t looks only at buckets ≤ t).

Each takes a `Series` and returns one flag per bucket; the harness turns flags into alerts with
the same event rule for all of them. Missing buckets (NaN) are never flagged. Every z-score
scale is floored at 0.1% of the expected value (and a micro-unit) so an exactly periodic series
does not alarm on floating-point dust.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .corpus import DAY, HOUR, Series

Z_LIMIT = 3.5
MAD_TO_SIGMA = 1.4826


def _floor(scale: np.ndarray | float, expected: np.ndarray | float) -> np.ndarray:
    return np.maximum(scale, np.maximum(1e-3 * np.abs(expected), 1e-6))


def _past_windows(x: np.ndarray, width: int) -> np.ndarray:
    """Row t holds x[t-width : t] (NaN-padded before the start): the history strictly before t."""
    padded = np.concatenate([np.full(width, np.nan), x])
    return sliding_window_view(padded, width)[: len(x)]


def seasonal_mad(series: Series) -> np.ndarray:
    """Expected = median of the same hour-of-week over 4 weeks (same weekday over 8 weeks, daily);
    z = residual / (1.4826 · MAD of the previous 2 weeks' / 8 weeks' residuals); flag z > 3.5.
    """
    x = series.amounts()
    n = len(x)
    lag, weeks, recent = (168, 4, 336) if series.step == HOUR else (7, 8, 56)
    past = np.full((weeks, n), np.nan)
    for k in range(1, weeks + 1):
        if lag * k < n:
            past[k - 1, lag * k :] = x[: n - lag * k]
    with warnings.catch_warnings():  # all-NaN slices are expected at the start
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.nanmedian(past, axis=0)
        expected[np.sum(~np.isnan(past), axis=0) < 2] = np.nan  # need two earlier weeks to call it "usual"
        resid = x - expected
        z = resid / _floor(_rolling_mad(resid, recent), expected)
    return np.nan_to_num(z, nan=0.0) > Z_LIMIT


def _stl_jumps(period: int, seasonal: int = 7) -> dict[str, int]:
    """R's stl() defaults: evaluate each loess every ceil(window / 10) points (10× faster, same fit)."""

    def odd(v: float) -> int:
        k = math.ceil(v)
        return k + (k % 2 == 0)

    trend = odd(1.5 * period / (1 - 1.5 / seasonal))
    low_pass = odd(period + 1e-9)
    return {
        "seasonal_jump": math.ceil(seasonal / 10),
        "trend_jump": math.ceil(trend / 10),
        "low_pass_jump": math.ceil(low_pass / 10),
    }


def _rolling_mad(resid: np.ndarray, recent: int) -> np.ndarray:
    """1.4826 · MAD of the `recent` residuals before each bucket (NaN with fewer than a quarter)."""
    win = _past_windows(resid, recent)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(win, axis=1)
        mad = np.nanmedian(np.abs(win - med[:, None]), axis=1)
    mad[np.sum(~np.isnan(win), axis=1) < recent // 4] = np.nan
    return MAD_TO_SIGMA * mad


def stl_robust(series: Series) -> np.ndarray:
    """Rolling robust STL: refit on the previous 28 days (period 168) every 24 hourly buckets, or
    on the previous 120 days (period 7) every 7 daily buckets; forecast seasonal (last cycle) +
    trend (last value) forward; z = (x - forecast) / (1.4826 · MAD); flag z > 3.5.

    The MAD is that of the previous 2 weeks' / 8 weeks' forecast residuals (out of sample), and
    the fit's own residuals only until enough exist: in-sample STL residuals understate the
    forecast error several times over (the seasonal component soaks up noise when it has four
    cycles to learn from), and scaling by them alone alarmed ~60 times per series per 90 days.
    Starts once two weeks (hourly) / four weeks (daily) of history exist, with whatever window
    is available up to the full one, so it can see anomalies placed after five weeks.
    """
    from statsmodels.tsa.seasonal import STL  # benchmark-only dependency: imported on use

    x = series.amounts()
    n = len(x)
    if series.step == HOUR:
        period, width, refit, min_hist, recent = 168, 28 * 24, 24, 14 * 24, 336
    else:
        period, width, refit, min_hist, recent = 7, 120, 7, 28, 56
    jumps = _stl_jumps(period)
    forecast = np.full(n, np.nan)
    in_sample = np.full(n, np.nan)
    for t0 in range(min_hist, n, refit):
        hist = x[max(0, t0 - width) : t0]
        ok = ~np.isnan(hist)
        if ok.sum() < min_hist // 2:
            continue
        idx = np.arange(len(hist))
        filled = np.interp(idx, idx[ok], hist[ok])  # STL cannot take gaps
        # outer_iter=5 instead of 15: the robustness weights settle after a few passes, 3× faster.
        fit = STL(filled, period=period, robust=True, **jumps).fit(outer_iter=5)
        seasonal, trend, resid = np.asarray(fit.seasonal), np.asarray(fit.trend), np.asarray(fit.resid)
        ahead = np.arange(t0, min(t0 + refit, n))
        forecast[ahead] = seasonal[len(hist) - period + (ahead - t0) % period] + trend[-1]
        r = resid[ok]
        in_sample[ahead] = MAD_TO_SIGMA * np.median(np.abs(r - np.median(r)))
    error = x - forecast
    out_of_sample = _rolling_mad(error, recent)
    scale = np.where(np.isnan(out_of_sample), in_sample, out_of_sample)
    with np.errstate(invalid="ignore"):
        z = error / _floor(scale, forecast)
    return np.nan_to_num(z, nan=0.0) > Z_LIMIT


def sundaysky(series: Series) -> np.ndarray:
    """SundaySky cost-anomaly-detector's rule over the previous 30 days: cost > 1.25 × mean AND
    cost > mean + 2σ AND cost − mean > $10 a day ($10/24 an hour). Needs a week of history.
    """
    x = series.amounts()
    per_day = DAY // series.step
    win = _past_windows(x, 30 * per_day)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        count = np.sum(~np.isnan(win), axis=1)
        mean = np.nanmean(win, axis=1)
        std = np.nanstd(win, axis=1)
        hit = (x > 1.25 * mean) & (x > mean + 2 * std) & (x - mean > 10 / per_day)
    return hit & (count >= 7 * per_day)


COMPARATORS: dict[str, Callable[[Series], np.ndarray]] = {
    "seasonal median/MAD": seasonal_mad,
    "STL robust": stl_robust,
    "SundaySky 30d": sundaysky,
}
