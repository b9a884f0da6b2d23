"""PII detector for secrets (`curation.steps.pii.secrets`): Shannon entropy, API tokens, assigned
passwords and keys, private key blocks, and the identifiers, digests and code that are not secrets.

Run: `.venv/bin/python -m pytest tests/curation/steps/test_pii_secrets.py`
"""

import pytest

from curation.steps.pii import scrub, shannon_entropy
from tests.curation.steps.pii_cases import found


def test_entropy():
    assert shannon_entropy("aaaa") == 0
    assert shannon_entropy("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") > 4.3


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

