"""kafka-dump-log: print the batches and records of segment files, as Kafka's DumpLogSegments.

Reads the files directly (no broker): ``.log`` segments, ``.index``, ``.timeindex`` and the
aborted-transaction ``.txnindex``. With ``--print-data-log`` (which implies ``--deep-iteration``)
every record is printed after its batch, key and payload as UTF-8 text, transaction markers as
``endTxnMarker: COMMIT coordinatorEpoch: N``; ``--offsets-decoder`` prints ``__consumer_offsets``
records as the JSON Kafka's offsets decoder prints (see ``offsets_decoder.py``), and
``--transaction-log-decoder`` ``__transaction_state`` records as Kafka's TransactionLog does.

A batch whose CRC does not match shows ``isvalid: false`` on its line, as in Kafka; with
``--deep-iteration`` its records are printed as far as they decode, and the file's corrupt batches
are summed up on stderr (positions and offsets), so a damaged batch is never passed over.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TextIO

from kcli.cluster_view.log_segments import Batch, SegmentError, iter_batches, read_index, read_time_index
from kcli.tools import cli
from kcli.tools.cli import ToolParser, UsageError

PROG = "kafka-dump-log"
_CONTROL_TYPES = {0: "ABORT", 1: "COMMIT", 2: "QUORUM_REASSIGNMENT", 3: "LEADER_CHANGE"}


def build_parser() -> ToolParser:
    """The option parser (also used to generate shell completions)."""
    p = ToolParser(
        PROG,
        "This tool helps to parse a log file and dump its contents to the console, useful for debugging a "
        "seemingly corrupt log segment.",
    )
    p.add_argument(
        "--files", metavar="file1, file2, ...", help="REQUIRED: Comma separated data and index files to dump."
    )
    p.add_argument("--print-data-log", action="store_true", help="Print the messages' content.")
    p.add_argument("--deep-iteration", action="store_true", help="Print every record, not only batches.")
    p.add_argument(
        "--verify-index-only", action="store_true", help="Only verify the index, print nothing else."
    )
    p.add_argument("--index-sanity-check", action="store_true", help="Only check the index sanity.")
    p.add_argument(
        "--max-message-size",
        type=int,
        default=5 * 1024 * 1024,
        metavar="size",
        help="Size of largest message.",
    )
    p.add_argument(
        "--max-bytes", type=int, default=2**31 - 1, metavar="size", help="Limit the bytes of batches read."
    )
    p.add_argument("--skip-record-metadata", action="store_true", help="Do not print each record's metadata.")
    p.add_argument("--key-decoder-class", nargs="?", const="kafka.serializer.StringDecoder", metavar="String")
    p.add_argument(
        "--value-decoder-class", nargs="?", const="kafka.serializer.StringDecoder", metavar="String"
    )
    p.add_argument(
        "--offsets-decoder",
        action="store_true",
        help="If set, log data will be parsed as offset data from the __consumer_offsets topic.",
    )
    p.add_argument(
        "--transaction-log-decoder",
        action="store_true",
        help="If set, log data will be parsed as transaction metadata from the __transaction_state topic.",
    )
    p.add_argument(
        "--cluster-metadata-decoder",
        action="store_true",
        help="If set, log data will be parsed as cluster metadata records.",
    )
    return p


def _base_offset(path: str) -> int:
    try:
        return int(os.path.basename(path).split(".")[0])
    except ValueError:
        return 0


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def batch_line(batch: Batch, position: int) -> str:
    """DumpLogSegments' batch line (magic 2)."""
    horizon = batch.delete_horizon_ms
    horizon_text = "OptionalLong.empty" if horizon is None else f"OptionalLong[{horizon}]"
    return (
        f"baseOffset: {batch.base_offset} lastOffset: {batch.last_offset} count: {batch.count} "
        f"baseSequence: {batch.base_sequence} lastSequence: {batch.last_sequence} producerId: {batch.producer_id} "
        f"producerEpoch: {batch.producer_epoch} partitionLeaderEpoch: {batch.partition_leader_epoch} "
        f"isTransactional: {str(batch.is_transactional).lower()} isControl: {str(batch.is_control).lower()} "
        f"deleteHorizonMs: {horizon_text} position: {position} {batch.timestamp_type}: {batch.max_timestamp} "
        f"size: {batch.size} magic: {batch.magic} compresscodec: {batch.compression} crc: {batch.crc} "
        f"isvalid: {str(batch.is_valid()).lower()}"
    )


class DecodeFailure(Exception):
    """A record the chosen decoder cannot print (Kafka's tool stops there too)."""


def dump_log(
    path: str,
    data: bytes,
    print_data: bool,
    deep: bool,
    skip_metadata: bool,
    max_bytes: int,
    out: TextIO,
    offsets_decoder: bool = False,
    transaction_log: bool = False,
    metadata_decoder: bool = False,
) -> None:
    import struct

    from kcli.tools import metadata_decoder as metadata

    if path.endswith(".log"):
        print(f"Log starting offset: {_base_offset(path)}", file=out)
    elif path.endswith(".checkpoint"):  # a KRaft snapshot: <end offset>-<epoch>.checkpoint
        end, _, epoch = os.path.basename(path)[: -len(".checkpoint")].partition("-")
        print(f"Snapshot end offset: {int(end)}, epoch: {int(epoch)}", file=out)
    valid = 0
    last_offset = -1
    non_consecutive: list[tuple[int, int]] = []
    corrupt: list[tuple[int, int, int]] = []  # (position, base offset, last offset)
    for batch in iter_batches(data, max_bytes):
        print(batch_line(batch, valid), file=out)
        if not batch.is_valid():
            corrupt.append((valid, batch.base_offset, batch.last_offset))
        if deep:
            try:
                records = batch.records()
            except (SegmentError, Exception) as exc:  # corrupt or unsupported compression
                print(f"Could not read the records of the batch at position {valid}: {exc}", file=sys.stderr)
                records = []
            for record in records:
                if last_offset != -1 and record.offset != last_offset + 1:
                    non_consecutive.append((last_offset, record.offset))
                last_offset = record.offset
                prefix = "| "
                line = ""
                if not skip_metadata:
                    key_size = -1 if record.key is None else len(record.key)
                    value_size = -1 if record.value is None else len(record.value)
                    header_keys = ",".join(k for k, _ in record.headers)
                    line = (
                        f"{prefix}offset: {record.offset} {batch.timestamp_type}: {record.timestamp} "
                        f"keySize: {key_size} valueSize: {value_size} sequence: {record.sequence} "
                        f"headerKeys: [{header_keys}]"
                    )
                    prefix = " "
                    if batch.is_control and record.key is not None and len(record.key) >= 4:
                        _version, control_type = struct.unpack_from(">hh", record.key)
                        name = _CONTROL_TYPES.get(control_type)
                        if (
                            name in ("ABORT", "COMMIT")
                            and record.value is not None
                            and len(record.value) >= 6
                        ):
                            (epoch,) = struct.unpack_from(">i", record.value, 2)
                            line += f" endTxnMarker: {name} coordinatorEpoch: {epoch}"
                        else:
                            line += metadata.control_text(record.key, record.value) or (
                                f" controlType: {name or 'UNKNOWN'}({control_type})"
                            )
                if print_data and not batch.is_control:
                    key, payload = (
                        (None, metadata.payload(record.value, record.offset))
                        if metadata_decoder
                        else _texts(record, offsets_decoder, transaction_log)
                    )
                    if key is not None:
                        line += f"{prefix}key: {key}"
                        prefix = " "
                    if payload is not None:
                        line += f" payload: {payload}"
                print(line, file=out)
        valid += batch.size
    trailing = len(data) - valid
    if trailing > 0 and max_bytes == 2**31 - 1:
        print(f"Found {trailing} invalid bytes at the end of {os.path.basename(path)}", file=out)
    if corrupt and deep:
        print(
            f"Found {len(corrupt)} corrupt batch(es) (CRC mismatch) in {os.path.abspath(path)}",
            file=sys.stderr,
        )
        for position, base, last in corrupt:
            print(f"  position {position}: offsets {base} to {last}", file=sys.stderr)
    if non_consecutive:
        print(f"Non-consecutive offsets in {os.path.abspath(path)}", file=sys.stderr)
        for first, second in non_consecutive:
            print(f"  {first} is followed by {second}", file=sys.stderr)


def _texts(record, offsets_decoder: bool, transaction_log: bool = False) -> tuple[str | None, str | None]:  # type: ignore[no-untyped-def]
    """What to print after ``key:`` and ``payload:`` for one record."""
    if offsets_decoder:
        from kcli.tools.offsets_decoder import decode

        try:
            return decode(record.offset, record.key, record.value)
        except ValueError as exc:
            raise DecodeFailure(str(exc)) from None
    if transaction_log:
        from kcli.server.transaction.log_format import describe

        try:
            key, payload = describe(record.key, record.value)
        except ValueError as exc:
            raise DecodeFailure(str(exc)) from None
        return key, payload or None
    return (
        None if record.key is None else _text(record.key),
        None if record.value is None else _text(record.value),
    )


def _is_snapshot(path: str) -> bool:
    """KRaft's snapshot names: ``<20-digit end offset>-<10-digit epoch>.checkpoint``."""
    end, _, epoch = os.path.basename(path)[: -len(".checkpoint")].partition("-")
    return end.isdigit() and epoch.isdigit()


def _sibling(path: str, suffix: str) -> str:
    directory = os.path.dirname(os.path.abspath(path))
    return os.path.join(directory, os.path.basename(path).split(".")[0] + suffix)


def dump_index(path: str, data: bytes, verify_only: bool, sanity_only: bool, out: TextIO) -> None:
    base = _base_offset(path)
    if not data:
        print(f"{path} is empty.", file=out)
        return
    if sanity_only:
        if len(data) % 8:
            print(
                f"Index file {path} is corrupt, found {len(data)} bytes which is not a multiple of 8.",
                file=sys.stderr,
            )
            return
        print(f"{path} passed sanity check.", file=out)
        return
    try:
        with open(_sibling(path, ".log"), "rb") as handle:
            log_data = handle.read()
    except OSError:
        log_data = b""
    batches = {b.position: b for b in iter_batches(log_data)}
    mismatches = []
    for offset, position in read_index(data, base):
        batch = batches.get(position)
        if batch is not None and batch.last_offset != offset:
            mismatches.append((offset, batch.last_offset))
        if not verify_only:
            print(f"offset: {offset} position: {position}", file=out)
    if mismatches:
        print(f"Mismatches in :{os.path.abspath(path)}", file=sys.stderr)
        for index_offset, log_offset in mismatches:
            print(f"  Index offset: {index_offset}, log offset: {log_offset}", file=sys.stderr)


def dump_time_index(path: str, data: bytes, verify_only: bool, sanity_only: bool, out: TextIO) -> None:
    base = _base_offset(path)
    if sanity_only:
        print(f"{path} passed sanity check.", file=out)
        return
    for timestamp, offset in read_time_index(data, base):
        if not verify_only:
            print(f"timestamp: {timestamp} offset: {offset}", file=out)


def dump_txn_index(path: str, data: bytes, out: TextIO) -> None:
    """Kafka's dumpTxnIndex: one line per aborted transaction (34-byte entries)."""
    import struct

    for pos in range(0, len(data) - len(data) % 34, 34):
        version, producer_id, first, last, lso = struct.unpack_from(">hqqqq", data, pos)
        print(
            f"version: {version} producerId: {producer_id} firstOffset: {first} lastOffset: {last} "
            f"lastStableOffset: {lso}",
            file=out,
        )


def _body(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if not args.files:
        raise UsageError('Missing required argument "files"')
    print_data = bool(
        args.print_data_log
        or args.offsets_decoder
        or args.transaction_log_decoder
        or args.cluster_metadata_decoder
        or args.key_decoder_class
        or args.value_decoder_class
    )
    deep = args.deep_iteration or print_data
    out = sys.stdout
    for path in args.files.split(","):
        print(f"Dumping {path}", file=out)
        suffix = os.path.splitext(path)[1]
        if suffix not in (".log", ".index", ".timeindex", ".txnindex", ".checkpoint"):
            print(f"Ignoring unknown file {path}", file=sys.stderr)
            continue
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            print(f"{path} ({exc.strerror})", file=sys.stderr)
            return 1
        if suffix == ".log" or (suffix == ".checkpoint" and _is_snapshot(path)):
            try:
                dump_log(
                    path,
                    data,
                    print_data,
                    deep,
                    args.skip_record_metadata,
                    args.max_bytes,
                    out,
                    offsets_decoder=args.offsets_decoder,
                    transaction_log=args.transaction_log_decoder,
                    metadata_decoder=args.cluster_metadata_decoder,
                )
            except DecodeFailure as exc:
                out.flush()
                print(f"Error: {exc}", file=sys.stderr)
                return 1
        elif suffix == ".index":
            dump_index(path, data, args.verify_index_only, args.index_sanity_check, out)
        elif suffix == ".timeindex":
            dump_time_index(path, data, args.verify_index_only, args.index_sanity_check, out)
        elif suffix == ".txnindex":
            dump_txn_index(path, data, out)
        else:
            print(f"Ignoring unknown file {path}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(_body, argv, build_parser)


if __name__ == "__main__":
    sys.exit(main())
