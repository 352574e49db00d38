"""tapecheck's own theme beside Textual's built-in ones: a palette that reads with the common colour blindnesses.

Holds and diverged are blue and orange (Okabe and Ito's palette), never green and red; every signal also has a
word or a mark of its own, so no theme, nor NO_COLOR, hides one. Pick it with `[display] theme` or the command
palette's "Change theme".
"""

from __future__ import annotations

from textual.theme import Theme

COLOUR_BLIND = Theme(
    name="tapecheck-colour-blind",
    primary="#0072B2",  # blue
    secondary="#56B4E9",  # sky blue
    accent="#CC79A7",  # reddish purple
    success="#56B4E9",  # holds, rises: sky blue
    warning="#F0E442",  # stale, slow: yellow
    error="#E69F00",  # diverged, falls, failing: orange
    foreground="#E8E8E8",
    background="#101418",
    surface="#1A2027",
    panel="#232B33",
    dark=True,
)

THEMES = (COLOUR_BLIND,)
