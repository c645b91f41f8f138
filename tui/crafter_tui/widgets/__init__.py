"""Widgets the crafter screens are built from."""
