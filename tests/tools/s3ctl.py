#!/usr/bin/env python3
"""s3ctl: the tests' own S3 client, for looking at and planting objects in the moto server
independently of mapvault's object_store code. Run with the moto venv's Python (boto3 is in it):

    $VENV/bin/python tests/tools/s3ctl.py ENDPOINT create-bucket BUCKET
    ... ENDPOINT list BUCKET PREFIX          -> JSON [{"key", "size"}...], every page, by key
    ... ENDPOINT get BUCKET KEY              -> the object's bytes on stdout
    ... ENDPOINT head BUCKET KEY             -> JSON {"size", "etag", "checksum_sha256",
                                                "last_modified" (Unix seconds)}
    ... ENDPOINT put BUCKET KEY [--if-none-match] [--checksum-sha256 B64]   (body on stdin)
    ... ENDPOINT delete BUCKET KEY

Credentials and region come from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_REGION), as tests/it/s3.rs sets them. Exit codes: 0 done; 3 no such key or bucket; 4 a
precondition failed (`put --if-none-match` over an existing key); 2 any other error, with S3's
error code and message on stderr.

`put --checksum-sha256` sends the `x-amz-checksum-sha256` header exactly as object_store does
(the header alone, no `x-amz-sdk-checksum-algorithm`, no trailer), so a test can see what the
server does with it. boto3's own default checksums (CRC32 in an aws-chunked trailer) are turned
off, so every request is a plain one like object_store's.
"""

import json
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

MISSING = {"NoSuchKey", "NoSuchBucket", "404"}
PRECONDITION = {"PreconditionFailed", "412"}


def client(endpoint):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        config=Config(
            # Path style: the bucket is in the path, as with a loopback endpoint it must be.
            s3={"addressing_style": "path"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            retries={"max_attempts": 1},
        ),
    )


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    endpoint, op, args = argv[0], argv[1], argv[2:]
    s3 = client(endpoint)
    try:
        if op == "create-bucket":
            (bucket,) = args
            s3.create_bucket(Bucket=bucket)
        elif op == "list":
            bucket, prefix = args
            keys = []
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                keys += [{"key": o["Key"], "size": o["Size"]} for o in page.get("Contents", [])]
            json.dump(sorted(keys, key=lambda o: o["key"]), sys.stdout)
        elif op == "get":
            bucket, key = args
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            sys.stdout.buffer.write(body)
        elif op == "head":
            bucket, key = args
            h = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
            json.dump(
                {
                    "size": h["ContentLength"],
                    "etag": h["ETag"],
                    "checksum_sha256": h.get("ChecksumSHA256"),
                    "last_modified": h["LastModified"].timestamp(),
                },
                sys.stdout,
            )
        elif op == "put":
            bucket, key, rest = args[0], args[1], args[2:]
            kwargs = {}
            checksum = None
            while rest:
                flag = rest.pop(0)
                if flag == "--if-none-match":
                    kwargs["IfNoneMatch"] = "*"
                elif flag == "--checksum-sha256" and rest:
                    checksum = rest.pop(0)
                else:
                    sys.exit(f"s3ctl: put: unknown option {flag}")
            if checksum is not None:
                # Added just before signing, so it is signed like object_store's header.
                def add_header(request, **_):
                    request.headers["x-amz-checksum-sha256"] = checksum

                s3.meta.events.register("before-sign.s3.PutObject", add_header)
            s3.put_object(Bucket=bucket, Key=key, Body=sys.stdin.buffer.read(), **kwargs)
        elif op == "delete":
            bucket, key = args
            s3.delete_object(Bucket=bucket, Key=key)
        else:
            sys.exit(f"s3ctl: unknown operation {op}")
    except ClientError as e:
        err = e.response.get("Error", {})
        code = str(err.get("Code", ""))
        print(f"s3ctl: {op}: {code}: {err.get('Message', '')}", file=sys.stderr)
        if code in MISSING:
            sys.exit(3)
        if code in PRECONDITION:
            sys.exit(4)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
