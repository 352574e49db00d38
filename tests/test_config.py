"""Config discovery, overrides and validation errors that name the file, key and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.core.config import load_settings, shipped_config_path
from tui.core.model import TapecheckError


def test_shipped_defaults() -> None:
    settings = load_settings()
    assert settings.lang == "en"
    assert settings.staleness.max_age_s("crypto:BTC/USD:last") == 120
    assert settings.staleness.max_age_s("equity:NVDA:last") == 900
    assert settings.files[0] == shipped_config_path()


def test_a_user_file_overrides_only_what_it_names(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[display]\nlang = "zh"\n\n[staleness]\ncrypto = 30\n')
    settings = load_settings(path)
    assert settings.lang == "zh"
    assert settings.staleness.crypto == 30 and settings.staleness.equity == 900


def test_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[display]\nlang = "zh"\n')
    monkeypatch.setenv("TAPECHECK_CONFIG", str(path))
    assert load_settings().lang == "zh"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[display]\nlang = 'fr'\n", "c.toml:2: display.lang = 'fr' must be one of en, zh"),
        ("[staleness]\n\ncrypto = -5\n", "c.toml:3: staleness.crypto = -5 must be a number of seconds from 1 to 31,536,000"),
        ("[staleness]\ncrypto = '10'\n", "c.toml:2: staleness.crypto = '10' must be"),
        ("[display]\ncolour = 'red'\n", "c.toml:2: unknown key display.colour"),
        ("[keys]\nexplode = 'x'\n", "c.toml:2: unknown key keys.explode"),
        ("[display]\nbell = 'yes'\n", "c.toml:2: display.bell = 'yes' must be true or false"),
        ("[sauces]\nhot = true\n", "c.toml:1: unknown section [sauces]"),
        ("[sources.hashrate]\nbase_url = \"ftp://x\"\n", "c.toml:2: sources.hashrate.base_url = 'ftp://x' must be an http"),
        ("[sources.crypto.urls]\nbinance = \"localhost\"\n", "c.toml:2: sources.crypto.urls.binance = 'localhost' must be"),
        ("[sources.equities]\ninterval_s = -60\n", "c.toml:2: sources.equities.interval_s = -60 must be a number of seconds from 0.001 to 86,400"),
        ("[sources.crypto]\nexchanges = []\n", "c.toml:2: sources.crypto.exchanges = [] must be a non-empty list"),
        ("[display\n", "c.toml:1: not valid TOML (expected ']' at the end of a table declaration, at column 9)"),
        ("lang = 'zh'\n", "c.toml:1: unknown key lang outside any section (it belongs under [display])"),
        ("[display]\n\n[dispaly]\nlang = 'zh'\n", "c.toml:3: unknown section [dispaly] (did you mean [display]?)"),
        ("[display]\nlagn = 'zh'\n", "c.toml:2: unknown key display.lagn (did you mean display.lang?)"),
        # numbers past their stated bounds, which used to crash later; URLs that crashed validation itself
        ("[sources.crypto]\ninterval_s = 1e15\n", "c.toml:2: sources.crypto.interval_s = 1000000000000000.0 must be a number of seconds from 0.001 to 86,400"),
        ("[sources.equities]\ninterval_s = inf\n", "c.toml:2: sources.equities.interval_s = inf must be"),
        ("[sources.hashrate]\ninterval_s = nan\n", "c.toml:2: sources.hashrate.interval_s = nan must be"),
        ("[sources.hashrate]\ntimeout_s = 1e9\n", "c.toml:2: sources.hashrate.timeout_s = 1000000000.0 must be a number of seconds from 0.1 to 600"),
        ("[staleness]\nnetwork = 1e300\n", "c.toml:2: staleness.network = 1e+300 must be a number of seconds from 1 to 31,536,000"),
        ("[staleness]\nhistory_days = 99999999\n", "c.toml:2: staleness.history_days = 99999999 must be a whole number of days from 0 to 3650"),
        ("[store]\nretention_days = 99999999\n", "c.toml:2: store.retention_days = 99999999 must be a whole number of days from 1 to 3650"),
        ("[poller]\nbackoff_max_s = inf\n", "c.toml:2: poller.backoff_max_s = inf must be"),
        ("[sources.equities]\nhistory_interval_s = 1e12\n", "c.toml:2: sources.equities.history_interval_s = 1000000000000.0 must be"),
        ('[sources.equities]\nbase_url = "http://[::1"\n', "c.toml:2: sources.equities.base_url = 'http://[::1' must be empty, or"),
        ('[sources.hashrate]\nbase_url = "http://[::1"\n', "c.toml:2: sources.hashrate.base_url = 'http://[::1' must be an http"),
        ('[sources.crypto.urls]\nkraken = "http://h:99999"\n', "c.toml:2: sources.crypto.urls.kraken = 'http://h:99999' must be"),
        ('[sources.hashrate]\nfallback_url = "javascript:alert(1)"\n', "c.toml:2: sources.hashrate.fallback_url = 'javascript:alert(1)' must"),
        ('[sources.hashrate]\nbase_url = "http://h/\\u001b[2J"\n', "c.toml:2: sources.hashrate.base_url = 'http://h/\\x1b[2J' must"),
        ("[display]\nlang = 'en'\n[bogus.x]\na = 1\n", "c.toml:3: unknown section [bogus]"),
        ("[[bogus]]\na = 1\n", "c.toml:1: unknown section [bogus]"),
        # tables where a value stands, and a table of tables' own keys named by the file's path
        ("sources = 5\n", "c.toml:1: [sources] must be a table"),
        ("[sources.crypto]\ncredentials = 5\n", "c.toml:2: [sources.crypto.credentials] must be a table"),
        ("[sources.crypto.credentials]\nkraken = 'k'\n", "c.toml:2: [sources.crypto.credentials.kraken] must be a table"),
        ("[sources.crypto.credentials.kraken]\nkey = 'k'\n", "c.toml:2: unknown key sources.crypto.credentials.kraken.key"),
        ("[sources]\nfoo = 1\n", "c.toml:2: unknown key sources.foo"),
        ("apiKey = 'k'\n", "c.toml:1: unknown key apiKey outside any section (it belongs under [sources.crypto.credentials.*])"),
        ("[keys]\nqiut = 'q'\n", "c.toml:2: unknown key keys.qiut (did you mean keys.quit?)"),
        ("[keys]\nquit = ' '\n", "c.toml:2: keys.quit = ' ' must be one or more keys"),
        ("[narratives]\nmax_claims = 0\n", "c.toml:2: narratives.max_claims = 0 must be a whole number of claims from 1 to 50,000"),
        ("[alerts]\nhysteresis_pct = 51\n", "c.toml:2: alerts.hysteresis_pct = 51 must be a percentage from 0 to 50"),
        ("[collector]\nlinger_s = 0\n", "c.toml:2: collector.linger_s = 0 must be a number of seconds from 1 to 604,800"),
        ("[display.foo]\nx = 1\n", "c.toml:1: unknown section [display.foo]"),
    ],
)
def test_bad_config_names_file_key_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(TapecheckError) as caught:
        load_settings(path)
    assert str(caught.value).startswith(f"{tmp_path}/{message}")
