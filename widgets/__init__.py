"""Reusable Textual widgets. They import neither tui.collect.sources nor tui.ui.app."""
