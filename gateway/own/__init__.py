"""The client's own view: her plan, her team and who has used her information, in her browser.

routes  the /me/plan and /me/report pages, each through the audited frame (her session only)
view    what the plan page shows, read from the store's resources (pure)
"""

__all__: list[str] = []
