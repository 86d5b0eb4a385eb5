"""Pages in a real browser, for the e2e tests: Debian's headless Chromium driven by Playwright, and
full-page PNG screenshots read with the standard library.

`browser` is a module-scoped fixture: a test module takes it with
`from tests.e2e.browser import browser as browser` (the alias marks the import as the fixture's
re-export). Chromium is Debian's `/usr/bin/chromium` (`apt-get install -y chromium`); no browser is
downloaded, and `CHROMIUM_ARGS` keep it off the network: this machine has none but loopback.

`png_pixels(data)` decodes an 8-bit RGB(A), non-interlaced PNG (what Chromium's screenshots are)
into its pixel bytes, checking every chunk's CRC; `png_size`, `pixel`, `colours` and `near` read
what a person would see in it.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "PNG_SIGNATURE",
    "Colour",
    "browser",
    "colours",
    "near",
    "pixel",
    "png_pixels",
    "png_size",
]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
Colour = tuple[int, int, int]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright."""
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get update && apt-get install -y chromium"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, from its IHDR (the first chunk); fails on anything else."""
    assert data[:8] == PNG_SIGNATURE, "not a PNG"
    assert data[12:16] == b"IHDR", "the PNG does not start with IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def png_pixels(data: bytes) -> tuple[int, int, int, bytes]:
    """Width, height, channels and the unfiltered pixel bytes of an 8-bit RGB(A) PNG."""
    assert data[:8] == PNG_SIGNATURE, "not a PNG"
    at, header, idat = 8, b"", []
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        body = data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        at += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    assert len(raw) == height * (stride + 1)
    pixels, previous = bytearray(), bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride if kind else 0):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + ((left + up) >> 1)) & 0xFF
            else:
                estimate = left + up - corner
                pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        pixels += line
        previous = line
    return width, height, channels, bytes(pixels)


def pixel(data: bytes, x: int, y: int) -> Colour:
    """The RGB colour of the pixel at (`x`, `y`) of a PNG screenshot (CSS pixels at scale 1)."""
    width, height, channels, pixels = png_pixels(data)
    assert 0 <= x < width and 0 <= y < height, (x, y, width, height)
    at = (y * width + x) * channels
    return pixels[at], pixels[at + 1], pixels[at + 2]


def colours(data: bytes) -> set[Colour]:
    """The distinct RGB colours of a PNG screenshot."""
    _, _, channels, pixels = png_pixels(data)
    return {(pixels[i], pixels[i + 1], pixels[i + 2]) for i in range(0, len(pixels), channels)}


def near(colour: Colour, palette: set[Colour], tolerance: int = 3) -> bool:
    """Whether `palette` holds a colour within `tolerance` of `colour` in each channel."""
    return any(all(abs(a - b) <= tolerance for a, b in zip(colour, other, strict=False)) for other in palette)
