#!/usr/bin/env python3
"""Authorization codes for scripts/bench.sh.

  codes.py login AUTHZ_URL CLIENT_ID REDIRECT_URI USERNAME PASSWORD JAR
      Signs in once through the provider's login form (any provider whose pages are
      plain HTML forms: ours, and node-oidc-provider's development interactions),
      saves the cookies to JAR (JSON) and prints the code of that first authorization.

  codes.py mint AUTHZ_URL CLIENT_ID REDIRECT_URI JAR COUNT OUT [MAX_SECONDS]
      With the session cookies of JAR, asks AUTHZ_URL for COUNT codes (single sign-on:
      every request answers with a redirect carrying a new code at once) over one
      keep-alive connection, stopping early after MAX_SECONDS, and writes them to OUT,
      one per line. Prints "<count> <seconds>" on stdout.

All codes use the same PKCE verifier (VERIFIER below, S256), so the token request
only differs in `code`. Standard library only.
"""

import base64
import hashlib
import html
import http.client
import json
import re
import sys
import time
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

VERIFIER = "bench-pkce-verifier-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
SCOPE = "openid profile email"


class Browser:
    """One keep-alive connection to one origin, with a naive cookie jar (by name)."""

    def __init__(self, origin, cookies=None):
        parts = urlsplit(origin)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.host, self.port = parts.hostname, parts.port or 80
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        self.cookies = dict(cookies or {})

    def request(self, method, url, body=None):
        parts = urlsplit(urljoin(self.origin + "/", url))
        if f"{parts.scheme}://{parts.netloc}" != self.origin:
            raise RuntimeError(f"refusing to leave {self.origin}: {url}")
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {"Connection": "keep-alive"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            body = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            try:
                self.conn.request(method, target, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                if attempt == 2:
                    raise
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        for header in response.headers.get_all("Set-Cookie") or []:
            self._store(header)
        return response.status, response.headers.get("Location"), data.decode("utf-8", "replace")

    def _store(self, header):
        pair, *attrs = [p.strip() for p in header.split(";")]
        name, _, value = pair.partition("=")
        expired = any(
            a.lower() == "max-age=0" or (a.lower().startswith("expires=") and "1970" in a) for a in attrs
        )
        if expired or value == "":
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value


def authorize_target(authz_url, client_id, redirect_uri):
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPE,
            "state": "bench",
            "code_challenge": CHALLENGE,
            "code_challenge_method": "S256",
        }
    )
    return f"{authz_url}?{query}"


def code_of(location, redirect_uri):
    """The code of an authorization response, or None if `location` is not one."""
    if not location or not location.startswith(redirect_uri):
        return None
    query = parse_qs(urlsplit(location).query)
    if "error" in query:
        raise RuntimeError(f"authorization error: {location}")
    return query["code"][0]


INPUT = re.compile(r"<input\b([^>]*)>", re.I)
ATTR = re.compile(r'(\w[\w-]*)\s*=\s*"([^"]*)"')
FORM = re.compile(r"<form\b([^>]*)>", re.I)


def fill_form(page, username, password):
    """The action and fields of the page's first form: hidden inputs kept, the
    username/login and password fields filled in."""
    form = FORM.search(page)
    if not form:
        raise RuntimeError("expected a login or consent form, got:\n" + page[:2000])
    action = html.unescape(dict(ATTR.findall(form.group(1))).get("action", ""))
    fields = {}
    for match in INPUT.finditer(page[form.end():]):
        attrs = {k.lower(): html.unescape(v) for k, v in ATTR.findall(match.group(1))}
        name = attrs.get("name")
        if not name:
            continue
        if attrs.get("type", "text").lower() == "hidden":
            fields[name] = attrs.get("value", "")
        elif name in ("username", "login"):
            fields[name] = username
        elif name == "password":
            fields[name] = password
    return action, fields


def login(authz_url, client_id, redirect_uri, username, password, jar):
    browser = Browser(authz_url)
    method, url, body = "GET", authorize_target(authz_url, client_id, redirect_uri), None
    for _ in range(12):
        status, location, page = browser.request(method, url, body)
        code = code_of(location, redirect_uri)
        if code:
            with open(jar, "w", encoding="utf-8") as f:
                json.dump(browser.cookies, f)
            print(code)
            return
        if status in (301, 302, 303, 307) and location:
            method, url, body = "GET", location, None
        elif status == 200:
            action, fields = fill_form(page, username, password)
            method, url, body = "POST", urljoin(url, action), fields
        else:
            raise RuntimeError(f"unexpected {status} from {url}:\n{page[:2000]}")
    raise RuntimeError("no code after 12 steps")


def mint(authz_url, client_id, redirect_uri, jar, count, out, max_seconds):
    with open(jar, encoding="utf-8") as f:
        browser = Browser(authz_url, json.load(f))
    target = authorize_target(authz_url, client_id, redirect_uri)
    codes = []
    start = time.monotonic()
    deadline = start + max_seconds
    while len(codes) < count and time.monotonic() < deadline:
        status, location, page = browser.request("GET", target)
        code = code_of(location, redirect_uri)
        if not code:
            raise RuntimeError(f"no code (status {status}, location {location}): the session is gone?\n{page[:500]}")
        codes.append(code)
    elapsed = time.monotonic() - start
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(codes) + "\n")
    print(len(codes), f"{elapsed:.2f}")


def main(argv):
    if len(argv) >= 2 and argv[1] == "login" and len(argv) == 8:
        login(*argv[2:8])
    elif len(argv) >= 2 and argv[1] == "mint" and len(argv) in (8, 9):
        max_seconds = float(argv[8]) if len(argv) == 9 else 1e9
        mint(argv[2], argv[3], argv[4], argv[5], int(argv[6]), argv[7], max_seconds)
    elif len(argv) == 2 and argv[1] == "verifier":
        print(VERIFIER)
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
