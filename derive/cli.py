"""The command line: a thin shell over the library. Imports nothing heavy until a command runs."""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from pathlib import Path
from typing import Sequence

from . import __version__
from .catalogue import CATALOGUE, GROUPS
from .errors import DeriveError, UsageError

FORMATS = ("text", "latex", "markdown", "json", "ipynb")


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> Parser:
    parser = Parser(prog="derive", description="Step-by-step gradients of softmax and cross-entropy, "
                    "every step verified.")
    parser.add_argument("--version", action="version", version=f"derive {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.add_parser("list", help="list the catalogued derivations and their parts")
    show = commands.add_parser("show", help="show a derivation step by step", epilog=notation_help(),
                               formatter_class=argparse.RawDescriptionHelpFormatter)
    show.add_argument("name", metavar="NAME", help="a name from 'derive list'")
    show.add_argument("--format", default="text", help=f"one of: {', '.join(FORMATS)} (default: text)")
    show.add_argument("--method", default="index",
                      help="route, where a derivation has several: index (default) or differentials "
                           "(linear-softmax-cross-entropy); see 'derive list'")
    show.add_argument("--standalone", action="store_true", help="LaTeX: a whole compilable document")
    show.add_argument("--detail", default="notes", choices=("notes", "full", "brief"),
                      help="notes (default: the steps a course shows), full (every rule application) or brief")
    show.add_argument("--flavor", help="Markdown math delimiters: dollar (default) or gfm; markdown only")
    show.add_argument("--notation", action="append", default=[], metavar="KEY=VALUE",
                      help="notation, repeatable (the keys and their defaults are listed below)")
    show.add_argument("--part", metavar="PART", help="only this part (see 'derive list'); its steps numbered from 1")
    show.add_argument("--case", metavar="CASE", help="only this case, e.g. 'j \\neq k'; its steps numbered from 1")
    show.add_argument("-o", "--output", metavar="FILE", help="write to FILE (atomically) instead of standard output")
    show.add_argument("--force", action="store_true", help="with -o: replace FILE even if it is read-only")
    check = commands.add_parser("check", help="check a hand-written derivation (Markdown or LaTeX) step by step")
    check.add_argument("file", metavar="FILE", help="a Markdown or LaTeX file, or - for standard input")
    check.add_argument("--format", default="text", help="text or json (default: text)")
    check.add_argument("--full", action="store_true", help="print each step whole, not shortened")
    check.add_argument("--notation", action="append", default=[], metavar="KEY=VALUE",
                       help="notation, overrides the file's own (repeatable)")
    embed = commands.add_parser("embed", help="fill the 'derive: show' directives of course notes",
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EMBED_HELP)
    embed.add_argument("file", metavar="FILE", help="Markdown or LaTeX notes, or - for standard input")
    where = embed.add_mutually_exclusive_group()
    where.add_argument("-o", "--output", metavar="OUT", help="write the filled notes to OUT")
    where.add_argument("--in-place", action="store_true", help="rewrite FILE")
    where.add_argument("--check", action="store_true", help="exit 1 if any block is stale; write nothing")
    embed.add_argument("--force", action="store_true", help="with -o or --in-place: replace a read-only file")
    return parser


EMBED_HELP = """directives (each needs its end marker on a later line; derive fills what lies between):
  Markdown:  <!-- derive: show NAME KEY="VALUE" ... -->   ...   <!-- derive: end -->
  LaTeX:     % derive: show NAME KEY="VALUE" ...            ...   % derive: end
keys: the notation keys (see 'derive show --help'), part, case, method, detail, flavor,
  numbering (local: an excerpt numbers its steps from 1, the default; global) and heading ("###": add headings).
The note's own notation (front matter 'derive:' keys, or '% derive: KEY = VALUE' lines) is every directive's
default. Only the text between a directive and its end marker is ever replaced."""

# What each notation key means, for --help; defaults come from derive.notation itself (which loads no SymPy).
KEY_MEANINGS = {
    "logits": "the softmax input vector", "probs": "the softmax output (a symbol and/or function names)",
    "labels": "the target vector", "target": "one-hot, 'one-hot k', 'class c', distribution or any",
    "classes": "the number of classes", "loss": "the loss symbol",
    "linear": "the logits as a layer, 'o = Wx + b' or 'f_j = w_j x'",
    "shapes": "sizes for shape checks, e.g. 'W: 4x3, x: 3, b: 4'", "batch": "the number of examples",
    "temperature": "the softmax temperature", "smoothing": "the label-smoothing weight", "margin": "the hinge margin",
    "activation": "the hidden activation: tanh or relu",
}


def notation_help() -> str:
    """The notation keys and their defaults, so that --help answers 'what can I rename, and to what?'."""
    from .notation import KEYS, Notation

    base = Notation()
    defaults = base.as_dict()
    rows = []
    for key in KEYS:
        default = defaults.get(key, getattr(base, key, None))
        if isinstance(default, (list, tuple)):
            default = ", ".join(map(str, default))
        rows.append(f"  {key:<12} {KEY_MEANINGS.get(key, ''):<56} default: {default if default else 'none'}")
    return ("notation keys (--notation KEY=VALUE; values are LaTeX):\n" + "\n".join(rows) +
            "\n\nexample: derive show softmax-cross-entropy --notation 'logits=\\theta' --notation probs=p")


def cmd_list(_: argparse.Namespace) -> int:
    """One line per derivation (name, description, parts and methods), indented under the heading of its group."""
    width = max(len(name) for name in CATALOGUE)
    for group in GROUPS:
        members = [info for info in CATALOGUE.values() if info.group == group]
        if members:
            print(f"{group}:")
        for info in members:
            routes = [(method, ", ".join(key for key, _ in info.parts_of(method))) for method in info.methods]
            parts = "; ".join(keys if method == "index" else f"{method}: {keys}" for method, keys in routes)
            print(f"  {info.name:<{width}}  {info.description}  [parts: {parts}]")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from .api import derivation
    from .notation import parse_assignments

    if args.format not in FORMATS:
        raise UsageError(f"unknown format {args.format!r} (known: {', '.join(FORMATS)})")
    if args.flavor is not None and args.format != "markdown":
        raise UsageError(f"--flavor applies to --format markdown only, not {args.format}")
    if args.standalone and args.format != "latex":
        raise UsageError(f"--standalone applies to --format latex only, not {args.format}")
    result = derivation(args.name, args.method, args.detail, **parse_assignments(args.notation))
    result = result.excerpt(part=args.part, case=args.case)
    text = result.render(args.format, standalone=args.standalone, flavor=args.flavor or "dollar")
    emit(text, args.output, args.force)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from .checking import check
    from .notation import parse_assignments

    if args.format not in ("text", "json"):
        raise UsageError(f"unknown format {args.format!r} for check (known: text, json)")
    # a path is passed as a Path, so that a name with '$' or '\\' is never taken for the text itself; '-' is stdin
    source = args.file if args.file == "-" else Path(args.file)
    report = check(source, **parse_assignments(args.notation))
    if args.format == "json":
        sys.stdout.write(report.to_json())
    else:
        sys.stdout.write(report.text(color=sys.stdout.isatty() and "NO_COLOR" not in os.environ,
                                     full=args.full))
    return report.exit_code


def cmd_embed(args: argparse.Namespace) -> int:
    from .embed import embed

    if args.in_place and args.file == "-":
        raise UsageError("--in-place needs a file, not standard input (use -o OUT)")
    if args.force and not (args.in_place or args.output):
        raise UsageError("--force applies to -o or --in-place only")
    text, blocks, label = embed(args.file)
    if args.check:
        stale = [b for b in blocks if b.stale]
        for block in stale:
            print(f"{label}:{block.directive.line}: block {block.directive.name} is stale", file=sys.stderr)
        return 1 if stale else 0
    emit(text, args.file if args.in_place else args.output, args.force)
    return 0


def emit(text: str, output: str | None, force: bool = False) -> None:
    """Standard output (also for ``-o -``), or a file written atomically by derive.writing."""
    if output is None or output == "-":
        if force:
            raise UsageError("--force applies to -o FILE or --in-place only")
        sys.stdout.write(text)
        return
    from .writing import write_text

    write_text(output, text, force=force)


COMMANDS = ("list", "show", "check", "embed")


def check_command(argv: Sequence[str]) -> None:
    """Name a misspelled command once, with the nearest one ('did you mean'), instead of argparse's list."""
    words = [word for word in argv if not word.startswith("-")]
    if not words or words[0] in COMMANDS or any(word in ("-h", "--help", "--version") for word in argv):
        return
    close = difflib.get_close_matches(words[0], COMMANDS, n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else f" (commands: {', '.join(COMMANDS)})"
    raise UsageError(f"unknown command {words[0]!r}{hint}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 ok, 1 invalid step or stale block, 2 usage, 3 undecided)."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        check_command(argv)
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
