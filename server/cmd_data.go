package server

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/segd-db/segd/index/errs"

	"github.com/segd-db/segd/index"
	"github.com/segd-db/segd/index/expr"
	"github.com/segd-db/segd/protocol"
)

// Schema and entity commands.

// pendingWrite is a submitted write whose reply is not written yet, or
// (req nil) the error of an async write handler, which must come after the
// replies of the writes pipelined before it.
type pendingWrite struct {
	req   *writeReq
	err   error             // req nil: the handler's error
	cmd   *protocol.Command // for the error metrics and the error's wording
	reply func(index.Result)
}

// write submits a mutation to the committer; reply writes the answer once it
// is applied and durable, when the connection drains its pending writes.
// An async handler returns write's result.
func (s *Server) write(c *client, m *index.Mutation, reply func(index.Result)) error {
	r, err := s.commits.submit(m)
	if err != nil {
		return err
	}
	c.pending = append(c.pending, pendingWrite{req: r, cmd: c.cmd, reply: reply})
	return nil
}

// refuseWrite queues the error of an async write handler (bad arguments,
// found before anything is submitted, or a refused submission) in its place
// among the pipelined replies: writing it at once would put it before the
// replies of earlier writes that are still being committed.
func (s *Server) refuseWrite(c *client, err error) {
	c.pending = append(c.pending, pendingWrite{err: err, cmd: c.cmd})
}

// drain waits for the connection's pending writes, in order, and writes
// their replies.
func (s *Server) drain(c *client) {
	for i, p := range c.pending {
		err := p.err
		if p.req != nil {
			var res index.Result
			if res, err = s.commits.wait(p.req); err == nil {
				p.reply(res)
			}
		}
		if err != nil {
			c.enc.Err(protocol.ErrorOf(err))
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
func cmdFieldCreate(s *Server, c *client, args [][]byte) error {
	kind, ok := index.ParseKind(string(args[2]))
	if !ok {
		return errs.Err("unknown field kind '" + clip(string(args[2]), 32) + "': use ENUM, TAGS, INT or EVENT")
	}
	m := &index.Mutation{Op: index.OpCreateField, Field: string(args[1]), Kind: kind}
	if len(args) > 3 {
		opts, err := c.cmd.ParseOptions(args[3:])
		if err != nil {
			return err
		}
		if kind != index.KindEvent {
			return errs.Err("GRANULARITY and RETENTION apply to EVENT fields only")
		}
		if opts.Has("GRANULARITY") {
			g, ok := parseGranularity(opts.Value("GRANULARITY"))
			if !ok {
				return errs.Err("GRANULARITY must be HOUR or DAY, not '" + clip(string(opts.Value("GRANULARITY")), 32) + "'")
			}
			m.Granularity = g
		}
		if opts.Has("RETENTION") {
			d, err := expr.ParseDuration(string(opts.Value("RETENTION")))
			if err != nil {
				return err
			}
			m.Retention = d
		}
	}
	return s.write(c, m, func(index.Result) { c.enc.OK() })
}

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
func cmdFieldDrop(s *Server, c *client, args [][]byte) error {
	m := &index.Mutation{Op: index.OpDropField, Field: string(args[1])}
	switch {
	case len(args) == 3 && protocol.EqualFold(args[2], "FORCE"):
		m.Force = true
	case len(args) > 2:
		return errs.Err("syntax error: FIELD.DROP field [FORCE]")
	}
	return s.write(c, m, replyN(c))
}

// FIELD.LIST
func cmdFieldList(s *Server, c *client, args [][]byte) error {
	fields := s.engine.Fields()
	c.enc.Array(len(fields))
	for _, f := range fields {
		c.enc.Array(2)
		c.enc.BulkString(f.Name)
		c.enc.BulkString(f.Kind.String())
	}
	return nil
}

// FIELD.INFO field
func cmdFieldInfo(s *Server, c *client, args [][]byte) error {
	info, err := s.engine.FieldInfo(string(args[1]))
	if err != nil {
		return err
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
	return nil
}

// FIELD.VALUES field [LIMIT n]
func cmdFieldValues(s *Server, c *client, args [][]byte) error {
	limit, err := s.limitOption(args[2:], "LIMIT")
	if err != nil {
		return err
	}
	vals, err := s.engine.FieldValues(string(args[1]), limit)
	if err != nil {
		return err
	}
	writeValueCounts(c, vals)
	return nil
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
func (s *Server) limitOption(rest [][]byte, token string) (int, error) {
	if len(rest) == 0 {
		return 0, nil
	}
	if len(rest) != 2 || !protocol.EqualFold(rest[0], token) {
		return 0, errs.Err("syntax error: expected " + token + " n")
	}
	return s.pageSize(rest[1], token)
}

// pageSize parses a positive count and checks it against --max-page.
func (s *Server) pageSize(b []byte, what string) (int, error) {
	n, err := protocol.ParseInt(b)
	if err != nil || n < 1 {
		return 0, errs.Err(what + " must be a positive integer")
	}
	if n > int64(s.cfg.MaxPage) {
		return 0, errs.Err(what + " " + strconv.FormatInt(n, 10) + " is above the largest page of " + strconv.Itoa(s.cfg.MaxPage) + " (--max-page)")
	}
	return int(n), nil
}

// ENT.SET key field value [field value ...]
func cmdEntSet(s *Server, c *client, args [][]byte) error {
	if len(args)%2 != 0 {
		return errs.Err("wrong number of arguments for 'ENT.SET': give field value pairs")
	}
	m := &index.Mutation{Op: index.OpSet, Key: string(args[1]), Pairs: make([]index.Pair, 0, (len(args)-2)/2)}
	for i := 2; i < len(args); i += 2 {
		m.Pairs = append(m.Pairs, index.Pair{Field: string(args[i]), Value: string(args[i+1])})
	}
	return s.write(c, m, replyN(c))
}

// ENT.UNSET key field [field ...]
func cmdEntUnset(s *Server, c *client, args [][]byte) error {
	return s.write(c, &index.Mutation{Op: index.OpUnset, Key: string(args[1]), Fields: strs(args[2:])}, replyN(c))
}

// ENT.ADD key field value [value ...]
func cmdEntAdd(s *Server, c *client, args [][]byte) error {
	return s.write(c, &index.Mutation{Op: index.OpAdd, Key: string(args[1]), Field: string(args[2]), Values: strs(args[3:])}, replyN(c))
}

// ENT.REM key field value [value ...]
func cmdEntRem(s *Server, c *client, args [][]byte) error {
	return s.write(c, &index.Mutation{Op: index.OpRem, Key: string(args[1]), Field: string(args[2]), Values: strs(args[3:])}, replyN(c))
}

// ENT.TRACK key field[:value] [AT time] [AMOUNT n]
func cmdEntTrack(s *Server, c *client, args [][]byte) error {
	m := &index.Mutation{Op: index.OpTrack, Key: string(args[1])}
	// Field names hold no ':', so the first one splits: purchase:shoes:red
	// is the value "shoes:red" of the field purchase.
	if field, value, ok := strings.Cut(string(args[2]), ":"); ok {
		if value == "" {
			return errs.Err("empty value after '" + clip(field, 64) + ":': write " + clip(field, 64) + ":value, or the field alone for an event without a value")
		}
		m.Field, m.Values = field, []string{value}
	} else {
		m.Field = field
	}
	if len(args) > 3 {
		opts, err := c.cmd.ParseOptions(args[3:])
		if err != nil {
			return err
		}
		if opts.Has("AT") {
			t, err := expr.ParseTime(string(opts.Value("AT")))
			if err != nil {
				return err
			}
			m.At = t
		}
		if opts.Has("AMOUNT") {
			v := opts.Value("AMOUNT")
			n, err := protocol.ParseInt(v)
			if err != nil || n < 1 || n > index.MaxAmount {
				return errs.Err("AMOUNT must be a whole number from 1 to " + strconv.FormatInt(index.MaxAmount, 10) + ", not '" + clip(string(v), 32) + "'")
			}
			m.Amount = n
		}
	}
	return s.write(c, m, func(index.Result) { c.enc.OK() })
}

// ENT.DEL key [key ...]
func cmdEntDel(s *Server, c *client, args [][]byte) error {
	return s.write(c, &index.Mutation{Op: index.OpDel, Keys: strs(args[1:])}, replyN(c))
}

// ENT.GET key [field ...]
func cmdEntGet(s *Server, c *client, args [][]byte) error {
	vals, found, err := s.engine.Get(string(args[1]), strs(args[2:]))
	if err != nil {
		return err
	}
	if !found {
		c.enc.Null()
		return nil
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
	return nil
}

// ENT.EXISTS key
func cmdEntExists(s *Server, c *client, args [][]byte) error {
	if s.engine.Exists(string(args[1])) {
		c.enc.Int(1)
	} else {
		c.enc.Int(0)
	}
	return nil
}

// ENT.COUNT (also DBSIZE)
func cmdEntCount(s *Server, c *client, args [][]byte) error {
	c.enc.Int(int64(s.engine.Len()))
	return nil
}

func strs(args [][]byte) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = string(a)
	}
	return out
}
