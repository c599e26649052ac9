package server

import (
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/segd-db/segd/index"
	"github.com/segd-db/segd/index/expr"
	"github.com/segd-db/segd/protocol"
)

// Schema and entity commands.

var handlers = map[string]handler{}

func register(name string, h handler) { handlers[name] = h }

// cmdEntry is what dispatch needs of a command, indexed by its ID.
type cmdEntry struct {
	h     handler
	async bool // in asyncWrites
}

// byID is handlers and asyncWrites by command ID, built on first use (the
// handlers register in init functions of several files).
var byID = sync.OnceValue(func() []cmdEntry {
	t := make([]cmdEntry, protocol.Count())
	fill := func(c *protocol.Command) { t[c.ID] = cmdEntry{h: handlers[c.Name], async: asyncWrites[c.Name]} }
	for _, c := range protocol.All() {
		fill(c)
		for _, sub := range c.Subcommands {
			fill(sub)
		}
	}
	return t
})

func init() {
	register("field.create", cmdFieldCreate)
	register("field.drop", cmdFieldDrop)
	register("field.list", cmdFieldList)
	register("field.info", cmdFieldInfo)
	register("field.values", cmdFieldValues)
	register("ent.set", cmdEntSet)
	register("ent.unset", cmdEntUnset)
	register("ent.add", cmdEntAdd)
	register("ent.rem", cmdEntRem)
	register("ent.track", cmdEntTrack)
	register("ent.get", cmdEntGet)
	register("ent.del", cmdEntDel)
	register("ent.exists", cmdEntExists)
	register("ent.count", cmdEntCount)
	register("dbsize", cmdEntCount)
}

// asyncWrites are the commands whose handlers reply through write: in a
// pipeline they are submitted to the committer one after another without
// waiting, so one group commit carries all of them. Their handlers must
// never write to c.enc directly (a reply would overtake those of the writes
// still pending): errors go through refuseWrite.
var asyncWrites = map[string]bool{
	"field.create": true, "field.drop": true,
	"ent.set": true, "ent.unset": true, "ent.add": true, "ent.rem": true, "ent.track": true, "ent.del": true,
	"segment.create": true, "segment.drop": true,
}

// pendingWrite is a submitted write whose reply is not written yet, or
// (req nil) an error an async write handler found itself, which must come
// after the replies of the writes pipelined before it.
type pendingWrite struct {
	req   *writeReq
	cmd   *protocol.Command // for the error metrics
	reply func(index.Result)
}

// write submits a mutation to the committer; reply writes the answer once it
// is applied and durable, when the connection drains its pending writes.
func (s *Server) write(c *client, m *index.Mutation, reply func(index.Result)) {
	r, err := s.commits.submit(m)
	if err != nil {
		s.refuseWriteErr(c, err)
		return
	}
	c.pending = append(c.pending, pendingWrite{req: r, cmd: c.cmd, reply: reply})
}

// refuseWrite answers an async write handler's own error (bad arguments,
// found before anything is submitted) in its place among the pipelined
// replies: writing it at once would put it before the replies of earlier
// writes that are still being committed.
func (s *Server) refuseWrite(c *client, msg string) {
	c.pending = append(c.pending, pendingWrite{cmd: c.cmd, reply: func(index.Result) { c.enc.Error(msg) }})
}

// refuseWriteErr is refuseWrite of an engine error, with its Redis code.
func (s *Server) refuseWriteErr(c *client, err error) {
	code, msg := index.ErrorCode(err)
	if strings.HasPrefix(msg, code+" ") {
		msg = msg[len(code)+1:]
	}
	s.refuseWrite(c, code+" "+msg)
}

// drain waits for the connection's pending writes, in order, and writes
// their replies.
func (s *Server) drain(c *client) {
	for i, p := range c.pending {
		at := len(c.enc.B)
		if p.req == nil {
			p.reply(index.Result{})
		} else if res, err := s.commits.wait(p.req); err != nil {
			replyErr(c, err)
		} else {
			p.reply(res)
		}
		if len(c.enc.B) > at && c.enc.B[at] == '-' {
			s.metrics.failed(p.cmd, c.id)
		}
		c.pending[i] = pendingWrite{}
	}
	c.pending = c.pending[:0]
}

// replyN writes a result's count.
func replyN(c *client) func(index.Result) {
	return func(res index.Result) { c.enc.Int(res.N) }
}

// FIELD.CREATE field ENUM|TAGS|INT|EVENT [GRANULARITY HOUR|DAY] [RETENTION dur]
func cmdFieldCreate(s *Server, c *client, args [][]byte) {
	kind, ok := index.ParseKind(string(args[2]))
	if !ok {
		s.refuseWrite(c, "ERR unknown field kind '"+clip(string(args[2]), 32)+"': use ENUM, TAGS, INT or EVENT")
		return
	}
	m := &index.Mutation{Op: index.OpCreateField, Field: string(args[1]), Kind: kind}
	if len(args) > 3 {
		opts, err := protocol.ParseOptions("FIELD.CREATE", args[3:], fieldCreateOpts)
		if err != nil {
			s.refuseWrite(c, "ERR "+err.Error())
			return
		}
		if kind != index.KindEvent {
			s.refuseWrite(c, "ERR GRANULARITY and RETENTION apply to EVENT fields only")
			return
		}
		if opts.Has("GRANULARITY") {
			g, ok := parseGranularity(opts.Value("GRANULARITY"))
			if !ok {
				s.refuseWrite(c, "ERR GRANULARITY must be HOUR or DAY, not '"+clip(string(opts.Value("GRANULARITY")), 32)+"'")
				return
			}
			m.Granularity = g
		}
		if opts.Has("RETENTION") {
			d, err := expr.ParseDuration(string(opts.Value("RETENTION")))
			if err != nil {
				s.refuseWriteErr(c, err)
				return
			}
			m.Retention = d
		}
	}
	s.write(c, m, func(index.Result) { c.enc.OK() })
}

var fieldCreateOpts = []protocol.Option{{Token: "GRANULARITY", N: 1}, {Token: "RETENTION", N: 1}}

func parseGranularity(b []byte) (time.Duration, bool) {
	switch {
	case protocol.EqualFold(b, "HOUR"):
		return time.Hour, true
	case protocol.EqualFold(b, "DAY"):
		return 24 * time.Hour, true
	}
	return 0, false
}

// granularityName is how FIELD.INFO shows an EVENT field's bucket size.
func granularityName(g time.Duration) string {
	if g == time.Hour {
		return "HOUR"
	}
	return "DAY"
}

// FIELD.DROP field
func cmdFieldDrop(s *Server, c *client, args [][]byte) {
	s.write(c, &index.Mutation{Op: index.OpDropField, Field: string(args[1])}, replyN(c))
}

// FIELD.LIST
func cmdFieldList(s *Server, c *client, args [][]byte) {
	fields := s.engine.Fields()
	c.enc.Array(len(fields))
	for _, f := range fields {
		c.enc.Array(2)
		c.enc.BulkString(f.Name)
		c.enc.BulkString(f.Kind.String())
	}
}

// FIELD.INFO field
func cmdFieldInfo(s *Server, c *client, args [][]byte) {
	info, err := s.engine.FieldInfo(string(args[1]))
	if err != nil {
		replyErr(c, err)
		return
	}
	c.enc.Map(7)
	c.enc.BulkString("name")
	c.enc.BulkString(info.Name)
	c.enc.BulkString("kind")
	c.enc.BulkString(info.Kind.String())
	c.enc.BulkString("values")
	if info.Values < 0 {
		c.enc.Null()
	} else {
		c.enc.Int(int64(info.Values))
	}
	c.enc.BulkString("entities")
	c.enc.Int(int64(info.Entities))
	c.enc.BulkString("bytes")
	c.enc.Int(int64(info.Bytes))
	// Bucket size and retention are EVENT properties: null for other kinds,
	// so that every FIELD.INFO has the same keys.
	c.enc.BulkString("granularity")
	if info.Kind == index.KindEvent {
		c.enc.BulkString(granularityName(info.Granularity))
	} else {
		c.enc.Null()
	}
	c.enc.BulkString("retention")
	if info.Kind == index.KindEvent {
		c.enc.BulkString(expr.FormatDuration(info.Retention))
	} else {
		c.enc.Null()
	}
}

// FIELD.VALUES field [LIMIT n]
func cmdFieldValues(s *Server, c *client, args [][]byte) {
	limit, ok := s.limitOption(c, args[2:], "LIMIT")
	if !ok {
		return
	}
	vals, err := s.engine.FieldValues(string(args[1]), limit)
	if err != nil {
		replyErr(c, err)
		return
	}
	writeValueCounts(c, vals)
}

func writeValueCounts(c *client, vals []index.ValueCount) {
	c.enc.Array(len(vals))
	for _, v := range vals {
		c.enc.Array(2)
		c.enc.BulkString(v.Value)
		c.enc.Int(int64(v.Entities))
	}
}

// limitOption reads an optional "TOKEN n" pair (the only option of the
// command), capped by --max-page. 0 means no limit given.
func (s *Server) limitOption(c *client, rest [][]byte, token string) (int, bool) {
	if len(rest) == 0 {
		return 0, true
	}
	if len(rest) != 2 || !protocol.EqualFold(rest[0], token) {
		c.enc.Error("ERR syntax error: expected " + token + " n")
		return 0, false
	}
	return s.pageSize(c, rest[1], token)
}

// pageSize parses a positive count and checks it against --max-page.
func (s *Server) pageSize(c *client, b []byte, what string) (int, bool) {
	n, err := protocol.ParseInt(b)
	if err != nil || n < 1 {
		c.enc.Error("ERR " + what + " must be a positive integer")
		return 0, false
	}
	if n > int64(s.cfg.MaxPage) {
		c.enc.Error("ERR " + what + " " + strconv.FormatInt(n, 10) + " is above the largest page of " + strconv.Itoa(s.cfg.MaxPage) + " (--max-page)")
		return 0, false
	}
	return int(n), true
}

// ENT.SET key field value [field value ...]
func cmdEntSet(s *Server, c *client, args [][]byte) {
	if len(args)%2 != 0 {
		s.refuseWrite(c, "ERR wrong number of arguments for 'ENT.SET': give field value pairs")
		return
	}
	m := &index.Mutation{Op: index.OpSet, Key: string(args[1]), Pairs: make([]index.Pair, 0, (len(args)-2)/2)}
	for i := 2; i < len(args); i += 2 {
		m.Pairs = append(m.Pairs, index.Pair{Field: string(args[i]), Value: string(args[i+1])})
	}
	s.write(c, m, replyN(c))
}

// ENT.UNSET key field [field ...]
func cmdEntUnset(s *Server, c *client, args [][]byte) {
	s.write(c, &index.Mutation{Op: index.OpUnset, Key: string(args[1]), Fields: strs(args[2:])}, replyN(c))
}

// ENT.ADD key field value [value ...]
func cmdEntAdd(s *Server, c *client, args [][]byte) {
	s.write(c, &index.Mutation{Op: index.OpAdd, Key: string(args[1]), Field: string(args[2]), Values: strs(args[3:])}, replyN(c))
}

// ENT.REM key field value [value ...]
func cmdEntRem(s *Server, c *client, args [][]byte) {
	s.write(c, &index.Mutation{Op: index.OpRem, Key: string(args[1]), Field: string(args[2]), Values: strs(args[3:])}, replyN(c))
}

// ENT.TRACK key field[:value] [AT time] [AMOUNT n]
func cmdEntTrack(s *Server, c *client, args [][]byte) {
	m := &index.Mutation{Op: index.OpTrack, Key: string(args[1])}
	// Field names hold no ':', so the first one splits: purchase:shoes:red
	// is the value "shoes:red" of the field purchase.
	if field, value, ok := strings.Cut(string(args[2]), ":"); ok {
		if value == "" {
			s.refuseWrite(c, "ERR empty value after '"+clip(field, 64)+":': write "+clip(field, 64)+":value, or the field alone for an event without a value")
			return
		}
		m.Field, m.Values = field, []string{value}
	} else {
		m.Field = field
	}
	if len(args) > 3 {
		opts, err := protocol.ParseOptions("ENT.TRACK", args[3:], trackOpts)
		if err != nil {
			s.refuseWrite(c, "ERR "+err.Error())
			return
		}
		if opts.Has("AT") {
			t, err := expr.ParseTime(string(opts.Value("AT")))
			if err != nil {
				s.refuseWriteErr(c, err)
				return
			}
			m.At = t
		}
		if opts.Has("AMOUNT") {
			v := opts.Value("AMOUNT")
			n, err := protocol.ParseInt(v)
			if err != nil || n < 1 || n > index.MaxAmount {
				s.refuseWrite(c, "ERR AMOUNT must be a whole number from 1 to "+strconv.FormatInt(index.MaxAmount, 10)+", not '"+clip(string(v), 32)+"'")
				return
			}
			m.Amount = n
		}
	}
	s.write(c, m, func(index.Result) { c.enc.OK() })
}

var trackOpts = []protocol.Option{{Token: "AT", N: 1}, {Token: "AMOUNT", N: 1}}

// ENT.DEL key [key ...]
func cmdEntDel(s *Server, c *client, args [][]byte) {
	s.write(c, &index.Mutation{Op: index.OpDel, Keys: strs(args[1:])}, replyN(c))
}

// ENT.GET key [field ...]
func cmdEntGet(s *Server, c *client, args [][]byte) {
	vals, found, err := s.engine.Get(string(args[1]), strs(args[2:]))
	if err != nil {
		replyErr(c, err)
		return
	}
	if !found {
		c.enc.Null()
		return
	}
	c.enc.Map(len(vals))
	for _, v := range vals {
		c.enc.BulkString(v.Field)
		switch v.Kind {
		case index.KindEnum:
			c.enc.BulkString(v.Str)
		case index.KindInt:
			c.enc.Int(v.Int)
		case index.KindTags:
			c.enc.Array(len(v.Tags))
			for _, t := range v.Tags {
				c.enc.BulkString(t)
			}
		case index.KindEvent:
			// value -> sum of amounts over the retention; "*" (first) is
			// every occurrence, with or without a value.
			c.enc.Map(len(v.Events))
			for _, ev := range v.Events {
				c.enc.BulkString(ev.Value)
				if ev.Amount <= math.MaxInt64 {
					c.enc.Int(int64(ev.Amount))
				} else {
					c.enc.BigNumber(strconv.FormatUint(ev.Amount, 10))
				}
			}
		default:
			c.enc.Null() // a kind this server version does not know
		}
	}
}

// ENT.EXISTS key
func cmdEntExists(s *Server, c *client, args [][]byte) {
	if s.engine.Exists(string(args[1])) {
		c.enc.Int(1)
	} else {
		c.enc.Int(0)
	}
}

// ENT.COUNT (also DBSIZE)
func cmdEntCount(s *Server, c *client, args [][]byte) {
	c.enc.Int(int64(s.engine.Len()))
}

func strs(args [][]byte) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = string(a)
	}
	return out
}
