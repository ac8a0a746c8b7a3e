#!/usr/bin/env python3
"""A Bonito frontend in Python, on aiortc, written from PROTOCOL.md and
src/signaling/README.md alone (no code of this package is used).

    /usr/bin/python3 aiortc_frontend.py URL [--seed N] [--big BYTES]

It creates a session at URL, joins its signaling room, answers the server's offer,
completes the JSDoneLoading handshake, then sets observable `input` to values of several
types and expects each back, byte for byte, on observable `output` (the app under test
echoes one into the other), and closes with the CLOSE handshake. It prints one JSON object
per line on stdout and exits 0 when everything matched. Needs aiortc and websockets
(Debian: python3-aiortc, python3-websockets); msgpack is implemented below.
"""
import argparse
import asyncio
import base64
import json
import re
import struct
import sys
import time
import urllib.request
import zlib

import websockets
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp


# ---------------------------------------------------------------------------------------
# msgpack (https://github.com/msgpack/msgpack/blob/master/spec.md), the subset Bonito uses


class Ext:
    """A msgpack extension value: type code and raw data."""

    def __init__(self, code, data):
        self.code = code
        self.data = bytes(data)

    def __eq__(self, other):
        return isinstance(other, Ext) and (self.code, self.data) == (other.code, other.data)

    def __repr__(self):
        return f"Ext({self.code:#x}, {len(self.data)} bytes)"


def pack(value):
    out = bytearray()
    _pack(value, out)
    return bytes(out)


def _pack(value, out):
    if value is None:
        out.append(0xC0)
    elif value is True:
        out.append(0xC3)
    elif value is False:
        out.append(0xC2)
    elif isinstance(value, int):
        if 0 <= value < 0x80:
            out.append(value)
        elif -32 <= value < 0:
            out.append(value & 0xFF)
        elif 0 <= value < 2**64:
            for fmt, code, limit in ((">B", 0xCC, 2**8), (">H", 0xCD, 2**16), (">I", 0xCE, 2**32), (">Q", 0xCF, 2**64)):
                if value < limit:
                    out.append(code)
                    out += struct.pack(fmt, value)
                    break
        else:
            for fmt, code, bits in ((">b", 0xD0, 7), (">h", 0xD1, 15), (">i", 0xD2, 31), (">q", 0xD3, 63)):
                if -(2**bits) <= value:
                    out.append(code)
                    out += struct.pack(fmt, value)
                    break
    elif isinstance(value, float):
        out.append(0xCB)
        out += struct.pack(">d", value)
    elif isinstance(value, str):
        data = value.encode("utf-8")
        _header(out, len(data), 0xA0, 32, (0xD9, 0xDA, 0xDB))
        out += data
    elif isinstance(value, (bytes, bytearray)):
        _header(out, len(value), None, 0, (0xC4, 0xC5, 0xC6))
        out += value
    elif isinstance(value, (list, tuple)):
        _header(out, len(value), 0x90, 16, (None, 0xDC, 0xDD))
        for item in value:
            _pack(item, out)
    elif isinstance(value, dict):
        _header(out, len(value), 0x80, 16, (None, 0xDE, 0xDF))
        for key, item in value.items():
            _pack(key, out)
            _pack(item, out)
    elif isinstance(value, Ext):
        size = len(value.data)
        fixed = {1: 0xD4, 2: 0xD5, 4: 0xD6, 8: 0xD7, 16: 0xD8}
        if size in fixed:
            out.append(fixed[size])
        elif size < 2**8:
            out += bytes((0xC7, size))
        elif size < 2**16:
            out.append(0xC8)
            out += struct.pack(">H", size)
        else:
            out.append(0xC9)
            out += struct.pack(">I", size)
        out += struct.pack(">b", value.code)
        out += value.data
    else:
        raise TypeError(f"cannot pack {type(value).__name__}")


def _header(out, length, fix_base, fix_limit, wide):
    """A length header: the fix form below fix_limit, else 8-, 16- or 32-bit."""
    if fix_base is not None and length < fix_limit:
        out.append(fix_base | length)
        return
    for code, fmt, limit in zip(wide, (">B", ">H", ">I"), (2**8, 2**16, 2**32)):
        if code is not None and length < limit:
            out.append(code)
            out += struct.pack(fmt, length)
            return
    raise ValueError("too long")


def unpack(data):
    value, end = _unpack(memoryview(data), 0)
    if end != len(data):
        raise ValueError(f"{len(data) - end} bytes after the msgpack value")
    return value


def _unpack(data, pos):
    b = data[pos]
    pos += 1
    if b < 0x80:
        return b, pos
    if b >= 0xE0:
        return b - 0x100, pos
    if 0xA0 <= b < 0xC0:
        return _str(data, pos, b & 0x1F)
    if 0x90 <= b < 0xA0:
        return _array(data, pos, b & 0x0F)
    if 0x80 <= b < 0x90:
        return _map(data, pos, b & 0x0F)
    simple = {0xC0: None, 0xC2: False, 0xC3: True}
    if b in simple:
        return simple[b], pos
    numbers = {0xCA: ">f", 0xCB: ">d", 0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q", 0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q"}
    if b in numbers:
        fmt = numbers[b]
        size = struct.calcsize(fmt)
        return struct.unpack(fmt, data[pos : pos + size])[0], pos + size
    lengths = {0xC4: ">B", 0xC5: ">H", 0xC6: ">I", 0xD9: ">B", 0xDA: ">H", 0xDB: ">I", 0xDC: ">H", 0xDD: ">I", 0xDE: ">H", 0xDF: ">I", 0xC7: ">B", 0xC8: ">H", 0xC9: ">I"}
    if b in lengths:
        fmt = lengths[b]
        size = struct.calcsize(fmt)
        length = struct.unpack(fmt, data[pos : pos + size])[0]
        pos += size
        if b in (0xC4, 0xC5, 0xC6):
            return bytes(data[pos : pos + length]), pos + length
        if b in (0xD9, 0xDA, 0xDB):
            return _str(data, pos, length)
        if b in (0xDC, 0xDD):
            return _array(data, pos, length)
        if b in (0xDE, 0xDF):
            return _map(data, pos, length)
        return _ext(data, pos, length)
    fixext = {0xD4: 1, 0xD5: 2, 0xD6: 4, 0xD7: 8, 0xD8: 16}
    if b in fixext:
        return _ext(data, pos, fixext[b])
    raise ValueError(f"unknown msgpack format byte {b:#x}")


def _str(data, pos, length):
    return bytes(data[pos : pos + length]).decode("utf-8"), pos + length


def _array(data, pos, length):
    items = []
    for _ in range(length):
        item, pos = _unpack(data, pos)
        items.append(item)
    return items, pos


def _map(data, pos, length):
    result = {}
    for _ in range(length):
        key, pos = _unpack(data, pos)
        value, pos = _unpack(data, pos)
        result[key] = value
    return result, pos


def _ext(data, pos, length):
    code = struct.unpack(">b", data[pos : pos + 1])[0]
    pos += 1
    return Ext(code, data[pos : pos + length]), pos + length


# ---------------------------------------------------------------------------------------
# Bonito messages (PROTOCOL.md section 4)

EXT_BYTES = 0x12
EXT_OBSERVABLE = 101
EXT_SESSION_CACHE = 106
EXT_SERIALIZED_MESSAGE = 107


class Bonito:
    """Decodes server frames, keeps the observables, encodes frontend frames."""

    def __init__(self, session_id, compression):
        self.session_id = session_id
        self.compression = compression
        self.observables = {}
        self.updates = asyncio.Queue()

    def encode(self, message):
        frame = pack(message)
        return zlib.compress(frame) if self.compression else frame

    def done_loading(self):
        return self.encode({"msg_type": "8", "session": self.session_id, "message": "", "exception": "nothing", "stacktrace": ""})

    def update(self, observable_id, value):
        return self.encode({"msg_type": "0", "id": observable_id, "payload": value})

    def handle_frame(self, frame):
        if self.compression:
            frame = zlib.decompress(frame, wbits=47)  # 32 + 15: gzip or zlib, detected
        self.handle_envelope(unpack(frame))

    def handle_envelope(self, envelope):
        if not isinstance(envelope, Ext) or envelope.code != EXT_SERIALIZED_MESSAGE:
            raise ValueError(f"a server frame must be extension 107, got {envelope!r}")
        session_id, _session_type, packed_cache, packed_message = unpack(envelope.data)
        if session_id != self.session_id:
            raise ValueError(f"frame for session {session_id}")
        cache = unpack(packed_cache.data)
        if not isinstance(cache, Ext) or cache.code != EXT_SESSION_CACHE:
            raise ValueError("the envelope's cache must be extension 106")
        _id, _type, packed_objects = unpack(cache.data)
        for obj in unpack(packed_objects.data):
            if isinstance(obj, Ext) and obj.code == EXT_OBSERVABLE:
                observable_id, value = unpack(obj.data)
                self.observables[observable_id] = value  # registered, not a change
        self.handle_message(unpack(packed_message.data))

    def handle_message(self, message):
        if isinstance(message, Ext):
            self.handle_envelope(message)
            return
        if isinstance(message, list):  # the bootstrap's init frame carries an array of messages
            for inner in message:
                self.handle_message(inner)
            return
        code = message["msg_type"]
        if code == "0":
            self.observables[message["id"]] = message["payload"]
            self.updates.put_nowait((message["id"], message["payload"]))
        elif code == "9":
            for inner in message["payload"]:
                self.handle_message(inner)
        elif code in ("2", "11"):
            pass  # JavaScript to run (we have no JavaScript) or a pong
        else:
            raise ValueError(f"unexpected message type {code!r} from the server")


# ---------------------------------------------------------------------------------------
# Framing (PROTOCOL.md section 3)

DATA_MORE, DATA_LAST, CLOSE, HEARTBEAT, BATCH, CLOSE_ACK = 1, 2, 3, 4, 7, 8


class Framing:
    """One data channel's framing: fragments out, reassembly and control messages in."""

    def __init__(self, channel, message_size, on_frame):
        self.channel = channel
        self.message_size = message_size
        self.on_frame = on_frame
        self.fragments = []
        self.peer_closed = asyncio.get_running_loop().create_future()  # CLOSE received: its reason
        self.close_acked = asyncio.get_running_loop().create_future()  # CLOSE_ACK received
        self.last_sent = time.monotonic()

    def send_frame(self, frame):
        room = self.message_size - 1
        for start in range(0, max(len(frame), 1), room):
            piece = frame[start : start + room]
            kind = DATA_LAST if start + room >= len(frame) else DATA_MORE
            self.send(bytes((kind,)) + piece)

    def send(self, message):
        self.channel.send(message)
        self.last_sent = time.monotonic()

    def receive(self, message):
        if isinstance(message, str):
            raise ValueError("text message on the data channel")
        if not message:
            raise ValueError("empty data-channel message")
        version, kind, payload = message[0] >> 6, message[0] & 0x3F, message[1:]
        if version != 0:
            raise ValueError(f"framing version {version}")
        if kind == DATA_MORE:
            self.fragments.append(payload)
        elif kind == DATA_LAST:
            self.fragments.append(payload)
            frame, self.fragments = b"".join(self.fragments), []
            self.on_frame(frame)
        elif kind == BATCH:
            if self.fragments:
                raise ValueError("batch inside a fragmented frame")
            for frame in split_batch(payload):
                self.on_frame(frame)
        elif kind == CLOSE:
            if not self.peer_closed.done():
                self.peer_closed.set_result(payload.decode("utf-8", "replace"))
        elif kind == CLOSE_ACK:
            if not self.close_acked.done():
                self.close_acked.set_result(True)
        elif kind != HEARTBEAT:
            raise ValueError(f"unknown message kind {kind}")


def split_batch(payload):
    frames, pos = [], 0
    while pos < len(payload):
        length, shift = 0, 0
        while True:
            byte = payload[pos]
            pos += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        frames.append(payload[pos : pos + length])
        pos += length
    if not frames or pos != len(payload):
        raise ValueError("malformed batch")
    return frames


# ---------------------------------------------------------------------------------------
# The session


def emit(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


def fetch_bootstrap(url):
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def max_message_size(sdp):
    match = re.search(r"^a=max-message-size:(\d+)", sdp, re.M)
    size = int(match.group(1)) if match else 65536
    return min(size or 65536, 65536)


async def negotiate(connection, session_id):
    """Join the signaling room, answer the offer; resolves with the open channel."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[RTCIceServer(**server) for server in connection["iceServers"]]))
    channel_ready = asyncio.get_running_loop().create_future()
    early_messages = []

    @pc.on("datachannel")
    def on_datachannel(channel):
        if channel.label != "bonito" or channel_ready.done():
            return
        # Listen at once: the server may send right behind its DCEP OPEN.
        channel.on("message", early_messages.append)
        channel_ready.set_result(channel)

    socket = await websockets.connect(connection["signalingUrl"], max_size=2**17)
    message_size = 65536
    try:
        await socket.send(json.dumps({"type": "join", "sessionId": session_id, "token": connection["token"]}))
        reply = json.loads(await socket.recv())
        if reply["type"] != "joined":
            raise RuntimeError(f"signaling refused: {reply}")
        held = []
        applied = False

        async def add_candidate(candidate):
            ice = candidate_from_sdp(candidate["candidate"].removeprefix("candidate:"))
            ice.sdpMid = candidate.get("sdpMid")
            ice.sdpMLineIndex = candidate.get("sdpMLineIndex")
            await pc.addIceCandidate(ice)

        while not channel_ready.done():
            receive = asyncio.ensure_future(socket.recv())
            done, _ = await asyncio.wait({receive, channel_ready}, return_when=asyncio.FIRST_COMPLETED)
            if receive not in done:
                receive.cancel()
                break
            try:
                message = json.loads(receive.result())
            except websockets.ConnectionClosed:
                await channel_ready  # closing signaling after the answer is normal
                break
            if message["type"] == "offer":
                message_size = max_message_size(message["sdp"])
                await pc.setRemoteDescription(RTCSessionDescription(message["sdp"], "offer"))
                answer = await pc.createAnswer()
                sdp = answer.sdp
                wanted = connection.get("answerSetup")
                if wanted in ("active", "passive"):
                    sdp = re.sub(r"^a=setup:\w+", f"a=setup:{wanted}", sdp, flags=re.M)
                # aiortc gathers before it returns and puts its candidates into the answer.
                await pc.setLocalDescription(RTCSessionDescription(sdp, "answer"))
                await socket.send(json.dumps({"type": "answer", "sdp": pc.localDescription.sdp}))
                await socket.send(json.dumps({"type": "candidate", "candidate": None}))
                await asyncio.sleep(0.2)  # the recommended candidate hold
                applied = True
                for candidate in held:
                    await add_candidate(candidate)
            elif message["type"] == "candidate":
                if message["candidate"] is None:
                    continue
                if applied:
                    await add_candidate(message["candidate"])
                else:
                    held.append(message["candidate"])
            elif message["type"] in ("bye", "error"):
                raise RuntimeError(f"signaling ended: {message}")
        channel = await channel_ready
        if channel.readyState != "open":
            opened = asyncio.get_running_loop().create_future()
            channel.once("open", lambda: opened.done() or opened.set_result(True))
            await opened
    finally:
        await socket.close()
    return pc, channel, early_messages, message_size


def pattern_bytes(size, seed):
    """xorshift32 bytes, the same sequence as the Node tests' patternBytes(size, seed)."""
    out = bytearray(size)
    x = seed & 0xFFFFFFFF or 1
    for i in range(size):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        out[i] = x & 0xFF
    return bytes(out)


def echo_cases(big_size, seed):
    return [
        ("integer", 42),
        ("negative integer", -70000),
        ("float", 3.25),
        ("string", "grüße, 世界"),
        ("boolean", True),
        ("nil", None),
        ("array", [1, "two", 2.5, False]),
        ("map", {"a": 1, "b": [2, 3], "c": {"d": "e"}}),
        ("Float32Array", Ext(0x17, struct.pack("<3f", 1.5, -2.0, 0.25))),
        ("Int16Array", Ext(0x13, struct.pack("<4h", 1, -1, 32767, -32768))),
        ("Float64Array", Ext(0x18, struct.pack("<2d", 3.141592653589793, -1e300))),
        (f"{big_size}-byte Uint8Array", Ext(0x12, pattern_bytes(big_size, seed))),
    ]


async def run(url, seed, big_size):
    started = time.monotonic()
    bootstrap = fetch_bootstrap(url)
    connection = bootstrap["connection"]
    if connection["type"] != "webrtc":
        raise RuntimeError(f"the server offers {connection['type']}, not webrtc")
    bonito = Bonito(bootstrap["sessionId"], bootstrap["compression"])
    if bootstrap.get("init"):
        bonito.handle_frame(base64.b64decode(bootstrap["init"]))

    pc, channel, early, message_size = await negotiate(connection, bonito.session_id)
    opened_ms = (time.monotonic() - started) * 1000
    ready = asyncio.get_running_loop().create_future()
    failure = asyncio.get_running_loop().create_future()

    def on_frame(frame):
        try:
            bonito.handle_frame(frame)
        except Exception as error:  # noqa: BLE001 - reported, ends the run
            if not failure.done():
                failure.set_exception(error)
        if not ready.done():
            ready.set_result(True)  # the first server frame after JSDoneLoading

    framing = Framing(channel, message_size, on_frame)
    channel.remove_listener("message", early.append)
    for message in early:
        framing.receive(message)
    channel.on("message", framing.receive)
    channel_closed = asyncio.get_running_loop().create_future()
    channel.on("close", lambda: channel_closed.done() or channel_closed.set_result(True))

    async def heartbeat():
        while True:
            await asyncio.sleep(0.5)
            if time.monotonic() - framing.last_sent >= 2 and channel.readyState == "open":
                framing.send(bytes((HEARTBEAT,)))

    beats = asyncio.ensure_future(heartbeat())
    try:
        framing.send_frame(bonito.done_loading())
        await wait_first(ready, failure, framing.peer_closed, 10, "the session to become ready")
        emit("ready", openedMs=round(opened_ms), readyMs=round((time.monotonic() - started) * 1000))

        mismatches = 0
        for name, value in echo_cases(big_size, seed):
            while not bonito.updates.empty():
                bonito.updates.get_nowait()
            framing.send_frame(bonito.update("input", value))
            while True:
                observable_id, echoed = await wait_first(bonito.updates.get(), failure, framing.peer_closed, 30, f"the echo of {name}")
                if observable_id == "output":
                    break
            same = echoed == value and type(echoed) is type(value)
            mismatches += not same
            emit("echo", case=name, ok=same, got=repr(echoed)[:80])

        # The close handshake: CLOSE, then the server's CLOSE_ACK once it has everything.
        framing.send(bytes((CLOSE,)) + b"closed by the python frontend")
        await asyncio.wait({framing.close_acked, channel_closed}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
        emit("closed", acknowledged=framing.close_acked.done())
        return 0 if mismatches == 0 else 1
    finally:
        beats.cancel()
        await pc.close()


async def wait_first(awaitable, failure, peer_closed, timeout, what):
    """The result of `awaitable`; raises if the run failed, the server closed first, or time ran out."""
    task = asyncio.ensure_future(awaitable)
    done, _ = await asyncio.wait({task, failure, peer_closed}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        return task.result()
    task.cancel()
    if failure in done:
        failure.result()  # raises the frame's error
    if peer_closed in done:
        raise RuntimeError(f"the server closed the channel while waiting for {what}: {peer_closed.result()}")
    raise TimeoutError(f"no {what} within {timeout} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--big", type=int, default=1 << 20)
    args = parser.parse_args()
    try:
        code = asyncio.run(asyncio.wait_for(run(args.url, args.seed, args.big), 90))
    except Exception as error:  # noqa: BLE001 - every failure is reported the same way
        emit("error", message=f"{type(error).__name__}: {error}")
        code = 1
    sys.exit(code)


if __name__ == "__main__":
    main()
