"""The Textual dashboard. Importing this package means a terminal app is about to start."""

import sys
from types import ModuleType

# When click is installed (uvicorn brings it), `import httpx` also imports httpx's command-line
# tool and with it click, pygments and rich.progress: 30-45 ms of the dashboard's start-up for
# code it never runs. An empty placeholder makes httpx take its documented no-CLI fallback. Only
# the dashboard process does this; the SDK (pocketenv_tui.api) leaves httpx untouched.
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", ModuleType("httpx._main"))
