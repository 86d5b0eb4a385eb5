"""The gateway as one application: its assembly, its one audited frame, bearer authentication.

assembly   build_gateway(settings): the one place the gateway is put together; serve()
asgi       create_app: the routes and the OperationOutcome handlers
frame      AuditedFrame: authenticate, serve, classify, record, answer — for every endpoint
bearer     authenticate: a request's bearer token as a Principal
"""

__all__: list[str] = []
