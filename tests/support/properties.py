"""How hard the property tests search.

`thorough` in `make test` (and so in CI); `quick` by default, so the fast tier
(`pytest -m "not sandbox"`) stays fast. The HYPOTHESIS_PROFILE variable picks one.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("thorough", max_examples=150, deadline=None)
settings.register_profile("quick", max_examples=40, deadline=None)

PROPERTIES = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "quick"))
