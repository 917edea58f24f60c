#!/usr/bin/python3
"""The gRPC C-core peer server of the sgwire interop suite (Python grpcio).

Implements sgwire.interop.Interop (interop.proto) as the sgwire and grpc-js servers of the suite
do. Usage: peer_server.py PB2_DIR [MAX_MESSAGE_BYTES [KEY_PEM CERT_PEM]]. PB2_DIR holds
interop_pb2.py (generated with protoc --python_out); with KEY_PEM and CERT_PEM it serves TLS (h2).
Prints {"port": N} on stdout once serving on 127.0.0.1:N, then one JSON line per event ({"event": "cancelled", "id": ...} when a handler finds its call cancelled). Stops
when stdin closes, so it never outlives the test that started it.
"""
import json
import sys
import threading
import time

sys.path.insert(0, sys.argv[1])
MAX_MESSAGE = int(sys.argv[2]) if len(sys.argv) > 2 else 8 * 1024 * 1024
TLS = (sys.argv[3], sys.argv[4]) if len(sys.argv) > 4 else None

import grpc  # noqa: E402
import interop_pb2 as pb  # noqa: E402

_print_lock = threading.Lock()


def emit(obj):
    with _print_lock:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


_PERIOD = bytes(range(251))


def pattern(size, seed):
    """Byte i is (i + seed) mod 251, as scenarios.ts pattern()."""
    start = seed % 251
    rot = _PERIOD[start:] + _PERIOD[:start]
    reps = size // 251 + 1
    return (rot * reps)[:size]


U64 = 1 << 64


class Call:
    """Per-call state: logs a cancellation once, whether a delay or the end of the RPC finds it."""

    def __init__(self, context):
        self.context = context
        self.id = None
        self.finished = False
        self.logged = False
        context.add_callback(self._on_done)

    def name(self, call_id):
        if self.id is None:
            self.id = call_id

    def _on_done(self):
        if not self.finished:
            self.cancelled()

    def cancelled(self):
        if not self.logged and self.id is not None:
            self.logged = True
            emit({"event": "cancelled", "id": self.id})

    def delay(self, ms):
        """Waits ms milliseconds; returns True (and logs) if the call was cancelled meanwhile."""
        until = time.monotonic() + ms / 1000.0
        while True:
            if not self.context.is_active():
                self.cancelled()
                return True
            left = until - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(left, 0.01))

    def deadline_ms(self):
        left = self.context.time_remaining()
        # without a deadline C-core reports the distant future
        return -1 if left is None or left > 1e8 else max(0, int(round(left * 1000)))


def echoed(context):
    return tuple((k, v) for k, v in context.invocation_metadata() if k.startswith("x-echo-"))


def error_trailers(status, base):
    extra = tuple((h.key, h.binary if h.key.endswith("-bin") else h.text) for h in status.trailers)
    return tuple(base) + extra


def end_with_status(context, code, message, trailers):
    context.set_trailing_metadata(trailers)
    context.abort(grpc.StatusCode[_NAMES[code]] if code in _NAMES else grpc.StatusCode.UNKNOWN, message)


_NAMES = {c.value[0]: c.name for c in grpc.StatusCode}


class Failure(Exception):
    pass


def unary(req, context):
    call = Call(context)
    call.name(req.id)
    trailers = ()
    if req.echo_metadata:
        trailers = echoed(context)
        context.send_initial_metadata(trailers)
        context.set_trailing_metadata(trailers)
    if call.delay(req.delay_ms):
        call.finished = True
        return pb.Response()
    call.finished = True
    if req.fail:
        raise Failure("the request asked the handler to fail")
    if req.server_cancel:
        context.cancel()
        return pb.Response()
    if req.HasField("status"):
        end_with_status(context, req.status.code, req.status.message, error_trailers(req.status, trailers))
    payload = pattern(req.response_sizes[0], req.seq) if len(req.response_sizes) > 0 else req.payload
    return pb.Response(id=req.id, payload=payload, seq=req.seq, tags=req.tags, deadline_ms=call.deadline_ms())


def server_stream(req, context):
    call = Call(context)
    call.name(req.id)
    trailers = ()
    if req.echo_metadata:
        trailers = echoed(context)
        context.send_initial_metadata(trailers)
        context.set_trailing_metadata(trailers)
    try:
        for i, size in enumerate(req.response_sizes):
            if call.delay(req.delay_ms):
                return
            seq = (req.seq + i) % U64
            yield pb.Response(id=req.id, payload=pattern(size, seq), seq=seq, tags=req.tags, deadline_ms=call.deadline_ms())
        if not context.is_active():
            call.cancelled()
            return
    except GeneratorExit:
        # the server closes the generator of a cancelled call
        call.cancelled()
        raise
    call.finished = True
    if req.fail:
        raise Failure("the request asked the handler to fail")
    if req.server_cancel:
        context.cancel()
        return
    if req.HasField("status"):
        end_with_status(context, req.status.code, req.status.message, error_trailers(req.status, trailers))


def client_stream(requests, context):
    call = Call(context)
    trailers = ()
    first = None
    payloads = []
    tags = []
    try:
        for req in requests:
            if first is None:
                first = req
                call.name(req.id)
                if req.echo_metadata:
                    trailers = echoed(context)
                    context.send_initial_metadata(trailers)
                    context.set_trailing_metadata(trailers)
            if call.delay(req.delay_ms):
                return pb.Response()
            if req.fail:
                call.finished = True
                raise Failure("the request asked the handler to fail")
            if req.server_cancel:
                call.finished = True
                context.cancel()
                return pb.Response()
            if req.HasField("status"):
                call.finished = True
                end_with_status(context, req.status.code, req.status.message, error_trailers(req.status, trailers))
            payloads.append(req.payload)
            tags.extend(req.tags)
    except grpc.RpcError:
        # the request stream of a cancelled call
        call.cancelled()
        return pb.Response()
    call.finished = True
    data = b"".join(payloads)
    return pb.Response(id=first.id if first else "", payload=data, tags=tags, count=len(payloads),
                       total_bytes=len(data), deadline_ms=call.deadline_ms())


def bidi(requests, context):
    call = Call(context)
    trailers = ()
    first = True
    try:
        for req in requests:
            if first:
                first = False
                call.name(req.id)
                if req.echo_metadata:
                    trailers = echoed(context)
                    context.send_initial_metadata(trailers)
                    context.set_trailing_metadata(trailers)
            if call.delay(req.delay_ms):
                return
            if req.fail:
                call.finished = True
                raise Failure("the request asked the handler to fail")
            if req.server_cancel:
                call.finished = True
                context.cancel()
                return
            if req.HasField("status"):
                call.finished = True
                end_with_status(context, req.status.code, req.status.message, error_trailers(req.status, trailers))
            yield pb.Response(id=req.id, payload=req.payload, seq=req.seq, tags=req.tags, deadline_ms=call.deadline_ms())
    except grpc.RpcError:
        call.cancelled()
        return
    except GeneratorExit:
        call.cancelled()
        raise
    if not context.is_active():
        call.cancelled()
        return
    call.finished = True


def main():
    from concurrent import futures
    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(
            unary, request_deserializer=pb.Request.FromString, response_serializer=pb.Response.SerializeToString),
        "ServerStream": grpc.unary_stream_rpc_method_handler(
            server_stream, request_deserializer=pb.Request.FromString, response_serializer=pb.Response.SerializeToString),
        "ClientStream": grpc.stream_unary_rpc_method_handler(
            client_stream, request_deserializer=pb.Request.FromString, response_serializer=pb.Response.SerializeToString),
        "Bidi": grpc.stream_stream_rpc_method_handler(
            bidi, request_deserializer=pb.Request.FromString, response_serializer=pb.Response.SerializeToString),
    }
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=16),
        # receives up to MAX_MESSAGE, sends without limit (so a client's own receive limit is what a test meets)
        options=[("grpc.max_receive_message_length", MAX_MESSAGE), ("grpc.max_send_message_length", -1)],
    )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("sgwire.interop.Interop", handlers),))
    if TLS is None:
        port = server.add_insecure_port("127.0.0.1:0")
    else:
        with open(TLS[0], "rb") as k, open(TLS[1], "rb") as c:
            creds = grpc.ssl_server_credentials([(k.read(), c.read())])
        port = server.add_secure_port("127.0.0.1:0", creds)
    server.start()
    emit({"port": port})
    # until the test closes stdin (or dies)
    sys.stdin.read()
    server.stop(0).wait(5)


if __name__ == "__main__":
    main()
