"""skattn: attention-RNN forecasting as scikit-learn estimators, built on skorch."""

from ._estimators import AttentionLSTMClassifier, AttentionLSTMRegressor
from ._export import export_onnx
from ._forecasting import FORECASTING_PARAMS, forecast, make_forecaster
from ._panel import PanelSplit
from ._persistence import load, save
from ._windowing import SlidingWindowTransformer, make_supervised
from .display import AttentionDisplay, ForecastDisplay

__version__ = "0.1.0"

__all__ = [
    "FORECASTING_PARAMS",
    "AttentionDisplay",
    "AttentionLSTMClassifier",
    "AttentionLSTMRegressor",
    "ForecastDisplay",
    "PanelSplit",
    "SlidingWindowTransformer",
    "__version__",
    "export_onnx",
    "forecast",
    "load",
    "make_forecaster",
    "make_supervised",
    "save",
]
