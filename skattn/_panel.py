"""Many series in one table (a panel): rows indexed by (series id, time).

A pandas MultiIndex whose first level names the series and whose last level
is the time marks a panel. ``make_supervised`` shifts each series on its own
(no row's target comes from another series), ``SlidingWindowTransformer``
windows each series on its own (padding its first rows), and
:class:`PanelSplit` splits on time across all series, yielding plain index
arrays for ``cross_val_score`` and ``GridSearchCV``.
"""

import warnings
from numbers import Integral

import numpy as np
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils._param_validation import Interval, validate_params


def is_panel(X):
    """Whether ``X`` is pandas with a MultiIndex of (series id, ..., time)."""
    import pandas as pd

    index = getattr(X, "index", None)
    return isinstance(index, pd.MultiIndex) and index.nlevels >= 2


def series_rows(index):
    """(ids, rows): the series ids in order of first appearance and, for each,
    the positions of its rows in table order (one stable sort, not a scan of
    the table per series)."""
    codes, ids = index.get_level_values(0).factorize()
    order = np.argsort(codes, kind="stable")
    bounds = np.cumsum(np.bincount(codes, minlength=len(ids)))[:-1]
    return ids, np.split(order, bounds)


def inferred_offset(times):
    """The regular frequency of a DatetimeIndex as a pandas offset, or None
    (its own ``freq`` first, else inferred from 3 or more times)."""
    from pandas.tseries.frequencies import to_offset

    if times.freq is not None:
        return times.freq
    if len(times) < 3:
        return None
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas 3 warns that infer_freq will return an offset
        inferred = pd.infer_freq(times)
    return None if inferred is None else to_offset(inferred)


def check_time_order(index):
    """Raise ValueError naming the first series whose rows are not in
    increasing time order (or that repeats a time)."""
    times = index.get_level_values(-1)
    for series_id, rows in zip(*series_rows(index), strict=True):
        series_times = times[rows]
        if not series_times.is_monotonic_increasing or not series_times.is_unique:
            raise ValueError(
                f"Series {series_id!r} of the panel is not in increasing time order (or "
                "repeats a time): sort the table by series and time first, e.g. "
                "X.sort_index()."
            )


def check_time_grid(index):
    """Raise ValueError naming the first series of a panel whose times skip
    a step of its own grid: integer times whose steps differ, periods that skip
    one, timestamps without a regular frequency. Other kinds of time are not
    checked."""
    import pandas as pd

    times = index.get_level_values(-1)
    for series_id, rows in zip(*series_rows(index), strict=True):
        series_times = times[rows]
        if len(series_times) < 3:
            continue
        if isinstance(series_times, pd.PeriodIndex):
            steps = np.diff(series_times.asi8)
            regular = bool((steps == 1).all())
        elif isinstance(series_times, pd.DatetimeIndex):
            regular = inferred_offset(series_times) is not None
        elif pd.api.types.is_integer_dtype(series_times.dtype):
            regular = len(np.unique(np.diff(np.asarray(series_times)))) == 1
        else:
            continue
        if not regular:
            raise ValueError(
                f"Series {series_id!r} of the panel has gaps in its time grid (its times "
                f"run from {series_times[0]} to {series_times[-1]} in {len(series_times)} "
                "uneven steps): windows and targets count rows, so they would join "
                "values that are not neighbours in time. Put every series on its grid "
                "first, a missing period as a NaN row (for timestamps: asfreq per "
                "series), and set missing_target='ignore' on the model."
            )


def newest_rows(index, fraction):
    """Boolean mask of the newest ``fraction`` of the rows of every series
    (at least one, leaving at least one older row in series of two or more)."""
    times = np.asarray(index.get_level_values(-1))
    mask = np.zeros(len(index), dtype=bool)
    for rows in series_rows(index)[1]:
        if len(rows) < 2:
            continue
        n_valid = min(len(rows) - 1, max(1, int(np.ceil(fraction * len(rows)))))
        newest = rows[np.argsort(times[rows], kind="stable")[-n_valid:]]
        mask[newest] = True
    return mask


class PanelSplit(BaseCrossValidator):
    """Time-ordered splits of a panel, on time across all series.

    The distinct times of ``X``'s last index level are sorted; the last
    ``n_splits * test_size`` of them form ``n_splits`` consecutive test
    blocks. Split ``k`` tests on the rows whose time falls in block ``k`` and
    trains on the rows whose time comes before it, less the ``gap`` times
    just before the block (so multi-step targets of training rows cannot
    reach into it). Every series contributes to every split; the indices are
    plain integer positions, so ``cross_val_score`` and ``GridSearchCV``
    work as with ``TimeSeriesSplit``.

    Parameters
    ----------
    n_splits : int, default=5
        Number of splits (>= 1).
    test_size : int, default=1
        Distinct times per test block.
    gap : int, default=0
        Distinct times left out between training and test.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skattn import PanelSplit
    >>> index = pd.MultiIndex.from_product([["a", "b"], range(5)], names=["id", "t"])
    >>> X = pd.DataFrame({"value": np.arange(10.0)}, index=index)
    >>> [(train.tolist(), test.tolist()) for train, test in PanelSplit(2).split(X)]
    [([0, 1, 2, 5, 6, 7], [3, 8]), ([0, 1, 2, 3, 5, 6, 7, 8], [4, 9])]
    """

    @validate_params(
        {
            "n_splits": [Interval(Integral, 1, None, closed="left")],
            "test_size": [Interval(Integral, 1, None, closed="left")],
            "gap": [Interval(Integral, 0, None, closed="left")],
        },
        prefer_skip_nested_validation=True,
    )
    def __init__(self, n_splits=5, *, test_size=1, gap=0):
        self.n_splits = n_splits
        self.test_size = test_size
        self.gap = gap

    def get_n_splits(self, X=None, y=None, groups=None):
        """Number of splits."""
        return self.n_splits

    def split(self, X, y=None, groups=None):
        """Yield ``(train, test)`` integer positions of the rows of ``X``.

        Parameters
        ----------
        X : pandas DataFrame or Series with a MultiIndex (series id, time)
        y, groups : ignored
        """
        if not is_panel(X):
            raise ValueError(
                "PanelSplit needs X as pandas with a MultiIndex (series id, ..., time); "
                f"got {type(X).__name__}"
                + (" with a plain index" if hasattr(X, "index") else "")
                + ". For one series use sklearn's TimeSeriesSplit."
            )
        times = X.index.get_level_values(-1)
        distinct = np.sort(times.unique())
        needed = self.n_splits * self.test_size
        if needed + self.gap >= len(distinct):
            raise ValueError(
                f"PanelSplit(n_splits={self.n_splits}, test_size={self.test_size}, "
                f"gap={self.gap}) needs more than {needed + self.gap} distinct times; X "
                f"has {len(distinct)}."
            )
        positions = np.searchsorted(distinct, np.asarray(times))
        first_test = len(distinct) - needed
        for split in range(self.n_splits):
            start = first_test + split * self.test_size
            train = np.flatnonzero(positions < start - self.gap)
            test = np.flatnonzero((positions >= start) & (positions < start + self.test_size))
            yield train, test
