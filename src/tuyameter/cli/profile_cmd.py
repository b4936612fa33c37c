"""``tuyameter profile list|show`` — the device profiles tuyameter knows."""

from __future__ import annotations

import argparse

from tuyameter.cli.commands import summary
from tuyameter.cli.common import emit_json, load_profile_arg
from tuyameter.profiles.loader import list_profiles


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("profile", help=summary("profile"))
    ps = p.add_subparsers(dest="profile_command", required=True, metavar="ACTION")
    lst = ps.add_parser("list", help="list known profiles and where they come from")
    lst.add_argument("--profile-dir", action="append", default=[])
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=cmd_list)
    show = ps.add_parser("show", help="show a profile's DPs")
    show.add_argument("name")
    show.add_argument("--profile-dir", action="append", default=[])
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_show)
    imp = ps.add_parser("import-autoexec", help="turn an OpenBeken autoexec.bat into a profile")
    imp.add_argument("file")
    imp.add_argument("-o", "--output", required=True, help="profile file to write (.yaml)")
    imp.add_argument("--name", help="profile name (default: from the output file name)")
    imp.add_argument("--profile-dir", action="append", default=[])
    imp.add_argument("--json", action="store_true")
    imp.set_defaults(func=cmd_import)
    exp = ps.add_parser("export-autoexec", help="write an OpenBeken autoexec.bat that configures a profile's meter")
    exp.add_argument("profile", help="profile name or file")
    exp.add_argument("-o", "--output", help="file to write (default: standard output)")
    exp.add_argument("--first-channel", type=int, default=1, help="first OpenBeken channel to use (default 1)")
    exp.add_argument("--profile-dir", action="append", default=[])
    exp.add_argument("--json", action="store_true")
    exp.set_defaults(func=cmd_export)


def cmd_list(args: argparse.Namespace) -> int:
    found = list_profiles(args.profile_dir)
    for name, path in sorted(found.items()):
        prof = load_profile_arg(str(path))
        if args.json:
            emit_json({"name": name, "file": str(path), "description": prof.description})
        else:
            print(f"{name:<28} {prof.description}  [{path}]")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    prof = load_profile_arg(args.name, args.profile_dir)
    if args.json:
        emit_json(
            {
                "name": prof.name,
                "description": prof.description,
                "dps": [
                    {
                        "dp": d.dp,
                        "name": d.name,
                        "type": d.type.name.lower(),
                        "scale": d.scale,
                        "unit": d.unit,
                        "access": d.access,
                        "range": d.range,
                        "label": d.label,
                        "private": d.private,
                    }
                    for d in prof.dps
                ],
            }
        )
        return 0
    print(f"{prof.name}: {prof.description}\n  file: {prof.source}\n  baud {prof.baud}, Wi-Fi state {prof.wifi_state}")
    for d in sorted(prof.dps, key=lambda d: d.dp):
        rng = f" range {d.range[0]}..{d.range[1]}" if d.range else ""
        flags = " private" if d.private else ""
        print(
            f"  dp{d.dp:<4} {d.name:<30} {d.type.name.lower():<6} ×{d.scale:g} {d.unit or '':<4} {d.access}{rng}{flags}"
        )
    for c in prof.computed:
        print(f"  {'':6} {c.name:<30} = {' + '.join(c.sum)}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    import re
    from pathlib import Path

    from tuyameter.cli.common import CliError, load_all_profiles, write_profile_file
    from tuyameter.interop.autoexec import parse_autoexec
    from tuyameter.interop.to_profile import autoexec_to_profile

    src, out = Path(args.file), Path(args.output)
    try:
        text = src.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise CliError(f"cannot read {src}: {e}") from None
    name = args.name or re.sub(r"[^a-z0-9]+", "_", out.stem.lower()).strip("_") or "imported"
    try:
        res = autoexec_to_profile(parse_autoexec(text), name, load_all_profiles(args.profile_dir))
    except ValueError as e:
        raise CliError(f"{src}: {e}") from None
    header = f"# Imported from {src.name} by tuyameter profile import-autoexec.\n"
    prof = write_profile_file(out, res.data, header)
    if args.json:
        emit_json({"profile": prof.name, "file": str(out), "dps": len(prof.dps), "based_on": res.based_on,
                   "notes": res.notes})  # fmt: skip
    else:
        based = f", based on {res.based_on}" if res.based_on else ""
        print(f"wrote {out}: profile {prof.name} with {len(prof.dps)} DPs{based}")
        for n in res.notes:
            print(f"  - {n}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from tuyameter.cli.common import CliError, write_atomic
    from tuyameter.interop.to_autoexec import profile_to_autoexec

    prof = load_profile_arg(args.profile, args.profile_dir)
    if not 0 <= args.first_channel <= 40:
        raise CliError("--first-channel must be 0..40 (OpenBeken has 64 channels; the meter needs about 30)")
    ex = profile_to_autoexec(prof, args.first_channel)
    if args.output:
        try:
            write_atomic(args.output, ex.text.encode())
        except OSError as e:
            raise CliError(f"cannot write {args.output}: {e}") from None
    if args.json:
        emit_json({"profile": prof.name, "file": args.output, "script": None if args.output else ex.text,
                   "channels": ex.channels, "notes": ex.notes})  # fmt: skip
    elif args.output:
        print(f"wrote {args.output}: {len(ex.channels)} channels for profile {prof.name}")
        for n in ex.notes:
            print(f"  - {n}")
    else:
        print(ex.text, end="")
    return 0
