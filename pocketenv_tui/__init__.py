"""pocketenv-tui: a terminal dashboard for Pocketenv sandboxes."""

__version__ = "0.1.0"
