"""ResourceTabs: one tab per thing a sandbox carries (and its events), for the sandbox screen to mount.

Only the visible tab is polled (an exclusive worker per tab), on activation and then every
``refresh`` seconds; ``[`` and ``]`` switch tabs from anywhere inside.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import TabbedContent, TabPane

from pocketenv_tui.api import PocketenvClient
from pocketenv_tui.api.models import Sandbox
from pocketenv_tui.app.resources.backups import BackupsPane
from pocketenv_tui.app.resources.copy import CopyPane
from pocketenv_tui.app.resources.events import EventsPane
from pocketenv_tui.app.resources.keys import SshKeysPane, TailscalePane
from pocketenv_tui.app.resources.named import SecretsPane, VariablesPane
from pocketenv_tui.app.resources.pane import ResourcePane
from pocketenv_tui.app.resources.provider import ProviderPane, has_provider_settings
from pocketenv_tui.app.resources.records import FilesPane, VolumesPane
from pocketenv_tui.app.resources.services import ServicesPane
from pocketenv_tui.app.resources.shells import ShellsPane

DEFAULT_REFRESH = 5.0

# (tab id, title, pane class); the pane's id is the tab id.
TABS: list[tuple[str, str, type[ResourcePane]]] = [
    ("secrets", "Secrets", SecretsPane),
    ("variables", "Variables", VariablesPane),
    ("files", "Files", FilesPane),
    ("volumes", "Volumes", VolumesPane),
    ("services", "Services", ServicesPane),
    ("shells", "Shells", ShellsPane),
    ("ssh-keys", "SSH keys", SshKeysPane),
    ("tailscale", "Tailscale", TailscalePane),
    ("backups", "Backups", BackupsPane),
    ("copy", "Copy", CopyPane),
    ("events", "Events", EventsPane),
    ("provider", "Provider", ProviderPane),
]


# Titles where the full ones do not fit in one row (80 columns).
SHORT_TITLES = {"variables": "Vars", "volumes": "Vols", "ssh-keys": "SSH", "tailscale": "TS", "events": "Evts",
                "provider": "Prov"}


class ResourceTabs(TabbedContent):
    BINDINGS = [
        Binding("right_square_bracket", "next_tab", "Next tab", id="resources.next"),
        Binding("left_square_bracket", "previous_tab", "Previous tab", id="resources.previous"),
    ]

    def __init__(
        self,
        client: PocketenvClient,
        sandbox: Sandbox,
        *,
        read_only: bool,
        refresh: float | None = None,
        initial: str = "",
        id: str | None = "resource-tabs",
    ) -> None:
        self.client = client
        self.sandbox = sandbox
        self.read_only = read_only
        self.refresh_seconds = refresh
        self.tab_ids = [tab for tab, _, pane in TABS if pane is not ProviderPane or has_provider_settings(sandbox)]
        first = initial.removeprefix("tab-") if initial else self.tab_ids[0]
        super().__init__(initial=f"tab-{first}", id=id)

    def compose(self) -> ComposeResult:
        # TabbedContent builds its tab bar from the children added before its own compose.
        for tab_id, title, pane_class in TABS:
            if tab_id in self.tab_ids:
                pane = pane_class(self.client, self.sandbox, read_only=self.read_only, id=tab_id)
                self.compose_add_child(TabPane(title, pane, id=f"tab-{tab_id}"))
        yield from super().compose()

    def on_mount(self) -> None:
        interval = self.refresh_seconds or getattr(self.app, "refresh_interval", None) or DEFAULT_REFRESH
        self.set_interval(interval, self.reload_active)
        self.call_after_refresh(self.reload_active)

    def use_short_titles(self, short: bool) -> None:
        for tab_id, title, _ in TABS:
            if tab_id in self.tab_ids:
                self.get_tab(f"tab-{tab_id}").label = SHORT_TITLES.get(tab_id, title) if short else title

    def pane(self, tab_id: str) -> ResourcePane:
        return self.query_one(f"#{tab_id}", ResourcePane)

    @property
    def active_pane(self) -> ResourcePane | None:
        active = self.active.removeprefix("tab-")
        return self.pane(active) if active in self.tab_ids else None

    def reload_active(self) -> None:
        pane = self.active_pane
        if pane is not None and pane.is_mounted:
            pane.reload()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.tabbed_content is self:
            self.reload_active()

    def show_tab(self, tab_id: str) -> None:
        """Switch to ``tab_id`` and put the keyboard in it."""
        self.active = f"tab-{tab_id}"
        pane = self.pane(tab_id)
        self.call_after_refresh(pane.focus_main)

    def _step(self, offset: int) -> None:
        current = self.active.removeprefix("tab-")
        index = self.tab_ids.index(current) if current in self.tab_ids else 0
        self.show_tab(self.tab_ids[(index + offset) % len(self.tab_ids)])

    def action_next_tab(self) -> None:
        self._step(1)

    def action_previous_tab(self) -> None:
        self._step(-1)
