"""Signing in: password hashing, failed-login limits, first-run setup and accounts from an OIDC issuer.

No web code here; `builder/api/auth/` serves these over HTTP.
"""
