package server

import (
	"strconv"
	"time"
	"unsafe"

	"github.com/segd-db/segd/index"
	"github.com/segd-db/segd/index/expr"
	"github.com/segd-db/segd/protocol"
)

// Ad hoc query commands.

func init() {
	register("query.count", cmdQueryCount)
	register("query.members", cmdQueryMembers)
	register("query.ismember", cmdQueryIsMember)
	register("query.explain", cmdQueryExplain)
	register("query.groupby", cmdQueryGroupBy)
	register("query.stats", cmdQueryStats)
	register("query.top", cmdQueryTop)
}

// queryOpts are the trailing options of query commands.
type queryOpts struct {
	at     time.Time
	where  string
	cursor uint64
	count  int
	limit  int
}

// The trailing options each query command takes.
var (
	atOpts      = []protocol.Option{{Token: "AT", N: 1}}
	membersOpts = []protocol.Option{{Token: "CURSOR", N: 1}, {Token: "COUNT", N: 1}, {Token: "AT", N: 1}}
	groupByOpts = []protocol.Option{{Token: "WHERE", N: 1}, {Token: "LIMIT", N: 1}, {Token: "AT", N: 1}}
	whereOpts   = []protocol.Option{{Token: "WHERE", N: 1}, {Token: "AT", N: 1}}
)

// parseQueryOpts reads trailing "TOKEN value" options of spec and checks
// their values. It writes the error reply and returns false on bad input.
//
// Every query command parses its options here first, so this is also where a
// due time-relative refresh runs (logged, see tickFirst) before the query
// reads anything: an expression may read saved segments with @name.
func (s *Server) parseQueryOpts(c *client, name string, rest [][]byte, spec []protocol.Option) (queryOpts, bool) {
	s.tickFirst()
	var o queryOpts
	if len(rest) == 0 {
		return o, true
	}
	opts, err := protocol.ParseOptions(name, rest, spec)
	if err != nil {
		c.enc.Error("ERR " + err.Error())
		return o, false
	}
	if opts.Has("AT") {
		t, err := expr.ParseTime(string(opts.Value("AT")))
		if err != nil {
			replyErr(c, err)
			return o, false
		}
		o.at = t
	}
	if opts.Has("WHERE") {
		v := opts.Value("WHERE")
		if !s.checkExpr(c, v) {
			return o, false
		}
		o.where = string(v)
	}
	if opts.Has("CURSOR") {
		v := opts.Value("CURSOR")
		n, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			c.enc.Error("ERR invalid cursor '" + clip(string(v), 32) + "': use 0 to start, then the cursor each reply gives")
			return o, false
		}
		o.cursor = n
	}
	for _, p := range []struct {
		token string
		dst   *int
	}{{"COUNT", &o.count}, {"LIMIT", &o.limit}} {
		if opts.Has(p.token) {
			n, ok := s.pageSize(c, opts.Value(p.token), p.token)
			if !ok {
				return o, false
			}
			*p.dst = n
		}
	}
	return o, true
}

// checkExpr enforces --max-expr-bytes.
func (s *Server) checkExpr(c *client, expr []byte) bool {
	if len(expr) > s.cfg.MaxExpr {
		c.enc.Error("ERR expression of " + strconv.Itoa(len(expr)) + " bytes is longer than the limit of " + strconv.Itoa(s.cfg.MaxExpr) + " (--max-expr-bytes)")
		return false
	}
	return true
}

// QUERY.COUNT expr [AT time]
func cmdQueryCount(s *Server, c *client, args [][]byte) {
	o, ok := s.parseQueryOpts(c, "QUERY.COUNT", args[2:], atOpts)
	if !ok || !s.checkExpr(c, args[1]) {
		return
	}
	n, err := s.engine.Count(string(args[1]), o.at)
	if err != nil {
		replyErr(c, err)
		return
	}
	c.enc.Int(int64(n))
}

// QUERY.MEMBERS expr [CURSOR c] [COUNT n] [AT time]
func cmdQueryMembers(s *Server, c *client, args [][]byte) {
	o, ok := s.parseQueryOpts(c, "QUERY.MEMBERS", args[2:], membersOpts)
	if !ok || !s.checkExpr(c, args[1]) {
		return
	}
	next, keys, err := s.engine.Members(string(args[1]), o.cursor, o.count, o.at)
	if err != nil {
		replyErr(c, err)
		return
	}
	writePage(c, next, keys)
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
func cmdQueryIsMember(s *Server, c *client, args [][]byte) {
	o, ok := s.parseQueryOpts(c, "QUERY.ISMEMBER", args[3:], atOpts)
	if !ok || !s.checkExpr(c, args[1]) {
		return
	}
	in, err := s.engine.IsMember(transient(args[1]), transient(args[2]), o.at)
	if err != nil {
		replyErr(c, err)
		return
	}
	if in {
		c.enc.Int(1)
	} else {
		c.enc.Int(0)
	}
}

// QUERY.EXPLAIN expr [AT time]
func cmdQueryExplain(s *Server, c *client, args [][]byte) {
	o, ok := s.parseQueryOpts(c, "QUERY.EXPLAIN", args[2:], atOpts)
	if !ok || !s.checkExpr(c, args[1]) {
		return
	}
	root, err := s.engine.Explain(string(args[1]), o.at)
	if err != nil {
		replyErr(c, err)
		return
	}
	writeExplain(&c.enc, root)
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
func cmdQueryGroupBy(s *Server, c *client, args [][]byte) {
	o, ok := s.parseQueryOpts(c, "QUERY.GROUPBY", args[2:], groupByOpts)
	if !ok {
		return
	}
	vals, err := s.engine.GroupBy(string(args[1]), o.where, o.limit, o.at)
	if err != nil {
		replyErr(c, err)
		return
	}
	writeValueCounts(c, vals)
}

// QUERY.STATS measure [WHERE expr] [AT time]
func cmdQueryStats(s *Server, c *client, args [][]byte) {
	o, ok := s.parseQueryOpts(c, "QUERY.STATS", args[2:], whereOpts)
	if !ok || !s.checkExpr(c, args[1]) {
		return
	}
	st, err := s.engine.Stats(string(args[1]), o.where, o.at)
	if err != nil {
		replyErr(c, err)
		return
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
}

// QUERY.TOP k measure [WHERE expr] [AT time]
func cmdQueryTop(s *Server, c *client, args [][]byte) {
	k, ok := s.pageSize(c, args[1], "k")
	if !ok {
		return
	}
	o, ok := s.parseQueryOpts(c, "QUERY.TOP", args[3:], whereOpts)
	if !ok || !s.checkExpr(c, args[2]) {
		return
	}
	top, err := s.engine.Top(k, string(args[2]), o.where, o.at)
	if err != nil {
		replyErr(c, err)
		return
	}
	c.enc.Array(len(top))
	for _, r := range top {
		c.enc.Array(2)
		c.enc.BulkString(r.Key)
		c.enc.Int(r.Value)
	}
}

// transient views an argument as a string without copying it, for engine
// calls that only read their arguments during the call and keep nothing of
// them (lookups, and prepared expressions, which the engine copies before
// it keeps them). redcon reuses the argument's memory for the next command.
func transient(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
