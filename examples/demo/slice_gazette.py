#!/usr/bin/env python3
"""A stand-in for slice_gazette.py: "slices" a gazette into pages and prints
{"page_count": N, "files": [...]} as JSON. --hang starts a helper process and
then hangs, like the script of the incident; --empty prints nothing."""

import argparse
import json
import os
import subprocess
import sys
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=3)
    parser.add_argument("--out", default="/tmp")
    parser.add_argument("--hang", action="store_true")
    parser.add_argument("--empty", action="store_true")
    args = parser.parse_args()

    if args.hang:
        # A grandchild that would keep the pipe open after we are gone.
        subprocess.Popen(["sleep", "3600"])
        print("slicing page 1...", file=sys.stderr, flush=True)
        time.sleep(3600)
    if args.empty:
        return 0

    files = []
    for page in range(1, args.pages + 1):
        path = os.path.join(args.out, "page-%03d.pdf" % page)
        with open(path, "w") as f:
            f.write("page %d\n" % page)
        files.append(path)
    print(json.dumps({"page_count": len(files), "files": files}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
