"""One module per command (two for `declare`: declare and adopt), each with the
interface of `driftguard_cli.commands._common.Command`; `driftguard_cli.main`
holds the list."""
