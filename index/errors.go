package index

import (
	"errors"
	"fmt"
)

// Error is a client-facing error: a Redis error code (ERR, WRONGTYPE) and a
// sentence a person can act on. The server writes it as "CODE message".
type Error struct {
	Code string
	Msg  string
}

func (e *Error) Error() string { return e.Code + " " + e.Msg }

// Is lets errors.Is(err, ErrWrongType) match every WRONGTYPE error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Msg == "" && t.Code == e.Code
}

var (
	// ErrWrongType matches every WRONGTYPE error.
	ErrWrongType = &Error{Code: "WRONGTYPE"}
)

func errorf(format string, args ...any) error {
	return &Error{Code: "ERR", Msg: fmt.Sprintf(format, args...)}
}

func wrongTypef(format string, args ...any) error {
	return &Error{Code: "WRONGTYPE", Msg: fmt.Sprintf(format, args...)}
}

// SyntaxError is an expression syntax error at a 1-based character position.
type SyntaxError struct {
	Pos int
	Msg string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("ERR syntax error at %d: %s", e.Pos, e.Msg) }

// ErrorCode splits err into a Redis error code and message, for the wire.
func ErrorCode(err error) (code, msg string) {
	var ie *Error
	if errors.As(err, &ie) {
		return ie.Code, ie.Msg
	}
	var se *SyntaxError
	if errors.As(err, &se) {
		return "ERR", fmt.Sprintf("syntax error at %d: %s", se.Pos, se.Msg)
	}
	return "ERR", err.Error()
}
