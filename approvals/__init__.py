"""The approvals domain: campaigns, their review and their delivery."""
