"""``zookeeper-shell HOST:PORT [command]``: browse the coordination service like ZooKeeper's shell.

``ls /brokers/ids`` prints ``[0]`` and ``get /brokers/ids/0`` the broker's registration JSON, after
the connection lines ZooKeeper's shell prints, so the lecture's and textbooks' transcripts match.
Without a command it is a small REPL (``ls``, ``get``, ``stat``, ``help``, ``quit``).

``ls -R`` walks the tree as ZooKeeper's ``ZKUtil.visitSubTreeDFS`` does (a node's sorted children,
then each child's subtree); ``stat PATH``, ``get -s`` and ``ls -s`` print ZooKeeper's stat block.
kcli's coordination service keeps no transaction ids, times or versions, so those fields print as
zero (the epoch for times); ``dataLength`` and ``numChildren`` are the node's own. The tree is the
brokers' and the controller's view of the cluster, so it is read-only here: a write command
(``create``, ``set``, ``delete``...) gets one line saying so and exit status 1.
"""

from __future__ import annotations

import shlex
import sys

from kcli.zookeeper.client import NotListening, RequestFailed, SyncClient
from kcli.zookeeper.connect import START_HINT, parse_connect

USAGE = "USAGE: zookeeper-shell zookeeper_host:port[/path] [-zk-tls-config-file file] [args...]"
HELP = """ZooKeeper -server host:port cmd args
\tget [-s] [-w] path
\tls [-s] [-w] [-R] path
\tstat [-w] path
\thelp
\tquit"""
#: ZooKeeper's commands that change the tree (ZooKeeperMain's command table).
WRITE_COMMANDS = frozenset(
    {"create", "set", "delete", "deleteall", "rmr", "setAcl", "setquota", "delquota", "addauth", "reconfig"}
)
EPOCH = "Thu Jan 01 00:00:00 UTC 1970"  # java.util.Date(0).toString() in UTC


def _children(client: SyncClient, path: str) -> list[str]:
    try:
        return list(client.request("ls", path=path)["children"])
    except RequestFailed as exc:
        if exc.code == "NoNode":
            exc.args = (path,)  # report the path that is missing, not the one typed
        raise


def _list(client: SyncClient, path: str, recursive: bool) -> list[str]:
    children = _children(client, path)
    if not recursive:
        return ["[" + ", ".join(children) + "]"]
    return [path, *_subtree(client, path, children)]


def _subtree(client: SyncClient, path: str, children: list[str] | None = None) -> list[str]:
    """ZKUtil.visitSubTreeDFS below ``path``: the sorted children, then each child's subtree."""
    names = sorted(_children(client, path) if children is None else children)
    paths = [("" if path == "/" else path) + "/" + name for name in names]
    lines = list(paths)
    for child in paths:
        try:
            lines += _subtree(client, child)
        except RequestFailed as exc:
            if exc.code != "NoNode":  # gone meanwhile: ZooKeeper skips it too
                raise
    return lines


def stat_lines(data: str | None, children: int) -> list[str]:
    """ZooKeeper's stat block (StatPrinter); see the module docstring for the zero fields."""
    length = 0 if data in (None, "null") else len(data.encode())  # zkCli prints a node without data as null
    return [
        "cZxid = 0x0",
        f"ctime = {EPOCH}",
        "mZxid = 0x0",
        f"mtime = {EPOCH}",
        "pZxid = 0x0",
        "cversion = 0",
        "dataVersion = 0",
        "aclVersion = 0",
        "ephemeralOwner = 0x0",
        f"dataLength = {length}",
        f"numChildren = {children}",
    ]


def _data(client: SyncClient, path: str) -> str | None:
    try:
        return client.request("get", path=path)["data"]
    except RequestFailed as exc:
        if exc.code == "NoNode":
            raise
        return None


def _stat(client: SyncClient, path: str) -> list[str]:
    children = _children(client, path)
    return stat_lines(_data(client, path), len(children))


def execute(client: SyncClient, words: list[str]) -> tuple[int, list[str]]:
    """Run one shell command; (exit status, lines to print)."""
    if not words:
        return 0, []
    if words[0] in WRITE_COMMANDS:
        return 1, [
            f"{words[0]}: kcli's coordination service is read-only: its tree is what the brokers registered "
            "and the controller decided; change topics with kafka-topics and configs with kafka-configs"
        ]
    command, args = words[0], [w for w in words[1:] if w != "-w"]
    with_stat = "-s" in args
    recursive = "-R" in args
    args = [a for a in args if a not in ("-R", "-s")]
    try:
        if command == "ls" and len(args) == 1:
            lines = _list(client, args[0], recursive)
            return 0, lines + (_stat(client, args[0]) if with_stat and not recursive else [])
        if command == "get" and len(args) == 1:
            lines = [client.request("get", path=args[0])["data"]]
            return 0, lines + (_stat(client, args[0]) if with_stat else [])
        if command == "stat" and len(args) == 1:
            return 0, _stat(client, args[0])
    except RequestFailed as exc:
        if exc.code == "NoNode":
            return 1, [f"Node does not exist: {exc.args[0] if recursive else args[0]}"]
        return 1, [str(exc)]
    if command in ("ls", "get", "stat"):
        usage = {"ls": "ls [-s] [-w] [-R] path", "get": "get [-s] [-w] path", "stat": "stat [-w] path"}
        return 1, [usage[command]]
    return 1, [HELP]


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr)
        return 1
    address, words = args[0], args[1:]
    try:
        connect = parse_connect(address)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"Connecting to {address}")
    try:
        client = SyncClient(connect, 5.0).open()
    except NotListening:
        print(
            f"Unable to connect to {connect.display}: nothing listens there; start ZooKeeper first ({START_HINT})",
            file=sys.stderr,
        )
        return 1
    try:
        if not words:
            print("Welcome to ZooKeeper!")
        print()
        print("WATCHER::")
        print()
        print("WatchedEvent state:SyncConnected type:None path:null")
        if words:
            status, lines = execute(client, words)
            for line in lines:
                print(line, file=sys.stdout if status == 0 else sys.stderr)
            return status
        return _repl(client, address)
    except (OSError, ConnectionError) as exc:
        print(f"Lost the connection to {connect.display}: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()


def _repl(client: SyncClient, address: str) -> int:
    count = 0
    while True:
        try:
            line = input(f"[zk: {address}(CONNECTED) {count}] " if sys.stdin.isatty() else "")
        except (EOFError, KeyboardInterrupt):
            return 0
        count += 1
        words = shlex.split(line)
        if words and words[0] in ("quit", "exit", "close"):
            return 0
        _, lines = execute(client, words)
        for out in lines:
            print(out)


if __name__ == "__main__":
    sys.exit(main())
