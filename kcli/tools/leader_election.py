"""kafka-leader-election: elect the preferred (or, when none is in sync, any live) replica leader.

Options, validation messages and output lines follow Kafka's LeaderElectionCommand:
``Successfully completed leader election (PREFERRED) for partitions t-0, t-1``, ``Valid replica
already elected for partitions t-2``, ``Error completing leader election (PREFERRED) for partition:
t-3: <exception>``; the exit code is 1 when any partition could not be elected. Elections go through
the broker's ElectLeaders API (confluent-kafka's ``elect_leaders``), so the tool works against any
Kafka cluster, not only kcli's.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from kio.schema.errors import ErrorCode

from kcli.tools import cli
from kcli.tools.cli import ToolError, ToolParser, UsageError

PROG = "kafka-leader-election"
ELECTION_TYPES = ("PREFERRED", "UNCLEAN")
TIMEOUT_S = 30.0  # Kafka's default.api.timeout.ms for this tool
EXCLUSIVE = ("topic", "all-topic-partitions", "path-to-json-file")
ELECTION_NOT_NEEDED = int(ErrorCode.election_not_needed)
TIMED_OUT = {-185, int(ErrorCode.request_timed_out)}  # librdkafka's local timeout, REQUEST_TIMED_OUT
CLUSTER_AUTHORIZATION_FAILED = int(ErrorCode.cluster_authorization_failed)
# The Java exception each election error code surfaces as, for Kafka's "Error completing" lines.
EXCEPTIONS = {
    ErrorCode.unknown_topic_or_partition: "UnknownTopicOrPartitionException",
    ErrorCode.leader_not_available: "LeaderNotAvailableException",
    ErrorCode.not_leader_or_follower: "NotLeaderOrFollowerException",
    ErrorCode.request_timed_out: "TimeoutException",
    ErrorCode.topic_authorization_failed: "TopicAuthorizationException",
    ErrorCode.cluster_authorization_failed: "ClusterAuthorizationException",
    ErrorCode.invalid_replica_assignment: "InvalidReplicaAssignmentException",
    ErrorCode.not_controller: "NotControllerException",
    ErrorCode.preferred_leader_not_available: "PreferredLeaderNotAvailableException",
    ErrorCode.eligible_leaders_not_available: "EligibleLeadersNotAvailableException",
}


def build_parser() -> ToolParser:
    """The option parser (also used to generate shell completions)."""
    p = ToolParser(PROG, DESCRIPTION)
    p.add_argument(
        "--bootstrap-server",
        metavar="host:port",
        help="A hostname and port for the broker to connect to, in the form host:port. Multiple comma "
        "separated URLs can be given. REQUIRED.",
    )
    p.add_argument(
        "--admin.config",
        dest="admin_config",
        metavar="config file",
        help="(DEPRECATED) Configuration properties files to pass to the admin client. This option will be "
        "removed in a future version. Use --command-config instead.",
    )
    p.add_argument(
        "--command-config",
        metavar="Config file",
        help="Config properties file to pass to the admin client.",
    )
    p.add_argument(
        "--path-to-json-file",
        metavar="Path to JSON file",
        help="The JSON file with the list of partition for which leader elections should be performed, e.g. "
        '{"partitions": [{"topic": "foo", "partition": 1}]}. Not allowed if --all-topic-partitions or '
        "--topic flags are specified.",
    )
    p.add_argument(
        "--topic",
        metavar="topic name",
        help="Name of topic for which to perform an election. Not allowed if --path-to-json-file or "
        "--all-topic-partitions is specified.",
    )
    p.add_argument(
        "--partition",
        metavar="partition id",
        help="Partition id for which to perform an election. REQUIRED if --topic is specified.",
    )
    p.add_argument(
        "--all-topic-partitions",
        action="store_true",
        help="Perform election on all of the eligible topic partitions based on the type of election "
        "(see the --election-type flag). Not allowed if --topic or --path-to-json-file is specified.",
    )
    p.add_argument(
        "--election-type",
        metavar="election type",
        help='Type of election to attempt. Possible values are "preferred" for preferred leader election or '
        '"unclean" for unclean leader election. REQUIRED.',
    )
    return p


def java_int(text: str, option: str) -> int:
    """``Integer.valueOf`` as joptsimple converts an option's value, when the tool reads it."""
    if re.fullmatch(r"[+-]?[0-9]+", text) and -(2**31) <= int(text) < 2**31:
        return int(text)
    raise ToolError(f"Cannot parse argument '{text}' of option {option}")


def validate(args: Any) -> str:
    """Kafka's option checks, in its order; returns the election type in upper case (any case accepted)."""
    missing = [
        n
        for n, v in (("bootstrap-server", args.bootstrap_server), ("election-type", args.election_type))
        if not v
    ]
    if missing:
        raise ToolError(f"Missing required option(s): {', '.join(missing)}")
    if args.admin_config is not None and args.command_config is not None:
        raise UsageError('Option "[admin.config]" can\'t be used with option "[command-config]"')
    given = [args.topic is not None, args.all_topic_partitions, args.path_to_json_file is not None]
    if sum(given) != 1:
        raise ToolError(f"One and only one of the following options is required: {', '.join(EXCLUSIVE)}")
    if args.topic is not None and args.partition is None:
        raise ToolError("Missing required option(s): partition")
    if args.topic is None and args.partition is not None:
        raise ToolError("Option partition is only allowed if topic is used")
    # joptsimple converts the value only when the tool asks for it, after the checks above
    election = args.election_type.upper()
    if election not in ELECTION_TYPES:
        raise ToolError(f"Cannot parse argument '{args.election_type}' of option election-type")
    return election


def parse_election_json(text: str) -> list[tuple[str, int]]:
    """The ``{"partitions": [{"topic": ..., "partition": ...}]}`` file, duplicates refused."""
    try:
        data = json.loads(text)
    except ValueError:
        raise ToolError("Replica election data is empty") from None
    if not isinstance(data, dict):
        raise ToolError(_mapping_error(f"Expected JSON object, received {_node(data)}"))
    if "partitions" not in data:
        raise ToolError('Replica election data is missing "partitions" field')
    entries = data["partitions"]
    if not isinstance(entries, list):
        raise ToolError(_mapping_error(f"Expected JSON array, received {_node(entries)}"))
    items = [
        (_field(entry, "topic", str, "String"), _field(entry, "partition", int, "Integer"))
        for entry in entries
    ]
    duplicates = sorted({f"{t}-{p}" for t, p in items if items.count((t, p)) > 1})
    if duplicates:
        raise ToolError(f"Replica election data contains duplicate partitions: [{', '.join(duplicates)}]")
    return items


def _mapping_error(message: str) -> str:
    """How Kafka's tool reports a JSON file of the wrong shape (a wrapped JsonMappingException)."""
    return f"com.fasterxml.jackson.databind.JsonMappingException: {message}"


def _node(value: Any) -> str:
    """A JSON value as Jackson prints it in its messages (compact)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _field(entry: Any, name: str, kind: type, java_name: str) -> Any:
    """``entry[name]`` of type ``kind`` (strings are not numbers, booleans and floats are not ints)."""
    if not isinstance(entry, dict):
        raise ToolError(_mapping_error(f"Expected JSON object, received {_node(entry)}"))
    if name not in entry:
        raise ToolError(_mapping_error(f"No such field exists: `{name}`"))
    value = entry[name]
    valid = isinstance(value, kind) and not isinstance(value, bool)
    if kind is int and valid and not -(2**31) <= value < 2**31:
        valid = False
    if not valid:
        raise ToolError(_mapping_error(f"Expected `{java_name}` value, received {_node(value)}"))
    return value


def describe_error(error: Any) -> str:
    """``<java exception class>: <message>`` as Kafka prints a failed partition's cause."""
    code = error.code() if hasattr(error, "code") else None
    name = "org.apache.kafka.common.errors." + EXCEPTIONS.get(code, "ApiException")
    text = error.str() if hasattr(error, "str") else str(error)
    return f"{name}: {text}"


def report(election: str, results: dict[Any, Any]) -> int:
    """Print Kafka's three kinds of lines; 1 when some partition could not be elected."""
    succeeded, noop, failed = [], [], []
    for tp, outcome in results.items():
        name = f"{tp.topic}-{tp.partition}"
        error = outcome.args[0] if outcome is not None and getattr(outcome, "args", None) else outcome
        if error is None:
            succeeded.append(name)
        elif getattr(error, "code", lambda: None)() == ELECTION_NOT_NEEDED:
            noop.append(name)
        else:
            failed.append((name, error))
    succeeded.sort()
    noop.sort()
    failed.sort(key=lambda item: item[0])
    if succeeded:
        print(f"Successfully completed leader election ({election}) for partitions {', '.join(succeeded)}")
    if noop:
        print(f"Valid replica already elected for partitions {', '.join(noop)}")
    for name, error in failed:
        print(f"Error completing leader election ({election}) for partition: {name}: {describe_error(error)}")
    if failed:
        print(f"{len(failed)} replica(s) could not be elected", file=sys.stderr)
        return 1
    return 0


DESCRIPTION = (
    "This tool attempts to elect a new leader for a set of topic partitions. The type of elections "
    "supported are preferred replicas and unclean replicas."
)


def _body(argv: list[str]) -> int:
    if not argv:  # as Kafka's tools: the description and the usage, exit 1
        raise UsageError(DESCRIPTION)
    args = build_parser().parse_args(argv)
    election = validate(args)
    wanted: list[tuple[str, int]] | None = None
    if args.path_to_json_file is not None:
        try:
            with open(args.path_to_json_file, encoding="utf-8") as handle:
                wanted = parse_election_json(handle.read())
        except FileNotFoundError:
            raise ToolError(f"java.nio.file.NoSuchFileException: {args.path_to_json_file}") from None
        except PermissionError:
            raise ToolError(f"java.nio.file.AccessDeniedException: {args.path_to_json_file}") from None
        except OSError as exc:  # a directory, an unreadable device...
            raise ToolError(f"java.io.IOException: {exc.strerror}") from None
    elif args.topic is not None:
        wanted = [(args.topic, java_int(args.partition, "partition"))]
    from confluent_kafka import ElectionType, KafkaException, TopicPartition

    from kcli.client import kafka_error_text
    from kcli.tools.admin import admin_client

    if args.admin_config is not None:
        print(
            "Option --admin.config has been deprecated and will be removed in a future version. "
            "Use --command-config instead."
        )
    config_file = args.admin_config or args.command_config
    admin = admin_client(args.bootstrap_server, config_file)
    timeout_s = api_timeout_s(config_file)
    partitions = None if wanted is None else [TopicPartition(t, p) for t, p in wanted]
    # (confluent-kafka 2.16 rejects a request_timeout keyword here, a SystemError; its default is
    # socket.timeout.ms, 60 s. Kafka's tool gives up after 30 s.)
    future = admin.elect_leaders(getattr(ElectionType, election), partitions)
    try:
        results = future.result(timeout=timeout_s)
    except KafkaException as exc:
        code = exc.args[0].code() if exc.args and hasattr(exc.args[0], "code") else None
        if code in TIMED_OUT:
            _fail_loudly("Timeout waiting for election results")
        if code == CLUSTER_AUTHORIZATION_FAILED:
            _fail_loudly("Not authorized to perform leader election")
        raise ToolError(kafka_error_text(exc)) from None
    except TimeoutError:
        _fail_loudly("Timeout waiting for election results")
    return report(election, results)


def api_timeout_s(config_file: str | None) -> float:
    """The config file's ``default.api.timeout.ms`` (Kafka's tool sets 30 s only when it is absent)."""
    if config_file is None:
        return TIMEOUT_S
    from kcli.client import load_config_file

    value = load_config_file(config_file).get("default.api.timeout.ms", "")
    return int(value) / 1000 if value.strip().isdigit() else TIMEOUT_S


def _fail_loudly(message: str) -> NoReturn:
    """Kafka prints these on stdout, then fails with the same message (on stderr)."""
    print(message)
    raise ToolError(message)


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(_body, argv, build_parser)


if __name__ == "__main__":
    sys.exit(main())
