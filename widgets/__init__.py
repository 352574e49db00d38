"""Reusable Textual widgets. They import neither tui.sources nor tui.app."""
