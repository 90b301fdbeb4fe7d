"""Running the app under uvicorn, in its own thread beside the scheduler (``signoff serve``).

uvicorn's access log is off: it would write each request's path, and ``/r/<token>`` paths
carry a credential. ``web.middleware`` logs requests instead, with tokens redacted.
"""

from __future__ import annotations

import threading

import uvicorn
from fastapi import FastAPI


def build_server(
    app: FastAPI, host: str, port: int, *, forwarded_allow_ips: str | None = None
) -> uvicorn.Server:
    """A uvicorn server for ``app``; call ``.run()`` in a thread and set ``.should_exit`` to stop.

    ``forwarded_allow_ips``: the reverse proxy's address when there is one, so the
    per-client rate limits see the real client (X-Forwarded-For) rather than the proxy.
    """
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=False,
        proxy_headers=forwarded_allow_ips is not None,
        forwarded_allow_ips=forwarded_allow_ips,
        server_header=False,
        log_config=None,  # keep the process's logging set-up (signoff serve configures it)
        lifespan="off",
    )
    return uvicorn.Server(config)


def start_in_thread(server: uvicorn.Server, timeout: float = 10.0) -> threading.Thread:
    """Run ``server`` in a daemon-less thread and wait until it accepts connections.

    Raises:
        RuntimeError: it did not start within ``timeout`` seconds (e.g. the port is taken).
    """
    # uvicorn installs signal handlers only in the main thread; here the caller owns signals
    thread = threading.Thread(target=server.run, name="signoff-web")
    thread.start()
    waited = threading.Event()
    for _ in range(int(timeout / 0.02)):
        if server.started or not thread.is_alive():
            break
        waited.wait(0.02)
    if not server.started:
        server.should_exit = True
        thread.join(timeout)
        raise RuntimeError(
            f"the web server did not start on {server.config.host}:{server.config.port}"
        )
    return thread


def stop(server: uvicorn.Server, thread: threading.Thread, timeout: float = 10.0) -> None:
    server.should_exit = True
    thread.join(timeout)
