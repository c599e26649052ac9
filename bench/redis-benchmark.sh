#!/usr/bin/env bash
# redis-benchmark against segd: starts bin/segd in memory on a free loopback
# port, loads the synthetic population with segd-bench, then runs Redis's own
# redis-benchmark (50 clients pipelining 16, like segd-bench's wire settings)
# for PING and segd's command classes, saved segments included (the 200
# segments of the segment benchmarks, s000 … s199). segd is stopped however
# the script ends.
#
#   ENTITIES=1000000 bench/redis-benchmark.sh     # or: make bench-redis-benchmark
#
# Environment: ENTITIES (100000), CLIENTS (50), PIPELINE (16), REQUESTS
# (2000000, per command), COUNT_REQUESTS (200000, for QUERY.COUNT), BIN (bin).
set -euo pipefail

ENTITIES=${ENTITIES:-100000}
CLIENTS=${CLIENTS:-50}
PIPELINE=${PIPELINE:-16}
REQUESTS=${REQUESTS:-2000000}
COUNT_REQUESTS=${COUNT_REQUESTS:-200000}
BIN=${BIN:-bin}

source "$(dirname "$0")/lib.sh"
command -v redis-benchmark >/dev/null || { echo "redis-benchmark not found (apt-get install redis-tools)" >&2; exit 1; }
need_bins "$BIN"
PORT=$(free_port 16400 16499)
ADDR=127.0.0.1:$PORT

LOG=$(mktemp -t segd-redis-benchmark.XXXXXX.log)
"$BIN/segd" --in-memory --addr "$ADDR" --metrics-addr "" >"$LOG" 2>&1 &
SEGD_PID=$!
cleanup() {
	kill "$SEGD_PID" 2>/dev/null || true
	wait "$SEGD_PID" 2>/dev/null || true
	rm -f "$LOG"
}
trap cleanup EXIT

wait_ping "$PORT" "$SEGD_PID" "$LOG"

echo "segd on $ADDR (pid $SEGD_PID, in memory); loading $ENTITIES entities and the saved segments"
"$BIN/segd-bench" load --addr "$ADDR" --entities "$ENTITIES" --segments

EXPR3="country:c1 AND gender:F AND interests:i1"
rb() { # rb N label args...
	local n=$1 label=$2
	shift 2
	printf '%-48s ' "$label"
	redis-benchmark -h 127.0.0.1 -p "$PORT" -c "$CLIENTS" -P "$PIPELINE" -n "$n" -r "$ENTITIES" -q "$@" \
		| tr '\r' '\n' | grep -E 'requests per second' | tail -n 1 | sed -E 's/^.*: //'
}

echo
echo "redis-benchmark -c $CLIENTS -P $PIPELINE -r $ENTITIES (u:__rand_int__ is a random customer key)"
rb "$REQUESTS" "PING_INLINE" -t ping_inline
rb "$REQUESTS" "PING_MBULK" -t ping_mbulk
rb "$REQUESTS" "QUERY.ISMEMBER \"interests:i1\" u:K" QUERY.ISMEMBER "interests:i1" u:__rand_int__
rb "$REQUESTS" "QUERY.ISMEMBER \"$EXPR3\" u:K" QUERY.ISMEMBER "$EXPR3" u:__rand_int__
rb "$REQUESTS" "SEGMENT.ISMEMBER s000 u:K" SEGMENT.ISMEMBER s000 u:__rand_int__
rb "$REQUESTS" "SEGMENT.CARD s000" SEGMENT.CARD s000
rb "$REQUESTS" "SEGMENT.OF u:K (200 segments)" SEGMENT.OF u:__rand_int__
rb "$REQUESTS" "ENT.SET u:K tier gold (200 segments)" ENT.SET u:__rand_int__ tier gold
rb "$COUNT_REQUESTS" "QUERY.COUNT \"$EXPR3\"" QUERY.COUNT "$EXPR3"
