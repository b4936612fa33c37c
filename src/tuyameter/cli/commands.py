"""The commands, their one-line help and the module that implements each.

Only the module of the command being run is imported (``tuyameter --help`` and ``decode``
need neither asyncio's gateway, MQTT, cryptography nor the emulator); the others appear in
the help as these lines.
"""

from __future__ import annotations

#: command → (module under tuyameter.cli, one-line help), in the order the help lists them
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run_cmd", "run the gateway"),
    "demo": ("run_cmd", "the gateway against emulated meters (no hardware, no config)"),
    "sim": ("sim_cmd", "run an emulated meter on a pty or TCP port"),
    "probe": ("probe_cmd", "find out what is on a TuyaMCU link or a tuya:// address; self-test an HLW8112"),
    "calibrate": ("calibrate_cmd", "calibrate an HLW8112 board against a reference load"),
    "monitor": ("monitor_cmd", "show live decoded TuyaMCU or Tuya LAN traffic"),
    "decode": ("decode_cmd", "decode frames pasted from a log"),
    "set": ("set_cmd", "write a setting to a meter (validated against the profile)"),
    "scan": ("scan_cmd", "list Tuya devices on stock firmware that announce themselves on the LAN"),
    "energy": ("energy_cmd", "energy per hour, day or month from the store"),
    "power": ("energy_cmd", "power min/avg/max per minute from the store"),
    "profile": ("profile_cmd", "list or show device profiles"),
    "flash": ("flash_cmd", "read the Tuya config in a flash dump, or restore it into an image"),
}


def summary(command: str) -> str:
    return COMMANDS[command][1]
