"""Unit test: the broker takes its error codes from kio's copy of Kafka's error table (issue
12), never from numbers typed into each module (the same code used to be defined six times
over). Scans every module of kcli (the broker, the shared protocol package, the tools, the TUI:
all but the REST Proxy's and the registry's, whose ``error_code`` values are Confluent's HTTP-style
codes, not Kafka's) for error-code constants (``NAME = 35`` or an
exception's ``error_code = 35``), ``error_code`` entries and TopicError calls written as number
literals (0, "no error", excepted)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from kio.schema.errors import ErrorCode

import kcli

KCLI = Path(kcli.__file__).parent
CONFLUENT_HTTP_CODES = ("rest_proxy", "schema_registry")  # {"error_code": 40401, ...} is Confluent's
MODULES = sorted(p for p in KCLI.rglob("*.py") if p.relative_to(KCLI).parts[0] not in CONFLUENT_HTTP_CODES)
ERROR_NAMES = {member.name.upper() for member in ErrorCode}


def _number(node: ast.AST) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return isinstance(node, ast.Constant) and isinstance(node.value, int) and node.value != 0


def typed_error_codes(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None and _number(node.value):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [
                t.id
                for t in targets
                if isinstance(t, ast.Name) and (t.id in ERROR_NAMES or t.id.endswith("error_code"))
            ]
            found += [f"{path.name}:{node.lineno} {n} = number" for n in names]
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and str(key.value).endswith("error_code") and _number(value):
                    found.append(f"{path.name}:{node.lineno} {key.value!r}: number")
        elif isinstance(node, ast.Call):
            found += [
                f"{path.name}:{node.lineno} {k.arg}=number"
                for k in node.keywords
                if k.arg is not None and k.arg.endswith("error_code") and _number(k.value)
            ]
            callee = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            if (
                callee in ("TopicError", "ControllerError", "AppendError")
                and node.args
                and _number(node.args[0])
            ):
                found.append(f"{path.name}:{node.lineno} {callee}(number, ...)")
    return found


def test_the_scan_sees_constants_and_class_attributes(tmp_path: Path) -> None:
    """The forms the issue-17 review found: a constant named after the error, and an
    exception's ``error_code`` class attribute, each with a bare number."""
    module = tmp_path / "m.py"
    module.write_text(
        "UNSUPPORTED_VERSION = 35\n"
        "class E(Exception):\n    error_code = 45\n"
        "class F(Exception):\n    error_code: int = 1\n"
        "OK = int(35)\nNAME_LENGTH = 249\n"
    )
    assert typed_error_codes(module) == [
        "m.py:1 UNSUPPORTED_VERSION = number",
        "m.py:3 error_code = number",
        "m.py:5 error_code = number",
    ]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(KCLI)))
def test_error_codes_come_from_kios_table(path: Path) -> None:
    assert typed_error_codes(path) == []
