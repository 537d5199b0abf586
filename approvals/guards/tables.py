"""Data tables the checks share: words that mark shared mailboxes and list-like file names."""

# Local parts of shared or list addresses: mail to them reaches several people.
ROLE_LOCAL_PARTS = frozenset({
    "info", "all", "ml", "list", "lists", "admin", "administrator", "support", "contact", "sales", "office",
    "webmaster", "postmaster", "hostmaster", "abuse", "noreply", "no-reply", "no_reply", "donotreply",
    "do-not-reply", "members", "member", "staff", "everyone", "all-staff", "allstaff", "team", "group",
    "mailinglist", "mailing-list", "announce", "news", "newsletter", "press", "pr", "hr", "recruit", "jinji",
    "soumu", "somu", "jimukyoku", "kouhou", "koho", "uketsuke", "toiawase", "otoiawase", "mail", "master",
})
