#!/usr/bin/env python3
# reference.py CORPUS: what Python's json module makes of each line of
# CORPUS (raw bytes, one document per line), in the form
# tests/test_jsonrec.c compares with lib/jsonrec.c. One output line per
# document:
#
#   VERDICT <TAB> s <TAB> k.x <TAB> a.1 <TAB> n
#
# VERDICT: "ok" (an object), "notobj" (valid JSON, not an object) or
# "reject". A document is parsed as json.loads(line decoded as strict UTF-8,
# a leading BOM dropped as json.loads does for bytes), with Python's
# 4300-digit limit on integers lifted (a guard of its int type, not JSON).
# The one deliberate difference, applied here: nesting deeper than 64
# containers is rejected.
#
# The string keys (s, k.x, a.1): "-" when absent, null, an object or an
# array; "N" for a number (lib/jsonrec.c gives the number's text); else
# "S" + the hex of the UTF-8 value (true/false as their text; a lone
# surrogate as U+FFFD).
# The number key n (request_time): "F" + repr(float) when the value is a
# number or a string that is a JSON number, finite and >= 0; else "-".
import json
import re
import sys

sys.set_int_max_str_digits(0)
sys.setrecursionlimit(10000)
NUMBER = re.compile(r'-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?')
MAX_DEPTH = 64


def depth(v):
    # iterative: the documents may be deep
    best, stack = 0, [(v, 1)]
    while stack:
        x, d = stack.pop()
        if isinstance(x, dict):
            best = max(best, d)
            stack.extend((y, d + 1) for y in x.values())
        elif isinstance(x, list):
            best = max(best, d)
            stack.extend((y, d + 1) for y in x)
    return best


def lookup(v, path):
    for seg in path.split('.'):
        if isinstance(v, dict) and seg in v:
            v = v[seg]
        elif isinstance(v, list) and seg.isdigit() and seg == str(int(seg)) and int(seg) < len(v):
            v = v[int(seg)]
        else:
            return None
    return v


def string_key(v):
    if v is None or isinstance(v, (dict, list)):
        return '-'
    if isinstance(v, bool):
        v = 'true' if v else 'false'
    elif isinstance(v, (int, float)):
        return 'N'
    v = re.sub('[\ud800-\udfff]', '\ufffd', v)
    return 'S' + v.encode('utf-8').hex()


def number_key(v):
    if isinstance(v, bool) or v is None:
        return '-'
    if isinstance(v, str):
        if not NUMBER.fullmatch(v):
            return '-'
        v = float(v)
    if not isinstance(v, (int, float)):
        return '-'
    try:
        f = float(v)
    except OverflowError:
        return '-'
    if f != f or f in (float('inf'), float('-inf')) or f < 0:
        return '-'
    return 'F' + repr(f + 0.0)


def main():
    with open(sys.argv[1], 'rb') as f:
        data = f.read()
    lines = data.split(b'\n')
    if lines and lines[-1] == b'':
        lines.pop()
    out = []
    for b in lines:
        try:
            v = json.loads(b.decode('utf-8-sig'))
            if depth(v) > MAX_DEPTH:
                raise ValueError('deeper than 64')
        except (ValueError, RecursionError):
            out.append('reject\t-\t-\t-\t-')
            continue
        if not isinstance(v, dict):
            out.append('notobj\t-\t-\t-\t-')
            continue
        out.append('\t'.join(['ok', string_key(lookup(v, 's')), string_key(lookup(v, 'k.x')),
                              string_key(lookup(v, 'a.1')), number_key(lookup(v, 'n'))]))
    sys.stdout.write('\n'.join(out) + '\n')


main()
