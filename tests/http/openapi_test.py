#!/usr/bin/env python3
"""The OpenAPI document against the real server (Python standard library only).

Starts `recsys serve` on a tiny database with titles, sends a request to every
route (lists with and without filters, fallback, similar, events accepted and
refused, model, health, readiness, metrics, the document itself, 4xx errors,
503 on a database without lists) and validates each real answer's status,
content type and body against docs/openapi.json with a small JSON-Schema
validator for the subset the document uses. Also checks that every route
src/http/router.cpp dispatches appears in the document, and that
GET /v1/openapi.json serves the file byte for byte.
"""
import csv
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import time

BIN = os.environ["RECSYS_BIN"]
ROOT = os.environ["RECSYS_SOURCE_ROOT"]
DOC_PATH = os.path.join(ROOT, "docs", "openapi.json")
with open(DOC_PATH, "rb") as f:
    DOC_BYTES = f.read()
DOC = json.loads(DOC_BYTES)
failures = []


# --- a JSON-Schema validator for the subset the document uses ---------------
def resolve(schema):
    while "$ref" in schema:
        ref = schema["$ref"]
        assert ref.startswith("#/"), ref
        node = DOC
        for part in ref[2:].split("/"):
            node = node[part]
        schema = node
    return schema


def type_ok(value, name):
    if name == "null":
        return value is None
    if name == "boolean":
        return isinstance(value, bool)
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if name == "string":
        return isinstance(value, str)
    if name == "array":
        return isinstance(value, list)
    if name == "object":
        return isinstance(value, dict)
    raise AssertionError("unknown type " + name)


def validate(value, schema, where="$"):
    """Returns a list of problems (empty when `value` conforms)."""
    schema = resolve(schema)
    problems = []
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(type_ok(value, t) for t in types):
            return [f"{where}: {json.dumps(value)[:80]} is not of type {types}"]
    if "const" in schema and value != schema["const"]:
        problems.append(f"{where}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} is not one of {schema['enum']}")
    if "minimum" in schema and isinstance(value, (int, float)) and value < schema["minimum"]:
        problems.append(f"{where}: {value} < minimum {schema['minimum']}")
    if "minItems" in schema and isinstance(value, list) and len(value) < schema["minItems"]:
        problems.append(f"{where}: fewer than {schema['minItems']} items")
    for key in ("oneOf", "anyOf"):
        if key in schema:
            matches = [s for s in schema[key] if not validate(value, s, where)]
            if (key == "oneOf" and len(matches) != 1) or (key == "anyOf" and not matches):
                problems.append(f"{where}: matches {len(matches)} of the {key} schemas")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                problems.append(f"{where}: required property {name!r} is missing")
        extra = schema.get("additionalProperties", True)
        for name, v in value.items():
            if name in props:
                problems += validate(v, props[name], f"{where}.{name}")
            elif extra is False:
                problems.append(f"{where}: property {name!r} is not in the schema")
            elif isinstance(extra, dict):
                problems += validate(v, extra, f"{where}.{name}")
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            problems += validate(v, schema["items"], f"{where}[{i}]")
    return problems


def self_test():
    """The validator itself must fail bad answers, or the checks below prove nothing."""
    rec = {"$ref": "#/components/schemas/Recommendations"}
    good = {"user": "u", "model": 1, "source": "model", "items": [{"item": "1", "score": 0.5, "title": "T"}]}
    assert not validate(good, rec), validate(good, rec)
    for bad in (
        dict(good, source="other"),
        dict(good, extra=1),
        {k: v for k, v in good.items() if k != "model"},
        dict(good, items=[{"item": 1, "score": 0.5}]),
        dict(good, items=[{"item": "1", "score": 0.5, "genres": "x", "nested": {"a": 1}}]),
        dict(good, model="1"),
    ):
        assert validate(bad, rec), f"the validator accepts {bad}"
    model = {"$ref": "#/components/schemas/Model"}
    als = {"generation": 1, "serving": True, "model": "ials", "factors": 8}
    ease = {"generation": 1, "serving": True, "model": "ease", "regularization": 300, "confidence": "binary",
            "items": 25}
    for good in (als, ease, {k: v for k, v in als.items() if k != "model"}):
        assert not validate(good, model), validate(good, model)
    for bad in ({k: v for k, v in als.items() if k != "factors"}, {k: v for k, v in ease.items() if k != "items"},
                dict(ease, model="als")):
        assert validate(bad, model), f"the validator accepts {bad}"
    err = {"$ref": "#/components/schemas/Error"}
    assert validate({"error": {"code": "nope", "message": "m"}}, err)
    assert validate({"error": {"code": "not_found"}}, err)


# --- matching answers to the document ---------------------------------------
def operation(path, method):
    for template, item in DOC["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in item:
            return template, item[method.lower()]
    return None, None


def check(method, target, status, body=None, headers=None, conn_port=None):
    conn = http.client.HTTPConnection("127.0.0.1", conn_port, timeout=60)
    conn.request(method, target, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    ctype = resp.getheader("Content-Type", "")
    allow = resp.getheader("Allow", "")
    conn.close()
    name = f"{method} {target} -> {resp.status}"
    if resp.status != status:
        failures.append(f"{name}: expected status {status}: {data[:200]!r}")
        return None
    path = target.split("?")[0]
    if status == 405:
        # A method the route does not take: the route is documented, its
        # operations list the 405, and the answer is an Error with Allow.
        item = next((v for t, v in DOC["paths"].items() if re.match("^" + re.sub(r"\{[^}]+\}", "[^/]+", t) + "$", path)), None)
        if not item or not all("405" in op["responses"] for op in item.values()) or method.lower() in item:
            failures.append(f"{name}: the 405 of {path} is not documented")
        if not allow:
            failures.append(f"{name}: no Allow header")
        method = next(iter(item)) if item else method
    template, op = operation(path, method)
    if not op:
        failures.append(f"{name}: no operation in the document")
        return None
    responses = op["responses"]
    spec = responses.get(str(status)) or responses.get("default")
    if not spec:
        failures.append(f"{name}: status {status} is not documented for {method} {template}")
        return None
    content = spec.get("content", {})
    if not content:  # documented without content (304): none may come
        if data or ctype:
            failures.append(f"{name}: content ({ctype!r}, {len(data)} bytes) on an answer documented without any")
        return data
    media = next((m for m in content if m.split(";")[0] == ctype.split(";")[0]), None)
    if media is None:
        failures.append(f"{name}: content type {ctype!r} not documented ({list(content)})")
        return None
    if not media.startswith("application/json"):
        if media.replace(" ", "") != ctype.replace(" ", ""):
            failures.append(f"{name}: content type {ctype!r}, documented {media!r}")
        return data
    value = json.loads(data)
    for p in validate(value, content[media]["schema"]):
        failures.append(f"{name}: {p}")
    return value


def routes_in_router():
    """Route paths and id actions that src/http/router.cpp dispatches."""
    with open(os.path.join(ROOT, "src", "http", "router.cpp"), encoding="utf-8") as f:
        src = f.read()
    paths = set(re.findall(r'path == "(/[^"]*)"', src))
    prefixes = set(re.findall(r'path\.substr\(0, \d+\) == "(/[^"]*)"', src)) - {"/v1/"}
    actions = set()
    for line in src.splitlines():
        if "action ==" in line:
            actions |= set(re.findall(r'"([a-z_]+)"', line))
    return paths, prefixes, actions


def check_routes_documented():
    paths, prefixes, actions = routes_in_router()
    assert paths and actions, "router.cpp no longer looks as this test expects"
    documented = set(DOC["paths"])
    for p in sorted(paths):
        if p not in documented and not any(d.startswith(p + "/") or d == p + "/" for d in documented):
            failures.append(f"route {p} is served but not in docs/openapi.json")
    for p in sorted(prefixes):
        if not any(d.startswith(p) for d in documented):
            failures.append(f"routes under {p} are served but not in docs/openapi.json")
    for a in sorted(actions):
        if not any(re.match(r"^/v1/(users|items)/\{[a-z]+\}/" + a + "$", d) for d in documented):
            failures.append(f"route /v1/users|items/{{id}}/{a} is served but not in docs/openapi.json")


# --- the server -------------------------------------------------------------
def run(*args):
    res = subprocess.run([BIN, *args], capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"recsys {' '.join(args)} failed: {res.stderr}")
    return res.stdout


def serve(db, work, extra=()):
    log = open(os.path.join(work, f"serve-{len(os.listdir(work))}.log"), "w+")
    proc = subprocess.Popen([BIN, "--db", db, "serve", "--port", "0", "--threads", "1", *extra], stderr=log)
    for _ in range(3000):
        log.seek(0)
        m = re.search(r"listening on [0-9.]+:(\d+)", log.read())
        if m:
            return proc, int(m.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    proc.kill()
    log.seek(0)
    raise SystemExit("the server did not start: " + log.read())


def main():
    self_test()
    check_routes_documented()
    with tempfile.TemporaryDirectory(prefix="recsys-openapi-") as work:
        db = os.path.join(work, "db")
        ratings = os.path.join(work, "r.csv")
        run("generate", "--users", "40", "--items", "25", "--ratings", "400", "--seed", "3", "-o", ratings)
        run("--db", db, "--log-level", "warn", "train", ratings, "--split", "none", "--factors", "4", "--iterations", "2")
        run("--db", db, "--log-level", "warn", "precompute", "--k", "5")
        with open(ratings, newline="") as f:
            rows = list(csv.reader(f))
        header = [h.lower() for h in rows[0]]
        col = next(i for i, h in enumerate(header) if "item" in h)
        ucol = next(i for i, h in enumerate(header) if "user" in h)
        items = sorted({r[col] for r in rows[1:]})
        users = sorted({r[ucol] for r in rows[1:]})
        genres = ["Comedy", "Drama|Horror", "Drama", "Comedy|Romance"]
        with open(os.path.join(work, "items.csv"), "w") as f:
            f.write("id,title,genres\n")
            for n, i in enumerate(items):
                f.write(f'{i},"Title {i}, the",{genres[n % len(genres)]}\n')
        run("--db", db, "items", os.path.join(work, "items.csv"))
        token = os.path.join(work, "token")
        with open(token, "w") as f:
            f.write("s3cret\n")
        proc, port = serve(db, work, ["--token-file", token])
        try:
            u, i = users[0], items[0]
            auth = {"Authorization": "Bearer s3cret", "Content-Type": "application/json"}
            body = check("GET", f"/v1/users/{u}/recommendations", 200, conn_port=port)
            if body and not all("title" in e for e in body["items"]):
                failures.append("recommendations without titles")
            check("GET", f"/v1/users/{u}/recommendations?k=3&genre=Comedy", 200, conn_port=port)
            check("GET", f"/v1/users/{u}/recommendations?exclude_genre=Horror&exclude={i}", 200, conn_port=port)
            fb = check("GET", "/v1/users/nobody/recommendations?k=2", 200, conn_port=port)
            if fb and fb["source"] != "fallback":
                failures.append("an unknown user did not get the fallback")
            check("GET", "/v1/users/nobody/recommendations?genres=Drama", 200, conn_port=port)
            check("GET", f"/v1/users/{u}/recommendations?k=0", 400, conn_port=port)
            check("GET", "/v1/users/%FF/recommendations", 400, conn_port=port)
            check("GET", f"/v1/users/{u}/recommendations?colour=red", 400, conn_port=port)
            check("GET", f"/v1/items/{i}/similar", 200, conn_port=port)
            check("GET", f"/v1/items/{i}/similar?k=2&exclude_genre=Comedy", 200, conn_port=port)
            check("GET", "/v1/items/no-such-item/similar", 404, conn_port=port)
            check("POST", f"/v1/items/{i}/similar", 405, conn_port=port)
            check("POST", "/v1/events", 200, json.dumps({"user": u, "item": i, "value": 4}), auth, port)
            check("POST", "/v1/events", 200, json.dumps([{"user": "new", "item": i, "value": 5}, {"user": "new", "item": "fresh", "value": 3}]),
                  auth, port)
            # An empty batch is answered, and its answer is a documented Accepted.
            check("POST", "/v1/events", 200, "[]", auth, port)
            check("POST", "/v1/events", 401, json.dumps({"user": u, "item": i}), {"Content-Type": "application/json"}, port)
            check("POST", "/v1/events", 400, "{not json", auth, port)
            check("POST", "/v1/events", 403, json.dumps({"user": u, "item": i, "value": 4}),
                  {**auth, "Origin": "http://elsewhere.example"}, port)
            check("POST", "/v1/events", 422, json.dumps({"user": u}), auth, port)
            check("GET", "/v1/events", 405, conn_port=port)
            hist = check("GET", f"/v1/users/{u}/history?limit=3", 200, conn_port=port)
            if hist and not all("title" in e for e in hist["ratings"]):
                failures.append("history without titles")
            check("GET", "/v1/users/nobody/history", 200, conn_port=port)
            check("GET", f"/v1/users/{u}/history?limit=0", 400, conn_port=port)
            check("GET", "/v1/live", 200, conn_port=port)
            check("POST", "/v1/live", 405, conn_port=port)
            for page in ("/ui/", "/ui/live", f"/ui/users/{u}", f"/ui/items/{i}", "/ui/app.js", "/ui/style.css",
                         "/ui/favicon.svg"):
                check("GET", page, 200, conn_port=port)
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                conn.request("GET", page)
                etag = conn.getresponse().getheader("ETag", "")
                conn.close()
                check("GET", page, 304, headers={"If-None-Match": etag}, conn_port=port)
            check("GET", "/ui/no-such-file.js", 404, conn_port=port)
            check("POST", "/ui/", 405, conn_port=port)
            check("GET", "/v1/model", 200, conn_port=port)
            check("GET", "/healthz", 200, conn_port=port)
            check("GET", "/readyz", 200, conn_port=port)
            check("GET", "/metrics", 200, conn_port=port)
            check("DELETE", "/metrics", 405, conn_port=port)
            served = check("GET", "/v1/openapi.json", 200, conn_port=port)
            if served != DOC:
                failures.append("GET /v1/openapi.json is not docs/openapi.json")
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request("GET", "/nope")
            resp = conn.getresponse()
            nope = json.loads(resp.read())
            if resp.status != 404 or validate(nope, {"$ref": "#/components/schemas/Error"}):
                failures.append(f"GET /nope: {resp.status} {nope}")
        finally:
            proc.terminate()
            proc.wait(timeout=60)
        # An EASE generation: /v1/model without the ALS-only members, still the document's Model.
        ease = os.path.join(work, "ease")
        run("--db", ease, "--log-level", "warn", "train", ratings, "--split", "none", "--model", "ease")
        run("--db", ease, "--log-level", "warn", "precompute", "--k", "5")
        proc, port = serve(ease, work)
        try:
            model = check("GET", "/v1/model", 200, conn_port=port)
            als_only = {"feedback", "solver", "factors", "iterations", "cg_steps", "loss"} & set(model or {})
            if not model or model.get("model") != "ease" or als_only:
                failures.append(f"GET /v1/model of an EASE generation: {model}")
        finally:
            proc.terminate()
            proc.wait(timeout=60)
        # A database with ratings but nothing precomputed: 503s.
        bare = os.path.join(work, "bare")
        run("--db", bare, "import", "-q", ratings)
        proc, port = serve(bare, work)
        try:
            check("GET", "/readyz", 503, conn_port=port)
            check("GET", f"/v1/users/{users[0]}/recommendations", 503, conn_port=port)
            check("GET", "/v1/model", 503, conn_port=port)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    if failures:
        print("\n".join(failures))
        return 1
    print("every answer matches docs/openapi.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
