"""The command line: a thin shell over the library. Imports nothing heavy until a command runs."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Sequence

from .catalogue import CATALOGUE
from .errors import DeriveError, UsageError

FORMATS = ("text", "latex", "markdown", "json", "ipynb")


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")


def build_parser() -> Parser:
    parser = Parser(prog="derive", description="Step-by-step gradients of softmax and cross-entropy, "
                    "every step verified.")
    parser.add_argument("--version", action="version", version="derive 0.1.0")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.add_parser("list", help="list the catalogued derivations and their parts")
    show = commands.add_parser("show", help="show a derivation step by step")
    show.add_argument("name", metavar="NAME", help="a name from 'derive list'")
    show.add_argument("--format", default="text", help=f"one of: {', '.join(FORMATS)} (default: text)")
    show.add_argument("--method", default="index",
                      help="route, where a derivation has several: index (default) or differentials "
                           "(linear-softmax-cross-entropy); see 'derive list'")
    show.add_argument("--standalone", action="store_true", help="LaTeX: a whole compilable document")
    show.add_argument("--detail", default="notes", choices=("notes", "full", "brief"),
                      help="notes (default: the steps a course shows), full (every rule application) or brief")
    show.add_argument("--flavor", default="dollar", help="Markdown math delimiters: dollar or gfm")
    show.add_argument("--notation", action="append", default=[], metavar="KEY=VALUE",
                      help="notation, repeatable: logits, probs, labels, target, classes, loss, batch, ...")
    show.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    check = commands.add_parser("check", help="check a hand-written derivation (Markdown or LaTeX) step by step")
    check.add_argument("file", metavar="FILE")
    check.add_argument("--format", default="text", help="text or json (default: text)")
    check.add_argument("--notation", action="append", default=[], metavar="KEY=VALUE",
                       help="notation, overrides the file's own (repeatable)")
    embed = commands.add_parser("embed", help="fill the 'derive: show' directives of course notes")
    embed.add_argument("file", metavar="FILE")
    where = embed.add_mutually_exclusive_group()
    where.add_argument("-o", "--output", metavar="OUT", help="write the filled notes to OUT")
    where.add_argument("--in-place", action="store_true", help="rewrite FILE")
    where.add_argument("--check", action="store_true", help="exit 1 if any block is stale; write nothing")
    return parser


def cmd_list(_: argparse.Namespace) -> int:
    width = max(len(name) for name in CATALOGUE)
    for name, info in CATALOGUE.items():
        routes = [(method, ", ".join(key for key, _ in info.parts_of(method))) for method in info.methods]
        parts = "; ".join(keys if method == "index" else f"{method}: {keys}" for method, keys in routes)
        print(f"{name:<{width}}  {info.description}  [parts: {parts}]")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from .api import derivation
    from .notation import parse_assignments

    if args.format not in FORMATS:
        raise UsageError(f"unknown format {args.format!r} (known: {', '.join(FORMATS)})")
    result = derivation(args.name, args.method, args.detail, **parse_assignments(args.notation))
    text = result.render(args.format, standalone=args.standalone, flavor=args.flavor)
    if args.output:
        write_atomically(Path(args.output), text)
    else:
        sys.stdout.write(text)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from .checking import check
    from .notation import parse_assignments

    if args.format not in ("text", "json"):
        raise UsageError(f"unknown format {args.format!r} for check (known: text, json)")
    if not Path(args.file).is_file():
        what = "no such file" if not Path(args.file).exists() else "not a regular file"
        raise UsageError(f"{args.file}: {what}")
    report = check(Path(args.file), **parse_assignments(args.notation))
    if args.format == "json":
        sys.stdout.write(report.to_json())
    else:
        sys.stdout.write(report.text(color=sys.stdout.isatty() and "NO_COLOR" not in os.environ))
    return report.exit_code


def cmd_embed(args: argparse.Namespace) -> int:
    from .embed import embed

    path = Path(args.file)
    text, blocks = embed(path)
    if args.check:
        stale = [b for b in blocks if b.stale]
        for block in stale:
            state = "never filled" if block.directive.end is None else "stale"
            print(f"{path}:{block.directive.line}: block {block.directive.name} is {state}", file=sys.stderr)
        return 1 if stale else 0
    if args.in_place or args.output:
        write_atomically(path if args.in_place else Path(args.output), text)
    else:
        sys.stdout.write(text)
    return 0


def write_atomically(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a failure never leaves half a file."""
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=".derive-")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except OSError as error:
        raise UsageError(f"{path}: cannot write: {error.strerror}") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        return {"list": cmd_list, "show": cmd_show, "check": cmd_check, "embed": cmd_embed}[args.command](args)
    except DeriveError as error:
        print(f"derive: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as error:  # a bug: still one line, no traceback, distinct exit code
        print(f"derive: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        return 70
