"""riskpipe: a reproducible predictive-risk pipeline for local authorities and NHS partners."""

import warnings

__version__ = "0.1.0"

# pandera imports pyspark when the spark extra is installed, and pyspark warns on every import that it
# does not yet support pandas 3; riskpipe's Spark path uses Spark DataFrames only (docs/spark.md)
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
