"""Mail domains with a fixed meaning for MailGuard's policy."""

# Personal free-mail providers: never an approved sender (incident 6 re-sent from a
# private address). Recipients on them are fine.
FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "yahoo.co.jp", "ymail.ne.jp", "yahoo.com", "outlook.com", "outlook.jp",
    "hotmail.com", "hotmail.co.jp", "live.jp", "live.com", "msn.com", "icloud.com", "me.com", "mac.com",
    "aol.com", "gmx.com", "mail.com", "proton.me", "protonmail.com", "docomo.ne.jp", "ezweb.ne.jp",
    "au.com", "softbank.ne.jp", "i.softbank.jp", "ybb.ne.jp",
})


def domain_of(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip().lower()


def is_free_mail(address: str) -> bool:
    return domain_of(address) in FREE_MAIL_DOMAINS
