"""Object storage over the S3 API: records in JSON, NDJSON, CSV and text objects, gzip or not.

`layout` says where a collection's objects are, `bucket` makes the requests, `formats` reads
and writes objects, `textsearch` finds many values at once, `records` decides per object,
and `connector` runs lookups and erasures over a collection.

Only the layout is imported here: checking a datamap's layouts needs no boto3.
"""

from .layout import ObjectLayout

__all__ = ["ObjectLayout"]
