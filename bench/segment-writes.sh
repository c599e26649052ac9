#!/usr/bin/env bash
# ENT.SET throughput with and without the 200 saved segments, side by side on
# one segd: starts bin/segd on a free loopback port with a fresh data
# directory (periodic snapshots off, so that each run measures the writes
# alone), loads the synthetic population with segd-bench, then runs ROUNDS
# rounds of `segd-bench run --mix set` without the segments and with them
# (saved by `segd-bench load --segments`, dropped after each round), each run
# with its own seed: a run that re-sent the writes of the run before would
# change nothing and skip segment maintenance. Prints each round's
# throughputs and ratio, and the medians. segd is stopped and its data
# directory removed however the script ends.
#
#   ENTITIES=10000000 ROUNDS=5 bench/segment-writes.sh   # or: make bench-segment-writes
#
# Environment: ENTITIES (1000000), ROUNDS (3), DURATION (15s), CLIENTS (50),
# PIPELINE (16), SEED (0: the runs use seeds SEED+200+r and SEED+700+r),
# BIN (bin).
set -euo pipefail

ENTITIES=${ENTITIES:-1000000}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-15s}
CLIENTS=${CLIENTS:-50}
PIPELINE=${PIPELINE:-16}
SEED=${SEED:-0}
BIN=${BIN:-bin}

source "$(dirname "$0")/lib.sh"
command -v redis-cli >/dev/null || { echo "redis-cli not found (apt-get install redis-tools)" >&2; exit 1; }
need_bins "$BIN"
PORT=$(free_port 16500 16599)
ADDR=127.0.0.1:$PORT

DIR=$(mktemp -d -t segd-segment-writes.XXXXXX)
"$BIN/segd" --addr "$ADDR" --metrics-addr "" --dir "$DIR/data" --save-every 0 --save-after 0 >"$DIR/segd.log" 2>&1 &
SEGD_PID=$!
cleanup() {
	# No snapshot at the end: the data is thrown away.
	kill -9 "$SEGD_PID" 2>/dev/null || true
	wait "$SEGD_PID" 2>/dev/null || true
	rm -rf "$DIR"
}
trap cleanup EXIT

wait_ping "$PORT" "$SEGD_PID" "$DIR/segd.log"

echo "segd on $ADDR (pid $SEGD_PID); loading $ENTITIES entities"
"$BIN/segd-bench" load --addr "$ADDR" --entities "$ENTITIES"

drop() {
	for i in $(seq 0 199); do printf 'SEGMENT.DROP s%03d\r\n' "$i"; done | redis-cli -h 127.0.0.1 -p "$PORT" >/dev/null
}
run() { # run SEED: prints the throughput in writes/s
	"$BIN/segd-bench" run --addr "$ADDR" --mix set --duration "$DURATION" --clients "$CLIENTS" \
		--pipeline "$PIPELINE" --entities "$ENTITIES" --seed "$1" 2>&1 |
		sed -nE 's/^mix set: .*, ([0-9.]+)(k?)\/s, ([0-9]+) errors$/\1 \2 \3/p' |
		awk '{ if ($3 != 0) { print "errors: " $3 > "/dev/stderr"; exit 1 } print ($2 == "k" ? $1 * 1000 : $1) }'
}

echo "ENT.SET, $CLIENTS clients pipelining $PIPELINE, $DURATION a run, $ROUNDS rounds"
without=() with=() ratios=()
for r in $(seq 1 "$ROUNDS"); do
	a=$(run $((SEED + 200 + r)))
	"$BIN/segd-bench" load --addr "$ADDR" --entities 1 --segments >/dev/null 2>&1
	b=$(run $((SEED + 700 + r)))
	drop
	ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b / a }')
	without+=("$a") with+=("$b") ratios+=("$ratio")
	printf 'round %d: no segments %.1fk/s, 200 segments %.1fk/s, ratio %s\n' "$r" "$(awk -v x="$a" 'BEGIN{print x/1000}')" "$(awk -v x="$b" 'BEGIN{print x/1000}')" "$ratio"
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
printf 'median: no segments %.1fk/s, 200 segments %.1fk/s, ratio %s\n' "$(awk -v x="$(median "${without[@]}")" 'BEGIN{print x/1000}')" "$(awk -v x="$(median "${with[@]}")" 'BEGIN{print x/1000}')" "$(median "${ratios[@]}")"
