#!/usr/bin/python3
"""The gRPC C-core peer client of the sgwire interop suite (Python grpcio).

Usage: peer_client.py TARGET SCENARIO PB2_DIR [MAX_MESSAGE_BYTES [CA_PEM NAME]] < plan.json

TARGET is host:port of an Interop server; the plan on stdin is {"calls": [CallPlan...]} of the
scenario named SCENARIO (scenarios.ts writes it: the table lives there). Runs the calls in order
and prints one JSON line: {"scenario": SCENARIO, "results": [CallResult...]}, the same shape the
suite's other clients produce (status, details, "x-" headers and trailers with -bin values as
base64, a summary and sha256 of every response). With CA_PEM it connects over TLS, trusting
that certificate and checking the server's name against NAME.
"""
import base64
import hashlib
import json
import queue
import sys
import threading
import time

TARGET, SCENARIO, PB2_DIR = sys.argv[1], sys.argv[2], sys.argv[3]
MAX_MESSAGE = int(sys.argv[4]) if len(sys.argv) > 4 else 8 * 1024 * 1024
TLS = (sys.argv[5], sys.argv[6]) if len(sys.argv) > 6 else None
sys.path.insert(0, PB2_DIR)

import grpc  # noqa: E402
import interop_pb2 as pb  # noqa: E402

_PERIOD = bytes(range(251))
PATHS = {"unary": "Unary", "serverStream": "ServerStream", "clientStream": "ClientStream", "bidi": "Bidi"}


def pattern(size, seed):
    start = seed % 251
    rot = _PERIOD[start:] + _PERIOD[:start]
    return (rot * (size // 251 + 1))[:size]


def request(p):
    status = None
    if "status" in p:
        s = p["status"]
        status = pb.StatusRequest(code=s["code"], message=s["message"], trailers=[
            pb.Header(key=h["key"], text=h.get("text", ""), binary=base64.b64decode(h.get("base64", "")))
            for h in s.get("trailers", [])
        ])
    payload = pattern(p["payload"]["size"], p["payload"]["seed"]) if "payload" in p else b""
    r = pb.Request(id=p.get("id", ""), payload=payload, response_sizes=p.get("responseSizes", []),
                   seq=int(p.get("seq", "0")), tags=p.get("tags", []), delay_ms=p.get("delayMs", 0),
                   echo_metadata=p.get("echoMetadata", False), fail=p.get("fail", False),
                   server_cancel=p.get("serverCancel", False))
    if status is not None:
        r.status.CopyFrom(status)
    return r


def metadata(plan):
    out = []
    for h in plan.get("metadata", []):
        out.append((h["key"], base64.b64decode(h.get("base64", "")) if h["key"].endswith("-bin") else h.get("text", "")))
    return out


def from_metadata(md):
    out = {}
    for k, v in md or ():
        if not k.startswith("x-"):
            continue
        out.setdefault(k, []).append(base64.b64encode(v).decode() if isinstance(v, bytes) else v)
    return out


def summarize(m):
    return {"id": m.id, "seq": str(m.seq), "tags": list(m.tags), "count": str(m.count),
            "totalBytes": str(m.total_bytes), "deadlineMs": str(m.deadline_ms), "size": len(m.payload),
            "sha256": hashlib.sha256(m.payload).hexdigest()}


def run_call(channel, plan):
    started = time.monotonic()
    path = "/sgwire.interop.Interop/" + PATHS[plan["method"]]
    method = plan["method"]
    reqs = [request(r) for r in plan["requests"]]
    kwargs = {"metadata": metadata(plan)}
    if "deadlineMs" in plan:
        kwargs["timeout"] = plan["deadlineMs"] / 1000.0
    responses = []
    done = threading.Event()
    got = queue.Queue()  # one item per response (ping-pong pacing)
    ser, de = pb.Request.SerializeToString, pb.Response.FromString
    cancel_after = plan.get("cancelAfterResponses")

    def request_stream():
        for i, r in enumerate(reqs):
            if plan.get("pingPong") and i > 0:
                while not done.is_set():
                    try:
                        got.get(timeout=0.05)
                        break
                    except queue.Empty:
                        pass
                if done.is_set():
                    return
            yield r
        if plan.get("holdOpen"):
            done.wait()

    timer = None
    if method in ("unary", "clientStream"):
        mc = channel.unary_unary(path, ser, de) if method == "unary" else channel.stream_unary(path, ser, de)
        call = mc.future(reqs[0] if method == "unary" else request_stream(), **kwargs)
        if "cancelAfterMs" in plan:
            timer = threading.Timer(plan["cancelAfterMs"] / 1000.0, call.cancel)
            timer.start()
        try:
            responses.append(summarize(call.result()))
        except grpc.FutureCancelledError:
            pass
        except grpc.RpcError:
            pass
    else:
        mc = channel.unary_stream(path, ser, de) if method == "serverStream" else channel.stream_stream(path, ser, de)
        call = mc(reqs[0] if method == "serverStream" else request_stream(), **kwargs)
        if "cancelAfterMs" in plan:
            timer = threading.Timer(plan["cancelAfterMs"] / 1000.0, call.cancel)
            timer.start()
        try:
            for m in call:
                responses.append(summarize(m))
                got.put(1)
                if cancel_after is not None and len(responses) >= cancel_after:
                    call.cancel()
        except grpc.RpcError:
            pass
    done.set()
    if timer is not None:
        timer.cancel()
    code = call.code()
    try:
        headers = call.initial_metadata()
    except Exception:  # a cancelled future has none
        headers = ()
    return {
        "label": plan["label"], "code": code.value[0] if code is not None else 1, "details": call.details() or "",
        "headers": from_metadata(headers), "trailers": from_metadata(call.trailing_metadata()),
        "responses": responses, "elapsedMs": int((time.monotonic() - started) * 1000),
    }


def main():
    plan = json.load(sys.stdin)
    options = [("grpc.max_receive_message_length", MAX_MESSAGE), ("grpc.max_send_message_length", -1)]
    if TLS is None:
        channel = grpc.insecure_channel(TARGET, options=options)
    else:
        with open(TLS[0], "rb") as f:
            creds = grpc.ssl_channel_credentials(root_certificates=f.read())
        channel = grpc.secure_channel(TARGET, creds, options=options + [("grpc.ssl_target_name_override", TLS[1])])
    with channel:
        results = [run_call(channel, c) for c in plan["calls"]]
    sys.stdout.write(json.dumps({"scenario": SCENARIO, "results": results}) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
