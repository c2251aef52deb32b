"""The broker's request codec and fast response encoders (the record format is kcli.protocol.records)."""
