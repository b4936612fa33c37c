"""The Tuya LAN protocol (3.1–3.5) of stock firmware, sans-IO: frames, crypto, sessions, discovery.

Nothing in this package opens a socket, sleeps or reads a clock: bytes and the
time go in, events and bytes come out (see :mod:`tuyameter.tuyalan.client`).
"""
