"""``python -m pipeline`` runs the ``riskpipe`` command line.

``python -m`` puts the working directory first on ``sys.path``. A project folder other than the code
(``--root`` elsewhere, the benchmark's scratch folders) holds an ``ethics/ledger/`` folder of logs, which
Python would take for a namespace package ``ethics`` and so hide riskpipe's own: the folder holding this
code goes first instead.
"""

import sys
from pathlib import Path

CODE_ROOT = str(Path(__file__).resolve().parents[1])
if sys.path[:1] != [CODE_ROOT]:
    sys.path.insert(0, CODE_ROOT)

from pipeline.cli import app  # noqa: E402  after the path is fixed

app(prog_name="riskpipe")
