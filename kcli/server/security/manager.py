"""A broker's security state: listeners' settings, the authorizer and its ACLs, SCRAM credentials.

The ACL and credential changes of CreateAcls, DeleteAcls and AlterUserScramCredentials go through
here, with Kafka's validation (AclControlManager, ScramControlManager). A single broker persists
them in its :class:`~kcli.server.security.store.SecurityStore` before answering; a broker of a
cluster hands them to the controller, and every broker applies what the controller publishes
(:meth:`apply_metadata`), so ACLs and users are the same on every broker.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from kio.schema.errors import ErrorCode

from kcli.server.security.acls import AclBinding, AclBindingFilter, binding_problem
from kcli.server.security.authorizer import Authorizer
from kcli.server.security.scram import (
    MAX_ITERATIONS,
    MECHANISM_NAMES,
    MECHANISMS,
    MIN_ITERATIONS,
    ScramCredential,
    credential_from_salted,
)
from kcli.server.security.setup import BrokerSecurity
from kcli.server.security.store import SecurityStore

log = logging.getLogger("kafka.server.SecurityManager")

#: (code, message) per item, None for success.
Result = tuple[int, str | None]


class SecurityManager:
    def __init__(self, settings: BrokerSecurity, store: SecurityStore):
        self.settings = settings
        self.store = store
        self.authorizer: Authorizer | None = settings.authorizer
        if self.authorizer is not None:
            self.authorizer.set_acls(store.acls)
        #: set in a cluster: sends a change to the controller; returns once the new image is applied
        self.forward: Callable[[str, dict[str, Any]], Awaitable[Any]] | None = None

    # --- SCRAM -------------------------------------------------------------------------------
    def credential(self, user: str, mechanism: str) -> ScramCredential | None:
        return self.store.credential(user, mechanism)

    def describe_scram(self, users: list[str] | None) -> list[dict[str, Any]]:
        """DescribeUserScramCredentials results (ScramImage.describe)."""
        results = []
        if not users:
            names = {u: False for u in self.store.scram}
        else:
            names: dict[str, bool] = {}
            for user in users:
                names[user] = user in names
        for user, duplicate in names.items():
            result: dict[str, Any] = {
                "user": user,
                "error_code": 0,
                "error_message": None,
                "credential_infos": [],
            }
            creds = self.store.scram.get(user, {})
            if duplicate:
                result["error_code"] = ErrorCode.duplicate_resource.value
                result["error_message"] = (
                    f"Cannot describe SCRAM credentials for the same user twice in a single request: {user}"
                )
            elif not creds:
                result["error_code"] = ErrorCode.resource_not_found.value
                result["error_message"] = f"Attempt to describe a user credential that does not exist: {user}"
            else:
                result["credential_infos"] = [
                    {"mechanism": code, "iterations": creds[name].iterations}
                    for code, name in sorted(MECHANISM_NAMES.items())
                    if name in creds
                ]
            results.append(result)
        return results

    async def alter_scram(self, deletions: list[Any], upsertions: list[Any]) -> list[dict[str, Any]]:
        """AlterUserScramCredentials with Kafka's checks and messages (ScramControlManager).

        A duplicate is the same user AND mechanism twice, as the ZooKeeper-era broker counted it:
        Kafka's documented ``--add-config 'SCRAM-SHA-256=[...],SCRAM-SHA-512=[...]'`` sends one
        upsertion per mechanism for the same user in one request, and must succeed. A user with
        any invalid item has none of its changes applied.
        """
        errors: dict[str, Result] = {}
        pairs: dict[tuple[str, int], int] = {}
        for item in [*deletions, *upsertions]:
            pairs[(item.name, item.mechanism)] = pairs.get((item.name, item.mechanism), 0) + 1
        for item in deletions:
            problem = _name_and_mechanism(item.name, item.mechanism)
            if problem is None and self.store.credential(item.name, MECHANISM_NAMES[item.mechanism]) is None:
                problem = (
                    ErrorCode.resource_not_found.value,
                    "Attempt to delete a user credential that does not exist",
                )
            if problem is not None:
                errors.setdefault(item.name, problem)
        for item in upsertions:
            problem = _name_and_mechanism(item.name, item.mechanism)
            if problem is None and item.iterations < MIN_ITERATIONS:
                problem = (ErrorCode.unacceptable_credential.value, "Too few iterations")
            elif problem is None and item.iterations > MAX_ITERATIONS:
                problem = (ErrorCode.unacceptable_credential.value, "Too many iterations")
            if problem is not None:
                errors.setdefault(item.name, problem)
        for (user, _mechanism), count in pairs.items():
            if count > 1 and user not in errors:
                errors[user] = (
                    ErrorCode.duplicate_resource.value,
                    "A user credential cannot be altered twice in the same request",
                )
        upserts = []
        for item in upsertions:
            if item.name in errors:
                continue
            mechanism = MECHANISM_NAMES[item.mechanism]
            credential = credential_from_salted(
                MECHANISMS[mechanism], bytes(item.salt), bytes(item.salted_password), item.iterations
            )
            upserts.append((item.name, mechanism, credential))
        removals = [(d.name, MECHANISM_NAMES[d.mechanism]) for d in deletions if d.name not in errors]
        if upserts or removals:
            try:
                await self._apply_scram(upserts, removals)
            except Exception as exc:  # the controller refused or could not be reached
                code, message = _forward_failure(exc)
                for user, *_ in [*upserts, *removals]:
                    errors[user] = (code, message)
        users = dict.fromkeys(item.name for item in [*deletions, *upsertions])
        return [
            {"user": u, "error_code": errors[u][0], "error_message": errors[u][1]}
            if u in errors
            else {"user": u, "error_code": 0, "error_message": None}
            for u in users
        ]

    async def _apply_scram(
        self, upserts: list[tuple[str, str, ScramCredential]], removals: list[tuple[str, str]]
    ) -> None:
        if self.forward is not None:
            await self.forward(
                "ctl_alter_scram",
                {
                    "upserts": [[u, m, c.to_string()] for u, m, c in upserts],
                    "deletions": [list(d) for d in removals],
                },
            )
            return
        self.store.alter_scram(upserts, removals)
        for user, mechanism, _ in upserts:
            log.info("Stored SCRAM credential for user %s with mechanism %s", user, mechanism)

    # --- ACLs --------------------------------------------------------------------------------
    async def create_acls(self, bindings: list[AclBinding]) -> list[Result]:
        results: list[Result] = []
        valid = []
        for binding in bindings:
            problem = binding_problem(binding)
            if problem is not None:
                results.append((ErrorCode.invalid_request.value, problem))
            else:
                results.append((0, None))
                valid.append(binding)
        new = [b for b in valid if b not in self.store.acls]
        if new:
            try:
                await self._apply_acls(new, [])
            except Exception as exc:  # the controller refused or could not be reached
                failed = _forward_failure(exc)
                return [failed if r == (0, None) else r for r in results]
        return results

    def describe_acls(self, acl_filter: AclBindingFilter) -> list[AclBinding]:
        return [b for b in self.store.acls if acl_filter.matches(b)]

    async def delete_acls(self, filters: list[AclBindingFilter]) -> list[tuple[Result, list[AclBinding]]]:
        results: list[tuple[Result, list[AclBinding]]] = []
        doomed: set[AclBinding] = set()
        for acl_filter in filters:
            problem = acl_filter.problem()
            if problem is not None:
                results.append(((ErrorCode.invalid_request.value, problem), []))
                continue
            matched = sorted((b for b in self.store.acls if acl_filter.matches(b)), key=lambda b: b.to_json())
            doomed.update(matched)
            results.append(((0, None), matched))
        if doomed:
            try:
                await self._apply_acls([], list(doomed))
            except Exception as exc:  # the controller refused or could not be reached
                failed = _forward_failure(exc)
                return [(failed, []) if r == (0, None) else (r, m) for r, m in results]
        return results

    async def _apply_acls(self, added: list[AclBinding], removed: list[AclBinding]) -> None:
        if self.forward is not None:
            await self.forward(
                "ctl_alter_acls",
                {"add": [b.to_json() for b in added], "remove": [b.to_json() for b in removed]},
            )
            return
        if added:
            self.store.add_acls(added)
        if removed:
            self.store.remove_acls(removed)
        if self.authorizer is not None:
            for binding in added:
                self.authorizer.add(binding)
            for binding in removed:
                self.authorizer.remove(binding)
        for binding in added:
            log.info("Added ACL %s", _describe(binding))
        for binding in removed:
            log.info("Removed ACL %s", _describe(binding))

    # --- cluster -----------------------------------------------------------------------------
    def apply_image(self, image: Any) -> None:
        """A new metadata image from the controller: take its ACLs and credentials, if it has them."""
        if image.acls is not None and image.scram is not None:
            self.apply_metadata(image.acls, image.scram)

    def apply_metadata(self, acls: list[list[Any]], scram: dict[str, dict[str, str]]) -> None:
        """The controller's ACLs and credentials (every broker keeps a copy for restarts)."""
        store = self.store
        if [list(a) for a in sorted(b.to_json() for b in store.acls)] == sorted(list(a) for a in acls) and (
            store.to_json()["scram"] == scram
        ):
            return
        store.acls = {AclBinding.from_json(a) for a in acls}
        store.scram = {u: {m: ScramCredential.from_string(t) for m, t in c.items()} for u, c in scram.items()}
        store.save()
        if self.authorizer is not None:
            self.authorizer.set_acls(store.acls)


def _forward_failure(exc: Exception) -> Result:
    log.warning("Could not record a security change with the controller: %s", exc)
    return (ErrorCode.unknown_server_error.value, f"The controller did not record the change: {exc}")


def _name_and_mechanism(name: str, mechanism: int) -> Result | None:
    if not name:
        return (ErrorCode.unacceptable_credential.value, "Username must not be empty")
    if mechanism not in MECHANISM_NAMES:
        return (ErrorCode.unsupported_sasl_mechanism.value, "Unknown SCRAM mechanism")
    return None


def _describe(binding: AclBinding) -> str:
    p, e = binding.pattern, binding.entry
    return (
        f"(pattern=ResourcePattern(resourceType={p.resource_type.name}, name={p.name}, patternType={p.pattern_type.name}), "
        f"entry=(principal={e.principal}, host={e.host}, operation={e.operation.name}, permissionType={e.permission.name}))"
    )
