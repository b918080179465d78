"""The one error type of the sandbox runtime."""


class SandboxRuntimeError(Exception):
    """A failure of the runtime; ``str()`` is a message fit for an API error body."""
