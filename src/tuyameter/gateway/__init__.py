"""The gateway: supervised meters (source → pipeline), the store writer and the outputs."""

from tuyameter.gateway.gateway import Gateway, GatewayApi, GatewayConfigError, RunningOutput
from tuyameter.gateway.meter_config import MeterConfig

__all__ = ["Gateway", "GatewayApi", "GatewayConfigError", "MeterConfig", "RunningOutput"]
