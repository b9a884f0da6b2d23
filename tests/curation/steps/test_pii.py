"""The `pii` op: known answers per kind (positives and false-positive traps), the Luhn / mod-97 / IIN
validators, tag vs mask, toggling kinds, `pii.<kind>` metadata and ledger counts, the datatrove step
on documents, and a large document that stays fast (linear regexes).

Run: `.venv/bin/python -m pytest tests/curation/steps/test_pii.py`
"""

import time

import pytest
from datatrove.data import Document
from pydantic import ValidationError

from curation.registry import StepContext, get_op
from curation.steps.pii import (
    DEFAULT_KINDS,
    KINDS,
    IpPolicy,
    PIIScrubber,
    card_ok,
    find_pii,
    iban_ok,
    luhn_ok,
    scrub,
    shannon_entropy,
)


def found(text, kind):
    """The substrings of `text` detected as `kind` (all kinds enabled, so overlaps resolve as in use;
    every IP address, so the detector is tested on its own, apart from the non-public default)."""
    return [text[s.start : s.end] for s in find_pii(text, KINDS, IpPolicy(public_only=False)) if s.kind == kind]


# --- validators ----------------------------------------------------------------------------------


def test_luhn():
    assert luhn_ok("4111111111111111") and luhn_ok("79927398713")
    assert not luhn_ok("4111111111111112") and not luhn_ok("79927398710")
    assert not luhn_ok("4111-1111") and not luhn_ok("")  # non-digits are never valid
    assert not luhn_ok("²²")  # unicode digits are not card digits


def test_card_iin_and_length():
    assert card_ok("4111111111111111")  # Visa 16
    assert card_ok("378282246310005")  # Amex 15
    assert card_ok("5555555555554444")  # Mastercard
    assert card_ok("2221000000000009")  # Mastercard 2-series
    assert card_ok("6011111111111117")  # Discover
    assert card_ok("3530111333300000")  # JCB
    assert card_ok("30569309025904")  # Diners 14
    assert not card_ok("1700000000008")  # Luhn-valid 13-digit ms timestamp: no issuer starts with 1
    assert not card_ok("378282246310005" + "0")  # Amex prefix, wrong length
    assert not card_ok("0000000000000000")  # one repeated digit
    assert not card_ok("501864667909")  # 12-digit Maestro only next to a card word
    assert card_ok("501864667909", card_context=True)


def test_iban_mod97():
    assert iban_ok("GB82WEST12345698765432")
    assert iban_ok("DE89 3704 0044 0532 0130 00")
    assert iban_ok("gb82west12345698765432")
    assert not iban_ok("GB82WEST12345698765433")  # checksum
    assert not iban_ok("GB82WEST1234569876543")  # GB is 22 long
    assert not iban_ok("ZZ82WEST12345698765432")  # no such country


def test_entropy():
    assert shannon_entropy("aaaa") == 0
    assert shannon_entropy("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") > 4.3


# --- known answers per kind ----------------------------------------------------------------------


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


def test_credit_cards():
    text = (
        "Visa 4111 1111 1111 1111, amex 3782-822463-10005, plain 5555555555554444. "
        "Not: ms timestamp 1700000000008, order 4111111111111112, 4111 11111 1111111, id 12345678901234."
    )
    assert found(text, "credit_card") == ["4111 1111 1111 1111", "3782-822463-10005", "5555555555554444"]
    assert found("card number 501864667909 lost", "credit_card") == ["501864667909"]  # Maestro, in context
    assert found("ticket 501864667909 closed", "credit_card") == []
    # bare digit runs (seeds, tweet ids) need a card word; printed groups do not
    assert found("rng = np.random.default_rng(2435908729190400)", "credit_card") == []
    assert found("paid with 4111111111111111 ok", "credit_card") == []
    assert found("paid by visa 4111111111111111 ok", "credit_card") == ["4111111111111111"]


def test_iban():
    text = "Pay DE89 3704 0044 0532 0130 00 or GB82WEST12345698765432; not GB82WEST12345698765433."
    assert found(text, "iban") == ["DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432"]


SECRETS = {
    "aws id": ("aws_access_key_id = AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    "aws secret": ("aws_secret_access_key = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'",
                   "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    "github": ("token ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789 used", "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"),
    "slack": ("SLACK=xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
              "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"),
    "stripe": ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    "jwt": ("Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"),
    "password": ("db_password = 'hunter2'", "hunter2"),
    "json api key": ('{"api_key": "Zx81Kq02LmPq77RsTu4vWx9y"}', "Zx81Kq02LmPq77RsTu4vWx9y"),
    "yaml secret": ("client_secret: 9f8e7d6c5b4a39281706f5e4d3c2b1a0", "9f8e7d6c5b4a39281706f5e4d3c2b1a0"),
    "url password": ("https://admin:S3cr3tPass@db.example.com/x", "S3cr3tPass"),
}  # fmt: skip


@pytest.mark.parametrize("name", SECRETS)
def test_secret_positives(name):
    text, secret = SECRETS[name]
    assert found(text, "secret") == [secret]


def test_private_key_block():
    key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7bq\nZm9vYmFy\n-----END RSA PRIVATE KEY-----"
    text, counts = scrub(f"key:\n{key}\ndone")
    assert text == "key:\n<SECRET>\ndone" and counts["secret"] == 1
    truncated = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n\nafter"
    assert scrub(truncated)[0] == "<SECRET>\nafter"


@pytest.mark.parametrize(
    "text",
    [
        "commit 8b1118b376c313ed420e5133ba91307817ed52c2 fixes it",  # git SHA
        "sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "uuid_should_be_ignored: '203db13e-70c7-462b-9a3d-bf32640cb0be'",
        "foreign_key_id = vh987tyw9ehy8ghis7vwyhiwbwitefy7w3ASDGYDGUASDG",  # an id
        "PublicKey=RDf+LSpeEre7YEIKaxg+wbpsNV7du+ktR99uBEtIiCA=",
        "password: required",  # prose, no digit or symbol
        "secret = 'notHighEnoughEntropy'",
        "SECRET_KEY = settings.SECRET_KEY",  # a reference
        "token = os.environ['TOKEN']",
        "password_maps = hash:/etc/postfix/sasl_passwd",
        "pass :c:expr:`PyObject *` here",
        "api_key: ${API_KEY}",
        "def read(self, name, pwd=None):",  # code: arguments, comparisons, identifiers, test vectors
        "ctx.load_cert_chain(CERTFILE, password=KEY_PASSWORD)",
        "if hashed_pass == valid_hashed_pass1:",
        "PKCS8_PRIV_KEY_INFO = pkcs8_priv_key_info_st",
        'eq(base64.decodebytes(b"YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXpBQkNE"))',
        '"AWS::ApiGateway::ApiKey": "48205d4ffd7feba3",',  # 16 hex: an id, not a token
        '"initial": {"key_sha256": "bb1636883c2707b51c5b7fc26c6927af4430f2e0"}',  # a digest
        'tokenizer_class = "DebertaV2Converter"',  # identifiers made of words
        "oauth2_client_cls = StreamlitStarletteOAuth2App",
        "password: _PasswordType = None",
        'The file starts with "-----BEGIN RSA PRIVATE KEY-----" and ends with the END line.',
        "AKIANOTREAL and pk_live_123456789012345",  # too short; Stripe publishable keys are public
    ],
)
def test_secret_traps(text):
    assert found(text, "secret") == []


def test_user_handles_are_opt_in():
    text = "thanks @alice_b and @bob! @param x; mail a@b.io"
    assert "user" not in DEFAULT_KINDS
    assert scrub(text)[0] == "thanks @alice_b and @bob! @param x; mail <EMAIL>"
    assert scrub(text, kinds=["user", "email"])[0] == "thanks <USER> and <USER>! @param x; mail <EMAIL>"


# --- replacement, toggling, counts ---------------------------------------------------------------

TEXT = (
    "Mail a@b.io from 81.2.69.160, card 4111 1111 1111 1111, call +1 415 555 0100, token=Ab3dEf5hIj7lMn9pQr1t"
)


def test_tag_replacement_and_counts():
    out, counts = scrub(TEXT)
    assert out == "Mail <EMAIL> from <IP_ADDRESS>, card <CREDIT_CARD>, call <PHONE>, token=<SECRET>"
    assert counts == {"email": 1, "ip_address": 1, "phone": 1, "credit_card": 1, "iban": 0, "secret": 1}


def test_mask_keeps_length_offsets_and_whitespace():
    out, _ = scrub(TEXT, replace="mask")
    assert len(out) == len(TEXT)
    assert "a@b.io" not in out and "*** **** ****" in out  # the phone's spaces survive
    spans = find_pii(TEXT)
    assert all(set(out[s.start : s.end]) <= {"*", " "} for s in spans)
    assert out[: spans[0].start] == TEXT[: spans[0].start]


def test_toggling_kinds():
    out, counts = scrub(TEXT, kinds=["email"])
    assert counts == {"email": 1}
    assert out == TEXT.replace("a@b.io", "<EMAIL>")
    assert scrub(TEXT, kinds=[])[0] == TEXT
    with pytest.raises(ValueError, match="unknown PII kind"):
        scrub(TEXT, kinds=["ssn"])
    with pytest.raises(ValueError, match="replace"):
        scrub(TEXT, replace="drop")


def test_overlap_priority():
    # A Luhn-valid card is not also a phone; a URL password is a secret, the rest is not an email.
    assert find_pii("call 4111 1111 1111 1111")[0].kind == "credit_card"
    assert [s.kind for s in find_pii("https://u:Pa55word1@example.com")] == ["secret"]


# --- the op and the datatrove step ---------------------------------------------------------------


def test_op_params_and_builder(tmp_path):
    op = get_op("pii")
    params = op.params()
    assert params.kinds == list(DEFAULT_KINDS) and params.replace == "tag"
    with pytest.raises(ValidationError):
        op.params(kinds=["email", "ssn"])
    with pytest.raises(ValidationError):
        op.params(kinds=["email", "email"])
    with pytest.raises(ValidationError):
        op.params(replace="blank")
    with pytest.raises(ValidationError):
        op.params(mask=True)  # unknown key
    step = op.build(
        op.params(kinds=["email", "phone"], replace="mask"), StepContext(run_dir=tmp_path, step_id="pii")
    )
    assert isinstance(step, PIIScrubber) and step.kinds == ("email", "phone") and step.replace == "mask"


def test_step_on_documents():
    docs = [
        Document(text=TEXT, id="0"),
        Document(text="nothing to see, version 1.2.3.4", id="1"),
        Document(text="two mails: x@y.io z@w.org", id="2"),
    ]
    step = PIIScrubber()
    out = list(step.run(iter(docs)))
    assert [d.id for d in out] == ["0", "1", "2"]  # a transform never drops a document
    assert out[0].text.startswith("Mail <EMAIL> from <IP_ADDRESS>")
    assert out[1].text == "nothing to see, version 1.2.3.4"
    assert out[2].metadata["pii.email"] == 2
    assert {k: v for k, v in out[1].metadata.items() if k.startswith("pii.")} == dict.fromkeys(
        (f"pii.{k}" for k in DEFAULT_KINDS), 0
    )
    stats = step.stats.stats
    assert stats["total"].total == 3 and stats["forwarded"].total == 3
    assert stats["ledger:pii:email"].total == 3 and stats["ledger:pii:secret"].total == 1
    assert "ledger:pii:iban" not in stats  # zero counts are not written to the ledger


# --- bounded work --------------------------------------------------------------------------------


def test_large_document_stays_fast():
    """~1.3 MB of mixed text with PII every line, plus pathological runs, well under a few seconds."""
    line = "Mail a@b.io, ip 81.2.69.160 v 1.2.3.4, call +1 415 555 0100 on 2021-03-04, sha 8b1118b376c3. "
    text = line * 8_000 + "a:" * 50_000 + "1." * 50_000 + "key=" * 25_000 + "@" * 50_000 + "9 " * 50_000
    start = time.perf_counter()
    out, counts = scrub(text)
    seconds = time.perf_counter() - start
    assert counts["email"] == counts["ip_address"] == counts["phone"] == 8_000
    assert "8b1118b376c3" in out and "1.2.3.4" in out
    assert seconds < 20, f"{len(text) / 1e6:.1f} MB took {seconds:.1f}s"  # ~2 s here; loose for a busy CI


def test_recipe_run_writes_summary_and_metadata(run_recipe, tmp_path):
    """`pii` in a recipe: scrubbed output, `pii.<kind>` metadata, summary.json `pii` counts, nothing lost."""
    import json

    from tests.conftest import read_output

    src = tmp_path / "in.jsonl"
    rows = [{"id": "a", "text": TEXT}, {"id": "b", "text": "no pii, see section 1.2.3.4"}]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, run_dir, summary = run_recipe(
        {"name": "t", "input": {"format": "jsonl", "path": str(src)}, "steps": [{"pii": {"replace": "tag"}}]}
    )
    assert code == 0
    out = {d["id"]: d for d in read_output(run_dir)}
    assert out["a"]["text"].startswith("Mail <EMAIL> from <IP_ADDRESS>")
    assert out["a"]["metadata"]["pii.secret"] == 1 and out["b"]["metadata"]["pii.email"] == 0
    assert summary["pii"] == {"email": 1, "ip_address": 1, "phone": 1, "credit_card": 1, "secret": 1}
    assert summary["invariant"]["ok"] and summary["steps"][0]["removed"] == 0


def test_chat_turns_in_metadata_are_scrubbed_too():
    from datatrove.data import Document

    from curation.steps.pii import PIIScrubber

    msgs = [{"role": "user", "content": "Mail me at jane.doe@example.org"}, {"role": "assistant", "content": "Sure."}]
    doc = Document(text="user: Mail me at jane.doe@example.org\nassistant: Sure.", id="c1", metadata={"messages": msgs})
    out = next(iter(PIIScrubber(kinds=["email"], replace="tag").run(iter([doc]))))
    assert out.metadata["messages"][0]["content"] == "Mail me at <EMAIL>"
    assert "<EMAIL>" in out.text and out.metadata["pii.email"] == 1


# --- IP policy: non-public addresses stay; an allow-list keeps more ----------------------------------

NON_PUBLIC = ["127.0.0.1", "10.1.2.3", "172.16.5.4", "192.168.1.254", "169.254.10.20", "100.64.1.2",
              "192.0.2.55", "198.51.100.7", "203.0.113.9", "224.0.0.251", "255.255.255.255", "0:0:0:0:0:0:0:1",
              "fe80::1ff:fe23:4567:890a", "fd12:3456:789a::1", "2001:db8::8a2e:370:7334", "::ffff:10.0.0.1"]
PUBLIC = ["81.2.69.160", "151.101.1.69", "2a00:1450:4001:82a::200e", "::ffff:81.2.69.160"]


@pytest.mark.parametrize("address", NON_PUBLIC)
def test_non_public_addresses_are_left_alone_by_default(address):
    text = f"listen on {address} now"
    assert scrub(text)[0] == text
    assert found(text, "ip_address") == [address]  # the detector sees it; the policy keeps it


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_scrubbed(address):
    assert scrub(f"client {address} connected")[0] == "client <IP_ADDRESS> connected"


def test_ip_allow_list_and_public_only_off():
    text = "from 81.2.69.160 and 151.101.1.69 via 127.0.0.1"
    allow = IpPolicy.make(allow=["81.2.69.0/24"])
    assert scrub(text, ip_policy=allow)[0] == "from 81.2.69.160 and <IP_ADDRESS> via 127.0.0.1"
    every = IpPolicy.make(public_only=False)
    assert scrub(text, ip_policy=every)[0] == "from <IP_ADDRESS> and <IP_ADDRESS> via <IP_ADDRESS>"
    op = get_op("pii")
    step = op.build(op.params(only_public_ips=False, allow_ips=["151.101.0.0/16"]), StepContext(run_dir=None, step_id="pii"))
    assert step.transform(Document(text=text, id="d")).text == "from <IP_ADDRESS> and 151.101.1.69 via <IP_ADDRESS>"
    with pytest.raises(ValidationError, match="not an IP address or network"):
        op.params(allow_ips=["localhost"])
