"""ACLs and SCRAM credentials: the security part of the cluster's metadata, kept on disk.

In Kafka they are records of the KRaft metadata log (AccessControlEntryRecord,
UserScramCredentialRecord) or ZooKeeper nodes. A single broker keeps them in one JSON document in
its first log directory, written atomically (temp file, fsync, rename) before a change is
answered, so an acknowledged ACL or user survives ``kill -9``. SCRAM credentials are stored as
Kafka stores them (salt, StoredKey, ServerKey, iterations): never a password. ``kafka-storage
format --add-scram`` writes the same file before the first start.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import orjson

from kcli.server.security.acls import AclBinding
from kcli.server.security.scram import ScramCredential

SECURITY_FILE = "__kcli_security.json"


class SecurityStore:
    def __init__(self, path: Path):
        self.path = path
        self.acls: set[AclBinding] = set()
        self.scram: dict[str, dict[str, ScramCredential]] = {}

    @classmethod
    def load(cls, log_dir: Path) -> SecurityStore:
        store = cls(Path(log_dir) / SECURITY_FILE)
        if store.path.exists():
            data = orjson.loads(store.path.read_bytes())
            store.acls = {AclBinding.from_json(a) for a in data.get("acls", [])}
            store.scram = {
                user: {mech: ScramCredential.from_string(text) for mech, text in creds.items()}
                for user, creds in data.get("scram", {}).items()
            }
        return store

    def to_json(self) -> dict:
        return {
            "acls": sorted(a.to_json() for a in self.acls),
            "scram": {
                u: {m: c.to_string() for m, c in creds.items()} for u, creds in sorted(self.scram.items())
            },
        }

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "wb") as fh:
            fh.write(orjson.dumps(self.to_json(), option=orjson.OPT_INDENT_2))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # --- changes (each persisted before it returns) -------------------------------------------
    def add_acls(self, bindings: Iterable[AclBinding]) -> None:
        self.acls.update(bindings)
        self.save()

    def remove_acls(self, bindings: Iterable[AclBinding]) -> None:
        self.acls.difference_update(bindings)
        self.save()

    def credential(self, user: str, mechanism: str) -> ScramCredential | None:
        return self.scram.get(user, {}).get(mechanism)

    def alter_scram(
        self, upserts: Iterable[tuple[str, str, ScramCredential]], deletions: Iterable[tuple[str, str]]
    ) -> None:
        for user, mechanism in deletions:
            creds = self.scram.get(user, {})
            creds.pop(mechanism, None)
            if not creds:
                self.scram.pop(user, None)
        for user, mechanism, credential in upserts:
            self.scram.setdefault(user, {})[mechanism] = credential
        self.save()
