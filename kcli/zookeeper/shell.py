"""``zookeeper-shell HOST:PORT [command]``: browse the coordination service like ZooKeeper's shell.

``ls /brokers/ids`` prints ``[0]`` and ``get /brokers/ids/0`` the broker's registration JSON, after
the connection lines ZooKeeper's shell prints, so the lecture's and textbooks' transcripts match.
Without a command it is a small REPL (``ls``, ``get``, ``help``, ``quit``).
"""

from __future__ import annotations

import shlex
import sys

from kcli.zookeeper.client import NotListening, RequestFailed, SyncClient
from kcli.zookeeper.protocol import START_HINT, parse_connect

USAGE = "USAGE: zookeeper-shell zookeeper_host:port[/path] [-zk-tls-config-file file] [args...]"
HELP = """ZooKeeper -server host:port cmd args
\tget [-s] [-w] path
\tls [-s] [-w] [-R] path
\thelp
\tquit"""


def _list(client: SyncClient, path: str, recursive: bool) -> list[str]:
    try:
        children = client.request("ls", path=path)["children"]
    except RequestFailed as exc:
        if exc.code == "NoNode":
            exc.args = (path,)  # report the path that is missing, not the one typed
        raise
    if not recursive:
        return ["[" + ", ".join(children) + "]"]
    lines = [path]
    for child in children:
        lines += _list(client, path.rstrip("/") + "/" + child, True)
    return lines


def execute(client: SyncClient, words: list[str]) -> tuple[int, list[str]]:
    """Run one shell command; (exit status, lines to print)."""
    if not words:
        return 0, []
    command, args = words[0], [w for w in words[1:] if w not in ("-s", "-w")]
    recursive = "-R" in args
    args = [a for a in args if a != "-R"]
    try:
        if command == "ls" and len(args) == 1:
            return 0, _list(client, args[0], recursive)
        if command == "get" and len(args) == 1:
            return 0, [client.request("get", path=args[0])["data"]]
    except RequestFailed as exc:
        if exc.code == "NoNode":
            return 1, [f"Node does not exist: {exc.args[0] if recursive else args[0]}"]
        return 1, [str(exc)]
    if command in ("ls", "get"):
        return 1, [f"{command} [-s] [-w] {'[-R] ' if command == 'ls' else ''}path"]
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
