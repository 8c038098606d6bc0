"""Code 128 barcodes as inline SVG, drawn on the server (pure: text in, SVG text out).

A handheld scanner reads Code 128 whatever the content, so one symbology serves every barcode
we print: a variant's EAN-8/UPC-A/EAN-13/GTIN-14 digits (code set C, two digits a symbol) or,
for a variant without one, its SKU (code set B, printable ASCII). The scanner types back exactly
the encoded text, which is what `GET /v1/variants?barcode=` and the SKU look-ups take.
"""

from __future__ import annotations

# Bar/space widths in modules for the symbol values 0..106 (ISO/IEC 15417); 106 is the stop,
# with its 2-module termination bar. Every other symbol is 11 modules wide.
PATTERNS: tuple[str, ...] = (
    "212222",
    "222122",
    "222221",
    "121223",
    "121322",
    "131222",
    "122213",
    "122312",
    "132212",
    "221213",
    "221312",
    "231212",
    "112232",
    "122132",
    "122231",
    "113222",
    "123122",
    "123221",
    "223211",
    "221132",
    "221231",
    "213212",
    "223112",
    "312131",
    "311222",
    "321122",
    "321221",
    "312212",
    "322112",
    "322211",
    "212123",
    "212321",
    "232121",
    "111323",
    "131123",
    "131321",
    "112313",
    "132113",
    "132311",
    "211313",
    "231113",
    "231311",
    "112133",
    "112331",
    "132131",
    "113123",
    "113321",
    "133121",
    "313121",
    "211331",
    "231131",
    "213113",
    "213311",
    "213131",
    "311123",
    "311321",
    "331121",
    "312113",
    "312311",
    "332111",
    "314111",
    "221411",
    "431111",
    "111224",
    "111422",
    "121124",
    "121421",
    "141122",
    "141221",
    "112214",
    "112412",
    "122114",
    "122411",
    "142112",
    "142211",
    "241211",
    "221114",
    "413111",
    "241112",
    "134111",
    "111242",
    "121142",
    "121241",
    "114212",
    "124112",
    "124211",
    "411212",
    "421112",
    "421211",
    "212141",
    "214121",
    "412121",
    "111143",
    "111341",
    "131141",
    "114113",
    "114311",
    "411113",
    "411311",
    "113141",
    "114131",
    "311141",
    "411131",
    "211412",
    "211214",
    "211232",
    "2331112",
)
START_B, START_C, STOP = 104, 105, 106
QUIET_ZONE = 10  # modules of white either side, as the standard asks


def code128_values(text: str) -> list[int]:
    """Symbol values from start to checksum (the stop is added when drawing).

    Raises ValueError for an empty text or a character outside printable ASCII."""
    if not text:
        raise ValueError("nothing to encode")
    if text.isdigit() and text.isascii() and len(text) % 2 == 0:
        data = [int(text[i : i + 2]) for i in range(0, len(text), 2)]
        start = START_C
    else:
        if any(not 32 <= ord(ch) <= 126 for ch in text):
            raise ValueError("Code 128 set B encodes printable ASCII only")
        data = [ord(ch) - 32 for ch in text]
        start = START_B
    checksum = (start + sum(position * value for position, value in enumerate(data, start=1))) % 103
    return [start, *data, checksum]


def code128_modules(text: str) -> str:
    """The symbol as a string of modules, "1" a bar and "0" a space, quiet zones included."""
    modules = []
    for value in [*code128_values(text), STOP]:
        for index, width in enumerate(PATTERNS[value]):
            modules.append(("1" if index % 2 == 0 else "0") * int(width))
    quiet = "0" * QUIET_ZONE
    return quiet + "".join(modules) + quiet


def code128_svg(text: str, *, module_px: float = 2, height_px: int = 48) -> str:
    """An `<svg>` of the barcode (bars only; print the text beside it). Scales without blurring
    (`shape-rendering: crispEdges`); the width in modules is the viewBox's."""
    modules = code128_modules(text)
    bars = []
    x = 0
    while x < len(modules):
        if modules[x] == "1":
            start = x
            while x < len(modules) and modules[x] == "1":
                x += 1
            bars.append(f'<rect x="{start}" y="0" width="{x - start}" height="{height_px}"/>')
        else:
            x += 1
    width = len(modules)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="barcode" role="img" aria-label="barcode {_escape(text)}"'
        f' viewBox="0 0 {width} {height_px}" width="{width * module_px:g}" height="{height_px}"'
        f' preserveAspectRatio="none" shape-rendering="crispEdges">'
        f'<rect width="{width}" height="{height_px}" fill="#fff"/><g fill="#000">{"".join(bars)}</g></svg>'
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
