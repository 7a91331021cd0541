"""An app that sends every request it gets back to rp, headers and all: a routing loop."""

import asyncio
import os
from urllib.parse import urlparse


async def handle(reader, writer):
    head = await reader.readuntil(b"\r\n\r\n")
    port = urlparse(os.environ["RP_URL"]).port or 80
    up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
    up_writer.write(head)
    await up_writer.drain()
    writer.write(await up_reader.read())
    await writer.drain()
    writer.close()
    up_writer.close()


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(os.environ["PORT"]))
    print("loop listening", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
