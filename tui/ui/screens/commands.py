"""Command palette (Ctrl+P) entries: open any claim or series, or jump to any theme's panel."""

from __future__ import annotations

from functools import partial

from textual.command import Hit, Hits, Provider

from tui.ui.messages import ClaimChosen, SeriesChosen, ThemeChosen
from tui.ui.viewer import viewer_of


class TapecheckCommands(Provider):
    """Searches theme titles, claim ids and summaries, and series ids."""

    async def search(self, query: str) -> Hits:
        viewer, post = viewer_of(self.app), self.app.post_message
        matcher = self.matcher(query)
        narratives = viewer.narratives
        for number, theme in enumerate(narratives.themes, start=1):
            title = theme.title_zh if viewer.lang == "zh" else theme.title
            text = f"Theme {number}: {title}"
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(post, ThemeChosen(number)), help="jump to panel")
        for claim in narratives.claims:
            text = f"Claim {claim.id}: {claim.summary_zh if viewer.lang == 'zh' else claim.summary}"
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(post, ClaimChosen(claim.id)), help=str(claim.kind))
        read = {s for c in narratives.claims for s in c.series}
        series = sorted(read | {s for t in narratives.themes for s in t.watch})
        for name in series:
            text = f"Series {name}"
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(post, SeriesChosen(name)), help="open the series")
