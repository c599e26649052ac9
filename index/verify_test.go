package index

import "fmt"

// Every test of the package runs segment maintenance with its checks: each
// membership maintenance computes without reading the members (by a
// program, by the signature word, by a group's recheck) and each count of
// the members read in lockstep is compared with the members, or the plan,
// and a difference panics.
func init() {
	verify = func(what string, s *segment, id uint32, got bool, want func() bool) {
		if w := want(); got != w {
			panic(fmt.Sprintf("segment %s (%s): %s of %d computed %v, the reference says %v", s.name, s.text, what, id, got, w))
		}
	}
}
