"""Who is acting: the OS login, unless ``--user`` (or ``[cockpit] user``) names someone
else, which config.toml's ``[cockpit] act_as`` must allow; a refusal is one sentence, exit
status 1, nothing written."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from intelligentos.cli.main import app
from intelligentos.config.settings import current_user
from intelligentos.services.check import evaluate_store
from intelligentos.store import Store

from .stores import store_content

NOW = datetime(2026, 11, 27, 9, 30)
runner = CliRunner()


def configure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str | None) -> None:
    """A config directory of the test's own (the suite's lets anyone act as anyone)."""
    directory = tmp_path / "own-config"
    directory.mkdir(parents=True)
    if text is not None:
        (directory / "config.toml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("INTELLIGENTOS_CONFIG_DIR", str(directory))


@pytest.fixture
def alert_id(demo_store: Path) -> int:
    with Store.open(demo_store) as store:
        evaluate_store(store, store.read_catalog(), NOW)
        return next(a.id for a in store.open_alerts() if a.needs_attention)


def ack(db: Path, alert_id: int, *user: str):
    args = ["ack", str(alert_id), "--note", "mine", "--db", str(db), *user]
    return runner.invoke(app, args, catch_exceptions=False)


def acked_by(db: Path, alert_id: int) -> str | None:
    with Store.open(db) as store:
        return store.alert(alert_id).acked_by


@pytest.mark.parametrize(
    "config",
    ['[cockpit]\nact_as = ["bob", "ana"]\n', '[cockpit]\nact_as = ["*"]\n'],
    ids=["listed", "anyone"],
)
def test_user_may_name_someone_the_config_allows(
    tmp_path, monkeypatch, demo_store, alert_id, config
):
    configure(tmp_path, monkeypatch, config)
    result = ack(demo_store, alert_id, "--user", "ana")
    assert result.exit_code == 0, result.output
    assert acked_by(demo_store, alert_id) == "ana"


@pytest.mark.parametrize(
    "config", [None, '[cockpit]\nact_as = ["bob"]\n'], ids=["no config", "not listed"]
)
def test_user_naming_someone_not_allowed_is_one_sentence_and_writes_nothing(
    tmp_path, monkeypatch, demo_store, alert_id, config
):
    configure(tmp_path, monkeypatch, config)
    before = store_content(demo_store)
    result = ack(demo_store, alert_id, "--user", "ana")
    assert result.exit_code == 1
    login = current_user()
    assert result.output.strip().splitlines() == [
        "Error: --user ana is not allowed: config.toml's [cockpit] act_as does not list ana; "
        f'add act_as = ["ana"] to its [cockpit] table to let {login} act as ana, or leave '
        f"the name out to act as {login}."
    ]
    assert store_content(demo_store) == before


def test_the_os_login_may_always_act_as_itself(tmp_path, monkeypatch, demo_store, alert_id):
    configure(tmp_path, monkeypatch, '[cockpit]\nact_as = ["bob"]\n')
    assert ack(demo_store, alert_id, "--user", current_user()).exit_code == 0
    assert acked_by(demo_store, alert_id) == current_user()


def test_without_user_the_os_login_acts(tmp_path, monkeypatch, demo_store, alert_id):
    configure(tmp_path, monkeypatch, None)
    assert ack(demo_store, alert_id).exit_code == 0
    assert acked_by(demo_store, alert_id) == current_user()


def test_the_configured_user_needs_act_as_too(tmp_path, monkeypatch, demo_store, alert_id):
    configure(tmp_path, monkeypatch, '[cockpit]\nuser = "ana"\n')
    before = store_content(demo_store)
    result = ack(demo_store, alert_id)
    assert result.exit_code == 1
    assert result.output.startswith(
        "Error: config.toml's [cockpit] user = \"ana\" is not allowed: config.toml's [cockpit] "
        "act_as does not list ana;"
    )
    assert store_content(demo_store) == before
    configure(tmp_path / "then", monkeypatch, '[cockpit]\nuser = "ana"\nact_as = ["ana"]\n')
    assert ack(demo_store, alert_id).exit_code == 0
    assert acked_by(demo_store, alert_id) == "ana"


def test_the_rule_holds_for_other_commands_that_record_who(tmp_path, monkeypatch, demo_store):
    configure(tmp_path, monkeypatch, None)
    before = store_content(demo_store)
    args = ["silence", "add", "--kpi", "win_rate", "--for", "2h", "--note", "CRM migration"]
    result = runner.invoke(app, [*args, "--db", str(demo_store), "--user", "ana"])
    assert result.exit_code == 1
    assert "--user ana is not allowed" in result.output
    assert store_content(demo_store) == before


def test_the_login_is_the_account_not_what_the_environment_says(
    tmp_path, monkeypatch, demo_store, alert_id
):
    import os

    pwd = pytest.importorskip("pwd")  # POSIX: elsewhere the environment's name is the login
    account = pwd.getpwuid(os.getuid()).pw_name
    assert current_user() == account
    configure(tmp_path, monkeypatch, None)
    for name in ("USER", "LOGNAME", "USERNAME"):
        monkeypatch.setenv(name, f"not-{account}")
    before = store_content(demo_store)
    assert ack(demo_store, alert_id, "--user", f"not-{account}").exit_code == 1
    assert store_content(demo_store) == before
    assert ack(demo_store, alert_id).exit_code == 0
    assert acked_by(demo_store, alert_id) == account
