"""tuyameter: local, cloud-free software for PJ-1103A-family Tuya energy meters."""

__version__ = "0.1.0"
