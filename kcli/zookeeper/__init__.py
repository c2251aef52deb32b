"""A small ZooKeeper-mode coordination service, so lecture commands written for Kafka < 3.0 work.

It does not speak ZooKeeper's binary protocol: only kcli's own broker, ``zookeeper-shell`` and
``--zookeeper`` resolution talk to it, over line-delimited JSON on TCP (see ``protocol``). What a
student sees (the shell's output, the znode paths and the JSON a broker registers) follows Kafka.
"""
