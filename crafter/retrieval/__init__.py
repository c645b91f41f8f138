"""Corpus loading, the index and retrievers."""
