"""JAAS login configuration, as Kafka reads it: ``sasl.jaas.config`` values and JAAS files.

A value is ``<LoginModule class> <flag> key="value" key2=value2;`` (one or more modules). A file
(``-Djava.security.auth.login.config=FILE`` in ``KAFKA_OPTS``, the lecture-era way) holds sections
``Name { module flag options; };`` - the broker reads ``KafkaServer``, or
``<listener name lower case>.KafkaServer`` for one listener. The parser follows Java's
ConfigFile syntax closely enough that a file that works with Kafka works here; anything it cannot
read is a :class:`JaasError` naming what is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

PLAIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule"
SCRAM_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule"
_FLAGS = ("required", "requisite", "sufficient", "optional")


class JaasError(ValueError):
    pass


@dataclass
class LoginModule:
    class_name: str
    flag: str
    options: dict[str, str] = field(default_factory=dict)


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<comment>//[^\n]*|/\*.*?\*/|\#[^\n]*)
      | "(?P<quoted>(?:[^"\\]|\\.)*)"
      | (?P<punct>[{};=])
      | (?P<word>[^\s{};="]+)
    )""",
    re.VERBOSE | re.DOTALL,
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            if text[pos:].strip() == "":
                break
            raise JaasError(f"cannot read JAAS text near '{text[pos : pos + 20]}'")
        pos = match.end()
        if match.group("comment") is not None:
            continue
        if match.group("quoted") is not None:
            out.append(("str", re.sub(r"\\(.)", r"\1", match.group("quoted"))))
        elif match.group("punct") is not None:
            out.append(("punct", match.group("punct")))
        elif match.group("word") is not None:
            out.append(("word", match.group("word")))
    return out


def _modules(tokens: list[tuple[str, str]], pos: int, end_punct: str | None) -> tuple[list[LoginModule], int]:
    modules: list[LoginModule] = []
    while pos < len(tokens):
        kind, value = tokens[pos]
        if end_punct is not None and (kind, value) == ("punct", end_punct):
            return modules, pos + 1
        if kind != "word":
            raise JaasError(f"expected a login module class name, found '{value}'")
        class_name = value
        if pos + 1 >= len(tokens) or tokens[pos + 1][1].lower() not in _FLAGS:
            raise JaasError(
                f"login module {class_name} needs a control flag (required, requisite, sufficient or optional)"
            )
        module = LoginModule(class_name, tokens[pos + 1][1].lower())
        pos += 2
        while True:
            if pos >= len(tokens):
                raise JaasError(f"login module {class_name}: missing ';' at the end")
            kind, value = tokens[pos]
            if (kind, value) == ("punct", ";"):
                pos += 1
                break
            if kind not in ("word", "str") or pos + 2 >= len(tokens) or tokens[pos + 1] != ("punct", "="):
                raise JaasError(f"login module {class_name}: expected key=value options, found '{value}'")
            if tokens[pos + 2][0] not in ("word", "str"):
                raise JaasError(f"login module {class_name}: option {value} has no value")
            module.options[value] = tokens[pos + 2][1]
            pos += 3
        modules.append(module)
    if end_punct is not None:
        raise JaasError(f"missing '{end_punct}'")
    return modules, pos


def parse_jaas_config(value: str) -> list[LoginModule]:
    """A ``sasl.jaas.config`` value: one or more login modules, each ending with ``;``."""
    modules, _ = _modules(_tokens(value), 0, None)
    if not modules:
        raise JaasError("no login module")
    return modules


def parse_jaas_file(path: str | Path) -> dict[str, list[LoginModule]]:
    """A JAAS file's sections by name."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise JaasError(f"cannot read JAAS file {path}: {exc.strerror or exc}") from None
    tokens = _tokens(text)
    sections: dict[str, list[LoginModule]] = {}
    pos = 0
    while pos < len(tokens):
        kind, name = tokens[pos]
        if kind != "word" or pos + 1 >= len(tokens) or tokens[pos + 1] != ("punct", "{"):
            raise JaasError(f"JAAS file {path}: expected 'SectionName {{', found '{name}'")
        modules, pos = _modules(tokens, pos + 2, "}")
        if pos < len(tokens) and tokens[pos] == ("punct", ";"):
            pos += 1
        sections[name] = modules
    return sections


def login_config_file(kafka_opts: str) -> str | None:
    """The file named by ``-Djava.security.auth.login.config=FILE`` in ``KAFKA_OPTS``, if any."""
    match = re.search(r"-Djava\.security\.auth\.login\.config=(\"[^\"]*\"|\S+)", kafka_opts or "")
    return match.group(1).strip('"') if match else None
