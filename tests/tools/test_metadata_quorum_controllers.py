"""Unit tests of kafka-metadata-quorum's add-controller/remove-controller option handling (no
cluster: each bad input ends in one line and exit code 1 before anything is sent, and
``--dry-run`` prints what would be asked). The requests themselves are exercised on real
processes in tests/server/cluster/test_controller_add_remove.py."""

from __future__ import annotations

from pathlib import Path

from kcli.tools.metadata_quorum import main, new_controller

DIRECTORY_ID = "AAAAAAAAAAAAAAAAAAAAAg"


def controller_properties(tmp_path: Path, **extra: str) -> Path:
    log_dir = tmp_path / "meta"
    log_dir.mkdir(exist_ok=True)
    (log_dir / "meta.properties").write_text(f"version=1\nnode.id=2\ndirectory.id={DIRECTORY_ID}\n")
    props = {
        "node.id": "2",
        "process.roles": "controller",
        "listeners": "CONTROLLER://127.0.0.1:19093",
        "controller.listener.names": "CONTROLLER",
        "log.dirs": str(log_dir),
        **extra,
    }
    path = tmp_path / "controller.properties"
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    return path


def test_the_new_controller_is_read_from_its_own_properties(tmp_path):
    path = controller_properties(tmp_path, **{"advertised.listeners": "CONTROLLER://ctl2:19093"})
    assert new_controller(str(path)) == (2, DIRECTORY_ID, "CONTROLLER", ("ctl2", 19093))


def test_dry_run_prints_what_would_be_asked(tmp_path, capsys):
    path = controller_properties(tmp_path)
    args = [
        "--bootstrap-controller",
        "127.0.0.1:1",
        "add-controller",
        "--command-config",
        str(path),
        "--dry-run",
    ]
    assert main(args) == 0
    assert capsys.readouterr().out.strip() == (
        f"DRY RUN of adding controller 2 with directory id {DIRECTORY_ID} and endpoints: CONTROLLER://127.0.0.1:19093"
    )


def test_bad_input_is_one_line(tmp_path, capsys):
    path = controller_properties(tmp_path)
    cases = [
        (["--bootstrap-controller", "127.0.0.1:1", "add-controller"],
         "You must supply the configuration file of the controller you are adding when using add-controller."),
    ]  # fmt: skip
    for argv, message in cases:
        assert main(argv) == 1
        assert capsys.readouterr().err.strip() == message
    (tmp_path / "b").mkdir()
    broker = controller_properties(tmp_path / "b", **{"process.roles": "broker"})
    assert (
        main(["--bootstrap-controller", "127.0.0.1:1", "add-controller", "--command-config", str(broker)])
        == 1
    )
    assert "does not describe a controller" in capsys.readouterr().err
    (tmp_path / "meta" / "meta.properties").write_text("version=1\nnode.id=2\n")
    assert (
        main(["--bootstrap-controller", "127.0.0.1:1", "add-controller", "--command-config", str(path)]) == 1
    )
    err = capsys.readouterr().err
    assert err.startswith("No directory.id found in") and len(err.strip().splitlines()) == 1
    # nobody listening: one line, no traceback
    argv = ["--bootstrap-controller", "127.0.0.1:1", "remove-controller", "--controller-id", "2",
            "--controller-directory-id", DIRECTORY_ID]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
