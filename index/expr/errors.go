package expr

import "fmt"

// Error is a client-facing error: a Redis error code (ERR, WRONGTYPE) and a
// sentence a person can act on. The server writes it as "CODE message". It is
// defined here, at the bottom of the package graph, so that the expression
// language and the engine (index.Error) report failures with one type.
type Error struct {
	Code string
	Msg  string
}

func (e *Error) Error() string { return e.Code + " " + e.Msg }

// Is reports whether target is an *Error with the same code and no message,
// so that errors.Is(err, &Error{Code: "WRONGTYPE"}) matches every error of
// that code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Msg == "" && t.Code == e.Code
}

func errorf(format string, args ...any) error {
	return &Error{Code: "ERR", Msg: fmt.Sprintf(format, args...)}
}

// SyntaxError is an expression syntax error at a 1-based character position.
type SyntaxError struct {
	Pos int
	Msg string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("ERR syntax error at %d: %s", e.Pos, e.Msg) }
