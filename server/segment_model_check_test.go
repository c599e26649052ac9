package server

// The checks of the wire model test of saved segments (segment_model_test.go):
// every segment against ad hoc queries and the subscriber's replica.

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/segd-db/segd/index/modeltest"
)

// pipe runs commands in one pipeline and returns their replies; any error
// fails the test.
func (h *wmHarness) pipe(cmds [][]any) []any {
	h.t.Helper()
	p := h.c.Pipeline()
	out := make([]*redis.Cmd, len(cmds))
	for i, args := range cmds {
		out[i] = p.Do(h.ctx, args...)
	}
	_, _ = p.Exec(h.ctx)
	vals := make([]any, len(cmds))
	for i, c := range out {
		v, err := c.Result()
		if err != nil {
			h.t.Fatalf("step %d: %s: %v", h.step, fmtArgs(cmds[i]), err)
		}
		vals[i] = v
	}
	return vals
}

// sync waits until the replica of every segment reached the version that
// SEGMENT.INFO gives (a segment read, so a due refresh runs first).
func (h *wmHarness) sync(what string) map[string]map[string]any {
	h.t.Helper()
	cmds := make([][]any, len(h.names))
	for i, n := range h.names {
		cmds[i] = []any{"SEGMENT.INFO", n}
	}
	infos := map[string]map[string]any{}
	for i, v := range h.pipe(cmds) {
		infos[h.names[i]] = asMap(h.t, 3, v, "SEGMENT.INFO "+h.names[i])
	}
	timer := time.NewTimer(testTimeout)
	defer timer.Stop()
	for {
		h.drain()
		var behind []string
		for _, n := range h.names {
			want := uint64(infos[n]["version"].(int64))
			switch rep := h.reps[n]; {
			case rep.version > want:
				h.t.Fatalf("step %d (%s): the replica of %s is at v%d, SEGMENT.INFO says v%d", h.step, what, n, rep.version, want)
			case rep.version < want:
				behind = append(behind, fmt.Sprintf("%s v%d < v%d", n, rep.version, want))
			}
		}
		if len(behind) == 0 {
			return infos
		}
		select {
		case <-h.sub.signal:
		case <-timer.C:
			h.t.Fatalf("step %d (%s): no notifications after %v; behind: %v", h.step, what, testTimeout, behind)
		}
	}
}

// ---- checks ----

// check compares, for every segment: SEGMENT.CARD with QUERY.COUNT of its
// expression and with the replica; SEGMENT.INFO with what the test knows;
// SEGMENT.ISMEMBER, QUERY.ISMEMBER, SEGMENT.MISMEMBER and SEGMENT.OF with
// the replica for sampled keys; and, now and then, every member and the
// kept change log.
func (h *wmHarness) check(full bool) {
	h.t.Helper()
	infos := h.sync("check")
	keys := []string{"nobody:here"}
	for len(keys) < 5 {
		keys = append(keys, wmKey(modeltest.RandomKey(h.r)))
	}
	if len(h.names) > 0 { // a member, when there is one
		if k, ok := h.someMember(); ok {
			keys[0] = k
		}
	}
	var cmds [][]any
	cmds = append(cmds, []any{"SEGMENT.LIST"})
	for _, k := range keys {
		cmds = append(cmds, []any{"SEGMENT.OF", k})
	}
	for _, n := range h.names {
		cmds = append(cmds, []any{"SEGMENT.CARD", n}, []any{"QUERY.COUNT", h.exprs[n]},
			append([]any{"SEGMENT.MISMEMBER", n}, wmArgs(keys)...))
		for _, k := range keys {
			cmds = append(cmds, []any{"SEGMENT.ISMEMBER", n, k}, []any{"QUERY.ISMEMBER", h.exprs[n], k})
		}
	}
	vals := h.pipe(cmds)
	list := append([]string(nil), h.names...)
	sort.Strings(list)
	if !reflect.DeepEqual(vals[0], wmArgs(list)) {
		h.t.Fatalf("step %d: SEGMENT.LIST = %q, want %q", h.step, vals[0], list)
	}
	vals = vals[1:]
	for i, k := range keys {
		var want []string
		for _, n := range list {
			if h.reps[n].members[k] {
				want = append(want, n)
			}
		}
		if !reflect.DeepEqual(vals[i], wmArgs(want)) {
			h.t.Fatalf("step %d: SEGMENT.OF %q = %q, the replicas say %q", h.step, k, vals[i], want)
		}
	}
	vals = vals[len(keys):]
	for _, n := range h.names {
		rep, expr, info := h.reps[n], h.exprs[n], infos[n]
		card, count := vals[0].(int64), vals[1].(int64)
		if card != count || card != int64(len(rep.members)) || info["cardinality"] != card {
			h.t.Fatalf("step %d: %s = %q: SEGMENT.CARD %d, QUERY.COUNT %d, replica %d, SEGMENT.INFO cardinality %v",
				h.step, n, expr, card, count, len(rep.members), info["cardinality"])
		}
		mis := vals[2].([]any)
		for i, k := range keys {
			is, qis := vals[3+2*i].(int64), vals[4+2*i].(int64)
			want := int64(0)
			if rep.members[k] {
				want = 1
			}
			if is != want || qis != want || mis[i] != want {
				h.t.Fatalf("step %d: %s = %q, key %q: SEGMENT.ISMEMBER %d, QUERY.ISMEMBER %d, SEGMENT.MISMEMBER %v, replica %d",
					h.step, n, expr, k, is, qis, mis[i], want)
			}
		}
		vals = vals[3+2*len(keys):]
		tr := int64(0)
		if h.timeRel(n) {
			tr = 1
		}
		for _, kv := range []struct {
			key  string
			want any
		}{
			{"name", n}, {"expr", expr}, {"fields", wmArgs(wmFields(expr))}, {"segments", wmArgs(wmRefs(expr))}, {"time_relative", tr},
		} {
			if got := info[kv.key]; fmt.Sprint(got) != fmt.Sprint(kv.want) {
				h.t.Fatalf("step %d: SEGMENT.INFO %s %s = %v, want %v (expr %q)", h.step, n, kv.key, got, kv.want, expr)
			}
		}
	}
	if !full {
		return
	}
	for _, n := range h.names {
		rep := h.reps[n]
		got := h.segMembers(n)
		want := wmSorted(rep.members)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			h.t.Fatalf("step %d: SEGMENT.MEMBERS %s = %q, the replica has %q", h.step, n, got, want)
		}
		if q := wireMembers(h.ctx, h.t, h.c, h.exprs[n]); fmt.Sprint(q) != fmt.Sprint(want) {
			h.t.Fatalf("step %d: QUERY.MEMBERS %q = %q, SEGMENT.MEMBERS %s = %q", h.step, h.exprs[n], q, n, want)
		}
		// The kept change log is what the notifications said.
		from, changes := h.changes(n, 0)
		if len(changes) > wmChangeLog || (from > 0 && len(changes) != wmChangeLog) || from+uint64(len(changes)) != rep.version {
			h.t.Fatalf("step %d: %s: %d changes kept from v%d, at v%d (log of %d)", h.step, n, len(changes), from+1, rep.version, wmChangeLog)
		}
		for i, ch := range changes {
			v := from + uint64(i) + 1
			if old, ok := rep.history[v]; !ok || old != ch {
				h.t.Fatalf("step %d: SEGMENT.CHANGES %s v%d = %+v, the notification said %+v", h.step, n, v, ch, old)
			}
		}
	}
}

// someMember is a member of a random segment, if it has any (chosen by
// the seed alone, not by map order, so that a seed replays the same test).
func (h *wmHarness) someMember() (string, bool) {
	if len(h.names) == 0 {
		return "", false
	}
	ms := wmSorted(h.reps[h.names[h.r.Intn(len(h.names))]].members)
	if len(ms) == 0 {
		return "", false
	}
	return ms[h.r.Intn(len(ms))], true
}

// segMembers pages through SEGMENT.MEMBERS, sorted.
func (h *wmHarness) segMembers(name string) []string {
	h.t.Helper()
	var out []string
	cursor := "0"
	for {
		page := doArr(h.t, h.c, "SEGMENT.MEMBERS", name, "CURSOR", cursor, "COUNT", 37)
		cursor = page[0].(string)
		out = append(out, sortedKeys(page[1].([]any))...)
		if cursor == "0" {
			break
		}
	}
	sort.Strings(out)
	return out
}

var wmOldestRE = regexp.MustCompile(`the oldest kept version is (\d+)`)

// changes reads SEGMENT.CHANGES name SINCE since in pages; when since is
// older than the kept log, it reads from the oldest kept version, which the
// error names. It returns the version the changes follow.
func (h *wmHarness) changes(name string, since uint64) (uint64, []wmChange) {
	h.t.Helper()
	var out []wmChange
	from := since
	for {
		v, err := h.c.Do(h.ctx, "SEGMENT.CHANGES", name, "SINCE", since, "COUNT", 64).Slice()
		if err != nil {
			m := wmOldestRE.FindStringSubmatch(err.Error())
			var rerr redis.Error
			if m == nil || len(out) > 0 || !errors.As(err, &rerr) || !strings.HasPrefix(err.Error(), fmt.Sprintf("ERR version %d of segment '%s' is older than its change log", since, name)) {
				h.t.Fatalf("step %d: SEGMENT.CHANGES %s SINCE %d: %v", h.step, name, since, err)
			}
			oldest, _ := strconv.ParseUint(m[1], 10, 64)
			if oldest <= since+1 {
				h.t.Fatalf("step %d: SEGMENT.CHANGES %s SINCE %d: %v", h.step, name, since, err)
			}
			since, from = oldest-1, oldest-1
			h.stats.truncated++
			continue
		}
		page := v[1].([]any)
		for i, c := range page {
			c := c.([]any)
			if uint64(c[0].(int64)) != since+uint64(i)+1 || (c[2] != "enter" && c[2] != "exit") {
				h.t.Fatalf("step %d: SEGMENT.CHANGES %s SINCE %d: change %d is %v", h.step, name, since, i, c)
			}
			out = append(out, wmChange{key: c[1].(string), enter: c[2] == "enter", time: c[3].(int64)})
		}
		next := uint64(v[0].(int64))
		if len(page) == 0 {
			if next != since {
				h.t.Fatalf("step %d: SEGMENT.CHANGES %s SINCE %d: no change, next version %d", h.step, name, since, next)
			}
			return from, out
		}
		if next != since+uint64(len(page)) {
			h.t.Fatalf("step %d: SEGMENT.CHANGES %s SINCE %d: %d changes, next version %d", h.step, name, since, len(page), next)
		}
		since = next
	}
}

// state is everything a restart must keep, as text: the segments with
// their definitions, versions, times, members and kept change logs.
func (h *wmHarness) state() string {
	h.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "entities %d, segments %v\n", doInt(h.t, h.c, "ENT.COUNT"), do(h.t, h.c, "SEGMENT.LIST"))
	for _, n := range h.names {
		info := doMap(h.t, h.c, 3, "SEGMENT.INFO", n)
		delete(info, "bytes") // memory: a loaded bitmap may be laid out otherwise
		keys := make([]string, 0, len(info))
		for k := range info {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "%s %s=%v\n", n, k, info[k])
		}
		fmt.Fprintf(&b, "%s members %q\n", n, h.segMembers(n))
		from, changes := h.changes(n, 0)
		for i, ch := range changes {
			fmt.Fprintf(&b, "%s v%d %q enter=%v at %d\n", n, from+uint64(i)+1, ch.key, ch.enter, ch.time)
		}
	}
	return b.String()
}

// wmDiff lists the lines that differ between two states, a few at most.
func wmDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := 0; i < max(len(la), len(lb)) && len(out) < 20; i++ {
		var x, y string
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y {
			out = append(out, fmt.Sprintf("line %d:\n  before: %s\n  after:  %s", i+1, x, y))
		}
	}
	return strings.Join(out, "\n")
}
