"""Jeddah knowledge: schema, YAML loader, store, search and opening hours."""
