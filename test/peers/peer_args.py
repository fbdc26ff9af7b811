"""The command line every python test peer shares: --help prints the peer's
docstring and exits 0; any argument else is an error (exit 2)."""
import sys


def handle_args(doc: str) -> None:
    if len(sys.argv) <= 1:
        return
    if sys.argv[1] in ("--help", "-h"):
        print(f"usage: {sys.argv[0]} [--help]")
        print(doc.strip())
        sys.exit(0)
    print(f"{sys.argv[0]}: unknown argument {sys.argv[1]!r}", file=sys.stderr)
    sys.exit(2)
