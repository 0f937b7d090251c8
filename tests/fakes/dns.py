"""A small authoritative DNS server on 127.0.0.1 (UDP and TCP on one free port) serving test zones.

Zones are master-file text parsed by dnspython (``dns.zone.from_text``); queries and answers are
real DNS messages (``dns.message``), so the domain doctor talks to it as to any DNS server.
Two kinds of misbehaviour for tests: names under a zone listed in ``garbled`` get bytes that are
not a DNS message over TCP, after a UDP answer marked truncated (a malformed answer), and names under ``silent`` get no answer at all.
The zones the tests use are below (``GOOD_ZONE``, ``BROKEN_ZONE``); ``python -m tests.fakes.dns``
serves them until interrupted and prints the port.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import struct
import threading
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.zone

GOOD_ZONE = """
$TTL 300
@        SOA ns1 hostmaster 1 3600 600 86400 300
@        NS  ns1
ns1      A   127.0.0.1
@        MX  10 mx1.goodmail.test.
@        MX  20 mx2.goodmail.test.
mx1      A   192.0.2.10
mx2      A   192.0.2.11
@        TXT "v=spf1 include:sendgrid.net -all"
@        TXT "google-site-verification=abc123"
s1._domainkey CNAME s1.domainkey.u1234.wl234.sendgrid.net.
s2._domainkey CNAME s2.domainkey.u1234.wl234.sendgrid.net.
mail._domainkey TXT "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC"
_dmarc   TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@goodmail.test; adkim=r"
em1234   CNAME u1234.wl234.sendgrid.net.
"""

BROKEN_ZONE = """
$TTL 300
@        SOA ns1 hostmaster 1 3600 600 86400 300
@        NS  ns1
ns1      A   127.0.0.1
@        TXT "v=spf1 a mx ?all"
@        TXT "v=spf1 +all"
_dmarc   TXT "v=DMARC1; p=bogus"
"""


class FakeDns:
    def __init__(self, zones: dict[str, str], *, garbled: tuple[str, ...] = (), silent: tuple[str, ...] = ()) -> None:
        self.zones = {dns.name.from_text(origin): dns.zone.from_text(text, origin=origin, relativize=False)
                      for origin, text in zones.items()}  # fmt: skip
        self.garbled = tuple(dns.name.from_text(n) for n in garbled)
        self.silent = tuple(dns.name.from_text(n) for n in silent)
        self.queries: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        fake = self

        class Udp(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data, sock = self.request
                wire = fake.answer(data, tcp=False)
                if wire is not None:
                    sock.sendto(wire, self.client_address)

        class Tcp(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                with contextlib.suppress(OSError, struct.error):
                    while True:
                        head = _read(self.request, 2)
                        if not head:
                            return
                        data = _read(self.request, struct.unpack("!H", head)[0])
                        wire = fake.answer(data, tcp=True)
                        if wire is None:
                            return
                        self.request.sendall(struct.pack("!H", len(wire)) + wire)

        for _ in range(50):  # one port free for both UDP and TCP
            udp = socketserver.ThreadingUDPServer(("127.0.0.1", 0), Udp)
            try:
                tcp = socketserver.ThreadingTCPServer(("127.0.0.1", udp.server_address[1]), Tcp)
            except OSError:
                udp.server_close()
                continue
            break
        else:  # pragma: no cover
            raise RuntimeError("no free port for UDP and TCP")
        udp.daemon_threads = tcp.daemon_threads = True
        self.servers: list[Any] = [udp, tcp]
        self.port = udp.server_address[1]
        for server in self.servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()

    @property
    def nameserver(self) -> str:
        return f"127.0.0.1:{self.port}"

    def answer(self, data: bytes, *, tcp: bool) -> bytes | None:
        try:
            query = dns.message.from_wire(data)
        except dns.exception.DNSException:
            return None
        if not query.question:
            return None
        question = query.question[0]
        with self.lock:
            self.queries.append((question.name.to_text(), dns.rdatatype.to_text(question.rdtype)))
        if any(question.name.is_subdomain(n) for n in self.silent):
            return None
        if any(question.name.is_subdomain(n) for n in self.garbled):
            if not tcp:  # "truncated: ask again over TCP", where the answer is not a DNS message
                response = dns.message.make_response(query)
                response.flags |= dns.flags.TC
                return response.to_wire()
            return data[:2] + b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00\x07garbage\xff\xff"
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        self._resolve(response, question.name, question.rdtype)
        try:
            return response.to_wire(max_size=65535 if tcp else 512)
        except dns.exception.TooBig:
            response = dns.message.make_response(query)
            response.flags |= dns.flags.TC
            return response.to_wire()

    def _resolve(self, response: Any, name: Any, rdtype: Any) -> None:
        for _ in range(8):  # CNAME chains inside our zones
            zone = next((z for origin, z in self.zones.items() if name.is_subdomain(origin)), None)
            if zone is None:
                if not response.answer:
                    response.set_rcode(dns.rcode.REFUSED)
                return
            node = zone.get_node(name)
            if node is None:
                if not response.answer:
                    response.set_rcode(dns.rcode.NXDOMAIN)
                return
            found = node.get_rdataset(dns.rdataclass.IN, rdtype)
            if found is not None:
                response.answer.append(_rrset(name, found))
                return
            cname = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.CNAME)
            if cname is None:
                return  # NOERROR, no data
            response.answer.append(_rrset(name, cname))
            name = next(iter(cname)).target

    def close(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


def _rrset(name: Any, rdataset: Any) -> Any:
    import dns.rrset

    rrset = dns.rrset.RRset(name, rdataset.rdclass, rdataset.rdtype)
    rrset.update(rdataset)
    return rrset


def _read(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return b""
        data += chunk
    return data


if __name__ == "__main__":  # pragma: no cover
    import time

    fake = FakeDns({"goodmail.test.": GOOD_ZONE, "brokenmail.test.": BROKEN_ZONE}, garbled=("garbled.test.",),
                   silent=("silent.test.",))  # fmt: skip
    print(fake.nameserver, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            time.sleep(3600)
