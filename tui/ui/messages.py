"""The dashboard's messages: what a worker reports and what a screen asks of the app, as data with past-tense
names. A message that a newer one of its kind makes moot says so in `can_replace`; the ones that carry alerts
(a state's new alerts, an acknowledgement) are never coalesced."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from tui.core.judge.engine import DashboardState
from tui.core.narratives.claims import Narratives


@dataclass
class StateBuilt(Message):
    """A new DashboardState, built off the event loop. Never coalesced: each carries its own new alerts and flips.
    `feed`: the feed that built it (None: the one in force); one left behind by a switch (D) is not shown."""

    state: DashboardState
    feed: object = None


@dataclass
class NarrativesReloaded(Message):
    """The user's narrative files changed and were read again; the engine judges these from now on."""

    narratives: Narratives
    before: Narratives


@dataclass
class StoreUnreadable(Message):
    """Building a state from the store failed; the last state stays on screen."""

    problem: str

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StoreUnreadable) and message.problem == self.problem  # said once is enough


@dataclass
class PanelsShown(Message):
    """The panels were mounted and filled for the first time: the first frame is on its way to the screen."""


@dataclass
class PanelsPainted(Message):
    """The panels in view were painted for the first time (the others may still be mounting): judging may start."""


@dataclass
class ClaimChosen(Message):
    """The user chose a claim (a row, the palette, the Articles screen): its page opens."""

    claim_id: str


@dataclass
class SeriesChosen(Message):
    """The user chose a series: its page opens."""

    series: str


@dataclass
class ThemeChosen(Message):
    """The user chose a theme in the palette: back to the dashboard, on its panel."""

    number: int

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ThemeChosen)  # the panel chosen last is the one to show


@dataclass
class AlertAcknowledged(Message):
    """The user acknowledged an alert (`through`: and every alert before it). Never coalesced."""

    alert_id: int
    through: bool = False
