"""`python -m tui` and the `tapecheck` command: `status` is first tried by tui.core.quickstatus (a running
collector's summary read with sqlite3, in about the time a bare Python starts), before tui.cli and its imports;
every other command, and a status that path leaves, is tui.cli's."""

import sys


def main() -> int:
    if "status" in sys.argv[1:]:
        from tui.core.quickstatus import main as quick

        code = quick(sys.argv[1:])
        if code is not None:
            return code
    from tui.cli import main as full

    return full()


if __name__ == "__main__":
    sys.exit(main())
