"""The hub's keep-alive client for Mode 2 (adapters/nodehttp.py) against a server on loopback.

The server is a few lines of asyncio that answer what each test scripts, so that what the
client does with a connection (reuse it, drop it, send again) can be seen from the server side.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from yimatong.adapters.nodehttp import MAX_ANSWER, HttpError, PooledSend

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return lines[0], headers, body


def _answer(body: bytes, *, status: str = "200 OK", extra: str = "") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


class Server:
    """Counts connections and requests; ``handler`` answers on each connection."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *_: object) -> None:
        assert self.server is not None
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.handler(reader, writer, self.connections)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def keep_alive(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _n: int
    ) -> None:
        while True:
            request = await _read_request(reader)
            self.requests.append(request)
            writer.write(_answer(b'{"n": %d}' % len(self.requests)))
            await writer.drain()


def test_requests_in_turn_share_one_keep_alive_connection_and_send_their_headers() -> None:
    async def main() -> None:
        server = Server(lambda r, w, n: server.keep_alive(r, w, n))
        pool = PooledSend()
        async with server as url:
            answers = [
                await pool(
                    "POST",
                    url + "/v1/codes/verify?x=1",
                    headers={"authorization": "Bearer t"},
                    body=b'{"code": "c"}',
                    timeout=2,
                )
                for _ in range(3)
            ]
        await pool.aclose()
        assert [a.body for a in answers] == [b'{"n": 1}', b'{"n": 2}', b'{"n": 3}']
        assert answers[0].status == 200
        assert answers[0].headers["content-type"] == "application/json"
        assert server.connections == 1
        line, headers, body = server.requests[0]
        assert line == "POST /v1/codes/verify?x=1 HTTP/1.1"
        assert headers["authorization"] == "Bearer t"
        assert headers["host"] == url.removeprefix("http://")
        assert body == b'{"code": "c"}'

    asyncio.run(main())


def test_concurrent_requests_each_get_their_own_answer_on_their_own_connection() -> None:
    async def main() -> None:
        async def echo(r: asyncio.StreamReader, w: asyncio.StreamWriter, _n: int) -> None:
            while True:
                _, _, body = await _read_request(r)
                await asyncio.sleep(0.01)
                w.write(_answer(body))
                await w.drain()

        server = Server(echo)
        pool = PooledSend()
        async with server as url:
            bodies = [f'{{"i": {i}}}'.encode() for i in range(8)]
            answers = await asyncio.gather(
                *(pool("POST", url, headers={}, body=b, timeout=2) for b in bodies)
            )
            again = await pool("POST", url, headers={}, body=b"{}", timeout=2)
        await pool.aclose()
        assert [a.body for a in answers] == bodies
        assert again.body == b"{}"
        assert server.connections == 8  # the ninth request took an idle one

    asyncio.run(main())


def test_a_chunked_answer_is_read_whole() -> None:
    async def chunked(r: asyncio.StreamReader, w: asyncio.StreamWriter, _n: int) -> None:
        await _read_request(r)
        w.write(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
            b'5\r\n{"a":\r\n3\r\n 1}\r\n0\r\n\r\n'
        )
        await w.drain()
        await asyncio.sleep(1)

    async def main() -> bytes:
        pool = PooledSend()
        async with Server(chunked) as url:
            answer = await pool("GET", url, headers={}, body=b"", timeout=2)
        await pool.aclose()
        return answer.body

    assert asyncio.run(main()) == b'{"a": 1}'


@pytest.mark.parametrize("pause", [0.0, 0.05])
def test_a_connection_the_server_closed_while_idle_is_replaced_and_the_request_sent_again(
    pause: float,
) -> None:
    async def main() -> None:
        async def once(r: asyncio.StreamReader, w: asyncio.StreamWriter, n: int) -> None:
            # Every connection answers one request with keep-alive, then closes at once.
            server.requests.append(await _read_request(r))
            w.write(_answer(b'{"conn": %d}' % n))
            await w.drain()

        server = Server(once)
        pool = PooledSend()
        async with server as url:
            first = await pool("POST", url, headers={}, body=b"{}", timeout=2)
            await asyncio.sleep(pause)  # with a pause, the close reaches the idle connection
            second = await pool("POST", url, headers={}, body=b"{}", timeout=2)
        await pool.aclose()
        assert (first.body, second.body) == (b'{"conn": 1}', b'{"conn": 2}')
        assert len(server.requests) == 2  # each sent once where it was answered

    asyncio.run(main())


def test_connection_close_in_the_answer_is_honoured() -> None:
    async def main() -> int:
        async def closing(r: asyncio.StreamReader, w: asyncio.StreamWriter, _n: int) -> None:
            while True:
                await _read_request(r)
                w.write(_answer(b"{}", extra="connection: close\r\n"))
                await w.drain()

        server = Server(closing)
        pool = PooledSend()
        async with server as url:
            for _ in range(3):
                await pool("GET", url, headers={}, body=b"", timeout=2)
        await pool.aclose()
        return server.connections

    assert asyncio.run(main()) == 3


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("silent", "no answer within"),
        ("garbage", "not an HTTP answer"),
        ("huge", "longer than"),
        ("hang-up", "closed the connection"),
    ],
)
def test_no_complete_answer_is_an_http_error(script: str, message: str) -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, _n: int) -> None:
        await _read_request(r)
        if script == "silent":
            await asyncio.sleep(5)
        elif script == "garbage":
            w.write(b"SSH-2.0-OpenSSH_9.0\r\n\r\n")
        elif script == "huge":
            w.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % (MAX_ANSWER + 10))
            w.write(b"x" * (MAX_ANSWER + 10))
        elif script == "hang-up":
            w.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n{")
        await w.drain()

    async def main() -> None:
        pool = PooledSend()
        async with Server(handler) as url:
            with pytest.raises(HttpError, match=message):
                await pool("POST", url, headers={}, body=b"{}", timeout=0.3)
        await pool.aclose()

    asyncio.run(main())


def test_a_refused_connection_and_a_header_with_a_line_break_are_http_errors() -> None:
    async def main() -> None:
        pool = PooledSend()
        async with Server(lambda r, w, n: asyncio.sleep(0)) as url:
            pass  # the server is gone: its port refuses
        with pytest.raises(HttpError, match="cannot connect"):
            await pool("GET", url, headers={}, body=b"", timeout=1)
        with pytest.raises(HttpError, match="line break"):
            await pool("GET", url, headers={"x": "a\r\nb: c"}, body=b"", timeout=1)
        with pytest.raises(HttpError, match="not an http"):
            await pool("GET", "ftp://127.0.0.1/", headers={}, body=b"", timeout=1)
        await pool.aclose()

    asyncio.run(main())
