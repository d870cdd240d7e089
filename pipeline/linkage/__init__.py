"""Record linkage: person records, the model as data, deterministic and Splink passes, clusters, reports."""

from pipeline.linkage.pair import link_pair, parse_mapping

__all__ = ["link_pair", "parse_mapping"]
