"""A multi-broker cluster: the controller, broker registration, and follower replication.

One broker without ``zookeeper.connect`` or a controller quorum keeps its own catalog (it is its
own controller). Brokers in ZooKeeper mode, and KRaft brokers whose ``process.roles`` is only
``broker``, take their metadata from a controller: hosted by ``zookeeper-server-start`` in
ZooKeeper mode, by a ``process.roles=controller`` node in KRaft mode.
"""
