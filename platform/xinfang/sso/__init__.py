"""Single sign-on with OpenID Connect: each tenant's own provider, its rules, and the platform's provider for superusers."""
