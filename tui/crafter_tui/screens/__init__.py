"""The screens of the crafter TUI."""
