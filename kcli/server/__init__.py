"""The bundled broker: the process wiring (daemon, network, start/stop) over the layered packages below it."""
