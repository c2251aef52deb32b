"""Sizes are only asked for over PLAINTEXT: the raw DescribeLogDirs client speaks no TLS or SASL."""

from __future__ import annotations

from kcli.cluster_view.logdirs import plaintext


def test_plaintext_detection() -> None:
    assert plaintext({})
    assert plaintext({"security.protocol": "plaintext"})
    assert not plaintext({"security.protocol": "SASL_SSL"})
    assert not plaintext({"security.protocol": "SSL"})
