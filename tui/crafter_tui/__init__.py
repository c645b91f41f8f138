"""The Textual TUI for crafter."""
