"""Compatibility tests against the official Pocketenv clients (see ``official_clients``)."""
