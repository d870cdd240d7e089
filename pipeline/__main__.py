"""``python -m pipeline`` runs the ``riskpipe`` command line."""

from pipeline.cli import app

app(prog_name="riskpipe")
