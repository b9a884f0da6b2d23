"""PII detectors for contacts (`curation.steps.pii.contacts`): emails, IP addresses, phone numbers and
@handles, each with known positives and false-positive traps (versions, dates, hex dumps, outlines).

Run: `.venv/bin/python -m pytest tests/curation/steps/test_pii_contacts.py`
"""

import pytest

from curation.steps.pii import DEFAULT_KINDS, scrub
from tests.curation.steps.pii_cases import found


def test_email():
    text = "Mail john.doe+news@mail.example.co.uk, or <a_b@x.io>. Not: @decorator, user@localhost, a@b"
    assert found(text, "email") == ["john.doe+news@mail.example.co.uk", "a_b@x.io"]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("client 81.2.69.160 connected", ["81.2.69.160"]),
        ("gateway 10.0.0.1 and 192.168.1.254.", ["10.0.0.1", "192.168.1.254"]),  # private is still an IP
        ("192.168.0.9 - - [10/Oct/2000:13:55:36] GET /", ["192.168.0.9"]),  # access log, line start
        ("ip=2001:db8::8a2e:370:7334.", ["2001:db8::8a2e:370:7334"]),
        ("mapped ::ffff:192.0.2.128 here", ["::ffff:192.0.2.128"]),
        ("full 2001:0db8:85a3:0000:0000:8a2e:0370:7334", ["2001:0db8:85a3:0000:0000:8a2e:0370:7334"]),
    ],
)
def test_ip_positives(text, expected):
    assert found(text, "ip_address") == expected


@pytest.mark.parametrize(
    "text",
    [
        "Released version 2.0.1.3 today",
        "Upgrade to v 10.2.11.4 now",
        "v1.2.3.40 changelog",
        "see section 1.2.3.4 for details",
        "as in sections 4.4.6.4 and 8.12.1.4 of the standard",
        "§ 12.3.4.5 applies",
        "1.2.3.4 Introduction",  # outline numbering at a line start
        "\n12.1.1.3. Backups",
        "GCC 2.7.2.2 build",  # one-digit parts: a version
        "OID 1.3.6.1.4.1.311",  # more than four parts
        "256.1.1.1 and 01.02.03.04",
        "std::vector and Foo::Bar and 12:34:56 and 00:1A:2B:3C:4D:5E and dead::beef",
    ],
)
def test_ip_traps(text):
    assert found(text, "ip_address") == []


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Call +44 20 7946 0958 today", "+44 20 7946 0958"),
        ("fax +41 (0)96 471 07 95.", "+41 (0)96 471 07 95"),
        ("at (555) 123-4567 or", "(555) 123-4567"),
        ("office 555-123-4567x89 now", "555-123-4567x89"),
        ("or 001-518-640-0854", "001-518-640-0854"),
        ("mobile 07700 900 123", "07700 900 123"),  # UK trunk 0
        ("tél 03.93.92.16.85", "03.93.92.16.85"),  # French pairs
        ("Phone: 467 3395", "467 3395"),  # short local number, only next to a phone word
        ("Fax: 9498777106", "9498777106"),
    ],
)
def test_phone_positives(text, expected):
    assert found(text, "phone") == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "on 2021-03-04 and 2000-04-16 11:34:35",  # ISO dates and timestamps
        "dated 04.03.2021 or 12/10/2020",
        "SSN 460-89-9847",  # US SSN shape
        "population 12 345 678 in 2019",  # grouped number, no phone word
        "order 4111111111111112",
        "combinations: 012 013 023 123",
        "bytes: 00 00 08 00 00 00 00 02 00 00 00 00",  # hex dump
        "header: ff ff 00 30 da 03 46 28 08 06",
        "MAC 00-01-02-03-04-05",
        "int range -2147483648 to 2147483647",
        "version 1.2.3 and 10.5 11.25 12.75",
        "x = Decimal('+35236450.6') + 1.5",
        "a = +2147483647; b = +4294967296",  # integer limits (2**n, 2**n - 1)
        "test(1234., '012f', '01234.000000')",
        "by 03.05.16.0001.01 (dotted ids)",
    ],
)
def test_phone_traps(text):
    assert found(text, "phone") == []

def test_user_handles_are_opt_in():
    text = "thanks @alice_b and @bob! @param x; mail a@b.io"
    assert "user" not in DEFAULT_KINDS
    assert scrub(text)[0] == "thanks @alice_b and @bob! @param x; mail <EMAIL>"
    assert scrub(text, kinds=["user", "email"])[0] == "thanks <USER> and <USER>! @param x; mail <EMAIL>"

