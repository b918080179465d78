"""The client's namespaces, one per XRPC namespace."""
