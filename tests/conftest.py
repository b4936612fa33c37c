from __future__ import annotations

import os
import tempfile

from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=150, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

# Gateways started by the tests keep their store in a throw-away data directory.
os.environ.setdefault("XDG_DATA_HOME", tempfile.mkdtemp(prefix="tuyameter-test-data-"))
