"""Shared test support: model generators, the naive reference search, CLI runners, fixtures (see ARCHITECTURE.md "Tests")."""
