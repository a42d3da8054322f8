"""LocalStack init hook: creates the table, queues (with DLQs) and bucket described by
resources.json, which `cargo run -p local-gateway -- export-resources` generates from infra's
single definition (a test keeps the two equal). Safe to run more than once."""

import json
import os

import boto3

ENDPOINT = "http://localhost:4566"
SPEC = json.load(open(os.path.join(os.path.dirname(__file__), "..", "resources.json")))


def client(service):
    return boto3.client(
        service,
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def create_table(ddb, table):
    params = {k: v for k, v in table.items() if k != "TimeToLiveAttribute"}
    try:
        ddb.create_table(**params)
    except ddb.exceptions.ResourceInUseException:
        pass
    ddb.get_waiter("table_exists").wait(TableName=table["TableName"])
    try:
        ddb.update_time_to_live(
            TableName=table["TableName"],
            TimeToLiveSpecification={"AttributeName": table["TimeToLiveAttribute"], "Enabled": True},
        )
    except Exception:
        pass  # already enabled


def create_queues(sqs, queues):
    for queue in queues:
        dlq = queue["DeadLetterQueue"]
        dlq_url = sqs.create_queue(
            QueueName=dlq["QueueName"],
            Attributes={"MessageRetentionPeriod": dlq["MessageRetentionPeriod"]},
        )["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        attributes = dict(queue["Attributes"])
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": dlq["MaxReceiveCount"]}
        )
        sqs.create_queue(QueueName=queue["QueueName"], Attributes=attributes)


def create_bucket(s3, bucket):
    try:
        s3.create_bucket(Bucket=bucket["Name"])
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    s3.put_bucket_encryption(
        Bucket=bucket["Name"],
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_public_access_block(
        Bucket=bucket["Name"],
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    # Widgets on customers' sites post uploads and fetch downloads directly.
    s3.put_bucket_cors(Bucket=bucket["Name"], CORSConfiguration={"CORSRules": bucket["CorsRules"]})


def notify_queue(s3, sqs, bucket):
    """s3:ObjectCreated:* under each notification's prefix -> its queue."""
    configurations = []
    for n, notification in enumerate(bucket["Notifications"]):
        queue_url = sqs.get_queue_url(QueueName=notification["Queue"])["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        configurations.append({
            "Id": f"object-created-{n}",
            "QueueArn": queue_arn,
            "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": notification["Prefix"]}]}},
        })
    s3.put_bucket_notification_configuration(
        Bucket=bucket["Name"],
        NotificationConfiguration={"QueueConfigurations": configurations},
    )


create_table(client("dynamodb"), SPEC["Table"])
create_queues(client("sqs"), SPEC["Queues"])
create_bucket(client("s3"), SPEC["Bucket"])
notify_queue(client("s3"), client("sqs"), SPEC["Bucket"])
print("relay resources ready")
