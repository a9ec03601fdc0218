#!/usr/bin/env python3
"""Speaks just enough ZMTP 3.0 to a ZeroMQ ROUTER on 127.0.0.1 to send a
frame header announcing an enormous message, then a little payload: what a
hostile or broken peer might do. Exits 0 once the peer has closed the
connection (ZeroMQ refuses the frame) or the bytes are sent.
usage: zmtp_flood.py PORT"""
import socket
import struct
import sys


def command(name, body):
    data = bytes([len(name)]) + name + body
    return bytes([0x04, len(data)]) + data


def main():
    port = int(sys.argv[1])
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    greeting = b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x00"
    greeting += b"NULL" + b"\x00" * 16 + b"\x00" + b"\x00" * 31
    s.sendall(greeting)
    prop = b"Socket-Type"
    value = b"DEALER"
    body = bytes([len(prop)]) + prop + struct.pack(">I", len(value)) + value
    s.sendall(command(b"READY", body))
    # A long frame of 1 TiB (more than any machine can allocate), of which
    # only 64 KiB ever arrive.
    try:
        s.sendall(bytes([0x02]) + struct.pack(">Q", 1 << 40))
        s.sendall(b"\x00" * 65536)
        s.shutdown(socket.SHUT_WR)
        s.recv(1 << 16)  # returns once the peer closes
    except OSError:
        pass
    s.close()


if __name__ == "__main__":
    main()
