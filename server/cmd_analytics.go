package server

import (
	"math"
	"strings"

	"github.com/segd-db/segd/index/errs"

	"github.com/segd-db/segd/index"

	"github.com/segd-db/segd/protocol"
)

// Segment analytics commands (SPEC §3 "Segment analytics").

// round4 keeps shares and lifts readable: 4 significant decimals.
func round4(f float64) float64 { return math.Round(f*1e4) / 1e4 }

// SEGMENT.PROFILE name [LIMIT n] [FIELDS field [field ...]]
func cmdSegmentProfile(s *Server, c *client, args [][]byte) error {
	rest := args[2:]
	var fields []string
	for i, a := range rest {
		if strings.EqualFold(string(a), "FIELDS") {
			if i == len(rest)-1 {
				return errs.Err("FIELDS needs at least one field name")
			}
			fields = strs(rest[i+1:])
			rest = rest[:i]
			break
		}
	}
	limit, err := s.limitOption(rest, "LIMIT")
	if err != nil {
		return err
	}
	prof, err := s.engine.Profile(string(args[1]), limit, fields)
	if err != nil {
		return err
	}
	c.enc.Array(len(prof))
	for _, p := range prof {
		c.enc.Array(6)
		c.enc.BulkString(p.Field)
		c.enc.BulkString(p.Value)
		c.enc.Int(int64(p.InSegment))
		c.enc.Double(round4(p.ShareInSegment))
		c.enc.Double(round4(p.ShareOverall))
		c.enc.Double(round4(p.Lift))
	}
	return nil
}

// SEGMENT.LOOKALIKE name COUNT n [WHERE expr]
func cmdSegmentLookalike(s *Server, c *client, args [][]byte) error {
	opts, err := c.cmd.ParseOptions(args[2:])
	if err != nil {
		return err
	}
	if !opts.Has("COUNT") {
		return errs.Err("SEGMENT.LOOKALIKE needs COUNT n: how many lookalikes to return")
	}
	n, err := s.pageSize(opts.Value("COUNT"), "COUNT")
	if err != nil {
		return err
	}
	where := ""
	if opts.Has("WHERE") {
		if err := s.checkExpr(opts.Value("WHERE")); err != nil {
			return err
		}
		where = string(opts.Value("WHERE"))
	}
	ranked, err := s.engine.Lookalike(string(args[1]), n, where)
	if err != nil {
		return err
	}
	c.enc.Array(len(ranked))
	for _, r := range ranked {
		c.enc.Array(2)
		c.enc.BulkString(r.Key)
		c.enc.Double(float64(r.Value) / index.LookalikeScale)
	}
	return nil
}

// SEGMENT.SAMPLE name COUNT n [SEED s]
func cmdSegmentSample(s *Server, c *client, args [][]byte) error {
	opts, err := c.cmd.ParseOptions(args[2:])
	if err != nil {
		return err
	}
	if !opts.Has("COUNT") {
		return errs.Err("SEGMENT.SAMPLE needs COUNT n: how many members to draw")
	}
	n, err := s.pageSize(opts.Value("COUNT"), "COUNT")
	if err != nil {
		return err
	}
	var seed int64
	if opts.Has("SEED") {
		if seed, err = protocol.ParseInt(opts.Value("SEED")); err != nil {
			return errs.Err("SEED must be an integer")
		}
	}
	keys, err := s.engine.SegmentSample(string(args[1]), n, uint64(seed))
	if err != nil {
		return err
	}
	c.enc.Array(len(keys))
	for _, k := range keys {
		c.enc.BulkString(k)
	}
	return nil
}
