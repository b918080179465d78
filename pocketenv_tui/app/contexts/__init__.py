"""Which API the dashboard talks to: ``resolve`` (the default resolution, and starting or
reusing the local backend), ``file`` (named contexts in ``contexts.json``), ``catalog`` (every
context by name, for ``:ctx``, the picker and ``--context``) and ``health`` (a context's
reachability and latency, for the picker)."""
