"""Compares sgwire with libprotobuf (C++, through python3-protobuf's cpp backend) on the cases
differential-cases.ts wrote: does each side accept the input, and does sgwire's re-encoding
carry the same message as libprotobuf's? Differences with a known cause are counted under that
cause; any other difference is printed and makes the exit status 1.

usage: python3 differential.py DIR   (DIR holds cases.jsonl, tm2_pb2.py, tm3_pb2.py)
"""
import collections, json, sys, warnings

sys.path.insert(0, sys.argv[1])
import tm2_pb2, tm3_pb2  # noqa: E402

TYPES = {
    "protobuf_test_messages.proto2.TestAllTypesProto2": tm2_pb2.TestAllTypesProto2,
    "protobuf_test_messages.proto3.TestAllTypesProto3": tm3_pb2.TestAllTypesProto3,
}


def parse(cls, data):
    """libprotobuf's verdict; python's API also warns and stops (instead of failing) at a
    top-level END_GROUP or field number 0, which ParseFromString in C++ rejects."""
    m = cls()
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        n = m.ParseFromString(data)
    if w or n != len(data):
        raise ValueError("stopped early")
    return m


def ser(m):
    return m.SerializeToString(deterministic=True)


def map_view(m, name):
    try:
        return {k: (v.SerializeToString() if hasattr(v, "SerializeToString") else v) for k, v in getattr(m, name).items()}
    except Exception:
        return None


def explain(cls, c, m):
    """Why sgwire's output `sg` differs from libprotobuf's reading `m` of the same input."""
    sg = bytes.fromhex(c["sg"])
    if "efbfbd" in c["sg"] and "efbfbd" not in c["in"]:
        return "proto2 string with invalid UTF-8: sgwire decodes to a JS string with U+FFFD"
    s = parse(cls, sg)
    maps = [f.name for f, _ in m.ListFields() if f.message_type and f.message_type.GetOptions().map_entry]
    if maps:
        m2, s2 = cls(), cls()
        m2.CopyFrom(m); s2.CopyFrom(s)
        for f in maps:
            m2.ClearField(f); s2.ClearField(f)
        if ser(m2) == ser(s2) and all(map_view(m, f) == map_view(s, f) for f in maps):
            return "duplicate map keys: same last-wins entries (libprotobuf's DynamicMessage keeps both)"
    # a signaling float NaN comes back quiet: float32 -> JS number (a double) sets the quiet bit
    if any(f.type == f.TYPE_FLOAT and v != v for f, v in m.ListFields()):
        return "float signaling NaN quieted (a JS number cannot carry it)"
    return None


def main():
    kinds = collections.Counter()
    unexplained = []
    for line in open(sys.argv[1] + "/cases.jsonl"):
        c = json.loads(line)
        cls = TYPES[c["type"]]
        try:
            m, cpp_ok = parse(cls, bytes.fromhex(c["in"])), True
        except Exception:
            m, cpp_ok = None, False
        sg_ok = c["sg"] is not None
        if not sg_ok and not cpp_ok:
            kinds["both reject"] += 1
        elif sg_ok and cpp_ok:
            try:
                same = ser(parse(cls, bytes.fromhex(c["sg"]))) == ser(m) or bytes.fromhex(c["sg"]) == ser(m)
            except Exception:
                same = False
            if same:
                kinds["both accept, same message"] += 1
            else:
                why = explain(cls, c, m)
                kinds[why or "UNEXPLAINED: different message"] += 1
                if why is None:
                    unexplained.append(("different message", c, ser(m).hex()))
        elif cpp_ok:
            err = c["err"] or ""
            if "tag exceeds 32 bits" in err:
                kinds["tag over 32 bits: sgwire rejects, libprotobuf 3.21 truncates it (upb rejects)"] += 1
            else:
                kinds["UNEXPLAINED: sgwire rejects, libprotobuf accepts"] += 1
                unexplained.append(("sgwire rejects", c, ser(m).hex()))
        else:
            if cls is tm2_pb2.TestAllTypesProto2 and "a21f" in c["in"]:  # field 500, MessageSetCorrect
                kinds["MessageSet extension payload: sgwire keeps extensions unparsed, libprotobuf rejects a bad one"] += 1
            else:
                kinds["UNEXPLAINED: sgwire accepts, libprotobuf rejects"] += 1
                unexplained.append(("sgwire accepts", c, None))
    for k, v in kinds.most_common():
        print(f"  {v:6d}  {k}")
    for what, c, cpp in unexplained[:20]:
        print(f"differential: {what}: {c['type']}\n    in  {c['in'][:200]}\n    sg  {(c['sg'] or c['err'])[:200]}\n    cpp {cpp[:200] if cpp else '-'}")
    print(f"differential: {sum(kinds.values())} cases, {len(unexplained)} unexplained differences")
    if len(sys.argv) > 2:  # the counts as JSON, for run-conformance's figures (differential.sh)
        with open(sys.argv[2], "w") as f:
            json.dump({"cases": sum(kinds.values()), "unexplained": len(unexplained), "kinds": dict(kinds.most_common())}, f)
    return 1 if unexplained else 0


sys.exit(main())
