"""PII detectors for payment data (`curation.steps.pii.financial`): the Luhn, card IIN/length and IBAN
mod-97 validators, and payment cards and IBANs found in text (with timestamps and ids as traps).

Run: `.venv/bin/python -m pytest tests/curation/steps/test_pii_financial.py`
"""

from curation.steps.pii import card_ok, iban_ok, luhn_ok
from tests.curation.steps.pii_cases import found


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

