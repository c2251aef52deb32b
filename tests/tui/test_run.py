"""``kcli tui`` refuses a bad ``--command-config`` with one line, before any screen is drawn."""

from __future__ import annotations

from pathlib import Path

import pytest

from kcli.tui.app import run


def test_missing_command_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "client.properties"
    assert run("127.0.0.1:1", str(missing)) == 1
    assert capsys.readouterr().err.strip() == f"kcli tui: {missing} (No such file or directory)"


def test_unknown_client_setting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "client.properties"
    config.write_text("security.protocol=PLAINTEXT\nbogus.key=1\n")
    assert run("127.0.0.1:1", str(config)) == 1
    assert "bogus.key" in capsys.readouterr().err
