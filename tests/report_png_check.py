#!/usr/bin/python3
"""report_png_check.py PNG HEX...: fails (exit 1) when the screenshot is blank or lacks a colour.

Decodes the PNG with the standard library only (zlib + the five row filters), then checks that
the image is not one flat colour (enough distinct colours, enough non-background pixels) and
that every colour given as #RRGGBB (the series colours of the report) covers some pixels, so the
bars were painted. Prints what it measured."""
import struct
import sys
import zlib


def decode(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit(f"{path}: not a PNG")
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if typ == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                raise SystemExit(f"{path}: unsupported PNG (depth {depth}, type {ctype})")
            bpp = 3 if ctype == 2 else 4
        elif typ == b"IDAT":
            idat += body
        elif typ == b"IEND":
            break
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev, off = [], bytearray(stride), 0
    for _ in range(h):
        f, line = raw[off], bytearray(raw[off + 1:off + 1 + stride])
        off += 1 + stride
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + ((a + b) >> 1)) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def main():
    path, want = sys.argv[1], [c.lstrip("#").lower() for c in sys.argv[2:]]
    w, h, bpp, rows = decode(path)
    counts = {}
    for r in rows[::2]:  # every other row and pixel is plenty
        for x in range(0, w * bpp, 2 * bpp):
            px = r[x:x + 3]
            counts[px] = counts.get(px, 0) + 1
    total = sum(counts.values())
    bg, bg_n = max(counts.items(), key=lambda kv: kv[1])
    print(f"{path}: {w}x{h}, {len(counts)} colours, background #{bg.hex()} "
          f"covers {100 * bg_n / total:.1f}%")
    ok = len(counts) >= 50 and bg_n / total < 0.97
    for c in want:
        n = counts.get(bytes.fromhex(c), 0)
        print(f"  #{c}: {n} pixels")
        ok = ok and n >= 20
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
