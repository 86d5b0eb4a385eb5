"""Login for people in a browser: the gateway as an OpenID Connect relying party.

`oidc` speaks to the county's identity provider (authorization code with PKCE, the ID token
checked), `sessions` keeps who is logged in (server-side, idle and absolute timeouts, a CSRF
token per session), `people` maps the provider's claims to a professional or a citizen,
`routes` serves /login, /login/callback and /logout, and `keycloak` runs the Keycloak the
tests and `yhteys run` use as the provider.
"""

__all__: list[str] = []
