"""Masking URLs and text: `mask_url` keeps the scheme, host, port and option names, and nothing secret."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertd.redact import MASK, mask_url, register, scrub, split_url

# Secrets have a capital letter, as tokens do; hosts, schemes and keys here have none: any capital
# letter left in the masked form would be a piece of a secret.
secret = st.text(alphabet="ABCDEFXYZ0123456789-_.~%@:", min_size=1, max_size=12).filter(
    lambda s: any(c.isupper() for c in s)
)
word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)


@given(
    scheme=st.sampled_from(["json", "https", "mailto", "slak"]),
    host=st.sampled_from(["127.0.0.1", "hooks.example.com", "[::1]", ""]),
    port=st.sampled_from(["", ":8080"]),
    userinfo=st.lists(secret, max_size=2),
    path=st.lists(secret, max_size=4),
    query=st.lists(st.tuples(st.sampled_from(["", "+", "-", ":"]), word, secret), max_size=3),
    fragment=st.none() | secret,
)
def test_nothing_secret_survives_masking(
    scheme: str,
    host: str,
    port: str,
    userinfo: list[str],
    path: list[str],
    query: list[tuple[str, str, str]],
    fragment: str | None,
) -> None:
    auth = ":".join(s.replace("@", "") for s in userinfo) + "@" if userinfo else ""
    tail = "".join("/" + s.replace("/", "") for s in path)
    tail += "?" + "&".join(f"{p}{k}={v.replace('&', '')}" for p, k, v in query) if query else ""
    tail += f"#{fragment}" if fragment is not None else ""
    url = f"{scheme}://{auth}{host}{port}{tail}"
    texts = [f"failed: {url}", *([f"post {tail} http/1.1"] if tail.startswith("/") else [])]  # as urllib3 says it
    for masked in (mask_url(url), mask_url(url, keep_host=False), *map(scrub, texts)):
        assert not any(c.isupper() for c in masked.replace(MASK, "")), (url, masked)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("json://u:p@127.0.0.1:8080/a/b/?x=1&flag#frag", "json://***:***@127.0.0.1:8080/***/***/?x=***&***#***"),
        ("mailto://[::1]:25?to=a@b.c", "mailto://[::1]:25?to=***"),
        ("console://", "console://"),
        ("tgram://123:TOKEN/-100", "tgram://***/***"),  # "123:TOKEN" is no host and port
        ("no scheme here", MASK),
        ("", ""),
    ],
)
def test_mask_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_harmless_values_are_shown_when_the_caller_says_so() -> None:
    assert mask_url("json://h/?cto=2&format=text&key=2", shown={("cto", "2"), ("format", "text")}) == (
        "json://h/?cto=2&format=text&key=***"
    )


def test_a_urls_secrets_are_its_password_and_what_does_not_read_as_a_word() -> None:
    parts = split_url("https://user:pw@hc-ping.com/ping/Uu1d%20x?rid=R1D-2&create=yes")
    assert parts is not None
    assert parts.secrets() == {"pw", "Uu1d%20x", "Uu1d x", "R1D-2"}
    assert parts.secrets(options={"rid"}) == {"pw", "Uu1d%20x", "Uu1d x"}


def test_registered_secrets_are_masked_as_written_and_encoded() -> None:
    register("Canary Redact/42")
    assert scrub("got Canary Redact/42 and Canary%20Redact%2F42") == "got *** and ***"


def test_apprises_own_masks_go_too() -> None:
    # Apprise keeps a first and a last character ("T...2"), in URLs and in its sentences.
    said = "Failed to send GoAlert notification to k...y: error=500. Loaded slack://T...2/B...D/"
    assert scrub(said) == "Failed to send GoAlert notification to ***: error=500. Loaded slack://***/***/"
