// Package errs holds segd's one error type: a Redis error code and a
// sentence a person can act on. It sits at the bottom of the package graph
// so that the expression language, the engine, the protocol and the server
// all report failures with it; the server writes it as "-CODE sentence", the
// explorer as JSON {code, message}.
package errs

import "fmt"

// Error is a client-facing error.
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

// New is an error of a code.
func New(code, msg string) *Error { return &Error{Code: code, Msg: msg} }

// Err is an ERR error.
func Err(msg string) *Error { return &Error{Code: CodeErr, Msg: msg} }

// Errf is an ERR error with a formatted sentence.
func Errf(format string, args ...any) *Error {
	return &Error{Code: CodeErr, Msg: fmt.Sprintf(format, args...)}
}
