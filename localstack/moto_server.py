"""moto server for machines without Docker, with DynamoDB's atomicity restored.

moto applies a DynamoDB conditional write as "check, then write" without a lock, so two
threads can both pass the same condition: something real DynamoDB never allows, and which the
concurrency tests of this project (R13, R14, R24) exist to catch. This launcher serialises
every JSON-protocol call (DynamoDB and SQS, recognised by their X-Amz-Target header) behind one
lock, and leaves S3 (uploads) concurrent. Usage: python moto_server.py [HOST] [PORT]
"""

import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

_LOCK = threading.Lock()


class SerialisedJsonCalls:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if "HTTP_X_AMZ_TARGET" not in environ:
            return self.app(environ, start_response)
        with _LOCK:
            # Materialise the response inside the lock: the write happens while iterating.
            return list(self.app(environ, start_response))


def main():
    host = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 4566
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        host,
        port,
        SerialisedJsonCalls(app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
