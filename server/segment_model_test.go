package server

// The wire model test of saved segments: random writes, events and clock
// moves with many random saved segments, checked over the wire after every
// step against ad hoc queries of the same expressions and against a replica
// that a PSUBSCRIBE segment:* subscriber keeps from the JSON notifications
// alone; with two restarts in the middle (one from the write log only, one
// from a snapshot and the log after it) that must change nothing.
//
// The file reads top down: the harness (subscriber, replica, random writes
// and expressions), following the notifications, the steps (writes,
// segments created and dropped, clock moves, restarts), the checks after
// each step, then the tests.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/segd-db/segd/index"
	"github.com/segd-db/segd/index/modeltest"
)

// wmStart is the test clock at the start of the model test.
var wmStart = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

// wmChangeLog is the change log kept per segment in the model test: small
// enough that busy segments drop their oldest changes, large enough for a
// subscriber to catch up after a restart.
const wmChangeLog = 300

// wmChange is one enter or exit, as a notification or SEGMENT.CHANGES says.
type wmChange struct {
	key   string
	enter bool
	time  int64
}

// wmReplica is a segment as a subscriber knows it from notifications (and
// from SEGMENT.CHANGES after a restart).
type wmReplica struct {
	members  map[string]bool
	version  uint64
	resynced uint64 // versions up to this one came from SEGMENT.CHANGES: notifications of them are duplicates
	history  map[uint64]wmChange
}

// wmSubscriber is a PSUBSCRIBE segment:* connection read by a goroutine
// into an unbounded buffer, so that the server's bounded queue never fills
// while the test is busy sending commands.
type wmSubscriber struct {
	ps     *redis.PubSub
	signal chan struct{} // a message (or an error) arrived
	done   chan struct{}
	mu     sync.Mutex
	buf    []segmentEvent
	err    error
	closed bool // stop was called: the end of the connection is no error
}

func wmSubscribe(t *testing.T, srv *Server) *wmSubscriber {
	t.Helper()
	cl := newClientOpts(t, srv, &redis.Options{Protocol: 2})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	ps := cl.PSubscribe(ctx, "segment:*")
	if _, err := ps.Receive(ctx); err != nil { // the subscription confirmation
		t.Fatalf("PSUBSCRIBE segment:*: %v", err)
	}
	s := &wmSubscriber{ps: ps, signal: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			msg, err := ps.ReceiveMessage(context.Background())
			var ev segmentEvent
			if err == nil {
				dec := json.NewDecoder(strings.NewReader(msg.Payload))
				dec.DisallowUnknownFields()
				if err = dec.Decode(&ev); err != nil {
					err = fmt.Errorf("notification %q: %w", msg.Payload, err)
				} else if msg.Pattern != "segment:*" || msg.Channel != "segment:"+ev.Segment {
					err = fmt.Errorf("notification %q on channel %q (pattern %q)", msg.Payload, msg.Channel, msg.Pattern)
				} else if ev.Change != "enter" && ev.Change != "exit" {
					err = fmt.Errorf("notification %q: change is neither enter nor exit", msg.Payload)
				}
			}
			s.mu.Lock()
			switch {
			case err != nil && !s.closed:
				s.err = err
			case err == nil:
				s.buf = append(s.buf, ev)
			}
			s.mu.Unlock()
			select {
			case s.signal <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(s.stop)
	return s
}

// take returns the messages received so far, and the error that ended the
// subscription if any.
func (s *wmSubscriber) take() ([]segmentEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.buf
	s.buf = nil
	return out, s.err
}

// stop closes the subscription and waits for its reader.
func (s *wmSubscriber) stop() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.ps.Close()
	<-s.done
}

// wmHarness runs the model test against one server at a time.
type wmHarness struct {
	t     *testing.T
	r     *rand.Rand
	ctx   context.Context
	dir   string
	clock *testClock
	srv   *Server
	c     *redis.Client // RESP3
	sub   *wmSubscriber

	names []string // live segments, in creation order (an @ reference only names an earlier one)
	exprs map[string]string
	reps  map[string]*wmReplica
	made  int // segments created, for fresh names
	step  int
	stats struct{ notified, tickChanges, caughtUp, truncated, replaced, dropped, refused, timeRel int }
}

func (h *wmHarness) boot() {
	h.srv = bootServer(h.t, h.dir, func(c *Config) {
		c.clock = h.clock.now
		c.SaveEvery, c.SaveAfter = 0, 0 // snapshots only when the test says SAVE
		c.ChangeLog = wmChangeLog
	})
	srv := h.srv
	h.t.Cleanup(func() { srv.Close() })
	h.c = newClient(h.t, srv, 3)
}

// wmKey makes a random key of the model valid UTF-8, one to one: a
// notification is JSON, which cannot carry other bytes exactly (see
// TestSegmentNotificationNonUTF8Key). Bytes from 0x80 become the runes
// U+0180 to U+01FF; NUL and the rest of ASCII stay.
func wmKey(k string) string {
	if utf8.ValidString(k) {
		return k
	}
	var b strings.Builder
	for i := 0; i < len(k); i++ {
		if c := k[i]; c < utf8.RuneSelf {
			b.WriteByte(c)
		} else {
			b.WriteRune(rune(0x100 + int(c)))
		}
	}
	return b.String()
}

func wmArgs(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// wmWrite is a random write of modeltest (keys made valid UTF-8) as
// command arguments, and whether the server must reject it.
func (h *wmHarness) wmWrite() ([]any, bool) {
	m := modeltest.RandomWrite(h.r)
	m.Key = wmKey(m.Key)
	for i := range m.Keys {
		m.Keys[i] = wmKey(m.Keys[i])
	}
	bad := false
	for _, p := range m.Pairs {
		bad = bad || (p.Field == "age" && p.Value == "old")
	}
	return wmArgs(modeltest.Args(m)), bad
}

// wmTrack is a random ENT.TRACK of purchase (DAY, 30d) or visit (HOUR,
// 72h), mostly in the last three days; one in twenty is older than the
// retention and must be rejected.
func (h *wmHarness) wmTrack() ([]any, bool) {
	r := h.r
	now := h.clock.now().Unix()
	field, gran, kept := "purchase", int64(86400), int64(30)
	if r.Intn(2) == 0 {
		field, gran, kept = "visit", 3600, 72
	}
	oldest := (now/gran - kept + 1) * gran
	ev := field
	if r.Intn(3) > 0 {
		ev += ":" + []string{"a", "b", "c"}[r.Intn(3)]
	}
	key := fmt.Sprintf("u:%d", r.Intn(120)) // the first 120 keys of modeltest: events pile up
	if r.Intn(5) == 0 {
		key = wmKey(modeltest.RandomKey(r))
	}
	args := []any{"ENT.TRACK", key, ev}
	bad := false
	switch n := r.Intn(20); {
	case n == 0: // before the oldest kept bucket
		args = append(args, "AT", oldest-1-int64(r.Intn(3600)))
		bad = true
	case n < 4: // now, from the server's clock
	case n < 5: // a little ahead, within the accepted clock skew
		args = append(args, "AT", now+int64(r.Intn(300)))
	case n < 12: // the last hours
		args = append(args, "AT", now-int64(r.Intn(6*3600)))
	default:
		args = append(args, "AT", max(oldest, now-int64(r.Intn(3*86400))))
	}
	if r.Intn(3) == 0 {
		args = append(args, "AMOUNT", 1+r.Intn(3))
	}
	return args, bad
}

// wmEventAtom is a random event predicate with a threshold and a window.
func (h *wmHarness) wmEventAtom() string {
	r := h.r
	field := "purchase"
	win := []string{"IN 1d", "IN 2d", "IN 7d", "IN 1w", "IN 20d", "IN 30d", "EVER", "", "BETWEEN"}[r.Intn(9)]
	if r.Intn(2) == 0 {
		field = "visit"
		win = []string{"IN 1h", "IN 3h", "IN 6h", "IN 24h", "IN 2d", "IN 72h", "EVER", "", "BETWEEN"}[r.Intn(9)]
	}
	if win == "BETWEEN" {
		now := h.clock.now()
		from := now.Add(-time.Duration(1+r.Intn(5)) * day).Format("2006-01-02")
		win = "BETWEEN " + from + " AND " + now.Add(time.Duration(r.Intn(3)-1)*day).Format("2006-01-02")
	}
	sel := []string{"", ":*", ":a", ":b", ":(a,c)"}[r.Intn(5)]
	cmp := []string{"", "", ">= 2", "< 2", "= 0", "!= 1", "> 3", "<= 1"}[r.Intn(8)]
	return strings.Join(strings.Fields(field+sel+" "+cmp+" "+win), " ")
}

// wmKinds are the non-EVENT fields, for modeltest.RandomExpr.
var wmKinds = map[string]index.Kind{"country": index.KindEnum, "tier": index.KindEnum, "city": index.KindEnum,
	"age": index.KindInt, "score": index.KindInt, "interests": index.KindTags, "aud": index.KindTags}

// wmExpr is a random segment expression: ENUM/TAGS/INT predicates, event
// predicates, @ references to the segments in refs, TOP and SAMPLE.
func (h *wmHarness) wmExpr(refs []string) string {
	r := h.r
	ref := func() string { return "@" + refs[r.Intn(len(refs))] }
	op := func() string { return []string{"AND", "OR", "AND NOT", "XOR"}[r.Intn(4)] }
	switch k := r.Intn(16); {
	case k < 3:
		x, _ := modeltest.RandomExpr(r, wmKinds, 2)
		return x
	case k < 5:
		x, _ := modeltest.RandomExpr(r, wmKinds, 1)
		return "(" + x + ") " + op() + " " + h.wmEventAtom()
	case k < 7:
		return h.wmEventAtom()
	case k < 9:
		return h.wmEventAtom() + " " + op() + " " + h.wmEventAtom()
	case k < 10:
		return "NOT " + h.wmEventAtom()
	case k < 12 && len(refs) > 0:
		if r.Intn(2) == 0 {
			return ref() + " " + op() + " " + h.wmEventAtom()
		}
		x, _ := modeltest.RandomExpr(r, wmKinds, 1)
		return ref() + " " + op() + " (" + x + ")"
	case k < 13 && len(refs) > 1:
		return ref() + []string{" OR NOT ", " AND ", " XOR "}[r.Intn(3)] + ref()
	case k < 14:
		top := []string{"TOP 5 BY purchase IN 7d", "TOP 10% BY score", "TOP 3 BY visit IN 6h", "TOP 20 BY purchase:a",
			"TOP 50% BY visit:b IN 24h", "TOP 8 BY age", "TOP 25% BY purchase EVER"}[r.Intn(7)]
		switch r.Intn(3) {
		case 0:
			return top
		case 1:
			x, _ := modeltest.RandomExpr(r, wmKinds, 1)
			return "(" + top + ") AND " + x
		}
		if len(refs) > 0 {
			return ref() + " AND NOT " + top
		}
		return "NOT " + top
	default:
		s := []string{"SAMPLE 30% SEED 3 AND country:*", "NOT SAMPLE 50%", "ALL", "SAMPLE 10% SEED 7 AND " + h.wmEventAtom()}[r.Intn(4)]
		if len(refs) > 0 && r.Intn(2) == 0 {
			s = ref() + " AND " + s
		}
		return s
	}
}

var (
	wmRefRE   = regexp.MustCompile(`@([A-Za-z0-9_.:-]+)`)
	wmFieldRE = regexp.MustCompile(`\b(country|tier|city|age|score|interests|aud|purchase|visit)\b`)
)

// wmRefs are the segments expr references directly, sorted and unique.
func wmRefs(expr string) []string {
	set := map[string]bool{}
	for _, m := range wmRefRE.FindAllStringSubmatch(expr, -1) {
		set[m[1]] = true
	}
	return wmSorted(set)
}

// wmFields are the fields expr reads directly (field names never appear as
// values in the test's expressions).
func wmFields(expr string) []string {
	set := map[string]bool{}
	for _, m := range wmFieldRE.FindAllStringSubmatch(wmRefRE.ReplaceAllString(expr, ""), -1) {
		set[m[1]] = true
	}
	return wmSorted(set)
}

func wmSorted(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// timeRel says whether a segment reads an EVENT field, directly or through
// its references.
func (h *wmHarness) timeRel(name string) bool {
	for _, f := range wmFields(h.exprs[name]) {
		if f == "purchase" || f == "visit" {
			return true
		}
	}
	for _, ref := range wmRefs(h.exprs[name]) {
		if h.timeRel(ref) {
			return true
		}
	}
	return false
}

// ---- following the notifications ----

// follow applies one change to its segment's replica: versions must be
// consecutive and every enter and exit must flip the membership.
func (h *wmHarness) follow(seg string, v uint64, ch wmChange, from string) {
	h.t.Helper()
	rep := h.reps[seg]
	if rep == nil {
		h.t.Fatalf("step %d: %s of unknown segment %q (v%d %s); segments %v, SEGMENT.LIST %v", h.step, from, seg, v, ch.key, h.names, do(h.t, h.c, "SEGMENT.LIST"))
	}
	if v <= rep.resynced {
		if old, ok := rep.history[v]; !ok || old != ch {
			h.t.Fatalf("step %d: %s: duplicate %s v%d is %+v, SEGMENT.CHANGES said %+v", h.step, from, seg, v, ch, old)
		}
		return
	}
	if v != rep.version+1 {
		h.t.Fatalf("step %d: %s: %s v%d (%q enter=%v) after v%d", h.step, from, seg, v, ch.key, ch.enter, rep.version)
	}
	if ch.enter == rep.members[ch.key] {
		h.t.Fatalf("step %d: %s: %s v%d: %q enter=%v, but the replica has member=%v", h.step, from, seg, v, ch.key, ch.enter, rep.members[ch.key])
	}
	if from == "notification" && ch.time != h.clock.now().Unix() {
		h.t.Fatalf("step %d: %s: %s v%d at %d, the clock is at %d", h.step, from, seg, v, ch.time, h.clock.now().Unix())
	}
	rep.version = v
	rep.history[v] = ch
	if from == "notification" {
		h.stats.notified++
	} else {
		h.stats.caughtUp++
	}
	if ch.enter {
		rep.members[ch.key] = true
	} else {
		delete(rep.members, ch.key)
	}
}

// drain applies the notifications received so far.
func (h *wmHarness) drain() {
	h.t.Helper()
	evs, err := h.sub.take()
	for _, ev := range evs {
		h.follow(ev.Segment, ev.Version, wmChange{key: ev.Key, enter: ev.Change == "enter", time: ev.Time}, "notification")
	}
	if err != nil {
		h.t.Fatalf("step %d: subscriber: %v", h.step, err)
	}
}

// ---- steps: writes, segments created and dropped, clock moves, restarts ----

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

// TestSegmentsWireModel is the model test of saved segments over the wire:
// random writes, events and clock moves with many random saved segments
// (@ references, IN, EVER and BETWEEN windows, thresholds, TOP, SAMPLE,
// REPLACE, DROP). After every step each SEGMENT.CARD equals QUERY.COUNT of
// its expression, membership agrees for sampled keys (SEGMENT.ISMEMBER,
// QUERY.ISMEMBER, SEGMENT.MISMEMBER, SEGMENT.OF), and the notifications
// received by a PSUBSCRIBE segment:* subscriber replay to the same
// membership with consecutive versions. Two restarts in the middle (log
// only, then snapshot and log) change nothing: members, versions, times and
// change logs, and the subscriber catches up with SEGMENT.CHANGES.
func TestSegmentsWireModel(t *testing.T) {
	t.Parallel()
	seed := int64(1)
	if n, err := strconv.ParseInt(os.Getenv("SEGD_MODEL_SEED"), 10, 64); err == nil {
		seed = n
	}
	steps := 360
	if n, err := strconv.Atoi(os.Getenv("SEGD_MODEL_STEPS")); err == nil && n > 0 {
		steps = n // a longer soak: SEGD_MODEL_STEPS=3000
	}
	t.Logf("seed %d, %d steps (SEGD_MODEL_SEED, SEGD_MODEL_STEPS; SEGD_MODEL_VERBOSE logs each clock move)", seed, steps)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := &wmHarness{t: t, r: rand.New(rand.NewSource(seed)), ctx: ctx, dir: t.TempDir(), clock: newTestClock(wmStart),
		exprs: map[string]string{}, reps: map[string]*wmReplica{}}
	h.boot()
	h.sub = wmSubscribe(t, h.srv)
	for _, def := range [][]any{
		{"purchase", "EVENT", "RETENTION", "30d"}, {"visit", "EVENT", "GRANULARITY", "HOUR", "RETENTION", "72h"},
		{"country", "ENUM"}, {"tier", "ENUM"}, {"city", "ENUM"}, {"age", "INT"}, {"score", "INT"},
		{"interests", "TAGS"}, {"aud", "TAGS"},
	} {
		expectEq(t, "FIELD.CREATE", do(t, h.c, append([]any{"FIELD.CREATE"}, def...)...), "OK")
	}
	for i := 0; i < 16; i++ {
		h.burst(25)
	}
	for i := 0; i < 10; i++ {
		h.create("")
	}
	h.check(true)
	for h.step = 1; h.step <= steps; h.step++ {
		switch k := h.r.Intn(100); {
		case h.step == steps/3:
			h.restart(false)
		case h.step == 2*steps/3:
			h.restart(true)
		case k < 35:
			h.write(h.wmWrite())
		case k < 58:
			h.write(h.wmTrack())
		case k < 70:
			h.moveClock(true)
		case k < 77:
			h.burst(10 + h.r.Intn(30))
		case k < 83 && len(h.names) < 24:
			h.create("")
		case k < 87 && len(h.names) > 0:
			h.create(h.names[h.r.Intn(len(h.names))])
		case k < 89 && len(h.names) > 1:
			h.drop()
		case k < 93:
			// ENT.DEL of a member: exits from every segment holding it.
			if key, ok := h.someMember(); ok {
				expectEq(t, "ENT.DEL", doInt(t, h.c, "ENT.DEL", key), int64(1))
			}
		default:
			h.write(h.wmWrite())
		}
		h.check(h.step%40 == 0)
	}
	h.check(true)
	for _, n := range h.names {
		if h.timeRel(n) {
			h.stats.timeRel++
		}
	}
	t.Logf("%d segments at the end (%d time-relative); changes followed: %d notified (%d after clock moves), %d from SEGMENT.CHANGES after restarts; "+
		"%d change logs read past their bound; %d REPLACE, %d DROP, %d DROP refused", len(h.names), h.stats.timeRel,
		h.stats.notified, h.stats.tickChanges, h.stats.caughtUp, h.stats.truncated, h.stats.replaced, h.stats.dropped, h.stats.refused)
}

// TestSegmentNotificationNonUTF8Key: a key that is not valid UTF-8 cannot
// travel exactly in the JSON of a notification (each invalid byte becomes
// U+FFFD), while SEGMENT.CHANGES and SEGMENT.MEMBERS carry it byte for byte.
func TestSegmentNotificationNonUTF8Key(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	c := newClient(t, srv, 3)
	do(t, c, "FIELD.CREATE", "tier", "ENUM")
	do(t, c, "SEGMENT.CREATE", "vip", "tier:gold")
	sub := wmSubscribe(t, srv)
	key := "k\xff\x00\xfe"
	do(t, c, "ENT.SET", key, "tier", "gold")
	var evs []segmentEvent
	waitFor(t, "the notification", func() bool {
		got, err := sub.take()
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, got...)
		return len(evs) > 0
	})
	expectEq(t, "notified key", evs[0].Key, "k\uFFFD\x00\uFFFD")
	changes := doArr(t, c, "SEGMENT.CHANGES", "vip", "SINCE", "0")[1].([]any)
	expectEq(t, "SEGMENT.CHANGES key", changes[0].([]any)[1], key)
	expectEq(t, "SEGMENT.MEMBERS", doArr(t, c, "SEGMENT.MEMBERS", "vip")[1], []any{key})
}

// TestSegmentRestartRepublishes: after a restart, the changes replayed from
// the write log are not published again: a subscriber receives only the new
// versions.
func TestSegmentRestartRepublishes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := bootServer(t, dir, func(c *Config) { c.SaveEvery, c.SaveAfter = 0, 0 })
	t.Cleanup(func() { srv.Close() })
	c := newClient(t, srv, 3)
	do(t, c, "SEGMENT.CREATE", "vip", "ALL")
	do(t, c, "ENT.SET", "u:1", "tier", "gold") // vip v1: u:1 enters
	c.Do(context.Background(), "SHUTDOWN", "NOSAVE")
	<-srv.Done()

	srv = bootServer(t, dir, func(c *Config) { c.SaveEvery, c.SaveAfter = 0, 0 })
	t.Cleanup(func() { srv.Close() })
	c = newClient(t, srv, 3)
	sub := wmSubscribe(t, srv)
	do(t, c, "ENT.SET", "u:2", "tier", "gold") // vip v2: u:2 enters
	var got []string
	waitFor(t, "the notification of v2", func() bool {
		evs, err := sub.take()
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			got = append(got, fmt.Sprintf("%s v%d %s %s", ev.Segment, ev.Version, ev.Key, ev.Change))
		}
		return len(got) > 0 && strings.HasSuffix(got[len(got)-1], "v2 u:2 enter")
	})
	expectEq(t, "notifications after the restart", got, []string{"vip v2 u:2 enter"})
}

// TestSegmentUnloggedRefresh: a time-relative refresh is logged whatever
// command runs it: a QUERY.* read (which submits the refresh through the
// committer first), or a write that changes nothing or is rejected (whose
// built-in refresh the committer logs as an OpTick before it). A restart
// then replays every refresh at its moment, with the same versions.
//
// Segment: visit IN 2h AND NOT visit IN 1h (visit is an HOUR field); u:1
// visits at t0. At t0+1h u:1 enters (v1), at t0+2h it exits (v2). When the
// t0+1h refresh runs inside such a command, the log holds no tick between
// the visit and t0+2h, so the replay goes from the t0 bucket straight to
// the t0+2h one: the segment comes back at version 0 with no change logged.
func TestSegmentUnloggedRefresh(t *testing.T) {
	t.Parallel()
	for _, trigger := range [][]any{{"QUERY.COUNT", "ALL"}, {"ENT.UNSET", "nobody", "tier"}} {
		t.Run(trigger[0].(string), func(t *testing.T) {
			dir := t.TempDir()
			clock := newTestClock(wmStart)
			boot := func() (*Server, *redis.Client) {
				srv := bootServer(t, dir, func(c *Config) { c.clock, c.SaveEvery, c.SaveAfter = clock.now, 0, 0 })
				t.Cleanup(func() { srv.Close() })
				return srv, newClient(t, srv, 3)
			}
			srv, c := boot()
			do(t, c, "FIELD.CREATE", "tier", "ENUM")
			do(t, c, "FIELD.CREATE", "visit", "EVENT", "GRANULARITY", "HOUR")
			do(t, c, "SEGMENT.CREATE", "lapsed", "visit IN 2h AND NOT visit IN 1h")
			do(t, c, "ENT.TRACK", "u:1", "visit")
			sub := wmSubscribe(t, srv)

			clock.add(time.Hour)
			do(t, c, trigger...) // runs the due refresh: u:1 enters lapsed
			var got []segmentEvent
			deadline := time.Now().Add(2 * time.Second) // the ticker runs every 250 ms
			for len(got) == 0 && time.Now().Before(deadline) {
				evs, err := sub.take()
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, evs...)
				select {
				case <-sub.signal:
				case <-time.After(50 * time.Millisecond):
				}
			}
			if len(got) == 0 { // QUERY.COUNT
				t.Errorf("after %s, no notification of u:1 entering lapsed (SEGMENT.INFO version is now %v)",
					fmtArgs(trigger), doMap(t, c, 3, "SEGMENT.INFO", "lapsed")["version"])
			}
			clock.add(time.Hour)
			expectEq(t, "card at t0+2h", doInt(t, c, "SEGMENT.CARD", "lapsed"), int64(0))
			before := doArr(t, c, "SEGMENT.CHANGES", "lapsed", "SINCE", "0")
			c.Do(context.Background(), "SHUTDOWN", "NOSAVE")
			<-srv.Done()
			_, c = boot()
			expectEq(t, "SEGMENT.CHANGES after a restart", doArr(t, c, "SEGMENT.CHANGES", "lapsed", "SINCE", "0"), before)
		})
	}
}
