#!/usr/bin/env python3
"""bookbuild's command line: `python build.py --help`."""

from bookbuild.cli import run

if __name__ == "__main__":
    run()
