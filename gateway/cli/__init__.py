"""The `yhteys` command line (`gateway.cli.main`)."""

__all__: list[str] = []
