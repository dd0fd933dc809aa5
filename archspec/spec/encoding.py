"""A spec file's bytes as text: UTF-8 (a byte-order mark allowed), or an error at the first bad byte.

Editors on Windows save UTF-16 or add a UTF-8 byte-order mark, and files pasted from elsewhere
carry Latin-1 bytes or control characters. Each is reported where it is, with how to fix it:
the line counted by newline bytes, the column in characters of the line's valid start, 1-based,
as editors show them.
"""
from __future__ import annotations

import re
from pathlib import Path

from archspec.errors import Location, SpecError

_UTF8_BOM = b"\xef\xbb\xbf"
# Longest first: UTF-32's little-endian mark starts with UTF-16's.
_WIDE_BOMS = [(b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
              (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16")]
_SAMPLE = 64  # bytes looked at to recognise UTF-16 without a mark: ASCII text has every other byte NUL

# The characters YAML refuses (PyYAML's Reader.NON_PRINTABLE): controls other than tab and line ends.
_NOT_YAML = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")
_CONTROL_NAMES = {0x00: "NUL", 0x07: "BEL", 0x08: "backspace", 0x0B: "vertical tab", 0x0C: "form feed",
                  0x1B: "ESC", 0x7F: "DEL"}


def decode_spec(data: bytes, path: str) -> str:
    """The text of a spec file; a UTF-8 byte-order mark is dropped (positions stay those editors show).

    >>> decode_spec(b"\\xef\\xbb\\xbfname: net\\n", "net.yaml")
    'name: net\\n'
    >>> try:
    ...     decode_spec(b"a: 1\\nb: caf\\xe9\\n", "net.yaml")
    ... except SpecError as error:
    ...     print(error.loc, error.message)
    net.yaml:2:7 the file is not UTF-8 text: byte 0xE9 is not valid UTF-8 here (invalid continuation byte)
    """
    wide = _wide_encoding(data)
    if wide is not None:
        name, convert_from = wide
        raise SpecError(f"the file is {name}, not UTF-8", f"convert it: iconv -f {convert_from} -t UTF-8 {path} > "
                        f"{_converted(path)} (or save it as UTF-8 in your editor)", Location(path, 1, 1))
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = data[exc.start:exc.end]
        raise SpecError(f"the file is not UTF-8 text: byte{'s' if len(bad) > 1 else ''} "
                        f"{' '.join(f'0x{b:02X}' for b in bad)} {'are' if len(bad) > 1 else 'is'} not valid UTF-8 "
                        f"here ({exc.reason})",
                        f"save the file as UTF-8 (if it is Latin-1: iconv -f LATIN1 -t UTF-8 {path} > "
                        f"{_converted(path)})", _byte_location(path, data, exc.start)) from None


def _converted(path: str) -> str:
    """A name for the converted copy, next to the file (the file itself is never the output).

    >>> _converted("specs/net.yaml"), _converted("net")
    ('specs/net.utf8.yaml', 'net.utf8.yaml')
    """
    stem = path[:-len(Path(path).suffix)] if Path(path).suffix else path
    return f"{stem}.utf8.yaml"


def _wide_encoding(data: bytes) -> tuple[str, str] | None:
    """(what the file is, iconv's name for it) for UTF-16 or UTF-32 text, else None.

    >>> _wide_encoding("a: 1".encode("utf-16")), _wide_encoding("a: 1".encode("utf-16-be"))
    (('UTF-16 text', 'UTF-16'), ('UTF-16 text (big-endian, without a byte-order mark)', 'UTF-16BE'))
    >>> _wide_encoding(b"a: 1\\n") is None
    True
    """
    for bom, name in _WIDE_BOMS:
        if data.startswith(bom):
            return f"{name} text", name
    sample = data[:_SAMPLE - _SAMPLE % 2] if len(data) >= 2 else b""
    evens, odds = sample[0::2], sample[1::2]
    if odds and not odds.strip(b"\x00") and b"\x00" not in evens:
        return "UTF-16 text (little-endian, without a byte-order mark)", "UTF-16LE"
    if evens and not evens.strip(b"\x00") and b"\x00" not in odds:
        return "UTF-16 text (big-endian, without a byte-order mark)", "UTF-16BE"
    return None


def _byte_location(path: str, data: bytes, offset: int) -> Location:
    """Where byte ``offset`` is: its line, and its column in characters of the (valid) text before it.

    >>> str(_byte_location("f", "a\\nçb".encode(), 5))
    'f:2:3'
    """
    start = data.rfind(b"\n", 0, offset) + 1
    return Location(path, data.count(b"\n", 0, offset) + 1, len(data[start:offset].decode("utf-8")) + 1)


def character_error(path: str, text: str) -> SpecError | None:
    """The first character YAML refuses (NUL, BEL, ESC...), at its line and column, or None.

    >>> error = character_error("f", "a: 1\\nb: x\\x07y\\n")
    >>> print(error.loc, error.message)
    f:2:5 the character U+0007 (BEL) is not allowed in YAML
    >>> character_error("f", "a: 1\\n") is None
    True
    """
    found = _NOT_YAML.search(text)
    if found is None:
        return None
    offset, code = found.start(), ord(found.group())
    name = _CONTROL_NAMES.get(code, "a control character" if code < 0xA0 else "a non-character")
    start = text.rfind("\n", 0, offset) + 1
    return SpecError(f"the character U+{code:04X} ({name}) is not allowed in YAML",
                     f"delete it (inside double quotes, write \\x{code:02X} to mean it)" if code <= 0xFF else
                     f"delete it (inside double quotes, write \\u{code:04X} to mean it)",
                     Location(path, text.count("\n", 0, offset) + 1, offset - start + 1))
