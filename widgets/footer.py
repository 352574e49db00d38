"""Textual's Footer, composed again only when the keys it shows change.

Textual's Footer removes and mounts all its keys again whenever the screen's bindings may have changed: on
every change of focus, and on every `refresh_bindings`. Each new key is styled twice as it mounts (its
`compact` starts True and is then bound to the footer's False), and on a screen of many widgets each styling
costs. This footer composes again only when what it would show differs from what it shows (key, label,
enabled, tooltip), and gives its keys their `compact` before they mount. It looks the same.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer as TextualFooter
from textual.widgets._footer import FooterKey  # pinned: textual>=8.2,<9 (pyproject.toml)

Shown = tuple[tuple[str, str, str, str, bool, str], ...]


class Footer(TextualFooter):
    """A Footer that keeps its keys while the bindings it shows stay the same."""

    _shown: Shown | None = None

    def compose(self) -> ComposeResult:
        self._shown = self._bindings_shown(self.screen) if self._bindings_ready else None
        for widget in super().compose():
            if isinstance(widget, FooterKey) and not widget.has_class("-command-palette"):  # (not bound: compact)
                widget.set_reactive(FooterKey.compact, self.compact)  # bound to it: no restyle as it mounts
            yield widget

    def bindings_changed(self, screen: Screen[object]) -> None:
        if self._shown is not None and self.is_attached and screen is self.screen \
                and self._bindings_shown(screen) == self._shown:
            return
        super().bindings_changed(screen)

    def _bindings_shown(self, screen: Screen[object]) -> Shown:
        """What the keys would show now: each shown binding's key as displayed, action, label, group, whether
        it is enabled, its tooltip; and the command palette's key."""
        app = self.app
        shown = [(app.get_key_display(binding), binding.action, binding.description,
                  binding.group.description if binding.group else "", enabled, tooltip)
                 for _, binding, enabled, tooltip in screen.active_bindings.values() if binding.show]
        if self.show_command_palette and app.ENABLE_COMMAND_PALETTE:
            palette = screen.active_bindings.get(app.COMMAND_PALETTE_BINDING)
            if palette is not None:
                _, binding, enabled, tooltip = palette
                shown.append((app.get_key_display(binding), binding.action, binding.description, "palette",
                              enabled, tooltip))
        return tuple(shown)
