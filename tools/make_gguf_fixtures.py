#!/usr/bin/env python3
"""Writes the GGUF reader's fixtures with llama.cpp's reference writer (gguf-py) and dumps, next to each file,
what gguf-py's own GGUFReader sees in it (tests/io/gguf_test.cpp compares our reader with that JSON).

    PYTHONPATH=/path/to/llama.cpp/gguf-py python3 tools/make_gguf_fixtures.py tests/data/gguf

gguf-py only writes version 3. Version 2 differs from 3 only in the version field for little-endian files
(v3 added big-endian files; ggml's gguf.cpp parses both with the same code), so v2.gguf is v3 bytes with the
version field set to 2 — and it is checked by reading it back with GGUFReader, which accepts 2 and 3.

The committed files were made with the llama.cpp that node-llama-cpp 3.22.1 bundles (commit de3ff815ea7d, `npm pack
node-llama-cpp`, then `git clone package/llama/gitRelease.bundle`) and Debian's python3-numpy 1.24; the output is
deterministic (seeded), so rerunning it reproduces them byte for byte.
"""
import json
import os
import struct
import sys

import numpy as np
from gguf import GGUFReader, GGUFValueType, GGUFWriter, GGMLQuantizationType, GGML_QUANT_SIZES


def metadata(w: GGUFWriter) -> None:
    w.add_uint8("test.u8", 255)
    w.add_int8("test.i8", -128)
    w.add_uint16("test.u16", 65535)
    w.add_int16("test.i16", -32768)
    w.add_uint32("test.u32", 4294967295)
    w.add_int32("test.i32", -2147483648)
    w.add_uint64("test.u64", 18446744073709551615)
    w.add_int64("test.i64", -9223372036854775808)
    w.add_float32("test.f32", 3.14159)
    w.add_float64("test.f64", 2.718281828459045)
    w.add_bool("test.bool_true", True)
    w.add_bool("test.bool_false", False)
    w.add_string("test.string", "héllo wörld ✓ 日本語 🦙")
    w.add_string("test.empty_string", "")
    w.add_array("test.array_strings", ["a", "", "ünïcode", "<|im_start|>"])
    w.add_array("test.array_i32", [1, -2, 3, 2147483647])
    w.add_array("test.array_f32", [0.5, -1.25, 1e10])
    w.add_array("test.array_bool", [True, False, True])
    w.add_key_value("test.array_u8", [0, 1, 255], GGUFValueType.ARRAY, GGUFValueType.UINT8)
    w.add_key_value("test.array_i8", [-128, 0, 127], GGUFValueType.ARRAY, GGUFValueType.INT8)
    w.add_key_value("test.array_u16", [0, 65535], GGUFValueType.ARRAY, GGUFValueType.UINT16)
    w.add_key_value("test.array_i16", [-32768, 32767], GGUFValueType.ARRAY, GGUFValueType.INT16)
    w.add_key_value("test.array_u32", [0, 4294967295], GGUFValueType.ARRAY, GGUFValueType.UINT32)
    w.add_key_value("test.array_u64", [0, 18446744073709551615], GGUFValueType.ARRAY, GGUFValueType.UINT64)
    w.add_key_value("test.array_i64", [-9223372036854775808, 9223372036854775807], GGUFValueType.ARRAY,
                    GGUFValueType.INT64)
    w.add_key_value("test.array_f64", [1.5, -2.25e-300], GGUFValueType.ARRAY, GGUFValueType.FLOAT64)
    w.add_array("test.array_nested", [[1, 2, 3], [4], [5, 6]])
    w.add_array("test.array_nested_strings", [["x", "y"], ["z"]])


def tensors(w: GGUFWriter, rng: np.random.Generator, quantized: bool) -> None:
    w.add_tensor("f32.weight", rng.standard_normal((3, 5)).astype(np.float32))
    w.add_tensor("f16.weight", rng.standard_normal((2, 7)).astype(np.float16))
    w.add_tensor("i32.weight", np.arange(6, dtype=np.int32).reshape(2, 3))
    w.add_tensor("vec.bias", rng.standard_normal(17).astype(np.float32))
    if quantized:
        # Raw block bytes: gguf-py derives the element shape from the byte shape and the type's block size.
        def raw(name, qtype, rows, blocks_per_row):
            block, size = GGML_QUANT_SIZES[qtype]
            data = rng.integers(0, 256, (rows, blocks_per_row * size), dtype=np.uint8)
            w.add_tensor(name, data, raw_dtype=qtype)
        raw("bf16.weight", GGMLQuantizationType.BF16, 2, 8)
        raw("q8_0.weight", GGMLQuantizationType.Q8_0, 2, 2)
        raw("q4_0.weight", GGMLQuantizationType.Q4_0, 3, 1)
        raw("q4_k.weight", GGMLQuantizationType.Q4_K, 2, 1)
        raw("q6_k.weight", GGMLQuantizationType.Q6_K, 1, 1)
        raw("iq4_nl.weight", GGMLQuantizationType.IQ4_NL, 1, 2)
        raw("tq2_0.weight", GGMLQuantizationType.TQ2_0, 1, 1)


def dump(path: str) -> None:
    r = GGUFReader(path)
    out = {"version": int(r.fields["GGUF.version"].parts[0][0]), "alignment": int(r.alignment),
           "data_offset": int(r.data_offset), "metadata": [], "tensors": []}
    for name, field in r.fields.items():
        if name.startswith("GGUF."):
            continue
        entry = {"key": name, "type": field.types[0].name.lower(), "value": field.contents()}
        if field.types[0] == GGUFValueType.ARRAY:
            entry["element_types"] = [t.name.lower() for t in field.types[1:]]
        out["metadata"].append(entry)
    for t in r.tensors:
        data = np.asarray(t.data).tobytes()
        out["tensors"].append({"name": t.name, "dims": [int(d) for d in t.shape], "type": int(t.tensor_type),
                               "type_name": t.tensor_type.name, "offset": int(t.data_offset),
                               "n_bytes": int(t.n_bytes), "first_bytes": data[:16].hex()})
    with open(path + ".json", "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")


def write(path: str, alignment: int | None, quantized: bool, seed: int) -> None:
    w = GGUFWriter(path, arch="test")
    if alignment is not None:
        w.add_custom_alignment(alignment)
    metadata(w)
    tensors(w, np.random.default_rng(seed), quantized)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main() -> None:
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    write(os.path.join(out_dir, "v3_align64.gguf"), 64, True, 1)
    write(os.path.join(out_dir, "v3_default.gguf"), None, False, 2)
    v2 = bytearray(open(os.path.join(out_dir, "v3_default.gguf"), "rb").read())
    assert struct.unpack_from("<I", v2, 4)[0] == 3
    struct.pack_into("<I", v2, 4, 2)
    open(os.path.join(out_dir, "v2.gguf"), "wb").write(v2)
    for name in ("v3_align64.gguf", "v3_default.gguf", "v2.gguf"):
        dump(os.path.join(out_dir, name))
    # The ggml type table (id, name, block size, bytes per block) as gguf-py has it, for our table to match.
    types = [{"id": int(t), "name": t.name, "block_size": GGML_QUANT_SIZES[t][0], "type_size": GGML_QUANT_SIZES[t][1]}
             for t in GGMLQuantizationType]
    with open(os.path.join(out_dir, "ggml_types.json"), "w") as f:
        json.dump(types, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
