"""The per-API authorization rules (Kafka's AuthHelper in KafkaApis), above the APIs and the ACL types of security."""
