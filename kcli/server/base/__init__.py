"""The broker's settings and its replicas' state: the bottom layer above storage, imported by every package above it."""
