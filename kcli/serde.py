"""Kafka's Java (de)serializers by class name, with the same byte-level behaviour.

Lecture commands name Java classes (``--property value.deserializer=org.apache.kafka.common.
serialization.LongDeserializer``); the bytes on the wire are whatever a Java producer wrote: numbers
big-endian, strings UTF-8, UUIDs as their 36-character text. Each deserializer here maps
``bytes | None`` to the text the Java console consumer prints (``Object.toString()`` of the
deserialized value), so output matches character for character, including Java's rendering of
doubles (``1.0E10``, ``NaN``, ``Infinity``).

Two deliberate differences from the JVM, both where Java prints something useless:
``ByteArrayDeserializer`` prints the bytes themselves (Java prints ``[B@1b6d3586``), and a null
key/value prints the formatter's ``null.literal`` for every deserializer.
"""

from __future__ import annotations

import math
import struct
import uuid
from collections.abc import Callable

Deserializer = Callable[[bytes | None], str | None]

_PKG = "org.apache.kafka.common.serialization."


class SerdeError(ValueError):
    """Bytes that the chosen Java deserializer would reject (Kafka's SerializationException)."""


def _fixed(name: str, size: int, fmt: str, render: Callable[[float | int], str]) -> Deserializer:
    def deserialize(data: bytes | None) -> str | None:
        if data is None:
            return None
        if len(data) != size:
            raise SerdeError(f"Size of data received by {name} is not {size}")
        return render(struct.unpack(fmt, data)[0])

    return deserialize


def java_double_to_string(value: float) -> str:
    """``Double.toString``: shortest round-trip digits, scientific outside [1e-3, 1e7)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return _java_decimal(repr(value), value)


def java_float_to_string(value: float) -> str:
    """``Float.toString`` for a float32: shortest digits that read back as the same float32."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    packed = struct.pack(">f", value)
    digits = repr(value)
    for precision in range(1, 10):
        candidate = f"{value:.{precision}g}"
        if struct.pack(">f", float(candidate)) == packed:
            digits = candidate
            break
    return _java_decimal(digits, value)


def _java_decimal(shortest: str, value: float) -> str:
    """Render the digits of ``shortest`` the way Java's FloatingDecimal does."""
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    sign = "-" if value < 0 else ""
    mantissa, _, exp_text = shortest.lstrip("-").lower().partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    digits = (int_part + frac_part).lstrip("0")
    # decimal exponent of the first significant digit
    exponent = int(exp_text or 0) + len(int_part) - 1
    if int_part.strip("0") == "":
        exponent = int(exp_text or 0) - (len(frac_part) - len(frac_part.lstrip("0"))) - 1
    digits = digits.rstrip("0") or "0"
    if 1e-3 <= abs(value) < 1e7:
        if exponent >= 0:
            whole = digits[: exponent + 1].ljust(exponent + 1, "0")
            frac = digits[exponent + 1 :] or "0"
        else:
            whole = "0"
            frac = "0" * (-exponent - 1) + digits
        return f"{sign}{whole}.{frac}"
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{exponent}"


def _string(encoding: str) -> Deserializer:
    def deserialize(data: bytes | None) -> str | None:
        return None if data is None else data.decode(encoding, errors="replace")

    return deserialize


def _bytes_deserializer(data: bytes | None) -> str | None:
    """``Bytes.toString``: printable ASCII as is, everything else (and backslash) as ``\\xHH``."""
    if data is None:
        return None
    return "".join(chr(b) if 0x20 <= b <= 0x7E and b != 0x5C else f"\\x{b:02X}" for b in data)


def _byte_array(data: bytes | None) -> str | None:
    return None if data is None else data.decode("utf-8", errors="replace")


def _void(data: bytes | None) -> str | None:
    if data is not None:
        raise SerdeError("Data should be null for a VoidDeserializer.")
    return None


def _uuid(encoding: str) -> Deserializer:
    def deserialize(data: bytes | None) -> str | None:
        if data is None:
            return None
        text = data.decode(encoding, errors="replace")
        try:
            if text.count("-") != 4:
                raise ValueError(text)
            return str(uuid.UUID(text))
        except ValueError:
            raise SerdeError("Error parsing data into UUID") from None

    return deserialize


def _int(value: float | int) -> str:
    return str(int(value))


def deserializer(
    class_name: str, properties: dict[str, str] | None = None, is_key: bool = False
) -> Deserializer:
    """The deserializer a Java class name stands for.

    ``properties`` are the formatter's settings: ``key.deserializer.encoding`` /
    ``value.deserializer.encoding`` / ``deserializer.encoding`` choose the String/UUID charset.
    Raises :class:`SerdeError` for a class kcli does not provide. Confluent's Avro deserializer
    is added on top by :func:`kcli.tools.formatter.deserializer_for` (it needs the registry).
    """
    props = properties or {}
    name = class_name.strip()
    short = name[len(_PKG) :] if name.startswith(_PKG) else name
    encoding = (
        props.get("key.deserializer.encoding" if is_key else "value.deserializer.encoding")
        or props.get("deserializer.encoding")
        or "utf-8"
    )
    if short == "StringDeserializer":
        return _string(_python_encoding(encoding))
    if short in ("ByteArrayDeserializer", "ByteBufferDeserializer"):
        return _byte_array
    if short == "BytesDeserializer":
        return _bytes_deserializer
    if short == "IntegerDeserializer":
        return _fixed("IntegerDeserializer", 4, ">i", _int)
    if short == "LongDeserializer":
        return _fixed("LongDeserializer", 8, ">q", _int)
    if short == "ShortDeserializer":
        return _fixed("ShortDeserializer", 2, ">h", _int)
    if short == "FloatDeserializer":
        return _fixed("Deserializer", 4, ">f", lambda v: java_float_to_string(float(v)))
    if short == "DoubleDeserializer":
        return _fixed("Deserializer", 8, ">d", lambda v: java_double_to_string(float(v)))
    if short == "BooleanDeserializer":
        return _boolean
    if short == "UUIDDeserializer":
        return _uuid(_python_encoding(encoding))
    if short == "VoidDeserializer":
        return _void
    raise SerdeError(f"Unable to instantiate a deserializer from {class_name}: class not found")


def _boolean(data: bytes | None) -> str | None:
    if data is None:
        return None
    if len(data) != 1:
        raise SerdeError("Size of data received by BooleanDeserializer is not 1")
    if data[0] not in (0, 1):
        raise SerdeError("Unexpected byte received by BooleanDeserializer: " + str(data[0]))
    return "true" if data[0] else "false"


def _python_encoding(java_name: str) -> str:
    try:
        import codecs

        codecs.lookup(java_name)
    except LookupError:
        raise SerdeError(f"Unsupported encoding {java_name}") from None
    return java_name
