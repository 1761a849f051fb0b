"""The examples keep working: each runs at a small size, its claims are checked."""

import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name, *args):
    argv = sys.argv
    sys.argv = [name, *args]
    try:
        return runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    finally:
        sys.argv = argv


@pytest.mark.slow
def test_quickstart_finds_the_planted_lag(capsys):
    run_example("quickstart.py", "--small")
    out = capsys.readouterr().out
    assert "attention peaks at lag 7 (planted: 7)" in out
    r2 = float(out.split("rows: ")[1].split()[0])
    # y is a noise series 7 steps back: no last-value or linear-trend shortcut
    # exists (R^2 about 0), so this measures the lag found (measured: 0.96)
    assert r2 > 0.9


def run_plot_example(name, tmp_path, capsys, *args):
    """Run a plot example at its small size into tmp_path; return what it printed."""
    run_example(name, "--small", "--output", str(tmp_path), *args)
    out = capsys.readouterr().out
    for png in [line.split("saved ", 1)[1] for line in out.splitlines() if "saved " in line]:
        assert png.startswith(str(tmp_path)) and Path(png).is_file()
    assert list(tmp_path.glob("*.png")), "no figure was saved"
    return out


def numbers_after(out, marker):
    """The float printed right after each occurrence of marker."""
    return [float(part.split()[0].rstrip(",%)")) for part in out.split(marker)[1:]]


@pytest.mark.slow
def test_plot_planted_signal_peaks_at_the_planted_step_and_feature(tmp_path, capsys):
    out = run_plot_example("plot_planted_signal.py", tmp_path, capsys)
    assert "attention='temporal': attention peaks at step 10 (lag9)" in out
    assert "attention='per_feature': attention peaks at step 10 (lag9)" in out
    assert "attention='feature': attention peaks at feature 5 (x5)" in out
    assert "attention='dual': feature attention peaks at feature 5;" in out


@pytest.mark.slow
def test_plot_sine_attention_forecasts_the_sine(tmp_path, capsys):
    out = run_plot_example("plot_sine_attention.py", tmp_path, capsys)
    (mse,) = numbers_after(out, "test MSE ")
    assert 0 <= mse < 0.05  # the sine's variance is 0.5
    (newest,) = numbers_after(out, "on the newest step (lag0): ")
    (oldest,) = numbers_after(out, "on the oldest (lag19): ")
    assert newest > oldest  # the next value of a sine depends on the last values


@pytest.mark.slow
def test_plot_fibonacci_compares_attention_with_none(tmp_path, capsys):
    out = run_plot_example("plot_fibonacci.py", tmp_path, capsys)
    with_attention = numbers_after(out, "attention='temporal' ")
    without = numbers_after(out, "attention='none' ")
    assert len(with_attention) == len(without) == 4  # 2 scalings x 2 sizes
    assert np.isfinite(with_attention + without).all()
    # on log-scaled terms attention wins by orders of magnitude at both sizes
    assert with_attention[2] < without[2] and with_attention[3] < without[3]


@pytest.mark.slow
def test_plot_multivariate_table_reports_mae_and_mape(tmp_path, capsys):
    out = run_plot_example("plot_multivariate_table.py", tmp_path, capsys)
    maes = numbers_after(out, "MAE ")
    mapes = [percent / 100 for percent in numbers_after(out, "MAPE ")]
    assert len(maes) == 4 and len(mapes) == 3  # 2 LSTM settings, RidgeCV; + last value
    assert np.isfinite(maes).all() and all(0 < mape < 0.1 for mape in mapes)


@pytest.mark.slow
def test_plot_multihead_search_prints_the_search(tmp_path, capsys):
    out = run_plot_example("plot_multihead_search.py", tmp_path, capsys)
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    for attention in ("none", "temporal", "multihead"):
        mean_score, std_score, rank, fit_time = map(float, rows[attention])
        assert np.isfinite([mean_score, std_score, fit_time]).all() and 1 <= rank <= 3
    assert "best params: {'model__attention': '" in out
    peaks = out.split("peak of each head: ")[1].splitlines()[0].split(", ")
    assert len(peaks) == 4 and all(peak.startswith("lag") for peak in peaks)


@pytest.mark.slow
def test_plot_real_series_takes_model_params_and_reports_mase(tmp_path, capsys):
    out = run_plot_example(
        "plot_real_series.py", tmp_path, capsys, "--model-params", '{"max_epochs": 5}'
    )
    assert '"max_epochs": 5' in out
    maes, mases = numbers_after(out, "test MAE "), numbers_after(out, ", MASE ")
    assert len(maes) == len(mases) == 3  # network, RidgeCV, naive
    assert np.isfinite(maes + mases).all()
    scale = numbers_after(out, "(the MASE scale): ")[0]
    np.testing.assert_allclose(np.array(maes) / scale, mases, atol=1e-3)
    assert mases[1] < mases[2]  # RidgeCV beats the last year


@pytest.mark.slow
def test_plot_seasonal_series_reads_calendar_columns_from_the_index(tmp_path, capsys):
    out = run_plot_example("plot_seasonal_series.py", tmp_path, capsys)
    assert "features per step: 12 (co2, season_sin1, season_cos1, ...)" in out
    assert "linear skip anchored on: co2" in out
    mases = numbers_after(out, ", MASE ")
    assert len(mases) == 4  # network, ridge, ridge + calendar, naive
    assert max(mases[:3]) < mases[3]  # every model beats "this month"
    assert mases[2] < mases[1]  # the calendar columns help the ridge
