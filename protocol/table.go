package protocol

// The command table: every command of SPEC section 3 but the SEGMENT.*
// family. Argument specs follow the SPEC syntax so that redis-cli's hints
// read like the SPEC.

const since = "0.1.0"

// Argument constructors keep the table readable.

func keyArg(name string) Arg  { return Arg{Name: name, Type: "key"} }
func strArg(name string) Arg  { return Arg{Name: name, Type: "string"} }
func intArg(name string) Arg  { return Arg{Name: name, Type: "integer"} }
func patArg(name string) Arg  { return Arg{Name: name, Type: "pattern"} }
func pure(token string) Arg   { return Arg{Name: lowerASCII(token), Type: "pure-token", Token: token} }
func opt(a Arg) Arg           { a.Optional = true; return a }
func multi(a Arg) Arg         { a.Multiple = true; return a }
func tok(t string, a Arg) Arg { a.Token = t; return a }
func oneof(name string, alts ...Arg) Arg {
	return Arg{Name: name, Type: "oneof", Args: alts}
}
func block(name string, parts ...Arg) Arg {
	return Arg{Name: name, Type: "block", Args: parts}
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// Shared argument specs.
var (
	atArg    = opt(tok("AT", strArg("time")))
	whereArg = opt(tok("WHERE", strArg("expr")))
	limitArg = opt(tok("LIMIT", intArg("count")))
)

// Flag sets.
var (
	fWrite      = []string{"write", "denyoom"}
	fWriteFree  = []string{"write"} // writes that free memory (no denyoom)
	fRead       = []string{"readonly"}
	fReadFast   = []string{"readonly", "fast"}
	fConnection = []string{"noscript", "loading", "stale", "fast", "no_auth", "allow_busy"}
	fAdmin      = []string{"admin", "noscript", "no_multi"}
	fAdminWrite = []string{"admin", "write", "noscript", "no_multi"}
)

const queryComplexity = "Depends on the expression: bitmap operations over the values, ranges and windows it names"

var table = []*Command{
	// ---- Schema ----
	{
		Name: "field.create", Arity: -3, Flags: fWrite, Group: "segd-schema", Since: since,
		Summary:    "Create a field of a fixed kind: ENUM, TAGS, INT or EVENT (with its time buckets and retention)",
		Complexity: "O(1)",
		Args: []Arg{
			strArg("field"),
			oneof("kind", pure("ENUM"), pure("TAGS"), pure("INT"), pure("EVENT")),
			opt(tok("GRANULARITY", oneof("granularity", pure("HOUR"), pure("DAY")))),
			opt(tok("RETENTION", strArg("duration"))),
		},
	},
	{
		Name: "field.drop", Arity: -2, Flags: fWriteFree, Group: "segd-schema", Since: since,
		Summary:    "Delete a field and every value it holds, unless a saved segment uses it; FORCE when entities still hold it",
		Complexity: "O(N) where N is the number of distinct values (and event buckets) of the field",
		Args:       []Arg{strArg("field"), opt(pure("FORCE"))},
	},
	{
		Name: "field.list", Arity: 1, Flags: fRead, Group: "segd-schema", Since: since,
		Summary:    "List every field with its kind",
		Complexity: "O(N) where N is the number of fields",
	},
	{
		Name: "field.info", Arity: 2, Flags: fRead, Group: "segd-schema", Since: since,
		Summary:    "Describe a field: kind, distinct values, entities with a value, memory, granularity and retention",
		Complexity: "O(N) where N is the number of distinct values of the field",
		Args:       []Arg{strArg("field")},
	},
	{
		Name: "field.values", Arity: -2, Flags: fRead, Group: "segd-schema", Since: since,
		Summary:    "List a field's values with the number of entities holding each, most entities first",
		Complexity: "O(N log N) where N is the number of distinct values of the field",
		Args:       []Arg{strArg("field"), limitArg},
	},

	// ---- Entities ----
	{
		Name: "ent.set", Arity: -4, Flags: fWrite, FirstKey: 1, LastKey: 1, Step: 1,
		Group: "segd-entity", Since: since,
		Summary:    "Set ENUM or INT field values of an entity, all or nothing; returns the number of fields changed",
		Complexity: "O(N) where N is the number of fields set, plus the saved segments that use them",
		Args:       []Arg{keyArg("key"), multi(block("data", strArg("field"), strArg("value")))},
	},
	{
		Name: "ent.unset", Arity: -3, Flags: fWriteFree, FirstKey: 1, LastKey: 1, Step: 1,
		Group: "segd-entity", Since: since,
		Summary:    "Remove the values of the given fields from an entity; returns the number of fields that had one",
		Complexity: "O(N) where N is the number of fields, plus the saved segments that use them",
		Args:       []Arg{keyArg("key"), multi(strArg("field"))},
	},
	{
		Name: "ent.add", Arity: -4, Flags: fWrite, FirstKey: 1, LastKey: 1, Step: 1,
		Group: "segd-entity", Since: since,
		Summary:    "Add values to a TAGS field of an entity; returns the number of values newly added",
		Complexity: "O(N) where N is the number of values, plus the saved segments that use the field",
		Args:       []Arg{keyArg("key"), strArg("field"), multi(strArg("value"))},
	},
	{
		Name: "ent.rem", Arity: -4, Flags: fWriteFree, FirstKey: 1, LastKey: 1, Step: 1,
		Group: "segd-entity", Since: since,
		Summary:    "Remove values from a TAGS field of an entity; returns the number of values removed",
		Complexity: "O(N) where N is the number of values, plus the saved segments that use the field",
		Args:       []Arg{keyArg("key"), strArg("field"), multi(strArg("value"))},
	},
	{
		Name: "ent.track", Arity: -3, Flags: fWrite, FirstKey: 1, LastKey: 1, Step: 1,
		Group: "segd-entity", Since: since,
		Summary:    "Record an occurrence of an EVENT field (field or field:value), now or at a time, with an amount (default 1)",
		Complexity: "O(1), plus the saved segments that use the field",
		Args: []Arg{
			keyArg("key"),
			strArg("field[:value]"),
			opt(tok("AT", strArg("time"))),
			opt(tok("AMOUNT", intArg("amount"))),
		},
	},
	{
		Name: "ent.get", Arity: -2, Flags: fRead, FirstKey: 1, LastKey: 1, Step: 1,
		Group: "segd-entity", Since: since,
		Summary:    "Get an entity's values, of every field or of the given ones, as a map (EVENT fields: value to amount over the retention, * for all)",
		Complexity: "O(N) where N is the number of fields read, plus the retained buckets of EVENT fields",
		Args:       []Arg{keyArg("key"), opt(multi(strArg("field")))},
	},
	{
		Name: "ent.del", Arity: -2, Flags: fWriteFree, FirstKey: 1, LastKey: -1, Step: 1,
		KeyFlags: []string{"RM", "delete"},
		Group:    "segd-entity", Since: since,
		Summary:    "Delete entities from every field, bucket and saved segment; returns the number deleted",
		Complexity: "O(N*M) where N is the number of keys and M the number of fields and segments holding them",
		Args:       []Arg{multi(keyArg("key"))},
	},
	{
		Name: "ent.exists", Arity: 2, Flags: fReadFast, FirstKey: 1, LastKey: 1, Step: 1,
		Group: "segd-entity", Since: since,
		Summary:    "Tell whether an entity exists (1) or not (0)",
		Complexity: "O(1)",
		Args:       []Arg{keyArg("key")},
	},
	{
		Name: "ent.count", Arity: 1, Flags: fReadFast, Group: "segd-entity", Since: since,
		ACLCategories: []string{"@keyspace", "@read", "@fast"},
		Summary:       "Return the number of entities",
		Complexity:    "O(1)",
	},

	// ---- Ad hoc queries ----
	{
		Name: "query.count", ReadsSegments: true, Arity: -2, Flags: fRead, Group: "segd-query", Since: since,
		Summary:    "Count the entities matching an expression, optionally as of a past time",
		Complexity: queryComplexity,
		Args:       []Arg{strArg("expr"), atArg},
	},
	{
		Name: "query.members", ReadsSegments: true, Arity: -2, Flags: fRead, Group: "segd-query", Since: since,
		Summary:    "Iterate over the keys of the entities matching an expression, like SSCAN",
		Complexity: queryComplexity + ", plus O(N) for the N keys returned",
		Args: []Arg{
			strArg("expr"),
			opt(tok("CURSOR", strArg("cursor"))),
			opt(tok("COUNT", intArg("count"))),
			atArg,
		},
		Tips: []string{"nondeterministic_output_order"},
	},
	{
		Name: "query.ismember", ReadsSegments: true, Arity: -3, Flags: fRead, FirstKey: 2, LastKey: 2, Step: 1,
		Group: "segd-query", Since: since,
		Summary:    "Tell whether one entity matches an expression (1) or not (0)",
		Complexity: "O(N) where N is the number of terms of the expression",
		Args:       []Arg{strArg("expr"), keyArg("key"), atArg},
	},
	{
		Name: "query.explain", ReadsSegments: true, Arity: -2, Flags: fRead, Group: "segd-query", Since: since,
		Summary:    "Evaluate an expression and show its plan, each node with its cardinality and time in microseconds",
		Complexity: queryComplexity,
		Args:       []Arg{strArg("expr"), atArg},
		Tips:       []string{"nondeterministic_output"},
	},
	{
		Name: "query.groupby", ReadsSegments: true, Arity: -2, Flags: fRead, Group: "segd-query", Since: since,
		Summary:    "Count the entities per value of an ENUM, TAGS or EVENT field, optionally among those matching an expression",
		Complexity: "O(N) bitmap intersections where N is the number of distinct values of the field",
		Args:       []Arg{strArg("field"), whereArg, limitArg, atArg},
	},
	{
		Name: "query.stats", ReadsSegments: true, Arity: -2, Flags: fRead, Group: "segd-query", Since: since,
		Summary:    "Count, sum, min, max and mean of a measure (an INT field or an event sum such as 'spend IN 30d'), optionally among the entities matching an expression",
		Complexity: "O(B) bitmap operations where B is the number of bit planes of the measure",
		Args:       []Arg{strArg("measure"), whereArg, atArg},
	},
	{
		Name: "query.top", ReadsSegments: true, Arity: -3, Flags: fRead, Group: "segd-query", Since: since,
		Summary:    "The k entities with the highest measure, highest first, ties by key",
		Complexity: "O(B) bitmap operations where B is the number of bit planes of the measure, plus O(k log k)",
		Args:       []Arg{intArg("k"), strArg("measure"), whereArg, atArg},
	},

	// ---- Connection ----
	{
		Name: "ping", Subscribed: true, Arity: -1, Flags: []string{"loading", "stale", "fast", "no_auth"},
		Group: "connection", Since: since,
		Summary:    "Ping the server",
		Complexity: "O(1)",
		Args:       []Arg{opt(strArg("message"))},
	},
	{
		Name: "echo", Arity: 2, Flags: []string{"loading", "stale", "fast"},
		Group: "connection", Since: since,
		Summary:    "Echo the given string",
		Complexity: "O(1)",
		Args:       []Arg{strArg("message")},
	},
	{
		Name: "quit", Subscribed: true, Arity: -1, Flags: fConnection, Group: "connection", Since: since,
		Summary:    "Close the connection",
		Complexity: "O(1)",
	},
	{
		Name: "hello", Arity: -1, Flags: fConnection, Group: "connection", Since: since,
		Summary:    "Handshake: choose the protocol (2 or 3), authenticate and name the connection",
		Complexity: "O(1)",
		Args: []Arg{opt(block("arguments",
			intArg("protover"),
			opt(tok("AUTH", block("username_password", strArg("username"), strArg("password")))),
			opt(tok("SETNAME", strArg("clientname"))),
		))},
	},
	{
		Name: "auth", Arity: -2, Flags: fConnection, Group: "connection", Since: since,
		Summary:    "Authenticate to the server",
		Complexity: "O(1)",
		Args:       []Arg{opt(strArg("username")), strArg("password")},
	},
	{
		Name: "select", Arity: 2, Flags: []string{"loading", "stale", "fast"},
		Group: "connection", Since: since,
		Summary:    "Change the selected database; segd has only database 0",
		Complexity: "O(1)",
		Args:       []Arg{intArg("index")},
	},
	{
		// Not no_auth (Redis has it): SPEC lets only AUTH, HELLO, PING and
		// QUIT through before authentication.
		Name: "reset", Subscribed: true, Arity: 1, Flags: []string{"noscript", "loading", "stale", "fast", "allow_busy"},
		Group: "connection", Since: since,
		Summary:    "Reset the connection: protocol 2, no name, no subscriptions, not authenticated",
		Complexity: "O(1)",
	},
	{
		Name: "client", Arity: -2, Flags: []string{}, Group: "connection", Since: since,
		ACLCategories: []string{"@slow"},
		Summary:       "A container for client connection commands",
		Complexity:    "Depends on subcommand.",
		Subcommands: []*Command{
			{
				Name: "client|id", Arity: 2, Flags: []string{"noscript", "loading", "stale"},
				Summary:    "Returns the client ID for the current connection",
				Complexity: "O(1)",
			},
			{
				Name: "client|setname", Arity: 3, Flags: []string{"noscript", "loading", "stale"},
				Summary:    "Set the current connection name",
				Complexity: "O(1)",
				Args:       []Arg{strArg("connection-name")},
			},
			{
				Name: "client|getname", Arity: 2, Flags: []string{"noscript", "loading", "stale"},
				Summary:    "Get the current connection name",
				Complexity: "O(1)",
			},
			{
				Name: "client|info", Arity: 2, Flags: []string{"noscript", "loading", "stale"},
				Summary:    "Returns information about the current client connection",
				Complexity: "O(1)",
			},
			{
				Name: "client|setinfo", Arity: 4, Flags: []string{"noscript", "loading", "stale"},
				Summary:    "Set client or connection specific info: the client library name or version",
				Complexity: "O(1)",
				Args: []Arg{oneof("attr",
					tok("LIB-NAME", strArg("libname")),
					tok("LIB-VER", strArg("libver")),
				)},
			},
			{
				Name: "client|list", Arity: -2, Flags: []string{"admin", "noscript", "loading", "stale"},
				Summary:    "Get the list of client connections",
				Complexity: "O(N) where N is the number of client connections",
				Tips:       []string{"nondeterministic_output"},
				Args: []Arg{
					opt(tok("TYPE", oneof("client-type", pure("NORMAL"), pure("MASTER"), pure("REPLICA"), pure("PUBSUB")))),
					opt(tok("ID", block("id", multi(intArg("client-id"))))),
				},
			},
			{
				Name: "client|kill", Arity: -3, Flags: []string{"admin", "noscript", "loading", "stale"},
				Summary:    "Kill the connection of a client",
				Complexity: "O(N) where N is the number of client connections",
				Args: []Arg{oneof("filter",
					strArg("ip:port"),
					multi(oneof("new-format",
						opt(tok("ID", intArg("client-id"))),
						opt(tok("TYPE", oneof("client-type", pure("NORMAL"), pure("MASTER"), pure("REPLICA"), pure("PUBSUB")))),
						opt(tok("USER", strArg("username"))),
						opt(tok("ADDR", strArg("ip:port"))),
						opt(tok("LADDR", strArg("ip:port"))),
						opt(tok("SKIPME", oneof("skipme", pure("YES"), pure("NO")))),
					)),
				)},
			},
		},
	},

	// ---- Server ----
	{
		Name: "info", Arity: -1, Flags: []string{"loading", "stale"}, Group: "server", Since: since,
		ACLCategories: []string{"@slow", "@dangerous"},
		Tips:          []string{"nondeterministic_output"},
		Summary:       "Get information and statistics about the server",
		Complexity:    "O(1)",
		Args:          []Arg{opt(multi(strArg("section")))},
	},
	{
		Name: "command", Arity: -1, Flags: []string{"loading", "stale"}, Group: "server", Since: since,
		ACLCategories: []string{"@slow", "@connection"},
		Tips:          []string{"nondeterministic_output_order"},
		Summary:       "Get array of segd command details",
		Complexity:    "O(N) where N is the total number of segd commands",
		Subcommands: []*Command{
			{
				Name: "command|count", Arity: 2, Flags: []string{"loading", "stale"},
				ACLCategories: []string{"@slow", "@connection"},
				Summary:       "Get total number of segd commands",
				Complexity:    "O(1)",
			},
			{
				Name: "command|info", Arity: -2, Flags: []string{"loading", "stale"},
				ACLCategories: []string{"@slow", "@connection"},
				Tips:          []string{"nondeterministic_output_order"},
				Summary:       "Get array of specific segd command details, or all when no argument is given",
				Complexity:    "O(N) where N is the number of commands to look up",
				Args:          []Arg{opt(multi(strArg("command-name")))},
			},
			{
				Name: "command|docs", Arity: -2, Flags: []string{"loading", "stale"},
				ACLCategories: []string{"@slow", "@connection"},
				Tips:          []string{"nondeterministic_output_order"},
				Summary:       "Get array of specific segd command documentation, or all when no argument is given",
				Complexity:    "O(N) where N is the number of commands to look up",
				Args:          []Arg{opt(multi(strArg("command-name")))},
			},
			{
				Name: "command|list", Arity: -2, Flags: []string{"loading", "stale"},
				ACLCategories: []string{"@slow", "@connection"},
				Tips:          []string{"nondeterministic_output_order"},
				Summary:       "Get an array of segd command names, subcommands included",
				Complexity:    "O(N) where N is the total number of segd commands",
				Args: []Arg{opt(tok("FILTERBY", oneof("filterby",
					tok("ACLCAT", strArg("category")),
					tok("PATTERN", patArg("pattern")),
				)))},
			},
		},
	},
	{
		Name: "config", Arity: -2, Flags: []string{}, Group: "server", Since: since,
		ACLCategories: []string{"@slow"},
		Summary:       "A container for server configuration commands",
		Complexity:    "Depends on subcommand.",
		Subcommands: []*Command{
			{
				Name: "config|get", Arity: -3, Flags: []string{"admin", "noscript", "loading", "stale"},
				Summary:    "Get the values of configuration parameters matching glob patterns",
				Complexity: "O(N) when N is the number of configuration parameters provided",
				Args:       []Arg{multi(patArg("parameter"))},
			},
			{
				Name: "config|set", Arity: -4, Flags: []string{"admin", "write", "noscript"},
				Summary:    "Set configuration parameters at run time (segd: the schema mode, auto or strict)",
				Complexity: "O(1)",
				Args:       []Arg{multi(block("data", strArg("parameter"), strArg("value")))},
			},
		},
	},
	{
		Name: "time", Arity: 1, Flags: []string{"loading", "stale", "fast"}, Group: "server", Since: since,
		ACLCategories: []string{"@fast"},
		Tips:          []string{"nondeterministic_output"},
		Summary:       "Return the current server time as Unix seconds and microseconds",
		Complexity:    "O(1)",
	},
	{
		Name: "dbsize", Arity: 1, Flags: fReadFast, Group: "server", Since: since,
		ACLCategories: []string{"@keyspace", "@read", "@fast"},
		Summary:       "Return the number of entities (as ENT.COUNT)",
		Complexity:    "O(1)",
	},
	{
		Name: "save", Arity: 1, Flags: []string{"admin", "noscript", "no_async_loading", "no_multi"},
		Group: "server", Since: since,
		Summary:    "Synchronously snapshot every bitmap to disk",
		Complexity: "O(N) where N is the total size of the bitmaps",
	},
	{
		Name: "bgsave", Arity: -1, Flags: []string{"admin", "noscript", "no_async_loading"},
		Group: "server", Since: since,
		Summary:    "Snapshot every bitmap to disk in the background",
		Complexity: "O(1)",
		Args:       []Arg{opt(pure("SCHEDULE"))},
	},
	{
		Name: "lastsave", Arity: 1, Flags: []string{"loading", "stale", "fast"}, Group: "server", Since: since,
		ACLCategories: []string{"@admin", "@fast", "@dangerous"},
		Tips:          []string{"nondeterministic_output"},
		Summary:       "Get the Unix time of the last successful snapshot",
		Complexity:    "O(1)",
	},
	{
		Name: "flushall", Arity: -1, Flags: []string{"write"}, Group: "server", Since: since,
		ACLCategories: []string{"@keyspace", "@write", "@slow", "@dangerous"},
		Summary:       "Remove every entity, field and saved segment",
		Complexity:    "O(N) where N is the total number of entities, values and segments",
		Args:          []Arg{opt(oneof("flush-type", pure("ASYNC"), pure("SYNC")))},
	},
	{
		Name: "shutdown", Arity: -1, Flags: []string{"admin", "noscript", "loading", "stale", "no_multi", "allow_busy"},
		Group: "server", Since: since,
		Summary:    "Snapshot the data (unless NOSAVE) and stop the server",
		Complexity: "O(N) when saving, where N is the total size of the bitmaps, otherwise O(1)",
		Args:       []Arg{opt(oneof("nosave_save", pure("NOSAVE"), pure("SAVE")))},
	},

	// ---- Backup and restore (segd backup / segd restore) ----
	{
		Name: "backup.begin", Arity: 1, Flags: fAdmin, Group: "server", Since: since,
		Summary:    "Take a consistent backup into a temporary file on the server; replies id, size in bytes and log seq",
		Complexity: "O(N) where N is the total size of the bitmaps",
	},
	{
		Name: "backup.read", Arity: 4, Flags: fAdmin, Group: "server", Since: since,
		Summary:    "Read up to count bytes (at most 4 MiB) of a backup at offset",
		Complexity: "O(N) where N is count",
		Args:       []Arg{strArg("id"), intArg("offset"), intArg("count")},
	},
	{
		Name: "backup.end", Arity: 2, Flags: fAdmin, Group: "server", Since: since,
		Summary:    "Delete a backup's temporary file",
		Complexity: "O(1)",
		Args:       []Arg{strArg("id")},
	},
	{
		Name: "restore.begin", Arity: 2, Flags: fAdmin, Group: "server", Since: since,
		Summary:    "Start uploading a backup file of size bytes; replies id and the largest chunk accepted",
		Complexity: "O(1)",
		Args:       []Arg{intArg("size")},
	},
	{
		Name: "restore.write", Arity: 4, Flags: fAdmin, Group: "server", Since: since,
		Summary:    "Append a chunk of an upload at offset (chunks in order); replies the bytes received",
		Complexity: "O(N) where N is the chunk's size",
		Args:       []Arg{strArg("id"), intArg("offset"), strArg("data")},
	},
	{
		Name: "restore.commit", Arity: 2, Flags: fAdminWrite, Group: "server", Since: since,
		Summary:    "Verify an upload and replace the whole data set with it; replies entities, backup seq and creation time",
		Complexity: "O(N) where N is the size of the backup",
		Args:       []Arg{strArg("id")},
	},
	{
		Name: "restore.abort", Arity: 2, Flags: fAdmin, Group: "server", Since: since,
		Summary:    "Abandon an upload and delete its temporary file",
		Complexity: "O(1)",
		Args:       []Arg{strArg("id")},
	},

	// ---- Pub/Sub ----
	{
		Name: "subscribe", Subscribed: true, Arity: -2, Flags: []string{"pubsub", "noscript", "loading", "stale"},
		Group: "pubsub", Since: since,
		Summary:    "Listen for messages on channels, e.g. segment:<name> for a segment's enters and exits",
		Complexity: "O(N) where N is the number of channels to subscribe to",
		Args:       []Arg{multi(strArg("channel"))},
	},
	{
		Name: "psubscribe", Subscribed: true, Arity: -2, Flags: []string{"pubsub", "noscript", "loading", "stale"},
		Group: "pubsub", Since: since,
		Summary:    "Listen for messages on channels matching glob patterns, e.g. segment:*",
		Complexity: "O(N) where N is the number of patterns the client is already subscribed to",
		Args:       []Arg{multi(patArg("pattern"))},
	},
	{
		Name: "unsubscribe", Subscribed: true, Arity: -1, Flags: []string{"pubsub", "noscript", "loading", "stale"},
		Group: "pubsub", Since: since,
		Summary:    "Stop listening for messages on the given channels, or on all",
		Complexity: "O(N) where N is the number of channels",
		Args:       []Arg{opt(multi(strArg("channel")))},
	},
	{
		Name: "punsubscribe", Subscribed: true, Arity: -1, Flags: []string{"pubsub", "noscript", "loading", "stale"},
		Group: "pubsub", Since: since,
		Summary:    "Stop listening for messages on the given patterns, or on all",
		Complexity: "O(N) where N is the number of patterns",
		Args:       []Arg{opt(multi(patArg("pattern")))},
	},
	{
		Name: "publish", Subscribed: true, Arity: 3, Flags: []string{"pubsub", "loading", "stale", "fast"},
		Group: "pubsub", Since: since,
		Summary:    "Post a message to a channel; returns the number of subscribers that received it",
		Complexity: "O(N+M) where N is the number of subscribers of the channel and M the number of subscribed patterns",
		Args:       []Arg{strArg("channel"), strArg("message")},
	},
}
