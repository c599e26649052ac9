package expr

import (
	"fmt"

	"github.com/segd-db/segd/index/errs"
)

// Error is segd's one error type (errs.Error): the expression language
// reports its failures with it, as the engine does.
type Error = errs.Error

func errorf(format string, args ...any) error { return errs.Errf(format, args...) }

// SyntaxError is an expression syntax error at a 1-based character position.
type SyntaxError struct {
	Pos int
	Msg string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("ERR syntax error at %d: %s", e.Pos, e.Msg) }
