"""Tuya flash dumps: the key-value store of BK7231N/T images, and config-region restore."""
