"""The domain doctor: is a sending domain set up so that mailbox providers trust its mail?

For a domain (or an address's domain) it looks up SPF, DKIM, DMARC and MX with dnspython,
through the system resolver or ``LEADLINE_DNS_NAMESERVERS``, and checks that the base URL
is public HTTPS (the unsubscribe link). Each check says pass, warn or fail, why in plain
words, and the record to add. Time is bounded: each answer waits at most
``dns_timeout_seconds`` and all lookups together at most ``dns_lifetime_seconds``; a
timeout, a failing server or a malformed answer is a ``fail`` saying so, never an exception.
"""

from __future__ import annotations

import re
import socket
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from leadline.errors import Invalid
from leadline.fields import digits
from leadline.guardian.compliance import base_url_problem

Status = Literal["pass", "warn", "fail"]
CHECKS = ("spf", "dkim", "dmarc", "mx", "base_url")
SENDGRID_SELECTORS = ("s1", "s2")
COMMON_SELECTORS = ("s1", "s2", "default", "google", "selector1", "selector2", "k1", "dkim", "mail", "smtp")
MAX_TXT_CHARS = 4096  # of one TXT record's text, read at most
_DOMAIN = re.compile(r"^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$")
_SELECTOR = re.compile(r"^[a-z0-9]([a-z0-9._-]{0,62})$", re.IGNORECASE)


@dataclass
class Check:
    status: Status
    detail: str
    record: str | None = None


@dataclass
class Report:
    domain: str
    backend: str
    checks: dict[str, Check] = field(default_factory=dict)

    @property
    def authenticated(self) -> bool:
        """SPF, DKIM and DMARC all present (pass or warn)."""
        return all(self.checks[name].status != "fail" for name in ("spf", "dkim", "dmarc"))

    def missing_auth(self) -> list[str]:
        return [name.upper() for name in ("spf", "dkim", "dmarc") if self.checks[name].status == "fail"]

    def as_dict(self) -> dict[str, Any]:
        return {name: asdict(self.checks[name]) for name in CHECKS}


def domain_of(target: str) -> str:
    """The domain named by ``target`` (a domain, or an address), checked and in lower case."""
    text = (target or "").strip().rstrip(".").lower()
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    try:
        text = text.encode("idna").decode("ascii") if not text.isascii() else text
    except UnicodeError:
        raise Invalid(f"{target[:100]!r} is not a domain or an email address", field="domain") from None
    if not _DOMAIN.match(text):
        raise Invalid(f"{target[:100]!r} is not a domain or an email address", field="domain")
    return text


class _Lookup:
    """Bounded DNS lookups; every failure becomes a short sentence (``Lookup.error``)."""

    def __init__(self, settings: Any) -> None:
        import dns.resolver

        self.deadline = time.monotonic() + settings.dns_lifetime_seconds
        self.setup_error: str | None = None
        servers = list(settings.dns_nameservers or [])
        self.resolver = dns.resolver.Resolver(configure=False)
        if not servers:
            try:
                self.resolver = dns.resolver.Resolver(configure=True)
            except dns.resolver.NoResolverConfiguration:
                self.setup_error = "no DNS resolver is configured (set LEADLINE_DNS_NAMESERVERS)"
        else:
            try:
                self.resolver.nameservers = [_nameserver(s) for s in servers]
            except ValueError as error:
                self.setup_error = f"LEADLINE_DNS_NAMESERVERS: {error}"
        self.resolver.timeout = settings.dns_timeout_seconds
        self.resolver.retry_servfail = False

    def query(self, name: str, rdtype: str) -> tuple[list[Any] | None, str | None]:
        """(records, None); ([], None) when the name or type has none; (None, why) when DNS failed."""
        import dns.exception
        import dns.resolver

        if self.setup_error:
            return None, self.setup_error
        left = self.deadline - time.monotonic()
        if left <= 0.05:
            return None, "the DNS lookups ran out of time (LEADLINE_DNS_LIFETIME_SECONDS)"
        try:
            answer = self.resolver.resolve(name, rdtype, lifetime=min(left, 2 * self.resolver.timeout),
                                           raise_on_no_answer=False, search=False)  # fmt: skip
        except dns.resolver.NXDOMAIN:
            return [], None
        except dns.resolver.LifetimeTimeout:
            # A server that does not answer once will not answer the next question either.
            self.setup_error = f"the DNS server did not answer (about {name}) in time"
            return None, self.setup_error
        except dns.resolver.NoNameservers as error:
            return None, _no_servers(name, error)
        except dns.exception.DNSException as error:
            return None, f"the DNS answer about {name} could not be read ({_short(error)})"
        except (ValueError, UnicodeError, OSError) as error:
            return None, f"the DNS lookup of {name} failed ({_short(error)})"
        if answer.rrset is None:
            return [], None
        return list(answer.rrset), None

    def txt(self, name: str) -> tuple[list[str] | None, str | None]:
        records, error = self.query(name, "TXT")
        if records is None:
            return None, error
        texts = []
        for record in records:
            try:
                chunks = getattr(record, "strings", ())
                joined = b"".join(chunks)[:MAX_TXT_CHARS].decode("utf-8", "replace")
            except (TypeError, AttributeError):
                return None, f"the DNS answer about {name} holds a TXT record that cannot be read"
            texts.append(joined)
        return texts, None


def _no_servers(name: str, error: Any) -> str:
    """Why every server failed, in one sentence: a malformed answer, or the code a server answered."""
    import dns.exception

    causes = [entry[3] for entry in (error.kwargs or {}).get("errors") or [] if len(entry) > 3]
    broken = [c for c in causes if isinstance(c, dns.exception.DNSException | ValueError | UnicodeError)
              and not str(c).startswith(("SERVFAIL", "REFUSED", "NOTIMP"))]  # fmt: skip
    if broken:
        return f"the DNS answer about {name} is malformed ({_short(broken[-1])})"
    said = "; ".join(dict.fromkeys(_short(c) for c in causes if c is not None)) or "no answer"
    return f"no DNS server gave a usable answer about {name} ({said})"


def _short(error: BaseException) -> str:
    text = " ".join(str(error).split()).rstrip(".")
    return (text[:240] + "...") if len(text) > 240 else (text or type(error).__name__)


def _nameserver(text: str) -> Any:
    """``host`` or ``host:port`` (``[v6]:port``) as a dnspython nameserver."""
    import dns.nameserver

    entry = text.strip()
    host, port = entry, 53
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        if rest.startswith(":"):
            port = _port(rest[1:], entry)
    elif entry.count(":") == 1:
        host, _, raw = entry.partition(":")
        port = _port(raw, entry)
    if not host:
        raise ValueError(f"{entry!r} names no host")
    try:
        address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0][4][0]
    except (OSError, UnicodeError):
        raise ValueError(f"cannot find the address of {host!r}") from None
    return dns.nameserver.Do53Nameserver(str(address), port)


def _port(raw: str, entry: str) -> int:
    if not digits(raw) or not 0 < int(raw) < 65536:
        raise ValueError(f"{entry!r}: the port must be a number from 1 to 65535")
    return int(raw)


def _tags(text: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for part in text.split(";")[:64]:
        key, sep, value = part.partition("=")
        if sep:
            tags.setdefault(key.strip().lower(), value.strip())
    return tags


def check(settings: Any, target: str | None = None, *, selector: str | None = None) -> Report:
    """The checklist for ``target`` (default: the domain of LEADLINE_SENDER_EMAIL)."""
    domain = domain_of(settings.sender_email if target is None else target)
    chosen = selector or settings.dkim_selector
    if chosen is not None and not _SELECTOR.match(chosen):
        raise Invalid(f"{chosen[:100]!r} is not a DKIM selector", field="selector")
    backend = settings.email_backend
    look = _Lookup(settings)
    report = Report(domain=domain, backend=backend)
    report.checks["spf"] = _spf(look, domain, backend)
    report.checks["dkim"] = _dkim(look, domain, backend, chosen)
    report.checks["dmarc"] = _dmarc(look, domain, report.checks["dkim"])
    report.checks["mx"] = _mx(look, domain)
    report.checks["base_url"] = _base_url(settings.base_url)
    return report


def _spf(look: _Lookup, domain: str, backend: str) -> Check:
    wanted = "include:sendgrid.net" if backend == "sendgrid" else "include:<your mail provider's SPF domain>"
    suggested = f'{domain} TXT "v=spf1 {wanted} ~all"'
    texts, error = look.txt(domain)
    if texts is None:
        return Check("fail", f"SPF could not be checked: {error}.", None)
    spf = [t for t in texts if t.lower() == "v=spf1" or t.lower().startswith("v=spf1 ")]
    if not spf:
        return Check("fail", f"{domain} has no SPF record: receivers cannot tell which servers may send as it.",
                     suggested)  # fmt: skip
    if len(spf) > 1:
        return Check("fail", f"{domain} has {len(spf)} SPF records; receivers treat that as an error. Keep one.",
                     suggested)  # fmt: skip
    terms = spf[0].lower().split()[1:]
    alls = [t for t in terms if t.lstrip("+-~?") == "all"]
    if "+all" in alls or "all" in alls:
        return Check("fail", f"{domain}'s SPF ends in +all: it lets any server on the internet send as {domain}.",
                     suggested.replace("~all", "-all"))  # fmt: skip
    notes = []
    status: Status = "pass"
    if backend == "sendgrid" and "include:sendgrid.net" not in terms:
        status = "warn"
        notes.append(
            "it does not include sendgrid.net (fine when SendGrid's domain authentication handles SPF on its own "
            "subdomain; otherwise add include:sendgrid.net)"
        )
    if not alls:
        status = "warn"
        notes.append("it has no ~all or -all at the end, so it does not say what to do with other servers")
    elif "?all" in alls:
        status = "warn"
        notes.append("it ends in ?all (neutral), which protects nothing; use ~all or -all")
    detail = f"SPF found: {spf[0][:300]}"
    if notes:
        fixed = " ".join(t for t in terms if t.lstrip("+-~?") != "all")
        if backend == "sendgrid" and "include:sendgrid.net" not in terms:
            fixed = (fixed + " include:sendgrid.net").strip()
        return Check(status, f"{detail}; but {'; and '.join(notes)}.", f'{domain} TXT "v=spf1 {fixed} ~all"')
    what = " It authorises SendGrid." if backend == "sendgrid" else ""
    return Check("pass", detail + "." + what, None)


def _dkim(look: _Lookup, domain: str, backend: str, selector: str | None) -> Check:
    if selector is None and backend == "sendgrid":
        found: list[str] = []
        for name in SENDGRID_SELECTORS:
            host = f"{name}._domainkey.{domain}"
            records, error = look.query(host, "CNAME")
            if records is None:
                return Check("fail", f"DKIM could not be checked: {error}.", None)
            targets = [str(getattr(r, "target", "")).rstrip(".").lower() for r in records]
            if any(t.endswith(".sendgrid.net") for t in targets):
                found.append(name)
        if len(found) == len(SENDGRID_SELECTORS):
            return Check("pass", f"SendGrid's DKIM records (s1 and s2._domainkey.{domain}) point at SendGrid.")
        missing = [n for n in SENDGRID_SELECTORS if n not in found]
        record = "; ".join(f"{n}._domainkey.{domain} CNAME {n}.domainkey.uNNNN.wlNNN.sendgrid.net" for n in missing)
        record += " (the exact values are on SendGrid's Sender Authentication page)"
        status: Status = "warn" if found else "fail"
        said = (f"Only {', '.join(found)} of SendGrid's two DKIM records is set" if found else
                f"{domain} has none of SendGrid's DKIM records: mail is not signed for {domain}, so DMARC cannot "
                "align and Gmail and Yahoo may refuse bulk mail")  # fmt: skip
        return Check(status, said + ".", record)
    selectors = (selector,) if selector else COMMON_SELECTORS
    for name in selectors:
        host = f"{name}._domainkey.{domain}"
        texts, error = look.txt(host)
        if texts is None:
            return Check("fail", f"DKIM could not be checked: {error}.", None)
        keys = [t for t in texts if "p=" in t.lower()]
        if keys:
            tags = _tags(keys[0])
            if not tags.get("p"):
                return Check("fail", f"The DKIM key at {host} is empty (p=): the key was revoked.",
                             f'{host} TXT "v=DKIM1; k=rsa; p=<your public key>"')  # fmt: skip
            return Check("pass", f"A DKIM key is published at {host}.")
    if selector:
        return Check("fail", f"No DKIM key at {selector}._domainkey.{domain}: mail is not signed for {domain}.",
                     f'{selector}._domainkey.{domain} TXT "v=DKIM1; k=rsa; p=<your public key>"')  # fmt: skip
    return Check(
        "warn",
        f"No DKIM key found under the usual selectors of {domain}; name yours with --selector "
        "(or LEADLINE_DKIM_SELECTOR) to check it.",
        f'<selector>._domainkey.{domain} TXT "v=DKIM1; k=rsa; p=<your public key>" (from your mail provider)',
    )


def _dmarc(look: _Lookup, domain: str, dkim: Check) -> Check:
    suggested = f'_dmarc.{domain} TXT "v=DMARC1; p=none; rua=mailto:dmarc@{domain}"'
    where = domain
    texts, error = look.txt(f"_dmarc.{domain}")
    if texts is None:
        return Check("fail", f"DMARC could not be checked: {error}.", None)
    records = [t for t in texts if t.replace(" ", "").lower().startswith("v=dmarc1")]
    labels = domain.split(".")
    if not records and len(labels) > 2:  # the organisational domain's policy covers its subdomains
        where = ".".join(labels[-2:])
        texts, error = look.txt(f"_dmarc.{where}")
        if texts is None:
            return Check("fail", f"DMARC could not be checked: {error}.", None)
        records = [t for t in texts if t.replace(" ", "").lower().startswith("v=dmarc1")]
    if not records:
        return Check("fail", f"{domain} has no DMARC record; Gmail and Yahoo require one of bulk senders.", suggested)
    if len(records) > 1:
        return Check("fail", f"_dmarc.{where} has {len(records)} DMARC records; receivers ignore them all. Keep one.",
                     suggested)  # fmt: skip
    tags = _tags(records[0])
    policy = tags.get("p", "").lower()
    if policy not in ("none", "quarantine", "reject"):
        shown = tags.get("p", "")[:40]
        return Check("fail", f"The DMARC record at _dmarc.{where} is malformed: its policy p={shown or '(missing)'} "
                     "must be none, quarantine or reject.", suggested)  # fmt: skip
    strict = tags.get("adkim", "r").lower() == "s"
    inherited = f" (inherited from {where})" if where != domain else ""
    said = f"DMARC policy {policy}{inherited}"
    if dkim.status == "fail":
        return Check("warn", f"{said}, but nothing aligns with the From domain: {domain} has no DKIM signature, "
                     "so DMARC rests on SPF alone. Set up DKIM (see the dkim check).", None)  # fmt: skip
    if strict and where != domain:
        return Check("warn", f"{said} with strict DKIM alignment (adkim=s): mail signed for {domain} does not "
                     f"align with {where}.", suggested)  # fmt: skip
    note = (
        " (monitoring only: reports, no protection; move to quarantine once reports look right)"
        if policy == "none"
        else ""
    )
    return Check("pass", f"{said}{note}; DKIM signs as {domain}, aligned with the From address.")


def _mx(look: _Lookup, domain: str) -> Check:
    records, error = look.query(domain, "MX")
    if records is None:
        return Check("fail", f"MX could not be checked: {error}.", None)
    hosts = sorted((getattr(r, "preference", 0), str(getattr(r, "exchange", "")).rstrip(".")) for r in records)
    if not hosts:
        return Check("warn", f"{domain} has no MX record: replies and bounces to the From address cannot arrive.",
                     f"{domain} MX 10 <your mail server>")  # fmt: skip
    if len(hosts) == 1 and hosts[0][1] in ("", "."):
        return Check("warn", f"{domain} says it receives no mail (a null MX): replies to the From address bounce.",
                     f"{domain} MX 10 <your mail server>")  # fmt: skip
    return Check("pass", "Mail for {} goes to {}.".format(domain, ", ".join(h for _, h in hosts[:5])))


def _base_url(base_url: str) -> Check:
    problem = base_url_problem(base_url)
    if problem is None:
        return Check("pass", f"Unsubscribe links use {base_url}, public HTTPS.")
    return Check("fail", f"LEADLINE_BASE_URL {problem}: unsubscribe links would not work, so the smtp and sendgrid "
                 "backends refuse to send.", "LEADLINE_BASE_URL=https://<this server's public host name>")  # fmt: skip


def warnings(report: Report) -> list[str]:
    """The checklist's problems as warning lines (``leadline config``, the Settings page)."""
    return [
        f"{name.upper() if name != 'base_url' else 'Base URL'} ({report.domain}): {c.detail}"
        + (f" Add: {c.record}" if c.record else "")
        for name, c in report.checks.items()
        if c.status != "pass"
    ]
