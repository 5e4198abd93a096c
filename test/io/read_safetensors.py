"""An independent safetensors reader (Python standard library only) to check that files senet
writes load outside senet. Validates like the format's Rust parser and prints a JSON summary:
{"metadata": {...}, "tensors": {name: {"dtype", "shape", "sum"}}}, where "sum" is the sequential
float64 sum of an F32 tensor or the exact sum (as a string) of an I64 tensor, otherwise null.
Usage: read_safetensors.py FILE. Exit status 1 with a message on stderr if the file is invalid."""
import array, json, struct, sys

SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
         "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1}


def bad(msg):
    sys.stderr.write("invalid safetensors: %s\n" % msg)
    sys.exit(1)


def is_uint(x):
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def main(path):
    with open(path, "rb") as f:
        b = f.read()
    if len(b) < 8:
        bad("shorter than 8 bytes")
    (n,) = struct.unpack("<Q", b[:8])
    if n > 100000000 or 8 + n > len(b):
        bad("header length %d" % n)
    try:
        header = json.loads(b[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        bad("header: %s" % e)
    if not isinstance(header, dict):
        bad("header is not an object")
    meta = header.pop("__metadata__", {})
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        bad("__metadata__ is not an object of strings")
    data = b[8 + n:]
    entries = []
    for name, e in header.items():
        if not isinstance(e, dict) or e.get("dtype") not in SIZES:
            bad("tensor %r: entry or dtype" % name)
        shape, offs = e.get("shape"), e.get("data_offsets")
        if not isinstance(shape, list) or not all(is_uint(d) for d in shape):
            bad("tensor %r: shape" % name)
        if not isinstance(offs, list) or len(offs) != 2 or not all(is_uint(o) for o in offs) or offs[0] > offs[1]:
            bad("tensor %r: data_offsets" % name)
        count = 1
        for d in shape:
            count *= d
        if count * SIZES[e["dtype"]] != offs[1] - offs[0]:
            bad("tensor %r: size does not match shape" % name)
        entries.append((offs[0], offs[1], name, e))
    end = 0
    for begin, stop, name, _ in sorted(entries):
        if begin != end:
            bad("tensor %r: starts at %d, expected %d" % (name, begin, end))
        end = stop
    if end != len(data):
        bad("data is %d bytes, tensors end at %d" % (len(data), end))
    tensors = {}
    for begin, stop, name, e in entries:
        total = None
        if e["dtype"] in ("F32", "I64"):
            a = array.array("f" if e["dtype"] == "F32" else "q")
            a.frombytes(data[begin:stop])
            if sys.byteorder != "little":
                a.byteswap()
            if e["dtype"] == "F32":
                total = 0.0
                for v in a:  # sequential, as the test sums in JavaScript (sum() may compensate)
                    total += v
            else:
                total = str(sum(a))
        tensors[name] = {"dtype": e["dtype"], "shape": e["shape"], "sum": total}
    json.dump({"metadata": meta, "tensors": tensors}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
