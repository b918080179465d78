"""The XRPC methods this client calls, in one table.

Each entry says how the server expects the call to be made (reference/api.md §1.1): a query is
a GET, a procedure is a POST, and a procedure declared with an ``input`` must carry a JSON body
(``{}`` at least) while one without must carry none. ``ClientMethod`` names the Python method
that wraps the NSID, so a test can prove every served endpoint has one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

NSID_PREFIX = "io.pocketenv."


@dataclass(frozen=True, slots=True)
class Endpoint:
    nsid: str
    method: Literal["GET", "POST"]
    has_input: bool
    namespace: str  # attribute of PocketenvClient holding the wrapper
    client_method: str  # name of the wrapper on that namespace
    extension: bool = False  # served by the local backend only

    @property
    def path(self) -> str:
        return f"/xrpc/{self.nsid}"


def _q(name: str, namespace: str, client_method: str, *, extension: bool = False) -> Endpoint:
    return Endpoint(NSID_PREFIX + name, "GET", False, namespace, client_method, extension)


def _p(name: str, namespace: str, client_method: str, *, has_input: bool, extension: bool = False) -> Endpoint:
    return Endpoint(NSID_PREFIX + name, "POST", has_input, namespace, client_method, extension)


_ALL: tuple[Endpoint, ...] = (
    # actor
    _q("actor.getProfile", "actor", "get_profile"),
    _q("actor.getActorSandboxes", "actor", "get_sandboxes"),
    _q("actor.getTerminalToken", "actor", "get_terminal_token"),
    # sandbox lifecycle
    _p("sandbox.createSandbox", "sandboxes", "create", has_input=True),
    _q("sandbox.getSandbox", "sandboxes", "get"),
    _q("sandbox.getSandboxes", "sandboxes", "catalog"),
    _p("sandbox.claimSandbox", "sandboxes", "claim", has_input=False),
    _p("sandbox.startSandbox", "sandboxes", "start", has_input=True),
    _p("sandbox.stopSandbox", "sandboxes", "stop", has_input=False),
    _p("sandbox.deleteSandbox", "sandboxes", "delete", has_input=False),
    _p("sandbox.exec", "sandboxes", "exec", has_input=True),
    # ports and VS Code
    _p("sandbox.exposePort", "sandboxes", "expose_port", has_input=True),
    _p("sandbox.unexposePort", "sandboxes", "unexpose_port", has_input=True),
    _q("sandbox.getExposedPorts", "sandboxes", "get_exposed_ports"),
    _p("sandbox.exposeVscode", "sandboxes", "expose_vscode", has_input=False),
    # preferences, SSH, Tailscale
    _q("sandbox.getPreferences", "sandboxes", "get_preferences"),
    _p("sandbox.putPreferences", "sandboxes", "put_preferences", has_input=True),
    _q("sandbox.getSshKeys", "sandboxes", "get_ssh_keys"),
    _p("sandbox.putSshKeys", "sandboxes", "put_ssh_keys", has_input=True),
    _q("sandbox.getTailscaleAuthKey", "sandboxes", "get_tailscale_auth_key"),
    _p("sandbox.putTailscaleAuthKey", "sandboxes", "put_tailscale_auth_key", has_input=True),
    # integrations (stubs on the hosted server)
    _p("sandbox.createIntegration", "sandboxes", "create_integration", has_input=True),
    _q("sandbox.getIntegrations", "sandboxes", "get_integrations"),
    # backups and directory copies
    _p("sandbox.createBackup", "backups", "create", has_input=True),
    _q("sandbox.getBackups", "backups", "list"),
    _p("sandbox.restoreBackup", "backups", "restore", has_input=True),
    _p("sandbox.pushDirectory", "sandboxes", "push_directory", has_input=True),
    _p("sandbox.pullDirectory", "sandboxes", "pull_directory", has_input=True),
    # secrets
    _p("secret.addSecret", "secrets", "add", has_input=True),
    _q("secret.getSecrets", "secrets", "list"),
    _q("secret.getSecret", "secrets", "get"),
    _p("secret.updateSecret", "secrets", "update", has_input=True),
    _p("secret.deleteSecret", "secrets", "delete", has_input=False),
    # variables
    _p("variable.addVariable", "variables", "add", has_input=True),
    _q("variable.getVariables", "variables", "list"),
    _q("variable.getVariable", "variables", "get"),
    _p("variable.updateVariable", "variables", "update", has_input=True),
    _p("variable.deleteVariable", "variables", "delete", has_input=False),
    # files
    _p("file.addFile", "files", "add", has_input=True),
    _q("file.getFiles", "files", "list"),
    _q("file.getFile", "files", "get"),
    _p("file.updateFile", "files", "update", has_input=True),
    _p("file.deleteFile", "files", "delete", has_input=False),
    # volumes
    _p("volume.addVolume", "volumes", "add", has_input=True),
    _q("volume.getVolumes", "volumes", "list"),
    _q("volume.getVolume", "volumes", "get"),
    _p("volume.updateVolume", "volumes", "update", has_input=True),
    _p("volume.deleteVolume", "volumes", "delete", has_input=False),
    # services
    _p("service.addService", "services", "add", has_input=True),
    _q("service.getServices", "services", "list"),
    _p("service.updateService", "services", "update", has_input=True),
    _p("service.startService", "services", "start", has_input=False),
    _p("service.stopService", "services", "stop", has_input=False),
    _p("service.restartService", "services", "restart", has_input=False),
    _p("service.deleteService", "services", "delete", has_input=False),
    # local-backend extension: the hosted server answers 404
    _q("service.getServiceLogs", "services", "logs", extension=True),
    _q("sandbox.getShells", "shells", "list", extension=True),
    _p("sandbox.endShell", "shells", "end", has_input=True, extension=True),
    _p("sandbox.execStream", "sandboxes", "exec_stream", has_input=True, extension=True),
    _q("sandbox.getSandboxUsage", "monitoring", "usage", extension=True),
    _q("sandbox.getSandboxEvents", "monitoring", "events", extension=True),
)

ENDPOINTS: dict[str, Endpoint] = {endpoint.nsid: endpoint for endpoint in _ALL}

# Declared by a lexicon but with no handler on the hosted server (it falls through to a 404
# page), so the client deliberately offers no method for them.
UNSERVED_NSIDS: frozenset[str] = frozenset(
    {
        NSID_PREFIX + "sandbox.getTailscaleToken",
        NSID_PREFIX + "sandbox.putTailscaleToken",
        NSID_PREFIX + "sandbox.updateSandboxSettings",
    }
)


def endpoint(nsid: str) -> Endpoint:
    """The table entry for a full NSID (``io.pocketenv.…``) or a short one (``sandbox.exec``)."""
    full = nsid if nsid.startswith(NSID_PREFIX) else NSID_PREFIX + nsid
    try:
        return ENDPOINTS[full]
    except KeyError:
        raise KeyError(f"unknown XRPC method {full!r}") from None
