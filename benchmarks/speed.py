"""Speed and memory benchmark of skattn against a hand-written loop and stock skorch.

Sections (all run by default, pick some with ``--only``):

train    Training samples/s of ``AttentionLSTMRegressor.fit`` (attention="temporal"),
         a hand-written PyTorch loop over pre-built float32 tensors with the same
         module class (``skattn._modules.AttentionRNN``, Adam lr 1e-3, MSE,
         shuffled index batches), and stock ``skorch.NeuralNetRegressor`` fed numpy
         float32 arrays (``train_split=None``; plus the default ``ValidSplit(5)``
         where cheap). Per-epoch throughput is the median over epochs 2.. (the
         first epoch only when there is one) from skorch's ``history[:, "dur"]`` or
         the loop's own timer; the full ``fit()`` wall time is reported as well.
predict  ``predict`` latency on 1 window and on 10000 windows against a raw
         ``module(tensor)`` forward under ``torch.inference_mode`` on the same
         trained module (targets: <= 1.3x and <= 1.1x).
import   ``import skattn`` vs ``import torch`` (and ``import skorch``) in fresh
         subprocesses.
memory   Peak RSS of a one-epoch Pipeline fit (SlidingWindowTransformer(64) ->
         StandardScaler -> AttentionLSTMRegressor(n_features=8, hidden_size=32,
         max_epochs=1)) on an n_rows x 8 float32 series, in a subprocess,
         next to the size of one float32 copy of the windows, with the peak of
         each stage (VmHWM, reset between stages through /proc/self/clear_refs;
         the overall peak is the max over the stages). The child's raw
         ``ru_maxrss`` is printed too, but Linux carries the parent's peak RSS
         into it at fork/exec, so it is only meaningful when the parent is small.
threads  skattn training samples/s and 1-window predict latency with n_threads=1
         vs 2, without and with a busy-loop process occupying one core (data for
         the default ``n_threads`` policy).

All contenders run with the same torch thread count: ``--threads``, by default 1
on CPU (2 OpenMP threads on a shared 2-core box make every timing hostage to the
other processes; see the threads section) and torch's own setting on cuda.

Every comparison interleaves its repetitions and rotates the order of the
contenders, and every ratio is computed per repetition (paired) before taking
the median, so slow phases of a shared machine hit all contenders alike.

Commands (from the repository root). Times measured on the 2-core dev box, quiet
(load ~1-2) / shared with other jobs (load 6-8); n_threads=2 runs in the threads
section are what stretches under load::

    python benchmarks/speed.py --small          # all sections, ~2 min / ~5 min
    python benchmarks/speed.py --skip-memory    # full CPU sizes, ~12 min / ~21 min
    python benchmarks/speed.py --only memory    # 1e6 rows, ~12 GB RAM, ~5 min
    python benchmarks/speed.py --device cuda    # full sizes on a GPU

Sizes: configs A/B are 30000 x 20 x 2 windows (planted signal x[:, 10, :] = y),
hidden 64, batch 256 / 4096. Config C is 200000 x 96 x 8, hidden 128 x 2 layers,
batch 1024 on cuda; on CPU it is cut to 4000 windows (the output says so).
``--small`` cuts A/B to 3000 and C to 512 windows and the memory run to 50000 rows.
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np
import sklearn
import skorch
import torch
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from skorch import NeuralNetRegressor
from skorch.callbacks import Callback
from skorch.dataset import ValidSplit
from torch import nn

from skattn import AttentionLSTMRegressor, SlidingWindowTransformer
from skattn._modules import AttentionRNN
from skattn._validation import validate_windows
from skattn.datasets import make_planted_step

GB = 1e9
SUMMARY = []  # (section, label, value) rows for the final table


# -- small helpers ------------------------------------------------------------
def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def stats(values):
    return statistics.median(values), min(values), max(values)


def fmt(values, spec=".0f", unit=""):
    med, lo, hi = stats(values)
    return f"{med:{spec}}{unit} [{lo:{spec}}-{hi:{spec}}]"


def rotated(items, rep):
    shift = rep % len(items)
    return items[shift:] + items[:shift]


def steady(durations):
    """Median epoch duration, leaving out the first epoch when there are more."""
    return statistics.median(durations[1:] if len(durations) > 1 else durations)


def record(section, label, text):
    SUMMARY.append((section, label, text))


def planted(n, n_timesteps, n_features, seed=0):
    """x ~ N(0, 1), y ~ {0, 1}, x[:, 10, :] = y (float32 windows, float32 y)."""
    X, y = make_planted_step(n, n_timesteps, n_features, min(10, n_timesteps - 1), seed)
    return X.astype(np.float32), y.astype(np.float32)


# -- training contenders ------------------------------------------------------
def module_kwargs(cfg):
    return dict(
        n_features=cfg["F"],
        n_timesteps=cfg["T"],
        n_outputs=1,
        hidden_size=cfg["hidden"],
        num_layers=cfg["layers"],
        attention="temporal",
    )


class PredictionOnly(nn.Module):
    """AttentionRNN returning only the prediction, for stock skorch."""

    def __init__(self, **kwargs):
        super().__init__()
        self.inner = AttentionRNN(**kwargs)

    def forward(self, X):
        return self.inner(X)[0]


def fit_skattn(X, y, cfg, args, n_threads=None, attention="temporal"):
    device = torch.device(args.device)
    reg = AttentionLSTMRegressor(
        attention=attention,
        hidden_size=cfg["hidden"],
        num_layers=cfg["layers"],
        max_epochs=args.epochs,
        batch_size=cfg["batch"],
        lr=1e-3,
        early_stopping=False,
        n_threads=n_threads if n_threads is not None else args.threads,
        device=args.device,
        random_state=0,
    )
    sync(device)
    start = time.perf_counter()
    reg.fit(X, y)
    sync(device)
    wall = time.perf_counter() - start
    return dict(wall=wall, durs=list(reg.history_[:, "dur"]), n_train=len(X), model=reg)


def fit_hand(X, y, cfg, args):
    device = torch.device(args.device)
    sync(device)
    start = time.perf_counter()
    X_t = torch.from_numpy(X).to(device)
    y_t = torch.from_numpy(y.reshape(-1, 1)).to(device)
    torch.manual_seed(0)
    module = AttentionRNN(**module_kwargs(cfg)).to(device)
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    loss_fn = nn.MSELoss()
    generator = torch.Generator().manual_seed(0)
    n, batch = len(X_t), cfg["batch"]
    durs = []
    for _ in range(args.epochs):
        sync(device)
        epoch_start = time.perf_counter()
        order = torch.randperm(n, generator=generator).to(device)
        for first in range(0, n, batch):
            index = order[first : first + batch]
            optimizer.zero_grad()
            prediction, _ = module(X_t[index])
            loss = loss_fn(prediction, y_t[index])
            loss.backward()
            optimizer.step()
        sync(device)
        durs.append(time.perf_counter() - epoch_start)
    wall = time.perf_counter() - start
    return dict(wall=wall, durs=durs, n_train=n)


def fit_skorch(X, y, cfg, args, valid_split=False):
    device = torch.device(args.device)
    net = NeuralNetRegressor(
        PredictionOnly,
        **{f"module__{k}": v for k, v in module_kwargs(cfg).items()},
        criterion=nn.MSELoss,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs=args.epochs,
        batch_size=cfg["batch"],
        iterator_train__shuffle=True,
        train_split=ValidSplit(5) if valid_split else None,
        device=args.device,
        verbose=0,
    )
    torch.manual_seed(0)
    sync(device)
    start = time.perf_counter()
    net.fit(X, y.reshape(-1, 1))
    sync(device)
    wall = time.perf_counter() - start
    n_train = len(X) - len(X) // 5 if valid_split else len(X)
    return dict(wall=wall, durs=list(net.history[:, "dur"]), n_train=n_train)


def fit_keras(X, y, cfg, args):
    """Keras 3 on the torch backend: LSTM -> additive attention over the states -> Dense.

    The recipes' form of the same network (the attention sums the LSTM states);
    the same cost per step as skattn's module.
    """
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((cfg["T"], cfg["F"]))
    states = inputs
    for _ in range(cfg["layers"]):
        states = keras.layers.LSTM(cfg["hidden"], return_sequences=True)(states)
    hidden = keras.layers.Dense(cfg["hidden"], activation="tanh")(states)
    weights = keras.layers.Softmax(axis=1)(keras.layers.Dense(1, use_bias=False)(hidden))
    context = keras.ops.sum(weights * states, axis=1)
    model = keras.Model(inputs, keras.layers.Dense(1)(context))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    durs = []

    class EpochDurations(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            durs.append(time.perf_counter() - self.start)

    start = time.perf_counter()
    model.fit(X, y, batch_size=cfg["batch"], epochs=args.epochs, shuffle=True, verbose=0,
              callbacks=[EpochDurations()])
    return dict(wall=time.perf_counter() - start, durs=durs, n_train=len(X))


def fit_darts(X, y, cfg, args):
    """Darts' BlockRNNModel (LSTM -> linear, no attention) on one short series per window.

    Darts takes TimeSeries, not windows: each window becomes its past covariates
    and the target its next value. Building them counts in the wall time only.
    """
    import warnings

    import pytorch_lightning as pl
    from darts import TimeSeries
    from darts.models import BlockRNNModel

    durs = []

    class EpochDurations(pl.Callback):
        def on_train_epoch_start(self, trainer, module):
            self.start = time.perf_counter()

        def on_train_epoch_end(self, trainer, module):
            durs.append(time.perf_counter() - self.start)

    start = time.perf_counter()
    n_timesteps, n_features = cfg["T"], cfg["F"]
    padding = np.zeros((1, n_features), np.float32)
    targets = [
        TimeSeries.from_values(np.r_[np.zeros(n_timesteps, np.float32), y[i : i + 1]][:, None])
        for i in range(len(X))
    ]
    covariates = [TimeSeries.from_values(np.r_[X[i], padding]) for i in range(len(X))]
    model = BlockRNNModel(
        input_chunk_length=n_timesteps, output_chunk_length=1, model="LSTM",
        hidden_dim=cfg["hidden"], n_rnn_layers=cfg["layers"], batch_size=cfg["batch"],
        n_epochs=args.epochs, optimizer_kwargs={"lr": 1e-3}, random_state=0,
        pl_trainer_kwargs={
            "accelerator": "gpu" if args.device.startswith("cuda") else "cpu",
            "enable_progress_bar": False, "enable_model_summary": False, "logger": False,
            "enable_checkpointing": False, "callbacks": [EpochDurations()],
        },
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(targets, past_covariates=covariates, verbose=False)
    return dict(wall=time.perf_counter() - start, durs=durs, n_train=len(X))


def importable(name):
    import importlib.util

    return importlib.util.find_spec(name) is not None


CONTENDERS = {
    "skattn": fit_skattn,
    "hand": fit_hand,
    "skorch": fit_skorch,
    "skorch_vs5": lambda X, y, cfg, args: fit_skorch(X, y, cfg, args, valid_split=True),
}
# The peers run when installed: pip install keras darts pytorch-lightning
if importable("keras"):
    CONTENDERS["keras"] = fit_keras
if importable("darts") and importable("pytorch_lightning"):
    CONTENDERS["darts"] = fit_darts
    # Darts' model has no attention: compare it with the same network in skattn too
    CONTENDERS["skattn_none"] = lambda X, y, cfg, args: fit_skattn(X, y, cfg, args,
                                                                   attention="none")


def train_configs(args):
    cuda = args.device.startswith("cuda")
    n_ab = 3000 if args.small else 30000
    n_c = 512 if args.small else (200000 if cuda else 4000)
    return [
        dict(name="A", n=n_ab, T=20, F=2, hidden=64, layers=1, batch=256, vs5=True),
        dict(name="B", n=n_ab, T=20, F=2, hidden=64, layers=1, batch=4096, vs5=True),
        dict(name="C", n=n_c, T=96, F=8, hidden=128, layers=2, batch=1024, vs5=cuda),
    ]


def section_train(args):
    trained = {}
    for cfg in train_configs(args):
        note = ""
        if cfg["name"] == "C" and cfg["n"] < 200000:
            note = f" (reduced from 200000 to {cfg['n']} windows for this device/size)"
        desc = (
            f"{cfg['name']}: {cfg['n']}x{cfg['T']}x{cfg['F']} hidden {cfg['hidden']}"
            f"x{cfg['layers']} batch {cfg['batch']}, {args.epochs} epochs{note}"
        )
        print(f"[train] config {desc}")
        X, y = planted(cfg["n"], cfg["T"], cfg["F"])
        names = [n for n in CONTENDERS if cfg["vs5"] or n != "skorch_vs5"]
        runs = {name: [] for name in names}
        warm_args = argparse.Namespace(**{**vars(args), "epochs": 1})
        warm = min(cfg["n"], 2 * cfg["batch"])
        for name in names:  # untimed: first-call costs (lazy imports, allocator) for all
            CONTENDERS[name](X[:warm], y[:warm], cfg, warm_args)
        for rep in range(args.reps):
            for name in rotated(names, rep):
                result = CONTENDERS[name](X, y, cfg, args)
                result["rate"] = result["n_train"] / steady(result["durs"])
                runs[name].append(result)
                print(
                    f"[train] {cfg['name']} rep {rep + 1} {name:10s} "
                    f"{result['rate']:9.0f} samples/s/epoch   fit wall {result['wall']:7.2f} s"
                )
        trained[cfg["name"]] = (runs["skattn"][-1]["model"], X)
        for name in names:
            rates = [r["rate"] for r in runs[name]]
            walls = [r["wall"] for r in runs[name]]
            record(
                "train",
                f"{cfg['name']} {name} samples/s/epoch | fit wall s",
                f"{fmt(rates)} | {fmt(walls, '.2f')}",
            )
        for other in names[1:]:
            rate_ratio = [
                a["rate"] / b["rate"] for a, b in zip(runs["skattn"], runs[other], strict=True)
            ]
            wall_ratio = [
                a["wall"] / b["wall"] for a, b in zip(runs["skattn"], runs[other], strict=True)
            ]
            record(
                "train",
                f"{cfg['name']} skattn/{other}: throughput | wall time",
                f"{fmt(rate_ratio, '.2f')} | {fmt(wall_ratio, '.2f')}",
            )
        if "skattn_none" in runs:
            rate_ratio = [
                a["rate"] / b["rate"]
                for a, b in zip(runs["skattn_none"], runs["darts"], strict=True)
            ]
            record(
                "train",
                f"{cfg['name']} skattn(attention='none')/darts (same network): throughput",
                fmt(rate_ratio, ".2f"),
            )
        n_batches = -(-cfg["n"] // cfg["batch"])
        if n_batches >= 4:
            per_batch = [
                (steady(a["durs"]) - steady(b["durs"])) / n_batches * 1e3
                for a, b in zip(runs["skattn"], runs["hand"], strict=True)
            ]
            record(
                "train",
                f"{cfg['name']} skattn - hand, per batch (ms; {n_batches} batches/epoch)",
                fmt(per_batch, ".2f"),
            )
        overhead = [r["wall"] - sum(r["durs"]) for r in runs["skattn"]]
        record("train", f"{cfg['name']} skattn fit wall - sum(epochs) s", fmt(overhead, ".2f"))
        record("train", f"{cfg['name']} config", desc)
    return trained


# -- predict latency ----------------------------------------------------------
def timed(fn, device):
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start


def section_predict(args, trained):
    device = torch.device(args.device)
    if "A" in trained:
        reg, _ = trained["A"]
    else:
        cfg = train_configs(args)[0]
        X, y = planted(cfg["n"], cfg["T"], cfg["F"])
        reg = fit_skattn(X, y, cfg, args)["model"]
    module = reg.net_.module_
    module.eval()
    X_pred, _ = planted(10000, reg.n_timesteps_, reg.n_features_per_step_, seed=1)
    chunk = reg._predict_chunk_size()
    for n_windows, reps, target in ((1, 200, 1.3), (10000, 10 if args.small else 20, 1.1)):
        X_np = X_pred[:n_windows]
        X_t = torch.from_numpy(X_np).to(device)

        def raw(X_t=X_t):
            with torch.inference_mode():
                module(X_t)

        def raw_chunked(X_t=X_t, chunk=chunk):
            with torch.inference_mode():
                for first in range(0, len(X_t), chunk):
                    module(X_t[first : first + chunk])

        contenders = {
            "skattn": lambda X_np=X_np: reg.predict(X_np),
            "raw": raw,
            "raw_chunked": raw_chunked,
            "validate": lambda X_np=X_np: validate_windows(reg, X_np, reset=False),
        }
        X_valid = validate_windows(reg, X_np, reset=False)
        contenders["infer"] = lambda X_valid=X_valid: reg._infer(X_valid, ("prediction",))
        times = {name: [] for name in contenders}
        for _ in range(3):
            for fn in contenders.values():
                fn()
        for rep in range(reps):
            for name in rotated(list(contenders), rep):
                times[name].append(timed(contenders[name], device))
        ratio = statistics.median(times["skattn"]) / statistics.median(times["raw"])
        ms = {name: [t * 1e3 for t in values] for name, values in times.items()}
        print(
            f"[predict] {n_windows} window(s), {reps} calls: skattn {fmt(ms['skattn'], '.3f')} ms,"
            f" raw {fmt(ms['raw'], '.3f')} ms, ratio {ratio:.2f} (target <= {target})"
        )
        record(
            "predict",
            f"{n_windows} window(s) skattn | raw forward (ms)",
            f"{fmt(ms['skattn'], '.3f')} | {fmt(ms['raw'], '.3f')}",
        )
        verdict = "ok" if ratio <= target else "MISSED"
        record(
            "predict", f"{n_windows} window(s) skattn/raw", f"{ratio:.2f} (<= {target}: {verdict})"
        )
        chunked = statistics.median(times["skattn"]) / statistics.median(times["raw_chunked"])
        record(
            "predict",
            f"{n_windows} window(s) raw in skattn's chunks of {chunk} (ms) | skattn/that",
            f"{fmt(ms['raw_chunked'], '.3f')} | {chunked:.2f}",
        )
        record(
            "predict",
            f"{n_windows} window(s) inside predict: validate | _infer (ms)",
            f"{fmt(ms['validate'], '.3f')} | {fmt(ms['infer'], '.3f')}",
        )


# -- import time --------------------------------------------------------------
def section_import(args):
    runs = 3 if args.small else 5
    modules = ["torch", "skorch", "skattn"]
    modules += [module for name, module in (("keras", "keras"), ("darts", "darts.models"))
                if name in CONTENDERS]
    code = (
        "import os, time; os.environ.setdefault('KERAS_BACKEND', 'torch'); "
        "t = time.perf_counter(); import {}; print(time.perf_counter() - t)"
    )
    times = {name: [] for name in modules}
    for rep in range(runs + 1):  # the first round only warms the file cache
        for name in rotated(modules, rep):
            out = subprocess.run(
                [sys.executable, "-c", code.format(name)],
                capture_output=True,
                text=True,
                check=True,
            )
            if rep:
                times[name].append(float(out.stdout.strip()))
    for name in modules:
        print(f"[import] import {name}: {fmt(times[name], '.2f', ' s')}")
        record("import", f"import {name} (s)", fmt(times[name], ".2f"))
    ratio = [a / b for a, b in zip(times["skattn"], times["torch"], strict=True)]
    extra = [a - b for a, b in zip(times["skattn"], times["torch"], strict=True)]
    record(
        "import", "skattn/torch | skattn - torch (s)", f"{fmt(ratio, '.2f')} | {fmt(extra, '.2f')}"
    )


# -- peak memory (runs in a child process) -------------------------------------
class RssStages:
    """Exact peak RSS per stage: VmHWM, reset after each stage via clear_refs.

    Writing "5" to /proc/self/clear_refs resets the peak (and with it
    ``ru_maxrss``), so the peak of the whole run is the max over the stages.
    Where the reset is not allowed the stage peaks are cumulative.
    """

    def __init__(self):
        self.stages = []
        self.resets = self._reset()

    @staticmethod
    def _reset():
        try:
            with open("/proc/self/clear_refs", "w") as clear_refs:
                clear_refs.write("5")
        except OSError:
            return False
        return True

    @staticmethod
    def _status(field):
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
        return 0

    def mark(self, name):
        self.stages.append((name, self._status("VmHWM"), self._status("VmRSS")))
        if self.resets:
            self._reset()


SAMPLER = None


def _mark_passthrough(X, name):
    SAMPLER.mark(name)
    return X


class _TrainMarks(Callback):
    def on_train_begin(self, net, X=None, y=None, **kwargs):
        SAMPLER.mark("skattn validate + to tensor")

    def on_train_end(self, net, X=None, y=None, **kwargs):
        SAMPLER.mark("skattn training epoch")


def memory_child(args):
    import resource

    global SAMPLER
    SAMPLER = RssStages()
    SAMPLER.mark("interpreter + imports")
    rng = np.random.default_rng(0)
    series = rng.standard_normal((args.memory_child, 8), dtype=np.float32)
    y = rng.standard_normal(args.memory_child).astype(np.float32)
    SAMPLER.mark("series data")
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    pipe = Pipeline(
        [
            ("window", SlidingWindowTransformer(window_size=64)),
            ("m1", FunctionTransformer(_mark_passthrough, kw_args={"name": "windowing"})),
            ("scale", StandardScaler()),
            ("m2", FunctionTransformer(_mark_passthrough, kw_args={"name": "StandardScaler"})),
            (
                "model",
                AttentionLSTMRegressor(
                    n_features=8,
                    max_epochs=1,
                    hidden_size=32,
                    random_state=0,
                    n_threads=args.threads,
                    device=args.device,
                    callbacks=[_TrainMarks()],
                ),
            ),
        ]
    )
    start = time.perf_counter()
    pipe.fit(series, y)
    wall = time.perf_counter() - start
    SAMPLER.mark("attention summary after training")
    result = dict(
        peak=max(peak for _, peak, _ in SAMPLER.stages),
        maxrss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        resets=SAMPLER.resets,
        stages=SAMPLER.stages,
        wall=wall,
        cuda_peak=torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None,
    )
    print("RESULT " + json.dumps(result))


def section_memory(args):
    n_rows = args.memory_rows or (50000 if args.small else 1_000_000)
    command = [sys.executable, os.path.abspath(__file__), "--memory-child", str(n_rows)]
    command += ["--device", args.device]
    if args.threads:
        command += ["--threads", str(args.threads)]
    out = subprocess.run(command, capture_output=True, text=True)
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    if out.returncode or not lines:
        print(f"[memory] child failed (rc {out.returncode}):\n{out.stderr[-3000:]}")
        record("memory", "status", f"child failed, rc {out.returncode}")
        return
    result = json.loads(lines[-1][len("RESULT ") :])
    copy = n_rows * 64 * 8 * 4
    peak = result["peak"]
    print(
        f"[memory] {n_rows} rows: peak RSS {peak / GB:.2f} GB = {peak / copy:.2f}x one float32 "
        f"window copy ({copy / GB:.2f} GB), fit {result['wall']:.1f} s"
    )
    record("memory", "rows | fit wall (s)", f"{n_rows} | {result['wall']:.1f}")
    record("memory", "one float32 copy of the windows (GB)", f"{copy / GB:.3f}")
    record("memory", "peak RSS of the child (GB) | x copy", f"{peak / GB:.3f} | {peak / copy:.2f}")
    base = result["stages"][1][2]  # RSS after imports and the series data
    record(
        "memory",
        "peak above imports + data (GB) | x copy",
        f"{(peak - base) / GB:.3f} | {(peak - base) / copy:.2f}",
    )
    record(
        "memory",
        "  raw ru_maxrss of the child (GB; holds the parent's RSS at fork/exec)",
        f"{result['maxrss'] / GB:.3f}",
    )
    kind = "stage peak" if result["resets"] else "cumulative peak"
    for name, stage_peak, after in result["stages"]:
        record(
            "memory",
            f"  {name}: {kind} | RSS after (GB)",
            f"{stage_peak / GB:.3f} | {after / GB:.3f}",
        )
    if result["cuda_peak"] is not None:
        record("memory", "torch.cuda.max_memory_allocated (GB)", f"{result['cuda_peak'] / GB:.3f}")


# -- thread policy ------------------------------------------------------------
def section_threads(args):
    cfg = train_configs(args)[0]
    X, y = planted(cfg["n"], cfg["T"], cfg["F"])
    one_window = X[:1]
    conditions = [(1, False), (2, False), (1, True), (2, True)]
    rates = {c: [] for c in conditions}
    latency = {c: [] for c in conditions}
    for rep in range(args.reps):
        for n_threads, busy in rotated(conditions, rep):
            hog = None
            if busy:
                hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
                time.sleep(0.3)
            try:
                result = fit_skattn(X, y, cfg, args, n_threads=n_threads)
                reg = result["model"]
                calls = []
                for _ in range(25):
                    start = time.perf_counter()
                    reg.predict(one_window)
                    calls.append(time.perf_counter() - start)
            finally:
                if hog is not None:
                    hog.terminate()
                    hog.wait()
            rate = result["n_train"] / steady(result["durs"])
            rates[(n_threads, busy)].append(rate)
            latency[(n_threads, busy)].append(statistics.median(calls[5:]) * 1e3)
            load = "busy core" if busy else "idle"
            print(
                f"[threads] rep {rep + 1} n_threads={n_threads} {load:9s} {rate:9.0f} samples/s"
                f"   predict(1 window) {latency[(n_threads, busy)][-1]:8.2f} ms"
            )
    for busy in (False, True):
        load = "1 core busy" if busy else "idle"
        for what, table, spec in (
            ("train samples/s", rates, ".0f"),
            ("predict 1 ms", latency, ".2f"),
        ):
            one, two = table[(1, busy)], table[(2, busy)]
            paired = [b / a for a, b in zip(one, two, strict=True)]
            record(
                "threads",
                f"{load}, {what}: n_threads=1 | n_threads=2 | 2/1",
                f"{fmt(one, spec)} | {fmt(two, spec)} | {fmt(paired, '.2f')}",
            )
    record("threads", "config", f"A ({cfg['n']}x20x2, hidden 64, batch 256, skattn fit)")


# -- main ---------------------------------------------------------------------
def _git_state():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        out = subprocess.run(
            ["git", "-C", root, "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return "?"
    return out.stdout.strip() or "?"


def machine_info(args):
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            names = [ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    device = args.device
    if device.startswith("cuda"):
        device += f" ({torch.cuda.get_device_name(torch.device(device))})"
    return [
        ("date", datetime.datetime.now().isoformat(timespec="seconds")),
        (
            "python | torch | skorch | sklearn | numpy",
            " | ".join(
                [
                    platform.python_version(),
                    torch.__version__,
                    skorch.__version__,
                    sklearn.__version__,
                    np.__version__,
                ]
            ),
        ),
        ("cpu | cores | torch threads", f"{cpu} | {os.cpu_count()} | {torch.get_num_threads()}"),
        ("device", device),
        ("skattn source (git)", _git_state()),
        ("load average at start", " ".join(f"{x:.2f}" for x in os.getloadavg())),
        ("reps | epochs | small", f"{args.reps} | {args.epochs} | {args.small}"),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="quick run with small sizes")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:<i>")
    parser.add_argument("--reps", type=int, default=3, help="interleaved repetitions")
    parser.add_argument("--epochs", type=int, default=2, help="max_epochs of each fit")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads of every contender (default: 1 on cpu, torch's own on cuda)",
    )
    parser.add_argument(
        "--only", default="train,predict,import,memory,threads", help="comma-separated sections"
    )
    parser.add_argument("--skip-memory", action="store_true", help="skip the memory section")
    parser.add_argument("--skip-threads", action="store_true", help="skip the thread section")
    parser.add_argument("--memory-rows", type=int, default=None, help="rows of the memory run")
    parser.add_argument("--memory-child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads is None and not args.device.startswith("cuda"):
        args.threads = 1
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.memory_child:
        memory_child(args)
        return
    sections = set(args.only.split(","))
    if args.skip_memory:
        sections.discard("memory")
    if args.skip_threads:
        sections.discard("threads")
    info = machine_info(args)
    start = time.perf_counter()
    trained = section_train(args) if "train" in sections else {}
    if "predict" in sections:
        section_predict(args, trained)
    if "import" in sections:
        section_import(args)
    if "memory" in sections:
        section_memory(args)
    if "threads" in sections:
        section_threads(args)
    info.append(("load average at end", " ".join(f"{x:.2f}" for x in os.getloadavg())))
    info.append(("benchmark wall time (s)", f"{time.perf_counter() - start:.0f}"))

    rows = [("machine", label, value) for label, value in info] + SUMMARY
    width = max(len(label) for _, label, _ in rows)
    print("\n== skattn speed benchmark: median [min-max]; ratios paired per repetition ==")
    section = None
    for name, label, value in rows:
        if name != section:
            print(f"-- {name}")
            section = name
        print(f"  {label:<{width}}  {value}")


if __name__ == "__main__":
    main()
