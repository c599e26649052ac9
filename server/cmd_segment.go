package server

import (
	"strconv"
	"time"

	"github.com/segd-db/segd/index/errs"

	"github.com/segd-db/segd/index"
	"github.com/segd-db/segd/index/expr"
)

// Saved segment commands (SPEC §3 "Saved segments", §5).

// SEGMENT.HISTORY name [SINCE time]
func cmdSegmentHistory(s *Server, c *client, args [][]byte) error {
	opts, err := c.cmd.ParseOptions(args[2:])
	if err != nil {
		return err
	}
	var since time.Time
	if opts.Has("SINCE") {
		if since, err = expr.ParseTime(string(opts.Value("SINCE"))); err != nil {
			return err
		}
	}
	hist, err := s.engine.SegmentHistory(string(args[1]), since)
	if err != nil {
		return err
	}
	c.enc.Array(len(hist))
	for _, h := range hist {
		c.enc.Array(2)
		c.enc.Int(h.Time)
		c.enc.Int(int64(h.Cardinality))
	}
	return nil
}

// SEGMENT.CREATE name expr [REPLACE]
func cmdSegmentCreate(s *Server, c *client, args [][]byte) error {
	opts, err := c.cmd.ParseOptions(args[3:])
	if err != nil {
		return err
	}
	if len(args[2]) > s.cfg.MaxExpr {
		return errs.Err("expression of " + strconv.Itoa(len(args[2])) + " bytes is longer than the limit of " + strconv.Itoa(s.cfg.MaxExpr) + " (--max-expr-bytes)")
	}
	m := &index.Mutation{Op: index.OpSegmentCreate, Key: string(args[1]), Values: []string{string(args[2])}, Replace: opts.Has("REPLACE")}
	return s.write(c, m, replyN(c))
}

// SEGMENT.DROP name
func cmdSegmentDrop(s *Server, c *client, args [][]byte) error {
	return s.write(c, &index.Mutation{Op: index.OpSegmentDrop, Key: string(args[1])}, replyN(c))
}

// SEGMENT.LIST
func cmdSegmentList(s *Server, c *client, _ [][]byte) error {
	names := s.engine.Segments()
	c.enc.Array(len(names))
	for _, n := range names {
		c.enc.BulkString(n)
	}
	return nil
}

// SEGMENT.INFO name
func cmdSegmentInfo(s *Server, c *client, args [][]byte) error {
	info, err := s.engine.SegmentInfo(string(args[1]))
	if err != nil {
		return err
	}
	c.enc.Map(10)
	c.enc.BulkString("name")
	c.enc.BulkString(info.Name)
	c.enc.BulkString("expr")
	c.enc.BulkString(info.Expr)
	c.enc.BulkString("cardinality")
	c.enc.Int(int64(info.Cardinality))
	c.enc.BulkString("version")
	c.enc.Int(int64(info.Version))
	c.enc.BulkString("created")
	c.enc.Int(info.Created.Unix())
	c.enc.BulkString("updated")
	c.enc.Int(info.Updated.Unix())
	c.enc.BulkString("bytes")
	c.enc.Int(int64(info.Bytes))
	c.enc.BulkString("fields")
	c.enc.Array(len(info.Fields))
	for _, f := range info.Fields {
		c.enc.BulkString(f)
	}
	c.enc.BulkString("segments")
	c.enc.Array(len(info.Segments))
	for _, n := range info.Segments {
		c.enc.BulkString(n)
	}
	c.enc.BulkString("time_relative")
	if info.TimeRelative {
		c.enc.Int(1)
	} else {
		c.enc.Int(0)
	}
	return nil
}

// SEGMENT.CARD name
func cmdSegmentCard(s *Server, c *client, args [][]byte) error {
	n, err := s.engine.SegmentCard(string(args[1]))
	if err != nil {
		return err
	}
	c.enc.Int(int64(n))
	return nil
}

// SEGMENT.MEMBERS name [CURSOR c] [COUNT n]
func cmdSegmentMembers(s *Server, c *client, args [][]byte) error {
	o, err := s.parseQueryOpts(c, args[2:])
	if err != nil {
		return err
	}
	next, keys, err := s.engine.SegmentMembers(string(args[1]), o.cursor, o.count)
	if err != nil {
		return err
	}
	writePage(c, next, keys)
	return nil
}

// SEGMENT.ISMEMBER name key
func cmdSegmentIsMember(s *Server, c *client, args [][]byte) error {
	in, err := s.engine.SegmentIsMember(transient(args[1]), transient(args[2]))
	if err != nil {
		return err
	}
	c.enc.Int(b2i(in))
	return nil
}

// SEGMENT.MISMEMBER name key [key ...]
func cmdSegmentMIsMember(s *Server, c *client, args [][]byte) error {
	in, err := s.engine.SegmentMIsMember(string(args[1]), strs(args[2:]))
	if err != nil {
		return err
	}
	c.enc.Array(len(in))
	for _, v := range in {
		c.enc.Int(b2i(v))
	}
	return nil
}

// SEGMENT.OF key
func cmdSegmentOf(s *Server, c *client, args [][]byte) error {
	names := s.engine.SegmentsOf(transient(args[1]))
	c.enc.Array(len(names))
	for _, n := range names {
		c.enc.BulkString(n)
	}
	return nil
}

// SEGMENT.OVERLAP name name [name ...]
func cmdSegmentOverlap(s *Server, c *client, args [][]byte) error {
	m, err := s.engine.SegmentOverlap(strs(args[1:]))
	if err != nil {
		return err
	}
	c.enc.Array(len(m))
	for _, row := range m {
		c.enc.Array(len(row))
		for _, n := range row {
			c.enc.Int(int64(n))
		}
	}
	return nil
}

// SEGMENT.CHANGES name SINCE version [COUNT n]
func cmdSegmentChanges(s *Server, c *client, args [][]byte) error {
	opts, err := c.cmd.ParseOptions(args[2:])
	if err != nil {
		return err
	}
	if !opts.Has("SINCE") {
		return errs.Err("SEGMENT.CHANGES needs SINCE version: 0 for every kept change, else the last version you read")
	}
	since, err := strconv.ParseUint(string(opts.Value("SINCE")), 10, 64)
	if err != nil {
		return errs.Err("SINCE must be a version: a non-negative integer")
	}
	count := 0
	if opts.Has("COUNT") {
		n, err := s.pageSize(opts.Value("COUNT"), "COUNT")
		if err != nil {
			return err
		}
		count = n
	} else {
		count = s.cfg.MaxPage
	}
	next, changes, err := s.engine.SegmentChanges(string(args[1]), since, count)
	if err != nil {
		return err
	}
	c.enc.Array(2)
	c.enc.Int(int64(next))
	c.enc.Array(len(changes))
	for _, ch := range changes {
		c.enc.Array(4)
		c.enc.Int(int64(ch.Version))
		c.enc.BulkString(ch.Key)
		c.enc.BulkString(changeWord(ch.Enter))
		c.enc.Int(ch.Time)
	}
	return nil
}

func changeWord(enter bool) string {
	if enter {
		return "enter"
	}
	return "exit"
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
