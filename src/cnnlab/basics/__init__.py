"""The teaching part: a two-layer perceptron by hand in four steps, and SVM kernels on toy 2-D data.

data = load_basics_data("circles")                        # flat, standardised tensors (train statistics)
run = fit_mlp(data, MLPSettings(step="manual"))           # or autograd, nn, optim: same weights, same batches
gradient_errors(params, x, labels)                        # the hand-written backward against autograd
results = fit_svm_grid(data)                              # linear, poly (degrees 1-8), rbf over C and gamma

`run_mlp` and `run_svm` do the same and write the figures and tables (`cnnlab basics mlp|svm`).
Nothing here depends on the CNN trainer.
"""

from .experiments import MLPExperiment, SVMExperiment, run_mlp, run_svm
from .fit import EpochRecord, MLPRun, MLPSettings, fit_mlp
from .gradcheck import autograd_gradients, gradient_errors, manual_gradients
from .inputs import PLANAR_SOURCES, SOURCES, BasicsData, load_basics_data
from .mlp import MLPParams, backward, cross_entropy, forward, init_params, sgd_update
from .steps import STEPS, Learner, make_learner, mlp_layers
from .svm import SVMResult, SVMSetting, default_grid, fit_svm_grid, table_csv, table_markdown, table_text

__all__ = [
    "PLANAR_SOURCES",
    "SOURCES",
    "STEPS",
    "BasicsData",
    "EpochRecord",
    "Learner",
    "MLPExperiment",
    "MLPParams",
    "MLPRun",
    "MLPSettings",
    "SVMExperiment",
    "SVMResult",
    "SVMSetting",
    "autograd_gradients",
    "backward",
    "cross_entropy",
    "default_grid",
    "fit_mlp",
    "fit_svm_grid",
    "forward",
    "gradient_errors",
    "init_params",
    "load_basics_data",
    "make_learner",
    "manual_gradients",
    "mlp_layers",
    "run_mlp",
    "run_svm",
    "sgd_update",
    "table_csv",
    "table_markdown",
    "table_text",
]
