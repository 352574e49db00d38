"""Pilot tests of the user's narrative files in a running dashboard: a broken file's notification, hot reload of a
file written while the app runs, drafts left out of the header's count, and the rule console (`:`)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, Static

from tests.conftest import DATA
from tests.pilot import shown, until
from tests.test_user_narratives import BROKEN, VALID, line_of, write
from tui.core.config import load_settings
from tui.core.narratives.claims import load_narratives
from tui.ui.app import TapecheckApp, snapshot_app
from tui.ui.screens.claim import ClaimScreen
from tui.ui.screens.console import ConsoleScreen
from tui.ui.screens.dashboard import DashboardScreen

NOW = datetime(2026, 1, 26, 6, 0, tzinfo=UTC)


def app() -> TapecheckApp:
    settings = load_settings()
    return snapshot_app(settings, load_narratives(user_dirs=settings.narrative_dirs), DATA / "snapshot.jsonl", NOW)


def claim_rows(tapecheck: TapecheckApp, theme: str) -> list[str]:
    dashboard = tapecheck.dashboard
    assert dashboard is not None
    found = dashboard.query(f"#claims-{theme}")
    return [str(key.value) for key in found.first().rows] if found else []  # type: ignore[attr-defined]


async def console_saving(pilot: Pilot[Any], tapecheck: TapecheckApp, expr: str) -> ConsoleScreen:
    """The console, opened with `:`, `expr` typed and Enter pressed: its save form is open."""
    await pilot.press("colon")
    await until(pilot, lambda: isinstance(tapecheck.screen, ConsoleScreen), "the console")
    console = tapecheck.screen
    assert isinstance(console, ConsoleScreen)
    console.query_one("#expr", Input).value = expr
    await pilot.press("enter")
    await until(pilot, lambda: console.query_one("#save-form").display, "the save form")
    return console


async def test_a_broken_user_file_is_notified_and_the_rest_is_shown() -> None:
    write("desk.toml", VALID)
    path = write("zz-broken.toml", BROKEN)
    tapecheck = app()
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await shown(pilot, tapecheck)
        notes = [n for n in tapecheck._notifications if n.title == "A narrative file of yours has problems"]
        assert len(notes) == 1 and f"{path}:{line_of(BROKEN, 'expr =')}: claim broken-bad-rule" in notes[0].message
        await until(pilot, lambda: "desk-btc-above-60k" in claim_rows(tapecheck, "my_desk"), "the user's own panel")


async def test_a_file_written_while_the_app_runs_appears_and_a_draft_is_not_counted() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await shown(pilot, tapecheck)
        assert tapecheck.state is not None
        diverged = tapecheck.state.diverged
        assert "desk-btc-above-60k" not in tapecheck.state.verdicts
        write("desk.toml", VALID)
        await until(pilot, lambda: "desk-btc-above-60k" in claim_rows(tapecheck, "my_desk"), "the new claim on screen")
        state = tapecheck.state
        assert state is not None and state.verdicts["desk-btc-above-60k"].status == "holds"
        assert state.verdicts["desk-btc-above-90k-draft"].status == "diverged"
        assert state.diverged == diverged  # the diverged draft is not counted
        assert "desk-btc-above-90k-draft" in claim_rows(tapecheck, "btc_macro")
        assert any(n.title == "Narratives reloaded" for n in tapecheck._notifications)
        # a changed file: the claim's rule moves and the dashboard follows
        write("desk.toml", VALID.replace("value = 60000", "value = 80000"))
        await until(pilot, lambda: tapecheck.state is not None
                    and tapecheck.state.verdicts["desk-btc-above-60k"].status == "diverged", "the changed rule judged")


async def test_the_console_shows_value_unit_and_series_and_errors_with_the_column() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await shown(pilot, tapecheck)
        await pilot.press("colon")
        await until(pilot, lambda: isinstance(tapecheck.screen, ConsoleScreen), "the console")
        console = tapecheck.screen
        assert isinstance(console, ConsoleScreen)
        reading = console.query_one("#reading", Static)
        console.query_one("#expr", Input).value = "last(crypto:BTC/USD:last) * 11509"
        await until(pilot, lambda: "819M USD" in str(reading.render()), "the value")
        text = str(reading.render())
        assert "unit  USD" in text and "reads crypto:BTC/USD:last" in text and "71,200.00 USD × 11,509" in text
        console.query_one("#expr", Input).value = "last(crypto:BTC/USD:last) * 11509 +"
        await until(pilot, lambda: "column 36" in str(reading.render()), "the parse error")
        assert str(reading.render()).splitlines()[0] == " " * 37 + "^"
        console.query_one("#expr", Input).value = "last(crypto:BTC/USD:last) + last(equity:NVDA:last) * 2 + 1 CNY"
        await until(pilot, lambda: "cannot add" in str(reading.render()), "the unit error")
        await pilot.press("escape")
        assert isinstance(tapecheck.screen, DashboardScreen)


async def test_the_console_saves_a_rule_as_a_claim_that_appears_on_the_dashboard() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await shown(pilot, tapecheck)
        console = await console_saving(pilot, tapecheck, "last(crypto:BTC/USD:last) * 11509")
        assert console.query_one("#claim-value", Input).value == "819,441,000"  # grouped, as the screens say it
        chosen = console.query_one("#claim-theme", Input).value  # a theme that watches BTC/USD, not the first one
        assert "crypto:BTC/USD:last" in next(t for t in tapecheck.narratives.themes if t.id == chosen).watch
        console.query_one("#claim-id", Input).value = "tesla-stack-over-800m"
        console.query_one("#claim-theme", Input).value = "btc_treasuries"
        console.query_one("#claim-summary", Input).value = "Tesla's 11,509 BTC are worth over USD 800 million."
        console.query_one("#claim-value", Input).value = "800000000"
        console.query_one("#claim-summary", Input).focus()
        await pilot.press("enter")
        saved = Path(load_settings().narrative_dirs[0]) / "console.toml"
        await until(pilot, lambda: console.saved == str(saved), "the save")
        await pilot.press("escape")
        await until(pilot, lambda: "tesla-stack-over-800m" in claim_rows(tapecheck, "btc_treasuries"),
                    "the saved claim on the dashboard")
        assert tapecheck.state is not None
        verdict = tapecheck.state.verdicts["tesla-stack-over-800m"]
        assert verdict.status == "holds" and verdict.claim_value == 800_000_000 and verdict.op == ">="
        claim = tapecheck.narratives.claim("tesla-stack-over-800m")
        assert claim.user and claim.derived and claim.rule is not None  # ours: typed in the console
        assert claim.rule.expr == "last(crypto:BTC/USD:last) * 11509"
        tapecheck.open_claim("tesla-stack-over-800m")
        await until(pilot, lambda: isinstance(tapecheck.screen, ClaimScreen) and tapecheck.screen.verdict, "its page")
        assert isinstance(tapecheck.screen, ClaimScreen)
        page = tapecheck.screen.describe().plain
        assert page.count("Tesla's 11,509 BTC are worth over USD 800 million.") == 1  # no Chinese one: said once


async def test_the_console_refuses_an_id_taken_by_a_shipped_claim_and_leaves_no_file() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await shown(pilot, tapecheck)
        console = await console_saving(pilot, tapecheck, "last(crypto:BTC/USD:last)")
        console.query_one("#claim-id", Input).value = "bb-tesla-btc-11509-over-1bn"
        console.query_one("#claim-summary", Input).value = "a duplicate"
        console.query_one("#claim-summary", Input).focus()
        await pilot.press("enter")
        await until(pilot, lambda: any(n.title == "Not saved" for n in tapecheck._notifications), "the refusal")
        note = next(n for n in tapecheck._notifications if n.title == "Not saved")
        assert "is also in 000_baobian_moore_threads.toml" in note.message
        assert note.message.startswith("console.toml:")  # where: the file's name, then its line
        assert not (Path(load_settings().narrative_dirs[0]) / "console.toml").exists()


async def test_a_live_viewer_picks_up_a_new_file_and_judges_it_as_observations_arrive(tmp_path: Path) -> None:
    """LIVE: the store-watch thread notices the file, judges the new claims, and keeps judging them as the
    collector appends (the incremental judgement knows the claims it did not have before)."""
    from datetime import timedelta

    from tests.conftest import obs
    from tui.core.store.sqlite import Store
    from tui.ui.app import live_app

    store = Store(tmp_path / "s.sqlite")
    now = datetime.now(UTC)
    store.append([obs("crypto:BTC/USD:last", 70_000, now - timedelta(seconds=5), "kraken")])
    settings = load_settings()
    tapecheck = live_app(settings, load_narratives(user_dirs=settings.narrative_dirs),
                         Store(store.path, read_only=True))
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await shown(pilot, tapecheck)
        assert tapecheck.state is not None and "desk-btc-above-60k" not in tapecheck.state.verdicts
        write("desk.toml", VALID)
        await until(pilot, lambda: "desk-btc-above-60k" in claim_rows(tapecheck, "my_desk"), "the new claim on screen")
        assert tapecheck.state.verdicts["desk-btc-above-60k"].status == "holds"
        store.append([obs("crypto:BTC/USD:last", 50_000, datetime.now(UTC), "kraken")])  # below the claim's 60,000
        await until(pilot, lambda: tapecheck.state is not None
                    and tapecheck.state.verdicts["desk-btc-above-60k"].status == "diverged", "the new value judged")
    store.close()


async def test_the_console_form_keeps_the_focus_and_says_why_it_does_not_save() -> None:
    """Tab past the last field comes back to the first: what is typed next never reaches the dashboard's keys
    (d, p, s); Enter with an empty id says so in the form; an earlier "Saved to" line goes when a new form opens."""
    tapecheck = app()
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await shown(pilot, tapecheck)
        console = await console_saving(pilot, tapecheck, "last(crypto:BTC/USD:last)")
        fields = console.fields()
        assert [f.id for f in fields] == ["expr", "claim-id", "claim-theme", "claim-summary", "claim-op",
                                          "claim-value"]
        for _ in range(len(fields) + 2):  # round and round the form
            await pilot.press("tab")
            assert console.focused in fields, console.focused
        await pilot.press("shift+tab", "shift+tab", "shift+tab")
        assert console.focused in fields
        console.query_one("#claim-summary", Input).focus()
        await pilot.press("d", "p", "s")  # typed into the summary, not the dashboard's diverged-only, pause, sources
        assert tapecheck.screen is console and console.query_one("#claim-summary", Input).value == "dps"
        assert not any("pause" in n.message.lower() for n in tapecheck._notifications)
        await pilot.press("enter")  # no id yet
        problem = str(console.query_one("#save-problem", Static).render())
        assert problem == "Not saved: give an id: a lower-case slug, e.g. my-btc-above-50k"
        assert console.query_one("#save-form").display and isinstance(console.focused, Input)
        console.saved = "/somewhere/console.toml"  # as after an earlier save
        await pilot.press("escape")
        await pilot.press("enter")  # the form again, for a new claim: the old line goes
        await until(pilot, lambda: console.query_one("#save-form").display, "the form again")
        assert console.saved is None and "Saved to" not in str(console.query_one("#reading", Static).render())
