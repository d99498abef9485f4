#!/bin/sh
# recsys quickstart: install what is missing, build, then import, train,
# precompute and serve a ratings file.
#
#   examples/quickstart.sh [RATINGS_FILE]
#
# Without a file it uses MovieLens 100k from GroupLens when the network allows,
# else synthetic ratings from `recsys generate`. The database goes to
# build/quickstart/recsys.db. On a terminal the server stays up until Ctrl-C;
# otherwise it answers one request and stops. PORT (default 8080) picks the port.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORT=${PORT:-8080}
cd "$ROOT"

"$ROOT/scripts/install-deps.sh"
[ -f build/build.ninja ] || meson setup build
ninja -C build

RECSYS="$ROOT/build/src/recsys"
WORK="$ROOT/build/quickstart"
mkdir -p "$WORK"
export RECSYS_DB="$WORK/recsys.db"

if [ $# -ge 1 ]; then
  RATINGS=$1
else
  RATINGS="$WORK/ml-100k/u.data"
  if [ ! -f "$RATINGS" ]; then
    echo "== downloading MovieLens 100k from GroupLens"
    if curl -fsSL --max-time 60 -o "$WORK/ml-100k.zip" https://files.grouplens.org/datasets/movielens/ml-100k.zip &&
       unzip -q -o "$WORK/ml-100k.zip" -d "$WORK"; then
      :
    else
      echo "== no network: generating synthetic ratings instead"
      RATINGS="$WORK/synthetic.csv"
      "$RECSYS" generate --users 2000 --items 1500 --ratings 200000 --seed 1 --output "$RATINGS"
    fi
  fi
fi

echo "== recsys train $RATINGS"
"$RECSYS" train --replace "$RATINGS"  # a second run replaces the first run's ratings
echo "== recsys precompute"
"$RECSYS" precompute
echo "== recsys info"
"$RECSYS" info

USER_ID=$("$RECSYS" recommend --all --json | head -n 1 | sed -n 's/^{"user":"\([^"]*\)".*/\1/p')
URL="http://127.0.0.1:$PORT/v1/users/$USER_ID/recommendations?k=5"

echo "== recsys serve --port $PORT"
"$RECSYS" serve --address 127.0.0.1 --port "$PORT" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT INT TERM
i=0
until curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; do
  i=$((i + 1))
  if [ $i -gt 100 ] || ! kill -0 $SERVER 2>/dev/null; then
    echo "the server did not come up on port $PORT (set PORT=... to use another)" >&2
    exit 1
  fi
  sleep 0.1
done
curl -fsS "$URL"
echo
echo
echo "recsys is serving. Try:"
echo "  curl '$URL'"
if [ -t 0 ] && [ -t 1 ]; then
  echo "(Ctrl-C to stop)"
  wait $SERVER
else
  echo "(not on a terminal: stopping the server; start it again with"
  echo "  RECSYS_DB=$RECSYS_DB $RECSYS serve --port $PORT)"
fi
