#!/usr/bin/python3
"""An independent Modbus peer for the meter tests: Debian's pymodbus (3.0.x)
serving an Eastron SDM72D-M-2 register map over Modbus TCP or RTU.

Input registers hold the float32 values (high word first) given in a JSON
file {"<decimal address>": value}; unlisted addresses read 0 like a real
meter's reserved registers. Holding 0xFC02 answers the meter code 0x0089.
Reads of more than 60 registers are answered with an exception, as the
SDM72D-M does.

Control lines on stdin (one reply line on stdout each):
  count       -> "count N"   requests received (answered or not)
  silent      -> "ok"        stop answering (the master times out)
  exceptions  -> "ok"        answer every read with exception 02
  normal      -> "ok"        answer again
Prints "ready" once it serves.
"""
import argparse
import asyncio
import json
import struct
import sys
import threading

from pymodbus.datastore import (
    ModbusSequentialDataBlock,
    ModbusServerContext,
    ModbusSlaveContext,
    ModbusSparseDataBlock,
)
from pymodbus.exceptions import NoSuchSlaveException
from pymodbus.server.async_io import ModbusSerialServer, ModbusTcpServer
from pymodbus.transaction import ModbusRtuFramer, ModbusSocketFramer

MAX_REGS = 60
INPUT_END = 0x0600


class State:
    """Shared between the control thread and the server loop; plain
    attribute writes are atomic under the GIL."""

    def __init__(self):
        self.count = 0
        self.mode = "normal"
        self.lock = threading.Lock()


class MeterContext(ModbusSlaveContext):
    def __init__(self, state, **kwargs):
        super().__init__(**kwargs)
        self.state = state

    def validate(self, fc_as_hex, address, count=1):
        if self.state.mode == "exceptions" or count > MAX_REGS:
            return False  # pymodbus answers exception 02 (illegal address)
        if address % 2 or count % 2:
            if not (fc_as_hex == 3 and address == 0xFC02 and count == 1):
                return False
        return super().validate(fc_as_hex, address, count)


class CountingServerContext(ModbusServerContext):
    """Counts every request; while silent, pretends the unit is missing so
    the server (ignore_missing_slaves) sends nothing."""

    def __init__(self, state, slaves):
        super().__init__(slaves=slaves, single=False)
        self.state = state

    def __getitem__(self, slave):
        with self.state.lock:
            self.state.count += 1
        if self.state.mode == "silent":
            raise NoSuchSlaveException("silent")
        return super().__getitem__(slave)


def build_context(state, values, unit):
    regs = [0] * INPUT_END
    for addr, value in values.items():
        hi, lo = struct.unpack(">HH", struct.pack(">f", value))
        regs[int(addr)] = hi
        regs[int(addr) + 1] = lo
    ir = ModbusSequentialDataBlock(0, regs)
    hr = ModbusSparseDataBlock({0xFC00: 0x00BC, 0xFC01: 0x614E, 0xFC02: 0x0089, 0xFC03: 0x0101})
    slave = MeterContext(state, ir=ir, hr=hr, zero_mode=True)
    return CountingServerContext(state, {unit: slave})


def control(state):
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "count":
            with state.lock:
                print(f"count {state.count}", flush=True)
        elif cmd in ("silent", "exceptions", "normal"):
            state.mode = cmd
            print("ok", flush=True)
        elif cmd:
            print(f"error unknown command {cmd}", flush=True)


async def announce():
    print("ready", flush=True)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--values", required=True)
    ap.add_argument("--tcp", help="host:port")
    ap.add_argument("--serial", help="serial device (e.g. a socat pty)")
    ap.add_argument("--baud", type=int, default=9600)
    ap.add_argument("--unit", type=int, default=1)
    args = ap.parse_args()
    with open(args.values, encoding="utf-8") as f:
        values = json.load(f)
    state = State()
    context = build_context(state, values, args.unit)
    threading.Thread(target=control, args=(state,), daemon=True).start()
    if args.tcp:
        host, port = args.tcp.rsplit(":", 1)
        server = ModbusTcpServer(
            context, framer=ModbusSocketFramer, address=(host, int(port)),
            allow_reuse_address=True, ignore_missing_slaves=True)
        task = asyncio.create_task(server.serve_forever())
        await server.serving
        await announce()
        await task
    else:
        server = ModbusSerialServer(
            context, framer=ModbusRtuFramer, port=args.serial, baudrate=args.baud,
            bytesize=8, parity="N", stopbits=1, ignore_missing_slaves=True)
        await server.start()
        if server.transport is None:
            sys.exit(f"cannot open {args.serial}")
        await announce()
        await server.serve_forever()

if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
