"""The drop-in Kafka command-line tools, one module per command with main(argv)."""
