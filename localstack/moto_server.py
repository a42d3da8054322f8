"""moto server for machines without Docker, with DynamoDB's atomicity restored.

moto applies a DynamoDB conditional write as "check, then write" without a lock, so two
threads can both pass the same condition: something real DynamoDB never allows, and which the
concurrency tests of this project (R13, R14, R24) exist to catch. This launcher serialises
every JSON-protocol call (DynamoDB and SQS, recognised by their X-Amz-Target header) behind one
lock, and leaves S3 (uploads) concurrent. Usage: python moto_server.py [HOST] [PORT]
"""

import copy
import sys
import threading
import types

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models.table import Table

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


_original_transact_write_items = dynamodb_models.DynamoDBBackend.transact_write_items


def _transact_write_items(self, transact_items):
    """moto backs up every table a transaction touches with a deep copy, so each transaction
    costs time proportional to the whole table and a long test run slows to a crawl. Calls are
    serialised (see below), so backing up just the items the transaction names is enough: on
    failure they are put back as they were."""
    before = []
    for entry in transact_items:
        _, op = next(iter(entry.items()))
        table = self.tables.get(op.get("TableName"))
        if table is None:
            continue
        if "Item" in op:
            key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = op["Item"][table.range_key_attr]
        else:
            key = op["Key"]
        current = self.get_item(table.name, key)
        before.append((table.name, key, None if current is None else copy.deepcopy(current.to_json()["Attributes"])))
    # moto's own whole-table backup becomes a reference (never used for rollback below).
    dynamodb_models.copy = types.SimpleNamespace(
        deepcopy=lambda value: value if isinstance(value, Table) else copy.deepcopy(value)
    )
    try:
        return _original_transact_write_items(self, transact_items)
    except Exception:
        for table_name, key, attributes in reversed(before):
            if attributes is None:
                if self.get_item(table_name, key) is not None:
                    self.delete_item(table_name, key)
            else:
                self.put_item(table_name, attributes)
        raise
    finally:
        dynamodb_models.copy = copy


dynamodb_models.DynamoDBBackend.transact_write_items = _transact_write_items



_original_query = Table.query


def _query(self, hash_key, *args, **kwargs):
    """moto answers a base-table query by sorting every item of the table (`all_items`), so a
    query costs time proportional to the whole table. For a base-table query only the
    partition can match: hand moto just that partition (same results, in the same order).
    Calls are serialised, so shadowing the method for the duration of one call is safe."""
    index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
    if index_name or hash_key is None:
        return _original_query(self, hash_key, *args, **kwargs)
    partition = self.items.get(hash_key)

    def partition_items():
        if partition is None:
            return []
        if self.range_key_attr:
            return sorted(partition.values(), key=lambda item: item.range_key)
        return [partition]

    self.all_items = partition_items
    try:
        return _original_query(self, hash_key, *args, **kwargs)
    finally:
        del self.all_items


Table.query = _query

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
