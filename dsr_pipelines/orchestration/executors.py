"""Where the steps of a deployment's runs execute: worker processes beside the run (Dagster's
multiprocess executor), or, when `DSR_CELERY_BROKER` names a broker, celery workers anywhere that
take them from it (dagster-celery, the `deploy` extra). A lake's or bucket's chunks are steps of
their own, so either spreads them; Kubernetes does the same with dagster-k8s's executor
(docs/operations.md). `dsr run` without a deployment runs everything in its own process.
"""

from __future__ import annotations

import os

import dagster as dg

BROKER_ENV = "DSR_CELERY_BROKER"  # e.g. pyamqp://guest@127.0.0.1:5672// (RabbitMQ) or redis://...
BACKEND_ENV = "DSR_CELERY_BACKEND"  # where step results are kept, e.g. redis://127.0.0.1:6379/0
QUEUE_ENV = "DSR_CELERY_QUEUE"  # the queue this deployment's workers take steps from (default: dagster)


def executor() -> dg.ExecutorDefinition:
    if not os.environ.get(BROKER_ENV):
        return dg.multiprocess_executor
    from dagster_celery import celery_executor

    backend = {"env": BACKEND_ENV} if os.environ.get(BACKEND_ENV) else "rpc://"
    queue = os.environ.get(QUEUE_ENV)
    source = {"task_default_queue": queue} if queue else {}
    return celery_executor.configured(
        {"broker": {"env": BROKER_ENV}, "backend": backend, "config_source": source}
    )
