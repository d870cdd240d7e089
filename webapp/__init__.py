"""riskpipe's web application: early help teams read their lists and record what they did; IG reviewers sign.

A Django project (:mod:`webapp.settings`) with one app, :mod:`webapp.practice`. It reads what the pipeline
wrote under the project root (``RISKPIPE_ROOT``) and writes only the audit and sign-off ledgers (through
:mod:`ethics.ledger_store`) and its own database (accounts, teams, the offers recorded). See docs/webapp.md.
"""
