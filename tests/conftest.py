"""Suite-wide test settings."""

from __future__ import annotations

import os

from hypothesis import settings

# CI runs a fixed, reproducible set of generated examples so a landing never depends on luck;
# locally hypothesis keeps exploring new examples on every run.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
