"""Helpers shared by the subcommands."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import stat
import sys
import tempfile
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the profiles (pydantic) load with the command that needs them, not with --help
    from tuyameter.profiles.model import Profile

#: Exit codes of every command.
EXIT_OK, EXIT_DEVICE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class CliError(Exception):
    """A user-facing error (usage, configuration, store): printed without a traceback, exit 2."""

    exit_code = EXIT_USAGE


class DeviceError(CliError):
    """The device did not answer, or refused or failed what was asked: exit 1."""

    exit_code = EXIT_DEVICE


def emit_json(obj: object) -> None:
    print(json.dumps(obj, default=str), flush=True)


def progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def load_profile_arg(name: str, dirs: list[str] | None = None) -> Profile:
    from tuyameter.profiles.loader import find_profile
    from tuyameter.util.yamlfile import YamlFileError

    try:
        return find_profile(name, dirs or [])
    except YamlFileError as e:
        raise CliError(str(e)) from None


def load_all_profiles(dirs: list[str] | None = None) -> list[Profile]:
    from tuyameter.profiles.loader import all_profiles
    from tuyameter.util.yamlfile import YamlFileError

    try:
        return all_profiles(dirs or [])
    except YamlFileError as e:
        raise CliError(str(e)) from None


def run_async(coro: Coroutine[Any, Any, int], duration: float | None = None) -> int:
    """Run until done, Ctrl-C (exit 130), SIGTERM (a clean stop, exit 0) or ``duration`` seconds."""
    import asyncio

    async def main() -> int:
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(coro)
        interrupted = stopping = False

        def on_sigint() -> None:  # a second Ctrl-C cuts the clean stop short
            nonlocal interrupted, stopping
            interrupted = stopping = True
            task.cancel()

        def on_sigterm() -> None:
            # Once: a SIGTERM while stopping (a supervisor's after the signal reached the whole
            # process group) must not cancel the clean stop itself (its last will, its diagnostics).
            nonlocal stopping
            if not stopping:
                stopping = True
                task.cancel()

        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signal.SIGINT, on_sigint)
            loop.add_signal_handler(signal.SIGTERM, on_sigterm)
        if duration is not None:
            loop.call_later(duration, task.cancel)
        try:
            return await task
        except asyncio.CancelledError:
            return EXIT_INTERRUPTED if interrupted else EXIT_OK

    return asyncio.run(main())


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write via a temporary file in the same directory and rename: never a half-written file.

    Only a regular file (or a new one) is written: a device node, a directory, a FIFO or a
    symlink as the output is refused (OSError), so that it is never replaced by a file.
    """
    p = Path(path)
    with contextlib.suppress(FileNotFoundError):
        st = os.lstat(p)
        if stat.S_ISLNK(st.st_mode):
            raise OSError(f"{p} is a symbolic link; give the real file")
        if not stat.S_ISREG(st.st_mode):
            raise OSError(f"{p} is not a regular file (a device, directory or pipe); refusing to replace it")
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", dir=p.parent or ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_profile_file(path: str | Path, data: dict[str, Any], header: str) -> Profile:
    """Validate profile data (either layout) and write it in the quantity/binding layout."""
    import yaml

    from tuyameter.profiles.loader import load_profile, load_profile_text
    from tuyameter.util.yamlfile import YamlFileError

    p = Path(path)
    try:
        profile = load_profile_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), str(p))
    except YamlFileError as e:
        raise CliError(f"the generated profile does not validate ({e}); nothing written") from None
    text = header + yaml.safe_dump(profile.to_data(), sort_keys=False, allow_unicode=True, default_flow_style=None)
    try:
        write_atomic(p, text.encode())
    except OSError as e:
        raise CliError(f"cannot write {p}: {e}") from None
    return load_profile(p)
