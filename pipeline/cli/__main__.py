"""``python -m pipeline.cli`` runs the ``riskpipe`` command line, as ``python -m pipeline`` does."""

from pipeline.cli import app

app()
