"""The web page and its HTTP API, served by the gateway (``tuyameter run --web``)."""
