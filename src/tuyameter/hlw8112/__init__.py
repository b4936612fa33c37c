"""The HLW8112 metering chip, sans-IO: registers, the UART and SPI wire formats, conversions.

No I/O here: bytes in and out, as :mod:`tuyameter.tuyamcu` does for the TuyaMCU protocol.
"""
