package server

import (
	"fmt"
	"strings"
	"testing"
)

// TestSegmentAnalytics: SEGMENT.PROFILE, LOOKALIKE and SAMPLE over the wire,
// RESP2 and RESP3, on a planted segment (country PT and interest surf).
func TestSegmentAnalytics(t *testing.T) {
	t.Parallel()
	forEachProto(t, func(t *testing.T, proto int) {
		srv := startServer(t, nil)
		c := newClient(t, srv, proto)
		countries := []string{"PT", "FR", "DE", "US"}
		for i := 0; i < 400; i++ {
			key := fmt.Sprintf("u:%d", i)
			do(t, c, "ENT.SET", key, "country", countries[i%4], "age", 20+i%50)
			do(t, c, "ENT.ADD", key, "interests", []string{"surf", "golf", "wine"}[i%3])
		}
		do(t, c, "SEGMENT.CREATE", "surfers", "country:PT AND interests:surf")
		prof := doArr(t, c, "SEGMENT.PROFILE", "surfers", "LIMIT", "2")
		if len(prof) != 2 {
			t.Fatalf("profile %v", prof)
		}
		top := map[string]bool{}
		for _, row := range prof {
			row := row.([]any)
			top[fmt.Sprint(row[0], ":", row[1])] = true
			if len(row) != 6 {
				t.Fatalf("row %v", row)
			}
			expectEq(t, "share in segment", fmt.Sprint(row[3]), "1")
		}
		if !top["country:PT"] || !top["interests:surf"] {
			t.Errorf("top of the profile = %v", prof)
		}
		only := doArr(t, c, "SEGMENT.PROFILE", "surfers", "FIELDS", "interests")
		expectEq(t, "FIELDS interests", only[0].([]any)[1], "surf")

		look := doArr(t, c, "SEGMENT.LOOKALIKE", "surfers", "COUNT", "5")
		expectEq(t, "lookalikes", len(look), 5)
		for _, r := range look {
			key := r.([]any)[0].(string)
			if doInt(t, c, "SEGMENT.ISMEMBER", "surfers", key) != 0 {
				t.Errorf("lookalike %s is a member", key)
			}
			if doInt(t, c, "QUERY.ISMEMBER", "country:PT OR interests:surf", key) != 1 {
				t.Errorf("lookalike %s has neither PT nor surf", key)
			}
		}
		where := doArr(t, c, "SEGMENT.LOOKALIKE", "surfers", "COUNT", "3", "WHERE", "country:FR")
		for _, r := range where {
			if k := r.([]any)[0].(string); doInt(t, c, "QUERY.ISMEMBER", "country:FR", k) != 1 {
				t.Errorf("WHERE country:FR gave %s", k)
			}
		}
		a := doArr(t, c, "SEGMENT.SAMPLE", "surfers", "COUNT", "4", "SEED", "9")
		b := doArr(t, c, "SEGMENT.SAMPLE", "surfers", "COUNT", "4", "SEED", "9")
		expectEq(t, "sample is stable", a, b)
		expectEq(t, "sample size", len(a), 4)
		for _, e := range []struct {
			args []any
			want string
		}{
			{[]any{"SEGMENT.PROFILE", "nosuch"}, "ERR unknown segment 'nosuch'"},
			{[]any{"SEGMENT.PROFILE", "surfers", "FIELDS"}, "ERR FIELDS needs"},
			{[]any{"SEGMENT.PROFILE", "surfers", "FIELDS", "nosuch"}, "ERR unknown field 'nosuch'"},
			{[]any{"SEGMENT.LOOKALIKE", "surfers", "WHERE", "ALL", "LIMIT", "3"}, "ERR unknown option"},
			{[]any{"SEGMENT.LOOKALIKE", "surfers", "COUNT", "0"}, "ERR COUNT must be a positive integer"},
			{[]any{"SEGMENT.SAMPLE", "surfers", "SEED", "1", "COUNT", "x"}, "ERR COUNT must be a positive integer"},
		} {
			if got := doErr(t, c, e.args...); !strings.HasPrefix(got, e.want) {
				t.Errorf("%v = %q, want %q…", e.args, got, e.want)
			}
		}
	})
}
