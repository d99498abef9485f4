#!/usr/bin/env python3
"""The dashboard in a real browser: Debian's chromium, headless, against a real
`recsys serve` on 127.0.0.1 over a small database the real binary trained,
precomputed and loaded titles into (docs/dashboard.md).

Checks that the pages render the numbers and titles the API answers (titles
with markup shown as text), that posting an event from the user page (with the
bearer token the page asks for) changes the list, that no page logs a console
error, an exception or a CSP violation, and that nothing overflows a phone's
width. Saves screenshots of each page at 1280x800 and 390x844 under
<build>/ui-screenshots/ for a person to look at.

Exit status 77 (skipped) when chromium is not installed:
scripts/install-deps.sh --ui installs it.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from devtools import LOCAL, Browser  # noqa: E402

SANITIZED = bool(os.environ.get("RECSYS_SANITIZED"))
TIMEOUT = 60.0 if SANITIZED else 15.0
TOKEN = "s3cret-token"
ODD_TITLE = "<b>Tom & Jerry</b>"
# A user id with markup, quotes, a slash, '%' and '+': it travels percent-encoded in
# /ui/users/{user} and in the API paths the page calls, and shows as text.
ODD_USER = '<script>document.title="x"</script> \'a/b\' & 50%+'
SIZES = [(1280, 800), (390, 844)]


# In the EASE database only: one user rated this item and nothing else, so it
# co-occurs with no other item, its row of B is 0 and its similar list is the fallback.
LONELY_ITEM = "21"


def ratings_tsv():
    """30 users in two taste groups over 20 items; everyone rated item 3."""
    lines = []
    for u in range(30):
        for i in range(1, 21):
            if i == 3 or ((u + i) % 2 == 0 and (u * 7 + i) % 3 != 0):
                lines.append(f"u{u}\t{i}\t{1 + (u * 3 + i) % 5}\t{1600000000 + u * 86400 + i * 3600}")
    return "\n".join(lines) + "\n"


def titles_csv():
    rows = ["id,title"]
    for i in range(1, 21):
        title = ODD_TITLE if i == 3 else f"Film number {i} (19{70 + i})"
        rows.append(f'{i},"{title}"')
    return "\n".join(rows) + "\n"


def run(args, cwd):
    r = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({r.returncode}): {r.stderr[-2000:]}")
    return r


class Server:
    def __init__(self, binary, db, cwd, token_file, log="serve.log"):
        self.err = open(os.path.join(cwd, log), "w+")
        self.process = subprocess.Popen([binary, "--db", db, "serve", "--port", "0", "--threads", "2",
                                         "--token-file", token_file], cwd=cwd, stdout=subprocess.DEVNULL,
                                        stderr=self.err)
        deadline = time.monotonic() + TIMEOUT
        while True:
            self.err.seek(0)
            m = re.search(r"listening on [0-9.]+:([0-9]+)", self.err.read())
            if m:
                self.port = int(m.group(1))
                return
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("recsys serve did not start")
            time.sleep(0.02)

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path):
        with LOCAL.open(self.url(path), timeout=TIMEOUT) as r:
            return json.load(r)

    def post_event(self, event, token):
        request = urllib.request.Request(self.url("/v1/events"), data=json.dumps(event).encode(), method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "Authorization": f"Bearer {token}"})
        with LOCAL.open(request, timeout=TIMEOUT) as r:
            return json.load(r)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.err.close()


class Checks:
    def __init__(self):
        self.assertions = 0

    def equal(self, actual, expected, what):
        self.assertions += 1
        if actual != expected:
            raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")

    def true(self, value, what):
        self.assertions += 1
        if not value:
            raise AssertionError(what)


def js(value):
    return json.dumps(value)


def texts(selector):
    return f"Array.from(document.querySelectorAll({js(selector)})).map(e => e.textContent.trim())"


def test_overview(b, s, c):
    model = s.get("/v1/model")
    b.navigate(s.url("/ui/"), "!!document.querySelector('#rating-values svg')", "the overview")
    c.equal(b.evaluate("document.querySelector('h1').textContent"), "Model generation 1", "heading")
    for key in ("precision_at_k", "recall_at_k", "ndcg_at_k", "map", "coverage"):
        c.equal(b.evaluate(f"document.getElementById('metric-{key}').textContent"),
                f"{model['metrics'][key]:.4f}", f"overview {key}")
    curve = model["curve"]
    points = sum(v is not None for v in curve["loss"]) + sum(v is not None for v in curve["ndcg"])
    c.equal(b.evaluate("document.querySelectorAll('#curve svg circle').length"), points, "curve points")
    c.equal(b.evaluate("document.querySelectorAll('#curve svg path').length"), 2, "curve lines")
    facts = b.evaluate(CARD_FACTS)
    c.equal(facts.get("family"), f"implicit ALS ({model['solver']}, confidence {model['confidence']})", "the family")
    c.equal(facts.get("factors"), str(model["factors"]), "factors")
    c.equal(facts.get("iterations"), str(model["iterations"]), "iterations")
    last = [v for v in curve["ndcg"] if v is not None][-1]
    c.true(f"{last:.4f}" in b.evaluate("document.getElementById('curve-summary').textContent"),
           "the curve summary names the last validation nDCG")
    for card, key in (("ratings-per-user", "ratings_per_user"), ("ratings-per-item", "ratings_per_item"),
                      ("rating-values", "rating_values")):
        c.equal(b.evaluate(f"document.querySelectorAll('#{card} rect').length"), len(model["data"][key]["counts"]),
                f"{card} bars")


CARD_FACTS = ("Object.fromEntries(Array.from(document.querySelectorAll('#model-card dt'))"
              ".map(d => [d.textContent, d.nextElementSibling.textContent]))")
ALS_ONLY_FACTS = ("factors", "iterations", "alpha", "loss / rating, last fit")


def check_ease_card(b, c, model, where):
    facts = b.evaluate(CARD_FACTS)
    c.equal(facts.get("family"), "EASE (item-item weights, closed form)", f"{where}: the family")
    c.equal(facts.get("λ (regularization)"), str(model["regularization"]), f"{where}: λ")
    c.equal(facts.get("input"), "binary (1 per rated item)", f"{where}: the input weighting")
    c.equal(facts.get("item weights"), f"{model['items']} × {model['items']}", f"{where}: the size of B")
    for name in ALS_ONLY_FACTS:
        c.true(name not in facts, f"{where}: no {name!r} for EASE: {facts}")
    c.true("ALS" not in b.evaluate("document.getElementById('model-card').textContent"), f"{where}: no ALS")
    c.true("closed form" in b.evaluate("document.getElementById('curve-summary').textContent"),
           f"{where}: the curve card says why there is no curve")


def test_ease_overview(b, s, c, out_dir):
    model = s.get("/v1/model")
    b.viewport(*SIZES[0])
    b.navigate(s.url("/ui/"), "!!document.querySelector('#rating-values svg')", "the EASE overview")
    check_ease_card(b, c, model, "EASE overview")
    c.equal(b.evaluate("document.getElementById('metric-ndcg_at_k').textContent"),
            f"{model['metrics']['ndcg_at_k']:.4f}", "EASE overview nDCG")
    b.screenshot(os.path.join(out_dir, "ease-overview-1280x800.png"))


def test_ease_report(b, s, c, report):
    b.viewport(*SIZES[0])
    b.navigate("file://" + report, "!!document.querySelector('#model-card dd')", "the EASE report file")
    check_ease_card(b, c, s.get("/v1/model"), "EASE report")


def test_ease_item_pages(b, s, c):
    similar = s.get("/v1/items/5/similar?k=20")
    c.equal(similar["source"], "model", "item 5's list comes from B")
    b.navigate(s.url("/ui/items/5"), "!!document.querySelector('#similar-table')", "an EASE item page")
    c.equal(b.evaluate("document.getElementById('similar-kind').textContent"),
            f"(EASE weights, model {similar['model']})", "EASE similar items are labelled as B's weights")
    lonely = s.get(f"/v1/items/{LONELY_ITEM}/similar?k=20")
    c.equal(lonely["source"], "fallback", "an item that co-occurs with none gets the fallback")
    b.navigate(s.url(f"/ui/items/{LONELY_ITEM}"), "!!document.querySelector('#similar-table')",
               "the item page of a fallback list")
    c.true(b.evaluate("document.getElementById('similar-kind').textContent").startswith("(most popular"),
           "a fallback list is labelled most popular")


def test_user_page(b, s, c):
    history = s.get("/v1/users/u0/history?limit=50")
    recs = s.get("/v1/users/u0/recommendations?k=10")
    b.navigate(s.url("/ui/users/u0"), "!!document.querySelector('#recs-table') && "
               "!!document.querySelector('#history-table') && !!document.querySelector('.similar a')",
               "the user page")
    c.equal(b.evaluate("Array.from(document.querySelectorAll('#recs-table tbody tr')).map(r => r.dataset.item)"),
            [e["item"] for e in recs["items"]], "recommended items in order")
    c.equal(b.evaluate(texts("#recs-table tbody td:nth-child(3)")), [f"{e['score']:.4f}" for e in recs["items"]],
            "scores")
    c.equal(b.evaluate(texts("#recs-table tbody td.id > .title")), [e["title"] for e in recs["items"]],
            "titles of the recommended items")
    c.equal(b.evaluate("document.querySelectorAll('#history-table tbody tr').length"), len(history["ratings"]),
            "history rows")
    # The title with markup is text: no <b> element, the characters as written.
    row = b.evaluate("document.querySelector('#history-table tr[data-item=\"3\"]').textContent")
    c.true(ODD_TITLE in row, f"history shows the title {ODD_TITLE!r} as text: {row!r}")
    c.equal(b.evaluate("document.querySelectorAll('main b').length"), 0, "no markup from data")
    titles = [e.get("title") for e in history["ratings"]]
    shown = b.evaluate(texts("#history-table tbody .title"))
    c.equal(shown, [t for t in titles if t], "history titles")


def test_post_event(b, s, c):
    before = s.get("/v1/users/u0/recommendations?k=10")["items"]
    top = before[0]["item"]
    b.navigate(s.url("/ui/users/u0"), "!!document.querySelector('#recs-table')", "the user page")
    shown = "document.getElementById('event-token').offsetParent !== null"
    c.true(not b.evaluate(shown), "no token field before the server asks for one")
    # Without the token the server answers 401 and the page asks for it.
    b.evaluate(f"document.getElementById('event-item').value = {js(top)};"
               "document.getElementById('event-value').value = '5';"
               "document.getElementById('event-submit').click(); true")
    b.wait_for(shown, "the token field")
    c.true("token" in b.evaluate("document.getElementById('event-status').textContent"), "the page asks for the token")
    b.evaluate(f"document.getElementById('event-token').value = {js(TOKEN)};"
               "document.getElementById('event-submit').click(); true")
    # Rated now, the item leaves the list (rated items are excluded), and heads the history.
    b.wait_for(f"document.getElementById('event-status').className === 'ok' && "
               f"!document.querySelector('#recs-table tr[data-item={js(top)}]') && "
               f"document.querySelector('#history-table tbody tr').dataset.item === {js(top)}",
               "the list to change after the event")
    after = [e["item"] for e in s.get("/v1/users/u0/recommendations?k=10")["items"]]
    c.true(top not in after, "the server's list changed too")
    c.equal(b.evaluate("Array.from(document.querySelectorAll('#recs-table tbody tr')).map(r => r.dataset.item)"),
            after, "the page shows the new list")
    c.true(b.evaluate("document.querySelectorAll('#recs-table tr.new').length") >= 1, "new entries are marked")


def test_odd_user_id(b, s, c):
    s.post_event({"user": ODD_USER, "item": "3", "value": 4}, TOKEN)
    b.navigate(s.url("/ui/users/" + urllib.parse.quote(ODD_USER, safe="")),
               "!!document.querySelector('#history-table') && !!document.querySelector('#recs-table')",
               "the page of a user id with markup")
    c.equal(b.evaluate("document.getElementById('user-id').textContent"), ODD_USER, "the id as written")
    c.equal(b.evaluate("document.querySelectorAll('script').length"), 3, "only the page's own scripts")
    c.equal(b.evaluate("document.title"), "recsys · user " + ODD_USER, "the id in the window title, as text")
    c.equal(b.evaluate("Array.from(document.querySelectorAll('#history-table tbody tr')).map(r => r.dataset.item)"),
            ["3"], "the history the API holds for that id")
    recs = s.get("/v1/users/" + urllib.parse.quote(ODD_USER, safe="") + "/recommendations?k=10")
    c.equal(b.evaluate("Array.from(document.querySelectorAll('#recs-table tbody tr')).map(r => r.dataset.item)"),
            [e["item"] for e in recs["items"]], "the recommendations the API holds for that id")


def test_item_page(b, s, c):
    similar = s.get("/v1/items/5/similar?k=20")
    b.navigate(s.url("/ui/items/5"), "!!document.querySelector('#similar-table')", "the item page")
    c.equal(b.evaluate("Array.from(document.querySelectorAll('#similar-table tbody tr')).map(r => r.dataset.item)"),
            [e["item"] for e in similar["items"]], "similar items in order")
    c.equal(b.evaluate(texts("#similar-table tbody .title")), [e["title"] for e in similar["items"]],
            "titles of the similar items")
    row = b.evaluate("document.querySelector('#similar-table tr[data-item=\"3\"]').textContent")
    c.true(ODD_TITLE in row, f"the similar list shows {ODD_TITLE!r} as text: {row!r}")
    c.equal(b.evaluate("document.getElementById('similar-kind').textContent"),
            f"(cosine on item factors, model {similar['model']})", "ALS similar items are labelled as cosines")


def test_live_page(b, s, c):
    b.navigate(s.url("/ui/live"), "!['–', '…'].includes(document.getElementById('live-rps').textContent)",
               "two refreshes of the live page")
    c.equal(b.evaluate("document.getElementById('live-generation').textContent"), "1", "generation")
    c.true(float(b.evaluate("document.getElementById('live-rps').textContent")) > 0, "requests per second")
    c.true(int(b.evaluate("document.getElementById('live-connections').textContent")) >= 1, "connections")


PAGES = [("overview", "/ui/", "!!document.querySelector('#rating-values svg')"),
         ("user", "/ui/users/u0", "!!document.querySelector('#recs-table') && !!document.querySelector('.similar a')"),
         ("item", "/ui/items/5", "!!document.querySelector('#similar-table')"),
         ("live", "/ui/live", "!['–', '…'].includes(document.getElementById('live-rps').textContent)")]


def test_report(b, s, c, report, out_dir):
    model = s.get("/v1/model")
    b.viewport(*SIZES[0])
    b.navigate("file://" + report, "!!document.querySelector('#rating-values svg')", "the report file")
    for key in ("precision_at_k", "ndcg_at_k", "map"):
        c.equal(b.evaluate(f"document.getElementById('metric-{key}').textContent"),
                f"{model['metrics'][key]:.4f}", f"report {key}")
    c.true(b.evaluate("document.querySelectorAll('#curve svg circle').length") > 0, "the report draws the curve")
    b.screenshot(os.path.join(out_dir, "report-1280x800.png"))


def test_layout_and_screenshots(b, s, c, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for width, height in SIZES:
        b.viewport(width, height)
        for name, path, ready in PAGES:
            b.navigate(s.url(path), ready, f"{name} at {width}x{height}")
            overflow = b.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            c.true(overflow <= 0, f"{name} at {width}x{height} is {overflow}px wider than the window")
            b.screenshot(os.path.join(out_dir, f"{name}-{width}x{height}.png"))


def main():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("No tests ran: chromium is not installed (scripts/install-deps.sh --ui installs it)")
        return 77
    binary = os.environ["RECSYS_BIN"]
    out_dir = os.path.join(os.environ.get("RECSYS_BUILD_ROOT", os.getcwd()), "ui-screenshots")
    with tempfile.TemporaryDirectory(prefix="recsys-ui-") as tmp:
        with open(os.path.join(tmp, "r.tsv"), "w") as f:
            f.write(ratings_tsv())
        with open(os.path.join(tmp, "titles.csv"), "w") as f:
            f.write(titles_csv())
        with open(os.path.join(tmp, "token"), "w") as f:
            f.write(TOKEN + "\n")
        db = os.path.join(tmp, "db")
        report = os.path.join(tmp, "report.html")
        run([binary, "--db", db, "--threads", "2", "train", "r.tsv", "--factors", "8", "--iterations", "6",
             "--k", "5", "--report", report], tmp)
        run([binary, "--db", db, "precompute", "--k", "20"], tmp)  # every other item is similar to each
        run([binary, "--db", db, "items", "titles.csv"], tmp)
        # The same ratings (and a lonely item) fitted by EASE, served beside it.
        with open(os.path.join(tmp, "ease.tsv"), "w") as f:
            f.write(ratings_tsv() + f"loner\t{LONELY_ITEM}\t4\t1700000000\n")
        ease_db = os.path.join(tmp, "ease-db")
        ease_report = os.path.join(tmp, "ease-report.html")
        run([binary, "--db", ease_db, "--threads", "2", "train", "ease.tsv", "--model", "ease", "--regularization",
             "10", "--k", "5", "--report", ease_report], tmp)
        run([binary, "--db", ease_db, "precompute", "--k", "20"], tmp)
        server = Server(binary, db, tmp, os.path.join(tmp, "token"))
        ease_server = None
        browser = None
        checks, passed, failed = Checks(), 0, 0
        try:
            ease_server = Server(binary, ease_db, tmp, os.path.join(tmp, "token"), "serve-ease.log")
            browser = Browser(chromium, TIMEOUT)
            cases = [("the overview shows the served model's metrics, training curve and data", test_overview),
                     ("the user page shows history with titles as text and scored recommendations", test_user_page),
                     ("the item page lists similar items", test_item_page),
                     ("a user id with markup, quotes, '/', '%' and '+' reaches the API and shows as text",
                      test_odd_user_id),
                     ("the live page shows the server's figures after two refreshes", test_live_page),
                     ("pages fit 1280x800 and 390x844 (screenshots saved)",
                      lambda b, s, c: test_layout_and_screenshots(b, s, c, out_dir)),
                     ("the report file renders the same overview offline",
                      lambda b, s, c: test_report(b, s, c, report, out_dir)),
                     ("posting an event from the user page asks for the token, then changes the list",
                      test_post_event),
                     ("the overview describes an EASE model by λ, input and items, without ALS's factors",
                      lambda b, s, c: test_ease_overview(b, ease_server, c, out_dir)),
                     ("an EASE report file shows the same EASE model card",
                      lambda b, s, c: test_ease_report(b, ease_server, c, ease_report)),
                     ("EASE similar items are labelled as EASE weights, a fallback list as most popular",
                      lambda b, s, c: test_ease_item_pages(b, ease_server, c))]
            for name, case in cases:
                try:
                    case(browser, server, checks)
                    passed += 1
                except Exception:
                    failed += 1
                    print(f"FAILED: {name}\n{traceback.format_exc()}")
            # The one expected error: the 401 that makes the user page ask for the token.
            problems = browser.problems(expected=[r"status of 401 \(Unauthorized\) http://127\.0\.0\.1:\d+/v1/events$"])
            checks.assertions += 1
            if problems:
                failed += 1
                print("FAILED: no console errors, exceptions or CSP violations\n  " + "\n  ".join(problems))
            else:
                passed += 1
        finally:
            if browser:
                browser.close()
            if ease_server:
                ease_server.stop()
            server.stop()
    print(f"screenshots in {out_dir}")
    if failed:
        print(f"test cases: {passed + failed} | {passed} passed | {failed} failed")
        return 1
    print(f"All tests passed ({checks.assertions} assertions in {passed} test cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
