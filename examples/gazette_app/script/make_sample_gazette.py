#!/usr/bin/python3
"""Writes a small sample gazette PDF (one notice per page) with nothing but
the standard library, so no binary is committed:

    script/make_sample_gazette.py OUT.pdf [--pages N]
"""

import argparse


def page_stream(number, pages):
    lines = [
        "BT /F1 20 Tf 72 760 Td (The Sample Gazette) Tj ET",
        "BT /F1 12 Tf 72 730 Td (Page %d of %d) Tj ET" % (number, pages),
        "BT /F1 12 Tf 72 700 Td (Notice %d: the council meets on Tuesday.) Tj ET" % number,
    ]
    return "\n".join(lines).encode("ascii")


def build(pages):
    # Objects: 1 catalog, 2 page tree, 3 font, then a page and its content per page.
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    }
    kids = []
    for number in range(1, pages + 1):
        page_id, content_id = 2 + 2 * number, 3 + 2 * number
        kids.append("%d 0 R" % page_id)
        objects[page_id] = (
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            "/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % content_id
        ).encode("ascii")
        stream = page_stream(number, pages)
        objects[content_id] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream)
    objects[2] = ("<< /Type /Pages /Kids [%s] /Count %d >>" % (" ".join(kids), pages)).encode("ascii")

    out = bytearray(b"%PDF-1.4\n")
    offsets = {}
    for oid in sorted(objects):
        offsets[oid] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (oid, objects[oid])
    xref = len(out)
    size = max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for oid in range(1, size):
        out += b"%010d 00000 n \n" % offsets[oid]
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    return bytes(out)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--pages", type=int, default=5)
    args = parser.parse_args()
    with open(args.out, "wb") as f:
        f.write(build(args.pages))


if __name__ == "__main__":
    main()
