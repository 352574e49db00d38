"""Scrollbars under NO_COLOR: a solid block in whole cells, nothing else.

Textual draws a scrollbar as a coloured track with a coloured thumb whose two ends are partial blocks (▂ ▅ ▏) for
smoothness. Without colour the track and the thumb's body vanish and only those partial blocks stay, as stray
glyphs beside the text. Under NO_COLOR the thumb is drawn as full blocks (█) over a blank track instead: where it
stands still says where the view is and how much of the whole it shows, with no colour and no glyph noise.
"""

from __future__ import annotations

from math import ceil

from rich.color import Color
from rich.segment import Segment, Segments
from rich.style import Style
from textual.scrollbar import ScrollBar, ScrollBarRender

THUMB = "█"
UNUSED = Color.parse("default")  # the colours Textual passes in, which a plain bar does not use


class PlainScrollBarRender(ScrollBarRender):
    """A scrollbar of whole cells: the thumb in full blocks, the track blank; no colour is needed to read it."""

    @classmethod
    def render_bar(cls, size: int = 25, virtual_size: float = 50, window_size: float = 20, position: float = 0,
                   thickness: int = 1, vertical: bool = True, back_color: Color = UNUSED,
                   bar_color: Color = UNUSED) -> Segments:
        width = thickness if vertical else 1
        start, end = thumb_span(size, virtual_size, window_size, position)
        above = Segment(" " * width, Style(meta={"@mouse.down": "scroll_up"}))
        below = Segment(" " * width, Style(meta={"@mouse.down": "scroll_down"}))
        thumb = Segment(THUMB * width, Style(meta={"@mouse.down": "grab"}))
        segments = [thumb if start <= cell < end else above if cell < start else below for cell in range(size)]
        if vertical:
            return Segments(segments, new_lines=True)
        return Segments([*segments, Segment.line()] * thickness, new_lines=False)


def thumb_span(size: int, virtual_size: float, window_size: float, position: float) -> tuple[int, int]:
    """The cells [start, end) the thumb covers on a bar of `size` cells; (0, 0) when nothing scrolls."""
    if not (window_size and size and virtual_size) or virtual_size <= window_size:
        return 0, 0
    length = min(size, max(1, ceil(size * window_size / virtual_size)))
    start = round((size - length) * min(1.0, max(0.0, position / (virtual_size - window_size))))
    return start, start + length


def plain_scrollbars(plain: bool) -> None:
    """Draw every scrollbar of the process plainly (under NO_COLOR), or as Textual does."""
    ScrollBar.renderer = PlainScrollBarRender if plain else ScrollBarRender
