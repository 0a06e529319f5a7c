"""Isolation from the developer's machine: home, config, state dir and keyring."""
