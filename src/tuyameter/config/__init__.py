"""The gateway's configuration file: declared as pydantic models, errors with file:line."""

from tuyameter.config.model import ConfigFile, GatewayConfig, load_config, parse_config

__all__ = ["ConfigFile", "GatewayConfig", "load_config", "parse_config"]
