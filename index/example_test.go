package index_test

import (
	"fmt"
	"time"

	"github.com/segd-db/segd/index"
)

// The engine works embedded, without the server: writes are mutations,
// queries are expressions.
func Example() {
	e := index.New()
	for _, m := range []*index.Mutation{
		{Op: index.OpSet, Key: "u:1", Pairs: []index.Pair{{Field: "country", Value: "PT"}, {Field: "age", Value: "31"}}},
		{Op: index.OpSet, Key: "u:2", Pairs: []index.Pair{{Field: "country", Value: "PT"}, {Field: "age", Value: "45"}}},
		{Op: index.OpAdd, Key: "u:1", Field: "interests", Values: []string{"fitness", "travel"}},
	} {
		if _, err := e.Apply(m); err != nil {
			panic(err)
		}
	}
	n, _ := e.Count("country:PT AND age:[25 TO 35] AND interests:fitness", time.Time{})
	in, _ := e.IsMember("country:PT AND NOT interests:*", "u:2", time.Time{})
	_, err := e.Count("purchase:shirts >= 3 IN 90d", time.Time{})
	fmt.Println(n, in)
	fmt.Println(err)
	// Output:
	// 1 true
	// ERR unknown field 'purchase'
}
