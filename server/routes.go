package server

import (
	"fmt"
	"sort"
	"strings"

	"github.com/segd-db/segd/protocol"
)

// The route list: every command segd serves, by its name in the command
// table (protocol/table.go), with its handler. The table says everything
// else about a command (arity, flags, key positions, options, whether it
// reads saved segments, whether it runs in subscribed mode); dispatch
// checks those before the handler runs.
//
// To add a command: its entry in protocol's table, its handler (syntax
// comment first, returning an error instead of writing one), and one line
// here. checkRoutes, run by New and by TestRouteList, fails on a route the
// table does not have, on a table command without a route, and on a name
// routed twice.

// handler runs one command, writing its reply into c.enc. It reports a
// failure by returning an error (an *errs.Error, or an engine error)
// and then writes nothing: dispatch writes the error reply and counts it.
type handler func(s *Server, c *client, args [][]byte) error

// route is one line of the route list.
type route struct {
	name string // as in the command table: "query.count", "client|setname"
	h    handler
	// async: the handler submits a write and replies through write, so
	// that a pipeline of such writes is committed as one group without
	// waiting for each. It must write nothing to c.enc itself (the reply
	// would overtake those of the writes still pending); its errors are
	// queued in their place. Only a command the table flags "write" can be
	// async.
	async bool
}

const async = true

var routes = []route{
	// Schema (cmd_data.go)
	{"field.create", cmdFieldCreate, async},
	{"field.drop", cmdFieldDrop, async},
	{"field.list", cmdFieldList, false},
	{"field.info", cmdFieldInfo, false},
	{"field.values", cmdFieldValues, false},

	// Entities (cmd_data.go)
	{"ent.set", cmdEntSet, async},
	{"ent.unset", cmdEntUnset, async},
	{"ent.add", cmdEntAdd, async},
	{"ent.rem", cmdEntRem, async},
	{"ent.track", cmdEntTrack, async},
	{"ent.del", cmdEntDel, async},
	{"ent.get", cmdEntGet, false},
	{"ent.exists", cmdEntExists, false},
	{"ent.count", cmdEntCount, false},

	// Ad hoc queries (cmd_query.go)
	{"query.count", cmdQueryCount, false},
	{"query.members", cmdQueryMembers, false},
	{"query.ismember", cmdQueryIsMember, false},
	{"query.explain", cmdQueryExplain, false},
	{"query.groupby", cmdQueryGroupBy, false},
	{"query.stats", cmdQueryStats, false},
	{"query.top", cmdQueryTop, false},

	// Saved segments (cmd_segment.go)
	{"segment.create", cmdSegmentCreate, async},
	{"segment.drop", cmdSegmentDrop, async},
	{"segment.list", cmdSegmentList, false},
	{"segment.info", cmdSegmentInfo, false},
	{"segment.card", cmdSegmentCard, false},
	{"segment.members", cmdSegmentMembers, false},
	{"segment.ismember", cmdSegmentIsMember, false},
	{"segment.mismember", cmdSegmentMIsMember, false},
	{"segment.of", cmdSegmentOf, false},
	{"segment.overlap", cmdSegmentOverlap, false},
	{"segment.changes", cmdSegmentChanges, false},
	{"segment.history", cmdSegmentHistory, false},

	// Segment analytics (cmd_analytics.go)
	{"segment.profile", cmdSegmentProfile, false},
	{"segment.lookalike", cmdSegmentLookalike, false},
	{"segment.sample", cmdSegmentSample, false},

	// Connection (cmd_server.go)
	{"ping", cmdPing, false},
	{"echo", cmdEcho, false},
	{"quit", cmdQuit, false},
	{"reset", cmdReset, false},
	{"hello", cmdHello, false},
	{"auth", cmdAuth, false},
	{"select", cmdSelect, false},
	{"client|id", cmdClientID, false},
	{"client|setname", cmdClientSetName, false},
	{"client|getname", cmdClientGetName, false},
	{"client|setinfo", cmdClientSetInfo, false},
	{"client|list", cmdClientList, false},
	{"client|kill", cmdClientKill, false},
	{"client|info", cmdClientInfo, false},

	// Server (cmd_server.go, info.go)
	{"info", cmdInfo, false},
	{"command", cmdCommand, false},
	{"command|count", cmdCommandCount, false},
	{"command|info", cmdCommandInfo, false},
	{"command|docs", cmdCommandDocs, false},
	{"command|list", cmdCommandList, false},
	{"config|get", cmdConfigGet, false},
	{"config|set", cmdConfigSet, true},
	{"time", cmdTime, false},
	{"dbsize", cmdEntCount, false},
	{"save", cmdSave, false},
	{"bgsave", cmdBgsave, false},
	{"lastsave", cmdLastsave, false},
	{"flushall", cmdFlushall, false},
	{"shutdown", cmdShutdown, false},

	// Backup and restore (cmd_backup.go)
	{"backup.begin", cmdBackupBegin, false},
	{"backup.read", cmdBackupRead, false},
	{"backup.end", cmdBackupEnd, false},
	{"restore.begin", cmdRestoreBegin, false},
	{"restore.write", cmdRestoreWrite, false},
	{"restore.commit", cmdRestoreCommit, false},
	{"restore.abort", cmdRestoreAbort, false},

	// Pub/sub (pubsub.go)
	{"subscribe", cmdSubscribe, false},
	{"psubscribe", cmdPsubscribe, false},
	{"unsubscribe", cmdUnsubscribe, false},
	{"punsubscribe", cmdPunsubscribe, false},
	{"publish", cmdPublish, false},
}

// checkRoutes checks a route list against the command table: every route
// names a table command (a subcommand as "client|setname"), no name is
// routed twice, every table command has a route (a container such as
// CLIENT needs none of its own: its subcommands have them), and only
// commands flagged "write" are async. The error lists every problem.
func checkRoutes(rs []route) error {
	var problems []string
	seen := map[string]bool{}
	for _, r := range rs {
		cmd := protocol.LookupFull([]byte(r.name))
		switch {
		case seen[r.name]:
			problems = append(problems, "route "+r.name+" is listed twice")
		case cmd == nil || cmd.Name != r.name:
			problems = append(problems, "route "+r.name+" is not in the command table (protocol/table.go)")
		case r.h == nil:
			problems = append(problems, "route "+r.name+" has no handler")
		case r.async && !cmd.Writes():
			problems = append(problems, "route "+r.name+" is async but the table does not flag it write")
		}
		seen[r.name] = true
	}
	var missing []string
	for _, c := range tableCommands() {
		if !seen[c.Name] && len(c.Subcommands) == 0 {
			missing = append(missing, c.Name)
		}
	}
	sort.Strings(missing)
	for _, name := range missing {
		problems = append(problems, "table command "+name+" has no route (server/routes.go)")
	}
	if len(problems) > 0 {
		return fmt.Errorf("route list: %s", strings.Join(problems, "; "))
	}
	return nil
}

// tableCommands is every command and subcommand of the table.
func tableCommands() []*protocol.Command {
	var out []*protocol.Command
	for _, c := range protocol.All() {
		out = append(out, c)
		out = append(out, c.Subcommands...)
	}
	return out
}

// cmdEntry is what dispatch needs of a command, indexed by its ID.
type cmdEntry struct {
	h     handler
	async bool
}

// byID is the route list indexed by command ID: nil handlers for the
// containers without a handler of their own. New checks the list first.
var byID = func() []cmdEntry {
	t := make([]cmdEntry, protocol.Count())
	for _, r := range routes {
		if cmd := protocol.LookupFull([]byte(r.name)); cmd != nil {
			t[cmd.ID] = cmdEntry{h: r.h, async: r.async}
		}
	}
	return t
}()
