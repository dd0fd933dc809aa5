"""Input of any encoding or size: every bad byte, refused character and misfit tag is one line at its
place, with exit 2, the file left as it was; a quoted value is a short prefix, however long the value."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from archspec.cli import main
from archspec.errors import shown

HEAD = "archspec: 1\nname: net\ninput: [8, 8, 3]\n"  # lines 1-3
TAIL = "layers:\n  - Flatten\n  - Dense: {units: 2}\n"
VALID = HEAD + TAIL


def _validate(data: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    """Exit code and stderr of ``archspec validate net.yaml``; the file must be unchanged afterwards."""
    monkeypatch.chdir(tmp_path)
    Path("net.yaml").write_bytes(data)
    result = CliRunner().invoke(main, ["validate", "--all-errors", "net.yaml"])
    assert Path("net.yaml").read_bytes() == data
    assert "Traceback" not in result.output
    return result.exit_code, result.stderr


# (id, file bytes, line:col, fragment of the one-line message)
BAD_BYTES = [
    ("latin1_comment", (HEAD + "# café\n" + TAIL).encode("latin-1"), "4:6", "byte 0xE9 is not valid UTF-8"),
    ("latin1_after_multibyte", (HEAD + "# ça, é\n").encode("utf-8")[:-3] + b"\xe9\n", "4:7", "0xE9"),
    ("truncated_sequence", HEAD.encode() + b"name2: \xe2\x82\n", "4:8", "bytes 0xE2 0x82 are not valid UTF-8"),
    ("after_bom", b"\xef\xbb\xbf" + HEAD.encode() + b"x: \xff\n", "4:4", "byte 0xFF"),
    ("utf16_with_bom", VALID.encode("utf-16"), "1:1", "UTF-16 text, not UTF-8; convert it: iconv -f UTF-16 -t UTF-8"),
    ("utf16le_no_bom", VALID.encode("utf-16-le"), "1:1", "little-endian, without a byte-order mark"),
    ("utf16be_no_bom", VALID.encode("utf-16-be"), "1:1", "iconv -f UTF-16BE -t UTF-8 net.yaml > net.utf8.yaml"),
    ("utf32", VALID.encode("utf-32"), "1:1", "UTF-32 text"),
    ("nul", (HEAD + "layers:\n  - Flat\x00ten\n").encode(), "5:9", "the character U+0000 (NUL) is not allowed"),
    ("bel_in_comment", (HEAD + "# x\x07\n" + TAIL).encode(), "4:4", "U+0007 (BEL)"),
    ("esc_in_quotes", (VALID + '  - Dense: {units: 2, name: "\x1b[31m"}\n').encode(), "7:30", "U+001B (ESC)"),
    ("nul_after_bom", b"\xef\xbb\xbfab\x00: 1\n", "1:3", "U+0000"),
]


@pytest.mark.parametrize("data, place, fragment", [b[1:] for b in BAD_BYTES], ids=[b[0] for b in BAD_BYTES])
def test_bad_bytes_are_one_line_at_their_place(data: bytes, place: str, fragment: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    code, stderr = _validate(data, tmp_path, monkeypatch)
    assert code == 2
    assert len(stderr.splitlines()) == 1, stderr
    assert stderr.startswith(f"net.yaml:{place}: "), stderr
    assert fragment in stderr and "; " in stderr, stderr


def test_a_utf8_byte_order_mark_is_accepted_and_positions_stay_those_editors_show(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _validate(b"\xef\xbb\xbf" + VALID.encode(), tmp_path, monkeypatch)[0] == 0
    code, stderr = _validate(b"\xef\xbb\xbf" + b"archspec: 1 : 2\n", tmp_path, monkeypatch)
    assert code == 2 and stderr.startswith("net.yaml:1:13: "), stderr


def test_the_iconv_command_of_the_hint_converts_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = VALID.encode("utf-16")
    _validate(data, tmp_path, monkeypatch)
    Path("net.utf8.yaml").write_text(data.decode("utf-16"), encoding="utf-8")  # what iconv -f UTF-16 writes
    assert CliRunner().invoke(main, ["validate", "net.utf8.yaml"]).exit_code == 0


# (id, the value as written (at line 4, column 17), fragment of the message)
MISFIT_TAGS = [
    ("bool_maybe", "!!bool maybe", "'maybe' is not a valid !!bool; a !!bool is true or false"),
    ("null_text", "!!null abc", "'abc' is not a valid !!null"),
    ("int_float_text", "!!int 1.5", "'1.5' is not a valid !!int"),
    ("int_underscores", "!!int 1_000", "'1_000' is not a valid !!int"),
    ("float_word", "!!float infinity", "'infinity' is not a valid !!float"),
    ("map_on_list", "!!map [1]", "a list cannot be read as !!map"),
    ("seq_on_text", "!!seq abc", "a plain value cannot be read as !!seq"),
    ("str_on_mapping", "!!str {a: 1}", "a mapping cannot be read as !!str"),
    ("binary", "!!binary aGk=", "the YAML tag 'tag:yaml.org,2002:binary' is not allowed"),
    ("timestamp", "!!timestamp 2001-12-14", "the YAML tag 'tag:yaml.org,2002:timestamp' is not allowed"),
    ("integer_too_long", "1" + "0" * 5000, "this integer has 5,001 digits, too many to read"),
]


@pytest.mark.parametrize("value, fragment", [m[1:] for m in MISFIT_TAGS], ids=[m[0] for m in MISFIT_TAGS])
def test_a_value_its_tag_cannot_read_is_an_error_at_the_value(value: str, fragment: str, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    code, stderr = _validate((HEAD + f"vars: {{x: 1, v: {value}}}\n" + TAIL).encode(), tmp_path, monkeypatch)
    assert code == 2
    assert stderr.startswith("net.yaml:4:17: " + fragment), stderr[:300]


def test_standard_tags_whose_value_fits_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from archspec.spec.load import load_text
    doc = load_text('a: !!int "12"\nb: !!float 1\nc: !!bool True\nd: !!null\ne: !!str 5\nf: !!int 0x1F\n'
                    "g: !!seq [1]\nh: !!map {k: 1}\ni: !!float .inf\n")
    assert doc.data == {"a": 12, "b": 1.0, "c": True, "d": None, "e": "5", "f": 31, "g": [1], "h": {"k": 1},
                        "i": float("inf")}


@pytest.mark.parametrize("where", ["layers:\n  - Flatten\n  - Dense: {{units: {v}}}\n",
                                   "layers:\n  - {v}\n",
                                   "layers:\n  - Flatten\n  - Dense: {{units: 2}}\n    inputs: {v}\n",
                                   "layers:\n  - Flatten\n  - Dense: {{units: 2}}\n    expect: {v}\n"])
def test_a_ten_megabyte_value_is_quoted_as_a_short_prefix(where: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    text = "archspec: 1\nname: net\ninput: [8, 8, 3]\n" + where.format(v="a" * 10_000_000)
    code, stderr = _validate(text.encode(), tmp_path, monkeypatch)
    assert code == 2
    assert "'aaaaaaaaaa" in stderr and "...' (10,000,000 characters)" in stderr, stderr[:300]
    assert len(stderr) < 1_000


def test_version_quoted_short(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, stderr = _validate(("archspec: " + "9" * 5000 + "\n").encode(), tmp_path, monkeypatch)
    assert code == 2 and len(stderr) < 500, stderr[:500]


def test_shown_never_raises_and_stays_short() -> None:
    deep: list = []
    inner = deep
    for _ in range(10_000):
        inner.append([])
        inner = inner[0]
    for value in ["a" * 10_000_000, 10 ** 4000, -(7 ** 100_000), list(range(10 ** 6)), {"k" * 1000: "v" * 1000},
                  deep, "\x00" * 1000, ("x",) * 500, 2.5e300]:
        assert len(shown(value)) <= 100, shown(value)
    assert shown("it's" * 40).startswith('"it\'s') and shown("it's" * 40).endswith("(160 characters)")
    assert shown(10 ** 4000) == "a 4,001-digit integer"
    assert shown((1,)) == "(1,)" and shown({"a": 1}) == "{'a': 1}" and shown(None) == "None"


def test_devices_and_oversized_files_are_refused_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading /dev/zero would never end, and a huge file would fill memory: both are refused."""
    import archspec.spec.load as load

    result = CliRunner().invoke(main, ["validate", "/dev/zero"])
    assert result.exit_code == 2 and "/dev/zero is a device or socket, not a spec file" in result.stderr
    monkeypatch.setattr(load, "MAX_SPEC_BYTES", len(VALID) - 1)
    code, stderr = _validate(VALID.encode(), tmp_path, monkeypatch)
    assert code == 2 and "net.yaml is larger than" in stderr and "too large for a spec" in stderr
