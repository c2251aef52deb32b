"""The registry's own security: HTTP basic authentication and HTTPS, as Confluent configures them.

Basic authentication (``authentication.method=BASIC``): the users are in a Jetty password file
named by the JAAS file of ``SCHEMA_REGISTRY_OPTS=-Djava.security.auth.login.config=FILE``, whose
section is ``authentication.realm``::

    SchemaRegistry-Props {
      org.eclipse.jetty.jaas.spi.PropertyFileLoginModule required file="/path/password-file";
    };

with password-file lines ``fred: OBF:1w8t...,admin`` or ``barney: changeme,user`` (plain, Jetty's
``OBF:`` obfuscation, or ``MD5:``). A user must hold one of ``authentication.roles`` (default ``*``:
any role). A request without valid credentials gets 401 with ``WWW-Authenticate: Basic
realm="<realm>"``; one without an allowed role gets 403. ``authentication.skip.paths`` are open.

HTTPS: an ``https://`` listener with ``ssl.keystore.*`` / ``ssl.truststore.*`` (PEM, PKCS12; JKS is
refused naming PEM) and ``ssl.client.authentication=NONE|REQUESTED|REQUIRED`` (or the older
``ssl.client.auth=true``), read by the broker's TLS code.

Anything asked for that is not served - another method, an authorizer, a security extension -
stops the start with one line naming the key, before the registry listens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

#: Exact keys of Confluent's registry security that kcli does not serve, with what they ask for.
_REFUSED = {
    "confluent.schema.registry.auth.mechanism": "HTTP authentication",
    "confluent.schema.registry.authorizer.class": "an authorizer",
    "schema.registry.resource.extension.class": "a security extension",
    "resource.extension.class": "a security extension",
    "rest.servlet.initializor.classes": "a security extension",
}
_REFUSED_PREFIXES = {"confluent.schema.registry.auth.": "HTTP authentication"}
_LOGIN_MODULES = (
    "org.eclipse.jetty.jaas.spi.PropertyFileLoginModule",
    "org.eclipse.jetty.security.jaas.spi.PropertyFileLoginModule",
)
_CLIENT_AUTH = {"NONE": "none", "REQUESTED": "requested", "REQUIRED": "required"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class RegistrySecurityError(ValueError):
    """A security setting that cannot be used; the message names the key."""


def _refusal(key: str, what: str) -> str:
    return (
        f"{key} asks for {what}, which this schema registry does not support: it refuses to start "
        f"rather than serve less secured than configured (remove {key})"
    )


def unhonoured_setting(props: Mapping[str, str]) -> str | None:
    """The first registry security setting this registry cannot honour, as one line."""
    for key in sorted(props):
        value = props[key].strip()
        what = _REFUSED.get(key) or next((w for p, w in _REFUSED_PREFIXES.items() if key.startswith(p)), None)
        if key == "authentication.method" and value.upper() not in ("NONE", "BASIC", ""):
            what = f"HTTP authentication method {value}"
        if key in ("inter.instance.protocol", "schema.registry.inter.instance.protocol"):
            what = None  # one instance: nothing to call
        if what is not None:
            return _refusal(key, what)
    listeners = [v.strip() for v in props.get("listeners", "").split(",") if v.strip()]
    if any(urlsplit(v).scheme.lower() == "https" for v in listeners[1:]) and (
        not listeners or urlsplit(listeners[0]).scheme.lower() != "https"
    ):
        return (
            "listeners: kcli's registry serves its first listener only, and a later one asks for HTTPS: "
            "put the https:// listener first"
        )
    return None


# --- Jetty password files ----------------------------------------------------------------------
def deobfuscate(text: str) -> str:
    """Jetty's ``OBF:`` password obfuscation (org.eclipse.jetty.util.security.Password)."""
    s = text[4:] if text.startswith("OBF:") else text
    out = bytearray()
    i = 0
    while i < len(s):
        if s[i] == "U":
            i += 1
            out.append((int(s[i : i + 4], 36) >> 8) & 0xFF)
        else:
            value = int(s[i : i + 4], 36)
            out.append(((value // 256 + value % 256 - 254) // 2) & 0xFF)
        i += 4
    return out.decode("utf-8")


@dataclass
class _User:
    credential: str
    roles: frozenset[str]

    def check(self, password: str) -> bool:
        stored = self.credential
        if stored.startswith("OBF:"):
            stored = deobfuscate(stored)
        elif stored.startswith("MD5:"):
            digest = hashlib.md5(password.encode()).hexdigest()
            return hmac.compare_digest(digest, stored[4:].lower())
        elif stored.startswith("CRYPT:"):
            return False  # refused when the file is read
        return hmac.compare_digest(stored.encode(), password.encode())


def read_password_file(path: str) -> dict[str, _User]:
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise RegistrySecurityError(
            f"the password file {path} (JAAS option file=) cannot be read: {exc.strerror or exc}"
        ) from None
    users: dict[str, _User] = {}
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, rest = line.partition(":")
        if not sep:
            raise RegistrySecurityError(f"{path} line {number}: expected 'user: password[,role...]'")
        credential, *roles = [part.strip() for part in rest.split(",")]
        if credential.startswith("CRYPT:"):
            raise RegistrySecurityError(
                f"{path} line {number}: CRYPT: passwords are not supported by kcli; use plain, OBF: or MD5:"
            )
        users[name.strip()] = _User(credential, frozenset(r for r in roles if r))
    return users


@dataclass
class BasicAuth:
    realm: str
    users: dict[str, _User]
    roles: frozenset[str] = frozenset({"*"})
    skip_paths: frozenset[str] = field(default_factory=frozenset)

    def allows(self, header: str | None) -> int:
        """200, 401 (no or wrong credentials) or 403 (no allowed role) for an Authorization header."""
        if not header or not header.lower().startswith("basic "):
            return 401
        try:
            user, _, password = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return 401
        found = self.users.get(user)
        if found is None or not found.check(password):
            return 401
        if "*" not in self.roles and not (found.roles & self.roles):
            return 403
        return 200

    def middleware(self) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
        from kcli.schema_registry.rest import reply

        @web.middleware
        async def basic_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
            if request.path in self.skip_paths:
                return await handler(request)
            status = self.allows(request.headers.get("Authorization"))
            if status == 401:
                response = reply({"error_code": 401, "message": "Unauthorized"}, 401)
                response.headers["WWW-Authenticate"] = f'Basic realm="{self.realm}"'
                return response
            if status == 403:
                return reply({"error_code": 403, "message": "Forbidden"}, 403)
            return await handler(request)

        return basic_auth


def _basic_auth(props: Mapping[str, str], env: Mapping[str, str]) -> BasicAuth | None:
    from kcli.server.security.jaas import JaasError, login_config_file, parse_jaas_file

    if props.get("authentication.method", "NONE").strip().upper() in ("NONE", ""):
        return None
    realm = props.get("authentication.realm", "").strip()
    if not realm:
        raise RegistrySecurityError(
            "authentication.realm is not set: authentication.method=BASIC needs the name of the JAAS section "
            "holding the users (e.g. authentication.realm=SchemaRegistry-Props)"
        )
    jaas = login_config_file(env.get("SCHEMA_REGISTRY_OPTS", "")) or login_config_file(
        env.get("KAFKA_OPTS", "")
    )
    if jaas is None:
        raise RegistrySecurityError(
            "authentication.method=BASIC needs a JAAS file: set "
            "SCHEMA_REGISTRY_OPTS=-Djava.security.auth.login.config=/path/jaas_config.file "
            f"with a section {realm} {{ org.eclipse.jetty.jaas.spi.PropertyFileLoginModule required file=...; }};"
        )
    try:
        sections = parse_jaas_file(jaas)
    except JaasError as exc:
        raise RegistrySecurityError(
            f"SCHEMA_REGISTRY_OPTS -Djava.security.auth.login.config={jaas}: {exc}"
        ) from None
    modules = [m for m in sections.get(realm, []) if m.class_name in _LOGIN_MODULES]
    if not modules or "file" not in modules[0].options:
        raise RegistrySecurityError(
            f"authentication.realm={realm}: the JAAS file {jaas} has no {realm} section with a "
            'PropertyFileLoginModule and its file="..." option'
        )
    roles = frozenset(r.strip() for r in props.get("authentication.roles", "*").split(",") if r.strip()) or {
        "*"
    }
    skip = frozenset(p.strip() for p in props.get("authentication.skip.paths", "").split(",") if p.strip())
    return BasicAuth(realm, read_password_file(modules[0].options["file"]), frozenset(roles), skip)


def _ssl_context(props: Mapping[str, str]) -> ssl.SSLContext | None:
    from kcli.server.base.config import ConfigError
    from kcli.server.security.tls import server_context

    listener = (props.get("listeners") or "").split(",")[0].strip()
    if urlsplit(listener).scheme.lower() != "https":
        return None

    def get(key: str) -> str | None:
        if key == "ssl.client.auth":
            modern = props.get("ssl.client.authentication")
            if modern:
                mode = _CLIENT_AUTH.get(modern.strip().upper())
                if mode is None:
                    raise ConfigError(
                        f"ssl.client.authentication={modern}: expected NONE, REQUESTED or REQUIRED"
                    )
                return mode
            legacy = props.get("ssl.client.auth", "false").strip().lower()
            return "required" if legacy == "true" else "none"
        return props.get(key)

    try:
        return server_context(get)
    except ConfigError as exc:
        raise RegistrySecurityError(str(exc)) from None


@dataclass
class RegistrySecurity:
    ssl_context: ssl.SSLContext | None
    basic_auth: BasicAuth | None

    @property
    def scheme(self) -> str:
        return "https" if self.ssl_context is not None else "http"


def registry_security(props: Mapping[str, str], env: Mapping[str, str] | None = None) -> RegistrySecurity:
    """The registry's TLS context and basic auth; RegistrySecurityError names what is wrong."""
    problem = unhonoured_setting(props)
    if problem is not None:
        raise RegistrySecurityError(problem)
    return RegistrySecurity(_ssl_context(props), _basic_auth(props, os.environ if env is None else env))
