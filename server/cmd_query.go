package server

import (
	"strconv"
	"time"
	"unsafe"

	"github.com/segd-db/segd/index/errs"

	"github.com/segd-db/segd/index"
	"github.com/segd-db/segd/index/expr"
	"github.com/segd-db/segd/protocol"
)

// Ad hoc query commands.

// queryOpts are the trailing options of query commands.
type queryOpts struct {
	at     time.Time
	where  string
	cursor uint64
	count  int
	limit  int
}

// parseQueryOpts reads the trailing options of the command being
// dispatched (its grammar in the command table) and checks their values.
func (s *Server) parseQueryOpts(c *client, rest [][]byte) (queryOpts, error) {
	var o queryOpts
	if len(rest) == 0 {
		return o, nil
	}
	opts, err := c.cmd.ParseOptions(rest)
	if err != nil {
		return o, err
	}
	if opts.Has("AT") {
		if o.at, err = expr.ParseTime(string(opts.Value("AT"))); err != nil {
			return o, err
		}
	}
	if opts.Has("WHERE") {
		v := opts.Value("WHERE")
		if err := s.checkExpr(v); err != nil {
			return o, err
		}
		o.where = string(v)
	}
	if opts.Has("CURSOR") {
		v := opts.Value("CURSOR")
		if o.cursor, err = strconv.ParseUint(string(v), 10, 64); err != nil {
			return o, errs.Err("invalid cursor '" + clip(string(v), 32) + "': use 0 to start, then the cursor each reply gives")
		}
	}
	for _, p := range []struct {
		token string
		dst   *int
	}{{"COUNT", &o.count}, {"LIMIT", &o.limit}} {
		if opts.Has(p.token) {
			if *p.dst, err = s.pageSize(opts.Value(p.token), p.token); err != nil {
				return o, err
			}
		}
	}
	return o, nil
}

// checkExpr enforces --max-expr-bytes.
func (s *Server) checkExpr(expr []byte) error {
	if len(expr) > s.cfg.MaxExpr {
		return errs.Err("expression of " + strconv.Itoa(len(expr)) + " bytes is longer than the limit of " + strconv.Itoa(s.cfg.MaxExpr) + " (--max-expr-bytes)")
	}
	return nil
}

// queryExpr parses the options of a query command whose expression is
// args[1] and checks the expression's length (options first: their errors
// come first).
func (s *Server) queryExpr(c *client, args [][]byte, optsAt int) (queryOpts, error) {
	o, err := s.parseQueryOpts(c, args[optsAt:])
	if err != nil {
		return o, err
	}
	return o, s.checkExpr(args[1])
}

// QUERY.COUNT expr [AT time]
func cmdQueryCount(s *Server, c *client, args [][]byte) error {
	o, err := s.queryExpr(c, args, 2)
	if err != nil {
		return err
	}
	n, err := s.engine.Count(string(args[1]), o.at)
	if err != nil {
		return err
	}
	c.enc.Int(int64(n))
	return nil
}

// QUERY.MEMBERS expr [CURSOR c] [COUNT n] [AT time]
func cmdQueryMembers(s *Server, c *client, args [][]byte) error {
	o, err := s.queryExpr(c, args, 2)
	if err != nil {
		return err
	}
	next, keys, err := s.engine.Members(string(args[1]), o.cursor, o.count, o.at)
	if err != nil {
		return err
	}
	writePage(c, next, keys)
	return nil
}

func writePage(c *client, next uint64, keys []string) {
	c.enc.Array(2)
	c.enc.BulkString(strconv.FormatUint(next, 10))
	c.enc.Array(len(keys))
	for _, k := range keys {
		c.enc.BulkString(k)
	}
}

// QUERY.ISMEMBER expr key [AT time]
func cmdQueryIsMember(s *Server, c *client, args [][]byte) error {
	o, err := s.queryExpr(c, args, 3)
	if err != nil {
		return err
	}
	in, err := s.engine.IsMember(transient(args[1]), transient(args[2]), o.at)
	if err != nil {
		return err
	}
	if in {
		c.enc.Int(1)
	} else {
		c.enc.Int(0)
	}
	return nil
}

// QUERY.EXPLAIN expr [AT time]
func cmdQueryExplain(s *Server, c *client, args [][]byte) error {
	o, err := s.queryExpr(c, args, 2)
	if err != nil {
		return err
	}
	root, err := s.engine.Explain(string(args[1]), o.at)
	if err != nil {
		return err
	}
	writeExplain(&c.enc, root)
	return nil
}

// writeExplain writes a node as [label, cardinality, microseconds, [children…]].
func writeExplain(e *protocol.Enc, n *index.ExplainNode) {
	e.Array(4)
	e.BulkString(n.Label)
	e.Int(int64(n.Cardinality))
	e.Double(n.Micros)
	e.Array(len(n.Children))
	for _, ch := range n.Children {
		writeExplain(e, ch)
	}
}

// QUERY.GROUPBY field [WHERE expr] [LIMIT n] [AT time]
func cmdQueryGroupBy(s *Server, c *client, args [][]byte) error {
	o, err := s.parseQueryOpts(c, args[2:])
	if err != nil {
		return err
	}
	vals, err := s.engine.GroupBy(string(args[1]), o.where, o.limit, o.at)
	if err != nil {
		return err
	}
	writeValueCounts(c, vals)
	return nil
}

// QUERY.STATS measure [WHERE expr] [AT time]
func cmdQueryStats(s *Server, c *client, args [][]byte) error {
	o, err := s.queryExpr(c, args, 2)
	if err != nil {
		return err
	}
	st, err := s.engine.Stats(string(args[1]), o.where, o.at)
	if err != nil {
		return err
	}
	c.enc.Map(5)
	c.enc.BulkString("count")
	c.enc.Int(int64(st.Count))
	c.enc.BulkString("sum")
	if st.Sum.IsInt64() {
		c.enc.Int(st.Sum.Int64())
	} else {
		c.enc.BigNumber(st.Sum.String())
	}
	for _, kv := range []struct {
		k string
		v int64
	}{{"min", st.Min}, {"max", st.Max}} {
		c.enc.BulkString(kv.k)
		if st.Count == 0 {
			c.enc.Null()
		} else {
			c.enc.Int(kv.v)
		}
	}
	c.enc.BulkString("mean")
	if st.Count == 0 {
		c.enc.Null()
	} else {
		c.enc.Double(st.Mean())
	}
	return nil
}

// QUERY.TOP k measure [WHERE expr] [AT time]
func cmdQueryTop(s *Server, c *client, args [][]byte) error {
	k, err := s.pageSize(args[1], "k")
	if err != nil {
		return err
	}
	o, err := s.parseQueryOpts(c, args[3:])
	if err != nil {
		return err
	}
	if err := s.checkExpr(args[2]); err != nil {
		return err
	}
	top, err := s.engine.Top(k, string(args[2]), o.where, o.at)
	if err != nil {
		return err
	}
	c.enc.Array(len(top))
	for _, r := range top {
		c.enc.Array(2)
		c.enc.BulkString(r.Key)
		c.enc.Int(r.Value)
	}
	return nil
}

// transient views an argument as a string without copying it, for engine
// calls that only read their arguments during the call and keep nothing of
// them (lookups, and prepared expressions, which the engine copies before
// it keeps them). redcon reuses the argument's memory for the next command.
func transient(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
