"""Code that runs inside a local sandbox (standard library only; bound read-only at /.pocketenv)."""
