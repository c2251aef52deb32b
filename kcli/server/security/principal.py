"""Principals, as Kafka's DefaultKafkaPrincipalBuilder makes them, and ``ssl.principal.mapping.rules``.

A connection's principal is ``User:ANONYMOUS`` on PLAINTEXT (and on SSL without a client
certificate), ``User:<name>`` after SASL, and on SSL with a client certificate ``User:`` followed by
the certificate's subject in Java's RFC 2253 form (``CN=alice,OU=eng,O=kcli,C=US``), mapped by
``ssl.principal.mapping.rules`` (Kafka's SslPrincipalMapper: ``RULE:pattern/replacement/[LU]``
entries tried in order, ``DEFAULT`` keeps the DN).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KafkaPrincipal:
    principal_type: str
    name: str

    def __str__(self) -> str:
        return f"{self.principal_type}:{self.name}"

    @classmethod
    def parse(cls, text: str) -> KafkaPrincipal:
        """``User:alice`` (Kafka's SecurityUtils.parseKafkaPrincipal); ValueError otherwise."""
        kind, sep, name = text.partition(":")
        if not sep or not kind or not name:
            raise ValueError(f"expected a string in format principalType:principalName but got {text}")
        return cls(kind, name)


ANONYMOUS = KafkaPrincipal("User", "ANONYMOUS")
WILDCARD = KafkaPrincipal("User", "*")


# --- certificate subjects in Java's X500Principal.getName() (RFC 2253) form ----------------------
#: OIDs Java names by keyword in RFC 2253 output; every other attribute is ``OID=#<DER hex>``.
_JAVA_KEYWORDS = {
    "2.5.4.3": "CN",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.9": "STREET",
    "0.9.2342.19200300.100.1.25": "DC",
    "0.9.2342.19200300.100.1.1": "UID",
}
_UTF8_STRING = 12


def _escape(value: str) -> str:
    out = []
    for i, ch in enumerate(value):
        if ch in ',+"\\<>;' or (i == 0 and ch in "# ") or (i == len(value) - 1 and ch == " "):
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def _der_hex(attribute: object) -> str:
    value = attribute.value.encode()  # type: ignore[attr-defined]
    tag = getattr(getattr(attribute, "_type", None), "value", _UTF8_STRING)
    if len(value) < 128:
        length = bytes([len(value)])
    else:
        raw = len(value).to_bytes((len(value).bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return "#" + (bytes([tag]) + length + value).hex()


def rfc2253_name(der_certificate: bytes) -> str:
    """The subject of a DER certificate as Java prints it (most specific RDN first)."""
    from cryptography import x509

    subject = x509.load_der_x509_certificate(der_certificate).subject
    rdns = []
    for rdn in reversed(list(subject.rdns)):
        parts = []
        for attribute in rdn:
            oid = attribute.oid.dotted_string
            keyword = _JAVA_KEYWORDS.get(oid)
            if keyword is not None:
                parts.append(f"{keyword}={_escape(str(attribute.value))}")
            else:
                parts.append(f"{oid}={_der_hex(attribute)}")
        rdns.append("+".join(parts))
    return ",".join(rdns)


# --- ssl.principal.mapping.rules ----------------------------------------------------------------
_RULE_PATTERN = r"(DEFAULT)|RULE:((?:\\.|[^\\/])*)/((?:\\.|[^\\/])*)/([LU]?).*?|(.*?)"
_RULE_SPLITTER = re.compile(r"\s*(" + _RULE_PATTERN + r")\s*(,\s*|$)")
_RULE_PARSER = re.compile(_RULE_PATTERN)
_BACK_REFERENCE = re.compile(r"\$(\d+)")


class NoMatchingRule(ValueError):
    pass


@dataclass(frozen=True)
class _Rule:
    pattern: re.Pattern[str] | None  # None: DEFAULT
    replacement: str = ""
    case: str = ""

    def apply(self, dn: str) -> str | None:
        if self.pattern is None:
            return dn
        if self.pattern.fullmatch(dn) is None:
            return None
        result = self.pattern.sub(self._python_replacement(), dn)
        if self.case == "L":
            return result.lower()
        if self.case == "U":
            return result.upper()
        return result

    def _python_replacement(self) -> str:
        """Java's ``$1`` back references as Python's ``\\g<1>`` (out-of-range ones stay literal)."""
        assert self.pattern is not None
        groups = self.pattern.groups

        def back_reference(match: re.Match[str]) -> str:
            digits = match.group(1)
            index = int(digits)
            while index > groups and index >= 10:
                index //= 10
                digits = digits[:-1]
            if index > groups or digits.startswith("0"):
                return match.group(0)
            rest = match.group(1)[len(digits) :]
            return f"\\g<{index}>{rest}"

        literal = self.replacement.replace("\\", "\\\\")
        return _BACK_REFERENCE.sub(back_reference, literal)


class SslPrincipalMapper:
    """Kafka's ``ssl.principal.mapping.rules``: the first rule that applies names the principal."""

    def __init__(self, rules: str | None = "DEFAULT"):
        text = (rules if rules is not None else "DEFAULT").strip()
        parsed: list[_Rule] = []
        for match in _RULE_SPLITTER.finditer(text):
            rule = match.group(1)
            m = _RULE_PARSER.match(rule)
            if m is None or m.end() != len(rule):
                raise ValueError(f"Invalid rule: {rule}")
            if m.group(1) is not None:
                parsed.append(_Rule(None))
            elif m.group(2) is not None:
                try:
                    pattern = re.compile(m.group(2))
                except re.error as exc:
                    raise ValueError(f"Invalid rule: {rule} ({exc})") from None
                parsed.append(_Rule(pattern, m.group(3), m.group(4)))
            # anything else is an empty rule, ignored as Kafka does
        self.rules = parsed

    def name(self, dn: str) -> str:
        for rule in self.rules:
            result = rule.apply(dn)
            if result is not None:
                return result
        raise NoMatchingRule(f"No rules apply to {dn}")
