package index

import (
	"errors"
	"fmt"

	"github.com/segd-db/segd/index/errs"
	"github.com/segd-db/segd/index/expr"
)

// Error is segd's one error type (errs.Error): a Redis error code and a
// sentence a person can act on. The engine's sentences name no wire
// command: the server adds a command's context where a reply needs it.
type Error = errs.Error

var (
	// ErrWrongType matches every WRONGTYPE error.
	ErrWrongType = &Error{Code: errs.CodeWrongType}
)

// KindError is a write to a field of another kind. It converts to the
// WRONGTYPE Error "field 'country' is ENUM" (errors.As);
// protocol.ErrorOf adds which command writes that kind.
type KindError struct {
	Field string
	Kind  Kind
}

func (e *KindError) Error() string { return e.wire().Error() }

func (e *KindError) wire() *Error {
	return &Error{Code: errs.CodeWrongType, Msg: fmt.Sprintf("field '%s' is %s", e.Field, e.Kind)}
}

// FieldKind is the field and its kind (protocol.FieldKindError).
func (e *KindError) FieldKind() (field, kind string) { return e.Field, e.Kind.String() }

// Is lets errors.Is(err, ErrWrongType) match it.
func (e *KindError) Is(target error) bool { return e.wire().Is(target) }

// As converts it to an *Error.
func (e *KindError) As(target any) bool {
	if p, ok := target.(**Error); ok {
		*p = e.wire()
		return true
	}
	return false
}

// SegmentExistsError is the creation of a saved segment under a name that
// exists, without Replace. It converts to an ERR Error (errors.As);
// protocol.ErrorOf says how to replace it.
type SegmentExistsError struct{ Name string }

// ExistingSegment is the name (protocol.SegmentExistsError).
func (e *SegmentExistsError) ExistingSegment() string { return e.Name }

func (e *SegmentExistsError) Error() string { return e.wire().Error() }

func (e *SegmentExistsError) wire() *Error {
	return &Error{Code: errs.CodeErr, Msg: fmt.Sprintf("segment '%s' exists: drop it first or create it again with REPLACE", e.Name)}
}

// As converts it to an *Error.
func (e *SegmentExistsError) As(target any) bool {
	if p, ok := target.(**Error); ok {
		*p = e.wire()
		return true
	}
	return false
}

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
