"""The controllers' HTTP API (`dsr serve`): FastAPI over the service layer, one key per tenant.

`app.py` builds the application, `auth.py` turns a bearer key into a principal, `problems.py`
answers errors as RFC 9457 problem details, `guards.py` limits bodies and rates, `models.py` is
what goes over the wire, `requests.py`, `holds.py`, `webhooks.py` and `health.py` are the routes,
`background.py` what the process does between calls (callbacks, package expiry).
"""
