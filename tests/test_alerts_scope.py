"""What the collector judges, and when: after a write, only the claims and alert rules that read what it wrote;
every claim and rule within a quarter of the shortest staleness, and again as a cooldown ends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import obs
from tests.test_alerts import BTC, RULE, START, TESLA, settings_with
from tests.test_collector import TickingSource, planned, until_true
from tui.collect.alerting import JUDGE_EVERY_MAX_S, JUDGE_EVERY_S, Alerting, asset, judge_every_s
from tui.core.config import load_settings
from tui.core.narratives.claims import load_narratives
from tui.core.store.sqlite import Store

UNREAD = "crypto:XMR/USD:last"  # a series no shipped claim reads


def test_a_write_judges_again_only_the_claims_that_read_it(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    narratives = load_narratives()
    alerting = Alerting(load_settings(), narratives, store)
    store.append([obs(BTC, 100_000, START, "kraken")])
    alerting.judge_now(START)
    first = dict(alerting.verdicts)
    assert set(first) == {c.id for c in narratives.claims}  # the first judgement: every claim
    assert not any(asset(UNREAD) in {asset(s) for s in c.series} for c in narratives.claims)

    store.append([obs(UNREAD, 150, START + timedelta(seconds=10), "kraken")])
    assert alerting.judge_now(START + timedelta(seconds=10), {asset(UNREAD)}) == []
    assert all(alerting.verdicts[k] is v for k, v in first.items())  # nothing read it: nothing judged again

    store.append([obs(BTC, 100_001, START + timedelta(seconds=20), "kraken")])
    alerting.judge_now(START + timedelta(seconds=20), {asset(BTC)})
    again = {k for k, v in first.items() if alerting.verdicts[k] is not v}
    reading = {c.id for c in narratives.claims if asset(BTC) in {asset(s) for s in c.series}}
    assert TESLA in again and again == reading  # the claims reading BTC, and only those
    assert alerting.verdicts[TESLA].live_value == pytest.approx(100_001 * 11509)  # the value written
    store.close()


def test_an_alert_rule_is_judged_on_the_writes_it_reads(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    alerting = Alerting(settings_with(tmp_path, RULE.format(settings="cooldown_s = 0")), load_narratives(), store)
    store.append([obs(BTC, 80_000, START, "kraken")])
    alerting.judge_now(START)  # not met: the baseline
    later = START + timedelta(seconds=10)
    store.append([obs(BTC, 60_000, later, "kraken")])
    assert [a for a in alerting.judge_now(later, {asset(UNREAD)}) if a.kind == "rule"] == []  # not what it reads
    [met] = [a for a in alerting.judge_now(later, {asset(BTC)}) if a.kind == "rule"]
    assert met.line.startswith("BTC under 70k: clear → met")
    store.close()


def test_every_claim_is_judged_within_a_quarter_of_the_shortest_staleness(tmp_path: Path) -> None:
    assert judge_every_s(load_settings()) == JUDGE_EVERY_MAX_S  # crypto stale after 120 s: every 30 s
    assert judge_every_s(settings_with(tmp_path, "[staleness]\ncrypto = 60\n")) == 15
    assert judge_every_s(settings_with(tmp_path, "[staleness]\nnetwork = 2\n")) == JUDGE_EVERY_S


def test_a_change_held_back_by_a_cooldown_is_judged_again_as_it_ends(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    alerting = Alerting(settings_with(tmp_path, RULE.format(settings="cooldown_s = 300")), load_narratives(), store)
    store.append([obs(BTC, 80_000, START, "kraken")])
    alerting.judge_now(START)
    assert alerting.judge is not None and alerting.judge.cooldown_ends() is None  # nothing waits
    at = START + timedelta(seconds=10)
    store.append([obs(BTC, 60_000, at, "kraken")])
    assert [a.kind for a in alerting.judge_now(at)].count("rule") == 1  # met, alerted
    assert alerting.judge.cooldown_ends() is None  # alerted as it is: nothing waits
    back = at + timedelta(seconds=10)
    store.append([obs(BTC, 80_000, back, "kraken")])
    assert [a for a in alerting.judge_now(back) if a.kind == "rule"] == []  # cleared within the cooldown: held
    assert alerting.judge.cooldown_ends() == at + timedelta(seconds=300)  # and judged again when it ends
    store.close()


async def test_a_poll_whose_values_no_claim_reads_judges_nothing_again(tmp_path: Path) -> None:
    from tui.collect.collector import Collector

    store = Store(tmp_path / "s.sqlite")
    store.append([obs(BTC, 100_000, datetime.now(UTC), "kraken")])
    source = TickingSource(UNREAD, 150)  # every answer a value of a series no claim reads
    job = Collector(load_settings(), load_narratives(), store, planned(source, 0.05), lambda _line: None)  # type: ignore[arg-type]
    judged: list[set[str] | None] = []
    judge_now = job.alerting.judge_now

    def recording(now: datetime, written: set[str] | None = None) -> list[object]:
        judged.append(None if written is None else set(written))
        return judge_now(now, written)  # type: ignore[return-value]

    job.alerting.judge_now = recording  # type: ignore[assignment,method-assign]
    stop = asyncio.Event()
    running = asyncio.create_task(job.run(stop))
    await until_true(lambda: judged[:1] == [None] and any(judged[1:]), "a judgement after a poll")
    first = dict(job.alerting.verdicts)
    await until_true(lambda: sum(1 for w in judged if w) >= 3, "more polls judged")
    stop.set()
    await running
    assert all(w == {asset(UNREAD)} for w in judged[1:] if w is not None)  # what was written, nothing else
    assert len(first) == len(load_narratives().claims)
    if None not in judged[1:]:  # no judgement of everything came meanwhile (a loaded machine: it may)
        assert all(job.alerting.verdicts[k] is v for k, v in first.items())  # no claim was judged again
    store.close()
