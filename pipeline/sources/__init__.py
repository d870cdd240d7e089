"""Declarative specs of every source table riskpipe ingests (one module per source)."""
