package server

// The wire model test of saved segments: random writes, events and clock
// moves with many random saved segments, checked over the wire after every
// step against ad hoc queries of the same expressions and against a replica
// that a PSUBSCRIBE segment:* subscriber keeps from the JSON notifications
// alone; with two restarts in the middle (one from the write log only, one
// from a snapshot and the log after it) that must change nothing.

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
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
