#!/usr/bin/env python3
"""examples/quickstart.sh for real, twice, as a user runs it in the source tree.

The first run trains on a file with users a, b and c, the second on one with
users x and y. Both must exit 0; the second must say it removed the previous
database, and afterwards build/quickstart/recsys.db holds only x and y (a
database kept from the first run would mix the two files' ids). Standard input
is not a terminal, so each run answers one request and stops its server.

The script builds src/recsys in the source tree's build/ (scripts/install-deps.sh
first, which does nothing when everything is installed). Exit status 77
(skipped) when that build directory does not exist, when the suite runs from
another build directory (its binary is not the one the script uses), or under
RECSYS_SANITIZED (the sanitizer builds live in other directories).
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile

ROOT = os.environ["RECSYS_SOURCE_ROOT"]
SCRIPT = os.path.join(ROOT, "examples", "quickstart.sh")
SCRIPT_BIN = os.path.join(ROOT, "build", "src", "recsys")
DB = os.path.join(ROOT, "build", "quickstart", "recsys.db")
RUN_TIMEOUT = 180  # seconds per run: a no-op ninja, a tiny train, one request

FIRST = "user,item,rating\n" + "".join(
    f"{u},{i},{r}\n" for u, items in {"a": "1234", "b": "2345", "c": "1356"}.items()
    for i, r in zip(items, "5342"))
SECOND = "user,item,rating\n" + "".join(
    f"{u},{i},{r}\n" for u, items in {"x": "6789", "y": "5678"}.items()
    for i, r in zip(items, "4253"))


def skip_reason():
    if os.environ.get("RECSYS_SANITIZED"):
        return "a sanitizer build (the quickstart builds and uses build/)"
    if not os.path.exists(os.path.join(ROOT, "build", "build.ninja")):
        return "the source tree has no build/build.ninja"
    bin_under_test = os.environ.get("RECSYS_BIN", "")
    if not (os.path.exists(SCRIPT_BIN) and os.path.samefile(bin_under_test, SCRIPT_BIN)):
        return "the suite runs from another build directory than build/"
    return None


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run_quickstart(ratings):
    """Runs the script in its own process group and kills that whole group
    afterwards, whatever happened: the server it starts in the background
    cannot outlive the test (a timeout, a failed check, SIGTERM from meson)."""
    port = free_port()
    env = dict(os.environ, PORT=str(port))
    env.pop("RECSYS_DB", None)
    proc = subprocess.Popen(["sh", SCRIPT, ratings], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        kill_group(proc.pid)
        out, _ = proc.communicate()
        out += f"\n(killed after {RUN_TIMEOUT} s)"
    finally:
        kill_group(proc.pid)
    return proc.returncode, out, port


def stored_users():
    out = subprocess.run([SCRIPT_BIN, "--db", DB, "recommend", "--all", "--json"], check=True,
                         capture_output=True, text=True, timeout=60).stdout
    return sorted(json.loads(line)["user"] for line in out.splitlines() if line.strip())


def main():
    reason = skip_reason()
    if reason:
        print(f"No tests ran: {reason}")
        return 77
    # meson stops a test with SIGTERM: unwind so the finally blocks kill the script's group.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    failures = []
    with tempfile.TemporaryDirectory(prefix="recsys-quickstart-") as tmp:
        first, second = os.path.join(tmp, "first.csv"), os.path.join(tmp, "second.csv")
        with open(first, "w") as f:
            f.write(FIRST)
        with open(second, "w") as f:
            f.write(SECOND)
        for name, ratings, users in (("first", first, ["a", "b", "c"]), ("second", second, ["x", "y"])):
            status, out, port = run_quickstart(ratings)
            print(f"== {name} run (port {port}), exit {status}\n{out}")
            if status != 0:
                failures.append(f"the {name} run exited {status}")
                break
            if '"items":[' not in out:
                failures.append(f"the {name} run printed no recommendations")
            if listening(port):
                failures.append(f"a server still listens on port {port} after the {name} run")
            if name == "second" and "removing the previous quickstart database" not in out:
                failures.append("the second run did not say it removed the previous database")
            stored = stored_users()
            if stored != users:
                failures.append(f"after the {name} run the database holds users {stored}, expected {users}")
    if failures:
        print("\n".join(failures))
        return 1
    print("the quickstart ran twice and kept only the second file's users")
    return 0


if __name__ == "__main__":
    sys.exit(main())
