"""Regenerate the reference parts of docs/ from the code (tests check they are current).

.venv/bin/python scripts/gen_docs.py          # rewrite docs/cli.md and docs/configuration.md
.venv/bin/python scripts/gen_docs.py --check  # exit 1 if they are out of date
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- generated: start -->", "<!-- generated: end -->"


def cli_reference() -> str:
    from typer.main import get_command

    from leadline.cli.main import app

    lines: list[str] = []

    def walk(command: Any, path: list[str]) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            if path:
                lines.append(f"## leadline {' '.join(path)}\n")
                lines.append((command.help or "").strip() + "\n")
            for name in sorted(subcommands):
                walk(subcommands[name], [*path, name])
            return
        lines.append(f"### `leadline {' '.join(path)}`\n")
        lines.append((command.help or "").strip() + "\n")
        rows = []
        for param in command.params:
            if param.name in ("help",) or getattr(param, "hidden", False):
                continue
            names = ", ".join(f"`{o}`" for o in [*param.opts, *getattr(param, "secondary_opts", [])])
            if param.param_type_name == "argument":
                names = f"`{param.name.upper()}`"
            text = (getattr(param, "help", None) or "").strip().replace("|", "\\|")
            required = " (required)" if param.required else ""
            rows.append(f"| {names} | {text}{required} |")
        if rows:
            lines.append("| option | meaning |\n|---|---|")
            lines.extend(rows)
            lines.append("")

    walk(get_command(app), [])
    return "\n".join(lines).rstrip() + "\n"


def settings_reference() -> str:
    from leadline.config import Settings

    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default: Any = field.default_factory() if field.default_factory else field.default  # type: ignore[call-arg]
        if isinstance(default, dict):
            default = "(see below)"
        elif isinstance(default, list):
            default = ",".join(map(str, default))
        shown = "" if default in (None, "") else f"`{default}`"
        text = (field.description or "").replace("|", "\\|")
        rows.append(f"| `LEADLINE_{name.upper()}` | {shown} | {text} |")
    return "\n".join(rows) + "\n"


def splice(path: Path, generated: str) -> str:
    text = path.read_text()
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
    return pattern.sub(lambda _: f"{START}\n{generated}{END}", text)


def main() -> int:
    check = "--check" in sys.argv
    stale = []
    for name, make in (("cli.md", cli_reference), ("configuration.md", settings_reference)):
        path = ROOT / "docs" / name
        new = splice(path, make())
        if new != path.read_text():
            stale.append(name)
            if not check:
                path.write_text(new)
    if check and stale:
        print(f"out of date: {', '.join(stale)}; run scripts/gen_docs.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
