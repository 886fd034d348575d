#!/usr/bin/env python3
"""Tables and reference outputs for the engine's Wan prompt cleaning (diffusers' prompt_clean).

    python tools/reference/prompt_clean.py          # needs ftfy (pip install ftfy)

diffusers' pipelines/wan/pipeline_wan.py cleans every prompt before tokenizing:

    ftfy.fix_text(text)  ->  html.unescape(html.unescape(...)).strip()  ->  re.sub(r"\\s+", " ").strip()

Writes:
  src/main/engine/tokenizers/ftfy-tables.ts  the facts the TypeScript port needs, taken from ftfy
      and Python's standard library: the HTML5 entity table, the single-byte codecs ftfy tries
      (upper halves, with ftfy's "sloppy" fill-ins), and ftfy's mojibake regexes (BADNESS_RE,
      UTF8_DETECTOR_RE, ALTERED_UTF8_RE, LOSSY_UTF8_RE) rewritten for JavaScript: verbose
      whitespace and comments dropped, Python's \\s, \\w and . spelled out, non-ASCII escaped.
  test/data/prompt-clean.json  prompt_clean() and ftfy.fix_text() of a corpus of prompts, plus
      probes of the regexes and html.unescape, and the derived tables, for the unit test.

Not run in CI: both outputs are committed. Run again after an ftfy update and look at the diff.
"""
from __future__ import annotations

import codecs
import html
import html.entities
import json
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

try:
    import ftfy
    from ftfy import badness, chardata
except ImportError:  # pragma: no cover - a person reads this
    sys.exit("prompt_clean.py: needs ftfy (pip install ftfy)")

ROOT = Path(__file__).resolve().parents[2]
TABLES_TS = ROOT / "src/main/engine/tokenizers/ftfy-tables.ts"
CORPUS_JSON = ROOT / "test/data/prompt-clean.json"


# --- diffusers' prompt_clean, verbatim in behaviour (pipelines/wan/pipeline_wan.py) ------------


def prompt_clean(text: str) -> str:
    text = ftfy.fix_text(text)
    text = html.unescape(html.unescape(text)).strip()
    return re.sub(r"\s+", " ", text).strip()


# --- Python regex -> JavaScript (u flag) ---------------------------------------------------------

PY_SPACE = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())  # = re's \s


def _esc(c: str) -> str:
    return "\\u{%x}" % ord(c)


def _space_ranges() -> str:
    return "".join(_esc(c) for c in PY_SPACE)


def js_regex(pattern: str, verbose: bool) -> str:
    """A Python str pattern as JS regex source (for the u flag), ASCII only."""
    out = []
    i = 0
    in_class = False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            e = pattern[i + 1]
            i += 2
            if e == "s":
                out.append(_space_ranges() if in_class else "[" + _space_ranges() + "]")
            elif e == "w":  # Python's Unicode \w is exactly letters, numbers and _
                out.append("\\p{L}\\p{N}_" if in_class else "[\\p{L}\\p{N}_]")
            elif e == "d":
                out.append("\\p{Nd}")
            elif e == "x":
                out.append(_esc(chr(int(pattern[i : i + 2], 16))))
                i += 2
            elif e.isascii() and not e.isalnum():
                out.append("\\" + e)
            else:
                raise ValueError(f"unhandled escape \\{e}")
            continue
        i += 1
        if in_class:
            if c == "]":
                in_class = False
                out.append(c)
            elif c in "[/\\":
                out.append("\\" + c)
            elif 0x20 < ord(c) < 0x7F:
                out.append(c)
            else:
                out.append(_esc(c))
            continue
        if verbose and c in " \t\n\r\v\f":
            continue
        if verbose and c == "#":
            while i < len(pattern) and pattern[i] != "\n":
                i += 1
            continue
        if c == "[":
            in_class = True
            out.append(c)
            if pattern[i] == "^":
                out.append("^")
                i += 1
        elif c == ".":
            out.append("[^\\n]")  # Python's . without DOTALL
        elif c == "/":
            out.append("\\/")
        elif 0x20 < ord(c) < 0x7F:
            out.append(c)
        else:
            out.append(_esc(c))
    return "".join(out)


def js_byte_regex(pattern: bytes) -> str:
    """A Python bytes pattern as JS regex source over a latin1 'binary string'."""
    out = []
    for b in pattern:
        c = chr(b)
        out.append(c if 0x20 < b < 0x7F and c != "/" else ("\\/" if c == "/" else "\\x%02x" % b))
    return "".join(out)


# --- tables ---------------------------------------------------------------------------------------


def charmap_upper_half(encoding: str) -> str:
    """Bytes 0x80..0xFF decoded (the codecs are identity below 0x80; sloppy ones map 0x1A to U+FFFD)."""
    table = bytes(range(256)).decode(encoding)
    low = bytes(range(128)).decode(encoding)
    expected_low = "".join(chr(b) for b in range(128))
    if encoding.startswith("sloppy"):
        expected_low = expected_low[:0x1A] + "\ufffd" + expected_low[0x1B:]
    assert low == expected_low, f"{encoding}: not identity below 0x80"
    assert len(set(table)) == 256, f"{encoding}: two bytes decode to one character"
    for ch in table:  # encoding is the inverse of decoding
        assert ch.encode(encoding) == bytes([table.index(ch)])
    return table[128:]


def ts_string(s: str) -> str:
    """A TS single-quoted literal, ASCII only."""
    out = []
    for ch in s:
        cp = ord(ch)
        if ch in "'\\":
            out.append("\\" + ch)
        elif 0x20 <= cp < 0x7F:
            out.append(ch)
        elif cp > 0xFFFF:
            out.append("\\u{%x}" % cp)
        else:
            out.append("\\u%04x" % cp)
    return "'" + "".join(out) + "'"


def write_tables() -> None:
    entities = html.entities.html5
    lines = [
        "// GENERATED by tools/reference/prompt_clean.py from Python %s's html.entities and"
        % sys.version.split()[0],
        "// ftfy %s (Apache-2.0, (c) Robyn Speer); do not edit. The facts the prompt cleaner" % ftfy.__version__,
        "// needs to reproduce ftfy.fix_text and html.unescape: see ./prompt-clean.ts.",
        "/* eslint-disable */",
        "",
        "/** html.entities.html5: name (with its ';' where the standard has one) -> text. */",
        "export const HTML5_ENTITIES: Readonly<Record<string, string>> = {",
    ]
    for name, value in entities.items():
        lines.append(f"  {ts_string(name)}: {ts_string(value)},")
    lines.append("}")
    lines.append("")
    lines.append("/** The single-byte encodings ftfy tries, in its order (chardata.CHARMAP_ENCODINGS). */")
    lines.append("export const CHARMAP_ENCODINGS = %s as const" % json.dumps(chardata.CHARMAP_ENCODINGS).replace('"', "'"))
    lines.append("")
    lines.append("/** Bytes 0x80..0xFF of each, decoded (ftfy's sloppy codecs fill undefined bytes from Latin-1). */")
    lines.append("export const CHARMAP_UPPER: Readonly<Record<(typeof CHARMAP_ENCODINGS)[number], string>> = {")
    for enc in chardata.CHARMAP_ENCODINGS:
        lines.append(f"  {ts_string(enc)}:")
        lines.append(f"    {ts_string(charmap_upper_half(enc))},")
    lines.append("}")
    lines.append("")
    regexes = [
        ("BADNESS_RE", "badness.BADNESS_RE: sequences that are likely mojibake", js_regex(badness.BADNESS_RE.pattern, True), "u"),
        ("UTF8_DETECTOR_RE", "chardata.UTF8_DETECTOR_RE: runs that look like UTF-8 read as a single-byte encoding", js_regex(chardata.UTF8_DETECTOR_RE.pattern, True), "gu"),
        ("ALTERED_UTF8_RE", "chardata.ALTERED_UTF8_RE (bytes as a latin1 string): UTF-8 with 0xA0 turned into a space", js_byte_regex(chardata.ALTERED_UTF8_RE.pattern), "g"),
        ("LOSSY_UTF8_RE", "chardata.LOSSY_UTF8_RE (bytes as a latin1 string): UTF-8 whose bytes were replaced by ? or 0x1A", js_byte_regex(chardata.LOSSY_UTF8_RE.pattern), "g"),
        ("A_GRAVE_WORD_RE", "fixes.A_GRAVE_WORD_RE (bytes as a latin1 string): a lone 'à' whose 0xA0 became a space", js_byte_regex(ftfy.fixes.A_GRAVE_WORD_RE.pattern), "g"),
    ]
    for name, doc, source, flags in regexes:
        lines.append(f"/** {doc} */")
        lines.append(f"export const {name} = /{source}/{flags}")
        lines.append("")
    lines.append("/** Python's str.isspace() (= re's \\s), for strip() and whitespace_clean. */")
    lines.append(f"export const PY_WHITESPACE = {ts_string(PY_SPACE)}")
    lines.append("")
    TABLES_TS.write_text("\n".join(lines))
    try:  # the repository's formatting, so `npm run format` leaves the file alone
        subprocess.run(["npx", "prettier", "--write", str(TABLES_TS)], cwd=ROOT, check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        print(f"note: could not run prettier; run `npx prettier --write {TABLES_TS.relative_to(ROOT)}`")
    print(f"wrote {TABLES_TS.relative_to(ROOT)}")


# --- corpus ---------------------------------------------------------------------------------------


def moji(text: str, encoding: str) -> str:
    """UTF-8 bytes of `text` read as `encoding`: the mojibake ftfy exists to undo."""
    return text.encode("utf-8").decode(encoding, errors="replace")


CORPUS: list[tuple[str, str]] = [
    # plain prompts, including diffusers' own Wan examples
    ("plain", "A cat and a dog baking a cake together in a kitchen. The cat is carefully measuring flour, while the dog is stirring the batter with a wooden spoon. The kitchen is cozy, with sunlight streaming through the window."),
    ("plain negative", "Bright tones, overexposed, static, blurred details, subtitles, style, works, paintings, images, static, overall gray, worst quality, low quality, JPEG compression residue, ugly, incomplete, extra fingers, poorly drawn hands, poorly drawn faces, deformed, disfigured, misshapen limbs, fused fingers, still picture, messy background, three legs, many people in the background, walking backwards"),
    ("Wan's Chinese negative prompt (full-width commas)", "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量，JPEG压缩残留，丑陋的，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，形态畸形的肢体，手指融合，静止不动的画面，杂乱的背景，三条腿，背景人很多，倒着走"),
    ("empty", ""),
    ("only spaces", "   \t  \n "),
    ("numbers and punctuation", "4K, 60fps, f/1.8 -- ISO 100; 1/250s (35mm) [cinematic] {moody} #tag @user 50% ~ ^_^"),
    # quotes and dashes
    ("curly double quotes", "A sign that says \u201cOPEN\u201d in neon"),
    ("curly single quotes / apostrophe", "The dog\u2019s \u2018happy\u2019 face"),
    ("low-9 and reversed quotes", "\u201eQuote\u201f and \u201aquote\u201b"),
    ("modifier apostrophe", "Hawai\u02bbi and Ha\u02bcwai"),
    ("guillemets stay", "\u00abBonjour\u00bb, \u2039hi\u203a"),
    ("primes stay", "5\u2032 10\u2033 tall"),
    ("dashes and ellipsis stay", "slow\u2014motion \u2013 wide shot\u2026 then cut \u2012 \u2015"),
    ("CJK quotes stay", "他说「你好」和『再见』"),
    # emoji and symbols
    ("emoji", "A cat \U0001F431 on a skateboard \U0001F6F9 at sunset \U0001F305"),
    ("emoji ZWJ family and skin tone", "\U0001F468\u200D\U0001F469\u200D\U0001F467 waving \U0001F44B\U0001F3FD"),
    ("emoji flags and keycaps", "\U0001F1EF\U0001F1F5 \U0001F1FA\U0001F1F8 1\uFE0F\u20E3 #\uFE0F\u20E3"),
    ("symbols that look like mojibake but are not", "Price: \u00a3100 \u00a9 2024 \u00ae \u2122 \u00b0C \u00b1 0.5 \u00bd \u00d7 2"),
    ("math symbols", "\u221a2 \u2248 1.414, \u2211 x\u00b2, \u221e, \u2264 \u2265 \u2260"),
    # CJK and other scripts
    ("Chinese", "一只可爱的小猫在花园里玩耍，阳光明媚，电影质感"),
    ("Japanese with half-width katakana", "ｶﾀｶﾅ と ひらがな と 漢字、東京の夜景"),
    ("Korean", "벚꽃이 흩날리는 서울의 봄 거리, 시네마틱"),
    ("Arabic", "قطة صغيرة تلعب في الحديقة عند الغروب"),
    ("Hebrew", "חתול קטן משחק בגינה"),
    ("Hindi (Devanagari)", "सूर्यास्त के समय बगीचे में खेलती एक छोटी बिल्ली"),
    ("Thai", "แมวตัวเล็กเล่นในสวนตอนพระอาทิตย์ตก"),
    ("Russian", "Маленький котёнок играет в саду на закате"),
    ("Greek", "Μια μικρή γάτα παίζει στον κήπο"),
    ("Vietnamese", "Một con mèo nhỏ đang chơi trong vườn lúc hoàng hôn"),
    # width
    ("full-width ASCII", "\uff21\uff22\uff23 \uff11\uff12\uff13 \uff08\uff54\uff45\uff53\uff54\uff09\uff01"),
    ("ideographic space", "cat\u3000dog\u3000\u3000bird"),
    ("full-width punctuation in Chinese", "你好！这是：测试？（括号）"),
    ("full-width won/yen and half-width forms", "\uffe5100 \uffe6200 \uff5e \uffe8 \uffed"),
    # ligatures
    ("Latin ligatures", "\ufb01sh \ufb02ower \ufb00ect \ufb03ce \ufb04e \ufb05 \ufb06"),
    ("Dutch and Serbian digraph ligatures", "\u0132sselmeer \u0133s \u01c4 \u01c5 \u01c6 \u01c7 \u01c8 \u01c9 \u01ca \u01cb \u01cc \u01f1 \u01f2 \u01f3 \u0149"),
    ("ligature oe stays", "\u0153uvre and \u00e6ther"),
    # normalization
    ("combining accents (NFD input)", "Cafe\u0301 na\u0131\u0308ve re\u0301sume\u0301 n\u0303"),
    ("Hangul jamo (NFD)", "\u1112\u1161\u11ab\u1100\u1173\u11af"),
    ("compatibility chars NFC keeps", "\u2460 \u00b2 \u2122 \u212b \u2126 \ufb01"),
    # HTML
    ("HTML entities", "Tom &amp; Jerry &lt;3 &quot;cartoon&quot; &#39;retro&#39; caf&eacute;"),
    ("double-escaped entity", "salt &amp;amp; pepper"),
    ("triple-escaped entity", "salt &amp;amp;amp; pepper"),
    ("numeric entities", "&#x27;quoted&#x27; &#8217;curly&#8217; &#128512; &#x1F600;"),
    ("entity without semicolon", "&copy 2024 &amp more &notit; &notin;"),
    ("uppercase entity names (ftfy only)", "&EACUTE;TUDE &NTILDE; &AMP;"),
    ("nbsp entity", "wide&nbsp;shot&nbsp;&nbsp;now"),
    ("angle bracket turns off ftfy's unescape", "<b>bold</b> &amp;amp; &eacute;"),
    ("angle bracket on a later line", "first &amp;amp; line\nsecond <i> &amp;amp;amp; line"),
    ("invalid numeric entities", "&#0; &#x80; &#x9F; &#xD800; &#1114112; &#65535; &#x0b;"),
    ("not entities", "AT&T & Co; &#; &#x; &unknownentity; & amp;"),
    # mojibake
    ("UTF-8 as Latin-1", moji("schön", "latin-1")),
    ("UTF-8 as Windows-1252", moji("café – naïve “quotes” ", "windows-1252")),
    ("mojibake sentence", "The Mona Lisa doesnÃ¢â‚¬â„¢t have eyebrows."),
    ("mojibake curly quotes", moji("\u201cHello\u201d she said \u2014 \u2018fine\u2019", "windows-1252")),
    ("mojibake emoji", moji("a cat \U0001F431 smiling", "windows-1252")),
    ("mojibake Chinese", moji("你好世界", "windows-1252")),
    ("mojibake Cyrillic via Windows-1251", moji("Привет, мир", "windows-1251")),
    ("mojibake Greek via Windows-1253", moji("Καλημέρα", "windows-1253")),
    ("mojibake via MacRoman", moji("crème brûlée", "mac_roman")),
    ("mojibake via cp437", moji("Ångström ñ", "cp437")),
    ("double mojibake", moji(moji("déjà vu", "windows-1252"), "windows-1252")),
    ("mojibake with nbsp lost to a space", "maÃ± ana Ã  la plage"),
    ("mixed good text and mojibake", "naïve café and then Ã©tÃ© in one line"),
    ("CESU-8 mojibake (Java's modified UTF-8)", b"emoji \xed\xa0\xbd\xed\xb8\x80 here".decode("windows-1252", errors="replace")),
    ("modified UTF-8 NUL", "null" + b"\xc0\x80".decode("windows-1252") + "byte caf" + moji("é", "windows-1252")),
    ("lossy mojibake (a byte became ?)", "The Mona Lisa doesn\u00e2\u20ac?t have eyebrows."),
    ("lossy mojibake (a byte became 0x1A)", "It\u00e2\u20ac\x1as a caf\u00c3\u00a9"),
    ("C1 controls, one undefined in Windows-1252", "quotes \x93inside\x9d and \x81 too"),
    ("C1 controls", "smart quotes \x93like this\x94 and \x85 ellipsis"),
    ("Latin-1 text that is not mojibake", "Ça va? Où est la bibliothèque? Größe"),
    ("lone Windows-1252 mojibake of a dash", "wide shot â€” close up"),
    # whitespace and control characters
    ("tabs newlines multiple spaces", "  a   cat\t\tsitting \n\n on a\r\nmat  "),
    ("CR and unicode line separators", "line one\rline two\u2028line three\u2029line four\u0085end"),
    ("nbsp and other unicode spaces", "a\u00a0b\u2002c\u2003d\u2009e\u202ff\u205fg\u1680h"),
    ("control characters", "bell\x07 null\x00 escape\x1b del\x7f tab\x0b ff\x0c fs\x1c"),
    ("ANSI terminal escapes", "\x1b[1;31mred text\x1b[0m and \x1b[4munderline\x1b[24m"),
    ("zero-width and format characters", "zero\u200bwidth\u200cnon\u200djoiner\u2060word\ufeffbom\u00adsoft\u206ainhibit"),
    ("BOM at start", "\ufeffA prompt with a BOM"),
    ("interlinear annotation chars", "a\ufff9b\ufffac\ufffbd\ufffc"),
    ("replacement character", "broken \ufffd char"),
    ("lone surrogates", "half \ud83d pair and \ude00 other"),
    ("bidi controls stay", "abc \u202bRTL\u202c \u200fmark\u200e"),
    ("long prompt with everything", "  \u201cCinematic\u201d shot of a caf\u00e9 \ufb01lled with \uff28\uff25\uff2c\uff2c\uff2f &amp;amp; "
        + moji("crème brûlée", "windows-1252") + "\t\U0001F370 \u2014 4K\u2026  "),
]


def probes() -> dict:
    """Strings that exercise the regexes and html.unescape on their own."""
    mojibake_chars = "ÃÂâ€™œ¢£¤¥¦§¨©ª«¬®¯°±²³´µ¶·¸¹º»¼½¾¿ÀÁÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖ×ØÙÚÛÜÝÞßàáäåæçèéêëìíîïðñòóôõö÷øùúûüýþÿŒœŠšŸŽžƒˆ˜–—‘’‚“”„†‡•…‰‹›€™√∂≈≠вЂГРСΒΓΞΟβάāĂČĘĞİŁŃŐŘŚŞŢŮŰŹŻ│┌═▀░\x80\x85\x93 \xa0\t"
    import random

    rng = random.Random(20250101)
    strings = []
    for _ in range(400):
        n = rng.randint(1, 8)
        pool = mojibake_chars + "abcdeXYZ.,!? 01"
        strings.append("".join(rng.choice(pool) for _ in range(n)))
    for _label, text in CORPUS:
        strings.append(text)
    strings += [moji(w, enc) for w in ["schön", "€uro", "naïve", "Привет", "ñ", "日本", "—", "’"] for enc in ["latin-1", "windows-1252", "windows-1251", "mac_roman", "cp437"]]
    badness_probes = [[s, len(badness.BADNESS_RE.findall(s))] for s in strings]
    detector_probes = [[s, [[m.start(), m.end()] for m in chardata.UTF8_DETECTOR_RE.finditer(s)]] for s in strings]
    unescape_inputs = [
        "&amp;", "&amp", "&ampx", "&amp;x", "&AMP;", "&AMP", "&notit;", "&notin;", "&not", "&no;", "&#65;", "&#65",
        "&#x41;", "&#X41", "&#0;", "&#13;", "&#x80;", "&#x81;", "&#x9F;", "&#xD800;", "&#xDFFF;", "&#x110000;",
        "&#99999999999999999999;", "&#1;", "&#x0B;", "&#x7F;", "&#xFDD0;", "&#xFFFE;", "&#x1FFFF;", "&#x10FFFF;",
        "&eacute;", "&Eacute", "&EACUTE;", "&ThickSpace;", "&nbsp", "&nbsp;x", "& amp;", "&;", "&#;", "&#x;",
        "&" + "a" * 40 + ";", "&lt;&gt;&quot;&apos;", "&\r\namp;", "&\u00e9;", "&ouml&uuml", "&\U0001F600;",
    ] + [f"&#{n};" for n in range(0, 192)] + [f"&#x{n:x}" for n in range(0xFDC0, 0xFDF8)]
    unescape_probes = [[s, html.unescape(s)] for s in unescape_inputs]
    ftfy_unescape_probes = [[s, ftfy.fixes.unescape_html(s)] for s in unescape_inputs]
    return {
        "badness": badness_probes,
        "utf8_detector": detector_probes,
        "html_unescape": unescape_probes,
        "ftfy_unescape_html": ftfy_unescape_probes,
    }


def fuzz(count: int = 300) -> list:
    """Random mixes of words, entities and mojibake (any of ftfy's encodings, sometimes twice or
    with a damaged byte), compared as prompt_clean outputs."""
    import random

    rng = random.Random(6)
    words = ["schön", "café", "naïve", "Привет", "日本語", "\U0001F600", "\u2014", "\u2019", "\u201cx\u201d", "crème", "Ångström",
             "€5", "½", "°C", "ß", "œuvre", "İstanbul", "Łódź", "Ελλάδα", "مرحبا", "cat", "<b>", "&amp;", "&amp;amp;", "&eacute;",
             "&#x41;", "&nbsp;", "&copy", "&EACUTE;", "\t", "\n", "\r\n", "  ", "\u3000", "ＡＢ", "\ufb01", "\u200b", "\ufeff",
             "\x1b[1m", "\x93", "\x9d", "\xa0", "e\u0301"]
    encodings = ["latin-1", "windows-1252", "windows-1251", "windows-1250", "windows-1253", "windows-1254",
                 "windows-1257", "iso-8859-2", "mac_roman", "cp437"]
    out = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 6)):
            w = rng.choice(words)
            r = rng.random()
            if r < 0.45:
                b = w.encode("utf-8")
                if r < 0.08:  # a byte lost to '?', 0x1A or a space
                    b = bytearray(b)
                    b[rng.randrange(len(b))] = rng.choice([0x20, 0x3F, 0x1A])
                w = bytes(b).decode(rng.choice(encodings), errors="replace")
                if r > 0.38:  # mojibake of mojibake
                    w = w.encode("utf-8").decode(rng.choice(encodings[:3]), errors="replace")
            parts.append(w)
        text = rng.choice(["", " "]).join(parts)
        out.append([text, prompt_clean(text)])
    return out


def main() -> None:
    write_tables()
    cases = []
    for label, text in CORPUS:
        cases.append({"label": label, "input": text, "fix_text": ftfy.fix_text(text), "prompt_clean": prompt_clean(text)})
    extras = {k: v for k, v in chardata.HTML_ENTITIES.items() if k[1:] not in html.entities.html5}
    data = {
        "python": sys.version.split()[0],
        "unicode": unicodedata.unidata_version,
        "ftfy": ftfy.__version__,
        "how": "prompt_clean = whitespace_clean(basic_clean(text)) of diffusers' pipelines/wan/pipeline_wan.py; fix_text = ftfy.fix_text(text) with defaults",
        "cases": cases,
        "fuzz": fuzz(),
        "probes": probes(),
        "tables": {
            "ftfy_uppercase_entities": extras,
            "width_map": {str(k): v for k, v in chardata.WIDTH_MAP.items()},
            "ligatures": {str(k): v for k, v in chardata.LIGATURES.items()},
            "control_chars": sorted(chardata.CONTROL_CHARS),
        },
    }
    CORPUS_JSON.parent.mkdir(parents=True, exist_ok=True)
    CORPUS_JSON.write_text(json.dumps(data, ensure_ascii=True, indent=1) + "\n")
    print(f"wrote {CORPUS_JSON.relative_to(ROOT)} ({len(cases)} prompts)")
    changed = sum(1 for c in cases if c["prompt_clean"] != c["input"])
    print(f"{changed} of {len(cases)} prompts change under prompt_clean")


if __name__ == "__main__":
    codecs.lookup("utf-8")
    main()
