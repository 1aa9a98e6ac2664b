"""driftguard's command line (`driftguard`, entry point `driftguard_cli.main:main`).

Not part of the Lambda layer: the functions never import it, and its own
dependencies (rich, jinja2) are not shipped there."""
