package server

import (
	"errors"
	"fmt"

	"github.com/segd-db/segd/index"
	"github.com/segd-db/segd/protocol"
)

// wireError is the reply to a command that failed with err: err as a
// protocol.Error, with the wire context that the engine's sentences leave
// out (which command writes a field's kind, how to replace a segment).
func (s *Server) wireError(err error) *protocol.Error {
	var ke *index.KindError
	if errors.As(err, &ke) {
		return protocol.NewError(protocol.CodeWrongType, fmt.Sprintf("field '%s' is %s, use %s", ke.Field, ke.Kind, writeCommandFor(ke.Kind)))
	}
	var se *index.SegmentExistsError
	if errors.As(err, &se) {
		return protocol.Errf("segment '%s' exists: drop it first or use SEGMENT.CREATE %s expr REPLACE", se.Name, se.Name)
	}
	return protocol.ErrorOf(err)
}

// writeCommandFor names the commands that write a field kind.
func writeCommandFor(k index.Kind) string {
	switch k {
	case index.KindTags:
		return "ENT.ADD and ENT.REM"
	case index.KindEvent:
		return "ENT.TRACK"
	}
	return "ENT.SET"
}
