"""Every drop-in command kcli installs, with the module whose ``main(argv)`` implements it.

One table serves ``pyproject.toml``'s console scripts (kept in step by a test), ``kcli env``'s
``bin/`` directory and the shell completions, so a new tool is added in one place.
"""

COMMANDS: dict[str, str] = {
    "kafka-server-start": "kcli.server.start",
    "kafka-server-stop": "kcli.server.stop",
    "kafka-storage": "kcli.server.storage_tool",
    "kafka-topics": "kcli.tools.topics",
    "kafka-console-producer": "kcli.tools.console_producer",
    "kafka-console-consumer": "kcli.tools.console_consumer",
    "kafka-consumer-groups": "kcli.tools.consumer_groups",
    "kafka-groups": "kcli.tools.groups",
    "kafka-configs": "kcli.tools.configs",
    "kafka-acls": "kcli.tools.acls",
    "kafka-get-offsets": "kcli.tools.get_offsets",
    "kafka-delete-records": "kcli.tools.delete_records",
    "kafka-producer-perf-test": "kcli.tools.producer_perf_test",
    "kafka-consumer-perf-test": "kcli.tools.consumer_perf_test",
    "kafka-dump-log": "kcli.tools.dump_log",
    "kafka-leader-election": "kcli.tools.leader_election",
    "kafka-transactions": "kcli.tools.transactions",
    "kafka-metadata-quorum": "kcli.tools.metadata_quorum",
    "zookeeper-server-start": "kcli.zookeeper.start",
    "zookeeper-server-stop": "kcli.zookeeper.stop",
    "zookeeper-shell": "kcli.zookeeper.shell",
    "kafka-avro-console-producer": "kcli.tools.avro_console_producer",
    "kafka-avro-console-consumer": "kcli.tools.avro_console_consumer",
    "kafka-json-schema-console-producer": "kcli.tools.json_schema_console_producer",
    "kafka-json-schema-console-consumer": "kcli.tools.json_schema_console_consumer",
    "kafka-protobuf-console-producer": "kcli.tools.protobuf_console_producer",
    "kafka-protobuf-console-consumer": "kcli.tools.protobuf_console_consumer",
    "schema-registry-start": "kcli.schema_registry.start",
    "schema-registry-stop": "kcli.schema_registry.stop",
    "kafka-rest-start": "kcli.rest_proxy.start",
    "kafka-rest-stop": "kcli.rest_proxy.stop",
    "confluent": "kcli.confluent.main",
    "connect-standalone": "kcli.connect.standalone",
    "connect-distributed": "kcli.connect.distributed",
    "kafka-run-class": "kcli.tools.run_class",
}
