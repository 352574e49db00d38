"""Security: TLS verification stays on, credentials are never shown or logged, logs go to a rotating file."""

from __future__ import annotations

import logging
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.core.config import load_settings
from tui.core.logs import BACKUPS, MAX_BYTES, redact, setup_logging
from tui.core.model import TapecheckError

ROOT = Path(__file__).parent.parent
KEY, SECRET = "k3y-AbCdEf0123456789", "s3cr3t-ZyXwVu9876543210"
CREDENTIALS = f'[sources.crypto.credentials.binance]\napiKey = "{KEY}"\nsecret = "{SECRET}"\n'


def test_tls_verification_is_never_turned_off() -> None:
    off = re.compile(r"verify\s*=\s*False|ssl\s*=\s*False|CERT_NONE|check_hostname\s*=\s*False|verify_ssl|"
                     r"impersonate=None|verify\s*:\s*False")
    offenders = [f"{path}:{n}" for path in [*ROOT.glob("tui/**/*.py"), *ROOT.glob("widgets/**/*.py")]
                 for n, line in enumerate(path.read_text().splitlines(), 1) if off.search(line)]
    assert not offenders, offenders


def test_credentials_are_read_and_never_in_a_repr(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(CREDENTIALS)
    path.chmod(0o600)
    settings = load_settings(path)
    assert settings.crypto.credentials == {"binance": {"apiKey": KEY, "secret": SECRET}}
    assert set(settings.secrets()) == {KEY, SECRET}
    assert KEY not in repr(settings) and SECRET not in repr(settings)
    assert settings.warnings == ()


def test_a_bad_credential_is_named_but_not_repeated(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f'[sources.crypto.credentials.binance]\napiKey = "{KEY}"\nsecret = 12345\nnonce = "x"\n')
    with pytest.raises(TapecheckError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert f"{path}:3: sources.crypto.credentials.binance.secret = (hidden) must be a non-empty string" in message
    assert f"{path}:4: unknown key sources.crypto.credentials.binance.nonce" in message
    assert "12345" not in message and KEY not in message


@pytest.mark.parametrize(("mode", "holds_keys", "warned"), [(0o644, True, True), (0o640, True, True),
                                                             (0o600, True, False), (0o644, False, False)])
def test_a_config_with_credentials_readable_by_others_is_warned_about(tmp_path: Path, mode: int, holds_keys: bool,
                                                                       warned: bool) -> None:
    path = tmp_path / "c.toml"
    path.write_text(CREDENTIALS if holds_keys else '[display]\nlang = "en"\n')
    path.chmod(mode)
    warnings = load_settings(path).warnings
    assert bool(warnings) == warned
    if warned:
        assert warnings[0].startswith(f"{path}: holds exchange credentials but other users may read it")
        assert f"chmod 600 {path}" in warnings[0] and KEY not in warnings[0]


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    root = logging.getLogger()
    level, last_resort, raise_exceptions = root.level, logging.lastResort, logging.raiseExceptions
    path = tmp_path / "state" / "tapecheck.log"
    yield path
    logging.raiseExceptions = raise_exceptions
    for handler in list(root.handlers):
        if handler.get_name() == "tapecheck log file":
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    logging.lastResort = last_resort
    logging.captureWarnings(False)


def test_the_log_masks_secrets(log_file: Path) -> None:
    assert setup_logging(log_file, secrets=[KEY, SECRET]) == log_file
    logger = logging.getLogger("tui.test")
    logger.warning("binance said %s for key %s", "HTTP 401", KEY)
    logger.warning("GET /api?apiKey=abc123&symbol=BTC Authorization: Bearer-xyz {\"secret\": \"%s\"}", SECRET)
    try:
        raise RuntimeError(f"signed with {SECRET}")
    except RuntimeError:
        logger.exception("request failed")
    text = log_file.read_text()
    assert "HTTP 401" in text and "request failed" in text and "RuntimeError" in text
    assert KEY not in text and SECRET not in text and "abc123" not in text and "Bearer-xyz" not in text
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600


def test_the_log_rotates(log_file: Path) -> None:
    setup_logging(log_file)
    logger = logging.getLogger("tui.test")
    line = "x" * 1000
    for _ in range((BACKUPS + 2) * MAX_BYTES // 1000):
        logger.warning(line)
    logs = sorted(p.name for p in log_file.parent.iterdir())
    assert logs == ["tapecheck.log", *(f"tapecheck.log.{n}" for n in range(1, BACKUPS + 1))]
    assert all(p.stat().st_size <= MAX_BYTES + 2000 for p in log_file.parent.iterdir())


def test_nothing_logged_reaches_the_terminal(log_file: Path, capfd: pytest.CaptureFixture[str]) -> None:
    setup_logging(log_file)
    root = logging.getLogger()
    others = [h for h in root.handlers if h.get_name() != "tapecheck log file"]
    for handler in others:  # pytest's own capture handlers, which stand in for "no handler" otherwise
        root.removeHandler(handler)
    try:
        logging.getLogger("yfinance").error("['NVDA']: YFPricesMissingError('possibly delisted')")
        logging.getLogger("ccxt.base.exchange").critical("boom")
        logging.getLogger("tui.test").error("a bad format %d", "not a number")  # would print a logging error
        import warnings

        warnings.warn("a library's deprecation chatter", DeprecationWarning, stacklevel=1)
    finally:
        for handler in others:
            root.addHandler(handler)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert "YFPricesMissingError" in log_file.read_text() and "boom" in log_file.read_text()


def test_an_unwritable_log_dir_drops_records_quietly(tmp_path: Path, log_file: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert setup_logging(blocker / "log" / "tapecheck.log") is None
    logging.getLogger("tui.test").error("nowhere to go")


def test_redact_masks_key_value_shapes() -> None:
    assert redact("apiKey=abc&x=1") == "apiKey=***&x=1"
    assert redact('{"secret": "s3"}') == '{"secret": "***"}'
    assert redact("X-MBX-APIKEY: abc def") == "X-MBX-APIKEY: *** def"
    assert redact("price 71200 USD") == "price 71200 USD"
    assert redact(f"key {KEY}", [KEY]) == "key ***"
