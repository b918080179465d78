"""The sandbox's resource tabs: secrets, variables, files, volumes, services, shells, SSH
keys, Tailscale, backups, copy and provider settings. ``ResourceTabs`` is the widget to mount."""

from pocketenv_tui.app.resources.tabs import TABS, ResourceTabs

__all__ = ["TABS", "ResourceTabs"]
