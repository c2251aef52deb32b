"""A small schema registry client (standard library HTTP), for the Avro tools and the TUI.

Confluent's own ``SchemaRegistryClient`` works against kcli's registry too, but it needs extra
packages (httpx, authlib...); the command-line tools only need four calls, made here with urllib.
Schemas fetched by id never change, so they are cached for the life of the client.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import orjson

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class RegistryClientError(Exception):
    """The registry answered with an error (``error_code`` as it sent it) or could not be reached."""

    def __init__(self, message: str, error_code: int | None = None, status: int | None = None):
        super().__init__(message)
        self.error_code = error_code
        self.status = status


@dataclass
class RegisteredSchema:
    """A schema as the registry knows it: its id and, when known, one (subject, version) holding it."""

    schema_id: int
    schema: str
    subject: str | None = None
    version: int | None = None
    schema_type: str = "AVRO"
    references: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_json(cls, found: dict[str, Any]) -> RegisteredSchema:
        return cls(
            found["id"],
            found["schema"],
            found.get("subject"),
            found.get("version"),
            found.get("schemaType") or "AVRO",
            list(found.get("references") or []),
        )


class SchemaRegistryClient:
    """Talks to the registry at ``url`` (the first of a comma-separated list)."""

    def __init__(self, url: str, timeout_s: float = 10.0):
        self.url = url.split(",")[0].strip().rstrip("/")
        self.timeout_s = timeout_s
        self._by_id: dict[int, RegisteredSchema] = {}

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else orjson.dumps(body)
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": CONTENT_TYPE, "Accept": CONTENT_TYPE},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return orjson.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            try:
                error = orjson.loads(exc.read())
                message, code = error.get("message", str(exc)), error.get("error_code")
            except (orjson.JSONDecodeError, AttributeError):
                message, code = str(exc), None
            raise RegistryClientError(message, code, exc.code) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RegistryClientError(f"Cannot reach the schema registry at {self.url}: {reason}") from None

    @staticmethod
    def _schema_body(
        schema: str, schema_type: str, references: list[dict[str, Any]] | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"schema": schema}
        if schema_type != "AVRO":
            body["schemaType"] = schema_type
        if references:
            body["references"] = references
        return body

    def register(
        self,
        subject: str,
        schema: str,
        schema_type: str = "AVRO",
        references: list[dict[str, Any]] | None = None,
    ) -> int:
        """Register ``schema`` under ``subject`` (or find it); returns the global id."""
        body = self._schema_body(schema, schema_type, references)
        return int(self._call("POST", f"/subjects/{_quote(subject)}/versions", body)["id"])

    def lookup(
        self,
        subject: str,
        schema: str,
        schema_type: str = "AVRO",
        references: list[dict[str, Any]] | None = None,
    ) -> RegisteredSchema:
        body = self._schema_body(schema, schema_type, references)
        return RegisteredSchema.from_json(self._call("POST", f"/subjects/{_quote(subject)}", body))

    def latest(self, subject: str) -> RegisteredSchema:
        return self.version(subject, "latest")

    def version(self, subject: str, version: int | str) -> RegisteredSchema:
        """One version of a subject (``latest`` for the newest)."""
        return RegisteredSchema.from_json(
            self._call("GET", f"/subjects/{_quote(subject)}/versions/{version}")
        )

    def get_schema_by_id(self, schema_id: int) -> RegisteredSchema:
        """The schema for ``schema_id`` with one (subject, version) that uses it (cached)."""
        if schema_id not in self._by_id:
            found = self._call("GET", f"/schemas/ids/{schema_id}")
            schema = found["schema"]
            subject = version = None
            try:
                holders = self._call("GET", f"/schemas/ids/{schema_id}/versions")
                if holders:
                    subject, version = holders[0]["subject"], holders[0]["version"]
            except RegistryClientError:
                pass
            self._by_id[schema_id] = RegisteredSchema(
                schema_id,
                schema,
                subject,
                version,
                found.get("schemaType") or "AVRO",
                list(found.get("references") or []),
            )
        return self._by_id[schema_id]


RegistryClient = SchemaRegistryClient


def _quote(subject: str) -> str:
    return urllib.request.quote(subject, safe="")
