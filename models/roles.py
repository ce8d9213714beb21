"""The five roles, named once for the schema, the API's checks and the command line (importing this is free)."""

ROLES = ("admin", "account_manager", "market_manager", "distribution_center", "auditor")
