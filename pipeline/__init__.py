"""riskpipe: a reproducible predictive-risk pipeline for local authorities and NHS partners."""

__version__ = "0.1.0"
