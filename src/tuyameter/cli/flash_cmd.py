"""``tuyameter flash inspect|restore-config`` — Tuya config in flash dumps, and putting it back."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import Any

from tuyameter.cli.commands import summary
from tuyameter.cli.common import CliError, emit_json, load_all_profiles, write_atomic, write_profile_file
from tuyameter.flash.kv import FlashError, Store, read_store
from tuyameter.flash.schema import prop_of
from tuyameter.flash.summary import Summary, is_secret, mask, redact, summarize


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("flash", help=summary("flash"))
    ps = p.add_subparsers(dest="flash_command", required=True, metavar="ACTION")
    ins = ps.add_parser("inspect", help="decode the Tuya key-value store of a 72 KB config file or a 2 MB dump")
    ins.add_argument("file")
    ins.add_argument("--json", action="store_true")
    ins.add_argument("--show-secrets", action="store_true", help="print local key, auth key, passwords unmasked")
    ins.add_argument("--values", action="store_true", help="print every value, not only the summary")
    ins.add_argument("--profile", metavar="OUT.yaml", help="write a tuyameter profile from the stored DP schema")
    ins.add_argument("--name", help="name of that profile (default: from the file name)")
    ins.add_argument("--profile-dir", action="append", default=[])
    ins.add_argument(
        "--config-snippet",
        action="store_true",
        help="print the tuya: configuration block for this meter on stock firmware, and write its local key "
        "into --key-file",
    )
    ins.add_argument("--key-file", metavar="PATH", help="where --config-snippet puts the local key (DEVICE_ID.key)")
    ins.set_defaults(func=cmd_inspect)
    rc = ps.add_parser("restore-config", help="copy the Tuya config region of a backup into another image")
    rc.add_argument("--backup", required=True, help="the dump (or 72 KB config file) to take the config from")
    rc.add_argument("--into", required=True, help="the image to put it into (read only; never changed)")
    rc.add_argument("-o", "--output", required=True, help="where to write the result (a new file)")
    rc.add_argument("--range", help="START:END to copy, 4 KB aligned (default: 0x1ED000:0x200000)")
    rc.add_argument("--dry-run", action="store_true", help="say what would change and validate, write nothing")
    rc.add_argument("--yes", action="store_true", help="go ahead even where the copy clones a MAC or overwrites")
    rc.add_argument("--json", action="store_true")
    rc.set_defaults(func=cmd_restore)


#: the largest file taken as a dump (the meters' modules have 2 MB of flash; some chips 4–16 MB)
MAX_DUMP = 16 * 1024 * 1024


def _read(path: str) -> bytes:
    """The file, read only up to MAX_DUMP + 1 bytes: /dev/zero or a video is an error, not a hang."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_DUMP + 1)
    except OSError as e:
        raise CliError(f"cannot read {path}: {e}") from None
    if len(data) > MAX_DUMP:
        raise CliError(f"{path} is larger than {MAX_DUMP // 2**20} MiB: not a flash dump of a supported module")
    return data


def _load(path: str) -> tuple[bytes, Store]:
    image = _read(path)
    try:
        return image, read_store(image)
    except FlashError as e:
        raise CliError(f"{path}: {e} [{e.kind}]") from None


def _kind_of_file(size: int) -> str:
    if size == 0x200000:
        return "full 2 MB dump"
    if size == 0x12000:
        return "72 KB Tuya config region"
    return f"{size:#x} bytes"


def _shown(name: str, value: Any, show: bool) -> Any:
    """A value as printed: a secret-named value masked whole, secret fields inside it masked."""
    if not show and isinstance(value, str) and value and is_secret(name):
        return mask(value)
    return redact(value, show)


def inspect_report(path: str, image: bytes, st: Store, sm: Summary, show: bool) -> dict[str, Any]:

    def secret(v: str | None) -> str | None:
        return v if show or not v else mask(v)

    return {
        "file": path,
        "size": len(image),
        "key_block": st.key_offset,
        "flash_offset": st.key_offset + (0x200000 - len(image) if len(image) == 0x12000 else 0),
        "data_blocks": len(st.blocks),
        "stale_copies": len(st.stale),
        "chip": sm.chip,
        "chip_source": sm.chip_source,
        "module": sm.module,
        "tuyamcu": sm.tuyamcu,
        "baud": sm.baud,
        "pins": {str(k): v for k, v in sorted(sm.pins.items())},
        "device_id": sm.device_id,
        "product_key": sm.product_key,
        "firmware_key": sm.firmware_key,
        "schema_id": sm.schema_id,
        "firmware": sm.firmware,
        "paired": sm.paired,
        "local_key": secret(sm.local_key),
        "local_key_source": sm.local_key_source,
        "uuid": sm.uuid,
        "auth_key": secret(sm.auth_key),
        "wifi_ssid": sm.wifi_ssid,
        "schema": sm.schema,
        "values": {
            n: {
                "kind": p.kind,
                "value": _shown(n, p.value, show),
                "bytes": st.values[n].length,
                "ok": st.values[n].crc_ok,
            }
            for n, p in sorted(sm.parsed.items())
        },
        "lost_values": sorted(n for n, v in st.values.items() if v.raw is None),
        "problems": st.problems,
        "notes": st.notes,
    }


def cmd_inspect(args: argparse.Namespace) -> int:
    image, st = _load(args.file)
    sm = summarize(st, image)
    rep = inspect_report(args.file, image, st, sm, args.show_secrets)
    prof_note = None
    if args.profile:
        prof_note = _write_schema_profile(args, sm)
    if args.config_snippet:
        print(_config_snippet(args, sm), end="")
        return 0
    if args.json:
        emit_json(rep | {"profile_written": prof_note})
        return 0
    _print_inspect(rep, sm, args)
    if prof_note:
        print(prof_note)
    return 0


def _write_schema_profile(args: argparse.Namespace, sm: Summary) -> str:
    from tuyameter.flash.schema import schema_to_profile

    if not sm.schema:
        raise CliError("no DP schema in this store (it is not always kept in flash); no profile written")
    out = Path(args.profile)
    name = args.name or re.sub(r"[^a-z0-9]+", "_", out.stem.lower()).strip("_") or "from_flash"
    data, notes = schema_to_profile(sm.schema, name, load_all_profiles(args.profile_dir), sm.product_key)
    if not sm.tuyamcu:
        data.pop("tuyamcu", None)  # no TuyaMCU in this device: no line settings to write
    elif sm.baud:
        data["tuyamcu"]["baud"] = sm.baud
    prof = write_profile_file(
        out, data, f"# From the DP schema in {Path(args.file).name} by tuyameter flash inspect.\n"
    )
    return f"wrote {out}: profile {prof.name} with {len(prof.dps)} DPs" + "".join(f"\n  - {n}" for n in notes)


def _config_snippet(args: argparse.Namespace, sm: Summary) -> str:
    """The tuya: block of a meter config; the key goes to a file of its own (mode 0600), never into the block."""
    if not sm.device_id or not sm.local_key:
        raise CliError("this backup holds no device id and local key: the device was not paired when it was "
                       "taken; pair it once with the Tuya app, then read its flash again")  # fmt: skip
    key_file = Path(args.key_file or f"{sm.device_id}.key")
    if key_file.exists() and key_file.read_text(encoding="utf-8", errors="replace").strip() != sm.local_key:
        raise CliError(f"{key_file} exists and holds another key; not overwritten (give --key-file)")
    try:
        write_atomic(key_file, (sm.local_key + "\n").encode())
    except OSError as e:
        raise CliError(f"cannot write the local key to {key_file}: {e}") from None
    version = sm.lan_version if sm.lan_version in ("3.1", "3.3", "3.4", "3.5") else "3.3"
    name = re.sub(r"[^a-z0-9_-]+", "_", Path(args.file).stem.lower()).strip("_")[:64] or "meter"
    profile = next((p.name for p in load_all_profiles(args.profile_dir) if sm.product_key in p.product_ids), None)
    lines = [
        f"# {Path(args.file).name}: device {sm.device_id}, product {sm.product_key or '?'}; the local key is in "
        f"{key_file} (only you should read it). HOST: the meter's address (tuyameter scan).",
        "meters:",
        f"  - id: {name}",
        f'    tuya: {{device_id: {sm.device_id}, host: HOST, version: "{version}", key_file: {key_file}}}',
    ]
    if profile:
        lines.append(f"    profile: {profile}")
    return "\n".join(lines) + "\n"


def _print_inspect(rep: dict[str, Any], sm: Summary, args: argparse.Namespace) -> None:
    print(f"{rep['file']}: {_kind_of_file(rep['size'])}")
    at = f"0x{rep['key_block']:06X}" + (
        f" (flash 0x{rep['flash_offset']:06X})" if rep["flash_offset"] != rep["key_block"] else ""
    )
    stale = f" ({rep['stale_copies']} older copies ignored)" if rep["stale_copies"] else ""
    print(f"  Tuya store   key block at {at}, {rep['data_blocks']} data blocks, {len(rep['values'])} values{stale}")
    chip = rep["chip"] or "unknown"
    print(f"  chip         {chip}" + (f" (from {rep['chip_source']})" if rep["chip_source"] else ""))
    if sm.tuyamcu:
        print(
            f"  TuyaMCU      yes, {rep['baud'] or '?'} baud (baud_cfg) — the Wi-Fi module talks to an MCU; no pin map"
        )
    else:
        print("  TuyaMCU      no (no baud_cfg)")
    for pin, roles in rep["pins"].items():
        print(f"  pin P{pin:<7} {', '.join(roles)}")
    for label, key in (("device id", "device_id"), ("product key", "product_key"), ("firmware key", "firmware_key"),
                       ("schema id", "schema_id"), ("firmware", "firmware"), ("uuid", "uuid"),
                       ("Wi-Fi SSID", "wifi_ssid")):  # fmt: skip
        if rep[key]:
            print(f"  {label:<12} {rep[key]}")
    hint = "" if args.show_secrets else " (--show-secrets to reveal)"
    for label, key in (("local key", "local_key"), ("auth key", "auth_key")):
        if rep[key]:
            where = f" (in {rep['local_key_source']})" if key == "local_key" and rep["local_key_source"] else ""
            print(f"  {label:<12} {rep[key]}{where}{hint}")
    if not rep["paired"]:
        print("  local key    none: the device was not paired when this backup was taken (no device id,")
        print("               no gw_ai.lckey); pair it once with the Tuya app, then read its flash again")
    if sm.product_key:
        fits = [p.name for p in load_all_profiles(args.profile_dir) if sm.product_key in p.product_ids]
        if fits:
            print(f"  profile      {', '.join(fits)} (product key matches)")
    if sm.schema:
        print(f"  DP schema    {len(sm.schema)} DPs under {sm.schema_key!r} (--profile OUT.yaml writes a profile)")
        for e in sm.schema:
            prop = prop_of(e)
            print(f"    dp{e['id']:<4} {e.get('mode', '?'):<3} {prop.get('type', e.get('type'))} "
                  + " ".join(f"{k}={v}" for k, v in prop.items() if k != "type"))  # fmt: skip
    if args.values:
        for n, v in rep["values"].items():
            flag = "" if v["ok"] else "  [checksum mismatch]"
            print(f"  = {n} ({v['kind']}, {v['bytes']} bytes){flag}: {v['value']}")
    for n in rep["lost_values"]:
        print(f"  ! {n}: its data is missing from this file")
    for note in rep["notes"]:
        print(f"  · {note}")
    for p in rep["problems"]:
        print(f"  ! {p}")


def cmd_restore(args: argparse.Namespace) -> int:
    from tuyameter.flash.restore import (
        RestoreError,
        apply_restore,
        parse_range,
        plan_restore,
        validate_result,
        value_diff,
    )

    for other in (args.backup, args.into):
        if os.path.exists(args.output) and os.path.samefile(args.output, other):
            raise CliError(f"-o {args.output} is one of the inputs; restore never writes in place")
    backup, target = _read(args.backup), _read(args.into)
    try:
        plan = plan_restore(backup, target, parse_range(args.range) if args.range else None)
    except RestoreError as e:
        raise CliError(str(e)) from None
    result = apply_restore(plan, backup, target)
    check = validate_result(result, plan, target)
    diff = value_diff(plan.target_store, check.store)
    write = check.ok and not args.dry_run and (args.yes or not plan.needs_yes)
    rep = {
        "range": [plan.start, plan.end],
        "sectors_changed": len(plan.changes),
        "sectors_same": plan.unchanged,
        "changes": [{"offset": c.offset, "before": c.before, "after": c.after} for c in plan.changes],
        "needs_yes": plan.needs_yes,
        "notes": plan.notes,
        "valid": check.ok,
        "problems": check.problems,
        "values": diff,
        "written": args.output if write else None,
    }
    if write:
        try:
            write_atomic(args.output, result)
        except OSError as e:
            raise CliError(f"cannot write {args.output}: {e}") from None
    if args.json:
        emit_json(rep)
    else:
        _print_restore(rep, plan.start, plan.end, args)
    if not check.ok:
        return 2
    if plan.needs_yes and not args.yes and not args.dry_run:
        return 2
    return 0


def _print_restore(rep: dict[str, Any], start: int, end: int, args: argparse.Namespace) -> None:
    print(f"copy 0x{start:06X}–0x{end:06X} of {args.backup} into {args.into}: "
          f"{rep['sectors_changed']} sector(s) change, {rep['sectors_same']} already identical")  # fmt: skip
    for c in rep["changes"]:
        print(f"  0x{c['offset']:06X}  {c['before']}  →  {c['after']}")
    for n in rep["notes"]:
        print(f"  note: {n}")
    v = rep["values"]
    if any(v.values()):
        print(f"  Tuya values: {len(v['added'])} added, {len(v['removed'])} removed, {len(v['changed'])} changed"
              + (f" ({', '.join(v['changed'][:8])})" if v["changed"] else ""))  # fmt: skip
    if rep["valid"]:
        print("  result validates: key block, every data block checksum, every value")
    else:
        print("  REFUSED: the result would not validate:")
        for p in rep["problems"]:
            print(f"    - {p}")
    for w in rep["needs_yes"]:
        print(f"  WARNING: {w}")
    if rep["written"]:
        print(f"wrote {rep['written']} (the inputs are unchanged)")
    elif args.dry_run:
        print("dry run: nothing written")
    elif rep["valid"] and rep["needs_yes"]:
        print("not written: add --yes if this is what you want")
