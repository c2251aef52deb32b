"""The authorizer: Kafka's StandardAuthorizer (and ZooKeeper-era AclAuthorizer) decisions.

``authorizer.class.name`` names one of those two classes; both decide the same way:

* a principal in ``super.users`` (``User:admin;User:ops``) may do anything;
* otherwise the ACLs on the resource decide: LITERAL ACLs on its name, PREFIXED ACLs on any prefix
  of it, and LITERAL ``*`` ACLs; the principal matches itself or ``User:*``, the host matches its
  address or ``*``; a DENY that matches wins over any ALLOW;
* an ALLOW for READ, WRITE, DELETE or ALTER also allows DESCRIBE, and ALTER_CONFIGS allows
  DESCRIBE_CONFIGS (only ALLOW ACLs imply; a DENY denies only its own operation); ALL is every
  operation;
* with no ACL on the resource at all, ``allow.everyone.if.no.acl.found`` (default false) decides.

Denials are logged on ``kafka.authorizer.logger`` as Kafka does (INFO, one line per decision).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable

from kcli.server.security.acls import (
    WILDCARD_HOST,
    WILDCARD_RESOURCE,
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    PatternType,
    ResourceType,
    camel,
)
from kcli.server.security.principal import KafkaPrincipal

log = logging.getLogger("kafka.authorizer.logger")

AUTHORIZER_CLASSES = (
    "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "kafka.security.authorizer.AclAuthorizer",
    "kafka.security.auth.SimpleAclAuthorizer",
)
_IMPLIES_DESCRIBE = frozenset(
    {AclOperation.DESCRIBE, AclOperation.READ, AclOperation.WRITE, AclOperation.DELETE, AclOperation.ALTER}
)
_IMPLIES_DESCRIBE_CONFIGS = frozenset({AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS})
_WILDCARD_PRINCIPAL = "User:*"


def parse_super_users(value: str) -> frozenset[str]:
    """``super.users``: principals separated by ``;`` (Kafka's separator: names may hold commas)."""
    users = set()
    for item in value.split(";"):
        item = item.strip()
        if item:
            KafkaPrincipal.parse(item)
            users.add(item)
    return frozenset(users)


def _entry_allows(binding: AclBinding, operation: AclOperation) -> AclPermissionType | None:
    """StandardAuthorizerData.findResult's operation rule for one ACL (principal/host checked)."""
    entry = binding.entry
    if entry.operation != AclOperation.ALL:
        if entry.permission == AclPermissionType.ALLOW:
            if operation == AclOperation.DESCRIBE:
                if entry.operation not in _IMPLIES_DESCRIBE:
                    return None
            elif operation == AclOperation.DESCRIBE_CONFIGS:
                if entry.operation not in _IMPLIES_DESCRIBE_CONFIGS:
                    return None
            elif operation != entry.operation:
                return None
        elif operation != entry.operation:
            return None
    return entry.permission


class Authorizer:
    def __init__(self, super_users: Iterable[str] = (), allow_everyone_if_no_acl_found: bool = False):
        self.super_users = frozenset(super_users)
        self.allow_everyone = allow_everyone_if_no_acl_found
        self._literal: dict[tuple[ResourceType, str], set[AclBinding]] = defaultdict(set)
        self._prefixed: dict[ResourceType, set[AclBinding]] = defaultdict(set)

    # --- the ACL set ------------------------------------------------------------------------
    def set_acls(self, bindings: Iterable[AclBinding]) -> None:
        self._literal.clear()
        self._prefixed.clear()
        for binding in bindings:
            self.add(binding)

    def add(self, binding: AclBinding) -> None:
        p = binding.pattern
        if p.pattern_type == PatternType.PREFIXED:
            self._prefixed[p.resource_type].add(binding)
        else:
            self._literal[(p.resource_type, p.name)].add(binding)

    def remove(self, binding: AclBinding) -> None:
        p = binding.pattern
        if p.pattern_type == PatternType.PREFIXED:
            self._prefixed[p.resource_type].discard(binding)
        else:
            self._literal[(p.resource_type, p.name)].discard(binding)

    def acls(self, acl_filter: AclBindingFilter | None = None) -> list[AclBinding]:
        everything = [b for group in self._literal.values() for b in group]
        everything += [b for group in self._prefixed.values() for b in group]
        if acl_filter is None:
            return everything
        return [b for b in everything if acl_filter.matches(b)]

    def __contains__(self, binding: AclBinding) -> bool:
        p = binding.pattern
        if p.pattern_type == PatternType.PREFIXED:
            return binding in self._prefixed.get(p.resource_type, ())
        return binding in self._literal.get((p.resource_type, p.name), ())

    # --- decisions --------------------------------------------------------------------------
    def _resource_acls(self, resource_type: ResourceType, name: str) -> list[AclBinding]:
        found = list(self._literal.get((resource_type, name), ()))
        found += self._literal.get((resource_type, WILDCARD_RESOURCE), ())
        found += [b for b in self._prefixed.get(resource_type, ()) if name.startswith(b.pattern.name)]
        return found

    def authorize(
        self,
        principal: KafkaPrincipal,
        host: str,
        operation: AclOperation,
        resource_type: ResourceType,
        name: str,
        *,
        log_denied: bool = True,
        request: str = "",
    ) -> bool:
        text = str(principal)
        if text in self.super_users:
            return True
        matching = self._resource_acls(resource_type, name)
        allowed = denied = False
        for binding in matching:
            entry = binding.entry
            if entry.principal not in (text, _WILDCARD_PRINCIPAL):
                continue
            if entry.host != WILDCARD_HOST and entry.host != host:
                continue
            result = _entry_allows(binding, operation)
            if result == AclPermissionType.DENY:
                denied = True
                break
            if result == AclPermissionType.ALLOW:
                allowed = True
        decision = (allowed and not denied) if matching else self.allow_everyone
        if not decision and log_denied:
            log.info(
                "Principal = %s is Denied operation = %s from host = %s on resource = %s:LITERAL:%s for "
                "request = %s with resourceRefCount = 1 based on rule %s",
                text,
                operation.name,
                host,
                camel(resource_type.name),
                name,
                request,
                "MatchingAcl(DENY)" if denied else ("DefaultDeny" if not matching else "NoMatchingAllowAcl"),
            )
        return decision

    def authorize_any(
        self, principal: KafkaPrincipal, host: str, operation: AclOperation, resource_type: ResourceType
    ) -> bool:
        """Kafka's authorizeByResourceType: may ``operation`` be done on SOME resource of the type?

        (KIP-679: an idempotent producer needs WRITE on any topic.) True for super users, and when
        an ALLOW ACL for the principal exists on some pattern of the type that no DENY on the
        wildcard or a shorter prefix cancels; with no ACL of the type at all,
        ``allow.everyone.if.no.acl.found`` decides.
        """
        text = str(principal)
        if text in self.super_users:
            return True
        candidates = [b for (kind, _), group in self._literal.items() if kind == resource_type for b in group]
        candidates += self._prefixed.get(resource_type, ())
        if not candidates:
            return self.allow_everyone
        applicable = [
            b
            for b in candidates
            if b.entry.principal in (text, _WILDCARD_PRINCIPAL) and b.entry.host in (WILDCARD_HOST, host)
        ]
        denies = [b for b in applicable if _entry_allows(b, operation) == AclPermissionType.DENY]
        if any(
            d.pattern.name == WILDCARD_RESOURCE
            or (d.pattern.pattern_type == PatternType.PREFIXED and d.pattern.name == "")
            for d in denies
        ):
            return False
        for b in applicable:
            if _entry_allows(b, operation) != AclPermissionType.ALLOW:
                continue
            cancelled = any(
                (d.pattern.pattern_type == PatternType.PREFIXED and b.pattern.name.startswith(d.pattern.name))
                or (
                    d.pattern.pattern_type == PatternType.LITERAL
                    and d.pattern.name == b.pattern.name
                    and b.pattern.pattern_type == PatternType.LITERAL
                )
                for d in denies
            )
            if not cancelled:
                return True
        return False
