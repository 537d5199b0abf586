"""Security tests: each fails when the protection it names is removed."""
