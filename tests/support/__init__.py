"""Helpers shared by the test folders (fakes, the CLI runner). Fixtures are in conftest.py."""
