package server

import (
	"crypto/subtle"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segd-db/segd/index/errs"

	"github.com/tidwall/redcon"

	"github.com/segd-db/segd/protocol"
)

// client is one connection's state.
type client struct {
	id      int64
	addr    string
	laddr   string
	conn    redcon.Conn
	created time.Time
	last    atomic.Int64                     // nanotime of the last command
	lastCmd atomic.Pointer[protocol.Command] // nil before the first
	name    atomic.Value                     // string
	libName string
	libVer  string
	proto   int
	authed  bool
	enc     protocol.Enc
	sub     *subscriber // set once the connection subscribes
	pending []pendingWrite
	cmd     *protocol.Command // the command being dispatched
	// unflushed counts reply bytes handed to redcon since its last flush.
	unflushed int
	killed    atomic.Bool
	// inBatch is set while redcon hands over the commands of one read
	// batch (pipelined commands), from the first to the last.
	inBatch bool
	touch   [][]byte // the batch's keys, reused
	sink    uint32   // keeps touchKeys' reads alive
	// mark is when the command being dispatched started (nanotime): the
	// start of its batch or the end of the previous command of the batch,
	// so that one clock read per command times them all.
	mark int64
}

// clientRegistry is every connected client by id.
type clientRegistry struct {
	mu     sync.Mutex
	nextID int64
	m      map[int64]*client
	total  atomic.Int64 // connections ever accepted
}

func (r *clientRegistry) init() { r.m = map[int64]*client{} }

func (r *clientRegistry) add(c *client) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nextID++
	c.id = r.nextID
	r.m[c.id] = c
	r.total.Add(1)
	return true
}

func (r *clientRegistry) remove(c *client) {
	r.mu.Lock()
	delete(r.m, c.id)
	r.mu.Unlock()
}

func (r *clientRegistry) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.m)
}

func (r *clientRegistry) list() []*client {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*client, 0, len(r.m))
	for _, c := range r.m {
		out = append(out, c)
	}
	return out
}

// accept admits a connection unless the client limit is reached.
func (s *Server) accept(conn redcon.Conn) bool {
	if s.closing.Load() {
		return false
	}
	if s.clients.count() >= s.cfg.MaxClients {
		conn.WriteError("ERR max number of clients reached")
		s.metrics.rejected.Inc()
		return false
	}
	c := &client{conn: conn, addr: conn.RemoteAddr(), created: time.Now(), proto: 2, authed: s.cfg.Password == ""}
	if nc := conn.NetConn(); nc != nil {
		c.laddr = nc.LocalAddr().String()
	}
	c.name.Store("")
	c.last.Store(nanotime())
	c.enc.Proto = 2
	s.clients.add(c)
	conn.SetContext(c)
	s.metrics.connections.Inc()
	return true
}

func (s *Server) closed(conn redcon.Conn, err error) {
	c, ok := conn.Context().(*client)
	if !ok || c == nil {
		return
	}
	if c.sub != nil {
		go s.pubsub.readLoop(c.sub) // detached: redcon is done with c (and c.enc); the subscriber's loop serves and cleans up
		return
	}
	s.clients.remove(c)
	s.metrics.connections.Dec()
}

// serveRESP runs one command of a connection that redcon serves.
func (s *Server) serveRESP(conn redcon.Conn, cmd redcon.Command) {
	c := conn.Context().(*client)
	c.enc.Reset()
	c.enc.Proto = c.proto
	if !c.inBatch {
		// The first command of what one read brought.
		c.inBatch = true
		c.mark = nanotime()
		if rest := conn.PeekPipeline(); len(rest) > 0 {
			s.touchKeys(c, cmd, rest)
		}
	}
	s.dispatch(c, cmd.Args)
	last := len(conn.PeekPipeline()) == 0 // the last command of what the client sent
	if last {
		c.inBatch = false
	}
	if last || c.sub != nil {
		s.drain(c) // reply to every write now
	}
	if len(c.enc.B) > 0 {
		conn.WriteRaw(c.enc.B)
		// redcon writes a whole read batch's replies at its end; a batch of
		// small requests with big replies must not pile up in memory, so
		// large output goes out now (blocking this connection alone if its
		// client is slow to read).
		c.unflushed += len(c.enc.B)
		switch {
		case len(conn.PeekPipeline()) == 0:
			c.unflushed = 0 // the batch ends: redcon flushes now
		case c.unflushed > flushThreshold:
			c.unflushed = 0
			if w := redcon.BaseWriter(conn); w != nil && w.Flush() != nil {
				c.killed.Store(true)
			}
		}
		if cap(c.enc.B) > keepReplyBuffer {
			c.enc.B = nil // do not keep one huge reply's buffer for the connection's life
		}
	}
	if c.killed.Load() {
		conn.Close()
	}
}

// touchKeys runs at the first command of a pipelined batch: it collects the
// entity keys of the batch's commands (by the command table's key positions)
// and has the engine bring their dictionary entries into cache together, so
// that the batch's key lookups, each a few dependent cache misses, overlap
// instead of queueing one after the other (dict.Dict.Touch).
func (s *Server) touchKeys(c *client, first redcon.Command, rest []redcon.Command) {
	keys := c.touch[:0]
	add := func(args [][]byte) {
		if len(args) == 0 {
			return
		}
		cmd := protocol.Lookup(args[0])
		if cmd == nil || cmd.FirstKey <= 0 || cmd.FirstKey >= len(args) || cmd.Writes() {
			// A write's key is looked up by the committer, on its own
			// core: touching it here would only hold the read lock.
			return
		}
		keys = append(keys, args[cmd.FirstKey])
	}
	add(first.Args)
	for _, r := range rest {
		if len(keys) >= touchMaxKeys {
			break
		}
		add(r.Args)
	}
	if len(keys) > 1 && !s.loading.Load() {
		c.sink += s.engine.TouchKeys(keys)
	}
	clear(keys)
	c.touch = keys[:0]
}

const (
	touchMaxKeys    = 64        // keys of one batch touched together
	flushThreshold  = 256 << 10 // write pipelined replies out past this much
	keepReplyBuffer = 1 << 20   // largest reply buffer a connection keeps between commands
)

// dispatch checks a command against the table (existence, arity, auth,
// loading, subscribed mode), runs a due time-relative refresh before a
// command that reads saved segments, and runs its handler. It never closes
// the connection for a bad command.
func (s *Server) dispatch(c *client, args [][]byte) {
	if len(args) == 0 {
		return
	}
	start := c.mark
	c.last.Store(start)
	cmd := protocol.Lookup(args[0])
	if cmd == nil {
		s.drain(c)
		s.metrics.unknown.Inc()
		c.enc.Err(protocol.ErrorOf(protocol.UnknownCommandError(args)))
		return
	}
	if len(cmd.Subcommands) > 0 && len(args) >= 2 {
		if sub := protocol.LookupSub(cmd, args[1]); sub != nil {
			cmd = sub
		}
	}
	if c.lastCmd.Load() != cmd {
		c.lastCmd.Store(cmd) // no allocation, and no store in a run of one command
	}
	wg := &s.inflight[c.id&(statShards-1)].WaitGroup
	wg.Add(1)
	defer wg.Done()
	entry := &byID[cmd.ID]
	refuse := s.refusal(c, cmd, entry.h, args)
	// Pipelined writes are submitted without waiting (see write); any other
	// reply must come after theirs, so it waits for them first.
	if refuse != nil || !entry.async {
		s.drain(c)
	}
	c.cmd = cmd
	err := refuse
	if err == nil {
		if cmd.ReadsSegments {
			s.refreshDue()
		}
		err = entry.h(s, c, args)
	}
	failed := false
	if err != nil {
		if entry.async && refuse == nil {
			s.refuseWrite(c, err) // counted when its reply is written
		} else {
			c.enc.Err(protocol.ErrorOf(err))
			failed = true
		}
	}
	end := nanotime()
	c.mark = end
	s.metrics.observe(cmd, c.id, time.Duration(end-start), failed)
}

// refusal is why dispatch must not run a command's handler, or nil.
func (s *Server) refusal(c *client, cmd *protocol.Command, h handler, args [][]byte) error {
	switch {
	case h == nil && len(args) > 1:
		return protocol.UnknownSubcommandError(cmd, args[1])
	case h == nil:
		return cmd.ArityError() // a container command alone
	case !cmd.CheckArity(len(args)):
		return cmd.ArityError()
	case !c.authed && !cmd.HasFlag("no_auth"):
		return errNoAuth
	case s.loading.Load() && !cmd.HasFlag("loading"):
		if e := s.loadErr.Load(); e != nil {
			return e // withdrawn for good: retrying will not help
		}
		return errLoading
	case c.proto == 2 && c.subscribed() && !cmd.Subscribed:
		return errs.Err("Can't execute '" + cmd.Name + "': only (P)SUBSCRIBE / (P)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
	}
	return nil
}

var (
	errNoAuth  = errs.New(errs.CodeNoAuth, "Authentication required: send AUTH password first")
	errLoading = errs.New(errs.CodeLoading, "segd is loading the data set in memory; retry in a moment")
)

// checkPassword compares in constant time.
func (s *Server) checkPassword(pass []byte) bool {
	want := []byte(s.cfg.Password)
	return s.cfg.Password != "" && subtle.ConstantTimeCompare(pass, want) == 1
}

func clip(s string, n int) string {
	if len(s) > n {
		s = s[:n] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
