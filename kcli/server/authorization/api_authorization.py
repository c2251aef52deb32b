"""Every API's authorization, as Kafka's KafkaApis checks it, around the API handlers.

The handlers stay free of ACL logic: for each API this module asks the authorizer what Kafka asks,
narrows the request to what is allowed, runs the handler, and adds what was denied to the answer
with Kafka's error code in Kafka's place (a whole-request error, or one per topic, partition,
group or resource). Highlights:

* Produce: WRITE on each topic (TOPIC_AUTHORIZATION_FAILED per partition), WRITE on the
  transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED); with acks=0 a denial closes the
  connection, as Kafka does, since no answer is expected.
* Fetch: READ on each topic for consumers, CLUSTER_ACTION on the cluster for followers.
* Metadata: topics a principal may not DESCRIBE are left out of "all topics" and answered
  TOPIC_AUTHORIZATION_FAILED when named; auto-creation needs CREATE on the cluster or the topic.
* Groups: READ on the group to join, sync, heartbeat, leave and commit; DESCRIBE to fetch offsets,
  find the coordinator and describe; DELETE to delete; ListGroups lists what may be described.
* Admin: CREATE / DELETE / ALTER on topics, DESCRIBE_CONFIGS / ALTER_CONFIGS on topics, groups and
  the cluster, DESCRIBE / ALTER / CLUSTER_ACTION on the cluster (CLUSTER_AUTHORIZATION_FAILED).

An API with no rule here is refused to everyone but super users (the connection closes and the
broker logs why): a new API must never be served without its checks. Passwords in broker configs
(``ssl.*password``, ``sasl.jaas.config``, ...) are never returned by DescribeConfigs, authorizer or
not: they come back as sensitive with no value, as Kafka returns PASSWORD configs.

The rules are grouped by API family, one module each: :mod:`kcli.server.authorization.authorize_data_path`,
:mod:`kcli.server.authorization.authorize_groups`, :mod:`kcli.server.authorization.authorize_transactions`,
:mod:`kcli.server.authorization.authorize_admin`, on :mod:`kcli.server.authorization.authorization_base`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from kcli.server.apis.registry import ApiSpec, RequestContext
from kcli.server.authorization.authorization_base import CloseConnection, mask_sensitive
from kcli.server.authorization.authorize_admin import AdminRules
from kcli.server.authorization.authorize_data_path import DataPathRules
from kcli.server.authorization.authorize_groups import GroupRules
from kcli.server.authorization.authorize_transactions import TransactionRules
from kcli.server.security.authorizer import Authorizer


class RequestAuthorization(DataPathRules, GroupRules, TransactionRules, AdminRules):
    """The rule of each API key (rules by family in ``authorize_*.py``), run around its handler."""

    def __init__(self, authorizer: Authorizer | None):
        self.authorizer = authorizer
        self.rules: dict[int, Callable[..., Awaitable[Any]]] = {
            0: self._produce,
            1: self._fetch,
            2: self._list_offsets,
            3: self._metadata,
            8: self._offset_commit,
            9: self._offset_fetch,
            10: self._find_coordinator,
            11: self._group_read,
            12: self._group_read,
            13: self._group_read,
            14: self._group_read,
            15: self._describe_groups,
            16: self._list_groups,
            17: self._open,
            18: self._open,
            19: self._create_topics,
            20: self._delete_topics,
            21: self._delete_records,
            22: self._init_producer_id,
            23: self._offset_for_leader_epoch,
            29: self._open,  # DescribeAcls, CreateAcls, DeleteAcls, the SCRAM APIs: checked in
            30: self._open,  # their own handlers (kcli/server/apis/acls.py, scram_credentials.py)
            31: self._open,
            32: self._describe_configs,
            33: self._alter_configs,
            34: self._alter_replica_log_dirs,
            35: self._describe_log_dirs,
            36: self._open,
            37: self._create_partitions,
            42: self._delete_groups,
            43: self._elect_leaders,
            44: self._alter_configs,
            45: self._alter_reassignments,
            46: self._list_reassignments,
            47: self._offset_delete,
            50: self._open,
            51: self._open,
            55: self._open,  # DescribeQuorum: DESCRIBE on the cluster, checked in kcli/server/apis/quorum.py
            80: self._open,  # AddRaftVoter, RemoveRaftVoter: ALTER on the cluster, checked in
            81: self._open,  # kcli/server/apis/quorum.py (as KafkaApis)
            24: self._add_partitions_to_txn,
            25: self._add_offsets_to_txn,
            26: self._end_txn,
            27: self._write_txn_markers,
            28: self._txn_offset_commit,
            60: self._describe_cluster,
            61: self._describe_producers,
            65: self._describe_transactions,
            66: self._list_transactions,
            68: self._consumer_group_heartbeat,
            69: self._consumer_group_describe,
        }

    async def run(self, ctx: RequestContext, request: Any, spec: ApiSpec) -> Any:
        if self.authorizer is None:
            result = await spec.handler(ctx, request)
            return mask_sensitive(result) if spec.key == 32 else result
        rule = self.rules.get(spec.key)
        if rule is None:
            if str(ctx.principal) in self.authorizer.super_users:
                return await spec.handler(ctx, request)
            raise CloseConnection(
                f"{spec.name} has no authorization rule in kcli: only super users may use it"
            )
        return await rule(ctx, request, spec.handler)
