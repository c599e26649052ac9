package server

import (
	"strings"

	"github.com/segd-db/segd/index"
	"github.com/segd-db/segd/index/errs"
)

// fieldsCreated logs and counts the fields a write created (auto schema
// mode): a misspelt field name in an application shows up here instead of
// silently becoming a field.
func (s *Server) fieldsCreated(m *index.Mutation, names []string) {
	for _, name := range names {
		s.metrics.fieldsCreated.Inc()
		s.log.Info("field created by a write (schema mode auto; --schema strict refuses unknown fields)",
			"field", name, "key", m.Key)
	}
}

// applySchemaFlag makes --schema, when given, the stored schema mode: a
// logged write like CONFIG SET schema, so that the mode outlives the flag.
func (s *Server) applySchemaFlag() {
	if s.cfg.Schema == "" || s.cfg.Schema == s.engine.SchemaMode() {
		return
	}
	r, err := s.commits.submit(&index.Mutation{Op: index.OpSchemaMode, Values: []string{s.cfg.Schema}})
	if err == nil {
		_, err = s.commits.wait(r)
	}
	if err != nil {
		s.log.Error("--schema could not be applied", "schema", s.cfg.Schema, "err", err)
		return
	}
	s.log.Info("schema mode set by --schema", "schema", s.cfg.Schema)
}

// CONFIG SET parameter value [parameter value ...]
//
// Only the schema mode can be set at run time (auto or strict); it is a
// logged write, so it is persisted like the schema itself.
func cmdConfigSet(s *Server, c *client, args [][]byte) error {
	if len(args)%2 != 0 {
		return errs.Err("wrong number of arguments for 'config|set' command")
	}
	var mode string
	for i := 2; i < len(args); i += 2 {
		name, value := strings.ToLower(string(args[i])), strings.ToLower(string(args[i+1]))
		if name != "schema" {
			return errs.Errf("CONFIG SET: '%.64s' cannot be set at run time; only schema can (other settings are flags: segd --help)", args[i])
		}
		if value != "auto" && value != "strict" {
			return errs.Errf("CONFIG SET schema: '%.64s' is not a schema mode: use auto or strict", args[i+1])
		}
		mode = value
	}
	return s.write(c, &index.Mutation{Op: index.OpSchemaMode, Values: []string{mode}}, func(index.Result) { c.enc.SimpleString("OK") })
}
