"""The gateway as one application: its assembly, its one audited frame, bearer authentication.

assembly   build_gateway(settings): the one place the gateway is put together; serve(), server_config()
asgi       create_app: the routes, the OperationOutcome handlers, and whatever no route serves;
           in_frame: the authorization server's endpoints in the frame
forwarded  source_address: the direct peer, or the client a trusted reverse proxy names
frame      AuditedFrame: authenticate, serve, classify, record, answer — for every endpoint
bearer     authenticate: a request's bearer token as a Principal
"""

__all__: list[str] = []
