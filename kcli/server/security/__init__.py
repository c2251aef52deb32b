"""Broker security: listeners' protocols, SASL, TLS, principals and the authorizer (one job per file)."""
