package protocol

import (
	"errors"
	"fmt"
)

// Error is the one error type of segd's replies: a Redis error code and a
// sentence a person can act on. The engine (index.Error is this type), the
// server and the explorer all report failures with it; the server writes it
// as "-CODE sentence", the explorer as JSON {code, message}.
type Error struct {
	Code string
	Msg  string
}

// The error codes segd answers with. ERR is the general one; the others
// let a client tell a condition apart without reading the sentence.
const (
	CodeErr       = "ERR"
	CodeWrongType = "WRONGTYPE" // a field of another kind
	CodeNoAuth    = "NOAUTH"    // authentication required
	CodeWrongPass = "WRONGPASS" // bad credentials
	CodeNoProto   = "NOPROTO"   // unsupported protocol version
	CodeLoading   = "LOADING"   // the data set is still loading
	CodeBusy      = "BUSY"      // the server cannot take this now
	CodeMoved     = "MOVED"     // the key lives on another node
	CodeTryAgain  = "TRYAGAIN"  // retry later
)

func (e *Error) Error() string { return e.Code + " " + e.Msg }

// Is lets errors.Is(err, &Error{Code: "WRONGTYPE"}) match every error of a
// code: a target without a message matches by code alone.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Msg == "" && t.Code == e.Code
}

// NewError is an error of a code.
func NewError(code, msg string) *Error { return &Error{Code: code, Msg: msg} }

// Err is an ERR error.
func Err(msg string) *Error { return &Error{Code: CodeErr, Msg: msg} }

// Errf is an ERR error with a formatted sentence.
func Errf(format string, args ...any) *Error {
	return &Error{Code: CodeErr, Msg: fmt.Sprintf(format, args...)}
}

// knownCodes are the codes ErrorOf recognises at the start of an error's
// text: segd's own and those a Redis server (read through go-redis) sends.
var knownCodes = []string{
	CodeErr, CodeWrongType, CodeNoAuth, CodeWrongPass, CodeNoProto, CodeLoading,
	CodeBusy, CodeMoved, CodeTryAgain, "ASK", "CLUSTERDOWN", "CROSSSLOT",
	"MISCONF", "NOPERM", "OOM", "READONLY",
}

// FieldKindError is an error about a write to a field of another kind
// (index.KindError). The engine's sentence names no command; ErrorOf adds
// which command writes the field's kind.
type FieldKindError interface {
	error
	FieldKind() (field, kind string)
}

// SegmentExistsError is an error about creating a saved segment under a
// name that exists (index.SegmentExistsError); ErrorOf says how to replace
// it.
type SegmentExistsError interface {
	error
	ExistingSegment() string
}

// ErrorOf turns any error into the *Error a client is answered with:
//   - a FieldKindError or SegmentExistsError is phrased with the command
//     that resolves it ("field 'tier' is ENUM, use ENT.SET");
//   - an *Error in err's chain (or one that an error in the chain converts
//     to with errors.As) is returned as it is;
//   - any other error becomes ERR with its text, unless that text already
//     begins with a known code and a space ("LOADING sentence", as an error
//     reply read back by a Redis client is), which is then kept.
//
// nil gives nil.
func ErrorOf(err error) *Error {
	if err == nil {
		return nil
	}
	var fk FieldKindError
	if errors.As(err, &fk) {
		field, kind := fk.FieldKind()
		return &Error{Code: CodeWrongType, Msg: fmt.Sprintf("field '%s' is %s, use %s", field, kind, writeCommandFor(kind))}
	}
	var se SegmentExistsError
	if errors.As(err, &se) {
		name := se.ExistingSegment()
		return Errf("segment '%s' exists: drop it first or use SEGMENT.CREATE %s expr REPLACE", name, name)
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	msg := err.Error()
	for _, code := range knownCodes {
		if len(msg) > len(code) && msg[len(code)] == ' ' && msg[:len(code)] == code {
			return &Error{Code: code, Msg: msg[len(code)+1:]}
		}
	}
	return &Error{Code: CodeErr, Msg: msg}
}

// writeCommandFor names the commands that write a field kind.
func writeCommandFor(kind string) string {
	switch kind {
	case "TAGS":
		return "ENT.ADD and ENT.REM"
	case "EVENT":
		return "ENT.TRACK"
	}
	return "ENT.SET"
}

// Err appends an error reply of e.
func (enc *Enc) Err(e *Error) {
	enc.B = append(enc.B, '-')
	enc.B = appendLine(enc.B, e.Code)
	enc.B = append(enc.B, ' ')
	enc.B = appendLine(enc.B, e.Msg)
	enc.B = append(enc.B, '\r', '\n')
}
