"""Cell styles in the theme's colours, shared by the screens that colour their cells."""

from __future__ import annotations

from textual.dom import DOMNode


def themed(style: str, node: DOMNode) -> str:
    """A cell style with the theme's colours; with NO_COLOR, none at all (a grey of the colour would be grey on
    grey: bold and reverse on the terminal's own colours read better)."""
    theme = node.app.current_theme
    colours = {"$error": theme.error or "red", "$success": theme.success or "green",
               "$warning": theme.warning or "yellow", "$accent": theme.accent or "magenta"}
    if node.app.no_color:
        colours = dict.fromkeys(colours, "")
    for token, colour in colours.items():
        style = style.replace(token, colour)
    return style
