package index

import (
	"errors"
	"fmt"

	"github.com/segd-db/segd/index/expr"
)

// Error is a client-facing error: a Redis error code (ERR, WRONGTYPE) and a
// sentence a person can act on. The server writes it as "CODE message". The
// expression language reports its errors with the same type.
type Error = expr.Error

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

// ErrorCode splits err into a Redis error code and message, for the wire.
func ErrorCode(err error) (code, msg string) {
	var ie *Error
	if errors.As(err, &ie) {
		return ie.Code, ie.Msg
	}
	var se *expr.SyntaxError
	if errors.As(err, &se) {
		return "ERR", fmt.Sprintf("syntax error at %d: %s", se.Pos, se.Msg)
	}
	return "ERR", err.Error()
}
