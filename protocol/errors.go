package protocol

import (
	"errors"
	"fmt"

	"github.com/segd-db/segd/index/errs"
)

// Error is segd's one error type (index/errs): a Redis error code and a
// sentence a person can act on.
type Error = errs.Error

// knownCodes are the codes ErrorOf recognises at the start of an error's
// text: segd's own and those a Redis server (read through go-redis) sends.
var knownCodes = []string{
	errs.CodeErr, errs.CodeWrongType, errs.CodeNoAuth, errs.CodeWrongPass, errs.CodeNoProto, errs.CodeLoading,
	errs.CodeBusy, errs.CodeMoved, errs.CodeTryAgain, "ASK", "CLUSTERDOWN", "CROSSSLOT",
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
		return &Error{Code: errs.CodeWrongType, Msg: fmt.Sprintf("field '%s' is %s, use %s", field, kind, writeCommandFor(kind))}
	}
	var se SegmentExistsError
	if errors.As(err, &se) {
		name := se.ExistingSegment()
		return errs.Errf("segment '%s' exists: drop it first or use SEGMENT.CREATE %s expr REPLACE", name, name)
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
	return &Error{Code: errs.CodeErr, Msg: msg}
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
