package server

// The steps of the wire model test of saved segments (segment_model_test.go):
// writes, segments created and dropped, clock moves and restarts.

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ---- actions ----

func (h *wmHarness) write(args []any, bad bool) {
	h.t.Helper()
	err := h.c.Do(h.ctx, args...).Err()
	var rerr redis.Error
	switch {
	case err != nil && !errors.As(err, &rerr):
		h.t.Fatalf("step %d: %s: %v", h.step, fmtArgs(args), err)
	case bad && err == nil:
		h.t.Fatalf("step %d: %s: accepted, want an error", h.step, fmtArgs(args))
	case !bad && err != nil:
		h.t.Fatalf("step %d: %s: %v", h.step, fmtArgs(args), err)
	}
}

// burst sends many writes in one pipeline, so that they commit in few
// batches and their notifications interleave.
func (h *wmHarness) burst(n int) {
	h.t.Helper()
	p := h.c.Pipeline()
	cmds := make([]*redis.Cmd, n)
	bad := make([]bool, n)
	for i := range cmds {
		var args []any
		if h.r.Intn(3) == 0 {
			args, bad[i] = h.wmWrite()
		} else {
			args, bad[i] = h.wmTrack()
		}
		cmds[i] = p.Do(h.ctx, args...)
	}
	_, _ = p.Exec(h.ctx)
	for i, c := range cmds {
		var rerr redis.Error
		if err := c.Err(); (err != nil) != bad[i] || (err != nil && !errors.As(err, &rerr)) {
			h.t.Fatalf("step %d: %s: err %v, want an error: %v", h.step, fmtArgs(c.Args()), err, bad[i])
		}
	}
}

// create makes a new segment (or REPLACEs name) with a random expression
// that references only segments created before it, so never a cycle.
func (h *wmHarness) create(name string) {
	h.t.Helper()
	refs := h.names
	replace := name != ""
	if replace {
		for i, n := range h.names {
			if n == name {
				refs = h.names[:i]
			}
		}
	} else {
		name = fmt.Sprintf("s%d", h.made)
		if h.made%4 == 3 {
			name = fmt.Sprintf("grp.%d:v-%d", h.made, h.r.Intn(9)) // every character a name may hold
		}
		h.made++
	}
	expr := h.wmExpr(refs)
	args := []any{"SEGMENT.CREATE", name, expr}
	if replace {
		args = append(args, "REPLACE")
	}
	n := doInt(h.t, h.c, args...)
	if replace {
		// The difference comes as changes; the replica follows them.
		h.exprs[name] = expr
		h.stats.replaced++
		h.sync("REPLACE")
		if got := len(h.reps[name].members); int64(got) != n {
			h.t.Fatalf("step %d: SEGMENT.CREATE %s %q REPLACE = %d, the replica has %d members", h.step, name, expr, n, got)
		}
		return
	}
	info := doMap(h.t, h.c, 3, "SEGMENT.INFO", name)
	if info["version"] != int64(0) || info["cardinality"] != n {
		h.t.Fatalf("step %d: SEGMENT.CREATE %s %q = %d, then SEGMENT.INFO %v", h.step, name, expr, n, info)
	}
	// A consumer reads the members, then follows from version 0.
	rep := &wmReplica{members: map[string]bool{}, history: map[uint64]wmChange{}}
	for _, k := range h.segMembers(name) {
		rep.members[k] = true
	}
	if int64(len(rep.members)) != n {
		h.t.Fatalf("step %d: SEGMENT.CREATE %s %q = %d, SEGMENT.MEMBERS has %d", h.step, name, expr, n, len(rep.members))
	}
	h.names = append(h.names, name)
	h.exprs[name] = expr
	h.reps[name] = rep
}

// referenced says which live segment references name, if any.
func (h *wmHarness) referenced(name string) string {
	for _, n := range h.names {
		for _, ref := range wmRefs(h.exprs[n]) {
			if ref == name {
				return n
			}
		}
	}
	return ""
}

// drop tries SEGMENT.DROP of a random segment: an error while another
// references it, else gone.
func (h *wmHarness) drop() {
	h.t.Helper()
	i := h.r.Intn(len(h.names))
	name := h.names[i]
	if user := h.referenced(name); user != "" {
		got := doErr(h.t, h.c, "SEGMENT.DROP", name)
		if want := fmt.Sprintf("ERR segment '%s' is referenced by segment", name); !strings.HasPrefix(got, want) {
			h.t.Fatalf("step %d: SEGMENT.DROP %s (used by %s) = %q, want %q…", h.step, name, user, got, want)
		}
		h.stats.refused++
		// A field a segment reads cannot be dropped either.
		if fs := wmFields(h.exprs[name]); len(fs) > 0 {
			got := doErr(h.t, h.c, "FIELD.DROP", fs[0])
			if want := fmt.Sprintf("ERR field '%s' is used by segment", fs[0]); !strings.HasPrefix(got, want) {
				h.t.Fatalf("step %d: FIELD.DROP %s = %q, want %q…", h.step, fs[0], got, want)
			}
		}
		return
	}
	expectEq(h.t, "SEGMENT.DROP "+name, doInt(h.t, h.c, "SEGMENT.DROP", name), int64(1))
	h.stats.dropped++
	h.names = append(h.names[:i:i], h.names[i+1:]...)
	delete(h.exprs, name)
	delete(h.reps, name)
	if got := doErr(h.t, h.c, "SEGMENT.CARD", name); !strings.HasPrefix(got, "ERR unknown segment") {
		h.t.Fatalf("step %d: SEGMENT.CARD of dropped %s = %q", h.step, name, got)
	}
}

// moveClock moves the test clock. Time-relative segments then refresh at
// the boundaries they passed: either the server's ticker does it with no
// command at all (the test waits for the engine to have no refresh due),
// or the next segment read does it first. (Not a QUERY.* read or a write
// that changes nothing: see TestSegmentUnloggedRefresh.)
func (h *wmHarness) moveClock(follow bool) {
	h.t.Helper()
	d := time.Duration(5+h.r.Intn(120)) * time.Minute
	switch h.r.Intn(6) {
	case 0, 1:
		d = time.Duration(1+h.r.Intn(12)) * time.Hour
	case 2:
		d = time.Duration(24+h.r.Intn(48)) * time.Hour
	}
	h.clock.add(d)
	before := h.stats.notified
	defer func() { h.stats.tickChanges += h.stats.notified - before }()
	if h.r.Intn(2) == 0 {
		waitFor(h.t, "the ticker's refresh", func() bool { return !h.srv.Engine().TickDue() })
	} else if len(h.names) > 0 {
		doInt(h.t, h.c, "SEGMENT.CARD", h.names[h.r.Intn(len(h.names))])
	}
	if follow {
		h.sync("clock move")
		if os.Getenv("SEGD_MODEL_VERBOSE") != "" {
			var b strings.Builder
			for _, n := range h.names {
				if h.timeRel(n) {
					fmt.Fprintf(&b, "%s=%d(%q) ", n, len(h.reps[n].members), h.exprs[n])
				}
			}
			h.t.Logf("step %d: clock +%v: %d changes; %s", h.step, d, h.stats.notified-before, b.String())
		}
	}
}

// restart stops the server and boots it again on the same directory: from
// the write log alone, or (save) from a snapshot and the writes after it.
// The subscriber is gone meanwhile and catches up with SEGMENT.CHANGES.
func (h *wmHarness) restart(save bool) {
	h.t.Helper()
	h.check(true)
	if save {
		expectEq(h.t, "SAVE", do(h.t, h.c, "SAVE"), "OK")
	}
	// The subscriber goes away; writes go on without it, then the clock
	// moves twice with no write after: only logged refreshes bring back
	// the enters and exits of the first move, at their time.
	h.sub.stop()
	h.drain()
	for i := 0; i < 15; i++ {
		if h.r.Intn(2) == 0 {
			h.write(h.wmWrite())
		} else {
			h.write(h.wmTrack())
		}
	}
	h.moveClock(false)
	h.moveClock(false)
	before := h.state()
	h.c.Do(h.ctx, "SHUTDOWN", "NOSAVE")
	select {
	case <-h.srv.Done():
	case <-time.After(testTimeout):
		h.t.Fatalf("step %d: SHUTDOWN NOSAVE: the server did not stop", h.step)
	}
	h.boot()
	if after := h.state(); after != before {
		h.t.Fatalf("step %d: restart (save=%v) changed the segments:\n%s", h.step, save, wmDiff(before, after))
	}
	// Subscribe first, then catch up from the last version seen: nothing
	// falls in between, and what comes twice is skipped.
	h.sub = wmSubscribe(h.t, h.srv)
	for _, n := range h.names {
		rep := h.reps[n]
		from, changes := h.changes(n, rep.version)
		if from != rep.version {
			h.t.Fatalf("step %d: SEGMENT.CHANGES %s SINCE %d starts at v%d", h.step, n, rep.version, from+1)
		}
		for i, ch := range changes {
			h.follow(n, from+uint64(i)+1, ch, "SEGMENT.CHANGES")
		}
		rep.resynced = rep.version
	}
}
