"""Loaders, tables and plots for the review notebooks (``notebooks/*.ipynb``).

Everything here reads what the pipeline has already written (``reports/``, ``outputs/``) through
``pipeline/core/io.py`` and reshapes it for reading; nothing is recomputed, so a notebook shows exactly
the figures that the model card, ``dvc metrics`` and MLflow show. No function returns a person
token or a record token: the linkage review sample loses its token columns and risk lists lose
``person_token`` on load.

Synthetic ground truth (``data/truth/``) does not exist in a council's own data. Every function
that depends on it returns ``None`` (or leaves the generator-probability row out) when it is absent, and the
notebooks say so.
"""


from pipeline.explore.linkage import *  # noqa: F403
from pipeline.explore.lists import *  # noqa: F403
from pipeline.explore.models import *  # noqa: F403
from pipeline.explore.plots import *  # noqa: F403
from pipeline.explore.project import *  # noqa: F403
