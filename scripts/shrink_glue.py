#!/usr/bin/env python3
"""Shortens the names by which the wasm module imports wasm-bindgen's JS functions.

wasm-bindgen names each import `__wbg_<method>_<16 hex digits>` under the module
`./lifeboat-frontend_bg.js`: some 180 long, hash-suffixed names, written twice (in the wasm's
import section and as the keys of the JS glue's import object), that gzip cannot shrink. This
renames each one to a short name (`a`, `b`, … `a0`, …) and the module to `m`, in both files
alike, as Emscripten's import minification does. Run by scripts/minify-glue.sh on Trunk's
staging folder, before esbuild minifies the glue.

Usage: shrink_glue.py <module.wasm> <glue.js>
"""

import re
import string
import sys

MODULE = "./lifeboat-frontend_bg.js"
SHORT_MODULE = "m"


def leb(data, i):
    """An unsigned LEB128 at `i`: (value, next index)."""
    value = shift = 0
    while True:
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return value, i


def to_leb(value):
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def name_at(data, i):
    n, i = leb(data, i)
    return data[i : i + n].decode("utf-8"), i + n


def enc_name(s):
    b = s.encode("utf-8")
    return to_leb(len(b)) + b


def short_names():
    """a, b, …, z, A, …, Z, a0, a1, …: valid JS identifiers, never a keyword."""
    first = string.ascii_letters
    rest = string.ascii_letters + string.digits
    for c in first:
        yield c
    for c in first:
        for d in rest:
            yield c + d


def import_desc_end(data, i):
    """The end of one import's description (function, table, memory or global)."""
    kind = data[i]
    i += 1
    if kind == 0:  # function: a type index
        _, i = leb(data, i)
    elif kind == 1:  # table: a reference type, then limits
        i += 1
        flags, i = leb(data, i)
        _, i = leb(data, i)
        if flags & 1:
            _, i = leb(data, i)
    elif kind == 2:  # memory: limits
        flags, i = leb(data, i)
        _, i = leb(data, i)
        if flags & 1:
            _, i = leb(data, i)
    elif kind == 3:  # global: a value type and mutability
        i += 2
    else:
        sys.exit(f"shrink_glue: unknown import kind {kind}")
    return i


def rename_imports(wasm):
    """The module with its glue imports renamed, and the old → new names."""
    if wasm[:4] != b"\0asm":
        sys.exit("shrink_glue: not a wasm module")
    i = 8
    out = bytearray(wasm[:8])
    renames = {}
    names = short_names()
    while i < len(wasm):
        section = wasm[i]
        size, body = leb(wasm, i + 1)
        end = body + size
        if section != 2:
            out += wasm[i:end]
            i = end
            continue
        count, j = leb(wasm, body)
        new = bytearray(to_leb(count))
        for _ in range(count):
            module, j = name_at(wasm, j)
            field, j = name_at(wasm, j)
            desc_end = import_desc_end(wasm, j)
            desc = wasm[j:desc_end]
            j = desc_end
            if module == MODULE:
                if field not in renames:
                    renames[field] = next(names)
                module, field = SHORT_MODULE, renames[field]
            new += enc_name(module) + enc_name(field) + desc
        if j != end:
            sys.exit("shrink_glue: the import section did not parse to its end")
        out += bytes([2]) + to_leb(len(new)) + new
        i = end
    return bytes(out), renames


def rename_glue(js, renames):
    """The glue with the import object's keys and its module key renamed alike."""
    for old, new in renames.items():
        # Keys of the import object only (`name: function`), never `wasm.name` (an export).
        pattern = re.compile(r"(?<![\w$.])" + re.escape(old) + r"(?=\s*:)")
        js, n = pattern.subn(new, js)
        if n != 1:
            sys.exit(f"shrink_glue: expected one key {old} in the glue, found {n}")
    key = f'"{MODULE}":'
    if js.count(key) != 1:
        sys.exit(f"shrink_glue: expected one {key} in the glue, found {js.count(key)}")
    return js.replace(key, f'"{SHORT_MODULE}":')


def main():
    wasm_path, js_path = sys.argv[1], sys.argv[2]
    with open(wasm_path, "rb") as f:
        wasm, renames = rename_imports(f.read())
    with open(js_path, encoding="utf-8") as f:
        js = rename_glue(f.read(), renames)
    if not renames:
        sys.exit(f"shrink_glue: no imports from {MODULE}")
    with open(wasm_path, "wb") as f:
        f.write(wasm)
    with open(js_path, "w", encoding="utf-8") as f:
        f.write(js)


if __name__ == "__main__":
    main()
