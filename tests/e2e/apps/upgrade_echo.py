"""An app that accepts any upgrade (101) and then echoes bytes until the client half-closes;
then it says "bye" and closes. Shows that rp's tunnel passes half-closes on."""

import asyncio
import os


async def handle(reader, writer):
    head = await reader.readuntil(b"\r\n\r\n")
    proto = b"echo"
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"upgrade:"):
            proto = line.split(b":", 1)[1].strip()
    writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: " + proto +
                 b"\r\nConnection: Upgrade\r\n\r\n")
    await writer.drain()
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.write(b"bye")
    await writer.drain()
    writer.close()


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(os.environ["PORT"]))
    print("upgrade echo listening", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
