#!/usr/bin/python3
"""Splits a gazette PDF into one PDF per page and prints, on stdout,
{"page_count": N, "files": [...]} (absolute paths, inside --out).

  --pages A-B   slice only pages A to B (1-based, inclusive); the answer then
                also says "first_page", "last_page" and "total_pages". Files
                are named by their page number in the whole gazette, so the
                chunks of a fanned-out gazette, listed in page order, are
                exactly what one run over all pages gives.
  --count       print {"page_count": N} and slice nothing (without pypdf when
                the PDF's cross-reference tables allow: a short run)
Each page's content streams are compressed on the way out (the generated
sample gazette's are not), which is most of the slicer's CPU time.

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
import re
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


def page_range(text):
    match = re.fullmatch(r"(\d+)-(\d+)", text)
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise argparse.ArgumentTypeError("%r is not a page range A-B with 1 <= A <= B" % text)
    return int(match.group(1)), int(match.group(2))


def quick_count(pdf):
    """The page count without pypdf (whose import costs most of a short run):
    the trailer's /Root, its /Pages, their /Count, found through classic
    cross-reference tables (following /Prev). None when the file is anything
    else (cross-reference streams, compressed objects, an indirect /Count):
    then pypdf reads it."""
    with open(pdf, "rb") as f:
        data = f.read()
    end = re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", data[-1024:])
    offsets, root, xref, sections = {}, None, end and int(end.group(1)), 0
    while xref is not None and sections < 100:
        if not data.startswith(b"xref", xref):
            return None
        trailer = data.find(b"trailer", xref)
        tokens = data[xref + 4:trailer].split()
        while tokens:
            first, count, tokens = int(tokens[0]), int(tokens[1]), tokens[2:]
            for i in range(count):
                offset, _, kind = tokens[3 * i:3 * i + 3]
                if kind == b"n":
                    offsets.setdefault(first + i, int(offset))
            tokens = tokens[3 * count:]
        dictionary = data[trailer:data.find(b"startxref", trailer)]
        root = root or re.search(rb"/Root\s+(\d+)\s+\d+\s+R", dictionary)
        previous = re.search(rb"/Prev\s+(\d+)", dictionary)
        xref, sections = previous and int(previous.group(1)), sections + 1

    def body(number):
        start = offsets.get(number)
        return b"" if start is None else data[start:data.find(b"endobj", start)]

    pages = root and re.search(rb"/Pages\s+(\d+)\s+\d+\s+R", body(int(root.group(1))))
    count = pages and re.search(rb"/Count\s+(\d+)(?!\s+\d+\s+R)", body(int(pages.group(1))))
    return int(count.group(1)) if count else None


def read_pdf(pdf):
    from pypdf import PdfReader  # only when reading: failures start fast

    return PdfReader(pdf)


def slice_pdf(reader, pdf, out_dir, pages, report, page_delay):
    from pypdf import PdfWriter

    total = len(reader.pages)
    first, last = pages or (1, total)
    if last > total:
        raise SystemExit("slice_gazette.py: pages %d-%d out of range: %s has %d pages" % (first, last, pdf, total))
    base = os.path.splitext(os.path.basename(pdf))[0]
    # Zero-padded to the whole gazette's width, so names sort in page order.
    width = max(3, len(str(total)))
    files = []
    for number in range(first, last + 1):
        writer = PdfWriter()
        page = writer.add_page(reader.pages[number - 1])
        page.compress_content_streams()
        path = os.path.join(out_dir, "%s-page-%0*d.pdf" % (base, width, number))
        with open(path, "wb") as f:
            writer.write(f)
        files.append(path)
        if report:
            done = number - first + 1
            progress(done * 100 // (last - first + 1), "page %d of %d" % (number, total))
        if page_delay:
            time.sleep(page_delay)
    answer = {"page_count": len(files), "files": files}
    if pages:
        answer.update(first_page=first, last_page=last, total_pages=total)
    return answer


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pdf")
    parser.add_argument("--out", required=True)
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--pages", type=page_range, metavar="A-B")
    parser.add_argument("--count", action="store_true")
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

    if args.count:
        try:
            count = quick_count(args.pdf)
        except (ValueError, IndexError):  # a table this reading does not understand: pypdf's turn
            count = None
        print(json.dumps({"page_count": len(read_pdf(args.pdf).pages) if count is None else count}))
        return 0
    reader = read_pdf(args.pdf)
    os.makedirs(out_dir, exist_ok=True)
    print(json.dumps(slice_pdf(reader, args.pdf, out_dir, args.pages, args.progress, args.page_delay)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
