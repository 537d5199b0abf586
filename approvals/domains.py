"""Mail domains with a fixed meaning for MailGuard's policy, and the curated table of Japanese providers.

The tables are data, kept here in one place: free-mail providers (never an
approved sender, incident 6), the carriers and ISPs Japanese member lists are
full of, and the public-sector second-level domains. The look-alike check
(``approvals.guards.domains``) compares every domain of a list with these.
"""

# Personal free-mail providers: never an approved sender (incident 6 re-sent from a
# private address). Recipients on them are fine.
FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "yahoo.co.jp", "ymail.ne.jp", "yahoo.com", "outlook.com", "outlook.jp",
    "hotmail.com", "hotmail.co.jp", "live.jp", "live.com", "msn.com", "icloud.com", "me.com", "mac.com",
    "aol.com", "gmx.com", "mail.com", "proton.me", "protonmail.com", "docomo.ne.jp", "ezweb.ne.jp",
    "au.com", "softbank.ne.jp", "i.softbank.jp", "ybb.ne.jp", "goo.jp", "excite.co.jp", "infoseek.jp",
    "zoho.com", "rakumail.jp",
})

# Mobile carriers' mail domains (キャリアメール), current and still-delivered older ones.
CARRIER_DOMAINS = frozenset({
    "docomo.ne.jp", "ezweb.ne.jp", "au.com", "softbank.ne.jp", "i.softbank.jp", "disney.ne.jp",
    "ymobile.ne.jp", "y-mobile.ne.jp", "emobile.ne.jp", "pdx.ne.jp", "willcom.com", "wcm.ne.jp",
    "uqmobile.jp", "rakumail.jp", "mineo.jp", "vodafone.ne.jp",
})

# Internet providers whose mailboxes members use at home.
ISP_DOMAINS = frozenset({
    "nifty.com", "biglobe.ne.jp", "ocn.ne.jp", "so-net.ne.jp", "plala.or.jp", "dion.ne.jp", "odn.ne.jp",
    "asahi-net.or.jp", "jcom.home.ne.jp", "zaq.ne.jp", "eonet.ne.jp", "kcn.ne.jp", "hi-ho.ne.jp", "ybb.ne.jp",
    "sakura.ne.jp", "tnc.ne.jp", "cty-net.ne.jp", "ab.auone-net.jp", "ae.auone-net.jp", "dream.jp",
    "mbr.nifty.com", "kkh.biglobe.ne.jp", "xk9.so-net.ne.jp", "bcc.bai.ne.jp", "wind.ocn.ne.jp",
})

# Japan's two-letter second-level domains: co.jp, ne.jp, lg.jp… any other ".xx.jp" does not exist.
JP_SECOND_LEVEL = frozenset({"ac", "ad", "co", "ed", "go", "gr", "lg", "ne", "or"})
PUBLIC_SECTOR_SUFFIXES = ("lg.jp", "go.jp", "ac.jp", "ed.jp")

KNOWN_DOMAINS = FREE_MAIL_DOMAINS | CARRIER_DOMAINS | ISP_DOMAINS

# Real domains that happen to be one confusion from a known one.
LOOKALIKES_THAT_EXIST = frozenset({
    "googlemail.com", "mail.com", "email.com", "ymail.com", "gmx.com", "aol.com", "me.com", "mac.com", "live.com",
    "live.jp", "msn.com", "yahoo.com", "yahoo.ne.jp", "softbank.jp", "softbank.co.jp", "au.net", "ocn.ad.jp",
    "nifty.ne.jp", "nifty.co.jp", "biglobe.co.jp", "docomo.co.jp", "icloud.co.jp", "cloud.com", "outlook.de",
    "outlook.fr", "outlook.es", "outlook.it", "outlook.kr", "outlook.cl", "outlook.be", "outlook.at",
    "outlook.dk", "outlook.ie", "outlook.sa", "outlook.ph", "outlook.sg", "outlook.my", "outlook.in",
    "outlook.co.th", "outlook.co.id", "outlook.co.nz", "outlook.com.au", "hotmail.co.uk", "hotmail.fr",
    "hotmail.de", "hotmail.it", "hotmail.es", "hotmail.co.th", "yahoo.co.uk", "yahoo.co.in", "yahoo.co.id",
    "yahoo.co.nz", "yahoo.co.th", "yahoo.co.kr", "dion.ne.jp", "odn.ne.jp", "ocn.ne.jp", "zaq.ne.jp",
    "kcn.ne.jp", "tnc.ne.jp", "goo.jp", "goo.ne.jp", "mail.goo.ne.jp", "disney.co.jp", "icloud.com",
})


def domain_of(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip().lower()


def is_free_mail(address: str) -> bool:
    return domain_of(address) in FREE_MAIL_DOMAINS
