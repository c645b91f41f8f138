"""Deterministic checks and LLM judges over scenarios and question text."""
