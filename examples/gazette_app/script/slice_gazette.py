#!/usr/bin/python3
"""Splits a gazette PDF into one PDF per page and prints, on stdout,
{"page_count": N, "files": [...]} (absolute paths, inside --out).

Run it with Debian's /usr/bin/python3, which can import python3-pypdf.

PROGRESS lines on stderr follow gazette_runner's progress protocol
("PROGRESS <pct> <message>"), when --progress is given.

The other flags make it fail the ways the job must survive:
  --hang              hang (after starting a grandchild), like the incident
  --ignore-term       with --hang: ignore SIGTERM too (needs SIGKILL)
  --empty             print nothing, exit 0
  --garbage           print something that is not JSON, exit 0
  --crash             raise an exception (traceback on stderr, exit 1)
  --leave-grandchild  start a grandchild that outlives this script
  --slow              wait 0.4 s after each page, to watch the progress
Every process it starts carries --out in its argv, so a test can find
leftovers by their directory in /proc/*/cmdline.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time


def progress(percent, message):
    print("PROGRESS %d %s" % (percent, message), file=sys.stderr, flush=True)


def start_grandchild(out_dir):
    # A process in our group that would keep the pipes open after we are gone.
    code = "import sys, time; time.sleep(3600)"
    subprocess.Popen([sys.executable, "-c", code, "grandchild", out_dir],
                     stdout=sys.stdout, stderr=sys.stderr)


def slice_pdf(pdf, out_dir, report, page_delay):
    from pypdf import PdfReader, PdfWriter  # only when slicing: failures start fast

    reader = PdfReader(pdf)
    total = len(reader.pages)
    base = os.path.splitext(os.path.basename(pdf))[0]
    files = []
    for number, page in enumerate(reader.pages, start=1):
        writer = PdfWriter()
        writer.add_page(page)
        path = os.path.join(out_dir, "%s-page-%03d.pdf" % (base, number))
        with open(path, "wb") as f:
            writer.write(f)
        files.append(path)
        if report:
            progress(number * 100 // total, "page %d of %d" % (number, total))
        if page_delay:
            time.sleep(page_delay)
    return files


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pdf")
    parser.add_argument("--out", required=True)
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--page-delay", type=float, default=0.0)
    parser.add_argument("--slow", action="store_true", help="--page-delay 0.4, to watch progress")
    for flag in ("hang", "ignore-term", "empty", "garbage", "crash", "leave-grandchild"):
        parser.add_argument("--" + flag, action="store_true")
    args = parser.parse_args()
    out_dir = os.path.abspath(args.out)
    if args.slow:
        args.page_delay = 0.4

    if args.ignore_term:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if args.leave_grandchild:
        start_grandchild(out_dir)
    if args.hang:
        if args.progress:
            progress(0, "reading %s" % os.path.basename(args.pdf))
        start_grandchild(out_dir)
        time.sleep(3600)
    if args.empty:
        return 0
    if args.garbage:
        print("Traceback? no: page_count=3 files=...")
        return 0
    if args.crash:
        raise RuntimeError("cannot read xref table of %s" % args.pdf)

    os.makedirs(out_dir, exist_ok=True)
    files = slice_pdf(args.pdf, out_dir, args.progress, args.page_delay)
    print(json.dumps({"page_count": len(files), "files": files}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
