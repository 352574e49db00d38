"""Textual's Footer, built again only when the keys it shows change.

Textual's Footer removes and mounts all its keys each time its screen's bindings are announced: on every
return to a screen, every change of focus. Each key mounted has its styles worked out twice, so that costs a
screen switch more than drawing the screen (tens of ms on a slow machine, while the key that asked waits).
Here the keys shown are compared first, and when they are the ones already shown nothing is rebuilt.
"""

from __future__ import annotations

from typing import Any

from textual.widgets import Footer


class KeyFooter(Footer):
    """A Footer that is composed again only when what it would show differs from what it shows."""

    _shown: tuple[Any, ...] | None = None

    def _keys(self) -> tuple[Any, ...]:
        """What compose would show: each binding shown with its key as displayed, whether it is enabled, and its
        tooltip and group; the command palette's key; whether the bindings are ready at all."""
        if not self._bindings_ready:
            return ()
        app = self.app
        keys = tuple((binding.key, app.get_key_display(binding), binding.action, binding.description, binding.show,
                      binding.group, binding.tooltip, enabled, tooltip)
                     for _, binding, enabled, tooltip in self.screen.active_bindings.values()
                     if binding.show or binding.key == app.COMMAND_PALETTE_BINDING)
        return (True, self.show_command_palette, app.ENABLE_COMMAND_PALETTE, keys)

    async def recompose(self) -> None:
        if not self.is_attached:
            return
        keys = self._keys()
        if keys == self._shown:
            return
        self._shown = keys
        await super().recompose()
