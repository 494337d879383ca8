"""needlesim: a microneedling simulator and treatment planner, from Python.

The Rust library does the work; this package reads inputs, sets model parameters by name, runs
commands with the GIL released and hands back the results as dicts, numpy arrays and pandas
DataFrames::

    import needlesim
    study = needlesim.Study.from_path("examples/forehead_lines.toml")
    study.params["healing.collagen_half_life"] = 10 * 365.25 * 86400   # seconds
    res = study.run("simulate", seed=7)
    res.timeseries()            # DataFrame indexed by day
    res.data["zones"][0]        # outcomes.json as a dict

    needlesim.plan("examples/patients/acne_scars_type5.toml").plan["verdict"]

    needlesim.cohort("examples/cohorts/face_mixed_200.toml", "out/cohort", workers=2)
    needlesim.cohort(..., client=dask_client)   # shards on a Dask cluster (needlesim.dask)

The tutorial is docs/PYTHON.md; every input field and output file is described in the
repository's docs/ (INPUTS.md, OUTPUTS.md).
"""

from . import _core
from ._api import (
    Params,
    Results,
    Study,
    Validation,
    parameters,
    plan,
    validate,
)
from ._batch import Batch, check_posterior
from ._cohort import CohortResult, cohort
from ._errors import (
    FieldError,
    InputError,
    NeedlesimError,
    ParamError,
    RunError,
    UnknownParamError,
)

__version__: str = _core.__version__

__all__ = [
    "Study",
    "Params",
    "Results",
    "Validation",
    "parameters",
    "plan",
    "validate",
    "cohort",
    "Batch",
    "check_posterior",
    "CohortResult",
    "NeedlesimError",
    "InputError",
    "FieldError",
    "ParamError",
    "UnknownParamError",
    "RunError",
    "__version__",
]
