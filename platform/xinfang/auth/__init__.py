"""Identity and permissions: accounts, passwords, sessions with CSRF, bearer tokens, roles."""
