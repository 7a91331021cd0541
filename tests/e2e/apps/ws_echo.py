"""A WebSocket echo app (python3-websockets), for the proxy's tunnel tests."""

import asyncio
import os

import websockets


async def echo(ws):
    async for message in ws:
        await ws.send(message)


async def main():
    async with websockets.serve(echo, "127.0.0.1", int(os.environ["PORT"])):
        print("websocket echo listening", flush=True)
        await asyncio.Future()


asyncio.run(main())
