#!/usr/bin/python3
"""Writes a small sample gazette PDF (one notice per page) with nothing but
the standard library, so no binary is committed:

    script/make_sample_gazette.py OUT.pdf [--pages N] [--notices M]

--notices M prints M notices per page in small type (default: one), like a
real gazette's dense pages; their content streams are left uncompressed, so
the slicer has real work per page (parsing and compressing them).
"""

import argparse


def page_stream(number, pages, notices):
    lines = [
        "BT /F1 20 Tf 72 760 Td (The Sample Gazette) Tj ET",
        "BT /F1 12 Tf 72 730 Td (Page %d of %d) Tj ET" % (number, pages),
        "BT /F1 12 Tf 72 700 Td (Notice %d: the council meets on Tuesday.) Tj ET" % number,
    ]
    if notices > 1:
        # Two columns of 6-point lines under the first notice.
        lines.append("BT /F1 6 Tf 7 TL 36 684 Td")
        for i in range(2, notices + 1):
            if i == notices // 2 + 2:
                lines.append("ET BT /F1 6 Tf 7 TL 312 684 Td")
            lines.append("(Notice %d.%d: objections to the district plan in writing to the town clerk.) '"
                         % (number, i))
        lines.append("ET")
    return "\n".join(lines).encode("ascii")


def build(pages, notices=1):
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
        stream = page_stream(number, pages, notices)
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
    parser.add_argument("--notices", type=int, default=1)
    args = parser.parse_args()
    with open(args.out, "wb") as f:
        f.write(build(args.pages, args.notices))


if __name__ == "__main__":
    main()
