package server

import (
	"math"
	"strings"

	"github.com/segd-db/segd/index"

	"github.com/segd-db/segd/protocol"
)

// Segment analytics commands (SPEC §3 "Segment analytics").

func init() {
	register("segment.profile", cmdSegmentProfile)
	register("segment.lookalike", cmdSegmentLookalike)
	register("segment.sample", cmdSegmentSample)
}

var (
	lookalikeOpts     = []protocol.Option{{Token: "COUNT", N: 1}, {Token: "WHERE", N: 1}}
	segmentSampleOpts = []protocol.Option{{Token: "COUNT", N: 1}, {Token: "SEED", N: 1}}
)

// round4 keeps shares and lifts readable: 4 significant decimals.
func round4(f float64) float64 { return math.Round(f*1e4) / 1e4 }

// SEGMENT.PROFILE name [LIMIT n] [FIELDS field [field ...]]
func cmdSegmentProfile(s *Server, c *client, args [][]byte) {
	rest := args[2:]
	var fields []string
	for i, a := range rest {
		if strings.EqualFold(string(a), "FIELDS") {
			if i == len(rest)-1 {
				c.enc.Error("ERR FIELDS needs at least one field name")
				return
			}
			fields = strs(rest[i+1:])
			rest = rest[:i]
			break
		}
	}
	limit, ok := s.limitOption(c, rest, "LIMIT")
	if !ok {
		return
	}
	s.tickFirst()
	prof, err := s.engine.Profile(string(args[1]), limit, fields)
	if err != nil {
		replyErr(c, err)
		return
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
}

// SEGMENT.LOOKALIKE name COUNT n [WHERE expr]
func cmdSegmentLookalike(s *Server, c *client, args [][]byte) {
	opts, err := protocol.ParseOptions("SEGMENT.LOOKALIKE", args[2:], lookalikeOpts)
	if err != nil {
		c.enc.Error("ERR " + err.Error())
		return
	}
	if !opts.Has("COUNT") {
		c.enc.Error("ERR SEGMENT.LOOKALIKE needs COUNT n: how many lookalikes to return")
		return
	}
	n, ok := s.pageSize(c, opts.Value("COUNT"), "COUNT")
	if !ok {
		return
	}
	where := ""
	if opts.Has("WHERE") {
		if !s.checkExpr(c, opts.Value("WHERE")) {
			return
		}
		where = string(opts.Value("WHERE"))
	}
	s.tickFirst()
	ranked, err := s.engine.Lookalike(string(args[1]), n, where)
	if err != nil {
		replyErr(c, err)
		return
	}
	c.enc.Array(len(ranked))
	for _, r := range ranked {
		c.enc.Array(2)
		c.enc.BulkString(r.Key)
		c.enc.Double(float64(r.Value) / index.LookalikeScale)
	}
}

// SEGMENT.SAMPLE name COUNT n [SEED s]
func cmdSegmentSample(s *Server, c *client, args [][]byte) {
	opts, err := protocol.ParseOptions("SEGMENT.SAMPLE", args[2:], segmentSampleOpts)
	if err != nil {
		c.enc.Error("ERR " + err.Error())
		return
	}
	if !opts.Has("COUNT") {
		c.enc.Error("ERR SEGMENT.SAMPLE needs COUNT n: how many members to draw")
		return
	}
	n, ok := s.pageSize(c, opts.Value("COUNT"), "COUNT")
	if !ok {
		return
	}
	var seed int64
	if opts.Has("SEED") {
		if seed, err = protocol.ParseInt(opts.Value("SEED")); err != nil {
			c.enc.Error("ERR SEED must be an integer")
			return
		}
	}
	s.tickFirst()
	keys, err := s.engine.SegmentSample(string(args[1]), n, uint64(seed))
	if err != nil {
		replyErr(c, err)
		return
	}
	c.enc.Array(len(keys))
	for _, k := range keys {
		c.enc.BulkString(k)
	}
}
