"""The web page: server-rendered templates over the same application layer as the HTTP API."""
