"""``kafka-run-class [-daemon] [-name NAME] [-loggc] CLASS [args...]``: Kafka's class launcher.

Labs type Java class names: the Kafka Streams demos (``org.apache.kafka.streams.examples.
wordcount.WordCountDemo``), and tools under their old or new class names (``kafka.tools.
GetOffsetShell``, ``kafka.admin.TopicCommand``, ``org.apache.kafka.tools.ConsoleProducer``...).
Each maps to the kcli module doing the same job and runs with the remaining arguments. A class
that is part of Kafka but that kcli does not run gets one line saying so (and what to use
instead, where there is something); any other name gets Java's "Could not find or load main
class" message. ``-daemon`` runs the class in the background, output in ``$KCLI_HOME/logs``.
"""

from __future__ import annotations

import importlib
import sys

#: Java class -> kcli module with ``main(argv)``.
CLASSES: dict[str, str] = {
    # Kafka Streams demos and the Streams tutorial's classes
    "org.apache.kafka.streams.examples.wordcount.WordCountDemo": "kcli.streams.wordcount",
    "org.apache.kafka.streams.examples.pipe.PipeDemo": "kcli.streams.pipe",
    "myapps.WordCount": "kcli.streams.wordcount",
    "myapps.Pipe": "kcli.streams.pipe",
    "myapps.LineSplit": "kcli.streams.linesplit",
    # Tools, under their Kafka 4.x and older class names
    "kafka.Kafka": "kcli.server.start",
    "kafka.tools.StorageTool": "kcli.server.storage_tool",
    "org.apache.kafka.tools.TopicCommand": "kcli.tools.topics",
    "kafka.admin.TopicCommand": "kcli.tools.topics",
    "org.apache.kafka.tools.ConsoleProducer": "kcli.tools.console_producer",
    "kafka.tools.ConsoleProducer": "kcli.tools.console_producer",
    "org.apache.kafka.tools.consumer.ConsoleConsumer": "kcli.tools.console_consumer",
    "kafka.tools.ConsoleConsumer": "kcli.tools.console_consumer",
    "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand": "kcli.tools.consumer_groups",
    "kafka.admin.ConsumerGroupCommand": "kcli.tools.consumer_groups",
    "kafka.admin.ConfigCommand": "kcli.tools.configs",
    "org.apache.kafka.tools.GetOffsetShell": "kcli.tools.get_offsets",
    "kafka.tools.GetOffsetShell": "kcli.tools.get_offsets",
    "org.apache.kafka.tools.DeleteRecordsCommand": "kcli.tools.delete_records",
    "kafka.admin.DeleteRecordsCommand": "kcli.tools.delete_records",
    "org.apache.kafka.tools.ProducerPerformance": "kcli.tools.producer_perf_test",
    "kafka.tools.ProducerPerformance": "kcli.tools.producer_perf_test",
    "org.apache.kafka.tools.ConsumerPerformance": "kcli.tools.consumer_perf_test",
    "kafka.tools.ConsumerPerformance": "kcli.tools.consumer_perf_test",
    "kafka.tools.DumpLogSegments": "kcli.tools.dump_log",
    "org.apache.kafka.tools.TransactionsCommand": "kcli.tools.transactions",
    "org.apache.kafka.tools.MetadataQuorumCommand": "kcli.tools.metadata_quorum",
    "org.apache.kafka.tools.LeaderElectionCommand": "kcli.tools.leader_election",
    "kafka.admin.LeaderElectionCommand": "kcli.tools.leader_election",
    "org.apache.zookeeper.server.quorum.QuorumPeerMain": "kcli.zookeeper.start",
    "org.apache.zookeeper.ZooKeeperMainWithTlsSupportForKafka": "kcli.zookeeper.shell",
    "org.apache.zookeeper.ZooKeeperMain": "kcli.zookeeper.shell",
    "org.apache.kafka.connect.cli.ConnectStandalone": "kcli.connect.standalone",
    "org.apache.kafka.connect.cli.ConnectDistributed": "kcli.connect.distributed",
    "io.confluent.kafka.schemaregistry.rest.SchemaRegistryMain": "kcli.schema_registry.start",
    "io.confluent.kafka.formatter.AvroMessageFormatter": "kcli.tools.avro_console_consumer",
}

#: Kafka classes kcli knows but does not run, with the reason (and an alternative where there is one).
NOT_RUN: dict[str, str] = {
    "org.apache.kafka.streams.examples.wordcount.WordCountProcessorDemo": "the Processor API demo is not ported; "
    "WordCountDemo computes the same counts",
    "org.apache.kafka.streams.examples.wordcount.WordCountTransformerDemo": "the Transformer API demo is not ported; "
    "WordCountDemo computes the same counts",
    "org.apache.kafka.streams.examples.temperature.TemperatureDemo": "not ported",
    "org.apache.kafka.streams.examples.pageview.PageViewTypedDemo": "not ported",
    "org.apache.kafka.streams.examples.pageview.PageViewUntypedDemo": "not ported",
    "org.apache.kafka.tools.StreamsResetter": "not built yet",
    "kafka.admin.AclCommand": "kcli's broker has no authorizer yet",
    "org.apache.kafka.tools.BrokerApiVersionsCommand": "not built yet",
    "org.apache.kafka.tools.ClientMetricsCommand": "not built yet",
    "org.apache.kafka.tools.ClusterTool": "not built yet",
    "org.apache.kafka.tools.consumer.ConsoleShareConsumer": "share groups (KIP-932) are not supported",
    "org.apache.kafka.tools.DelegationTokenCommand": "kcli's broker has no delegation tokens",
    "org.apache.kafka.tools.EndToEndLatency": "not built yet; kafka-producer-perf-test and "
    "kafka-consumer-perf-test measure throughput",
    "org.apache.kafka.tools.FeatureCommand": "not built yet",
    "org.apache.kafka.tools.JmxTool": "kcli's broker is not a JVM and has no JMX",
    "kafka.tools.JmxTool": "kcli's broker is not a JVM and has no JMX",
    "org.apache.kafka.tools.LogDirsCommand": "not built yet",
    "org.apache.kafka.tools.MetadataQuorumCommand": "not built yet",
    "org.apache.kafka.shell.MetadataShell": "not built yet",
    "org.apache.kafka.tools.reassign.ReassignPartitionsCommand": "partition reassignment is not built yet",
    "kafka.admin.ReassignPartitionsCommand": "partition reassignment is not built yet",
    "org.apache.kafka.tools.ReplicaVerificationTool": "not built yet",
    "kafka.tools.ReplicaVerificationTool": "not built yet",
    "org.apache.kafka.tools.VerifiableConsumer": "not built yet",
    "org.apache.kafka.tools.VerifiableProducer": "not built yet",
    "org.apache.kafka.connect.mirror.MirrorMaker": "MirrorMaker 2 is not built yet",
    "kafka.tools.MirrorMaker": "MirrorMaker is not built yet",
    "org.apache.kafka.tools.ConnectPluginPath": "kcli's Connect runs Python connectors (see plugin.path in the README)",
    "kafka.admin.ZkSecurityMigrator": "kcli's ZooKeeper service has no ACLs",
    "org.apache.kafka.trogdor.agent.Agent": "Trogdor is not part of kcli",
    "org.apache.kafka.trogdor.coordinator.Coordinator": "Trogdor is not part of kcli",
}

USAGE = "USAGE: kafka-run-class.sh [-daemon] [-name servicename] [-loggc] classname [opts]"


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    daemon = False
    while args and args[0] in ("-daemon", "-name", "-loggc"):
        option = args.pop(0)
        if option == "-daemon":
            daemon = True
        elif option == "-name" and args:
            args.pop(0)
    if not args:
        print(USAGE, file=sys.stderr)
        return 1
    class_name, rest = args[0], args[1:]
    module = CLASSES.get(class_name)
    if module is None:
        reason = NOT_RUN.get(class_name)
        if reason is not None:
            print(
                f"kafka-run-class: {class_name} is part of Apache Kafka but kcli does not run it ({reason})",
                file=sys.stderr,
            )
            return 1
        print(f"Error: Could not find or load main class {class_name}", file=sys.stderr)
        print(f"Caused by: java.lang.ClassNotFoundException: {class_name}", file=sys.stderr)
        print(
            "kcli runs these classes: " + ", ".join(sorted(CLASSES)),
            file=sys.stderr,
        )
        return 1
    if daemon:
        from kcli.daemons import detach

        detach(module, rest, f"{class_name.rsplit('.', 1)[-1]}.out")
        return 0
    from kcli.commands import COMMANDS

    names = [name for name, mod in COMMANDS.items() if mod == module]
    sys.argv[0] = names[0] if names else class_name
    return int(importlib.import_module(module).main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
