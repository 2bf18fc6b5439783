"""TensorBoard as the app starts it: its own program, with two things TensorBoard lacks.

    python -m resnet_core.interop.tensorboard_child --logdir RUNS --port PORT

It answers only requests whose Host is this loopback port's (``127.0.0.1:PORT`` or
``localhost:PORT``): a page on another site that points its own name at 127.0.0.1 (DNS
rebinding) sent ``Host: evil.example`` and read every run's curves and the runs folder's path.
And it ends when its supervisor's pipe closes (``supervisor.on_end_of_input``), as the Deploy
service does: after SIGKILL of the app it kept serving the folder, and the restarted app
started a second one.
"""

from __future__ import annotations

import argparse
import os

from resnet_core.supervisor import on_end_of_input


def allowed_hosts(port: int) -> frozenset[str]:
    """The Host headers a browser on this machine sends to the port."""
    return frozenset(f"{name}:{port}" for name in ("127.0.0.1", "localhost", "[::1]"))


def host_checked(app, allowed: frozenset[str]):
    """A WSGI app that answers 403 to any Host not in ``allowed``, else ``app``'s answer."""
    def guarded(environ, start_response):
        if environ.get("HTTP_HOST", "").lower() not in allowed:
            start_response("403 Forbidden", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"This TensorBoard answers only on its own address (127.0.0.1).\n"]
        return app(environ, start_response)
    return guarded


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    from tensorboard import program

    def server(app, flags):
        return program.WerkzeugServer(host_checked(app, allowed_hosts(args.port)), flags)

    on_end_of_input(lambda: os._exit(0))
    board = program.TensorBoard(server_class=server)
    board.configure(argv=[None, "--logdir", args.logdir, "--host", "127.0.0.1", "--port", str(args.port)])
    board.main()


if __name__ == "__main__":
    main()
