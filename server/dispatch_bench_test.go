package server

import (
	"testing"

	"github.com/segd-db/segd/index"
)

// BenchmarkDispatch runs commands through dispatch in process (no network):
// the table lookup, the checks, the route, the handler and the metrics.
func BenchmarkDispatch(b *testing.B) {
	srv := startServer(b, nil)
	if _, err := srv.engine.Apply(&index.Mutation{Op: index.OpSet, Key: "u:1", Pairs: []index.Pair{{Field: "tier", Value: "gold"}}}); err != nil {
		b.Fatal(err)
	}
	if _, err := srv.engine.Apply(&index.Mutation{Op: index.OpSegmentCreate, Key: "gold", Values: []string{"tier:gold"}}); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		args []string
	}{
		{"PING", []string{"PING"}},
		{"SEGMENT.ISMEMBER", []string{"SEGMENT.ISMEMBER", "gold", "u:1"}},
		{"ENT.EXISTS", []string{"ENT.EXISTS", "u:1"}},
		{"QUERY.COUNT AT", []string{"QUERY.COUNT", "tier:gold", "AT", "2026-01-01"}},
		{"error", []string{"SEGMENT.CARD", "nosuch"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := &client{proto: 2, authed: true}
			c.enc.Proto = 2
			args := make([][]byte, len(bc.args))
			for i, a := range bc.args {
				args[i] = []byte(a)
			}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				c.enc.Reset()
				srv.dispatch(c, args)
			}
		})
	}
}
