"""Predict throughput of an exported graph in onnxruntime against skattn's own predict.

One fitted AttentionLSTMRegressor (LSTM, temporal attention, level-free form on
an AR series with one driver; windows of ``--n-timesteps`` x 2 features,
``--hidden-size`` units) is exported with ``skattn.export_onnx`` and both
predict the same float32 2-D windows: 1 window (the latency a service sees per
request) and 10000 windows (a batch job). torch runs with 1 thread
(``n_threads=None`` is 1, and ``torch.set_num_threads(1)``), onnxruntime with
``intra_op_num_threads=1``, ``inter_op_num_threads=1`` and sequential
execution, on the CPU. The raw ``module(tensor)`` forward under
``torch.inference_mode`` is timed alongside, to show what of skattn's time is
input checking and what is the network.

Repetitions are interleaved and their order rotated, ratios are computed per
repetition (paired) and the median is printed, so a slow phase of a shared
machine hits all contenders alike. The outputs are checked to agree (rtol
1e-4, atol 1e-5) before anything is timed.

    python benchmarks/export_speed.py            # ~1 min on a 2-core box
    python benchmarks/export_speed.py --small    # a smoke run, seconds
"""

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time

import numpy as np
import torch

torch.set_num_threads(1)

import onnxruntime  # noqa: E402

import skattn  # noqa: E402
from skattn import AttentionLSTMRegressor, export_onnx  # noqa: E402


def ar_windows(n_windows, n_timesteps, seed=0):
    rng = np.random.default_rng(seed)
    n_rows = n_windows + n_timesteps + 1
    driver = rng.normal(size=n_rows)
    series = np.zeros(n_rows)
    for t in range(2, n_rows):
        series[t] = 1.3 * series[t - 1] - 0.5 * series[t - 2] + driver[t - 1]
    columns = np.column_stack([series, driver])
    X = np.lib.stride_tricks.sliding_window_view(columns[:-1], n_timesteps, axis=0)
    X = X.transpose(0, 2, 1)[:n_windows]  # (windows, steps, features)
    y = series[n_timesteps : n_timesteps + n_windows]
    return np.ascontiguousarray(X.reshape(n_windows, -1), dtype=np.float32), y


def session(path):
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def per_call_seconds(call, n_calls):
    start = time.perf_counter()
    for _ in range(n_calls):
        call()
    return (time.perf_counter() - start) / n_calls


def compare(contenders, n_calls, repeats):
    """Median seconds per call of each contender and median paired ratios
    (skattn / each), over ``repeats`` interleaved, rotated rounds."""
    names = list(contenders)
    times = {name: [] for name in names}
    for number in range(repeats):
        order = names[number % len(names):] + names[: number % len(names)]
        for name in order:
            times[name].append(per_call_seconds(contenders[name], n_calls))
    ratios = {name: statistics.median(a / b for a, b in zip(times["skattn predict"],
                                                             times[name], strict=True))
              for name in names}
    return {name: statistics.median(values) for name, values in times.items()}, ratios


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-timesteps", type=int, default=24)
    parser.add_argument("--hidden-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--small", action="store_true", help="fewer calls, for a smoke run")
    args = parser.parse_args()

    X, y = ar_windows(2000, args.n_timesteps)
    reg = AttentionLSTMRegressor(hidden_size=args.hidden_size, n_features=2, max_epochs=3,
                                 random_state=0).fit(X, y)
    path = os.path.join(tempfile.mkdtemp(), "model.onnx")
    start = time.perf_counter()
    export_onnx(reg, path)
    export_seconds = time.perf_counter() - start
    graph = session(path)
    module = reg.net_.module_.eval()

    batch = np.concatenate([X] * 5)[:10000]
    np.testing.assert_allclose(graph.run(None, {"X": batch})[0], reg.predict(batch),
                               rtol=1e-4, atol=1e-5)
    print(f"skattn {skattn.__version__}, torch {torch.__version__}, onnxruntime "
          f"{onnxruntime.__version__}, Python {platform.python_version()}, "
          f"{platform.machine()} ({os.cpu_count()} cores), load {os.getloadavg()[0]:.1f}")
    print(f"model: LSTM {args.hidden_size} units, temporal attention, target feature "
          f"{reg.target_feature_!r}; windows {args.n_timesteps} x 2; export "
          f"{export_seconds:.1f} s; all on 1 CPU thread")
    print()
    print("| windows | skattn predict | module forward | onnxruntime | "
          "onnxruntime speed-up (skattn / ort) |")
    print("|---:|---:|---:|---:|---:|")
    for n_windows, n_calls in ((1, 300), (10000, 2)):
        if args.small:
            n_calls = max(1, n_calls // 10)
        windows = batch[:n_windows]
        tensor = torch.from_numpy(windows.reshape(n_windows, args.n_timesteps, 2))

        def forward(tensor=tensor):
            with torch.inference_mode():
                return module(tensor)

        contenders = {
            "skattn predict": lambda windows=windows: reg.predict(windows),
            "module forward": forward,
            "onnxruntime": lambda windows=windows: graph.run(None, {"X": windows}),
        }
        for call in contenders.values():  # warm up
            call()
        seconds, ratios = compare(contenders, n_calls, args.repeats)
        cells = [f"{seconds[name] * 1e3:.3g} ms" for name in contenders]
        print(f"| {n_windows} | {' | '.join(cells)} | {ratios['onnxruntime']:.2f}x |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
