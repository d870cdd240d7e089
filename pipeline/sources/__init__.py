"""Every source riskpipe reads: one module per source declaring ``SOURCE`` (see ``registry.py``), and the
vocabulary of table specs (columns, types, code lists, privacy actions), readers and validators."""
