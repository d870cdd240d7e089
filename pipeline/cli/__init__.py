"""``riskpipe``: one command per pipeline stage, plus the tools around them.

This package is the only place that wires configuration, file IO and stage functions together.
Each command reads ``params.yaml`` (or ``--params``), runs one stage and says where its outputs
went. Run ``riskpipe COMMAND --help`` for what each command does.

``common`` holds the app, console, shared options and helpers; each command module registers its
commands on that app when imported below.
"""

import os

# OpenMP threads that spin while waiting (the default) stall LightGBM many times over when the cores
# are shared with other work; the policy must be set before LightGBM loads OpenMP. An explicit
# OMP_WAIT_POLICY in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from pipeline.cli.common import app  # noqa: E402

# isort: off
# Import order is registration order, which is the order `riskpipe --help` lists commands in.
from pipeline.cli import data  # noqa: F401  synth, keygen, pseudonymise, scan-pii
from pipeline.cli import linkage  # noqa: F401  link, link-pair
from pipeline.cli import review  # noqa: F401  review-linkage sample, review-linkage record
from pipeline.cli import ingest  # noqa: F401  ingest
from pipeline.cli import governance  # noqa: F401  signoff, govern, card, audit-log verify
from pipeline.cli import lists  # noqa: F401  score, reidentify
from pipeline.cli import modelling  # noqa: F401  features, train, evaluate, audit
from pipeline.cli import monitor  # noqa: F401  monitor
from pipeline.cli import linkage_bias  # noqa: F401  linkage-bias
from pipeline.cli import impact  # noqa: F401  impact
# isort: on

__all__ = ["app"]
