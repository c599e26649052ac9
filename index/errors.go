package index

import (
	"fmt"

	"github.com/segd-db/segd/protocol"
)

// Error is a client-facing error: a Redis error code (ERR, WRONGTYPE) and a
// sentence a person can act on. It is protocol.Error, the one error type of
// segd's replies. The engine's sentences name no wire command: the server
// adds a command's context where a reply needs it.
type Error = protocol.Error

var (
	// ErrWrongType matches every WRONGTYPE error.
	ErrWrongType = &Error{Code: protocol.CodeWrongType}
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
	return &Error{Code: protocol.CodeWrongType, Msg: fmt.Sprintf("field '%s' is %s", e.Field, e.Kind)}
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
	return &Error{Code: protocol.CodeErr, Msg: fmt.Sprintf("segment '%s' exists: drop it first or create it again with REPLACE", e.Name)}
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

// SyntaxError is an expression syntax error at a 1-based character position.
type SyntaxError struct {
	Pos int
	Msg string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("ERR syntax error at %d: %s", e.Pos, e.Msg) }

// ErrorCode is err's Redis code and message (protocol.ErrorOf).
func ErrorCode(err error) (code, msg string) {
	e := protocol.ErrorOf(err)
	return e.Code, e.Msg
}
