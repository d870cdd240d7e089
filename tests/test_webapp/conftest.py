"""Fixtures for the web app tests: a tiny trained project with a DRAFT list, and Django pointed at it.

The project is tests/test_ethics/conftest.py's (features, model, evaluation outputs and the in-memory
MLflow stand-in); ``riskpipe govern`` and ``riskpipe score`` run on it through the CLI, so the app reads
the files the pipeline really writes. The database is SQLite unless $DATABASE_URL names PostgreSQL
(``.ci/run`` starts a throwaway cluster and sets it); pytest-django makes and drops the test database.
"""

from __future__ import annotations

import os
import sys
import tempfile

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.core import config as core_config
from tests.test_ethics.conftest import MODEL, FakeTracking, preregister_fixture, write_project

# the settings module reads these at import: keep its folders out of the working tree
os.environ.setdefault("RISKPIPE_ROOT", tempfile.mkdtemp(prefix="riskpipe-webapp-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make there are still
# synchronous, so Django's guard against async contexts is lifted for the tests only
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
import django  # noqa: E402 - after the environment above

django.setup()


def run_cli(root, *args):
    result = CliRunner().invoke(app, [*args, "--params", str(root / "params.yaml"), "--root", str(root)])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def pipeline_project(tmp_path_factory):
    """The ethics fixture project, governed (a release to sign), carded and scored (a DRAFT list of 20 children)."""
    root = tmp_path_factory.mktemp("project")
    with pytest.MonkeyPatch.context() as mp:
        for name in ("RISKPIPE_PSEUDO_KEY", "RISKPIPE_LEDGER_KEY", "MLFLOW_TRACKING_URI"):
            mp.delenv(name, raising=False)
        handles = write_project(root)
        specs = root / "specs"
        specs.mkdir()
        (specs / f"{MODEL}.yaml").write_text("name: m1\n")
        mp.setattr(core_config, "MODEL_SPECS_DIR", specs)
        fake = FakeTracking(handles["model"])
        mp.setitem(sys.modules, "pipeline.core.tracking", fake)
        import pipeline

        mp.setattr(pipeline, "tracking", fake, raising=False)
        preregister_fixture(root)
        for command in ("govern", "card", "score"):
            run_cli(root, command, "--model", MODEL)
        yield {**handles, "tracking": fake}


@pytest.fixture
def web(pipeline_project, settings, db):
    """Django pointed at the project, with the demo teams and accounts; ``passwords`` by username."""
    from webapp.practice.management.commands.demo_users import make_demo_users

    settings.RISKPIPE_ROOT = pipeline_project["root"]
    settings.RISKPIPE_PARAMS = None
    settings.RISKPIPE_OFFERS_FILE = None
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast sign-in in tests
    settings.ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
    return {**pipeline_project, "passwords": make_demo_users([MODEL])}
