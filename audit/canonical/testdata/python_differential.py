#!/usr/bin/env python3
"""Regenerates python-differential.jsonl (not run by the tests).

Random JSON texts (random spacing, raw and escaped non-ASCII in both hex
cases, surrogate-pair escapes, controls, number literals of every shape,
big integers, objects of up to 40 keys) and byte-level mutations of them
(truncations, insertions of JSON punctuation, NaN/Infinity, lone surrogate
escapes, BOMs, invalid UTF-8). Each line records what CPython's json module
does with the bytes:

  {"input_hex": "...", "ok": true,  "canonical": "<json.dumps(sort_keys, compact)>"}
  {"input_hex": "...", "ok": false, "python_error": "..."}

Usage: python3 python_differential.py > python-differential.jsonl
"""
import json
import random
import struct
import sys

random.seed(20260302)
MAX_TEXT = 600


def rand_text():
    out = []
    for _ in range(random.randint(0, 8)):
        k = random.random()
        if k < 0.3:
            out.append(chr(random.randint(0x20, 0x7E)))
        elif k < 0.4:
            out.append(chr(random.randint(0, 0x1F)))
        elif k < 0.45:
            out.append("\x7f")
        elif k < 0.6:
            out.append(chr(random.randint(0x80, 0x7FF)))
        elif k < 0.75:
            c = random.randint(0x800, 0xFFFF)
            out.append(chr(0xFFFD if 0xD800 <= c <= 0xDFFF else c))
        else:
            out.append(chr(random.randint(0x10000, 0x10FFFF)))
    return "".join(out)


def encode_text(s):
    parts = ['"']
    for ch in s:
        c = ord(ch)
        k = random.random()
        if ch in '"\\' or c < 0x20:
            parts.append(json.dumps(ch)[1:-1] if k < 0.5 else "\\u%04X" % c)
        elif k < 0.5:
            parts.append(ch)
        elif c < 0x10000:
            parts.append(("\\u%04x" if k < 0.75 else "\\u%04X") % c)
        else:
            v = c - 0x10000
            parts.append("\\u%04x\\u%04X" % (0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF)))
    parts.append('"')
    return "".join(parts)


EDGE_NUMBERS = [
    "-0", "0", "-0.0", "0.0", "0e0", "-0E-0", "1e308", "2e308", "1e-323", "3e-324",
    "2.4703282292062328e-324", "2.4703282292062327e-324", "9007199254740993",
    "9007199254740993.0", "1e16", "9999999999999999", "9999999999999999.0", "1e15",
    "123456789012345678e-5", "0.000123", "1e-5", "1E-4", "1E2", "0.10", "2.50",
]


def rand_number():
    k = random.random()
    if k < 0.2:
        return str(random.randint(-10 ** random.randint(1, 40), 10 ** random.randint(1, 40)))
    if k < 0.5:
        f = struct.unpack("<d", struct.pack("<Q", random.getrandbits(64)))[0]
        if f != f or f in (float("inf"), float("-inf")):
            f = 1.5
        return repr(f) if random.random() < 0.5 else "%.25e" % f
    if k < 0.7:
        s = ("-" if random.random() < 0.3 else "") + str(random.randint(0, 10 ** random.randint(0, 20)))
        s += "." + "".join(random.choice("0123456789") for _ in range(random.randint(1, 25)))
        if random.random() < 0.5:
            s += random.choice("eE") + random.choice(["", "+", "-"]) + str(random.randint(0, 400))
        return s
    if k < 0.85:
        return random.choice(EDGE_NUMBERS)
    return str(random.randint(0, 2 ** 64)) + random.choice(["", "e1", ".5", "E-3"])


def space():
    return random.choice(["", " ", "\n", "\t", "\r\n  "])


def rand_value(depth):
    k = random.random()
    if depth > 3 or k < 0.5:
        k = random.random()
        if k < 0.35:
            return encode_text(rand_text())
        if k < 0.8:
            return rand_number()
        return random.choice(["true", "false", "null"])
    if k < 0.75:
        n = random.randint(0, 6) if random.random() < 0.9 else random.randint(20, 40)
        keys = [rand_text() if random.random() < 0.8 else random.choice(["a", "b", "\u00e9", "\U0001F600", "\ue000"])
                for _ in range(n)]
        members = [encode_text(key) + space() + ":" + space() + rand_value(depth + 1 if n < 10 else 99) for key in keys]
        return "{" + space() + ("," + space()).join(members) + space() + "}"
    n = random.randint(0, 6)
    return "[" + space() + ("," + space()).join(rand_value(depth + 1) + space() for _ in range(n)) + "]"


MUTATIONS = list('{}[],:"\\ 0123456789eE.+-tfnulNaIy\t\n') + [
    "\\u", "\\ud800", "\\udc00", "Infinity", "NaN", "\x01", "\x7f", "\u00e9", "\ufeff"]


def mutate(text):
    for _ in range(random.randint(1, 3)):
        p = random.randint(0, len(text))
        k = random.random()
        if k < 0.4:
            text = text[:p] + random.choice(MUTATIONS) + text[p:]
        elif k < 0.7:
            text = text[:p] + text[p + 1:]
        else:
            text = text[:p] + random.choice(MUTATIONS) + text[p + 1:]
    b = text.encode("utf-8", "surrogatepass")
    if random.random() < 0.05:
        b = b[:random.randint(0, len(b))] + bytes([random.choice([0x80, 0xC0, 0xED, 0xFF])]) + b[random.randint(0, len(b)):]
    return b


def record(b):
    try:
        v = json.loads(b)
        return {"input_hex": b.hex(), "ok": True, "canonical": json.dumps(v, sort_keys=True, separators=(",", ":"))}
    except (ValueError, RecursionError) as e:
        return {"input_hex": b.hex(), "ok": False, "python_error": str(e)[:100]}


def main():
    valid, mutated = [], []
    while len(valid) < 500:
        t = rand_value(0)
        if len(t) <= MAX_TEXT:
            valid.append(t)
    for t in valid:
        print(json.dumps(record(t.encode("utf-8"))))
    while len(mutated) < 500:
        mutated.append(mutate(random.choice(valid)))
    for b in mutated:
        print(json.dumps(record(b)))
    print("python", sys.version.split()[0], file=sys.stderr)


main()
