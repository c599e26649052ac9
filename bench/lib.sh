# Shared by the bench scripts (sourced, not run): the checks, port choice and
# start-up wait of a script that runs bin/segd on a free loopback port.

# need_bins BIN: fails unless BIN/segd and BIN/segd-bench are built.
need_bins() {
	for b in "$1/segd" "$1/segd-bench"; do
		[[ -x $b ]] || { echo "$b not built (make build)" >&2; exit 1; }
	done
}

# free_port FROM TO: prints the first free loopback port in FROM..TO.
free_port() {
	local p
	for p in $(seq "$1" "$2"); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	echo "no free port in $1..$2" >&2
	exit 1
}

# wait_ping PORT PID LOG: waits until segd (PID, logging to LOG) answers PING.
wait_ping() {
	for _ in $(seq 1 100); do
		if redis-cli -h 127.0.0.1 -p "$1" PING 2>/dev/null | grep -q PONG; then return; fi
		kill -0 "$2" 2>/dev/null || { echo "segd exited:" >&2; cat "$3" >&2; exit 1; }
		sleep 0.1
	done
	echo "segd did not answer PING on port $1" >&2
	exit 1
}
